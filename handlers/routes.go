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
	e.Use(h.requestID, h.markReads, h.observe, h.recoverPanics, h.securityHeaders)

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
	// The invitation link: signed out (new account) or signed in (existing account joins).
	web.GET("/invite/accept", h.inviteAcceptPage)
	web.POST("/invite/accept", h.inviteAccept)
	// The second step of signing in, for accounts with two-factor authentication (account_twofactor.go).
	web.GET(loginTwoFactorPath, h.loginTwoFactorPage)
	web.POST(loginTwoFactorPath, h.loginTwoFactor)

	// Signed in.
	app := web.Group("", h.requireSignIn)
	app.GET("/", h.home)
	app.POST("/logout", h.logout)
	app.POST("/tenant/switch", h.tenantSwitch)
	// Audit log: filters, one event, and the chain verification job with its polled result (audit.go).
	app.GET("/audit", h.auditList, h.require(identity.AuditRead))
	app.GET("/audit/verify", h.auditVerifyStatus, h.require(identity.AuditRead))
	app.POST("/audit/verify", h.auditVerifyStart, h.require(identity.AuditRead))
	app.GET("/audit/:id", h.auditShow, h.require(identity.AuditRead))

	// Inventory: items, movements, reservations, locations, stocktake, ledger and low stock (inventory.go,
	// inventory_movements.go, inventory_reservations.go). Each store operation checks the same permission again.
	app.GET("/inventory", h.inventoryList, h.require(identity.InventoryRead))
	app.GET("/inventory/low-stock", h.inventoryLowStock, h.require(identity.InventoryRead))
	app.GET("/inventory/items/new", h.inventoryItemNew, h.require(identity.InventoryAdjust))
	app.POST("/inventory/items", h.inventoryItemCreate, h.require(identity.InventoryAdjust))
	app.GET("/inventory/items/:id", h.inventoryItemShow, h.require(identity.InventoryRead))
	app.POST("/inventory/items/:id", h.inventoryItemUpdate, h.require(identity.InventoryAdjust))
	app.POST("/inventory/items/:id/delete", h.inventoryItemDelete, h.require(identity.InventoryAdjust))
	app.POST("/inventory/items/:id/restore", h.inventoryItemRestore, h.require(identity.InventoryAdjust))
	app.POST("/inventory/items/:id/reserve", h.inventoryReserve, h.require(identity.InventoryWrite))
	app.POST("/inventory/reservations/:id/release", h.inventoryReservationRelease, h.require(identity.InventoryWrite))
	app.GET("/inventory/movements/new", h.inventoryMovementNew, h.require(identity.InventoryWrite))
	app.POST("/inventory/movements", h.inventoryMovementCreate, h.require(identity.InventoryWrite))
	app.POST("/inventory/movements/:id/reverse", h.inventoryMovementReverse, h.require(identity.InventoryAdjust))
	app.GET("/inventory/locations", h.inventoryLocations, h.require(identity.InventoryRead))
	app.POST("/inventory/locations", h.inventoryLocationCreate, h.require(identity.InventoryAdjust))
	app.GET("/inventory/locations/:id", h.inventoryLocationEdit, h.require(identity.InventoryAdjust))
	app.POST("/inventory/locations/:id", h.inventoryLocationUpdate, h.require(identity.InventoryAdjust))
	app.POST("/inventory/locations/:id/delete", h.inventoryLocationDelete, h.require(identity.InventoryAdjust))
	app.POST("/inventory/locations/:id/restore", h.inventoryLocationRestore, h.require(identity.InventoryAdjust))
	app.GET("/inventory/stocktake", h.inventoryStocktake, h.require(identity.InventoryAdjust))
	app.POST("/inventory/stocktake", h.inventoryStocktakePost, h.require(identity.InventoryAdjust))
	app.GET("/inventory/ledger", h.inventoryLedger, h.require(identity.InventoryRead))

	// Inventory CSV import: upload, the polled progress page and the error report (inventory_import.go).
	app.GET(importPath, h.inventoryImportPage, h.require(identity.InventoryAdjust))
	app.POST(importPath, h.inventoryImportUpload, h.require(identity.InventoryAdjust))
	app.GET("/inventory/imports/:id", h.inventoryImportShow, h.require(identity.InventoryAdjust))
	app.GET("/inventory/imports/:id/errors.csv", h.inventoryImportErrors, h.require(identity.InventoryAdjust))

	// The business modules, exports and integrations: each module's part of the table is a function below.
	h.billingRoutes(app)
	h.approvalsRoutes(app)
	h.exportsRoutes(app)

	// Own account: every signed-in person, for themselves only (account.go, account_twofactor.go).
	app.GET("/account", h.accountPage)
	app.POST("/account", h.accountUpdate)
	app.GET("/account/password", h.accountPasswordPage)
	app.POST("/account/password", h.accountPasswordChange)
	app.GET("/account/sessions", h.accountSessions)
	app.POST("/account/sessions/end", h.accountSessionEnd)
	app.POST("/account/sessions/end-others", h.accountSessionsEndOthers)
	app.GET(accountTwoFactorPath, h.accountTwoFactorPage)
	app.POST(accountTwoFactorPath+"/setup", h.accountTwoFactorSetup)
	app.POST(accountTwoFactorPath+"/enable", h.accountTwoFactorEnable)
	app.POST(accountTwoFactorPath+"/disable", h.accountTwoFactorDisable)
	app.POST(accountTwoFactorPath+"/recovery-codes", h.accountRecoveryCodes)
	// Personal access tokens for the API: scopes limited to the person's own role (account_tokens.go).
	app.GET("/account/tokens", h.accountTokens)
	app.POST("/account/tokens", h.accountTokenCreate)
	app.POST("/account/tokens/:id/revoke", h.accountTokenRevoke)

	// Admin pages: admins must have a second factor once their tenant requires it.
	admin := app.Group("/admin", h.requireAdminTwoFactor)
	// People: members and invitations.
	admin.GET("/users", h.peopleList, h.require(identity.AdminUsers))
	admin.GET("/users/:id", h.personShow, h.require(identity.AdminUsers))
	admin.POST("/users/:id", h.personUpdate, h.require(identity.AdminUsers))
	admin.POST("/users/:id/deactivate", h.personDeactivate, h.require(identity.AdminUsers))
	admin.POST("/users/:id/reactivate", h.personReactivate, h.require(identity.AdminUsers))
	admin.GET("/invitations/new", h.invitationsPage, h.require(identity.AdminUsers))
	admin.POST("/invitations", h.invitationCreate, h.require(identity.AdminUsers))
	admin.POST("/invitations/:id/revoke", h.invitationRevoke, h.require(identity.AdminUsers))
	// OAuth clients of the API (admin_api_clients.go).
	admin.GET("/api-clients", h.adminAPIClients, h.require(identity.AdminUsers))
	admin.POST("/api-clients", h.adminAPIClientCreate, h.require(identity.AdminUsers))
	admin.POST("/api-clients/:id/revoke", h.adminAPIClientRevoke, h.require(identity.AdminUsers))
	// Departments (admin_departments.go) and organization settings (admin_settings.go).
	admin.GET("/departments", h.departmentList, h.require(identity.AdminUsers))
	admin.POST("/departments", h.departmentCreate, h.require(identity.AdminUsers))
	admin.GET("/departments/:id", h.departmentShow, h.require(identity.AdminUsers))
	admin.POST("/departments/:id/rename", h.departmentRename, h.require(identity.AdminUsers))
	admin.POST("/departments/:id/manager", h.departmentManager, h.require(identity.AdminUsers))
	admin.POST("/departments/:id/delete", h.departmentDelete, h.require(identity.AdminUsers))
	admin.POST("/departments/:id/restore", h.departmentRestore, h.require(identity.AdminUsers))
	admin.GET("/settings", h.settingsPage, h.require(identity.AdminSettings))
	admin.POST("/settings", h.settingsUpdate, h.require(identity.AdminSettings))
	// Job monitor: River UI under our sign-in, 2FA gate and permission, with its own CSRF rule and CSP
	// (admin_jobs.go). Its API uses these methods only.
	jobsMonitor := []echo.MiddlewareFunc{h.require(identity.AdminUsers), h.requirePlatformOperator, jobsSameOrigin}
	admin.GET("/jobs", h.jobsMonitorServe, jobsMonitor...)
	admin.GET("/jobs/*", h.jobsMonitorServe, jobsMonitor...)
	admin.GET("/jobs/api/*", h.jobsMonitorServe, jobsMonitor...)
	admin.POST("/jobs/api/*", h.jobsMonitorServe, jobsMonitor...)
	admin.PUT("/jobs/api/*", h.jobsMonitorServe, jobsMonitor...)
	admin.PATCH("/jobs/api/*", h.jobsMonitorServe, jobsMonitor...)

	// Outgoing webhooks and single sign-on: admin pages, and the signed-out SSO sign-in.
	h.integrationsRoutes(web, admin)

	web.RouteNotFound("/*", func(c echo.Context) error { return echo.NewHTTPError(http.StatusNotFound) })

	// API v1: bearer tokens, no session or CSRF; its operations, each with the scope it needs, are
	// registered in apiRoutes (api.go) and listed in the OpenAPI document at /api/v1/openapi.json.
	h.apiRoutes(e)
}

