package identity_test

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// accountFixture is a person in two tenants, acting in the first.
type accountFixture struct {
	alpha, beta store.ID
	userID      store.ID
	email       string
	scope       store.Scope
}

func (tb *testBundle) accountFixtureCreate(ctx context.Context, t *testing.T, email string) *accountFixture {
	t.Helper()
	slug := strings.ReplaceAll(strings.Split(email, "@")[0], ".", "-")
	alpha := tb.tenantCreate(ctx, t, "Alpha "+slug, "alpha-"+slug)
	beta := tb.tenantCreate(ctx, t, "Beta "+slug, "beta-"+slug)
	user := tb.userCreate(ctx, t, alpha, email)
	tb.memberAdd(ctx, t, alpha, user, identity.RoleEmployee, nil)
	tb.memberAdd(ctx, t, beta, user, identity.RoleManager, nil)
	return &accountFixture{
		alpha: alpha, beta: beta, userID: user, email: email,
		scope: store.Scope{TenantID: alpha, ActorID: user, RequestID: "req-" + slug, ClientIP: "192.0.2.7"},
	}
}

// freshStep waits, when needed, until at least 5 s of the current 30-second TOTP step remain, so a test's
// codes for "now" and "the next step" keep meaning the same steps while it runs.
func freshStep(t *testing.T) {
	t.Helper()
	if left := 30 - time.Now().Unix()%30; left < 5 {
		time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
	}
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	require.NoError(t, err)
	return code
}

// twoFactorEnable enrols the fixture's user and returns the secret and the recovery codes. The enrolment
// uses up the current time step.
func (tb *testBundle) twoFactorEnable(ctx context.Context, t *testing.T, f *accountFixture) (string, []string) {
	t.Helper()
	enrol, err := identity.TwoFactorBegin(ctx, tb.db, f.scope)
	require.NoError(t, err)
	res, err := identity.TwoFactorEnable(ctx, tb.db, f.scope, identity.TwoFactorEnableParams{Code: totpCode(t, enrol.Secret, time.Now())})
	require.NoError(t, err)
	return enrol.Secret, res.RecoveryCodes
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")

	// Field rules first: nothing is hashed or written.
	err := identity.PasswordChange(ctx, tb.db, f.scope, identity.PasswordChangeParams{Current: "", New: "short", Confirm: "other"})
	requireFields(t, err, "current_password", "password", "password_confirm")
	require.NotErrorIs(t, err, identity.ErrPasswordWrong, "an empty current password is not a guess")

	// A wrong current password: a field error marked for the throttle, and an audit event in each tenant.
	err = identity.PasswordChange(ctx, tb.db, f.scope, identity.PasswordChangeParams{
		Current: "not the password at all", New: newPassword, Confirm: newPassword})
	fields := requireFields(t, err, "current_password")
	require.Contains(t, fields["current_password"], "incorrect")
	require.ErrorIs(t, err, identity.ErrPasswordWrong)
	for _, tenant := range []store.ID{f.alpha, f.beta} {
		events := tb.events(ctx, t, tenant, "auth.password_check_failed")
		require.Len(t, events, 1)
		require.Equal(t, "password_change", afterField(t, events[0], "purpose"))
	}
	_, err = identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: password})
	require.NoError(t, err, "the password is unchanged")

	// The same password again is no change.
	err = identity.PasswordChange(ctx, tb.db, f.scope, identity.PasswordChangeParams{Current: password, New: password, Confirm: password})
	requireFields(t, err, "password")

	// A reset link requested before the change dies with it.
	token := tb.resetToken(ctx, t, f.email, f.email)

	require.NoError(t, identity.PasswordChange(ctx, tb.db, f.scope, identity.PasswordChangeParams{
		Current: password, New: newPassword, Confirm: newPassword, EndOtherSessions: true}))
	_, err = identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: password})
	require.ErrorIs(t, err, identity.ErrBadCredentials)
	_, err = identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: newPassword})
	require.NoError(t, err)
	requireCode(t, store.NotFound, identity.PasswordResetCheck(ctx, tb.db, token))
	for _, tenant := range []store.ID{f.alpha, f.beta} {
		events := tb.events(ctx, t, tenant, "auth.password_change")
		require.Len(t, events, 1)
		require.Equal(t, &f.userID, events[0].ActorID)
		require.JSONEq(t, `{"other_sessions_ended": true}`, string(events[0].After))
	}
}

