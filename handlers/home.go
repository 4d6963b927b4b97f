package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"ledgerline/views/pages"
)

func (h *Handler) home(c echo.Context) error {
	a := actorFrom(c.Request().Context())
	view := pages.HomeView{
		UserName: a.Name, Email: a.Email, Role: string(a.Role), RoleLabel: a.Role.Label(),
		TenantName: a.Tenant.Name, TimeZone: a.Tenant.TimeZone, Currency: a.Tenant.Currency,
		Department: a.DepartmentName,
	}
	for _, p := range a.Role.Permissions() {
		view.Permissions = append(view.Permissions, p.Label())
	}
	return render(c, http.StatusOK, pages.Home(h.shell(c, "Home"), view))
}
