package apiauth

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// ClientSecretPrefix starts every OAuth client secret.
const ClientSecretPrefix = "llcs_"

// AccessTokenLifetime is how long a client's access token works.
const AccessTokenLifetime = 15 * time.Minute

// Claims of the access tokens: issuer and audience are fixed; the tenant travels in "tid" and the
// granted scopes, space-separated, in "scope" (RFC 9068).
const (
	tokenIssuer   = "ledgerline"
	tokenAudience = "ledgerline-api"
	tokenType     = "at+jwt"
	// tokenLeeway absorbs small clock differences between instances.
	tokenLeeway = 5 * time.Second
)

// Client is an OAuth 2.0 client of a tenant (client credentials grant): a machine acting in the tenant with
// fixed scopes. Its secret is stored only as a hash.
type Client struct {
	ID            store.ID              `db:"id"`
	Name          string                `db:"name"`
	Scopes        []identity.Permission `db:"-"`
	CreatedBy     *store.ID             `db:"created_by"`
	CreatedByName *string               `db:"created_by_name"`
	RevokedAt     *time.Time            `db:"revoked_at"`
	LastUsedAt    *time.Time            `db:"last_used_at"`
	CreatedAt     time.Time             `db:"created_at"`
}

type clientRow struct {
	Client
	ScopeList scopeList `db:"scopes"`
}

const clientSelect = `
	SELECT c.id, c.name, array_to_string(c.scopes, ' ') AS scopes, c.created_by, u.name AS created_by_name,
	       c.revoked_at, c.last_used_at, c.created_at
	FROM oauth_clients c LEFT JOIN users u ON u.id = c.created_by`

// ClientCreateParams registers a client. Scopes must be permissions the registering admin holds.
type ClientCreateParams struct {
	Name   string
	Scopes []identity.Permission
}

// ClientCreateResult is the new client and its secret, which is shown once and never again.
type ClientCreateResult struct {
	Client *Client
	Secret string
}

