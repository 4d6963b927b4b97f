package apiauth_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/apiauth"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// testBundle is two tenants: acme with an admin, a second admin, an auditor and an employee; globex with
// an admin.
type testBundle struct {
	db       *store.DB
	ownerURL string

	acme, globex             store.ID
	ada, abe, aude, eli, gus store.ID
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	sb := storetest.New(t)
	tb := &testBundle{db: sb.DB, ownerURL: sb.OwnerURL}
	tenant := func(name, slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
			Name: name, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	tb.acme, tb.globex = tenant("Acme", "acme"), tenant("Globex", "globex")
	type spec struct {
		id     *store.ID
		tenant store.ID
		email  string
		role   identity.Role
	}
	specs := []spec{
		{&tb.ada, tb.acme, "ada@acme.example", identity.RoleAdmin},
		{&tb.abe, tb.acme, "abe@acme.example", identity.RoleAdmin},
		{&tb.aude, tb.acme, "aude@acme.example", identity.RoleAuditor},
		{&tb.eli, tb.acme, "eli@acme.example", identity.RoleEmployee},
		{&tb.gus, tb.globex, "gus@globex.example", identity.RoleAdmin},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	for i, s := range specs {
		wg.Go(func() {
			u, err := identity.UserCreate(ctx, tb.db, store.Scope{TenantID: s.tenant}, identity.UserCreateParams{
				Email: s.email, Name: strings.Split(s.email, "@")[0], Password: "correct-horse-battery-staple"})
			if err != nil {
				errs[i] = err
				return
			}
			*s.id = u.ID
		})
	}
	wg.Wait()
	for i, s := range specs {
		require.NoError(t, errs[i])
		require.NoError(t, identity.MemberAdd(ctx, tb.db, store.Scope{TenantID: s.tenant},
			identity.MemberAddParams{UserID: *s.id, Role: s.role}))
	}
	return tb, ctx
}

func as(tenant, actor store.ID) store.Scope {
	return store.Scope{TenantID: tenant, ActorID: actor, RequestID: "req-api", ClientIP: "192.0.2.9"}
}

// ownerExec runs sql as the schema owner inside tenant (row-level security is forced for the owner too),
// as a tamperer or the passing of time would.
func (tb *testBundle) ownerExec(t *testing.T, tenant store.ID, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenant.String())
	require.NoError(t, err)
	_, err = tx.Exec(ctx, sql, args...)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
}

func (tb *testBundle) tokenCreate(ctx context.Context, t *testing.T, scope store.Scope, scopes ...identity.Permission) *apiauth.TokenCreateResult {
	t.Helper()
	res, err := apiauth.TokenCreate(ctx, tb.db, scope, apiauth.TokenCreateParams{
		Name: "script", Scopes: scopes, ExpiresAt: time.Now().Add(30 * 24 * time.Hour)})
	require.NoError(t, err)
	return res
}

func requireCode(t *testing.T, code store.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), "error: %v", err)
}

func TestTokenHashedAtRest(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.tokenCreate(ctx, t, as(tb.acme, tb.aude), identity.AuditRead)
	require.True(t, strings.HasPrefix(res.Secret, apiauth.TokenPrefix))
	require.Greater(t, len(res.Secret), 40)

	// As the schema owner, nothing in the table contains the secret, in any column.
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tb.acme.String())
	require.NoError(t, err)
	var rows []string
	r, err := tx.Query(ctx, `SELECT t::text || encode(token_hash, 'escape') FROM api_tokens t`)
	require.NoError(t, err)
	for r.Next() {
		var s string
		require.NoError(t, r.Scan(&s))
		rows = append(rows, s)
	}
	require.NoError(t, r.Err())
	require.Len(t, rows, 1)
	secretPart := strings.TrimPrefix(res.Secret, apiauth.TokenPrefix)
	require.NotContains(t, rows[0], secretPart)
	var n int
	sum := sha256.Sum256([]byte(res.Secret))
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE token_hash = $1`, sum[:]).Scan(&n))
	require.Equal(t, 1, n, "stored as the SHA-256 of the whole token")
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE token_hash = $1`, []byte(res.Secret)).Scan(&n))
	require.Equal(t, 0, n)

	p, err := apiauth.Authenticate(ctx, tb.db, res.Secret)
	require.NoError(t, err)
	require.Equal(t, apiauth.KindPersonal, p.Kind)
	require.Equal(t, tb.acme, p.TenantID)
	require.Equal(t, tb.aude, p.UserID)
	require.Equal(t, []identity.Permission{identity.AuditRead}, p.Scopes)
	require.Equal(t, res.Token.ID, p.CredentialID)
	require.Equal(t, 600, p.RateLimit)

	// Unknown tokens, and the secret with a changed letter, are refused alike.
	for _, bad := range []string{"", "llp_", apiauth.TokenPrefix + "x", res.Secret + "x", res.Secret[:len(res.Secret)-1]} {
		_, err := apiauth.Authenticate(ctx, tb.db, bad)
		requireCode(t, store.Unauthenticated, err)
	}

	// The owner sees the last-used time.
	tokens, err := apiauth.TokenList(ctx, tb.db, as(tb.acme, tb.aude))
	require.NoError(t, err)
	require.Len(t, tokens, 1)
	require.NotNil(t, tokens[0].LastUsedAt)
}

