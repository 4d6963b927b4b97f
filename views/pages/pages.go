// Package pages holds the screens that do not belong to a business domain: signing in, password reset, the
// home page and error pages. Each component takes the layout.Shell and a view model shaped like the screen.
package pages

import (
	"ledgerline/views/layout"
	"ledgerline/views/ui"
)

// LoginForm is the sign-in form as typed. Error is one generic message ("Email or password is wrong"), so
// the page never tells which of the two was wrong.
type LoginForm struct {
	Email, Next, Error string
}

// ForgotForm asks for the address to send a reset link to. Sent switches the page to its confirmation,
// which reads the same whether or not the account exists.
type ForgotForm struct {
	Email  string
	Errors []ui.FieldError
	Sent   bool
}

// ResetForm chooses a new password with the token from the emailed link. Invalid means the token has
// expired or was already used.
type ResetForm struct {
	Token   string
	Errors  []ui.FieldError
	Invalid bool
}

// HomeView is what the home page shows about the signed-in user and their organization.
type HomeView struct {
	UserName, Email, Role, RoleLabel, TenantName, TimeZone, Currency, Department, SignedInAt string
	Permissions                                                                              []string
	// Dashboard is the figures by role, above the member's own details.
	Dashboard Dashboard
}

// ErrorView is an error page. Title and Message fall back to wording for the status when empty.
type ErrorView struct {
	Status                    int
	Title, Message, RequestID string
	SignedIn                  bool
}

// titled gives the shell a default title when the handler set none.
func titled(s layout.Shell, title string) layout.Shell {
	if s.Title == "" {
		s.Title = title
	}
	return s
}

func (h HomeView) roleLabel() string {
	if h.RoleLabel != "" {
		return h.RoleLabel
	}
	return h.Role
}

func (h HomeView) subtitle() string {
	if h.TenantName == "" {
		return ""
	}
	if h.SignedInAt == "" {
		return "Working in " + h.TenantName
	}
	return "Working in " + h.TenantName + ", signed in " + h.SignedInAt
}

func orNone(s string) string {
	if s == "" {
		return "Not set"
	}
	return s
}

func (e ErrorView) title() string {
	if e.Title != "" {
		return e.Title
	}
	switch e.Status {
	case 403:
		return "You do not have access to this page"
	case 404:
		return "Page not found"
	case 429:
		return "Too many requests"
	case 503:
		return "Ledgerline is unavailable"
	}
	return "Something went wrong"
}

func (e ErrorView) message() string {
	if e.Message != "" {
		return e.Message
	}
	switch e.Status {
	case 403:
		return "Your role in this organization does not allow it. Ask an administrator if you need access."
	case 404:
		return "If you typed the address, check it is correct. If you followed a link, the record may have been removed."
	case 429:
		return "Wait a minute, then try again."
	case 503:
		return "We are working on it. Try again in a few minutes."
	}
	return "We could not finish your request. Try again, and if it keeps happening, contact support with the reference below."
}