// billingRoutes: customers, tax rates, invoices, credit notes, payments and receivables (billing*.go).
func (h *Handler) billingRoutes(app *echo.Group) {
	read, write, issue := h.require(identity.BillingRead), h.require(identity.BillingWrite), h.require(identity.BillingIssue)
	app.GET("/billing", h.billingInvoiceList, read)
	app.GET("/billing/totals", h.billingInvoiceTotals, read)
	app.GET("/billing/customer-choices", h.billingCustomerChoices, read)
	app.GET("/billing/invoices/new", h.billingInvoiceNew, write)
	app.POST("/billing/invoices", h.billingInvoiceCreate, write)
	app.GET("/billing/invoices/:id", h.billingInvoiceShow, read)
	app.POST("/billing/invoices/:id/lines", h.billingLineAdd, write)
	app.POST("/billing/invoices/:id/lines/:line/delete", h.billingLineRemove, write)
	app.POST("/billing/invoices/:id/issue", h.billingInvoiceIssue, issue)
	app.POST("/billing/invoices/:id/void", h.billingInvoiceVoid, issue)
	app.POST("/billing/invoices/:id/credit-notes", h.billingCreditNote, issue)
	app.POST("/billing/invoices/:id/send", h.billingInvoiceSend, write)
	app.GET("/billing/invoices/:id/pdf", h.billingInvoicePDF, read)
	app.GET("/billing/customers", h.billingCustomerList, read)
	app.GET("/billing/customers/new", h.billingCustomerNew, write)
	app.POST("/billing/customers", h.billingCustomerCreate, write)
	app.GET("/billing/customers/:id", h.billingCustomerShow, read)
	app.GET("/billing/customers/:id/statement", h.billingCustomerStatement, read)
	app.POST("/billing/customers/:id", h.billingCustomerUpdate, write)
	app.POST("/billing/customers/:id/delete", h.billingCustomerDelete, write)
	app.POST("/billing/customers/:id/restore", h.billingCustomerRestore, write)
	app.GET("/billing/payments", h.billingPaymentList, read)
	app.GET("/billing/payments/new", h.billingPaymentNew, write)
	app.POST("/billing/payments", h.billingPaymentCreate, write)
	app.GET("/billing/payments/:id", h.billingPaymentShow, read)
	app.POST("/billing/payments/:id/reverse", h.billingPaymentReverse, issue)
	app.GET("/billing/recurring", h.billingRecurringList, read)
	app.POST("/billing/recurring", h.billingRecurringCreate, write)
	app.POST("/billing/recurring/:id/stop", h.billingRecurringStop, write)
	app.GET("/billing/reports", h.billingReports, read)
	// The tenant's billing settings and tax rates: an admin page of the billing module.
	app.GET("/billing/settings", h.billingSettingsPage, h.require(identity.AdminSettings))
	app.POST("/billing/settings", h.billingSettingsUpdate, h.require(identity.AdminSettings))
	app.POST("/billing/tax-rates", h.billingTaxRateCreate, h.require(identity.AdminSettings))
	app.POST("/billing/tax-rates/:id/delete", h.billingTaxRateDelete, h.require(identity.AdminSettings))
}

