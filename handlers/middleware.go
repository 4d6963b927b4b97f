package handlers

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// ctxKey keys request-scoped values in context.Context; unexported so no other package can collide.
type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyNonce
	keyActor
	keySessionLoaded
)

func requestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

func nonceFrom(ctx context.Context) string {
	s, _ := ctx.Value(keyNonce).(string)
	return s
}

func actorFrom(ctx context.Context) *identity.Actor {
	a, _ := ctx.Value(keyActor).(*identity.Actor)
	return a
}

func setContext(c echo.Context, key ctxKey, v any) {
	c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), key, v)))
}

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// requestID takes a well-formed X-Request-ID from a trusted proxy or makes one, and echoes it back.
func (h *Handler) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
			return !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		}) {
			id = randomToken(12)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		setContext(c, keyRequestID, id)
		return next(c)
	}
}

// markReads marks GET and HEAD requests for the store's read gate (store/gate.go): they wait their turn for
// the database; writes do not.
func (h *Handler) markReads(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
			c.SetRequest(c.Request().WithContext(store.ForReads(c.Request().Context())))
		}
		return next(c)
	}
}

// recoverPanics turns a panic into a logged 500 page instead of a dropped connection.
func (h *Handler) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				h.logger.Error("panic", "request_id", requestIDFrom(c.Request().Context()),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// observe logs every request as JSON and feeds the request metrics. It runs the error handler itself so
// that the logged status is the one the client got.
func (h *Handler) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		ctx, statements := store.CountStatements(c.Request().Context())
		c.SetRequest(c.Request().WithContext(ctx))
		if err := next(c); err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		elapsed := time.Since(start)
		h.metrics.observe(req.Method, route, res.Status, elapsed, statements.Load())
		if strings.HasPrefix(route, "/static/") || route == "/healthz" || route == "/metrics" {
			return nil
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestIDFrom(req.Context())),
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.String("route", route),
			slog.Int("status", res.Status),
			slog.Int64("bytes", res.Size),
			slog.Float64("ms", float64(elapsed.Microseconds())/1000),
			slog.Int64("db_statements", statements.Load()),
			slog.String("ip", c.RealIP()),
		}
		if a := actorFrom(req.Context()); a != nil {
			attrs = append(attrs, slog.String("tenant_id", a.Tenant.ID.String()), slog.String("user_id", a.UserID.String()))
		}
		h.logger.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

// securityHeaders sets a strict Content-Security-Policy with a per-request nonce and the usual headers.
func (h *Handler) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		nonce := randomToken(18)
		setContext(c, keyNonce, nonce)
		hdr := c.Response().Header()
		hdr.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"'; "+
			"style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; "+
			"frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
		hdr.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if h.secure {
			hdr.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return next(c)
	}
}

// csrf protects every unsafe request: browsers that send Sec-Fetch-Site are judged by it (cross-site is
// refused), other clients must present the token from the form field or the X-CSRF-Token header.
func (h *Handler) csrf() echo.MiddlewareFunc {
	cookie := "ledgerline_csrf"
	if h.secure {
		cookie = "__Host-ledgerline_csrf" // not settable by a sibling subdomain (no planted token)
	}
	return middleware.CSRFWithConfig(middleware.CSRFConfig{ // #nosec G101 -- names of the CSRF token's header and field, no credential
		TokenLookup:    "header:X-CSRF-Token,form:_csrf",
		CookieName:     cookie,
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   h.secure,
		CookieSameSite: http.SameSiteLaxMode,
		ErrorHandler: func(err error, c echo.Context) error {
			return store.Errorf(store.Forbidden, "This form has expired or did not come from Ledgerline. Reload the page and try again.")
		},
	})
}

func csrfToken(c echo.Context) string {
	s, _ := c.Get(middleware.DefaultCSRFConfig.ContextKey).(string)
	return s
}

// loadActor resolves the signed-in user in their active tenant, once per request. A session whose user was
// disabled or removed from the tenant is ended.
func (h *Handler) loadActor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		userID, tenantID, ok := h.sessionIdentity(ctx)
		if !ok {
			return next(c)
		}
		sid := h.sessions.GetString(ctx, sessSID)
		if h.sessionIdleExpired(ctx, time.Now()) {
			if err := h.sessionEnd(ctx, userID, sid); err != nil {
				return err
			}
			if err := h.sessions.Destroy(ctx); err != nil {
				return errSessionsUnavailable
			}
			return next(c)
		}
		live, err := h.sessionIndexTouch(ctx, userID, sid, c.RealIP())
		if err != nil {
			return err
		}
		if !live {
			// Ended from elsewhere: signed out on another device, deactivated, or role changed.
			if err := h.sessions.Destroy(ctx); err != nil {
				return errSessionsUnavailable
			}
			return next(c)
		}
		actor, err := identity.ActorLoad(ctx, h.db, userID, tenantID)
		if store.ErrorCode(err) == store.NotFound {
			if err := h.sessions.Destroy(ctx); err != nil {
				return errSessionsUnavailable
			}
			return next(c)
		}
		if err != nil {
			return err
		}
		setContext(c, keyActor, actor)
		return next(c)
	}
}

// requireSignIn sends signed-out visitors to the sign-in page, then back where they were going.
func (h *Handler) requireSignIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if actorFrom(c.Request().Context()) != nil {
			return next(c)
		}
		// A sign-in waiting for its second factor is not signed in: it may only enter its code.
		if p, _ := h.pendingSignInGet(c.Request().Context()); p != nil {
			return redirect(c, loginTwoFactorPath)
		}
		target := "/login"
		if c.Request().Method == http.MethodGet && c.Request().URL.Path != "/" {
			target += "?next=" + url.QueryEscape(c.Request().URL.RequestURI())
		}
		return redirect(c, target)
	}
}

// require refuses the route with 403 unless the actor's role grants p.
func (h *Handler) require(p identity.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !actorFrom(c.Request().Context()).Can(p) {
				return store.Errorf(store.Forbidden, "Your role does not allow this. Ask an administrator if you need access.")
			}
			return next(c)
		}
	}
}

// scope is the store scope of the current request's actor.
func scope(c echo.Context) store.Scope {
	ctx := c.Request().Context()
	return actorFrom(ctx).Scope(requestIDFrom(ctx), c.RealIP())
}

// redirect answers a normal request with 303 and an HTMX request with HX-Redirect.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// requireAdminTwoFactor keeps admins out of admin pages until they enrol a second factor, once their
// tenant requires it. Everyone else is judged by the route's permission as usual.
func (h *Handler) requireAdminTwoFactor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		a := actorFrom(c.Request().Context())
		if a != nil && a.Role == identity.RoleAdmin && a.Tenant.RequireAdmin2FA && !a.TwoFactor {
			h.flash(c.Request().Context(), "Your organization requires two-factor authentication for administrators. Set it up to continue.")
			return redirect(c, accountTwoFactorPath)
		}
		return next(c)
	}
}

// requirePlatformOperator guards pages that show every tenant's data (River's job monitor: River's tables
// are shared by all tenants, so job arguments of one organization would show to another's admins). Only
// the people named in PLATFORM_OPERATORS, signed in as admins of their tenant, may open them.
func (h *Handler) requirePlatformOperator(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !h.isPlatformOperator(actorFrom(c.Request().Context())) {
			return store.Errorf(store.Forbidden, "The job monitor shows the jobs of every organization, so only platform operators can open it.")
		}
		return next(c)
	}
}

func (h *Handler) isPlatformOperator(a *identity.Actor) bool {
	return a != nil && a.Role == identity.RoleAdmin && h.operators[strings.ToLower(a.Email)]
}
