package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/handlers/ssotest"
	"ledgerline/store"
	"ledgerline/store/identity"
)

// ssoSetup starts a real OpenID provider and configures it as tenant A's single sign-on through the admin
// page, for the domain of A's test users.
func ssoSetup(t *testing.T, b *testBundle, passwordAllowed bool) (*ssotest.Provider, *client) {
	t.Helper()
	p := ssotest.Start(t, b.baseURL.String()+"/sso/callback")
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	page := admin.get("/admin/sso")
	require.Equal(t, http.StatusOK, page.status)
	require.Equal(t, b.baseURL.String()+"/sso/callback", testID(t, page, "sso-redirect"))
	form := url.Values{"enabled": {"true"}, "issuer_url": {p.Issuer}, "client_id": {p.ClientID},
		"client_secret": {p.ClientSecret}, "allowed_domains": {"acme.example, acme-labs.example"},
		"default_role": {"employee"}, "version": {"0"}}
	if passwordAllowed {
		form.Set("password_allowed", "true")
	}
	res := admin.post("/admin/sso", form)
	require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
	return p, admin
}

// ssoFlow starts a single sign-on for identifier and follows the browser's redirects through the provider
// back to Ledgerline's callback, returning the callback's response.
func ssoFlow(t *testing.T, b *testBundle, c *client, identifier string) *response {
	t.Helper()
	c.get("/sso")
	res := c.post("/sso", url.Values{"identifier": {identifier}})
	require.Equal(t, http.StatusOK, res.status, textOf(res.doc))
	var loc string
	for _, n := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "sso-provider-link" }) {
		loc = attr(n, "href")
	}
	require.Equal(t, "0; url="+loc, res.header.Get("Refresh"))
	require.Contains(t, loc, "code_challenge_method=S256")
	require.Contains(t, loc, "nonce=")
	require.Contains(t, loc, "state=")
	for hop := 0; hop < 10; hop++ {
		if strings.HasPrefix(loc, b.baseURL.String()) {
			return c.get(strings.TrimPrefix(loc, b.baseURL.String()))
		}
		resp, err := c.http.Get(loc)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusFound, resp.StatusCode, "provider at %s", loc)
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		loc = next.String()
	}
	t.Fatal("too many redirects")
	return nil
}