func TestTokenCreateValidation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	for _, tt := range []struct {
		name  string
		p     apiauth.TokenCreateParams
		field string
	}{
		{"no name", apiauth.TokenCreateParams{Scopes: []identity.Permission{identity.InventoryRead}, ExpiresAt: time.Now().Add(time.Hour)}, "name"},
		{"no scopes", apiauth.TokenCreateParams{Name: "x", ExpiresAt: time.Now().Add(time.Hour)}, "scopes"},
		{"unknown scope", apiauth.TokenCreateParams{Name: "x", Scopes: []identity.Permission{"root"}, ExpiresAt: time.Now().Add(time.Hour)}, "scopes"},
		{"scope beyond role", apiauth.TokenCreateParams{Name: "x", Scopes: []identity.Permission{identity.InventoryRead, identity.AdminUsers}, ExpiresAt: time.Now().Add(time.Hour)}, "scopes"},
		{"no expiry", apiauth.TokenCreateParams{Name: "x", Scopes: []identity.Permission{identity.InventoryRead}}, "expires_at"},
		{"past expiry", apiauth.TokenCreateParams{Name: "x", Scopes: []identity.Permission{identity.InventoryRead}, ExpiresAt: time.Now().Add(-time.Minute)}, "expires_at"},
		{"over a year", apiauth.TokenCreateParams{Name: "x", Scopes: []identity.Permission{identity.InventoryRead}, ExpiresAt: time.Now().Add(apiauth.TokenMaxLifetime + time.Hour)}, "expires_at"},
	} {
		_, err := apiauth.TokenCreate(ctx, tb.db, as(tb.acme, tb.eli), tt.p)
		requireCode(t, store.Invalid, err)
		var se *store.Error
		require.ErrorAs(t, err, &se, tt.name)
		require.Contains(t, se.Fields, tt.field, tt.name)
	}
	// A year is allowed.
	_, err := apiauth.TokenCreate(ctx, tb.db, as(tb.acme, tb.eli), apiauth.TokenCreateParams{
		Name: "yearly", Scopes: []identity.Permission{identity.InventoryRead}, ExpiresAt: time.Now().Add(apiauth.TokenMaxLifetime)})
	require.NoError(t, err)
	// Someone who is not a member of the tenant cannot create a token there.
	_, err = apiauth.TokenCreate(ctx, tb.db, as(tb.globex, tb.eli), apiauth.TokenCreateParams{
		Name: "x", Scopes: []identity.Permission{identity.InventoryRead}, ExpiresAt: time.Now().Add(time.Hour)})
	requireCode(t, store.Forbidden, err)
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.tokenCreate(ctx, t, as(tb.acme, tb.eli), identity.InventoryRead)
	_, err := apiauth.Authenticate(ctx, tb.db, res.Secret)
	require.NoError(t, err)

	tb.ownerExec(t, tb.acme, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, res.Token.ID)
	_, err = apiauth.Authenticate(ctx, tb.db, res.Secret)
	requireCode(t, store.Unauthenticated, err)
	tokens, err := apiauth.TokenList(ctx, tb.db, as(tb.acme, tb.eli))
	require.NoError(t, err)
	require.False(t, tokens[0].Active(time.Now()))
}

