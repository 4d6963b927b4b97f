package identity

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// Two-factor authentication with TOTP (RFC 6238: 6 digits, SHA-1, 30-second steps, what every authenticator
// app supports). The secret is sealed with the data key and bound to its user, so a copied column is useless
// and cannot be moved to another user's row. Each code works once: the user's last used time step is kept
// and only a later step is accepted. Recovery codes are stored as SHA-256 hashes and are single use.

const (
	totpIssuer = "Ledgerline"
	totpPeriod = 30 // seconds per step
	totpSkew   = 1  // steps accepted either side of now, for clocks that drift

	// RecoveryCodeCount is how many recovery codes a user gets at a time.
	RecoveryCodeCount = 10
	// recoveryAlphabet leaves out look-alikes (0/o, 1/l/i) so codes survive being written down.
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	recoveryLength   = 10 // characters, shown as two groups of five: about 50 bits
)

// ErrTwoFactorCodeWrong is the answer to a wrong, expired or already used code, TOTP and recovery alike.
var ErrTwoFactorCodeWrong = store.Errorf(store.Unauthenticated,
	"That code is not correct, or it was already used. Enter the newest code from your authenticator app, or one of your recovery codes.")

// TwoFactorState is what the account page shows about the user's second factor.
type TwoFactorState struct {
	EnabledAt         *time.Time          // nil while two-factor authentication is off
	Pending           *TwoFactorEnrolment // a set-up waiting for its confirming code; nil when none or enabled
	RecoveryCodesLeft int                 // unused recovery codes
}

// Enabled reports whether the user signs in with a second factor.
func (s *TwoFactorState) Enabled() bool { return s.EnabledAt != nil }

// TwoFactorEnrolment is a new TOTP secret for the user's authenticator app: URL is the otpauth:// URI a QR
// code carries, Secret the same key in base32 for typing in by hand.
type TwoFactorEnrolment struct {
	Secret string
	URL    string
}

// totpSecretAD binds a sealed secret to its user: opening it under another user's id fails.
func totpSecretAD(userID store.ID) []byte {
	return []byte("users.totp_secret:" + userID.String())
}

func sealer(tx *store.Tx) (*store.Sealer, error) {
	if s := tx.Secrets(); s != nil {
		return s, nil
	}
	return nil, errors.New("no data key configured for sealing secrets")
}

// totpRow is the user's two-factor columns.
type totpRow struct {
	Email     string     `db:"email"`
	Secret    []byte     `db:"totp_secret"`
	EnabledAt *time.Time `db:"totp_enabled_at"`
	LastStep  *int64     `db:"totp_last_step"`
}

func totpLoad(ctx context.Context, tx *store.Tx, userID store.ID, lock bool) (*totpRow, error) {
	q := `SELECT email, totp_secret, totp_enabled_at, totp_last_step FROM users WHERE id = $1 AND disabled_at IS NULL`
	if lock {
		q += ` FOR UPDATE`
	}
	var row totpRow
	if err := store.Get(ctx, tx, &row, "Your account no longer exists.", q, userID); err != nil {
		return nil, fmt.Errorf("error loading two-factor state of user %s: %w", userID, err)
	}
	return &row, nil
}

// secret opens the sealed TOTP secret of the row.
func (r *totpRow) secret(tx *store.Tx, userID store.ID) (string, error) {
	s, err := sealer(tx)
	if err != nil {
		return "", err
	}
	plain, err := s.Open(r.Secret, totpSecretAD(userID))
	if err != nil {
		return "", fmt.Errorf("error opening TOTP secret of user %s: %w", userID, err)
	}
	return string(plain), nil
}