func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, _ := ssoSetup(t, b, true)
	ctx := context.Background()
	manager := b.usersA[identity.RoleManager]

	t.Run("existing member by verified e-mail", func(t *testing.T) {
		p.SignInAs(ssotest.User{Subject: "sub-manager", Email: strings.ToUpper(manager.Email[:1]) + manager.Email[1:], EmailVerified: true, Name: "Max"})
		c := b.newClient(t)
		res := ssoFlow(t, b, c, manager.Email)
		require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
		require.Equal(t, "/", res.location())
		home := c.get("/")
		require.Equal(t, http.StatusOK, home.status)
		require.Contains(t, textOf(home.doc), manager.Name)
		var method string
		require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &method, `SELECT after->>'method' FROM audit_events
				WHERE action = 'auth.sign_in' AND entity_id = $1 ORDER BY occurred_at DESC LIMIT 1`, manager.ID.String())
		}))
		require.Equal(t, "sso", method)
	})

	t.Run("new person created just in time with the default role", func(t *testing.T) {
		email := "newbie-" + randomHex(4) + "@acme-labs.example"
		p.SignInAs(ssotest.User{Subject: "sub-new", Email: email, EmailVerified: true, Name: "Nia Newbie"})
		c := b.newClient(t)
		// By organization slug this time.
		res := ssoFlow(t, b, c, "acme")
		require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
		id, err := identity.UserIDByEmail(ctx, b.db, email)
		require.NoError(t, err)
		var role string
		require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &role, `SELECT role FROM memberships WHERE user_id = $1`, id)
		}))
		require.Equal(t, "employee", role)
		require.Equal(t, http.StatusForbidden, c.get("/admin/sso").status, "an employee")
	})

	refused := func(t *testing.T, status int, msg string) {
		t.Helper()
		c := b.newClient(t)
		res := ssoFlow(t, b, c, manager.Email)
		require.Equal(t, status, res.status, textOf(res.doc))
		require.Contains(t, testID(t, res, "sso-error"), msg)
		home := c.get("/")
		require.Equal(t, http.StatusSeeOther, home.status, "not signed in")
	}
	verifyFailed := "could not be verified"

	t.Run("wrong audience", func(t *testing.T) {
		p.SignInAs(ssotest.User{Subject: "sub-manager", Email: manager.Email, EmailVerified: true})
		p.Misbehave([]string{"some-other-client"}, 0, nil)
		defer p.Misbehave(nil, 0, nil)
		refused(t, http.StatusUnauthorized, verifyFailed)
	})
	t.Run("expired ID token", func(t *testing.T) {
		p.SignInAs(ssotest.User{Subject: "sub-manager", Email: manager.Email, EmailVerified: true})
		p.Misbehave(nil, -time.Hour, nil)
		defer p.Misbehave(nil, 0, nil)
		refused(t, http.StatusUnauthorized, verifyFailed)
	})
	t.Run("bad nonce", func(t *testing.T) {
		p.SignInAs(ssotest.User{Subject: "sub-manager", Email: manager.Email, EmailVerified: true})
		other := "a-nonce-from-another-sign-in"
		p.Misbehave(nil, 0, &other)
		defer p.Misbehave(nil, 0, nil)
		refused(t, http.StatusUnauthorized, verifyFailed)
	})
	t.Run("e-mail outside the allowed domains", func(t *testing.T) {
		p.SignInAs(ssotest.User{Subject: "sub-evil", Email: "mallory@evil.example", EmailVerified: true})
		refused(t, http.StatusForbidden, "not in a domain")
		_, err := identity.UserIDByEmail(ctx, b.db, "mallory@evil.example")
		require.Equal(t, store.NotFound, store.ErrorCode(err), "nobody was created")
	})
	t.Run("unverified e-mail", func(t *testing.T) {
		p.SignInAs(ssotest.User{Subject: "sub-manager", Email: manager.Email, EmailVerified: false})
		refused(t, http.StatusForbidden, "did not confirm your e-mail")
	})
	t.Run("disabled user", func(t *testing.T) {
		employee := b.usersA[identity.RoleEmployee]
		_, err := identity.MemberDeactivate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID}, employee.ID)
		require.NoError(t, err)
		p.SignInAs(ssotest.User{Subject: "sub-employee", Email: employee.Email, EmailVerified: true})
		c := b.newClient(t)
		res := ssoFlow(t, b, c, employee.Email)
		require.Equal(t, http.StatusForbidden, res.status)
		require.Contains(t, testID(t, res, "sso-error"), "deactivated")
		var reasons []string
		require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
			return tx.SelectContext(ctx, &reasons, `SELECT after->>'reason' FROM audit_events WHERE action = 'auth.sign_in_failed' AND after->>'method' = 'sso' ORDER BY occurred_at`)
		}))
		require.Contains(t, reasons, "membership_deactivated")
		require.Contains(t, reasons, "domain_not_allowed")
		require.Contains(t, reasons, "id_token_invalid")
	})
	t.Run("state from another browser", func(t *testing.T) {
		c := b.newClient(t)
		res := c.get("/sso/callback?state=forged&code=x")
		require.Equal(t, http.StatusBadRequest, res.status)
		require.Contains(t, testID(t, res, "sso-error"), "another browser")
	})
	t.Run("unknown organization", func(t *testing.T) {
		c := b.newClient(t)
		c.get("/sso")
		res := c.post("/sso", url.Values{"identifier": {"someone@nowhere.example"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "sso-error"), "No organization")
	})
	t.Run("provider down", func(t *testing.T) {
		p.Close()
		c := b.newClient(t)
		c.get("/sso")
		res := c.post("/sso", url.Values{"identifier": {manager.Email}})
		require.Equal(t, http.StatusBadGateway, res.status)
		msg := testID(t, res, "sso-error")
		require.Contains(t, msg, "cannot be reached")
		require.Contains(t, msg, "Sign in with your password instead")
	})
}

func TestSSOPasswordRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Sessions opened with a password before the change end with it; the saving admin's own stays.
	before := b.signedIn(t, b.usersA[identity.RoleFinance])
	p, admin := ssoSetup(t, b, false)
	require.Equal(t, http.StatusSeeOther, before.get("/").status, "signed out")
	settings := admin.get("/admin/sso")
	require.Equal(t, http.StatusOK, settings.status)
	require.Contains(t, settings.body, "members were signed out")

	// A member of A only: password sign-in is refused.
	c := b.newClient(t)
	res := c.signIn(b.usersA[identity.RoleManager].Email, testPassword)
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.Contains(t, testID(t, res, "login-error"), "single sign-on only")

	// Admin of A and auditor of B: the password opens B, never A.
	c = b.newClient(t)
	res = c.signIn(b.both.Email, b.both.Password)
	require.Equal(t, http.StatusSeeOther, res.status)
	home := c.get("/")
	require.Contains(t, textOf(home.doc), "Globex Retail")
	sw := c.post("/tenant/switch", url.Values{"tenant_id": {b.tenantA.ID.String()}})
	require.Equal(t, http.StatusForbidden, sw.status)

	// Through A's provider the same person enters A.
	p.SignInAs(ssotest.User{Subject: "sub-both", Email: b.both.Email, EmailVerified: true})
	c = b.newClient(t)
	res = ssoFlow(t, b, c, b.both.Email)
	require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
	require.Contains(t, textOf(c.get("/").doc), "Acme Manufacturing")

	// B's admin sees B's settings (none), never A's.
	bAdmin := b.signedIn(t, b.usersB[identity.RoleAdmin])
	page := bAdmin.get("/admin/sso")
	require.Equal(t, http.StatusOK, page.status)
	require.NotContains(t, page.body, p.Issuer)

	// Turning passwords off with SSO off is refused, keeping every input.
	admin = c
	admin.get("/admin/sso")
	res = admin.post("/admin/sso", url.Values{"issuer_url": {p.Issuer}, "client_id": {p.ClientID}, "allowed_domains": {"acme.example"},
		"default_role": {"employee"}, "version": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Keep password sign-in")
	require.Equal(t, p.Issuer, inputValue(res.doc, "issuer_url"))
}
