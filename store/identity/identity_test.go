package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
	"ledgerline/store/storetest"
)

const (
	password    = "correct horse battery staple"
	newPassword = "a whole new passphrase"
	linkPrefix  = "https://ledgerline.test/password/reset?token="
)

// testBundle is one test's database: the app role's handle and the owner's URL for changes behind the
// app's back (disabling a user, expiring a token).
type testBundle struct {
	db       *store.DB
	ownerURL string
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	b := storetest.New(t)
	return &testBundle{db: b.DB, ownerURL: b.OwnerURL}, t.Context()
}

func (tb *testBundle) tenantCreate(ctx context.Context, t *testing.T, name, slug string) store.ID {
	t.Helper()
	ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
		Name: name, Slug: slug, TimeZone: "Europe/Berlin", Currency: "EUR"})
	require.NoError(t, err)
	return ten.ID
}

// userCreate creates a user with the test password. Hashing costs ~50 ms: create only the users a test needs.
func (tb *testBundle) userCreate(ctx context.Context, t *testing.T, tenantID store.ID, email string) store.ID {
	t.Helper()
	u, err := identity.UserCreate(ctx, tb.db, store.Scope{TenantID: tenantID}, identity.UserCreateParams{
		Email: email, Name: "Person " + email, Password: password})
	require.NoError(t, err)
	return u.ID
}

func (tb *testBundle) memberAdd(ctx context.Context, t *testing.T, tenantID, userID store.ID, role identity.Role, dept *store.ID) {
	t.Helper()
	require.NoError(t, identity.MemberAdd(ctx, tb.db, store.Scope{TenantID: tenantID},
		identity.MemberAddParams{UserID: userID, Role: role, DepartmentID: dept}))
}

// ownerExec runs a statement as the schema owner, outside row-level security.
func (tb *testBundle) ownerExec(ctx context.Context, t *testing.T, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
}

// events lists the tenant's audit events of one action, oldest first.
func (tb *testBundle) events(ctx context.Context, t *testing.T, tenantID store.ID, action string) []audit.Event {
	t.Helper()
	var events []audit.Event
	require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &events, `
			SELECT id, tenant_id, occurred_at, actor_id, action, entity_type, entity_id, before, after,
			       request_id, client_ip
			FROM audit_events WHERE action = $1 ORDER BY occurred_at, id`, action)
	}))
	return events
}

// eventsOfRequest keeps the events of one request id, so that parallel subtests do not see each other's.
func eventsOfRequest(events []audit.Event, requestID string) []audit.Event {
	var kept []audit.Event
	for _, ev := range events {
		if ev.RequestID == requestID {
			kept = append(kept, ev)
		}
	}
	return kept
}

func afterField(t *testing.T, ev audit.Event, field string) string {
	t.Helper()
	var after map[string]string
	require.NoError(t, json.Unmarshal(ev.After, &after))
	return after[field]
}

// emails returns the queued e-mails to an address, oldest first. river_job has no row-level security.
func (tb *testBundle) emails(ctx context.Context, t *testing.T, to string) []notify.EmailArgs {
	t.Helper()
	var rows [][]byte
	require.NoError(t, tb.db.X.SelectContext(ctx, &rows,
		`SELECT args FROM river_job WHERE kind = 'email_send' AND args->>'to' = $1 ORDER BY id`, to))
	emails := make([]notify.EmailArgs, len(rows))
	for i, row := range rows {
		require.NoError(t, json.Unmarshal(row, &emails[i]))
	}
	return emails
}