func TestProfileUpdate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	other := tb.accountFixtureCreate(ctx, t, "lee@example.com")

	p, err := identity.ProfileGet(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.Equal(t, f.email, p.Email)
	require.Nil(t, p.TwoFactorEnabledAt)

	_, err = identity.ProfileUpdate(ctx, tb.db, f.scope, identity.ProfileUpdateParams{Name: "  ", Version: p.Version})
	requireFields(t, err, "name")

	got, err := identity.ProfileUpdate(ctx, tb.db, f.scope, identity.ProfileUpdateParams{Name: " Pat Jones ", Version: p.Version})
	require.NoError(t, err)
	require.Equal(t, "Pat Jones", got.Name)
	require.Equal(t, p.Version+1, got.Version)
	for _, tenant := range []store.ID{f.alpha, f.beta} {
		events := tb.events(ctx, t, tenant, "user.profile_update")
		require.Len(t, events, 1)
		require.JSONEq(t, `{"name": "Person pat@example.com"}`, string(events[0].Before))
		require.JSONEq(t, `{"name": "Pat Jones"}`, string(events[0].After))
	}

	// A form made from the old version is refused.
	_, err = identity.ProfileUpdate(ctx, tb.db, f.scope, identity.ProfileUpdateParams{Name: "Someone Else", Version: p.Version})
	requireCode(t, store.Conflict, err)

	// The other person is untouched, and nobody can act on them: the scope names the actor, nothing else.
	op, err := identity.ProfileGet(ctx, tb.db, other.scope)
	require.NoError(t, err)
	require.Equal(t, "Person lee@example.com", op.Name)
}

func TestTwoFactorEnable(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	freshStep(t)

	// Nothing to confirm before a set-up.
	_, err := identity.TwoFactorEnable(ctx, tb.db, f.scope, identity.TwoFactorEnableParams{Code: "123456"})
	requireCode(t, store.Conflict, err)

	enrol, err := identity.TwoFactorBegin(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.Contains(t, enrol.URL, "otpauth://totp/Ledgerline:pat@example.com?")
	require.Contains(t, enrol.URL, "secret="+enrol.Secret)

	state, err := identity.TwoFactorGet(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.False(t, state.Enabled())
	require.NotNil(t, state.Pending, "the set-up waits for its code")
	require.Equal(t, enrol.Secret, state.Pending.Secret)

	// A set-up is confirmed only by a valid code of its secret.
	for _, code := range []string{"", "12345", "abcdef", wrongCode(t, enrol.Secret)} {
		_, err = identity.TwoFactorEnable(ctx, tb.db, f.scope, identity.TwoFactorEnableParams{Code: code})
		requireFields(t, err, "code")
	}
	res, err := identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: password})
	require.NoError(t, err)
	require.False(t, res.TwoFactorRequired, "not on before the code is confirmed")

	code := totpCode(t, enrol.Secret, time.Now())
	enabled, err := identity.TwoFactorEnable(ctx, tb.db, f.scope, identity.TwoFactorEnableParams{Code: code[:3] + " " + code[3:]})
	require.NoError(t, err)
	require.Len(t, enabled.RecoveryCodes, identity.RecoveryCodeCount)
	seen := map[string]bool{}
	for _, c := range enabled.RecoveryCodes {
		require.Regexp(t, `^[a-z2-9]{5}-[a-z2-9]{5}$`, c)
		require.False(t, seen[c], "recovery codes differ")
		seen[c] = true
	}
	for _, tenant := range []store.ID{f.alpha, f.beta} {
		require.Len(t, tb.events(ctx, t, tenant, "auth.two_factor_enable"), 1)
	}

	state, err = identity.TwoFactorGet(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.True(t, state.Enabled())
	require.Nil(t, state.Pending)
	require.Equal(t, identity.RecoveryCodeCount, state.RecoveryCodesLeft)

	// Once on, a new set-up cannot replace the secret.
	_, err = identity.TwoFactorBegin(ctx, tb.db, f.scope)
	requireCode(t, store.Conflict, err)

	// The password alone no longer signs in, and no sign-in is recorded yet.
	res, err = identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: password, RequestID: "req-2fa"})
	require.NoError(t, err)
	require.True(t, res.TwoFactorRequired)
	require.Equal(t, f.alpha, res.TenantID)
	require.Empty(t, eventsOfRequest(tb.events(ctx, t, f.alpha, "auth.sign_in"), "req-2fa"))
}