// ClientCreate registers an OAuth client in the scope's tenant. The actor needs AdminUsers.
func ClientCreate(ctx context.Context, db *store.DB, scope store.Scope, p ClientCreateParams) (*ClientCreateResult, error) {
	var f store.FieldErrors
	name := strings.TrimSpace(p.Name)
	if n := utf8.RuneCountInString(name); n == 0 || n > 100 {
		f.Add("name", "Enter a name that says which system uses the client (up to 100 characters).")
	}
	if len(p.Scopes) == 0 {
		f.Add("scopes", "Choose at least one scope.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	secret, hash := store.NewToken(ClientSecretPrefix)
	res := &ClientCreateResult{Secret: secret}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		role, err := actorAdmin(ctx, tx)
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
			INSERT INTO oauth_clients (id, name, scopes, secret_hash, created_by) VALUES ($1, $2, $3, $4, $5)`,
			id, name, scopeStrings(scopes), hash, tx.Scope.ActorID); err != nil {
			return fmt.Errorf("error creating OAuth client: %w", err)
		}
		if res.Client, err = clientGetTx(ctx, tx, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "oauth_client.create", EntityType: "oauth_client", EntityID: id.String(), After: res.Client,
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// actorAdmin checks that the actor may manage clients and returns their role.
func actorAdmin(ctx context.Context, tx *store.Tx) (identity.Role, error) {
	role, err := actorRole(ctx, tx)
	if err != nil {
		return "", err
	}
	if !role.Can(identity.AdminUsers) {
		return "", store.Errorf(store.Forbidden, "Your role does not allow this. Ask an administrator if you need access.")
	}
	return role, nil
}

func clientGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*Client, error) {
	var row clientRow
	if err := store.Get(ctx, tx, &row, "No such API client.",
		clientSelect+` WHERE c.tenant_id = $1 AND c.id = $2`, tx.Scope.TenantID, id); err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return nil, err
		}
		return nil, fmt.Errorf("error loading OAuth client %s: %w", id, err)
	}
	row.Client.Scopes = row.ScopeList.permissions()
	return &row.Client, nil
}

// clientListMax bounds the client list.
const clientListMax = 200

// ClientList returns the tenant's OAuth clients, newest first, revoked ones included, at most
// clientListMax. The actor needs AdminUsers.
func ClientList(ctx context.Context, db *store.DB, scope store.Scope) ([]Client, error) {
	var rows []clientRow
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if _, err := actorAdmin(ctx, tx); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &rows, clientSelect+`
			WHERE c.tenant_id = $1 ORDER BY c.created_at DESC, c.id DESC LIMIT $2`,
			tx.Scope.TenantID, clientListMax); err != nil {
			return fmt.Errorf("error listing OAuth clients: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Client, len(rows))
	for i, r := range rows {
		out[i] = r.Client
		out[i].Scopes = r.ScopeList.permissions()
	}
	return out, nil
}

// ClientRevoke revokes a client: it gets no new access tokens, and the ones it holds stop working at once.
// Revoking a revoked client changes nothing. The actor needs AdminUsers.
func ClientRevoke(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if _, err := actorAdmin(ctx, tx); err != nil {
			return err
		}
		before, err := clientGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_clients SET revoked_at = now() WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error revoking OAuth client %s: %w", id, err)
		}
		after, err := clientGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "oauth_client.revoke", EntityType: "oauth_client", EntityID: id.String(), Before: before, After: after,
		})
	})
}

// AccessTokenIssueParams is a client credentials grant request. Scope, when set, narrows the token to
// some of the client's scopes (space-separated, RFC 6749 section 3.3).
type AccessTokenIssueParams struct {
	ClientID     string
	ClientSecret string
	Scope        string
	RequestID    string
	ClientIP     string
}

// AccessToken is an issued access token.
type AccessToken struct {
	Token     string
	ExpiresAt time.Time
	Scopes    []identity.Permission
}

// ErrInvalidClient is the answer for an unknown or revoked client and a wrong secret alike.
var ErrInvalidClient = store.Errorf(store.Unauthenticated, "The client is unknown or revoked, or the secret is wrong.")

// ErrInvalidScope is returned when the requested scope is not among the client's scopes.
var ErrInvalidScope = &store.Error{Code: store.Invalid, Message: "The requested scope is not granted to this client.",
	Fields: map[string]string{"scope": "Ask only for scopes the client was registered with."}}

// AccessTokenIssue checks the client's credentials and issues a signed access token for AccessTokenLifetime,
// recording the grant in the client's tenant.
func AccessTokenIssue(ctx context.Context, db *store.DB, p AccessTokenIssueParams) (*AccessToken, error) {
	id, err := store.ParseID(p.ClientID)
	if err != nil {
		return nil, ErrInvalidClient
	}
	var found struct {
		TenantID   store.ID   `db:"tenant_id"`
		ID         store.ID   `db:"id"`
		ScopeList  scopeList  `db:"scopes"`
		SecretHash []byte     `db:"secret_hash"`
		RevokedAt  *time.Time `db:"revoked_at"`
	}
	err = db.X.GetContext(ctx, &found, `
		SELECT tenant_id, id, array_to_string(scopes, ' ') AS scopes, secret_hash, revoked_at FROM oauth_client_by_id($1)`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrInvalidClient
	}
	if err != nil {
		return nil, fmt.Errorf("error looking up OAuth client: %w", err)
	}
	if subtle.ConstantTimeCompare(found.SecretHash, store.HashToken(p.ClientSecret)) != 1 || found.RevokedAt != nil {
		return nil, ErrInvalidClient
	}
	scopes := found.ScopeList.permissions()
	if requested := strings.Fields(p.Scope); len(requested) > 0 {
		var narrowed []identity.Permission
		for _, s := range requested {
			if !slices.Contains(scopes, identity.Permission(s)) {
				return nil, ErrInvalidScope
			}
			if !slices.Contains(narrowed, identity.Permission(s)) {
				narrowed = append(narrowed, identity.Permission(s))
			}
		}
		scopes = narrowed
	}
	kid, secret, err := signingKeyActive(ctx, db)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	at := &AccessToken{ExpiresAt: now.Add(AccessTokenLifetime).Truncate(time.Second), Scopes: scopes}
	jti := store.NewID()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    tokenIssuer,
			Subject:   "client:" + found.ID.String(),
			Audience:  jwt.ClaimStrings{tokenAudience},
			ExpiresAt: jwt.NewNumericDate(at.ExpiresAt),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        jti.String(),
		},
		TenantID: found.TenantID.String(),
		ClientID: found.ID.String(),
		Scope:    strings.Join(scopeStrings(scopes), " "),
	})
	tok.Header["kid"] = kid.String()
	tok.Header["typ"] = tokenType
	if at.Token, err = tok.SignedString(secret); err != nil {
		return nil, fmt.Errorf("error signing access token: %w", err)
	}
	scope := store.Scope{TenantID: found.TenantID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE oauth_clients SET last_used_at = now() WHERE tenant_id = $1 AND id = $2`,
			found.TenantID, found.ID); err != nil {
			return fmt.Errorf("error recording use of OAuth client %s: %w", found.ID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{
			Action: "oauth_client.token_issue", EntityType: "oauth_client", EntityID: found.ID.String(),
			After: map[string]any{"token_id": jti, "scopes": scopes, "expires_at": at.ExpiresAt},
		})
	})
	if err != nil {
		return nil, err
	}
	return at, nil
}

type accessClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
}

// AccessTokenAuthenticate verifies a client's access token: signature by a key that may still verify,
// issuer, audience, expiry; then, in the token's tenant, that the client is not revoked. The scopes are
// the token's, cut to the client's current ones.
func AccessTokenAuthenticate(ctx context.Context, db *store.DB, raw string) (*Principal, error) {
	if len(raw) > 4096 {
		return nil, errInvalidToken
	}
	var claims accessClaims
	var keyErr error
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(tokenIssuer), jwt.WithAudience(tokenAudience),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(tokenLeeway),
	)
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != tokenType {
			return nil, errInvalidToken
		}
		kidStr, _ := t.Header["kid"].(string)
		kid, err := store.ParseID(kidStr)
		if err != nil {
			return nil, errInvalidToken
		}
		secret, err := signingKeyVerifying(ctx, db, kid)
		if err != nil && store.ErrorCode(err) == store.Internal {
			keyErr = err
		}
		return secret, err
	})
	if keyErr != nil {
		return nil, keyErr
	}
	if err != nil {
		return nil, errInvalidToken
	}
	tenantID, err1 := store.ParseID(claims.TenantID)
	clientID, err2 := store.ParseID(claims.ClientID)
	if err1 != nil || err2 != nil || claims.Subject != "client:"+claims.ClientID || claims.ExpiresAt == nil {
		return nil, errInvalidToken
	}
	var p *Principal
	err = db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		var row struct {
			Name       string    `db:"name"`
			ScopeList  scopeList `db:"scopes"`
			TenantName string    `db:"tenant_name"`
			RateLimit  int       `db:"api_rate_limit"`
		}
		err := tx.GetContext(ctx, &row, `
			SELECT c.name, array_to_string(c.scopes, ' ') AS scopes, t.name AS tenant_name, t.api_rate_limit
			FROM oauth_clients c JOIN tenants t ON t.id = c.tenant_id
			WHERE c.tenant_id = $1 AND c.id = $2 AND c.revoked_at IS NULL`, tenantID, clientID)
		if errors.Is(err, sql.ErrNoRows) {
			return errInvalidToken
		}
		if err != nil {
			return fmt.Errorf("error loading OAuth client %s: %w", clientID, err)
		}
		var granted []identity.Permission
		for _, s := range strings.Fields(claims.Scope) {
			granted = append(granted, identity.Permission(s))
		}
		p = &Principal{
			Kind: KindClient, TenantID: tenantID, TenantName: row.TenantName, Name: row.Name,
			ClientID: clientID, CredentialID: clientID,
			Scopes:    intersect(granted, row.ScopeList.permissions()),
			ExpiresAt: claims.ExpiresAt.Time, RateLimit: row.RateLimit,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}