// emailCount counts every queued e-mail.
func (tb *testBundle) emailCount(ctx context.Context, t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, tb.db.X.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'email_send'`))
	return n
}

// resetToken requests a reset for email and reads the token back out of the sealed e-mail body, the only
// place it exists in clear.
func (tb *testBundle) resetToken(ctx context.Context, t *testing.T, email, to string) string {
	t.Helper()
	before := len(tb.emails(ctx, t, to))
	require.NoError(t, identity.PasswordResetRequest(ctx, tb.db, identity.PasswordResetRequestParams{
		Email: email, LinkPrefix: linkPrefix, RequestID: "req-reset", ClientIP: "192.0.2.9"}))
	emails := tb.emails(ctx, t, to)
	require.Len(t, emails, before+1, "one e-mail queued to %s", to)
	msg := emails[len(emails)-1]
	require.NotContains(t, string(msg.SealedText), "token=", "body sealed")
	text, err := msg.Open(tb.db.Secrets)
	require.NoError(t, err)
	_, rest, ok := strings.Cut(text, "token=")
	require.True(t, ok, "reset link in %q", text)
	token := strings.Fields(rest)[0]
	require.NotEmpty(t, token)
	return token
}

func requireCode(t *testing.T, code store.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), err.Error())
}

func requireFields(t *testing.T, err error, fields ...string) map[string]string {
	t.Helper()
	var appErr *store.Error
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, store.Invalid, appErr.Code)
	var got []string
	for f := range appErr.Fields {
		got = append(got, f)
	}
	require.ElementsMatch(t, fields, got)
	return appErr.Fields
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")

	t.Run("FieldRules", func(t *testing.T) {
		t.Parallel()
		// Every case has at least one error, so UserCreate returns before hashing or writing.
		const badEmail = "not-an-email"
		for _, tc := range []struct {
			name     string
			email    string
			userName string
			password string
			fields   []string
			message  string // of the password field, when it has one
		}{
			{"PasswordEmpty", badEmail, "Pat", "", []string{"email", "password"}, "at least 12"},
			{"Password11", badEmail, "Pat", strings.Repeat("a", 11), []string{"email", "password"}, "at least 12"},
			{"Password12", badEmail, "Pat", strings.Repeat("a", 12), []string{"email"}, ""},
			{"Password128", badEmail, "Pat", strings.Repeat("a", 128), []string{"email"}, ""},
			{"Password129", badEmail, "Pat", strings.Repeat("a", 129), []string{"email", "password"}, "at most 128"},
			{"PasswordCountsCharactersNotBytes11", badEmail, "Pat", strings.Repeat("é", 11), []string{"email", "password"}, "at least 12"},
			{"PasswordCountsCharactersNotBytes12", badEmail, "Pat", strings.Repeat("é", 12), []string{"email"}, ""},
			{"PasswordCountsCharactersNotBytes128", badEmail, "Pat", strings.Repeat("é", 128), []string{"email"}, ""},
			{"PasswordNoCompositionRules", badEmail, "Pat", "aaaaaaaaaaaaaaaa", []string{"email"}, ""},
			{"EmailWithDisplayName", "Pat <pat@example.com>", "Pat", "short", []string{"email", "password"}, "at least 12"},
			{"EmailNoAt", "pat.example.com", "Pat", "short", []string{"email", "password"}, "at least 12"},
			{"EmailTooLong", strings.Repeat("a", 250) + "@example.com", "Pat", "short", []string{"email", "password"}, "at least 12"},
			{"EmailValidTrimmed", "  pat@example.com ", "Pat", "short", []string{"password"}, "at least 12"},
			{"NameEmpty", badEmail, "", strings.Repeat("a", 12), []string{"email", "name"}, ""},
			{"NameBlank", badEmail, "   ", strings.Repeat("a", 12), []string{"email", "name"}, ""},
			{"Name200", badEmail, strings.Repeat("n", 200), strings.Repeat("a", 12), []string{"email"}, ""},
			{"Name201", badEmail, strings.Repeat("n", 201), strings.Repeat("a", 12), []string{"email", "name"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				_, err := identity.UserCreate(ctx, tb.db, store.Scope{TenantID: tenant}, identity.UserCreateParams{
					Email: tc.email, Name: tc.userName, Password: tc.password})
				fields := requireFields(t, err, tc.fields...)
				if tc.message != "" {
					require.Contains(t, fields["password"], tc.message)
				}
			})
		}
	})

	t.Run("CreatesAndRefusesDuplicateEmail", func(t *testing.T) {
		t.Parallel()
		u, err := identity.UserCreate(ctx, tb.db, store.Scope{TenantID: tenant}, identity.UserCreateParams{
			Email: " pat@example.com ", Name: " Pat ", Password: password})
		require.NoError(t, err)
		require.Equal(t, "pat@example.com", u.Email)
		require.Equal(t, "Pat", u.Name)
		id, err := identity.UserIDByEmail(ctx, tb.db, "PAT@example.com")
		require.NoError(t, err)
		require.Equal(t, u.ID, id)
		require.Len(t, tb.events(ctx, t, tenant, "user.create"), 1)

		_, err = identity.UserCreate(ctx, tb.db, store.Scope{TenantID: tenant}, identity.UserCreateParams{
			Email: "Pat@Example.com", Name: "Pat again", Password: password})
		requireCode(t, store.Conflict, err)
		var appErr *store.Error
		require.ErrorAs(t, err, &appErr)
		require.Contains(t, appErr.Fields, "email")

		_, err = identity.UserIDByEmail(ctx, tb.db, "nobody@example.com")
		requireCode(t, store.NotFound, err)
	})
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)

	// Beta is created first so that "first by name" differs from "first created".
	beta := tb.tenantCreate(ctx, t, "Beta Works", "beta")
	alpha := tb.tenantCreate(ctx, t, "Alpha Works", "alpha")
	pat := tb.userCreate(ctx, t, beta, "pat@example.com")
	tb.memberAdd(ctx, t, beta, pat, identity.RoleManager, nil)
	tb.memberAdd(ctx, t, alpha, pat, identity.RoleEmployee, nil)
	tb.userCreate(ctx, t, alpha, "lee@example.com") // no membership anywhere
	dee := tb.userCreate(ctx, t, alpha, "dee@example.com")
	tb.memberAdd(ctx, t, alpha, dee, identity.RoleAdmin, nil)
	tb.ownerExec(ctx, t, `UPDATE users SET disabled_at = now() WHERE id = $1`, dee)

	signIn := func(email, pw, requestID string) (*identity.SignInResult, error) {
		return identity.SignIn(ctx, tb.db, identity.SignInParams{
			Email: email, Password: pw, RequestID: requestID, ClientIP: "192.0.2.1"})
	}

	t.Run("StartsInFirstTenantByName", func(t *testing.T) {
		t.Parallel()
		res, err := signIn("pat@example.com", password, "req-ok")
		require.NoError(t, err)
		require.Equal(t, pat, res.UserID)
		require.Equal(t, alpha, res.TenantID)

		events := eventsOfRequest(tb.events(ctx, t, alpha, "auth.sign_in"), "req-ok")
		require.Len(t, events, 1)
		require.Equal(t, &pat, events[0].ActorID)
		require.Equal(t, pat.String(), events[0].EntityID)
		require.Equal(t, "192.0.2.1", events[0].ClientIP)
		require.Empty(t, eventsOfRequest(tb.events(ctx, t, beta, "auth.sign_in"), "req-ok"), "recorded in the start tenant only")
	})

	t.Run("EmailCaseInsensitive", func(t *testing.T) {
		t.Parallel()
		res, err := signIn("  PAT@Example.COM ", password, "req-case")
		require.NoError(t, err)
		require.Equal(t, pat, res.UserID)
		require.Equal(t, alpha, res.TenantID)
	})

	t.Run("WrongPasswordLooksLikeUnknownEmail", func(t *testing.T) {
		t.Parallel()
		_, wrong := signIn("pat@example.com", "not the password at all", "req-wrong")
		_, unknown := signIn("nobody@example.com", password, "req-unknown")
		for _, err := range []error{wrong, unknown} {
			requireCode(t, store.Unauthenticated, err)
			require.ErrorIs(t, err, identity.ErrBadCredentials)
		}
		require.Equal(t, store.ErrorMessage(unknown), store.ErrorMessage(wrong))

		// A wrong password is recorded in each of the user's tenants, an unknown e-mail in the platform's.
		for _, tenant := range []store.ID{alpha, beta} {
			events := eventsOfRequest(tb.events(ctx, t, tenant, "auth.sign_in_failed"), "req-wrong")
			require.Len(t, events, 1)
			require.Equal(t, "wrong_password", afterField(t, events[0], "reason"))
		}
		events := eventsOfRequest(tb.events(ctx, t, identity.PlatformTenantID, "auth.sign_in_failed"), "req-unknown")
		require.Len(t, events, 1)
		require.Equal(t, "unknown_email", afterField(t, events[0], "reason"))
		require.Equal(t, "nobody@example.com", afterField(t, events[0], "email"))
	})

	t.Run("DisabledRefused", func(t *testing.T) {
		t.Parallel()
		_, err := signIn("dee@example.com", password, "req-disabled")
		requireCode(t, store.Unauthenticated, err)
		require.NotErrorIs(t, err, identity.ErrBadCredentials)
		events := eventsOfRequest(tb.events(ctx, t, alpha, "auth.sign_in_failed"), "req-disabled")
		require.Len(t, events, 1)
		require.Equal(t, "disabled", afterField(t, events[0], "reason"))

		// A wrong password says nothing about the account's state.
		_, err = signIn("dee@example.com", "not the password at all", "req-disabled-wrong")
		require.ErrorIs(t, err, identity.ErrBadCredentials)
	})

	t.Run("WithoutMembershipRefused", func(t *testing.T) {
		t.Parallel()
		_, err := signIn("lee@example.com", password, "req-lonely")
		requireCode(t, store.Unauthenticated, err)
		require.NotErrorIs(t, err, identity.ErrBadCredentials)
	})
}

// memberFixture is a user who belongs to two of three tenants, and a user of the third only.
type memberFixture struct {
	alpha, beta, gamma store.ID
	sales              store.ID // department of alpha
	pat                store.ID // manager in alpha (sales), auditor in beta
	gil                store.ID // employee in gamma only
}

func (tb *testBundle) memberFixtureCreate(ctx context.Context, t *testing.T) *memberFixture {
	t.Helper()
	f := &memberFixture{
		beta:  tb.tenantCreate(ctx, t, "Beta Works", "beta"),
		alpha: tb.tenantCreate(ctx, t, "Alpha Works", "alpha"),
		gamma: tb.tenantCreate(ctx, t, "Gamma Works", "gamma"),
	}
	sales, err := identity.DepartmentCreate(ctx, tb.db, store.Scope{TenantID: f.alpha}, "Sales")
	require.NoError(t, err)
	f.sales = sales.ID
	f.pat = tb.userCreate(ctx, t, f.alpha, "pat@example.com")
	tb.memberAdd(ctx, t, f.alpha, f.pat, identity.RoleManager, &f.sales)
	tb.memberAdd(ctx, t, f.beta, f.pat, identity.RoleAuditor, nil)
	f.gil = tb.userCreate(ctx, t, f.gamma, "gil@example.com")
	tb.memberAdd(ctx, t, f.gamma, f.gil, identity.RoleEmployee, nil)
	return f
}

func TestActorLoad(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.memberFixtureCreate(ctx, t)

	wantMemberships := []identity.Membership{
		{TenantID: f.alpha, TenantName: "Alpha Works", Role: identity.RoleManager},
		{TenantID: f.beta, TenantName: "Beta Works", Role: identity.RoleAuditor},
	}

	t.Run("InTenantWithDepartment", func(t *testing.T) {
		t.Parallel()
		a, err := identity.ActorLoad(ctx, tb.db, f.pat, f.alpha)
		require.NoError(t, err)
		require.Equal(t, f.pat, a.UserID)
		require.Equal(t, "pat@example.com", a.Email)
		require.Equal(t, "Person pat@example.com", a.Name)
		require.Equal(t, identity.RoleManager, a.Role)
		require.Equal(t, &f.sales, a.DepartmentID)
		require.Equal(t, "Sales", a.DepartmentName)
		require.Equal(t, identity.Tenant{ID: f.alpha, Name: "Alpha Works", Slug: "alpha", TimeZone: "Europe/Berlin",
			Currency: "EUR", Version: 1}, a.Tenant)
		require.Equal(t, "Europe/Berlin", a.Tenant.Location().String())
		require.Equal(t, wantMemberships, a.Memberships, "every tenant of the user, by name")
		require.Equal(t, store.Scope{TenantID: f.alpha, ActorID: f.pat, RequestID: "r", ClientIP: "ip"}, a.Scope("r", "ip"))
	})

	t.Run("InOtherTenant", func(t *testing.T) {
		t.Parallel()
		a, err := identity.ActorLoad(ctx, tb.db, f.pat, f.beta)
		require.NoError(t, err)
		require.Equal(t, identity.RoleAuditor, a.Role)
		require.Nil(t, a.DepartmentID)
		require.Empty(t, a.DepartmentName)
		require.Equal(t, f.beta, a.Tenant.ID)
		require.Equal(t, "Beta Works", a.Tenant.Name)
		require.Equal(t, "Person pat@example.com", a.Name)
		require.Equal(t, wantMemberships, a.Memberships)
	})

	t.Run("NotFoundOutsideOwnTenants", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name           string
			user, tenantID store.ID
		}{
			{"NonMemberTenant", f.pat, f.gamma},
			{"OtherTenantsUser", f.gil, f.alpha},
			{"UnknownUser", store.NewID(), f.alpha},
			{"UnknownTenant", f.pat, store.NewID()},
		} {
			_, err := identity.ActorLoad(ctx, tb.db, tc.user, tc.tenantID)
			requireCode(t, store.NotFound, err)
		}
	})

	t.Run("OnlyOwnMemberships", func(t *testing.T) {
		t.Parallel()
		a, err := identity.ActorLoad(ctx, tb.db, f.gil, f.gamma)
		require.NoError(t, err)
		require.Equal(t, []identity.Membership{{TenantID: f.gamma, TenantName: "Gamma Works", Role: identity.RoleEmployee}},
			a.Memberships)
	})
}

func TestActorLoadDisabled(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")
	user := tb.userCreate(ctx, t, tenant, "pat@example.com")
	tb.memberAdd(ctx, t, tenant, user, identity.RoleAdmin, nil)
	_, err := identity.ActorLoad(ctx, tb.db, user, tenant)
	require.NoError(t, err)

	tb.ownerExec(ctx, t, `UPDATE users SET disabled_at = now() WHERE id = $1`, user)
	_, err = identity.ActorLoad(ctx, tb.db, user, tenant)
	requireCode(t, store.NotFound, err)
	err = identity.TenantSwitch(ctx, tb.db, store.Scope{TenantID: tenant, ActorID: user})
	requireCode(t, store.NotFound, err)
}

func TestTenantSwitch(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.memberFixtureCreate(ctx, t)

	require.NoError(t, identity.TenantSwitch(ctx, tb.db, store.Scope{TenantID: f.beta, ActorID: f.pat, RequestID: "req-switch"}))
	events := eventsOfRequest(tb.events(ctx, t, f.beta, "auth.tenant_switch"), "req-switch")
	require.Len(t, events, 1)
	require.Equal(t, &f.pat, events[0].ActorID)

	for _, tc := range []struct {
		name           string
		user, tenantID store.ID
	}{
		{"NonMemberTenant", f.pat, f.gamma},
		{"OtherTenantsUser", f.gil, f.alpha},
		{"UnknownTenant", f.pat, store.NewID()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := identity.TenantSwitch(ctx, tb.db, store.Scope{TenantID: tc.tenantID, ActorID: tc.user, RequestID: "req-" + tc.name})
			requireCode(t, store.NotFound, err)
		})
	}
	require.Empty(t, tb.events(ctx, t, f.gamma, "auth.tenant_switch"), "nothing recorded in a tenant the user is not in")
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	alpha := tb.tenantCreate(ctx, t, "Alpha Works", "alpha")
	beta := tb.tenantCreate(ctx, t, "Beta Works", "beta")
	pat := tb.userCreate(ctx, t, alpha, "pat@example.com")
	tb.memberAdd(ctx, t, alpha, pat, identity.RoleEmployee, nil)
	tb.memberAdd(ctx, t, beta, pat, identity.RoleEmployee, nil)

	// resets counts the user's reset rows as the user sees them; nobody else sees them.
	resets := func(actor store.ID) int {
		var n int
		require.NoError(t, tb.db.InUser(ctx, store.Scope{ActorID: actor}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM password_resets`)
		}))
		return n
	}

	token := tb.resetToken(ctx, t, "pat@example.com", "pat@example.com")
	require.Equal(t, 1, resets(pat))
	require.Zero(t, resets(store.NewID()), "another user sees no reset rows")
	for _, tenant := range []store.ID{alpha, beta} {
		require.Len(t, tb.events(ctx, t, tenant, "auth.password_reset_requested"), 1)
	}
	require.NoError(t, identity.PasswordResetCheck(ctx, tb.db, token))

	complete := func(token, pw, confirm string) (store.ID, error) {
		return identity.PasswordResetComplete(ctx, tb.db, identity.PasswordResetCompleteParams{
			Token: token, Password: pw, PasswordConfirm: confirm, RequestID: "req-complete"})
	}

	// Validation comes first and leaves the token usable.
	_, err := complete(token, newPassword, newPassword+"!")
	requireFields(t, err, "password_confirm")
	_, err = complete(token, "short", "short")
	requireFields(t, err, "password")

	userID, err := complete(token, newPassword, newPassword)
	require.NoError(t, err)
	require.Equal(t, pat, userID)
	for _, tenant := range []store.ID{alpha, beta} {
		require.Len(t, tb.events(ctx, t, tenant, "auth.password_reset"), 1)
	}

	res, err := identity.SignIn(ctx, tb.db, identity.SignInParams{Email: "pat@example.com", Password: newPassword})
	require.NoError(t, err)
	require.Equal(t, pat, res.UserID)
	_, err = identity.SignIn(ctx, tb.db, identity.SignInParams{Email: "pat@example.com", Password: password})
	require.ErrorIs(t, err, identity.ErrBadCredentials, "the old password no longer works")

	// Single use.
	_, err = complete(token, "yet another passphrase", "yet another passphrase")
	requireCode(t, store.NotFound, err)
	requireCode(t, store.NotFound, identity.PasswordResetCheck(ctx, tb.db, token))

	// Unknown tokens.
	for _, bad := range []string{"", "not-a-token", token + "x"} {
		_, err = complete(bad, "yet another passphrase", "yet another passphrase")
		requireCode(t, store.NotFound, err)
		requireCode(t, store.NotFound, identity.PasswordResetCheck(ctx, tb.db, bad))
	}
}

