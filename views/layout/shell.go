// Package layout renders the frames every screen sits in: the signed-in application shell (top bar, sidebar,
// toasts) and the centred card used by signed-out pages. It owns no data: handlers fill a Shell and pass it
// down. It must not import handlers or store.
package layout

import (
	"encoding/json"
	"strconv"
)

// Element ids that scripts and HTMX responses refer to. Handlers use these constants rather than repeating
// the strings.
const (
	// MainID is the id of the <main> element, the target of the skip link.
	MainID = "main"
	// ToastRegionID is the id of the live region that holds toasts.
	ToastRegionID = "toasts"
	// SidebarID is the id of the main navigation, controlled by the menu button on phones.
	SidebarID = "sidebar"
)

// htmxConfig is read by htmx from a <meta> element. It keeps htmx from injecting inline styles and from
// evaluating code (the Content-Security-Policy forbids both), and decides once, for the whole app, which
// responses are swapped: 2xx/3xx and 422 (a form with its errors) are, other 4xx/5xx are not and raise
// htmx:responseError, which app.js turns into an error toast.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"responseHandling":[` +
	`{"code":"204","swap":false},{"code":"[23]..","swap":true},{"code":"422","swap":true},` +
	`{"code":"[45]..","swap":false,"error":true}]}`

// Shell is what every page needs besides its own view model: the title, the request's CSP nonce and CSRF
// token, who is signed in, the navigation and pending toasts.
type Shell struct {
	Title     string // page title; rendered as "<Title> — Ledgerline", or "Ledgerline" when empty
	Nonce     string // CSP nonce for the <script> tags
	CSRFToken string // sent by htmx in the X-CSRF-Token header and by forms as the _csrf field
	Actor     *Actor // nil on public (signed-out) pages
	Nav       []NavItem
	Toasts    []Toast
}

// Actor is the signed-in user as the shell shows them, in the tenant they are working in.
type Actor struct {
	UserName, Email, Role, TenantName string
	TenantID                          string
	Tenants                           []TenantChoice // all the user's memberships; the switcher shows when len > 1
	Unread                            int            // unread in-app notifications, shown on the top bar's link
}

// TenantChoice is one organization the user belongs to, as offered by the tenant switcher.
type TenantChoice struct {
	ID, Name, Role string
	Current        bool
}

// NavItem is one entry of the sidebar.
type NavItem struct {
	Label, Href string
	Icon        string // "home", "inventory", "billing", "approvals", "reports", "admin" or "audit"
	Active      bool   // marks the item with aria-current="page"
	Count       int    // shown as a badge when greater than zero, e.g. approvals waiting
}

// Toast is a short message shown in the corner of the page.
type Toast struct {
	Kind    ToastKind
	Message string
}

// ToastKind decides how a toast looks and behaves: success and info toasts fade, error toasts stay until
// dismissed.
type ToastKind string

// The toast kinds. app.js knows the same three.
const (
	ToastSuccess ToastKind = "success"
	ToastError   ToastKind = "error"
	ToastInfo    ToastKind = "info"
)

// documentTitle follows the "where you are — Ledgerline" pattern.
func documentTitle(title string) string {
	if title == "" {
		return "Ledgerline"
	}
	return title + " — Ledgerline"
}

// csrfHeaders builds the hx-headers value with encoding/json, so no token can break out of the JSON.
// templ then escapes it for the attribute.
func csrfHeaders(token string) string {
	b, err := json.Marshal(map[string]string{"X-CSRF-Token": token})
	if err != nil { // cannot happen for a map of strings; send no header rather than a broken one
		return "{}"
	}
	return string(b)
}

// showsTenantSwitcher reports whether the user has more than one organization to choose from.
func (s Shell) showsTenantSwitcher() bool {
	return s.Actor != nil && len(s.Actor.Tenants) > 1
}

// toastKind maps unknown kinds to info, so a typo in a handler never produces an unstyled toast.
func toastKind(k ToastKind) ToastKind {
	switch k {
	case ToastSuccess, ToastError, ToastInfo:
		return k
	}
	return ToastInfo
}

// navCount keeps the count badge narrow.
func navCount(n int) string {
	if n > 999 {
		return "999+"
	}
	return strconv.Itoa(n)
}

// unreadBadge is the count of unread notifications on the top bar; the count stops at 100
// (notify.UnreadCountMax).
func unreadBadge(n int) string {
	if n > 99 {
		return "99+"
	}
	return strconv.Itoa(n)
}

// tenantOptionLabel shows the role next to the name, because the same person may hold different roles in
// different organizations.
func tenantOptionLabel(t TenantChoice) string {
	if t.Role == "" {
		return t.Name
	}
	return t.Name + " (" + t.Role + ")"
}
