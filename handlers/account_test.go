package handlers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/handlers"
	"ledgerline/store"
	"ledgerline/store/identity"
)

// totpWaitFreshStep waits, when needed, until at least 5 s of the current 30-second TOTP step remain, so
// codes made for "now" and "the next step" keep naming the same steps while a test runs.
func totpWaitFreshStep(t *testing.T) {
	t.Helper()
	if left := 30 - time.Now().Unix()%30; left < 5 {
		time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
	}
}

func totpCodeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	require.NoError(t, err)
	return code
}

// totpWrongCode returns a 6-digit code that no step within the clock skew of now has.
func totpWrongCode(t *testing.T, secret string) string {
	t.Helper()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		valid[totpCodeAt(t, secret, time.Now().Add(d))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// twoFactorEnrol enrols the client's user through the account pages, as a person would: start the set-up,
// read the key off the page, confirm with the current code. It returns the key and the recovery codes.
func twoFactorEnrol(t *testing.T, c *client) (string, []string) {
	t.Helper()
	res := c.get("/account/two-factor")
	require.Equal(t, http.StatusOK, res.status)
	testID(t, res, "two-factor-off")

	res = c.post("/account/two-factor/setup", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/account/two-factor", res.location())

	res = c.get("/account/two-factor")
	require.Equal(t, http.StatusOK, res.status)
	testID(t, res, "two-factor-pending")
	secret := strings.ReplaceAll(testID(t, res, "totp-secret"), " ", "")
	require.Regexp(t, `^[A-Z2-7]{32}$`, secret)

	// The QR code is a PNG inside a data: URL (the CSP allows data: images, nothing external).
	imgs := findAll(res.doc, func(n *html.Node) bool { return n.Data == "img" && attr(n, "data-testid") == "totp-qr" })
	require.Len(t, imgs, 1)
	src := attr(imgs[0], "src")
	require.True(t, strings.HasPrefix(src, "data:image/png;base64,"), "QR src %.60q", src)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, 200, img.Bounds().Dx())

	// A wrong code keeps the set-up open, with the error next to the field.
	res = c.post("/account/two-factor/enable", url.Values{"code": {"abc"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	testID(t, res, "two-factor-pending")
	testID(t, res, "error-summary")

	res = c.post("/account/two-factor/enable", url.Values{"code": {totpCodeAt(t, secret, time.Now())}})
	require.Equal(t, http.StatusOK, res.status, textOf(res.doc))
	items := findAll(res.doc, func(n *html.Node) bool { return attr(n, "class") == "recovery-codes__item" })
	require.Len(t, items, identity.RecoveryCodeCount)
	codes := make([]string, len(items))
	for i, n := range items {
		codes[i] = textOf(n)
		require.Regexp(t, `^[a-z2-9]{5}-[a-z2-9]{5}$`, codes[i])
	}

	// Shown once: the page now says "on" and has no codes.
	res = c.get("/account/two-factor")
	require.Equal(t, http.StatusOK, res.status)
	testID(t, res, "two-factor-on")
	require.Contains(t, testID(t, res, "recovery-codes-left"), "10 unused recovery codes")
	_, shown := byTestID(res.doc, "recovery-codes")
	require.False(t, shown)
	return secret, codes
}

// signInWithCode signs a new client in with the password and then the code, and checks it lands on /.
func (b *testBundle) signInWithCode(t *testing.T, u testUser, code string) *client {
	t.Helper()
	c := b.newClient(t)
	res := c.signIn(u.Email, u.Password)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login/two-factor", res.location())
	require.Equal(t, http.StatusOK, c.get("/login/two-factor").status)
	res = c.post("/login/two-factor", url.Values{"code": {code}})
	require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
	require.Equal(t, "/", res.location())
	return c
}

func TestAccountProfile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleEmployee]
	c := b.signedIn(t, u)

	res := c.get("/")
	require.Equal(t, "/account", attr(findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "account-link" })[0], "href"))

	res = c.get("/account")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, u.Email, testID(t, res, "account-email"))
	links := testID(t, res, "account-links")
	for _, want := range []string{"Password", "Two-factor authentication", "Sessions", "API tokens"} {
		require.Contains(t, links, want)
	}
	require.NotEmpty(t, findAll(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/account/tokens" }))
	version := inputValue(res.doc, "version")

	res = c.post("/account", url.Values{"name": {"   "}, "version": {version}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	testID(t, res, "error-summary")

	res = c.post("/account", url.Values{"name": {"Eli Renamed"}, "version": {version}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/account", res.location())
	res = c.get("/")
	require.Equal(t, "Eli Renamed", testID(t, res, "shell-user"))
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "user.profile_update"), 1)

	// A form from before the change is stale.
	res = c.post("/account", url.Values{"name": {"Someone Else"}, "version": {version}})
	require.Equal(t, http.StatusConflict, res.status)
}

func TestAccountPasswordChange(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleManager]
	c := b.signedIn(t, u)
	other := b.signedIn(t, u) // the same person in another browser

	res := c.get("/account/password")
	require.Equal(t, http.StatusOK, res.status)

	res = c.post("/account/password", url.Values{
		"current_password": {"not-my-password-at-all"}, "password": {"a brand new passphrase"},
		"password_confirm": {"a brand new passphrase"}, "sign_out_others": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "current password is incorrect")
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.password_check_failed"), 1)

	res = c.post("/account/password", url.Values{
		"current_password": {u.Password}, "password": {"a brand new passphrase"},
		"password_confirm": {"a brand new passphrase"}, "sign_out_others": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
	require.Equal(t, "/account", res.location())
	res = c.get("/account")
	require.Equal(t, http.StatusOK, res.status, "this session stays signed in")
	require.Contains(t, textOf(res.doc), "Your other sessions have been signed out.")

	// The other browser is signed out at its next request.
	res = other.get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.password_change"), 1)

	// Only the new password signs in.
	require.Equal(t, http.StatusUnauthorized, b.newClient(t).signIn(u.Email, u.Password).status)
	u.Password = "a brand new passphrase"
	b.signedIn(t, u)

	// Without the checkbox, other sessions stay.
	third := b.signedIn(t, u)
	res = c.post("/account/password", url.Values{
		"current_password": {u.Password}, "password": {"yet another passphrase"}, "password_confirm": {"yet another passphrase"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusOK, third.get("/").status)
}

func TestAccountPasswordThrottle(t *testing.T) {
	t.Parallel()
	b := setupWith(t, setupOpts{LoginLimits: handlers.LoginLimits{PerAccount: 2, PerAddress: 100, Window: time.Minute}})
	u := b.usersA[identity.RoleFinance]
	c := b.signedIn(t, u)
	c.get("/account/password")
	for i := range 2 {
		res := c.post("/account/password", url.Values{"current_password": {"guess-number-" + string(rune('1'+i))},
			"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
	}
	// Guesses on the account page count like failed sign-ins: now even the right password waits.
	res := c.post("/account/password", url.Values{"current_password": {u.Password},
		"password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}})
	require.Equal(t, http.StatusTooManyRequests, res.status)
	require.Equal(t, http.StatusTooManyRequests, b.newClient(t).signIn(u.Email, u.Password).status)
}

func TestAccountSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleAuditor]
	c := b.signedIn(t, u)
	other := b.signedIn(t, u)

	res := c.get("/account/sessions")
	require.Equal(t, http.StatusOK, res.status)
	rows := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "session-row" })
	require.Len(t, rows, 2)
	current := 0
	for _, r := range rows {
		if strings.Contains(textOf(r), "This session") {
			current++
		}
	}
	require.Equal(t, 1, current, "exactly one row is this session")
	sid := inputValue(res.doc, "sid")
	require.NotEmpty(t, sid, "a Sign out button for the other session")

	// Someone else cannot end this person's session, even knowing its id.
	stranger := b.signedIn(t, b.usersA[identity.RoleEmployee])
	stranger.get("/account/sessions")
	require.Equal(t, http.StatusNotFound, stranger.post("/account/sessions/end", url.Values{"sid": {sid}}).status)
	require.Equal(t, http.StatusOK, other.get("/").status)

	res = c.post("/account/sessions/end", url.Values{"sid": {sid}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/account/sessions", res.location())
	res = other.get("/")
	require.Equal(t, http.StatusSeeOther, res.status, "the ended session is signed out at its next request")
	require.Equal(t, "/login", res.location())

	res = c.get("/account/sessions")
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "session-row" }), 1)
	require.Len(t, b.auditEvents(t, b.tenantA.ID, "auth.session_end"), 1)
	require.Equal(t, http.StatusNotFound, c.post("/account/sessions/end", url.Values{"sid": {sid}}).status, "already ended")

	// "Sign out all other sessions" ends every other one and keeps this one.
	second, third := b.signedIn(t, u), b.signedIn(t, u)
	res = c.post("/account/sessions/end-others", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusSeeOther, second.get("/").status)
	require.Equal(t, http.StatusSeeOther, third.get("/").status)
	require.Equal(t, http.StatusOK, c.get("/").status)
}

func TestAccountTwoFactorSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleEmployee]
	totpWaitFreshStep(t)
	c := b.signedIn(t, u)
	secret, codes := twoFactorEnrol(t, c)
	require.Equal(t, http.StatusOK, c.get("/").status, "enrolling keeps the session")

	// The password alone leaves a pending sign-in that reaches nothing but the code page.
	pending := b.newClient(t)
	res := pending.signIn(u.Email, u.Password)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login/two-factor", res.location())
	for _, path := range []string{"/", "/account", "/account/two-factor", "/audit"} {
		res = pending.get(path)
		require.Equal(t, http.StatusSeeOther, res.status, path)
		require.Equal(t, "/login/two-factor", res.location(), path)
	}
	res = pending.post("/logout", nil)
	require.Equal(t, "/login/two-factor", res.location())
	res = pending.get("/login/two-factor")
	require.Equal(t, http.StatusOK, res.status)

	// A wrong code is refused and counted as a failed sign-in.
	res = pending.post("/login/two-factor", url.Values{"code": {totpWrongCode(t, secret)}})
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.Contains(t, testID(t, res, "login-error"), "not correct")
	res = pending.post("/login/two-factor", url.Values{"code": {"not-a-code"}})
	require.Equal(t, http.StatusUnauthorized, res.status)
	require.NotEmpty(t, b.auditEvents(t, b.tenantA.ID, "auth.sign_in_failed"))

	// The enrolment used up the current step; the next step's code (within the clock skew) signs in.
	next := totpCodeAt(t, secret, time.Now().Add(30*time.Second))
	res = pending.post("/login/two-factor", url.Values{"code": {next}})
	require.Equal(t, http.StatusSeeOther, res.status, textOf(res.doc))
	require.Equal(t, "/", res.location())
	res = pending.get("/")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, u.Name, testID(t, res, "whoami"))
	var methods []string
	for _, ev := range b.auditEvents(t, b.tenantA.ID, "auth.sign_in") {
		methods = append(methods, jsonMap(t, ev.After)["method"])
	}
	require.Contains(t, methods, "totp")

	// The same code again, from another browser, is refused: each code works once.
	replay := b.newClient(t)
	replay.signIn(u.Email, u.Password)
	res = replay.post("/login/two-factor", url.Values{"code": {next}})
	require.Equal(t, http.StatusUnauthorized, res.status)

	// A recovery code signs in once.
	rc := b.signInWithCode(t, u, strings.ToUpper(codes[3]))
	res = rc.get("/")
	require.Contains(t, textOf(res.doc), "You have 9 left.")
	again := b.newClient(t)
	again.signIn(u.Email, u.Password)
	res = again.post("/login/two-factor", url.Values{"code": {codes[3]}})
	require.Equal(t, http.StatusUnauthorized, res.status)

	// Turning it off needs the password; then the password alone signs in again.
	res = c.post("/account/two-factor/disable", url.Values{"disable_password": {"wrong-password-here"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	res = c.post("/account/two-factor/disable", url.Values{"disable_password": {u.Password}})
	require.Equal(t, http.StatusSeeOther, res.status)
	b.signedIn(t, u)
}

func TestAccountRecoveryCodesRegenerate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleFinance]
	totpWaitFreshStep(t)
	c := b.signedIn(t, u)
	_, old := twoFactorEnrol(t, c)

	res := c.post("/account/two-factor/recovery-codes", url.Values{"codes_password": {"wrong-password-here"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	res = c.post("/account/two-factor/recovery-codes", url.Values{"codes_password": {u.Password}})
	require.Equal(t, http.StatusOK, res.status)
	items := findAll(res.doc, func(n *html.Node) bool { return attr(n, "class") == "recovery-codes__item" })
	require.Len(t, items, identity.RecoveryCodeCount)

	stale := b.newClient(t)
	stale.signIn(u.Email, u.Password)
	require.Equal(t, http.StatusUnauthorized, stale.post("/login/two-factor", url.Values{"code": {old[0]}}).status)
	b.signInWithCode(t, u, textOf(items[0]))
}

func TestPendingSignIn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleManager]
	totpWaitFreshStep(t)
	secret, _ := twoFactorEnrol(t, b.signedIn(t, u))

	c := b.newClient(t)
	res := c.signIn(u.Email, u.Password)
	require.Equal(t, "/login/two-factor", res.location())
	// Without a pending sign-in of its own, the code page sends a visitor to sign in, whatever the code.
	res = b.newClient(t).get("/login/two-factor")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	res = b.newClient(t).post("/login/two-factor", url.Values{"code": {totpCodeAt(t, secret, time.Now().Add(30*time.Second))}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())

	// Signing in again as someone else replaces the pending sign-in.
	other := b.usersA[identity.RoleAuditor]
	res = c.signIn(other.Email, other.Password)
	require.Equal(t, "/", res.location())
	res = c.get("/")
	require.Equal(t, other.Name, testID(t, res, "whoami"))
}

func TestAdminTwoFactorGate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tenants SET require_2fa_admins = true WHERE id = $1`, b.tenantA.ID)
		return err
	}))
	admin := b.usersA[identity.RoleAdmin]
	totpWaitFreshStep(t)
	c := b.signedIn(t, admin)

	res := c.get("/admin/users")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/account/two-factor", res.location())
	res = c.get("/account/two-factor")
	require.Contains(t, testID(t, res, "two-factor-required"), "requires two-factor authentication for administrators")

	// Other roles are judged by the route's permission, not sent to enrol.
	res = b.signedIn(t, b.usersA[identity.RoleManager]).get("/admin/users")
	require.NotEqual(t, "/account/two-factor", res.location())

	secret, _ := twoFactorEnrol(t, c)

	res = c.get("/admin/users")
	require.NotEqual(t, http.StatusSeeOther, res.status, "enrolled admins get through")
	require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, res.status)

	// And after signing in again, with a code.
	c2 := b.signInWithCode(t, admin, totpCodeAt(t, secret, time.Now().Add(30*time.Second)))
	res = c2.get("/admin/users")
	require.NotEqual(t, http.StatusSeeOther, res.status)
}
