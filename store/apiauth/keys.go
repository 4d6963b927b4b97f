package apiauth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ledgerline/store"
)

// Signing keys are HMAC-SHA256 secrets shared by every instance through the signing_keys table, sealed
// with the data key. One key is active (signs new tokens); a retired key still verifies the tokens it
// signed until retired_at + AccessTokenLifetime, after which nothing it signed is accepted.

// signingKeyLockID serialises key rotations across instances (pg_advisory_xact_lock).
const signingKeyLockID = 7_316_004_201

// signingKeyKeepRetired is how long retired keys are kept after they stop verifying, for investigation.
const signingKeyKeepRetired = 7 * 24 * time.Hour

// SigningKeyRotate retires the active signing key (if any) and makes a new one; keys that stopped
// verifying long ago are deleted. Tokens signed by the old key keep working for their remaining
// lifetime. Concurrent rotations run one after the other.
func SigningKeyRotate(ctx context.Context, db *store.DB) error {
	if db.Secrets == nil {
		return errors.New("error rotating signing key: no data key configured")
	}
	tx, err := db.X.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("error beginning signing key rotation: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeyLockID); err != nil {
		return fmt.Errorf("error locking signing keys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL`); err != nil {
		return fmt.Errorf("error retiring signing key: %w", err)
	}
	if _, err := signingKeyInsert(ctx, tx, db.Secrets); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE retired_at < now() - $1::interval`,
		fmt.Sprintf("%d seconds", int((AccessTokenLifetime+signingKeyKeepRetired).Seconds()))); err != nil {
		return fmt.Errorf("error deleting old signing keys: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("error committing signing key rotation: %w", err)
	}
	return nil
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func signingKeyInsert(ctx context.Context, tx execer, sealer *store.Sealer) (store.ID, error) {
	id := store.NewID()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	if _, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (id, secret) VALUES ($1, $2)`,
		id, sealer.Seal(secret, id[:])); err != nil {
		return store.ID{}, fmt.Errorf("error storing signing key: %w", err)
	}
	return id, nil
}

// signingKeyActive returns the active key, creating the first one when there is none.
func signingKeyActive(ctx context.Context, db *store.DB) (store.ID, []byte, error) {
	if db.Secrets == nil {
		return store.ID{}, nil, errors.New("error loading signing key: no data key configured")
	}
	for attempt := 0; attempt < 2; attempt++ {
		var row struct {
			ID     store.ID `db:"id"`
			Secret []byte   `db:"secret"`
		}
		err := db.X.GetContext(ctx, &row, `SELECT id, secret FROM signing_keys WHERE retired_at IS NULL`)
		if err == nil {
			secret, err := db.Secrets.Open(row.Secret, row.ID[:])
			if err != nil {
				return store.ID{}, nil, fmt.Errorf("error opening signing key %s: %w", row.ID, err)
			}
			return row.ID, secret, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return store.ID{}, nil, fmt.Errorf("error loading signing key: %w", err)
		}
		if err := signingKeyFirst(ctx, db); err != nil {
			return store.ID{}, nil, err
		}
	}
	return store.ID{}, nil, errors.New("error loading signing key: none active after creating one")
}

// signingKeyFirst creates a key unless one is active, under the rotation lock.
func signingKeyFirst(ctx context.Context, db *store.DB) error {
	tx, err := db.X.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("error beginning signing key creation: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, signingKeyLockID); err != nil {
		return fmt.Errorf("error locking signing keys: %w", err)
	}
	var active bool
	if err := tx.GetContext(ctx, &active, `SELECT EXISTS (SELECT 1 FROM signing_keys WHERE retired_at IS NULL)`); err != nil {
		return fmt.Errorf("error checking signing keys: %w", err)
	}
	if !active {
		if _, err := signingKeyInsert(ctx, tx, db.Secrets); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("error committing signing key: %w", err)
	}
	return nil
}

// signingKeyVerifying returns the secret of key id if it may still verify tokens: active, or retired less
// than AccessTokenLifetime ago.
func signingKeyVerifying(ctx context.Context, db *store.DB, id store.ID) ([]byte, error) {
	if db.Secrets == nil {
		return nil, errors.New("error loading signing key: no data key configured")
	}
	var sealed []byte
	err := db.X.GetContext(ctx, &sealed, `
		SELECT secret FROM signing_keys
		WHERE id = $1 AND (retired_at IS NULL OR retired_at > now() - $2::interval)`,
		id, fmt.Sprintf("%d seconds", int(AccessTokenLifetime.Seconds())))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("error loading signing key %s: %w", id, err)
	}
	secret, err := db.Secrets.Open(sealed, id[:])
	if err != nil {
		return nil, fmt.Errorf("error opening signing key %s: %w", id, err)
	}
	return secret, nil
}
