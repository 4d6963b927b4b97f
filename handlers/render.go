package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/layout"
	"ledgerline/views/pages"
	"ledgerline/views/ui"
)

// render writes a templ component with status. It renders into a buffer first, so a render error becomes
// a proper 500 instead of half a page under a 200.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	// A known length spares net/http the chunked encoding: the page leaves in two writes instead of four
	// or five (the session writer drops it if it must answer with its own error page instead).
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// shell builds the page frame for the current request: actor, navigation, CSRF token, nonce and any flash
// message (popped, so it shows once).
func (h *Handler) shell(c echo.Context, title string) layout.Shell {
	ctx := c.Request().Context()
	s := layout.Shell{Title: title, Nonce: nonceFrom(ctx), CSRFToken: csrfToken(c)}
	if msg := h.popFlash(c); msg != "" {
		s.Toasts = append(s.Toasts, layout.Toast{Kind: layout.ToastSuccess, Message: msg})
	}
	a := actorFrom(ctx)
	if a == nil {
		return s
	}
	s.Actor = &layout.Actor{
		UserName: a.Name, Email: a.Email, Role: a.Role.Label(), TenantName: a.Tenant.Name, TenantID: a.Tenant.ID.String(),
	}
	for _, m := range a.Memberships {
		s.Actor.Tenants = append(s.Actor.Tenants, layout.TenantChoice{
			ID: m.TenantID.String(), Name: m.TenantName, Role: m.Role.Label(), Current: m.TenantID == a.Tenant.ID,
		})
	}
	// The unread notifications came with the actor (identity.ActorLoad). The approvals waiting are read in
	// one transaction, the page's own when it has one (readShared); a best effort: a failure only hides the
	// badge.
	s.Actor.Unread = a.Unread
	approvalsCount := 0
	if a.Can(identity.ApprovalsDecide) {
		sc := a.Scope(requestIDFrom(ctx), c.RealIP())
		_ = h.db.InTenantSharedAs(ctx, sc, string(a.Role), func(ctx context.Context) error {
			approvalsCount = h.approvalsWaiting(ctx, c, sc, a) // cached per person until approvals change
			return nil
		})
	}
	path := c.Request().URL.Path
	for _, item := range navigation {
		if item.permission != "" && !a.Can(item.permission) {
			continue
		}
		if item.operatorsOnly && !h.isPlatformOperator(a) {
			continue
		}
		nav := layout.NavItem{Label: item.label, Href: item.href, Icon: item.icon, Active: navActive(path, item.href)}
		if item.href == "/approvals" {
			nav.Count = approvalsCount
		}
		s.Nav = append(s.Nav, nav)
	}
	return s
}

// navigation lists the modules in the sidebar with the permission each needs.
var navigation = []struct {
	label, href, icon string
	permission        identity.Permission
	operatorsOnly     bool
}{
	{"Home", "/", "home", "", false},
	{"Inventory", "/inventory", "inventory", identity.InventoryRead, false},
	{"Billing", "/billing", "billing", identity.BillingRead, false},
	{"Approvals", "/approvals", "approvals", identity.ApprovalsSubmit, false},
	{"Exports", "/exports", "reports", identity.ExportsRun, false},
	{"Audit log", "/audit", "audit", identity.AuditRead, false},
	{"People", "/admin/users", "admin", identity.AdminUsers, false},
	{"Departments", "/admin/departments", "admin", identity.AdminUsers, false},
	{"Settings", "/admin/settings", "admin", identity.AdminSettings, false},
	{"API clients", "/admin/api-clients", "admin", identity.AdminUsers, false},
	{"Webhooks", "/admin/webhooks", "admin", identity.AdminSettings, false},
	{"Single sign-on", "/admin/sso", "admin", identity.AdminSettings, false},
	{"Jobs", "/admin/jobs", "admin", identity.AdminUsers, true},
}

// navSubPages lists the other paths whose pages belong to a sidebar entry (People also covers invitations).
var navSubPages = map[string][]string{
	"/admin/users": {"/admin/invitations"},
}

// navActive reports whether the page at path belongs to the sidebar entry href: the entry itself, the
// pages under it, and its navSubPages.
func navActive(path, href string) bool {
	if path == href || (href != "/" && strings.HasPrefix(path, href+"/")) {
		return true
	}
	for _, p := range navSubPages[href] {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// popFlash returns the flash message once. Sessionless routes (static files, health) have none.
func (h *Handler) popFlash(c echo.Context) string {
	ctx := c.Request().Context()
	if loaded, _ := ctx.Value(keySessionLoaded).(bool); !loaded {
		return ""
	}
	return h.sessions.PopString(ctx, sessFlash)
}

// toastTrigger is an HX-Trigger header value that makes app.js show a toast.
func toastTrigger(kind, message string) string {
	b, _ := json.Marshal(map[string]any{"showToast": map[string]string{"kind": kind, "message": message}})
	return string(b)
}

// statusOf maps an error to its HTTP status, in one place.
func statusOf(err error) int {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return he.Code
	}
	switch store.ErrorCode(err) {
	case store.Invalid:
		return http.StatusUnprocessableEntity
	case store.NotFound:
		return http.StatusNotFound
	case store.Conflict:
		return http.StatusConflict
	case store.Forbidden:
		return http.StatusForbidden
	case store.Unauthenticated:
		return http.StatusUnauthorized
	case store.Throttled:
		return http.StatusTooManyRequests
	}
	if store.IsUnavailable(err) {
		return http.StatusServiceUnavailable // the database is down or restarting: try again shortly
	}
	return http.StatusInternalServerError
}

var errorTitles = map[int]string{
	http.StatusBadRequest:          "That request could not be understood",
	http.StatusUnauthorized:        "Please sign in",
	http.StatusForbidden:           "You do not have access to this page",
	http.StatusNotFound:            "Page not found",
	http.StatusMethodNotAllowed:    "That action is not possible here",
	http.StatusConflict:            "Someone else changed this first",
	http.StatusUnprocessableEntity: "Some fields need your attention",
	http.StatusTooManyRequests:     "Too many attempts",
	http.StatusInternalServerError: "Something went wrong",
	http.StatusServiceUnavailable:  "Ledgerline is briefly unavailable",
}

// handleError is Echo's one error handler: it logs internal errors with the request id and renders the
// styled error page (or a toast trigger for HTMX requests). Users never see an internal message.
func (h *Handler) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		h.logger.Error("error after response started", "request_id", requestIDFrom(c.Request().Context()), "error", err)
		return
	}
	if isAPIPath(c.Request().URL.Path) {
		h.apiError(err, c) // problem details, not pages (api.go)
		return
	}
	status := statusOf(err)
	if status >= 500 && !errors.Is(err, errSessionsUnavailable) {
		h.logger.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("request_id", requestIDFrom(c.Request().Context())), slog.String("error", err.Error()))
	}
	if status == http.StatusServiceUnavailable {
		c.Response().Header().Set("Retry-After", "5")
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Trigger", toastTrigger("error", publicMessage(err, status)))
	}
	body := h.errorPageBytes(c, status, err)
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.HTMLBlob(status, body)
}

