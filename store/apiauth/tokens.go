package apiauth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// TokenPrefix starts every personal access token, so that secret scanners recognise a leaked one and
// Authenticate knows its kind without a lookup.
const TokenPrefix = "llp_"

// TokenMaxLifetime is the longest a personal access token may live.
const TokenMaxLifetime = 365 * 24 * time.Hour

// tokenLastUsedEvery bounds how often a token's last-used time is written.
const tokenLastUsedEvery = time.Minute

// Token is a personal access token as its owner sees it; the secret itself is never stored.
type Token struct {
	ID         store.ID              `db:"id"`
	UserID     store.ID              `db:"user_id"`
	Name       string                `db:"name"`
	Scopes     []identity.Permission `db:"-"`
	ExpiresAt  time.Time             `db:"expires_at"`
	RevokedAt  *time.Time            `db:"revoked_at"`
	LastUsedAt *time.Time            `db:"last_used_at"`
	CreatedAt  time.Time             `db:"created_at"`
}

// Active reports whether the token still works at now (its owner's role and membership aside).
func (t Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && t.ExpiresAt.After(now)
}

type tokenRow struct {
	Token
	ScopeList scopeList `db:"scopes"`
}

// #nosec G101 -- SQL that names the token columns, no credential
const tokenSelect = `
	SELECT id, user_id, name, array_to_string(scopes, ' ') AS scopes, expires_at, revoked_at, last_used_at, created_at
	FROM api_tokens`

// TokenCreateParams describes a new personal access token. Scopes must be permissions of the owner's
// current role; ExpiresAt must lie in the future, at most TokenMaxLifetime away.
type TokenCreateParams struct {
	Name      string
	Scopes    []identity.Permission
	ExpiresAt time.Time
}

// TokenCreateResult is the new token and its secret, which is shown once and never again.
type TokenCreateResult struct {
	Token  *Token
	Secret string
}

// TokenCreate creates a personal access token for the scope's actor in the scope's tenant.
func TokenCreate(ctx context.Context, db *store.DB, scope store.Scope, p TokenCreateParams) (*TokenCreateResult, error) {
	var f store.FieldErrors
	name := strings.TrimSpace(p.Name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 100 {
		f.Add("name", "Enter a name that says what the token is for (up to 100 characters).")
	}
	now := time.Now()
	switch {
	case p.ExpiresAt.IsZero():
		f.Add("expires_at", "Choose when the token expires.")
	case !p.ExpiresAt.After(now):
		f.Add("expires_at", "Choose an expiry date in the future.")
	case p.ExpiresAt.After(now.Add(TokenMaxLifetime + time.Minute)):
		f.Add("expires_at", "A token can live for one year at most.")
	}
	if len(p.Scopes) == 0 {
		f.Add("scopes", "Choose at least one scope.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	secret, hash := store.NewToken(TokenPrefix)
	res := &TokenCreateResult{Secret: secret}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		role, err := actorRole(ctx, tx)
		if err != nil {
			return err
		}
		var f store.FieldErrors
		scopes := scopesValidate(p.Scopes, role.Permissions(), &f)
		if err := f.Err(); err != nil {
			return err
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO api_tokens (id, user_id, name, scopes, token_hash, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			id, tx.Scope.ActorID, name, scopeStrings(scopes), hash, p.ExpiresAt.UTC()); err != nil {
			return fmt.Errorf("error creating API token: %w", err)
		}
		if res.Token, err = tokenGetTx(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "api_token.create", EntityType: "api_token", EntityID: id.String(), After: res.Token,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func tokenGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*Token, error) {
	var row tokenRow
	if err := store.Get(ctx, tx, &row, "No such token.",
		tokenSelect+` WHERE tenant_id = $1 AND id = $2 AND user_id = $3`, tx.Scope.TenantID, id, tx.Scope.ActorID); err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return nil, err
		}
		return nil, fmt.Errorf("error loading API token %s: %w", id, err)
	}
	row.Token.Scopes = row.ScopeList.permissions()
	return &row.Token, nil
}

// tokenListMax bounds the token list; nobody needs more personal tokens than this in one organization.
const tokenListMax = 200

// TokenList returns the actor's personal access tokens in the tenant, newest first, revoked and expired
// ones included (they show as such), at most tokenListMax.
func TokenList(ctx context.Context, db *store.DB, scope store.Scope) ([]Token, error) {
	var rows []tokenRow
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &rows, tokenSelect+`
			WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT $3`,
			tx.Scope.TenantID, tx.Scope.ActorID, tokenListMax)
	})
	if err != nil {
		return nil, fmt.Errorf("error listing API tokens: %w", err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = r.Token
		out[i].Scopes = r.ScopeList.permissions()
	}
	return out, nil
}

// TokenRevoke revokes one of the actor's own tokens. Revoking a revoked token changes nothing; another
// person's token, or another tenant's, is NotFound.
func TokenRevoke(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		before, err := tokenGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error revoking API token %s: %w", id, err)
		}
		after, err := tokenGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "api_token.revoke", EntityType: "api_token", EntityID: id.String(), Before: before, After: after,
		})
	})
}

