package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/admin"
)

// Organization settings: one form. Amounts are shown and typed as decimals in the tenant's currency and
// stored in minor units (the store parses them).

const settingsPath = "/admin/settings"

// settingsFields lists the form's fields in their order on the page, for the error summary.
var settingsFields = []string{"name", "time_zone", "currency", "approval_manager_limit", "approval_finance_limit", "api_rate_limit"}

func (h *Handler) settingsPage(c echo.Context) error {
	s, err := identity.TenantSettingsGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	digits := store.CurrencyDigits(s.Currency)
	f := admin.SettingsForm{
		Name: s.Name, TimeZone: s.TimeZone, Currency: s.Currency,
		ApprovalManagerLimit: store.FormatMinorUnits(s.ApprovalManagerLimit, digits),
		ApprovalFinanceLimit: store.FormatMinorUnits(s.ApprovalFinanceLimit, digits),
		APIRateLimit:         strconv.Itoa(s.APIRateLimit), RequireAdmin2FA: s.RequireAdmin2FA, Version: s.Version,
	}
	return h.settingsRender(c, http.StatusOK, f)
}

func (h *Handler) settingsRender(c echo.Context, status int, f admin.SettingsForm) error {
	a := actorFrom(c.Request().Context())
	f.CSRFToken = csrfToken(c)
	f.AdminWithoutTwoFactor = a.Role == identity.RoleAdmin && !a.TwoFactor
	if hxTargets(c, admin.SettingsFormID) {
		return render(c, status, admin.SettingsEdit(f))
	}
	return render(c, status, admin.Settings(h.shell(c, "Organization settings"), f))
}

func (h *Handler) settingsUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f := admin.SettingsForm{
		Name: c.FormValue("name"), TimeZone: c.FormValue("time_zone"), Currency: c.FormValue("currency"),
		ApprovalManagerLimit: c.FormValue("approval_manager_limit"), ApprovalFinanceLimit: c.FormValue("approval_finance_limit"),
		APIRateLimit: c.FormValue("api_rate_limit"), RequireAdmin2FA: c.FormValue("require_2fa_admins") == "1",
		Version: version,
	}
	_, err = identity.TenantSettingsUpdate(ctx, h.db, scope(c), identity.TenantSettingsUpdateParams{
		Name: f.Name, TimeZone: f.TimeZone, Currency: f.Currency,
		ApprovalManagerLimit: f.ApprovalManagerLimit, ApprovalFinanceLimit: f.ApprovalFinanceLimit,
		RequireAdmin2FA: f.RequireAdmin2FA, APIRateLimit: f.APIRateLimit, Version: version,
	})
	if err != nil {
		f.Errors = fieldErrors(err, settingsFields...)
		if len(f.Errors) == 0 {
			return err
		}
		return h.settingsRender(c, http.StatusUnprocessableEntity, f)
	}
	h.flash(ctx, "Saved the organization settings.")
	return redirect(c, settingsPath)
}