func TestTokenRevoke(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.tokenCreate(ctx, t, as(tb.acme, tb.eli), identity.InventoryRead)

	// Nobody else can revoke it: not an admin of the tenant, not the same person in another tenant.
	requireCode(t, store.NotFound, apiauth.TokenRevoke(ctx, tb.db, as(tb.acme, tb.ada), res.Token.ID))
	requireCode(t, store.NotFound, apiauth.TokenRevoke(ctx, tb.db, as(tb.globex, tb.gus), res.Token.ID))
	_, err := apiauth.Authenticate(ctx, tb.db, res.Secret)
	require.NoError(t, err)

	require.NoError(t, apiauth.TokenRevoke(ctx, tb.db, as(tb.acme, tb.eli), res.Token.ID))
	require.NoError(t, apiauth.TokenRevoke(ctx, tb.db, as(tb.acme, tb.eli), res.Token.ID), "revoking twice is fine")
	_, err = apiauth.Authenticate(ctx, tb.db, res.Secret)
	requireCode(t, store.Unauthenticated, err)
	tokens, err := apiauth.TokenList(ctx, tb.db, as(tb.acme, tb.eli))
	require.NoError(t, err)
	require.NotNil(t, tokens[0].RevokedAt)

	// Lists are per person and per tenant.
	tokens, err = apiauth.TokenList(ctx, tb.db, as(tb.acme, tb.ada))
	require.NoError(t, err)
	require.Empty(t, tokens)
	tokens, err = apiauth.TokenList(ctx, tb.db, as(tb.globex, tb.eli))
	require.NoError(t, err)
	require.Empty(t, tokens)
}

func TestTokenScopesFollowCurrentRole(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.tokenCreate(ctx, t, as(tb.acme, tb.abe), identity.AdminUsers, identity.AuditRead, identity.BillingIssue)
	p, err := apiauth.Authenticate(ctx, tb.db, res.Secret)
	require.NoError(t, err)
	require.Equal(t, []identity.Permission{identity.BillingIssue, identity.AdminUsers, identity.AuditRead}, p.Scopes)

	// Demoted to auditor: the token keeps only what an auditor may do.
	m, err := identity.MemberGet(ctx, tb.db, as(tb.acme, tb.ada), tb.abe)
	require.NoError(t, err)
	_, err = identity.MemberUpdate(ctx, tb.db, as(tb.acme, tb.ada), identity.MemberUpdateParams{
		UserID: tb.abe, Role: identity.RoleAuditor, Version: m.Version})
	require.NoError(t, err)
	p, err = apiauth.Authenticate(ctx, tb.db, res.Secret)
	require.NoError(t, err)
	require.Equal(t, identity.RoleAuditor, p.Role)
	require.Equal(t, []identity.Permission{identity.AuditRead}, p.Scopes)
	require.False(t, p.Can(identity.AdminUsers))
}

func TestTokenDiesWithDeactivation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	res := tb.tokenCreate(ctx, t, as(tb.acme, tb.eli), identity.InventoryRead)
	_, err := identity.MemberDeactivate(ctx, tb.db, as(tb.acme, tb.ada), tb.eli)
	require.NoError(t, err)
	_, err = apiauth.Authenticate(ctx, tb.db, res.Secret)
	requireCode(t, store.Unauthenticated, err)

	// Reactivation does not bring the old token back.
	_, err = identity.MemberReactivate(ctx, tb.db, as(tb.acme, tb.ada), tb.eli)
	require.NoError(t, err)
	_, err = apiauth.Authenticate(ctx, tb.db, res.Secret)
	requireCode(t, store.Unauthenticated, err)
	tokens, err := apiauth.TokenList(ctx, tb.db, as(tb.acme, tb.eli))
	require.NoError(t, err)
	require.NotNil(t, tokens[0].RevokedAt)
}