func TestPasswordResetConcurrentUse(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")
	pat := tb.userCreate(ctx, t, tenant, "pat@example.com")
	tb.memberAdd(ctx, t, tenant, pat, identity.RoleEmployee, nil)
	token := tb.resetToken(ctx, t, "pat@example.com", "pat@example.com")

	passwords := []string{"first new passphrase", "second new passphrase"}
	errs := make([]error, len(passwords))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, pw := range passwords {
		wg.Go(func() {
			<-start
			_, errs[i] = identity.PasswordResetComplete(ctx, tb.db, identity.PasswordResetCompleteParams{
				Token: token, Password: pw, PasswordConfirm: pw})
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "both uses of one token succeeded")
			winner = i
			continue
		}
		requireCode(t, store.NotFound, err)
	}
	require.NotEqual(t, -1, winner, "neither use succeeded: %v", errs)
	require.Len(t, tb.events(ctx, t, tenant, "auth.password_reset"), 1)

	// The password is the winner's.
	_, err := identity.SignIn(ctx, tb.db, identity.SignInParams{Email: "pat@example.com", Password: passwords[winner]})
	require.NoError(t, err)
}

func TestPasswordResetExpired(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")
	tb.userCreate(ctx, t, tenant, "pat@example.com")
	token := tb.resetToken(ctx, t, "pat@example.com", "pat@example.com")

	hash := sha256.Sum256([]byte(token))
	tb.ownerExec(ctx, t, `UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, hash[:])

	requireCode(t, store.NotFound, identity.PasswordResetCheck(ctx, tb.db, token))
	_, err := identity.PasswordResetComplete(ctx, tb.db, identity.PasswordResetCompleteParams{
		Token: token, Password: newPassword, PasswordConfirm: newPassword})
	requireCode(t, store.NotFound, err)
}

func TestPasswordResetRequest(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")
	tb.userCreate(ctx, t, tenant, "kate@example.com")
	dee := tb.userCreate(ctx, t, tenant, "dee@example.com")
	tb.ownerExec(ctx, t, `UPDATE users SET disabled_at = now() WHERE id = $1`, dee)

	request := func(email string) error {
		return identity.PasswordResetRequest(ctx, tb.db, identity.PasswordResetRequestParams{
			Email: email, LinkPrefix: linkPrefix, RequestID: "req-" + email})
	}

	// The subtests run in order: the first counts every queued e-mail, the last queues some.
	t.Run("UnknownOrDisabledQueuesNothing", func(t *testing.T) {
		for _, email := range []string{"nobody@example.com", "dee@example.com"} {
			before := tb.emailCount(ctx, t)
			require.NoError(t, request(email), "the same answer as for a known address")
			require.Equal(t, before, tb.emailCount(ctx, t))
			events := eventsOfRequest(tb.events(ctx, t, identity.PlatformTenantID, "auth.password_reset_refused"), "req-"+email)
			require.Len(t, events, 1)
		}
	})

	t.Run("InvalidEmail", func(t *testing.T) {
		requireFields(t, request("not-an-email"), "email")
	})

	// The link goes to the address on file, never to the address as typed: PostgreSQL's lower() folds
	// characters like the Kelvin sign (U+212A) to ASCII, so "\u212Aate@example.com" finds kate's account
	// but names another mailbox.
	t.Run("LinkGoesToAddressOnFile", func(t *testing.T) {
		for _, typed := range []string{"KATE@EXAMPLE.COM", "\u212Aate@example.com"} {
			token := tb.resetToken(ctx, t, typed, "kate@example.com")
			require.NoError(t, identity.PasswordResetCheck(ctx, tb.db, token))
			require.Empty(t, tb.emails(ctx, t, typed), "e-mail queued to the typed address %q", typed)
		}
	})
}

func TestDepartmentAndMember(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	alpha := tb.tenantCreate(ctx, t, "Alpha Works", "alpha")
	beta := tb.tenantCreate(ctx, t, "Beta Works", "beta")
	scopeA, scopeB := store.Scope{TenantID: alpha}, store.Scope{TenantID: beta}
	pat := tb.userCreate(ctx, t, alpha, "pat@example.com")

	sales, err := identity.DepartmentCreate(ctx, tb.db, scopeA, " Sales ")
	require.NoError(t, err)
	require.Equal(t, "Sales", sales.Name)
	_, err = identity.DepartmentCreate(ctx, tb.db, scopeA, "sales")
	requireCode(t, store.Conflict, err)
	_, err = identity.DepartmentCreate(ctx, tb.db, scopeB, "Sales")
	require.NoError(t, err, "names are unique per tenant only")
	_, err = identity.DepartmentCreate(ctx, tb.db, scopeA, "  ")
	requireFields(t, err, "name")

	requireFields(t, identity.MemberAdd(ctx, tb.db, scopeA, identity.MemberAddParams{UserID: pat, Role: "owner"}), "role")
	// A department of another tenant cannot be named: the foreign key carries the tenant.
	err = identity.MemberAdd(ctx, tb.db, scopeB, identity.MemberAddParams{UserID: pat, Role: identity.RoleEmployee, DepartmentID: &sales.ID})
	require.Error(t, err)
	tb.memberAdd(ctx, t, alpha, pat, identity.RoleManager, &sales.ID)
	requireCode(t, store.Conflict, identity.MemberAdd(ctx, tb.db, scopeA, identity.MemberAddParams{UserID: pat, Role: identity.RoleEmployee}))

	require.NoError(t, identity.DepartmentManagerSet(ctx, tb.db, scopeA, sales.ID, pat))
	// Cross-tenant: beta cannot see alpha's department, nor make alpha's member its manager.
	requireCode(t, store.NotFound, identity.DepartmentManagerSet(ctx, tb.db, scopeB, sales.ID, pat))
	betaSales, err := identity.DepartmentCreate(ctx, tb.db, scopeB, "Warehouse")
	require.NoError(t, err)
	err = identity.DepartmentManagerSet(ctx, tb.db, scopeB, betaSales.ID, pat)
	require.Error(t, err, "a non-member of beta cannot manage a beta department")
}