// approvalsRoutes: requests, decisions, delegations and approval policies (approvals*.go).
// Each store operation checks the actor's right again; a request's own page and actions are open to every
// signed-in member at the route, because the store decides per request (requester, approver, delegate,
// reader) and answers 404 to anyone else.
func (h *Handler) approvalsRoutes(app *echo.Group) {
	app.GET("/approvals", h.approvalsMine, h.require(identity.ApprovalsSubmit))
	app.POST("/approvals", h.approvalsCreate, h.require(identity.ApprovalsSubmit))
	app.GET("/approvals/new", h.approvalsNew, h.require(identity.ApprovalsSubmit))
	app.GET("/approvals/inbox", h.approvalsInbox, h.require(identity.ApprovalsDecide))
	app.POST("/approvals/inbox/approve", h.approvalsBulkApprove, h.require(identity.ApprovalsDecide))
	app.GET("/approvals/all", h.approvalsAll, h.require(identity.ApprovalsRead))
	app.GET("/approvals/reimburse", h.approvalsReimburseList, h.require(identity.BillingWrite))
	app.GET("/approvals/delegations", h.approvalsDelegations, h.require(identity.ApprovalsDecide))
	app.POST("/approvals/delegations", h.approvalsDelegationCreate, h.require(identity.ApprovalsDecide))
	app.POST("/approvals/delegations/:id/revoke", h.approvalsDelegationRevoke, h.require(identity.ApprovalsDecide))
	app.GET("/approvals/policies", h.approvalsPolicies, h.require(identity.AdminSettings))
	app.GET("/approvals/policies/:type", h.approvalsPolicyEdit, h.require(identity.AdminSettings))
	app.POST("/approvals/policies/:type", h.approvalsPolicySave, h.require(identity.AdminSettings))
	app.GET("/approvals/settings", h.approvalsSettings, h.require(identity.AdminSettings))
	app.POST("/approvals/settings", h.approvalsSettingsSave, h.require(identity.AdminSettings))
	app.GET("/approvals/:id", h.approvalsShow)
	app.POST("/approvals/:id", h.approvalsUpdate, h.require(identity.ApprovalsSubmit))
	app.GET("/approvals/:id/edit", h.approvalsEdit, h.require(identity.ApprovalsSubmit))
	app.POST("/approvals/:id/submit", h.approvalsSubmit, h.require(identity.ApprovalsSubmit))
	app.POST("/approvals/:id/withdraw", h.approvalsWithdraw, h.require(identity.ApprovalsSubmit))
	app.POST("/approvals/:id/decide", h.approvalsDecide, h.require(identity.ApprovalsDecide))
	app.POST("/approvals/:id/reimburse", h.approvalsReimburse, h.require(identity.BillingWrite))
	app.POST("/approvals/:id/receipts", h.approvalsReceiptUpload, h.require(identity.ApprovalsSubmit))
	app.GET("/approvals/:id/receipts/:file", h.approvalsReceiptDownload)
	app.POST("/approvals/:id/receipts/:file/delete", h.approvalsReceiptRemove, h.require(identity.ApprovalsSubmit))
}