// TokenAuthenticate resolves a personal access token. The token works while it is unexpired and unrevoked
// and its owner is an active member; its scopes are cut to what the owner's role grants now.
func TokenAuthenticate(ctx context.Context, db *store.DB, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return nil, errInvalidToken
	}
	// No tenant is known yet: the SECURITY DEFINER function finds the token by its hash, then everything
	// else happens inside that tenant under row-level security.
	var found struct {
		TenantID  store.ID   `db:"tenant_id"`
		ID        store.ID   `db:"id"`
		UserID    store.ID   `db:"user_id"`
		ExpiresAt time.Time  `db:"expires_at"`
		RevokedAt *time.Time `db:"revoked_at"`
	}
	err := db.X.GetContext(ctx, &found,
		`SELECT tenant_id, id, user_id, expires_at, revoked_at FROM api_token_by_hash($1)`, store.HashToken(secret))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("error looking up API token: %w", err)
	}
	if found.RevokedAt != nil || !found.ExpiresAt.After(time.Now()) {
		return nil, errInvalidToken
	}
	var p *Principal
	err = db.InTenant(ctx, store.Scope{TenantID: found.TenantID, ActorID: found.UserID}, func(tx *store.Tx) error {
		var row struct {
			ScopeList  scopeList     `db:"scopes"`
			ExpiresAt  time.Time     `db:"expires_at"`
			Role       identity.Role `db:"role"`
			Name       string        `db:"name"`
			Email      string        `db:"email"`
			TenantName string        `db:"tenant_name"`
			RateLimit  int           `db:"api_rate_limit"`
		}
		err := tx.GetContext(ctx, &row, `
			SELECT array_to_string(k.scopes, ' ') AS scopes, k.expires_at, m.role, u.name, u.email,
			       t.name AS tenant_name, t.api_rate_limit
			FROM api_tokens k
			JOIN memberships m ON m.tenant_id = k.tenant_id AND m.user_id = k.user_id
			JOIN users u ON u.id = m.user_id
			JOIN tenants t ON t.id = k.tenant_id
			WHERE k.tenant_id = $1 AND k.id = $2 AND k.revoked_at IS NULL AND k.expires_at > now()
			  AND m.deactivated_at IS NULL AND u.disabled_at IS NULL`, found.TenantID, found.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return errInvalidToken
		}
		if err != nil {
			return fmt.Errorf("error loading API token %s: %w", found.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE api_tokens SET last_used_at = now()
			WHERE tenant_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - $3::interval)`,
			found.TenantID, found.ID, fmt.Sprintf("%d seconds", int(tokenLastUsedEvery.Seconds()))); err != nil {
			return fmt.Errorf("error recording use of API token %s: %w", found.ID, err)
		}
		p = &Principal{
			Kind: KindPersonal, TenantID: found.TenantID, TenantName: row.TenantName,
			UserID: found.UserID, Name: row.Name, Email: row.Email, Role: row.Role,
			CredentialID: found.ID, Scopes: intersect(row.ScopeList.permissions(), row.Role.Permissions()),
			ExpiresAt: row.ExpiresAt, RateLimit: row.RateLimit,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
