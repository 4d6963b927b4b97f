package sso_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/sso"
	"ledgerline/store/storetest"
)

func TestConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	member := func(tenant store.ID, email string, role identity.Role) store.Scope {
		id := store.NewID()
		_, err := db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`, id, email, email)
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: tenant}, identity.MemberAddParams{UserID: id, Role: role}))
		return store.Scope{TenantID: tenant, ActorID: id}
	}
	tenant := func(slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	a, b := tenant("sso-a"), tenant("sso-b")
	adminA, employeeA, adminB := member(a, "admin@a.example", identity.RoleAdmin), member(a, "e@a.example", identity.RoleEmployee), member(b, "admin@b.example", identity.RoleAdmin)

	_, err := sso.ConfigGet(ctx, db, adminA)
	require.Equal(t, store.NotFound, store.ErrorCode(err))
	valid := sso.ConfigSaveParams{Enabled: true, IssuerURL: "https://login.example.com/realms/a/", ClientID: "ledgerline",
		ClientSecret: "s3cret-value", AllowedDomains: "A.example, @a-labs.example a.example", DefaultRole: identity.RoleFinance, PasswordAllowed: true}

	for name, tc := range map[string]struct {
		mut   func(p *sso.ConfigSaveParams)
		field string
	}{
		"issuer":         {func(p *sso.ConfigSaveParams) { p.IssuerURL = "login" }, "issuer_url"},
		"issuer no host": {func(p *sso.ConfigSaveParams) { p.IssuerURL = "https://:" }, "issuer_url"},
		"client":         {func(p *sso.ConfigSaveParams) { p.ClientID = " " }, "client_id"},
		"domains":        {func(p *sso.ConfigSaveParams) { p.AllowedDomains = "not a domain!" }, "allowed_domains"},
		"no domains":     {func(p *sso.ConfigSaveParams) { p.AllowedDomains = "" }, "allowed_domains"},
		"role":           {func(p *sso.ConfigSaveParams) { p.DefaultRole = "king" }, "default_role"},
		"locked out":     {func(p *sso.ConfigSaveParams) { p.Enabled, p.PasswordAllowed = false, false }, "password_allowed"},
		"no secret":      {func(p *sso.ConfigSaveParams) { p.ClientSecret = "" }, "client_secret"},
	} {
		p := valid
		tc.mut(&p)
		_, err := sso.ConfigSave(ctx, db, adminA, p)
		require.Equal(t, store.Invalid, store.ErrorCode(err), name)
		require.Contains(t, err.Error(), tc.field, name)
	}
	_, err = sso.ConfigSave(ctx, db, employeeA, valid)
	require.Equal(t, store.Forbidden, store.ErrorCode(err))

	saved, err := sso.ConfigSave(ctx, db, adminA, valid)
	require.NoError(t, err)
	require.Empty(t, saved.SignOut)
	cfg := saved.Config
	require.Equal(t, "https://login.example.com/realms/a", cfg.IssuerURL)
	require.Equal(t, []string{"a.example", "a-labs.example"}, []string(cfg.AllowedDomains))
	var sealed []byte
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &sealed, `SELECT client_secret_sealed FROM sso_configs`)
	}))
	require.False(t, strings.Contains(string(sealed), "s3cret-value"), "the secret rests sealed")

	// An empty secret keeps the stored one; a stale version is a conflict.
	keep := valid
	keep.ClientSecret, keep.Version, keep.DefaultRole = "", cfg.Version, identity.RoleEmployee
	saved, err = sso.ConfigSave(ctx, db, adminA, keep)
	require.NoError(t, err)
	cfg = saved.Config
	prov, err := sso.ProviderGet(ctx, db, a)
	require.NoError(t, err)
	require.Equal(t, "s3cret-value", prov.ClientSecret)
	require.Equal(t, identity.RoleEmployee, prov.DefaultRole)
	_, err = sso.ConfigSave(ctx, db, adminA, keep)
	require.Equal(t, store.Conflict, store.ErrorCode(err))

	// Lookup by domain or slug; another tenant's admin sees nothing of it.
	for _, id := range []string{"someone@A.example", "x@a-labs.example", "sso-a", " SSO-A "} {
		got, err := sso.TenantLookup(ctx, db, id)
		require.NoError(t, err, id)
		require.Equal(t, a, got, id)
	}
	for _, id := range []string{"someone@b.example", "sso-b", "a.example", ""} {
		_, err := sso.TenantLookup(ctx, db, id)
		require.Equal(t, store.NotFound, store.ErrorCode(err), id)
	}
	_, err = sso.ConfigGet(ctx, db, adminB)
	require.Equal(t, store.NotFound, store.ErrorCode(err), "B's admin does not see A's settings")
	_, err = sso.ProviderGet(ctx, db, b)
	require.Equal(t, store.NotFound, store.ErrorCode(err))

	// Turning password sign-in off names every member to sign out, once.
	strict := keep
	strict.PasswordAllowed, strict.Version = false, cfg.Version
	saved, err = sso.ConfigSave(ctx, db, adminA, strict)
	require.NoError(t, err)
	require.ElementsMatch(t, []store.ID{adminA.ActorID, employeeA.ActorID}, saved.SignOut)
	cfg = saved.Config
	strict.Version = cfg.Version
	saved, err = sso.ConfigSave(ctx, db, adminA, strict)
	require.NoError(t, err)
	require.Empty(t, saved.SignOut, "already off")
	cfg = saved.Config

	// Turned off: no lookup, no provider.
	off := keep
	off.Enabled, off.Version = false, cfg.Version
	_, err = sso.ConfigSave(ctx, db, adminA, off)
	require.NoError(t, err)
	_, err = sso.TenantLookup(ctx, db, "someone@a.example")
	require.Equal(t, store.NotFound, store.ErrorCode(err))
	_, err = sso.ProviderGet(ctx, db, a)
	require.Equal(t, store.NotFound, store.ErrorCode(err))
}
