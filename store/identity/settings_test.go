package identity_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// settingsParams is a valid update of the fixture's acme at version 1, for tests to vary.
func settingsParams() identity.TenantSettingsUpdateParams {
	return identity.TenantSettingsUpdateParams{
		Name: "Acme Industries", TimeZone: "America/Chicago", Currency: "usd",
		ApprovalManagerLimit: "2,500.00", ApprovalFinanceLimit: "25000", RequireAdmin2FA: true,
		APIRateLimit: "1,200", Version: 1,
	}
}

func TestTenantSettingsGetUpdate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	s, err := identity.TenantSettingsGet(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Equal(t, identity.TenantSettings{
		Name: "Acme", TimeZone: "Europe/Berlin", Currency: "EUR", ApprovalManagerLimit: 100000,
		ApprovalFinanceLimit: 1000000, APIRateLimit: 600, Version: 1,
	}, *s)

	got, err := identity.TenantSettingsUpdate(ctx, tb.db, admin, settingsParams())
	require.NoError(t, err)
	want := identity.TenantSettings{
		Name: "Acme Industries", TimeZone: "America/Chicago", Currency: "USD", ApprovalManagerLimit: 250000,
		ApprovalFinanceLimit: 2500000, RequireAdmin2FA: true, APIRateLimit: 1200, Version: 2,
	}
	require.Equal(t, want, *got)
	s, err = identity.TenantSettingsGet(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Equal(t, want, *s)
	a, err := identity.ActorLoad(ctx, tb.db, f.ada, f.acme)
	require.NoError(t, err)
	require.True(t, a.Tenant.RequireAdmin2FA)
	require.Equal(t, "America/Chicago", a.Tenant.TimeZone)

	events := tb.events(ctx, t, f.acme, "tenant.settings_update")
	require.Len(t, events, 1)
	require.Equal(t, f.acme.String(), events[0].EntityID)
	var before, after identity.TenantSettings
	require.NoError(t, json.Unmarshal(events[0].Before, &before))
	require.NoError(t, json.Unmarshal(events[0].After, &after))
	require.Equal(t, int64(100000), before.ApprovalManagerLimit)
	require.Equal(t, want, after)

	// Saving unchanged settings records nothing and keeps the version.
	p := settingsParams()
	p.Version = 2
	same, err := identity.TenantSettingsUpdate(ctx, tb.db, admin, p)
	require.NoError(t, err)
	require.Equal(t, 2, same.Version)
	require.Len(t, tb.events(ctx, t, f.acme, "tenant.settings_update"), 1)

	t.Run("StaleVersion", func(t *testing.T) {
		p := settingsParams()
		p.Name = "Someone else's edit"
		_, err := identity.TenantSettingsUpdate(ctx, tb.db, admin, p)
		requireCode(t, store.Conflict, err)
	})
	t.Run("OtherRolesAndTenants", func(t *testing.T) {
		for _, sc := range []store.Scope{scopeOf(f.acme, f.max), scopeOf(f.acme, f.fay), scopeOf(f.acme, f.gus),
			{TenantID: f.acme, ClientID: store.NewID(), ClientScopes: []string{string(identity.AdminUsers)}}} {
			_, err := identity.TenantSettingsGet(ctx, tb.db, sc)
			requireCode(t, store.Forbidden, err)
			_, err = identity.TenantSettingsUpdate(ctx, tb.db, sc, settingsParams())
			requireCode(t, store.Forbidden, err)
		}
		// Globex's admin changes Globex only.
		gp := settingsParams()
		gp.Name = "Globex Two"
		_, err := identity.TenantSettingsUpdate(ctx, tb.db, scopeOf(f.globex, f.gus), gp)
		require.NoError(t, err)
		s, err := identity.TenantSettingsGet(ctx, tb.db, admin)
		require.NoError(t, err)
		require.Equal(t, "Acme Industries", s.Name)
	})
}

func TestTenantSettingsValidation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	tests := []struct {
		name   string
		change func(p *identity.TenantSettingsUpdateParams)
		fields []string
	}{
		{"EmptyName", func(p *identity.TenantSettingsUpdateParams) { p.Name = "  " }, []string{"name"}},
		{"UnknownZone", func(p *identity.TenantSettingsUpdateParams) { p.TimeZone = "Mars/Olympus" }, []string{"time_zone"}},
		{"LocalZone", func(p *identity.TenantSettingsUpdateParams) { p.TimeZone = "Local" }, []string{"time_zone"}},
		{"EmptyZone", func(p *identity.TenantSettingsUpdateParams) { p.TimeZone = "" }, []string{"time_zone"}},
		{"UnknownCurrency", func(p *identity.TenantSettingsUpdateParams) { p.Currency = "XYZ" }, []string{"currency"}},
		{"LongCurrency", func(p *identity.TenantSettingsUpdateParams) { p.Currency = "EURO" }, []string{"currency"}},
		{"AmountWords", func(p *identity.TenantSettingsUpdateParams) { p.ApprovalManagerLimit = "ten" }, []string{"approval_manager_limit"}},
		{"AmountNegative", func(p *identity.TenantSettingsUpdateParams) { p.ApprovalManagerLimit = "-1" }, []string{"approval_manager_limit"}},
		{"AmountTooPrecise", func(p *identity.TenantSettingsUpdateParams) { p.ApprovalFinanceLimit = "1.001" }, []string{"approval_finance_limit"}},
		{"CentsForYen", func(p *identity.TenantSettingsUpdateParams) {
			p.Currency, p.ApprovalManagerLimit = "JPY", "10.50"
		}, []string{"approval_manager_limit"}},
		{"ManagerAboveFinance", func(p *identity.TenantSettingsUpdateParams) {
			p.ApprovalManagerLimit, p.ApprovalFinanceLimit = "5,000", "4,999.99"
		}, []string{"approval_finance_limit"}},
		{"RateZero", func(p *identity.TenantSettingsUpdateParams) { p.APIRateLimit = "0" }, []string{"api_rate_limit"}},
		{"RateTooHigh", func(p *identity.TenantSettingsUpdateParams) { p.APIRateLimit = "1000001" }, []string{"api_rate_limit"}},
		{"RateWords", func(p *identity.TenantSettingsUpdateParams) { p.APIRateLimit = "lots" }, []string{"api_rate_limit"}},
		{"Several", func(p *identity.TenantSettingsUpdateParams) {
			p.Name, p.Currency, p.APIRateLimit = "", "??", ""
		}, []string{"name", "currency", "api_rate_limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := settingsParams()
			tt.change(&p)
			_, err := identity.TenantSettingsUpdate(ctx, tb.db, admin, p)
			requireFields(t, err, tt.fields...)
		})
	}
	s, err := identity.TenantSettingsGet(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Equal(t, 1, s.Version, "nothing was saved")

	// Yen have no minor unit: "1,000" is 1000 yen.
	p := settingsParams()
	p.Currency, p.ApprovalManagerLimit, p.ApprovalFinanceLimit = "JPY", "1,000", "20,000.00"
	got, err := identity.TenantSettingsUpdate(ctx, tb.db, admin, p)
	require.NoError(t, err)
	require.Equal(t, int64(1000), got.ApprovalManagerLimit)
	require.Equal(t, int64(20000), got.ApprovalFinanceLimit)
}