// wrongCode returns a 6-digit code that is not valid for the secret in the current skew window.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	now := time.Now()
	valid := map[string]bool{}
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		valid[totpCode(t, secret, now.Add(d))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !valid[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

func TestTwoFactorReplay(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	freshStep(t)
	secret, _ := tb.twoFactorEnable(ctx, t, f)
	now := time.Now()

	// The code that enabled 2FA is used up, and so is every earlier one.
	require.ErrorIs(t, identity.TwoFactorVerify(ctx, tb.db, f.scope, totpCode(t, secret, now)), identity.ErrTwoFactorCodeWrong)
	require.ErrorIs(t, identity.TwoFactorVerify(ctx, tb.db, f.scope, totpCode(t, secret, now.Add(-30*time.Second))), identity.ErrTwoFactorCodeWrong)

	// The next step's code (within the clock skew) works once, even when sent twice at the same moment.
	next := totpCode(t, secret, now.Add(30*time.Second))
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = identity.TwoFactorVerify(ctx, tb.db, f.scope, next) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, identity.ErrTwoFactorCodeWrong)
		}
	}
	require.Equal(t, 1, ok, "exactly one use of a code succeeds")

	// Codes too far from now are refused.
	require.ErrorIs(t, identity.TwoFactorVerify(ctx, tb.db, f.scope, totpCode(t, secret, now.Add(5*time.Minute))), identity.ErrTwoFactorCodeWrong)
}

func TestSignInComplete(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	freshStep(t)
	secret, codes := tb.twoFactorEnable(ctx, t, f)

	complete := func(code, requestID string) (*identity.SignInCompleteResult, error) {
		res, err := identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: password, RequestID: requestID})
		require.NoError(t, err)
		require.True(t, res.TwoFactorRequired)
		return identity.SignInComplete(ctx, tb.db, identity.SignInCompleteParams{
			UserID: res.UserID, TenantID: res.TenantID, Code: code, RequestID: requestID, ClientIP: "192.0.2.8"})
	}

	// A wrong code is refused and recorded in every tenant of the user.
	_, err := complete(wrongCode(t, secret), "req-wrong")
	require.ErrorIs(t, err, identity.ErrTwoFactorCodeWrong)
	for _, tenant := range []store.ID{f.alpha, f.beta} {
		events := eventsOfRequest(tb.events(ctx, t, tenant, "auth.sign_in_failed"), "req-wrong")
		require.Len(t, events, 1)
		require.Equal(t, "wrong_code", afterField(t, events[0], "reason"))
	}
	require.Empty(t, eventsOfRequest(tb.events(ctx, t, f.alpha, "auth.sign_in"), "req-wrong"))

	res, err := complete(totpCode(t, secret, time.Now().Add(30*time.Second)), "req-totp")
	require.NoError(t, err)
	require.Equal(t, "totp", res.Method)
	events := eventsOfRequest(tb.events(ctx, t, f.alpha, "auth.sign_in"), "req-totp")
	require.Len(t, events, 1)
	require.Equal(t, "totp", afterField(t, events[0], "method"))

	res, err = complete(strings.ToUpper(codes[0]), "req-recovery")
	require.NoError(t, err)
	require.Equal(t, "recovery", res.Method)
	require.Equal(t, identity.RecoveryCodeCount-1, res.RecoveryCodesLeft)
	events = eventsOfRequest(tb.events(ctx, t, f.alpha, "auth.sign_in"), "req-recovery")
	require.Len(t, events, 1)
	require.Equal(t, "recovery", afterField(t, events[0], "method"))

	_, err = complete(codes[0], "req-recovery-again")
	require.ErrorIs(t, err, identity.ErrTwoFactorCodeWrong, "a recovery code works once")

	// A membership ended between the two steps ends the sign-in.
	tb.ownerExec(ctx, t, `UPDATE memberships SET deactivated_at = now() WHERE tenant_id = $1 AND user_id = $2`, f.alpha, f.userID)
	_, err = identity.SignInComplete(ctx, tb.db, identity.SignInCompleteParams{UserID: f.userID, TenantID: f.alpha, Code: codes[1]})
	requireCode(t, store.Unauthenticated, err)
	require.NotErrorIs(t, err, identity.ErrTwoFactorCodeWrong)
}

