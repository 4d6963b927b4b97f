// Package account renders the signed-in person's own account screens (profile, password, sessions,
// two-factor authentication) and the second step of signing in. It owns no data: handlers fill the view
// models. It must not import handlers or store.
package account

import (
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"ledgerline/views/layout"
	"ledgerline/views/ui"
)

// ProfileView is the account overview: who the person is, where they work, and links to the subpages.
type ProfileView struct {
	Name, Email, Role, TenantName, Department string
	Version                                   int
	TwoFactorOn                               bool
	Errors                                    []ui.FieldError
}

// PasswordForm is the change-password form. Passwords never travel back to the browser; only the checkbox
// keeps its state.
type PasswordForm struct {
	Errors        []ui.FieldError
	SignOutOthers bool
}

// SessionsView lists the person's live sessions. Times are already in the tenant's time zone, Zone.
type SessionsView struct {
	Rows []SessionRow
	Zone string
}

// SessionRow is one live session. Current marks the session the page was requested with.
type SessionRow struct {
	ID, Device, ClientIP    string
	LastSeen, LastSeenExact string
	SignedIn, SignedInExact string
	Current                 bool
}

// TwoFactorStep is where the person is with two-factor authentication.
type TwoFactorStep string

// The steps of the two-factor screen.
const (
	TwoFactorOff     TwoFactorStep = "off"     // not set up: offer to start
	TwoFactorPending TwoFactorStep = "pending" // QR code shown, waiting for the confirming code
	TwoFactorOn      TwoFactorStep = "on"      // enabled: regenerate codes or turn off
	TwoFactorCodes   TwoFactorStep = "codes"   // fresh recovery codes, shown this once
)

// TwoFactorView is the two-factor screen.
type TwoFactorView struct {
	Step          TwoFactorStep
	QRCode        string // a data:image/png URL of the otpauth:// URI
	Secret        string // the same key in base32, for typing in by hand
	EnabledAt     string
	CodesLeft     int
	RecoveryCodes []string
	Notice        string // what just happened, above fresh recovery codes
	Required      bool   // the person is an admin of a tenant that requires a second factor
	Errors        []ui.FieldError
}

// SignInCodeForm is the second step of signing in: a TOTP code or a recovery code.
type SignInCodeForm struct {
	Error string
}

// Form field names of the two password forms on the two-factor screen; they differ so that each input has
// its own id.
const (
	FieldDisablePassword = "disable_password"
	FieldCodesPassword   = "codes_password"
)

// hxForm makes a form submit through htmx: the button is disabled while the request runs (no double
// submit), a 422 answer swaps the page's main region in place, and a success redirects. Without the script
// the form posts normally.
func hxForm(action string) templ.Attributes {
	return templ.Attributes{
		"hx-post":         action,
		"hx-target":       "#" + layout.MainID,
		"hx-select":       "#" + layout.MainID,
		"hx-swap":         "outerHTML",
		"hx-disabled-elt": "find button[type='submit']",
	}
}

// groupSecret splits a base32 key into groups of four, as authenticator apps show them.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func codesLeftText(n int) string {
	switch n {
	case 0:
		return "You have no unused recovery codes. Make a new set now, so you can still sign in if you lose your phone."
	case 1:
		return "You have 1 unused recovery code."
	}
	return "You have " + strconv.Itoa(n) + " unused recovery codes."
}
