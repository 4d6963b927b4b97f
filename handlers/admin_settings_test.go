package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store/identity"
	"ledgerline/views/admin"
)

// settingsForm is a complete, valid settings form at version.
func settingsForm(version string) url.Values {
	return url.Values{
		"name": {"Acme Industries"}, "time_zone": {"America/Chicago"}, "currency": {"USD"},
		"approval_manager_limit": {"2,500.50"}, "approval_finance_limit": {"30,000"},
		"api_rate_limit": {"1200"}, "version": {version},
	}
}

func TestSettingsPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])

	res := c.get("/admin/settings")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "Acme Manufacturing", inputValue(res.doc, "name"))
	require.Equal(t, "Europe/Berlin", inputValue(res.doc, "time_zone"))
	require.Equal(t, "EUR", inputValue(res.doc, "currency"))
	require.Equal(t, "1,000.00", inputValue(res.doc, "approval_manager_limit"), "100000 cents")
	require.Equal(t, "10,000.00", inputValue(res.doc, "approval_finance_limit"))
	require.Equal(t, "600", inputValue(res.doc, "api_rate_limit"))
	require.Equal(t, "1", inputValue(res.doc, "version"))
	require.Contains(t, testID(t, res, "settings-2fa-warning"), "This includes you")

	res = c.post("/admin/settings", settingsForm("1"))
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/admin/settings", res.location())
	res = c.get("/admin/settings")
	require.Contains(t, res.body, "Saved the organization settings.")
	require.Equal(t, "2,500.50", inputValue(res.doc, "approval_manager_limit"))
	require.Equal(t, "30,000.00", inputValue(res.doc, "approval_finance_limit"))
	require.Equal(t, "1200", inputValue(res.doc, "api_rate_limit"))
	require.Equal(t, "2", inputValue(res.doc, "version"))
	require.Contains(t, testID(t, res, "tenant-switcher"), "Acme Industries", "the top bar shows the new name")

	t.Run("InvalidKeepsInput", func(t *testing.T) {
		form := settingsForm("2")
		form.Set("time_zone", "Europe/Atlantis")
		form.Set("approval_manager_limit", "12,34")
		form.Set("currency", "usd")
		res := c.post("/admin/settings", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		summary := testID(t, res, "error-summary")
		require.Contains(t, summary, "Enter a time zone from the IANA database")
		require.Contains(t, summary, "Enter an amount in figures")
		require.Equal(t, "Europe/Atlantis", inputValue(res.doc, "time_zone"))
		require.Equal(t, "12,34", inputValue(res.doc, "approval_manager_limit"))
		require.Equal(t, "usd", inputValue(res.doc, "currency"))
		require.Equal(t, "30,000", inputValue(res.doc, "approval_finance_limit"))

		res = c.postHX("/admin/settings", form, admin.SettingsFormID)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.NotContains(t, res.body, "<html")
		testID(t, res, "settings-form")
	})
	t.Run("ManagerAboveFinance", func(t *testing.T) {
		form := settingsForm("2")
		form.Set("approval_manager_limit", "40,000")
		res := c.post("/admin/settings", form)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "error-summary"), "at least as high as the manager limit")
	})
	t.Run("Stale", func(t *testing.T) {
		res := c.post("/admin/settings", settingsForm("1"))
		require.Equal(t, http.StatusConflict, res.status)
		require.Contains(t, testID(t, res, "error-page"), "changed by someone else")
	})
	t.Run("OtherRoles", func(t *testing.T) {
		for _, r := range []identity.Role{identity.RoleManager, identity.RoleFinance, identity.RoleAuditor} {
			u := b.signedIn(t, b.usersA[r])
			require.Equal(t, http.StatusForbidden, u.get("/admin/settings").status, r)
			require.Equal(t, http.StatusForbidden, u.post("/admin/settings", settingsForm("2")).status, r)
		}
	})
	t.Run("OtherTenantUntouched", func(t *testing.T) {
		other := b.signedIn(t, b.usersB[identity.RoleAdmin])
		res := other.get("/admin/settings")
		require.Equal(t, "Globex Retail", inputValue(res.doc, "name"))
		require.Equal(t, "USD", inputValue(res.doc, "currency"))
	})
}

// TestSettingsRequireTwoFactor turns the rule on and finds the admin pages closed to admins without it.
func TestSettingsRequireTwoFactor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])

	form := settingsForm("1")
	form.Set("require_2fa_admins", "1")
	require.Equal(t, http.StatusSeeOther, c.post("/admin/settings", form).status)
	for _, path := range []string{"/admin/settings", "/admin/departments", "/admin/jobs/"} {
		res := c.get(path)
		require.Equal(t, http.StatusSeeOther, res.status, path)
		require.Equal(t, "/account/two-factor", res.location(), path)
	}
}
