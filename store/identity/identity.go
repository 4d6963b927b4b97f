// Package identity owns tenants, users, memberships (a user's role and department in a tenant),
// departments, sign-in and password reset. It is the shared base every business domain may use.
package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/notify"
)

// PlatformTenantID is the reserved tenant for platform-level audit events (a failed sign-in for an
// e-mail that belongs to nobody). It has no members.
var PlatformTenantID = store.ID{0, 0, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 1}

// Tenant is an organization. Its data is isolated from every other tenant by row-level security.
type Tenant struct {
	ID       store.ID `db:"id"`
	Name     string   `db:"name"`
	Slug     string   `db:"slug"`
	TimeZone string   `db:"time_zone"`
	Currency string   `db:"currency"`
	Version  int      `db:"version"`
	// RequireAdmin2FA keeps admins out of admin pages until they have enrolled a second factor.
	RequireAdmin2FA bool `db:"require_2fa_admins"`
}

// Location returns the tenant's time zone, UTC if it cannot be loaded.
func (t Tenant) Location() *time.Location {
	if loc, err := store.LoadLocation(t.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// Membership is a user's place in a tenant.
type Membership struct {
	TenantID   store.ID `db:"tenant_id"`
	TenantName string   `db:"tenant_name"`
	Role       Role     `db:"role"`
}

// Actor is the signed-in user acting in one tenant, resolved once per request.
type Actor struct {
	UserID         store.ID
	Email          string
	Name           string
	Role           Role
	DepartmentID   *store.ID
	DepartmentName string
	Tenant         Tenant
	Memberships    []Membership // every tenant the user belongs to, by name
	TwoFactor      bool         // the user has enrolled TOTP
	Unread         int          // unread in-app notifications when the actor was loaded (up to notify.UnreadCountMax)
}

// Can reports whether the actor's role grants p.
func (a *Actor) Can(p Permission) bool {
	return a != nil && a.Role.Can(p)
}

// Scope returns the transaction scope for acting as a in its tenant.
func (a *Actor) Scope(requestID, clientIP string) store.Scope {
	return store.Scope{TenantID: a.Tenant.ID, ActorID: a.UserID, RequestID: requestID, ClientIP: clientIP}
}

// ActorLoad resolves user userID acting in tenant tenantID. It is NotFound when the user is disabled or is
// not (or no longer) a member of the tenant: the session is then no longer valid.
func ActorLoad(ctx context.Context, db *store.DB, userID, tenantID store.ID) (*Actor, error) {
	// Every request resolves its actor, so this is the hottest read of the app: the four statements go to
	// PostgreSQL as one pipelined batch, one round trip instead of six (BEGIN, the scope, the actor, the
	// scope again, the memberships, COMMIT). A batch runs as one implicit transaction, so set_config(...,
	// true) lasts exactly until its end, as it does in InTenant, and row-level security applies unchanged:
	// the actor's row is read as the tenant, the memberships outside any tenant (policy memberships_self).
	// The actor's row brings the unread notifications for the frame's badge along. Every statement here is
	// a lookup by id, so the batch plans generically (planning them anew each time cost more than running
	// them).
	var b pgx.Batch
	b.Queue(`SELECT set_config('app.tenant_id', $1, true), set_config('app.actor_id', $2, true),
		set_config('plan_cache_mode', 'force_generic_plan', true)`,
		tenantID.String(), userID.String())
	b.Queue(`
		SELECT u.email, u.name, u.totp_enabled_at IS NOT NULL,
		       m.role, m.department_id, coalesce(d.name, ''),
		       t.id, t.name, t.slug, t.time_zone, t.currency, t.version, t.require_2fa_admins,
		       `+notify.UnreadCountSQL("m.tenant_id", "m.user_id")+`
		FROM memberships m
		JOIN users u ON u.id = m.user_id
		JOIN tenants t ON t.id = m.tenant_id
		LEFT JOIN departments d ON d.tenant_id = m.tenant_id AND d.id = m.department_id
		WHERE m.tenant_id = $1 AND m.user_id = $2 AND u.disabled_at IS NULL AND m.deactivated_at IS NULL`,
		tenantID, userID)
	// The user's other tenants are visible only outside any tenant (see policy memberships_self).
	b.Queue(`SELECT set_config('app.tenant_id', '', true)`)
	b.Queue(membershipsQuery, userID)
	release, err := db.Gate(ctx)
	if err != nil {
		return nil, fmt.Errorf("error loading actor %s: %w", userID, err)
	}
	defer release()
	br := db.Pool.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("error setting the actor's scope: %w", err)
	}
	a := &Actor{UserID: userID}
	var role string
	err = br.QueryRow().Scan(&a.Email, &a.Name, &a.TwoFactor, &role, &a.DepartmentID, &a.DepartmentName,
		&a.Tenant.ID, &a.Tenant.Name, &a.Tenant.Slug, &a.Tenant.TimeZone, &a.Tenant.Currency, &a.Tenant.Version,
		&a.Tenant.RequireAdmin2FA, &a.Unread)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.Errorf(store.NotFound, "Your account has no access to this organization.")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading actor %s in tenant %s: %w", userID, tenantID, err)
	}
	a.Role = Role(role)
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("error leaving the tenant scope: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("error loading memberships of %s: %w", userID, err)
	}
	for rows.Next() {
		var m Membership
		var r string
		if err := rows.Scan(&m.TenantID, &m.TenantName, &r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error loading memberships of %s: %w", userID, err)
		}
		m.Role = Role(r)
		a.Memberships = append(a.Memberships, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading memberships of %s: %w", userID, err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("error loading actor %s: %w", userID, err)
	}
	return a, nil
}

const membershipsQuery = `
	SELECT m.tenant_id, t.name AS tenant_name, m.role
	FROM memberships m JOIN tenants t ON t.id = m.tenant_id
	WHERE m.user_id = $1 AND m.deactivated_at IS NULL
	ORDER BY t.name, t.id`

// SignInParams are the credentials and origin of a sign-in attempt.
type SignInParams struct {
	Email     string
	Password  string
	RequestID string
	ClientIP  string
}

// SignInResult is a successful password check: the user and the tenant they start in. When
// TwoFactorRequired is set, the user is not signed in yet: SignInComplete must accept a second factor first.
type SignInResult struct {
	UserID            store.ID
	TenantID          store.ID
	TwoFactorRequired bool
}

// ErrBadCredentials is returned for an unknown e-mail and a wrong password alike, so that a caller cannot
// tell which one it was.
var ErrBadCredentials = store.Errorf(store.Unauthenticated, "The e-mail address or password is incorrect.")

// dummyHash is verified against when the e-mail is unknown, so both failures take the same time.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$bGVkZ2VybGluZS1kdW1teQ$0ZkQ4lhtgAkfyrWUD0q9S3rNeVf8HMi1Yn5Fy8aDUxY"

// SignIn checks the credentials and records the attempt in the audit trail: a success in the tenant the
// user starts in, a failure in every tenant of the user (or the platform tenant for an unknown e-mail). For a
// user with two-factor authentication the success is recorded by SignInComplete, once the second step passes.
func SignIn(ctx context.Context, db *store.DB, p SignInParams) (*SignInResult, error) {
	email := strings.TrimSpace(p.Email)
	var user struct {
		ID       store.ID `db:"id"`
		Name     string   `db:"name"`
		Hash     string   `db:"password_hash"`
		Disabled bool     `db:"disabled"`
	}
	err := sqlxGet(ctx, db, &user, `SELECT id, name, password_hash, disabled FROM auth_user_by_email($1)`, email)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = VerifyPassword(dummyHash, p.Password)
		scope := store.Scope{TenantID: PlatformTenantID, RequestID: p.RequestID, ClientIP: p.ClientIP}
		if err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
			return audit.Record(ctx, tx, audit.RecordParams{
				Action: "auth.sign_in_failed", EntityType: "user",
				After: map[string]string{"email": truncate(email, 254), "reason": "unknown_email"},
			})
		}); err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("error looking up user: %w", err)
	}
	ok, err := VerifyPassword(user.Hash, p.Password)
	if err != nil {
		return nil, fmt.Errorf("error verifying password of user %s: %w", user.ID, err)
	}

	var result *SignInResult
	scope := store.Scope{ActorID: user.ID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	failure := func(reason string) func(tx *store.Tx) error {
		return func(tx *store.Tx) error {
			return audit.RecordInUserTenants(ctx, tx, user.ID, audit.RecordParams{
				Action: "auth.sign_in_failed", EntityType: "user", EntityID: user.ID.String(),
				After: map[string]string{"email": email, "reason": reason},
			})
		}
	}
	switch {
	case !ok:
		if err := db.InUser(ctx, scope, failure("wrong_password")); err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	case user.Disabled:
		if err := db.InUser(ctx, scope, failure("disabled")); err != nil {
			return nil, err
		}
		return nil, store.Errorf(store.Unauthenticated, "This account is deactivated. Ask an administrator of your organization.")
	}

	err = db.InUser(ctx, scope, func(tx *store.Tx) error {
		var memberships []Membership
		if err := tx.SelectContext(ctx, &memberships, membershipsQuery, user.ID); err != nil {
			return fmt.Errorf("error listing memberships of user %s: %w", user.ID, err)
		}
		// Organizations that sign in only with single sign-on are not entered with a password; a person
		// who also belongs to others still signs in to those.
		var refused []store.ID
		if err := tx.SelectContext(ctx, &refused, `SELECT sso_password_refused($1)`, user.ID); err != nil {
			return fmt.Errorf("error reading password policy of user %s: %w", user.ID, err)
		}
		if len(refused) > 0 {
			memberships = slices.DeleteFunc(memberships, func(m Membership) bool { return slices.Contains(refused, m.TenantID) })
			if len(memberships) == 0 {
				return errPasswordRefused
			}
		}
		if len(memberships) == 0 {
			return store.Errorf(store.Unauthenticated, "Your account does not belong to any organization yet. Ask an administrator to add you.")
		}
		result = &SignInResult{UserID: user.ID, TenantID: memberships[0].TenantID}
		if err := tx.GetContext(ctx, &result.TwoFactorRequired,
			`SELECT totp_enabled_at IS NOT NULL FROM users WHERE id = $1`, user.ID); err != nil {
			return fmt.Errorf("error reading two-factor state of user %s: %w", user.ID, err)
		}
		if result.TwoFactorRequired {
			return nil
		}
		if err := tx.SetTenant(ctx, result.TenantID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "auth.sign_in", EntityType: "user", EntityID: user.ID.String(),
			After: map[string]string{"email": email, "method": "password"},
		})
	})
	if errors.Is(err, errPasswordRefused) {
		if err := db.InUser(ctx, scope, failure("password_refused")); err != nil {
			return nil, err
		}
		return nil, store.Errorf(store.Unauthenticated, "Your organization signs in with single sign-on only. Use “Sign in with single sign-on”.")
	}
	if err != nil {
		return nil, err
	}
	return result, nil
}

