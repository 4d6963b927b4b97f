package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// A person's own account: profile, password, and (in totp.go) the second factor. Every operation here acts on
// scope.ActorID only; the users_update policy refuses changes to anyone else's row, and the user's recovery
// codes are visible to that user alone.

// Profile is the signed-in person's own account as the account page shows it.
type Profile struct {
	ID                 store.ID   `db:"id"`
	Email              string     `db:"email"`
	Name               string     `db:"name"`
	Version            int        `db:"version"`
	TwoFactorEnabledAt *time.Time `db:"totp_enabled_at"`
	CreatedAt          time.Time  `db:"created_at"`
}

// ErrPasswordWrong marks a failed password check of a signed-in user (changing the password, turning off
// two-factor authentication). It is joined to the form's field error, so callers can count the attempt
// against the sign-in throttle with errors.Is: a stolen session must not become a way to guess the password.
var ErrPasswordWrong = errors.New("password check failed")

// inAccount runs fn for scope's actor: inside their tenant when scope names one, else outside any tenant.
func inAccount(ctx context.Context, db *store.DB, scope store.Scope, fn func(tx *store.Tx) error) error {
	if scope.ActorID == (store.ID{}) {
		return store.Errorf(store.Unauthenticated, "Sign in to change your account.")
	}
	if scope.TenantID == (store.ID{}) {
		return db.InUser(ctx, scope, fn)
	}
	return db.InTenant(ctx, scope, fn)
}

const profileQuery = `SELECT id, email, name, version, totp_enabled_at, created_at FROM users WHERE id = $1`

// ProfileGet returns the actor's own profile.
func ProfileGet(ctx context.Context, db *store.DB, scope store.Scope) (*Profile, error) {
	var p Profile
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		return store.Get(ctx, tx, &p, "Your account no longer exists.", profileQuery, scope.ActorID)
	})
	if err != nil {
		return nil, fmt.Errorf("error loading profile of user %s: %w", scope.ActorID, err)
	}
	return &p, nil
}

// ProfileUpdateParams changes the actor's own name. Version is the profile version the form was made from.
type ProfileUpdateParams struct {
	Name    string
	Version int
}