func (tb *testBundle) clientCreate(ctx context.Context, t *testing.T, scope store.Scope, scopes ...identity.Permission) *apiauth.ClientCreateResult {
	t.Helper()
	res, err := apiauth.ClientCreate(ctx, tb.db, scope, apiauth.ClientCreateParams{Name: "ERP sync", Scopes: scopes})
	require.NoError(t, err)
	return res
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := as(tb.acme, tb.ada)

	// Only admins register clients.
	_, err := apiauth.ClientCreate(ctx, tb.db, as(tb.acme, tb.aude), apiauth.ClientCreateParams{Name: "x", Scopes: []identity.Permission{identity.AuditRead}})
	requireCode(t, store.Forbidden, err)
	_, err = apiauth.ClientList(ctx, tb.db, as(tb.acme, tb.aude))
	requireCode(t, store.Forbidden, err)

	cl := tb.clientCreate(ctx, t, admin, identity.AuditRead, identity.AdminUsers)
	require.True(t, strings.HasPrefix(cl.Secret, apiauth.ClientSecretPrefix))
	issue := func(id, secret, scope string) (*apiauth.AccessToken, error) {
		return apiauth.AccessTokenIssue(ctx, tb.db, apiauth.AccessTokenIssueParams{ClientID: id, ClientSecret: secret, Scope: scope})
	}
	for _, bad := range [][2]string{
		{cl.Client.ID.String(), cl.Secret + "x"}, {cl.Client.ID.String(), ""}, {store.NewID().String(), cl.Secret}, {"nope", cl.Secret},
	} {
		_, err := issue(bad[0], bad[1], "")
		require.ErrorIs(t, err, apiauth.ErrInvalidClient)
	}
	_, err = issue(cl.Client.ID.String(), cl.Secret, "audit.read billing.read")
	require.ErrorIs(t, err, apiauth.ErrInvalidScope)

	at, err := issue(cl.Client.ID.String(), cl.Secret, "")
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(apiauth.AccessTokenLifetime), at.ExpiresAt, 2*time.Second)
	p, err := apiauth.Authenticate(ctx, tb.db, at.Token)
	require.NoError(t, err)
	require.Equal(t, apiauth.KindClient, p.Kind)
	require.Equal(t, tb.acme, p.TenantID)
	require.Equal(t, cl.Client.ID, p.ClientID)
	require.Equal(t, store.ID{}, p.UserID)
	require.Equal(t, store.ID{}, p.Scope("", "").ActorID, "a client acts with no user")
	require.Equal(t, []identity.Permission{identity.AdminUsers, identity.AuditRead}, p.Scopes)

	narrow, err := issue(cl.Client.ID.String(), cl.Secret, "audit.read")
	require.NoError(t, err)
	p, err = apiauth.Authenticate(ctx, tb.db, narrow.Token)
	require.NoError(t, err)
	require.Equal(t, []identity.Permission{identity.AuditRead}, p.Scopes)

	// Another tenant's admin can neither see nor revoke the client.
	list, err := apiauth.ClientList(ctx, tb.db, as(tb.globex, tb.gus))
	require.NoError(t, err)
	require.Empty(t, list)
	requireCode(t, store.NotFound, apiauth.ClientRevoke(ctx, tb.db, as(tb.globex, tb.gus), cl.Client.ID))

	// Revoked: no new tokens, and the issued ones stop working at once.
	require.NoError(t, apiauth.ClientRevoke(ctx, tb.db, admin, cl.Client.ID))
	_, err = issue(cl.Client.ID.String(), cl.Secret, "")
	require.ErrorIs(t, err, apiauth.ErrInvalidClient)
	_, err = apiauth.Authenticate(ctx, tb.db, at.Token)
	requireCode(t, store.Unauthenticated, err)
	list, err = apiauth.ClientList(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.NotNil(t, list[0].RevokedAt)
	require.NotNil(t, list[0].LastUsedAt)
}