// errPasswordRefused: every organization of the person refuses password sign-in.
var errPasswordRefused = errors.New("password sign-in refused by every organization")

// SignInCompleteParams is the second step of a sign-in: the user and tenant that SignIn returned, and a
// TOTP code or a recovery code.
type SignInCompleteParams struct {
	UserID    store.ID
	TenantID  store.ID
	Code      string
	RequestID string
	ClientIP  string
}

// SignInCompleteResult says how the second step was passed: Method is "totp" or "recovery".
type SignInCompleteResult struct {
	Method            string
	RecoveryCodesLeft int
}

// SignInComplete accepts the second factor of a user whose SignIn returned TwoFactorRequired: a 6-digit
// TOTP code or a recovery code, each usable once. It records the sign-in in the start tenant, with the
// method, in the same transaction that uses up the code. A wrong code is ErrTwoFactorCodeWrong and is
// recorded as a failed sign-in in every tenant of the user.
func SignInComplete(ctx context.Context, db *store.DB, p SignInCompleteParams) (*SignInCompleteResult, error) {
	scope := store.Scope{ActorID: p.UserID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	var out SignInCompleteResult
	err := db.InUser(ctx, scope, func(tx *store.Tx) error {
		code := normalizeCode(p.Code)
		out.Method = "recovery"
		verify := RecoveryCodeUseTx
		if isTOTPCode(code) {
			out.Method, verify = "totp", TwoFactorVerifyTx
		}
		if err := verify(ctx, tx, code); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &out.RecoveryCodesLeft,
			`SELECT count(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, p.UserID); err != nil {
			return fmt.Errorf("error counting recovery codes of user %s: %w", p.UserID, err)
		}
		var email string
		if err := tx.GetContext(ctx, &email, `SELECT email FROM users WHERE id = $1`, p.UserID); err != nil {
			return fmt.Errorf("error loading user %s: %w", p.UserID, err)
		}
		// The membership may have ended between the two steps.
		if err := tx.SetTenant(ctx, p.TenantID); err != nil {
			return err
		}
		var member bool
		if err := tx.GetContext(ctx, &member, `SELECT EXISTS (SELECT 1 FROM memberships
			WHERE tenant_id = $1 AND user_id = $2 AND deactivated_at IS NULL)`, p.TenantID, p.UserID); err != nil {
			return fmt.Errorf("error checking membership of user %s: %w", p.UserID, err)
		}
		if !member {
			return store.Errorf(store.Unauthenticated, "Your account has no access to this organization any more. Sign in again.")
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "auth.sign_in", EntityType: "user", EntityID: p.UserID.String(),
			After: map[string]string{"email": email, "method": out.Method},
		})
	})
	if errors.Is(err, ErrTwoFactorCodeWrong) {
		if rerr := db.InUser(ctx, scope, func(tx *store.Tx) error {
			return audit.RecordInUserTenants(ctx, tx, p.UserID, audit.RecordParams{
				Action: "auth.sign_in_failed", EntityType: "user", EntityID: p.UserID.String(),
				After: map[string]string{"reason": "wrong_code"},
			})
		}); rerr != nil {
			return nil, rerr
		}
		return nil, ErrTwoFactorCodeWrong
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SignOutRecord records a sign-out in the actor's tenant.
func SignOutRecord(ctx context.Context, db *store.DB, scope store.Scope) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "auth.sign_out", EntityType: "user", EntityID: scope.ActorID.String(),
		})
	})
}

// TenantSwitch checks that the user belongs to tenant tenantID and records the switch there.
func TenantSwitch(ctx context.Context, db *store.DB, scope store.Scope) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var exists bool
		if err := tx.GetContext(ctx, &exists,
			`SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
			 WHERE m.tenant_id = $1 AND m.user_id = $2 AND u.disabled_at IS NULL AND m.deactivated_at IS NULL)`,
			scope.TenantID, scope.ActorID); err != nil {
			return fmt.Errorf("error checking membership: %w", err)
		}
		if !exists {
			return store.Errorf(store.NotFound, "You are not a member of that organization.")
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "auth.tenant_switch", EntityType: "user", EntityID: scope.ActorID.String(),
		})
	})
}

// PasswordResetTTL is how long a reset link works.
const PasswordResetTTL = 30 * time.Minute

// PasswordResetRequestParams asks for a reset link. LinkPrefix is the reset page URL that the token is
// appended to (e.g. "https://ledgerline.example.com/password/reset?token=").
type PasswordResetRequestParams struct {
	Email      string
	LinkPrefix string
	RequestID  string
	ClientIP   string
}

// PasswordResetRequest creates a single-use reset token and e-mails its link. It answers the same whether
// or not the e-mail belongs to someone, so it cannot be used to find accounts.
func PasswordResetRequest(ctx context.Context, db *store.DB, p PasswordResetRequestParams) error {
	email := strings.TrimSpace(p.Email)
	if _, err := mail.ParseAddress(email); err != nil || len(email) > 254 {
		return (store.FieldErrors{"email": "Enter an e-mail address in the correct format, like name@example.com."}).Err()
	}
	var user struct {
		ID       store.ID `db:"id"`
		Name     string   `db:"name"`
		Hash     string   `db:"password_hash"`
		Disabled bool     `db:"disabled"`
	}
	err := sqlxGet(ctx, db, &user, `SELECT id, name, password_hash, disabled FROM auth_user_by_email($1)`, email)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && user.Disabled) {
		scope := store.Scope{TenantID: PlatformTenantID, RequestID: p.RequestID, ClientIP: p.ClientIP}
		return db.InTenant(ctx, scope, func(tx *store.Tx) error {
			return audit.Record(ctx, tx, audit.RecordParams{
				Action: "auth.password_reset_refused", EntityType: "user",
				After: map[string]string{"email": truncate(email, 254), "reason": "unknown_or_disabled"},
			})
		})
	}
	if err != nil {
		return fmt.Errorf("error looking up user: %w", err)
	}
	token, tokenHash := store.NewToken("")
	scope := store.Scope{ActorID: user.ID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	return db.InUser(ctx, scope, func(tx *store.Tx) error {
		// The link goes to the address on file, not the one typed: the lookup folds case (lower() also maps
		// characters like the Kelvin sign to ASCII), so the typed address may name another mailbox.
		var to string
		if err := tx.GetContext(ctx, &to, `SELECT email FROM users WHERE id = $1`, user.ID); err != nil {
			return fmt.Errorf("error loading e-mail address of user %s: %w", user.ID, err)
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO password_resets (id, user_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + $4::interval)`,
			id, user.ID, tokenHash, fmt.Sprintf("%d seconds", int(PasswordResetTTL.Seconds()))); err != nil {
			return fmt.Errorf("error storing password reset: %w", err)
		}
		body := fmt.Sprintf("Hello %s,\n\nSomeone (hopefully you) asked to reset the password of your Ledgerline account.\n"+
			"Open this link to choose a new password. It works once and expires in %d minutes:\n\n%s%s\n\n"+
			"If you did not ask for this, ignore this message; your password stays as it is.\n",
			user.Name, int(PasswordResetTTL.Minutes()), p.LinkPrefix, token)
		if err := notify.Email(ctx, tx, notify.EmailParams{To: to, Subject: "Reset your Ledgerline password", Text: body}); err != nil {
			return err
		}
		return audit.RecordInUserTenants(ctx, tx, user.ID, audit.RecordParams{
			Action: "auth.password_reset_requested", EntityType: "password_reset", EntityID: id.String(),
			After: map[string]string{"email": email},
		})
	})
}

