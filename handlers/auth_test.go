package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"

	"ledgerline/handlers"
	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// auditEvents lists tenantID's audit events with action, newest first, through the store.
func (b *testBundle) auditEvents(t *testing.T, tenantID store.ID, action string) []audit.ListedEvent {
	t.Helper()
	res, err := audit.List(context.Background(), b.db, store.Scope{TenantID: tenantID}, audit.ListParams{Action: action, Limit: 200})
	require.NoError(t, err)
	return res.Events
}

// sessionInRedis reports whether the session token is stored in Redis.
func (b *testBundle) sessionInRedis(t *testing.T, token string) bool {
	t.Helper()
	conn := b.redis.Get()
	defer conn.Close()
	n, err := redis.Int(conn.Do("EXISTS", b.prefix+"session:"+token))
	require.NoError(t, err)
	return n == 1
}

func TestLoginRenewsSessionToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newClient(t)

	// Signing out leaves an anonymous session that carries the "signed out" message: the token a
	// session-fixation attacker could have planted before the next sign-in.
	res := c.signIn(b.usersA[identity.RoleEmployee].Email, testPassword)
	require.Equal(t, http.StatusSeeOther, res.status)
	res = c.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	before := c.cookie(sessionCookie)
	require.NotEmpty(t, before, "no anonymous session after sign-out")
	require.True(t, b.sessionInRedis(t, before))

	// A wrong password does not change the anonymous session.
	res = c.signIn(b.usersA[identity.RoleManager].Email, "not-the-password-at-all")
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.Equal(t, before, c.cookie(sessionCookie))

	res = c.signIn(b.usersA[identity.RoleManager].Email, testPassword)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/", res.location())
	after := c.cookie(sessionCookie)
	require.NotEmpty(t, after)
	require.NotEqual(t, before, after, "sign-in kept the pre-login session token")
	require.False(t, b.sessionInRedis(t, before), "the pre-login token is still stored")

	res = c.get("/")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, b.usersA[identity.RoleManager].Name, testID(t, res, "whoami"))

	// Whoever holds the old token is not signed in.
	res = b.withSession(t, before).get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
}