func TestRecoveryCodeConcurrentUse(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	_, codes := tb.twoFactorEnable(ctx, t, f)

	for round := range 3 {
		code := codes[round]
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range errs {
			wg.Go(func() {
				<-start
				errs[i] = identity.RecoveryCodeUse(ctx, tb.db, f.scope, code)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else {
				require.ErrorIs(t, err, identity.ErrTwoFactorCodeWrong)
			}
		}
		require.Equal(t, 1, ok, "round %d: exactly one of two concurrent uses succeeds", round)
	}
	state, err := identity.TwoFactorGet(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.Equal(t, identity.RecoveryCodeCount-3, state.RecoveryCodesLeft)
}

func TestTwoFactorSecretsAtRest(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	other := tb.accountFixtureCreate(ctx, t, "lee@example.com")
	freshStep(t)
	secret, codes := tb.twoFactorEnable(ctx, t, f)

	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)

	// The schema owner (a backup, a leaked dump) sees neither the secret in base32 nor its raw bytes.
	var sealed []byte
	require.NoError(t, conn.QueryRow(ctx, `SELECT totp_secret FROM users WHERE id = $1`, f.userID).Scan(&sealed))
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	require.NoError(t, err)
	require.NotEmpty(t, sealed)
	require.NotContains(t, string(sealed), secret)
	require.NotContains(t, string(sealed), string(raw))
	require.NotContains(t, strings.ToLower(string(sealed)), strings.ToLower(secret))

	// Recovery codes are stored as SHA-256 hashes of the code without its dash, nothing else.
	rows, err := conn.Query(ctx, `SELECT code_hash FROM user_recovery_codes WHERE user_id = $1`, f.userID)
	require.NoError(t, err)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	require.NoError(t, err)
	require.Len(t, stored, identity.RecoveryCodeCount)
	want := map[string]bool{}
	for _, c := range codes {
		sum := sha256.Sum256([]byte(strings.ReplaceAll(c, "-", "")))
		want[string(sum[:])] = true
	}
	for _, h := range stored {
		require.True(t, want[string(h)], "stored value is the hash of an issued code")
	}

	// The sealed secret is bound to its user: copied onto another user's row it does not open.
	_, err = conn.Exec(ctx, `UPDATE users SET totp_secret = $1, totp_enabled_at = now() WHERE id = $2`, sealed, other.userID)
	require.NoError(t, err)
	err = identity.TwoFactorVerify(ctx, tb.db, other.scope, totpCode(t, secret, time.Now().Add(30*time.Second)))
	require.Error(t, err)
	require.NotEqual(t, store.Code(""), store.ErrorCode(err))
}

func TestTwoFactorCrossUser(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	// Lee works in Pat's tenant, so Pat's user row is visible to Lee there.
	lee := tb.userCreate(ctx, t, f.alpha, "lee@example.com")
	tb.memberAdd(ctx, t, f.alpha, lee, identity.RoleAdmin, nil)
	leeScope := store.Scope{TenantID: f.alpha, ActorID: lee}
	_, codes := tb.twoFactorEnable(ctx, t, f)

	// Lee cannot use, see or delete Pat's recovery codes.
	require.ErrorIs(t, identity.RecoveryCodeUse(ctx, tb.db, leeScope, codes[0]), identity.ErrTwoFactorCodeWrong)
	require.NoError(t, tb.db.InTenant(ctx, leeScope, func(tx *store.Tx) error {
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM user_recovery_codes WHERE user_id = $1`, f.userID); err != nil {
			return err
		}
		require.Zero(t, n, "another user's recovery codes are invisible")
		res, err := tx.ExecContext(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, f.userID)
		if err != nil {
			return err
		}
		deleted, _ := res.RowsAffected()
		require.Zero(t, deleted)
		// Nor can Lee switch Pat's second factor off or plant a secret: the users_update policy.
		res, err = tx.ExecContext(ctx, `UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = $1`, f.userID)
		if err != nil {
			return err
		}
		updated, _ := res.RowsAffected()
		require.Zero(t, updated)
		return nil
	}))
	// Inserting a code for Pat is refused by the policy's WITH CHECK.
	err := tb.db.InTenant(ctx, leeScope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO user_recovery_codes (user_id, code_hash) VALUES ($1, $2)`, f.userID, []byte("x"))
		return err
	})
	require.Error(t, err)

	// Pat's codes all still work.
	require.NoError(t, identity.RecoveryCodeUse(ctx, tb.db, f.scope, codes[0]))
	state, err := identity.TwoFactorGet(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.True(t, state.Enabled())
	require.Equal(t, identity.RecoveryCodeCount-1, state.RecoveryCodesLeft)
}

func TestTwoFactorDisableAndRegenerate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.accountFixtureCreate(ctx, t, "pat@example.com")
	_, codes := tb.twoFactorEnable(ctx, t, f)

	// New recovery codes need the password and replace the old ones.
	_, err := identity.RecoveryCodesRegenerate(ctx, tb.db, f.scope, identity.RecoveryCodesRegenerateParams{Password: "wrong password here"})
	requireFields(t, err, "password")
	require.ErrorIs(t, err, identity.ErrPasswordWrong)
	fresh, err := identity.RecoveryCodesRegenerate(ctx, tb.db, f.scope, identity.RecoveryCodesRegenerateParams{Password: password})
	require.NoError(t, err)
	require.Len(t, fresh, identity.RecoveryCodeCount)
	require.ErrorIs(t, identity.RecoveryCodeUse(ctx, tb.db, f.scope, codes[0]), identity.ErrTwoFactorCodeWrong, "old codes are gone")
	require.NoError(t, identity.RecoveryCodeUse(ctx, tb.db, f.scope, fresh[0]))

	// Turning it off needs the password too.
	err = identity.TwoFactorDisable(ctx, tb.db, f.scope, identity.TwoFactorDisableParams{Password: ""})
	requireFields(t, err, "password")
	require.False(t, errors.Is(err, identity.ErrPasswordWrong))
	err = identity.TwoFactorDisable(ctx, tb.db, f.scope, identity.TwoFactorDisableParams{Password: "wrong password here"})
	require.ErrorIs(t, err, identity.ErrPasswordWrong)
	require.Len(t, tb.events(ctx, t, f.beta, "auth.password_check_failed"), 2)

	require.NoError(t, identity.TwoFactorDisable(ctx, tb.db, f.scope, identity.TwoFactorDisableParams{Password: password}))
	state, err := identity.TwoFactorGet(ctx, tb.db, f.scope)
	require.NoError(t, err)
	require.False(t, state.Enabled())
	require.Nil(t, state.Pending)
	require.Zero(t, state.RecoveryCodesLeft)
	require.Len(t, tb.events(ctx, t, f.alpha, "auth.two_factor_disable"), 1)

	res, err := identity.SignIn(ctx, tb.db, identity.SignInParams{Email: f.email, Password: password})
	require.NoError(t, err)
	require.False(t, res.TwoFactorRequired)

	err = identity.TwoFactorDisable(ctx, tb.db, f.scope, identity.TwoFactorDisableParams{Password: password})
	requireCode(t, store.Conflict, err)
}