// exportsRoutes: exports, the export center, scheduled reports and notifications (exports*.go).
func (h *Handler) exportsRoutes(app *echo.Group) {
	// The export center and one export: the store checks again who may see, cancel and download what.
	app.POST("/exports", h.exportCreate, h.require(identity.ExportsRun))
	app.GET("/exports", h.exportCenter, h.require(identity.ExportsRun))
	app.GET("/exports/:id", h.exportShow, h.require(identity.ExportsRun))
	app.POST("/exports/:id/cancel", h.exportCancel, h.require(identity.ExportsRun))
	app.POST("/exports/:id/rerun", h.exportRerun, h.require(identity.ExportsRun))
	// Recipients of a scheduled report may download its file without the right to export themselves.
	app.GET("/exports/:id/download", h.exportDownload)
	// Admins: how long files are kept and how many exports run at once; scheduled reports.
	app.GET("/exports/settings", h.exportSettingsPage, h.requireAdminTwoFactor, h.require(identity.AdminSettings))
	app.POST("/exports/settings", h.exportSettingsSave, h.requireAdminTwoFactor, h.require(identity.AdminSettings))
	app.GET("/exports/schedules", h.schedulesPage, h.requireAdminTwoFactor, h.require(identity.AdminSettings))
	app.POST("/exports/schedules", h.scheduleCreate, h.requireAdminTwoFactor, h.require(identity.AdminSettings))
	app.POST("/exports/schedules/:id/delete", h.scheduleDelete, h.requireAdminTwoFactor, h.require(identity.AdminSettings))
	// Every member's in-app notifications, for themselves only.
	app.GET("/notifications", h.notificationsPage)
	app.POST("/notifications/read-all", h.notificationsReadAll)
	app.POST("/notifications/:id/read", h.notificationRead)
}

// integrationsRoutes: outgoing webhooks (admin) and single sign-on with OpenID Connect (webhooks*.go, sso*.go).
func (h *Handler) integrationsRoutes(web, admin *echo.Group) {
	admin.GET("/webhooks", h.webhooksList, h.require(identity.AdminSettings))
	admin.POST("/webhooks", h.webhooksCreate, h.require(identity.AdminSettings))
	admin.GET("/webhooks/:id", h.webhookShow, h.require(identity.AdminSettings))
	admin.POST("/webhooks/:id", h.webhookUpdate, h.require(identity.AdminSettings))
	admin.POST("/webhooks/:id/rotate", h.webhookRotate, h.require(identity.AdminSettings))
	admin.POST("/webhooks/:id/delete", h.webhookDelete, h.require(identity.AdminSettings))
	admin.POST("/webhooks/:id/restore", h.webhookRestore, h.require(identity.AdminSettings))
	admin.POST("/webhooks/deliveries/:id/resend", h.webhookResend, h.require(identity.AdminSettings))
	// Single sign-on: the admin's provider settings, and the signed-out sign-in through the provider.
	admin.GET("/sso", h.ssoSettings, h.require(identity.AdminSettings))
	admin.POST("/sso", h.ssoSettingsSave, h.require(identity.AdminSettings))
	web.GET("/sso", h.ssoStartPage)
	web.POST("/sso", h.ssoStart)
	web.GET("/sso/callback", h.ssoCallback)
}