func TestLogoutEndsSession(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleAuditor]
	c := b.signedIn(t, u)
	token := c.cookie(sessionCookie)
	require.True(t, b.sessionInRedis(t, token))
	require.Equal(t, http.StatusOK, b.withSession(t, token).get("/").status, "a copy of the cookie works before sign-out")

	res := c.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	require.False(t, b.sessionInRedis(t, token), "the session is still in Redis")
	require.NotEqual(t, token, c.cookie(sessionCookie))

	res = c.get("/login")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, textOf(res.doc), "You have signed out.")
	res = c.get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())

	// Replaying the old cookie does not bring the session back.
	res = b.withSession(t, token).get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.sign_out"), 1)
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleAdmin]
	c := b.signedIn(t, u)
	res := c.get("/")
	require.Equal(t, http.StatusOK, res.status)
	token := c.token
	require.NotEmpty(t, token)
	require.Equal(t, token, c.cookie(csrfCookie))

	other := b.newClient(t)
	other.get("/login")
	require.NotEmpty(t, other.token)
	require.NotEqual(t, token, other.token)

	for _, tt := range []struct {
		name   string
		form   url.Values
		header http.Header
	}{
		{"no token, no Sec-Fetch-Site", url.Values{}, nil},
		{"wrong token", url.Values{"_csrf": {"not-the-token"}}, nil},
		{"token of another browser", url.Values{"_csrf": {other.token}}, nil},
		{"cross-site, even with the token", url.Values{"_csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site without token", url.Values{}, http.Header{"Sec-Fetch-Site": {"same-site"}}},
	} {
		res := c.do(http.MethodPost, "/logout", tt.form, tt.header)
		require.Equal(t, http.StatusForbidden, res.status, tt.name)
		testID(t, res, "error-page")
		// Nothing happened: still signed in, no sign-out recorded.
		res = c.get("/")
		require.Equal(t, http.StatusOK, res.status, "%s: signed out", tt.name)
		require.Empty(t, b.auditEvents(t, b.tenantA.ID, "auth.sign_out"), tt.name)
	}

	// The token in the header (as htmx sends it) works, and so does the form field.
	res = c.do(http.MethodPost, "/logout", url.Values{}, http.Header{"X-CSRF-Token": {token}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.sign_out"), 1)
	c = b.signedIn(t, u)
	res = c.post("/logout", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.sign_out"), 2)

	// A browser that says the request is same-origin needs no token.
	c = b.signedIn(t, u)
	res = c.do(http.MethodPost, "/logout", url.Values{}, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.sign_out"), 3)

	// Sign-in is protected too: the right password with a wrong token is refused, and no session starts.
	anon := b.newClient(t)
	anon.get("/login")
	res = anon.do(http.MethodPost, "/login", url.Values{"_csrf": {"forged"}, "email": {u.Email}, "password": {u.Password}}, nil)
	require.Equal(t, http.StatusForbidden, res.status)
	require.Empty(t, anon.cookie(sessionCookie))
	res = anon.get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
}

func TestTenantSwitch(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("NotAMember", func(t *testing.T) {
		t.Parallel()
		u := b.usersA[identity.RoleEmployee]
		c := b.signedIn(t, u)
		token := c.cookie(sessionCookie)
		for _, id := range []string{b.tenantB.ID.String(), identity.PlatformTenantID.String(), store.NewID().String(), "not-an-id"} {
			res := c.post("/tenant/switch", url.Values{"tenant_id": {id}})
			require.Equal(t, http.StatusNotFound, res.status, id)
			require.Equal(t, token, c.cookie(sessionCookie), "a refused switch renewed the session")
		}
		res := c.get("/")
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, b.tenantA.Name, testID(t, res, "current-tenant"))
		for _, e := range b.auditEvents(t, b.tenantB.ID, "auth.tenant_switch") {
			require.NotEqual(t, u.ID.String(), e.EntityID, "a refused switch was recorded in tenant B")
		}
	})

	t.Run("MemberOfBoth", func(t *testing.T) {
		t.Parallel()
		c := b.signedIn(t, b.both)
		res := c.get("/")
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, b.tenantA.Name, testID(t, res, "current-tenant"))
		require.Equal(t, "Administrator", testID(t, res, "role"))
		// The switcher offers both tenants.
		require.Equal(t, b.tenantB.ID.String(), selectOption(t, res, "tenant_id", "Globex Retail"))

		before := c.cookie(sessionCookie)
		res = c.post("/tenant/switch", url.Values{"tenant_id": {b.tenantB.ID.String()}})
		require.Equal(t, http.StatusSeeOther, res.status)
		require.Equal(t, "/", res.location())
		after := c.cookie(sessionCookie)
		require.NotEqual(t, before, after, "the tenant switch did not renew the session token")
		require.False(t, b.sessionInRedis(t, before))

		res = c.get("/")
		require.Equal(t, http.StatusOK, res.status)
		require.Equal(t, b.tenantB.Name, testID(t, res, "current-tenant"))
		require.Equal(t, "Auditor", testID(t, res, "role"))
		require.Contains(t, textOf(res.doc), "You are now working in Globex Retail.")
		switches := b.auditEvents(t, b.tenantB.ID, "auth.tenant_switch")
		require.Len(t, switches, 1)
		require.Equal(t, b.both.ID.String(), switches[0].EntityID)
		// As auditor in B the user reads B's audit log.
		require.Equal(t, http.StatusOK, c.get("/audit").status)

		res = b.withSession(t, before).get("/")
		require.Equal(t, http.StatusSeeOther, res.status)
		require.Equal(t, "/login", res.location())
	})
}

// selectOption returns the value of the option of select name whose label starts with label.
func selectOption(t *testing.T, r *response, name, label string) string {
	t.Helper()
	for _, sel := range elements(r.doc, "select") {
		if attr(sel, "name") != name {
			continue
		}
		for _, o := range elements(sel, "option") {
			if strings.HasPrefix(textOf(o), label) {
				return attr(o, "value")
			}
		}
	}
	require.Failf(t, "no option", "no option %q in select %q", label, name)
	return ""
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()

	t.Run("PerAccount", func(t *testing.T) {
		t.Parallel()
		b := setupWith(t, setupOpts{LoginLimits: handlers.LoginLimits{PerAccount: 3, PerAddress: 100, Window: time.Minute}})
		u := b.usersA[identity.RoleFinance]
		c := b.newClient(t)
		for i := range 3 {
			res := c.signIn(u.Email, "wrong-password-number-"+string(rune('1'+i)))
			require.Equal(t, http.StatusUnauthorized, res.status, "attempt %d", i+1)
		}
		res := c.signIn(u.Email, u.Password)
		require.Equal(t, http.StatusTooManyRequests, res.status)
		require.Contains(t, testID(t, res, "login-error"), "Try again in 1 minute.")
		require.Empty(t, c.cookie(sessionCookie), "a throttled sign-in started a session")
		require.Equal(t, http.StatusSeeOther, c.get("/").status)

		// The same account in other letter case is the same account.
		res = b.newClient(t).signIn("  "+strings.ToUpper(u.Email), u.Password)
		require.Equal(t, http.StatusTooManyRequests, res.status)

		// Other accounts from the same address are not affected.
		b.signedIn(t, b.usersA[identity.RoleEmployee])
	})

	t.Run("PerAddress", func(t *testing.T) {
		t.Parallel()
		b := setupWith(t, setupOpts{LoginLimits: handlers.LoginLimits{PerAccount: 100, PerAddress: 3, Window: time.Minute}})
		c := b.newClient(t)
		for i, email := range []string{b.usersA[identity.RoleManager].Email, b.usersB[identity.RoleFinance].Email, "nobody@nowhere.example"} {
			res := c.signIn(email, "wrong-password-for-everyone")
			require.Equal(t, http.StatusUnauthorized, res.status, "attempt %d", i+1)
		}
		// A fourth account, with its right password, from the same address (another browser, too).
		u := b.usersA[identity.RoleAdmin]
		res := b.newClient(t).signIn(u.Email, u.Password)
		require.Equal(t, http.StatusTooManyRequests, res.status)
		require.Contains(t, testID(t, res, "login-error"), "Try again in 1 minute.")
	})
}

func TestFailedSignInSameAnswer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleEmployee]
	unknown := "nobody-" + randomHex(4) + "@nowhere.example"

	wrong := b.newClient(t).signIn(u.Email, "not-the-right-password")
	missing := b.newClient(t).signIn(unknown, "not-the-right-password")
	require.Equal(t, http.StatusUnauthorized, wrong.status)
	require.Equal(t, http.StatusUnauthorized, missing.status)
	msg := testID(t, wrong, "login-error")
	require.Equal(t, "The e-mail address or password is incorrect.", msg)
	require.Equal(t, msg, testID(t, missing, "login-error"))
	// The address typed is kept in the form, the password is not.
	require.Equal(t, u.Email, inputValue(wrong.doc, "email"))
	require.Empty(t, inputValue(wrong.doc, "password"))

	events := b.auditEvents(t, b.tenantA.ID, "auth.sign_in_failed")
	require.Len(t, events, 1)
	require.Equal(t, u.ID.String(), events[0].EntityID)
	require.Equal(t, map[string]string{"email": u.Email, "reason": "wrong_password"}, jsonMap(t, events[0].After))
	require.Equal(t, "127.0.0.1", events[0].ClientIP)
	require.NotEmpty(t, events[0].RequestID)
	require.Equal(t, wrong.header.Get("X-Request-Id"), events[0].RequestID)
	require.Empty(t, b.auditEvents(t, b.tenantB.ID, "auth.sign_in_failed"), "a failure leaked into another tenant")

	var found bool
	for _, e := range b.auditEvents(t, identity.PlatformTenantID, "auth.sign_in_failed") {
		if jsonMap(t, e.After)["email"] == unknown {
			found = true
			require.Equal(t, "unknown_email", jsonMap(t, e.After)["reason"])
		}
	}
	require.True(t, found, "no auth.sign_in_failed for the unknown address in the platform tenant")

	// A user of two tenants has the failure recorded in both.
	res := b.newClient(t).signIn(b.both.Email, "not-the-right-password")
	require.Equal(t, http.StatusUnauthorized, res.status)
	for _, tenant := range []store.ID{b.tenantA.ID, b.tenantB.ID} {
		var n int
		for _, e := range b.auditEvents(t, tenant, "auth.sign_in_failed") {
			if e.EntityID == b.both.ID.String() {
				n++
			}
		}
		require.Equal(t, 1, n, "tenant %s", tenant)
	}
}