// ProfileUpdate renames the actor, with optimistic locking on the user's version, and records the change in
// every tenant of the user (each organization shows the person's name).
func ProfileUpdate(ctx context.Context, db *store.DB, scope store.Scope, p ProfileUpdateParams) (*Profile, error) {
	name := strings.TrimSpace(p.Name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 200 {
		return nil, (store.FieldErrors{"name": "Enter your name (up to 200 characters)."}).Err()
	}
	var out Profile
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		var before Profile
		if err := store.Get(ctx, tx, &before, "Your account no longer exists.", profileQuery+` FOR UPDATE`, scope.ActorID); err != nil {
			return err
		}
		if before.Version != p.Version {
			return store.Errorf(store.Conflict, "Your account was changed elsewhere (in another tab or window) after this page was loaded. Reload the page and try again.")
		}
		if before.Name == name {
			out = before
			return nil
		}
		if err := tx.GetContext(ctx, &out,
			`UPDATE users SET name = $1, updated_at = now(), version = version + 1 WHERE id = $2
			 RETURNING id, email, name, version, totp_enabled_at, created_at`, name, scope.ActorID); err != nil {
			return fmt.Errorf("error renaming user %s: %w", scope.ActorID, err)
		}
		return audit.RecordInUserTenants(ctx, tx, scope.ActorID, audit.RecordParams{
			Action: "user.profile_update", EntityType: "user", EntityID: scope.ActorID.String(),
			Before: map[string]string{"name": before.Name}, After: map[string]string{"name": out.Name},
		})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PasswordChangeParams changes the actor's own password. EndOtherSessions says whether the caller ends the
// user's other sessions (sessions live in Redis, outside the store); it is recorded in the audit event.
type PasswordChangeParams struct {
	Current          string
	New              string
	Confirm          string
	EndOtherSessions bool
}

// PasswordChange checks the current password, sets the new one and retires any reset link still open. A
// wrong current password is a field error joined with ErrPasswordWrong and is recorded as a failed check.
func PasswordChange(ctx context.Context, db *store.DB, scope store.Scope, p PasswordChangeParams) error {
	var fields store.FieldErrors
	if msg := validatePassword(p.New); msg != "" {
		fields.Add("password", msg)
	}
	if p.New != p.Confirm {
		fields.Add("password_confirm", "Enter the same new password twice.")
	}
	if p.Current == "" {
		fields.Add("current_password", "Enter your current password.")
		return fields.Err()
	}
	oldHash, err := passwordCheck(ctx, db, scope, p.Current, "password_change")
	if errors.Is(err, ErrPasswordWrong) {
		fields.Add("current_password", "Your current password is incorrect. Enter the password you sign in with.")
		return errors.Join(fields.Err(), ErrPasswordWrong)
	}
	if err != nil {
		return err
	}
	if len(fields) == 0 && p.New == p.Current {
		fields.Add("password", "Choose a new password that is different from your current one.")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	newHash, err := HashPassword(p.New)
	if err != nil {
		return err
	}
	return inAccount(ctx, db, scope, func(tx *store.Tx) error {
		// Only if nobody changed the password since it was checked: the check ran outside this transaction.
		res, err := tx.ExecContext(ctx,
			`UPDATE users SET password_hash = $1, updated_at = now(), version = version + 1
			 WHERE id = $2 AND password_hash = $3`, newHash, scope.ActorID, oldHash)
		if err != nil {
			return fmt.Errorf("error changing password of user %s: %w", scope.ActorID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.Errorf(store.Conflict, "Your password was changed elsewhere a moment ago. Reload the page and try again.")
		}
		// A reset link sent before the change must not undo it.
		if _, err := tx.ExecContext(ctx,
			`UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, scope.ActorID); err != nil {
			return fmt.Errorf("error retiring reset links of user %s: %w", scope.ActorID, err)
		}
		return audit.RecordInUserTenants(ctx, tx, scope.ActorID, audit.RecordParams{
			Action: "auth.password_change", EntityType: "user", EntityID: scope.ActorID.String(),
			After: map[string]bool{"other_sessions_ended": p.EndOtherSessions},
		})
	})
}

// passwordCheck verifies the actor's password and returns the stored hash. A wrong password is
// ErrPasswordWrong and is recorded in every tenant of the user as auth.password_check_failed, with the
// purpose of the check.
func passwordCheck(ctx context.Context, db *store.DB, scope store.Scope, password, purpose string) (string, error) {
	var hash string
	err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		return store.Get(ctx, tx, &hash, "Your account no longer exists.",
			`SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL`, scope.ActorID)
	})
	if err != nil {
		return "", err
	}
	// Hashing takes tens of milliseconds: outside any transaction, so no connection waits on it.
	ok, err := VerifyPassword(hash, password)
	if err != nil {
		return "", fmt.Errorf("error verifying password of user %s: %w", scope.ActorID, err)
	}
	if ok {
		return hash, nil
	}
	if err := inAccount(ctx, db, scope, func(tx *store.Tx) error {
		return audit.RecordInUserTenants(ctx, tx, scope.ActorID, audit.RecordParams{
			Action: "auth.password_check_failed", EntityType: "user", EntityID: scope.ActorID.String(),
			After: map[string]string{"purpose": purpose},
		})
	}); err != nil {
		return "", err
	}
	return "", ErrPasswordWrong
}

// SessionEndRecordParams describes sessions a user ended from their account page. Sessions live in Redis;
// the caller ends them and records it here.
type SessionEndRecordParams struct {
	Device    string // the ended session's device, empty when AllOthers
	ClientIP  string // the ended session's last address, empty when AllOthers
	AllOthers bool   // every session but the current one was ended
}

// SessionEndRecord records, in the actor's tenant, that the user signed out one or all of their other sessions.
func SessionEndRecord(ctx context.Context, db *store.DB, scope store.Scope, p SessionEndRecordParams) error {
	after := map[string]any{"all_others": p.AllOthers}
	if !p.AllOthers {
		after["device"], after["ip"] = truncate(p.Device, 200), truncate(p.ClientIP, 64)
	}
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "auth.session_end", EntityType: "user", EntityID: scope.ActorID.String(), After: after,
		})
	})
}
