package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"ledgerline/static"
	"ledgerline/store/identity"
)

// accountTwoFactorPath is where a user enrols TOTP.
const accountTwoFactorPath = "/account/two-factor"

// routes is the whole route table. Every signed-in route names the permission it needs (or none beyond
// being signed in); TestRoutePermissionMatrix checks every route against every role.
func (h *Handler) routes(e *echo.Echo) {
	e.Use(h.requestID, h.observe, h.recoverPanics, h.securityHeaders)

	// Public, sessionless.
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", h.metricsHandler())
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))

	// Everything below has a session and CSRF protection.
	web := e.Group("", h.loadSession, h.csrf(), h.loadActor)

	// Signed-out pages.
	web.GET("/login", h.loginPage)
	web.POST("/login", h.login)
	web.GET("/password/forgot", h.forgotPage)
	web.POST("/password/forgot", h.forgot)
	web.GET("/password/reset", h.resetPage)
	web.POST("/password/reset", h.reset)

	// Signed in.
	app := web.Group("", h.requireSignIn)
	app.GET("/", h.home)
	app.POST("/logout", h.logout)
	app.POST("/tenant/switch", h.tenantSwitch)
	app.GET("/audit", h.auditList, h.require(identity.AuditRead))

	// Admin pages: admins must have a second factor once their tenant requires it.
	admin := app.Group("/admin", h.requireAdminTwoFactor)
	_ = admin

	web.RouteNotFound("/*", func(c echo.Context) error { return echo.NewHTTPError(http.StatusNotFound) })
}