func jsonMap(t *testing.T, b []byte) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// TestSessionIdleTimeout: an active session is not rewritten on every request, Redis forgets a session
// after the idle timeout, and a session idle for longer is signed out and leaves the user's session list.
func TestSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 2 * time.Second
	b := setupWith(t, setupOpts{SessionIdle: idle})
	u := b.usersA[identity.RoleEmployee]
	c := b.signedIn(t, u)
	token := c.cookie(sessionCookie)

	conn := b.redis.Get()
	defer conn.Close()
	ttl, err := redis.Int(conn.Do("PTTL", b.prefix+"session:"+token))
	require.NoError(t, err)
	require.Greater(t, ttl, 0, "the session is not in Redis")
	require.LessOrEqual(t, ttl, int(idle.Milliseconds()), "Redis keeps the session past the idle timeout")

	// Requests within a tenth of the idle timeout leave the session as it is: no re-save, no new cookie.
	res := c.get("/")
	require.Equal(t, http.StatusOK, res.status)
	for _, ck := range res.header.Values("Set-Cookie") {
		require.False(t, strings.HasPrefix(ck, sessionCookie+"="), "session re-sent: %s", ck)
	}

	// Staying active keeps the session alive past the idle timeout.
	for range 6 {
		time.Sleep(idle / 4)
		res = c.get("/")
		require.Equal(t, http.StatusOK, res.status, "signed out while active")
	}
	require.Equal(t, token, c.cookie(sessionCookie))

	// Idle for longer than the timeout: signed out. Redis expires the session on its own, so a copy of
	// its data is put back to prove the server checks the idle time itself.
	data, err := redis.Bytes(conn.Do("GET", b.prefix+"session:"+token))
	require.NoError(t, err)
	time.Sleep(idle + 500*time.Millisecond)
	_, err = conn.Do("SET", b.prefix+"session:"+token, data, "PX", 60_000)
	require.NoError(t, err)
	res = c.get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	n, err := redis.Int(conn.Do("HLEN", b.prefix+"user_sessions:"+u.ID.String()))
	require.NoError(t, err)
	require.Zero(t, n, "the idle session is still in the user's session list")
}