// errorPageBytes renders the error page for status into bytes (empty on a render failure, logged).
func (h *Handler) errorPageBytes(c echo.Context, status int, err error) []byte {
	title := errorTitles[status]
	if title == "" {
		title = http.StatusText(status)
	}
	view := pages.ErrorView{
		Status: status, Title: title, Message: publicMessage(err, status),
		RequestID: requestIDFrom(c.Request().Context()), SignedIn: actorFrom(c.Request().Context()) != nil,
	}
	s := layout.Shell{Title: title, Nonce: nonceFrom(c.Request().Context()), CSRFToken: csrfToken(c)}
	if status != http.StatusServiceUnavailable {
		s = h.shell(c, title)
	}
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if rerr := pages.Error(s, view).Render(c.Request().Context(), buf); rerr != nil {
		h.logger.Error("error page render failed", "error", rerr)
		return []byte("<!doctype html><title>Error " + strconv.Itoa(status) + "</title><p>Error " + strconv.Itoa(status) + "</p>")
	}
	return append([]byte(nil), buf.Bytes()...)
}

// publicMessage is what the user may read about err.
func publicMessage(err error, status int) string {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch status {
		case http.StatusNotFound:
			return "The page you asked for does not exist, or you do not have access to it."
		case http.StatusMethodNotAllowed:
			return "That action is not possible on this page."
		case http.StatusServiceUnavailable:
			if msg, ok := he.Message.(string); ok {
				return msg
			}
		case http.StatusRequestEntityTooLarge:
			return "What you sent is too large."
		}
		if status < 500 {
			return "The request could not be handled. Go back and try again."
		}
		return "Something went wrong on our side. The error was logged; please try again."
	}
	if status == http.StatusNotFound {
		return "The page or record you asked for does not exist, or you do not have access to it."
	}
	if status == http.StatusServiceUnavailable && store.IsUnavailable(err) {
		return "Ledgerline cannot reach its database right now. Try again in a few seconds."
	}
	return store.ErrorMessage(err)
}

// fieldErrors turns a store validation error into the list the error summary shows, in the form's order.
func fieldErrors(err error, order ...string) []ui.FieldError {
	var se *store.Error
	if !errors.As(err, &se) || len(se.Fields) == 0 {
		return nil
	}
	out := make([]ui.FieldError, 0, len(se.Fields))
	for _, f := range order {
		if msg, ok := se.Fields[f]; ok {
			out = append(out, ui.FieldError{Field: f, Message: msg})
		}
	}
	return out
}

// readShared runs fn, the store reads of one page, in one transaction (store.InTenantSharedAs): the reads
// share one BEGIN, scope and COMMIT instead of paying for each, and check permissions against the role the
// request's actor was loaded with. fn must use the context it
// is given (the request's context carries it too while fn runs) and only read; render after it returns.
func (h *Handler) readShared(c echo.Context, fn func(ctx context.Context) error) error {
	return h.readSharedIn(c.Request().Context(), c, fn)
}

// readSharedGeneric is readShared with generic plans (store.WithGenericPlans), for pages whose statements
// are all short lookups by id or by person, where PostgreSQL spent longer planning them than running them.
func (h *Handler) readSharedGeneric(c echo.Context, fn func(ctx context.Context) error) error {
	return h.readSharedIn(store.WithGenericPlans(c.Request().Context()), c, fn)
}

// readSharedCustom is readShared with every statement planned for its values (store.WithCustomPlans),
// for pages whose main statement's best plan depends on the tenant.
func (h *Handler) readSharedCustom(c echo.Context, fn func(ctx context.Context) error) error {
	return h.readSharedIn(store.WithCustomPlans(c.Request().Context()), c, fn)
}

func (h *Handler) readSharedIn(ctx context.Context, c echo.Context, fn func(ctx context.Context) error) error {
	req := c.Request()
	defer c.SetRequest(req)
	return h.db.InTenantSharedAs(ctx, scope(c), string(actorFrom(ctx).Role), func(ctx context.Context) error {
		c.SetRequest(req.WithContext(ctx))
		return fn(ctx)
	})
}