// PasswordResetCheck reports whether token is a valid, unused, unexpired reset token.
func PasswordResetCheck(ctx context.Context, db *store.DB, token string) error {
	var userID *store.ID
	if err := sqlxGet(ctx, db, &userID, `SELECT auth_password_reset_user($1)`, store.HashToken(token)); err != nil {
		return fmt.Errorf("error checking reset token: %w", err)
	}
	if userID == nil {
		return errResetInvalid
	}
	return nil
}

var errResetInvalid = store.Errorf(store.NotFound, "This password reset link has expired or was already used.")

// PasswordResetCompleteParams sets a new password with a reset token.
type PasswordResetCompleteParams struct {
	Token           string
	Password        string
	PasswordConfirm string
	RequestID       string
	ClientIP        string
}

// PasswordResetComplete sets the new password and uses up the token, in one transaction; a second use of
// the same token, even concurrently, finds it used.
func PasswordResetComplete(ctx context.Context, db *store.DB, p PasswordResetCompleteParams) (store.ID, error) {
	var fields store.FieldErrors
	if msg := validatePassword(p.Password); msg != "" {
		fields.Add("password", msg)
	}
	if p.Password != p.PasswordConfirm {
		fields.Add("password_confirm", "Enter the same password twice.")
	}
	if err := fields.Err(); err != nil {
		return store.ID{}, err
	}
	var userID *store.ID
	tokenHash := store.HashToken(p.Token)
	if err := sqlxGet(ctx, db, &userID, `SELECT auth_password_reset_user($1)`, tokenHash); err != nil {
		return store.ID{}, fmt.Errorf("error checking reset token: %w", err)
	}
	if userID == nil {
		return store.ID{}, errResetInvalid
	}
	hash, err := HashPassword(p.Password)
	if err != nil {
		return store.ID{}, err
	}
	scope := store.Scope{ActorID: *userID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	err = db.InUser(ctx, scope, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE password_resets SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()`,
			tokenHash)
		if err != nil {
			return fmt.Errorf("error using reset token: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errResetInvalid
		}
		// Any other link sent earlier dies with this one.
		if _, err := tx.ExecContext(ctx,
			`UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, *userID); err != nil {
			return fmt.Errorf("error retiring other reset tokens: %w", err)
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET password_hash = $1, updated_at = now(), version = version + 1 WHERE id = $2`,
			hash, *userID); err != nil {
			return fmt.Errorf("error setting password of user %s: %w", *userID, err)
		}
		return audit.RecordInUserTenants(ctx, tx, *userID, audit.RecordParams{
			Action: "auth.password_reset", EntityType: "user", EntityID: userID.String(),
		})
	})
	if err != nil {
		return store.ID{}, err
	}
	return *userID, nil
}

// sqlxGet runs a single-row query outside any tenant; only the SECURITY DEFINER auth functions need it.
func sqlxGet(ctx context.Context, db *store.DB, dest any, query string, args ...any) error {
	return db.X.GetContext(ctx, dest, query, args...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
