package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
)

// Session keys.
const (
	sessUserID   = "user_id"
	sessTenantID = "tenant_id"
	sessFlash    = "flash"
	// sessSeen is when the session was last seen (Unix milliseconds), refreshed at most every
	// seenEvery; the idle timeout is measured from it.
	sessSeen = "seen"
)

// errSessionsUnavailable is the controlled failure when Redis cannot be reached: a 503 page, no panic.
var errSessionsUnavailable = echo.NewHTTPError(http.StatusServiceUnavailable,
	"Sign-in sessions are unavailable for a moment. Please try again shortly.")

func newSessionManager(d Deps) *scs.SessionManager {
	sm := scs.New()
	// scs's own IdleTimeout is left at zero: it marks every loaded session modified, so each request
	// would re-encode and rewrite the session in Redis and send a fresh cookie. loadActor enforces the
	// idle timeout from sessSeen instead, and idleStore keeps Redis's expiry in step with it.
	sm.Store = idleStore{Store: redisstore.NewWithPrefix(d.Redis, d.RedisPrefix+"session:"), idle: d.SessionIdle}
	sm.Lifetime = d.SessionLifetime
	sm.Cookie.Name = "ledgerline_session"
	if d.CookieSecure {
		// __Host-: only this exact origin over TLS can set it, so a sibling subdomain cannot plant one.
		sm.Cookie.Name = "__Host-ledgerline_session"
	}
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = d.CookieSecure
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = false
	return sm
}

// idleStore caps a session's lifetime in Redis at the idle timeout from its last save. Active sessions are
// saved at least every seenEvery (loadActor refreshes sessSeen), so only abandoned ones run out.
type idleStore struct {
	scs.Store
	idle time.Duration
}

func (s idleStore) Commit(token string, b []byte, expiry time.Time) error {
	if ie := time.Now().Add(s.idle); ie.Before(expiry) {
		expiry = ie
	}
	return s.Store.Commit(token, b, expiry)
}

// seenEvery is how often an active session's sessSeen is rewritten: a minute, or a tenth of a short idle
// timeout.
func (h *Handler) seenEvery() time.Duration {
	return min(time.Minute, h.sessionIdle/10)
}

// sessionIdleExpired reports whether the signed-in session has been idle longer than the idle timeout, and
// otherwise refreshes its last-seen time when that is older than seenEvery. A session from before sessSeen
// existed counts as seen now.
func (h *Handler) sessionIdleExpired(ctx context.Context, now time.Time) bool {
	idle := now.Sub(time.UnixMilli(h.sessions.GetInt64(ctx, sessSeen)))
	if idle > h.sessionIdle && h.sessions.Exists(ctx, sessSeen) {
		return true
	}
	if idle >= h.seenEvery() {
		h.sessions.Put(ctx, sessSeen, now.UnixMilli())
	}
	return false
}

// loadSession loads the session from Redis and commits it just before the response is written. It
// replaces scs.LoadAndSave, which writes an error page on top of a response already under way (and a
// second Set-Cookie when a handler returns an error); here a commit failure replaces the response with the
// 503 page before anything was sent.
func (h *Handler) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		c.Response().Header().Add("Vary", "Cookie")
		token := ""
		if cookie, err := req.Cookie(h.sessions.Cookie.Name); err == nil {
			token = cookie.Value
		}
		// Redis round trips are bounded by the pool's dial and read timeouts.
		loaded, err := h.sessions.Load(req.Context(), token)
		if err != nil {
			h.logger.Warn("session load failed", "request_id", requestIDFrom(req.Context()), "error", err)
			return errSessionsUnavailable
		}
		c.SetRequest(req.WithContext(context.WithValue(loaded, keySessionLoaded, true)))
		res := c.Response()
		sw := &sessionWriter{ResponseWriter: res.Writer, c: c, h: h}
		res.Writer = sw
		err = next(c)
		if err != nil {
			// Render the error inside the wrapped writer, so the session commits (or fails) first.
			c.Error(err)
		}
		if !sw.written {
			sw.commit()
		}
		res.Writer = sw.ResponseWriter
		return nil
	}
}

// sessionWriter commits the session at the first write. If the commit fails, the handler's response is
// dropped and the 503 page goes out instead.
type sessionWriter struct {
	http.ResponseWriter
	c       echo.Context
	h       *Handler
	written bool
	failed  bool
}

func (w *sessionWriter) commit() {
	w.written = true
	ctx := w.c.Request().Context()
	sm := w.h.sessions
	switch sm.Status(ctx) {
	case scs.Modified:
		token, expiry, err := sm.Commit(ctx)
		if err != nil {
			w.fail(err)
			return
		}
		sm.WriteSessionCookie(ctx, w.ResponseWriter, token, expiry)
	case scs.Destroyed:
		sm.WriteSessionCookie(ctx, w.ResponseWriter, "", time.Time{})
	}
}

func (w *sessionWriter) fail(err error) {
	w.failed = true
	w.h.logger.Warn("session commit failed", "request_id", requestIDFrom(w.c.Request().Context()), "error", err)
	hdr := w.ResponseWriter.Header()
	for _, k := range []string{"Location", "HX-Redirect", "HX-Trigger", "Content-Length", "Set-Cookie"} {
		hdr.Del(k)
	}
	body := w.h.errorPageBytes(w.c, http.StatusServiceUnavailable, errSessionsUnavailable)
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Retry-After", "5")
	w.ResponseWriter.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.ResponseWriter.Write(body)
}

func (w *sessionWriter) WriteHeader(code int) {
	if !w.written {
		w.commit()
	}
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.commit()
	}
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *sessionWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.failed {
		f.Flush()
	}
}

func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sessionIdentity returns the signed-in user and active tenant stored in the session.
func (h *Handler) sessionIdentity(ctx context.Context) (userID, tenantID store.ID, ok bool) {
	u, t := h.sessions.GetString(ctx, sessUserID), h.sessions.GetString(ctx, sessTenantID)
	if u == "" || t == "" {
		return userID, tenantID, false
	}
	var err1, err2 error
	userID, err1 = store.ParseID(u)
	tenantID, err2 = store.ParseID(t)
	return userID, tenantID, errors.Join(err1, err2) == nil
}

// signIn renews the session token (no fixation), stores the user and tenant, and registers the session in
// the user's session index.
func (h *Handler) signIn(c echo.Context, userID, tenantID store.ID) error {
	ctx := c.Request().Context()
	if err := h.sessions.RenewToken(ctx); err != nil {
		return errSessionsUnavailable
	}
	sid, err := h.sessionIndexAdd(ctx, userID, deviceName(c.Request().UserAgent()), c.RealIP())
	if err != nil {
		return err
	}
	h.sessions.Put(ctx, sessUserID, userID.String())
	h.sessions.Put(ctx, sessTenantID, tenantID.String())
	h.sessions.Put(ctx, sessSID, sid)
	h.sessions.Put(ctx, sessSeen, time.Now().UnixMilli())
	return nil
}

// tenantSet renews the session token and points the session at another tenant of the same user.
func (h *Handler) tenantSet(ctx context.Context, tenantID store.ID) error {
	if err := h.sessions.RenewToken(ctx); err != nil {
		return errSessionsUnavailable
	}
	h.sessions.Put(ctx, sessTenantID, tenantID.String())
	return nil
}

func (h *Handler) flash(ctx context.Context, msg string) {
	h.sessions.Put(ctx, sessFlash, msg)
}