func TestAccessTokenForgeries(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	cl := tb.clientCreate(ctx, t, as(tb.acme, tb.ada), identity.AuditRead)
	at, err := apiauth.AccessTokenIssue(ctx, tb.db, apiauth.AccessTokenIssueParams{ClientID: cl.Client.ID.String(), ClientSecret: cl.Secret})
	require.NoError(t, err)

	parts := strings.Split(at.Token, ".")
	require.Len(t, parts, 3)
	tok, _, err := jwt.NewParser().ParseUnverified(at.Token, jwt.MapClaims{})
	require.NoError(t, err)
	kid, _ := tok.Header["kid"].(string)
	require.NotEmpty(t, kid)

	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
		t.Helper()
		tk := jwt.NewWithClaims(method, claims)
		for k, v := range header {
			tk.Header[k] = v
		}
		s, err := tk.SignedString(key)
		require.NoError(t, err)
		return s
	}
	claims := func(tenant store.ID) jwt.MapClaims {
		return jwt.MapClaims{
			"iss": "ledgerline", "aud": "ledgerline-api", "sub": "client:" + cl.Client.ID.String(),
			"client_id": cl.Client.ID.String(), "tid": tenant.String(), "scope": "audit.read admin.users",
			"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(),
		}
	}
	for name, forged := range map[string]string{
		"wrong key":            sign(jwt.SigningMethodHS256, []byte("guessed-secret-guessed-secret-32"), claims(tb.acme), map[string]any{"kid": kid, "typ": "at+jwt"}),
		"unknown kid":          sign(jwt.SigningMethodHS256, []byte("guessed-secret-guessed-secret-32"), claims(tb.acme), map[string]any{"kid": store.NewID().String(), "typ": "at+jwt"}),
		"alg none":             sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(tb.acme), map[string]any{"kid": kid, "typ": "at+jwt"}),
		"tampered payload":     parts[0] + "." + strings.TrimRight(jwtPayload(t, claims(tb.globex)), "=") + "." + parts[2],
		"truncated":            parts[0] + "." + parts[1],
		"personal token shape": "llp_" + parts[2],
	} {
		_, err := apiauth.Authenticate(ctx, tb.db, forged)
		require.Equal(t, store.Unauthenticated, store.ErrorCode(err), "%s: %v", name, err)
	}
}

func jwtPayload(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SigningString()
	require.NoError(t, err)
	return strings.Split(s, ".")[1]
}

func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	cl := tb.clientCreate(ctx, t, as(tb.acme, tb.ada), identity.AuditRead)
	issue := func() string {
		at, err := apiauth.AccessTokenIssue(ctx, tb.db, apiauth.AccessTokenIssueParams{ClientID: cl.Client.ID.String(), ClientSecret: cl.Secret})
		require.NoError(t, err)
		return at.Token
	}
	old := issue() // creates the first key
	var keys int
	require.NoError(t, tb.db.X.GetContext(ctx, &keys, `SELECT count(*) FROM signing_keys`))
	require.Equal(t, 1, keys)
	var sealed []byte
	require.NoError(t, tb.db.X.GetContext(ctx, &sealed, `SELECT secret FROM signing_keys`))
	require.Greater(t, len(sealed), 32, "sealed: nonce, ciphertext and tag")

	// Concurrent rotations leave exactly one active key.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = apiauth.SigningKeyRotate(ctx, tb.db) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var active int
	require.NoError(t, tb.db.X.GetContext(ctx, &active, `SELECT count(*) FROM signing_keys WHERE retired_at IS NULL`))
	require.Equal(t, 1, active)

	// Recently retired: the old token still works, and so does a new one.
	_, err := apiauth.Authenticate(ctx, tb.db, old)
	require.NoError(t, err)
	fresh := issue()
	require.NotEqual(t, old, fresh)
	_, err = apiauth.Authenticate(ctx, tb.db, fresh)
	require.NoError(t, err)

	// Retired longer ago than a token lives: what it signed is refused.
	_, err = tb.db.X.ExecContext(ctx, `UPDATE signing_keys SET retired_at = now() - $1::interval WHERE retired_at IS NOT NULL`,
		fmt.Sprintf("%d seconds", int(apiauth.AccessTokenLifetime.Seconds())+1))
	require.NoError(t, err)
	_, err = apiauth.Authenticate(ctx, tb.db, old)
	requireCode(t, store.Unauthenticated, err)
	_, err = apiauth.Authenticate(ctx, tb.db, fresh)
	require.NoError(t, err)
}