// enrolment rebuilds the otpauth:// URI of a stored secret.
func enrolment(secret, email string) (*TwoFactorEnrolment, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return nil, fmt.Errorf("error decoding TOTP secret: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: email, Period: totpPeriod, Secret: raw})
	if err != nil {
		return nil, fmt.Errorf("error making TOTP key URI: %w", err)
	}
	return &TwoFactorEnrolment{Secret: key.Secret(), URL: key.URL()}, nil
}

// TwoFactorGet returns the actor's two-factor state, with the pending set-up (secret and URI) if any.
func TwoFactorGet(ctx context.Context, db *store.DB, scope store.Scope) (*TwoFactorState, error) {
	var state TwoFactorState
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		row, err := totpLoad(ctx, tx, scope.ActorID, false)
		if err != nil {
			return err
		}
		state.EnabledAt = row.EnabledAt
		if row.EnabledAt == nil && row.Secret != nil {
			secret, err := row.secret(tx, scope.ActorID)
			if err != nil {
				return err
			}
			if state.Pending, err = enrolment(secret, row.Email); err != nil {
				return err
			}
		}
		if err := tx.GetContext(ctx, &state.RecoveryCodesLeft,
			`SELECT count(*) FROM user_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, scope.ActorID); err != nil {
			return fmt.Errorf("error counting recovery codes of user %s: %w", scope.ActorID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &state, nil
}

// TwoFactorBegin starts (or restarts) a set-up: a new secret, sealed, waiting for TwoFactorEnable. It is a
// Conflict when two-factor authentication is already on.
func TwoFactorBegin(ctx context.Context, db *store.DB, scope store.Scope) (*TwoFactorEnrolment, error) {
	var out *TwoFactorEnrolment
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		row, err := totpLoad(ctx, tx, scope.ActorID, true)
		if err != nil {
			return err
		}
		if row.EnabledAt != nil {
			return errTwoFactorAlreadyOn
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: row.Email, Period: totpPeriod})
		if err != nil {
			return fmt.Errorf("error generating TOTP secret: %w", err)
		}
		s, err := sealer(tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET totp_secret = $1, totp_last_step = NULL WHERE id = $2`,
			s.Seal([]byte(key.Secret()), totpSecretAD(scope.ActorID)), scope.ActorID); err != nil {
			return fmt.Errorf("error storing TOTP secret of user %s: %w", scope.ActorID, err)
		}
		out = &TwoFactorEnrolment{Secret: key.Secret(), URL: key.URL()}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var (
	errTwoFactorAlreadyOn = store.Errorf(store.Conflict, "Two-factor authentication is already on for your account.")
	errTwoFactorOff       = store.Errorf(store.Conflict, "Two-factor authentication is not on for your account.")
)

// TwoFactorEnableParams confirms a set-up with a code from the authenticator app.
type TwoFactorEnableParams struct {
	Code string
}

// TwoFactorEnableResult carries the recovery codes, in clear for the only time: they are stored hashed.
type TwoFactorEnableResult struct {
	RecoveryCodes []string
}

// TwoFactorEnable turns two-factor authentication on when Code matches the pending secret, and issues a new
// set of recovery codes. The code's time step counts as used.
func TwoFactorEnable(ctx context.Context, db *store.DB, scope store.Scope, p TwoFactorEnableParams) (*TwoFactorEnableResult, error) {
	code := normalizeCode(p.Code)
	if !isTOTPCode(code) {
		return nil, (store.FieldErrors{"code": "Enter the 6-digit code that your authenticator app shows."}).Err()
	}
	var out TwoFactorEnableResult
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		row, err := totpLoad(ctx, tx, scope.ActorID, true)
		if err != nil {
			return err
		}
		if row.EnabledAt != nil {
			return errTwoFactorAlreadyOn
		}
		if row.Secret == nil {
			return store.Errorf(store.Conflict, "Start the set-up of two-factor authentication first.")
		}
		secret, err := row.secret(tx, scope.ActorID)
		if err != nil {
			return err
		}
		step, ok := totpMatch(secret, code, time.Now(), nil)
		if !ok {
			return (store.FieldErrors{"code": "That code is not correct. Enter the newest code from the app; if it keeps failing, check that your phone's clock is set automatically."}).Err()
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET totp_enabled_at = now(), totp_last_step = $1 WHERE id = $2`, step, scope.ActorID); err != nil {
			return fmt.Errorf("error enabling two-factor authentication of user %s: %w", scope.ActorID, err)
		}
		if out.RecoveryCodes, err = recoveryCodesReplace(ctx, tx, scope.ActorID); err != nil {
			return err
		}
		return audit.RecordInUserTenants(ctx, tx, scope.ActorID, audit.RecordParams{
			Action: "auth.two_factor_enable", EntityType: "user", EntityID: scope.ActorID.String(),
			After: map[string]any{"method": "totp", "recovery_codes": RecoveryCodeCount},
		})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// TwoFactorDisableParams turns two-factor authentication off; the current password proves it is the user.
type TwoFactorDisableParams struct {
	Password string
}

// TwoFactorDisable checks the password, then removes the secret and every recovery code. A wrong password
// is a field error joined with ErrPasswordWrong.
func TwoFactorDisable(ctx context.Context, db *store.DB, scope store.Scope, p TwoFactorDisableParams) error {
	if err := passwordConfirm(ctx, db, scope, p.Password, "two_factor_disable"); err != nil {
		return err
	}
	return inAccount(ctx, db, scope, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL
			 WHERE id = $1 AND totp_enabled_at IS NOT NULL`, scope.ActorID)
		if err != nil {
			return fmt.Errorf("error disabling two-factor authentication of user %s: %w", scope.ActorID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return errTwoFactorOff
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, scope.ActorID); err != nil {
			return fmt.Errorf("error deleting recovery codes of user %s: %w", scope.ActorID, err)
		}
		return audit.RecordInUserTenants(ctx, tx, scope.ActorID, audit.RecordParams{
			Action: "auth.two_factor_disable", EntityType: "user", EntityID: scope.ActorID.String(),
		})
	})
}

// RecoveryCodesRegenerateParams asks for a new set of recovery codes; the current password proves it is the user.
type RecoveryCodesRegenerateParams struct {
	Password string
}

// RecoveryCodesRegenerate replaces all of the user's recovery codes (used or not) with a new set and returns
// it, in clear for the only time.
func RecoveryCodesRegenerate(ctx context.Context, db *store.DB, scope store.Scope, p RecoveryCodesRegenerateParams) ([]string, error) {
	if err := passwordConfirm(ctx, db, scope, p.Password, "recovery_codes_regenerate"); err != nil {
		return nil, err
	}
	var codes []string
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		row, err := totpLoad(ctx, tx, scope.ActorID, true)
		if err != nil {
			return err
		}
		if row.EnabledAt == nil {
			return errTwoFactorOff
		}
		if codes, err = recoveryCodesReplace(ctx, tx, scope.ActorID); err != nil {
			return err
		}
		return audit.RecordInUserTenants(ctx, tx, scope.ActorID, audit.RecordParams{
			Action: "auth.recovery_codes_regenerate", EntityType: "user", EntityID: scope.ActorID.String(),
			After: map[string]int{"recovery_codes": RecoveryCodeCount},
		})
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// passwordConfirm checks the password typed to confirm a sensitive change, as the form field "password".
func passwordConfirm(ctx context.Context, db *store.DB, scope store.Scope, password, purpose string) error {
	if password == "" {
		return (store.FieldErrors{"password": "Enter your password."}).Err()
	}
	_, err := passwordCheck(ctx, db, scope, password, purpose)
	if errors.Is(err, ErrPasswordWrong) {
		return errors.Join((store.FieldErrors{"password": "Your password is incorrect. Enter the password you sign in with."}).Err(), ErrPasswordWrong)
	}
	return err
}

// TwoFactorVerify checks a TOTP code of the actor and uses up its time step.
func TwoFactorVerify(ctx context.Context, db *store.DB, scope store.Scope, code string) error {
	return inAccount(ctx, db, scope, func(tx *store.Tx) error { return TwoFactorVerifyTx(ctx, tx, code) })
}

// TwoFactorVerifyTx is TwoFactorVerify inside the caller's transaction, for tx.Scope.ActorID. A code of a
// time step at or before the last one used is refused, so each code works once, even when two requests
// race (the conditional update makes the second wait for the first and then find the step used).
func TwoFactorVerifyTx(ctx context.Context, tx *store.Tx, code string) error {
	userID := tx.Scope.ActorID
	code = normalizeCode(code)
	if !isTOTPCode(code) {
		return ErrTwoFactorCodeWrong
	}
	row, err := totpLoad(ctx, tx, userID, false)
	if err != nil {
		return err
	}
	if row.EnabledAt == nil || row.Secret == nil {
		return ErrTwoFactorCodeWrong
	}
	secret, err := row.secret(tx, userID)
	if err != nil {
		return err
	}
	step, ok := totpMatch(secret, code, time.Now(), row.LastStep)
	if !ok {
		return ErrTwoFactorCodeWrong
	}
	res, err := tx.ExecContext(ctx,
		`UPDATE users SET totp_last_step = $1
		 WHERE id = $2 AND totp_enabled_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $1)`, step, userID)
	if err != nil {
		return fmt.Errorf("error using TOTP step of user %s: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrTwoFactorCodeWrong
	}
	return nil
}

// RecoveryCodeUse checks a recovery code of the actor and uses it up.
func RecoveryCodeUse(ctx context.Context, db *store.DB, scope store.Scope, code string) error {
	return inAccount(ctx, db, scope, func(tx *store.Tx) error { return RecoveryCodeUseTx(ctx, tx, code) })
}

// RecoveryCodeUseTx is RecoveryCodeUse inside the caller's transaction, for tx.Scope.ActorID. Of two
// concurrent uses of one code, the second waits for the first's row lock and then finds the code used.
func RecoveryCodeUseTx(ctx context.Context, tx *store.Tx, code string) error {
	code = normalizeCode(code)
	if len(code) != recoveryLength {
		return ErrTwoFactorCodeWrong
	}
	res, err := tx.ExecContext(ctx,
		`UPDATE user_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`,
		tx.Scope.ActorID, store.HashToken(code))
	if err != nil {
		return fmt.Errorf("error using recovery code of user %s: %w", tx.Scope.ActorID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrTwoFactorCodeWrong
	}
	return nil
}

// recoveryCodesReplace deletes the user's recovery codes and stores the hashes of a new set.
func recoveryCodesReplace(ctx context.Context, tx *store.Tx, userID store.ID) ([]string, error) {
	if _, err := tx.ExecContext(ctx, `DELETE FROM user_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return nil, fmt.Errorf("error deleting recovery codes of user %s: %w", userID, err)
	}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		code, err := recoveryCodeNew()
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO user_recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, store.HashToken(code)); err != nil {
			return nil, fmt.Errorf("error storing recovery code of user %s: %w", userID, err)
		}
		codes[i] = code[:recoveryLength/2] + "-" + code[recoveryLength/2:]
	}
	return codes, nil
}

func recoveryCodeNew() (string, error) {
	b := make([]byte, recoveryLength)
	max := big.NewInt(int64(len(recoveryAlphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("error making recovery code: %w", err)
		}
		b[i] = recoveryAlphabet[n.Int64()]
	}
	return string(b), nil
}

// normalizeCode forgives what people add when typing a code: spaces, dashes, capitals.
func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, strings.TrimSpace(code))
}

func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// totpMatch finds the time step within the skew window whose code is code, skipping steps at or before
// lastStep (already used). Every candidate is compared, in constant time, so the timing tells nothing.
func totpMatch(secret, code string, now time.Time, lastStep *int64) (int64, bool) {
	current := now.Unix() / totpPeriod
	var found int64
	ok := false
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}) // #nosec G115 -- step counts 30 s periods since 1970: positive
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && (lastStep == nil || step > *lastStep) && !ok {
			found, ok = step, true
		}
	}
	return found, ok
}
