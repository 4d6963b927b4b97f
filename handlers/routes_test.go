package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// matrixRow is one route's expected status for each role in tenant A, and for a visitor who is not
// signed in.
type matrixRow struct {
	method, route                                         string
	admin, manager, finance, employee, auditor, signedOut int
}

// routeMatrix is every route Echo knows (static files and not-found catch-alls aside) against every role.
// Requests are made by matrixRequest: forms carry a valid CSRF token and version=1 but are otherwise
// empty, and :id names a row of tenant B (or nothing), so a status other than 401, 403 or 303 (to sign-in)
// means "reached the handler, which refused the request or found nothing", never a change. A route added
// without a row here fails TestRoutePermissionMatrix.
var routeMatrix = []matrixRow{
	// method  route                                admin manager finance employee auditor signed-out
	{"GET", "/healthz", 200, 200, 200, 200, 200, 200},
	{"GET", "/readyz", 200, 200, 200, 200, 200, 200},
	{"GET", "/metrics", 200, 200, 200, 200, 200, 200},

	// Signed-out pages.
	{"GET", "/login", 303, 303, 303, 303, 303, 200},
	{"POST", "/login", 422, 422, 422, 422, 422, 422},
	{"GET", "/password/forgot", 200, 200, 200, 200, 200, 200},
	{"POST", "/password/forgot", 422, 422, 422, 422, 422, 422},
	{"GET", "/password/reset", 404, 404, 404, 404, 404, 404},
	{"POST", "/password/reset", 422, 422, 422, 422, 422, 422},
	{"GET", "/invite/accept", 404, 404, 404, 404, 404, 404},
	{"POST", "/invite/accept", 404, 404, 404, 404, 404, 404},
	{"GET", "/login/two-factor", 303, 303, 303, 303, 303, 303},
	{"POST", "/login/two-factor", 303, 303, 303, 303, 303, 303},

	// Signed in.
	{"GET", "/", 200, 200, 200, 200, 200, 303},
	{"POST", "/logout", 303, 303, 303, 303, 303, 303},
	{"POST", "/tenant/switch", 303, 303, 303, 303, 303, 303},
	{"GET", "/audit", 200, 403, 403, 403, 200, 303},
	{"GET", "/audit/verify", 303, 403, 403, 403, 303, 303},
	{"POST", "/audit/verify", 303, 403, 403, 403, 303, 303},
	{"GET", "/audit/:id", 404, 403, 403, 403, 404, 303},

	// Inventory CSV import (inventory_import.go).
	{"GET", "/inventory/import", 200, 200, 403, 403, 403, 303},
	{"POST", "/inventory/import", 422, 422, 403, 403, 403, 303},
	{"GET", "/inventory/imports/:id", 404, 404, 403, 403, 403, 303},
	{"GET", "/inventory/imports/:id/errors.csv", 404, 404, 403, 403, 403, 303},

	// Inventory pages.
	{"GET", "/inventory", 200, 200, 200, 200, 200, 303},
	{"GET", "/inventory/low-stock", 200, 200, 200, 200, 200, 303},
	{"GET", "/inventory/items/new", 200, 200, 403, 403, 403, 303},
	{"POST", "/inventory/items", 422, 422, 403, 403, 403, 303},
	{"GET", "/inventory/items/:id", 404, 404, 404, 404, 404, 303},
	{"POST", "/inventory/items/:id", 404, 404, 403, 403, 403, 303},
	{"POST", "/inventory/items/:id/delete", 404, 404, 403, 403, 403, 303},
	{"POST", "/inventory/items/:id/restore", 404, 404, 403, 403, 403, 303},
	{"POST", "/inventory/items/:id/reserve", 404, 404, 403, 404, 403, 303},
	{"POST", "/inventory/reservations/:id/release", 404, 404, 403, 404, 403, 303},
	{"GET", "/inventory/movements/new", 200, 200, 403, 200, 403, 303},
	{"POST", "/inventory/movements", 422, 422, 403, 422, 403, 303},
	{"POST", "/inventory/movements/:id/reverse", 404, 404, 403, 403, 403, 303},
	{"GET", "/inventory/locations", 200, 200, 200, 200, 200, 303},
	{"POST", "/inventory/locations", 422, 422, 403, 403, 403, 303},
	{"GET", "/inventory/locations/:id", 404, 404, 403, 403, 403, 303},
	{"POST", "/inventory/locations/:id", 404, 404, 403, 403, 403, 303},
	{"POST", "/inventory/locations/:id/delete", 404, 404, 403, 403, 403, 303},
	{"POST", "/inventory/locations/:id/restore", 404, 404, 403, 403, 403, 303},
	{"GET", "/inventory/stocktake", 200, 200, 403, 403, 403, 303},
	{"POST", "/inventory/stocktake", 422, 422, 403, 403, 403, 303},
	{"GET", "/inventory/ledger", 200, 200, 200, 200, 200, 303},

	// Own account.
	{"GET", "/account", 200, 200, 200, 200, 200, 303},
	{"POST", "/account", 422, 422, 422, 422, 422, 303},
	{"GET", "/account/password", 200, 200, 200, 200, 200, 303},
	{"POST", "/account/password", 422, 422, 422, 422, 422, 303},
	{"GET", "/account/sessions", 200, 200, 200, 200, 200, 303},
	{"POST", "/account/sessions/end", 404, 404, 404, 404, 404, 303},
	{"POST", "/account/sessions/end-others", 303, 303, 303, 303, 303, 303},
	{"GET", "/account/two-factor", 200, 200, 200, 200, 200, 303},
	{"POST", "/account/two-factor/setup", 303, 303, 303, 303, 303, 303},
	{"POST", "/account/two-factor/enable", 422, 422, 422, 422, 422, 303},
	{"POST", "/account/two-factor/disable", 422, 422, 422, 422, 422, 303},
	{"POST", "/account/two-factor/recovery-codes", 422, 422, 422, 422, 422, 303},
	{"GET", "/account/tokens", 200, 200, 200, 200, 200, 303},
	{"POST", "/account/tokens", 422, 422, 422, 422, 422, 303},
	{"POST", "/account/tokens/:id/revoke", 404, 404, 404, 404, 404, 303},

	// Administration.
	{"GET", "/admin/users", 200, 403, 403, 403, 403, 303},
	{"GET", "/admin/users/:id", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/users/:id", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/users/:id/deactivate", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/users/:id/reactivate", 404, 403, 403, 403, 403, 303},
	{"GET", "/admin/invitations/new", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/invitations", 422, 403, 403, 403, 403, 303},
	{"POST", "/admin/invitations/:id/revoke", 404, 403, 403, 403, 403, 303},
	{"GET", "/admin/api-clients", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/api-clients", 422, 403, 403, 403, 403, 303},
	{"POST", "/admin/api-clients/:id/revoke", 404, 403, 403, 403, 403, 303},
	{"GET", "/admin/departments", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/departments", 422, 403, 403, 403, 403, 303},
	{"GET", "/admin/departments/:id", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/departments/:id/rename", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/departments/:id/manager", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/departments/:id/delete", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/departments/:id/restore", 404, 403, 403, 403, 403, 303},
	{"GET", "/admin/settings", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/settings", 422, 403, 403, 403, 403, 303},
	{"GET", "/admin/jobs", 301, 403, 403, 403, 403, 303},
	{"GET", "/admin/jobs/*", 200, 403, 403, 403, 403, 303},
	{"GET", "/admin/jobs/api/*", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/jobs/api/*", 405, 403, 403, 403, 403, 303},
	{"PUT", "/admin/jobs/api/*", 405, 403, 403, 403, 403, 303},
	{"PATCH", "/admin/jobs/api/*", 405, 403, 403, 403, 403, 303},

	// API v1 authenticates bearer tokens only: a session cookie is no credential there (no CSRF hole). What
	// each token scope may do is the API's own matrix.
	{"GET", "/api/v1/openapi.json", 200, 200, 200, 200, 200, 200},
	{"GET", "/api/v1/docs", 200, 200, 200, 200, 200, 200},
	{"POST", "/api/v1/oauth/token", 400, 400, 400, 400, 400, 400},
	{"GET", "/api/v1/me", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/audit-events", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/audit-events/:id", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/users", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/users/:id", 401, 401, 401, 401, 401, 401},
	{"PATCH", "/api/v1/users/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/users/:id/deactivate", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/users/:id/reactivate", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/invitations", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/departments", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/departments", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/departments/:id", 401, 401, 401, 401, 401, 401},
	{"PATCH", "/api/v1/departments/:id", 401, 401, 401, 401, 401, 401},
	{"DELETE", "/api/v1/departments/:id", 401, 401, 401, 401, 401, 401},
	{"PUT", "/api/v1/departments/:id/manager", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/departments/:id/restore", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/items", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/items/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/items", 401, 401, 401, 401, 401, 401},
	{"PATCH", "/api/v1/items/:id", 401, 401, 401, 401, 401, 401},
	{"DELETE", "/api/v1/items/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/items/:id/restore", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/locations", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/locations/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/locations", 401, 401, 401, 401, 401, 401},
	{"PATCH", "/api/v1/locations/:id", 401, 401, 401, 401, 401, 401},
	{"DELETE", "/api/v1/locations/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/locations/:id/restore", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/movements", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/movements/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/movements/receipts", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/movements/issues", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/movements/transfers", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/movements/adjustments", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/stocktakes", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/movements/:id/reverse", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/stock-levels", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/stock-value", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/reservations", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/reservations", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/reservations/:id/release", 401, 401, 401, 401, 401, 401},
}

// The business modules' and integrations' routes, one table each, in the same shape as routeMatrix.

// billingMatrix: customers, tax rates, invoices, credit notes, payments and receivables.
var billingMatrix = []matrixRow{
	// method  route                                      admin manager finance employee auditor signed-out
	{"GET", "/billing", 200, 200, 200, 403, 200, 303},
	{"GET", "/billing/totals", 303, 303, 303, 403, 303, 303},           // the list fragment, opened directly: the list page
	{"GET", "/billing/customer-choices", 303, 303, 303, 403, 303, 303}, // opened directly: the customer list
	{"GET", "/billing/invoices/new", 200, 403, 200, 403, 403, 303},
	{"POST", "/billing/invoices", 422, 403, 422, 403, 403, 303},
	{"GET", "/billing/invoices/:id", 404, 404, 404, 403, 404, 303},
	{"POST", "/billing/invoices/:id/lines", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/invoices/:id/lines/:line/delete", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/invoices/:id/issue", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/invoices/:id/void", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/invoices/:id/credit-notes", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/invoices/:id/send", 404, 403, 404, 403, 403, 303},
	{"GET", "/billing/invoices/:id/pdf", 404, 404, 404, 403, 404, 303},
	{"GET", "/billing/customers", 200, 200, 200, 403, 200, 303},
	{"GET", "/billing/customers/new", 200, 403, 200, 403, 403, 303},
	{"POST", "/billing/customers", 422, 403, 422, 403, 403, 303},
	{"GET", "/billing/customers/:id", 404, 404, 404, 403, 404, 303},
	{"GET", "/billing/customers/:id/statement", 404, 404, 404, 403, 404, 303},
	{"POST", "/billing/customers/:id", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/customers/:id/delete", 404, 403, 404, 403, 403, 303},
	{"POST", "/billing/customers/:id/restore", 404, 403, 404, 403, 403, 303},
	{"GET", "/billing/payments", 200, 200, 200, 403, 200, 303},
	{"GET", "/billing/payments/new", 200, 403, 200, 403, 403, 303},
	{"POST", "/billing/payments", 422, 403, 422, 403, 403, 303},
	{"GET", "/billing/payments/:id", 404, 404, 404, 403, 404, 303},
	{"POST", "/billing/payments/:id/reverse", 404, 403, 404, 403, 403, 303},
	{"GET", "/billing/recurring", 200, 200, 200, 403, 200, 303},
	{"POST", "/billing/recurring", 422, 403, 422, 403, 403, 303},
	{"POST", "/billing/recurring/:id/stop", 404, 403, 404, 403, 403, 303},
	{"GET", "/billing/reports", 200, 200, 200, 403, 200, 303},
	{"GET", "/billing/settings", 200, 403, 403, 403, 403, 303},
	{"POST", "/billing/settings", 422, 403, 403, 403, 403, 303},
	{"POST", "/billing/tax-rates", 422, 403, 403, 403, 403, 303},
	{"POST", "/billing/tax-rates/:id/delete", 404, 403, 403, 403, 403, 303},
	// API v1 (bearer tokens only: a session is 401; scopes in apiBillingScopes).
	{"GET", "/api/v1/customers", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/customers/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/customers", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/invoices", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/invoices/:id", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/invoices/:id/pdf", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/invoices", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/invoices/:id/lines", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/invoices/:id/issue", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/invoices/:id/void", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/invoices/:id/credit-notes", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/payments", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/payments/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/payments", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/payments/:id/reverse", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/recurring-invoices", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/recurring-invoices", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/recurring-invoices/:id/stop", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/reports/aging", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/reports/revenue", 401, 401, 401, 401, 401, 401},
}

// approvalsMatrix: requests, decisions, delegations and policies.
// :id is a request of tenant B for every /approvals/ route (delegation ids included: none match), so a
// member who passes the route's permission gets 404 from the store.
var approvalsMatrix = []matrixRow{
	// method  route                                         admin manager finance employee auditor signed-out
	{"GET", "/approvals", 200, 200, 200, 200, 403, 303},
	{"POST", "/approvals", 404, 404, 404, 404, 403, 303},
	{"GET", "/approvals/new", 200, 200, 200, 200, 403, 303},
	{"GET", "/approvals/inbox", 200, 200, 200, 403, 403, 303},
	{"POST", "/approvals/inbox/approve", 422, 422, 422, 403, 403, 303},
	{"GET", "/approvals/all", 200, 200, 200, 403, 200, 303},
	{"GET", "/approvals/reimburse", 200, 403, 200, 403, 403, 303},
	{"GET", "/approvals/delegations", 200, 200, 200, 403, 403, 303},
	{"POST", "/approvals/delegations", 422, 422, 422, 403, 403, 303},
	{"POST", "/approvals/delegations/:id/revoke", 404, 404, 404, 403, 403, 303},
	{"GET", "/approvals/policies", 200, 403, 403, 403, 403, 303},
	{"GET", "/approvals/policies/:type", 404, 403, 403, 403, 403, 303},
	{"POST", "/approvals/policies/:type", 404, 403, 403, 403, 403, 303},
	{"GET", "/approvals/settings", 200, 403, 403, 403, 403, 303},
	{"POST", "/approvals/settings", 422, 403, 403, 403, 403, 303},
	{"GET", "/approvals/:id", 404, 404, 404, 404, 404, 303},
	{"POST", "/approvals/:id", 404, 404, 404, 404, 403, 303},
	{"GET", "/approvals/:id/edit", 404, 404, 404, 404, 403, 303},
	{"POST", "/approvals/:id/submit", 404, 404, 404, 404, 403, 303},
	{"POST", "/approvals/:id/withdraw", 404, 404, 404, 404, 403, 303},
	{"POST", "/approvals/:id/decide", 404, 404, 404, 403, 403, 303},
	{"POST", "/approvals/:id/reimburse", 404, 403, 404, 403, 403, 303},
	{"POST", "/approvals/:id/receipts", 404, 404, 404, 404, 403, 303},
	{"GET", "/approvals/:id/receipts/:file", 404, 404, 404, 404, 404, 303},
	{"POST", "/approvals/:id/receipts/:file/delete", 404, 404, 404, 404, 403, 303},
	// API v1 (api_approvals.go): sessions do not count there, a bearer token is needed.
	{"GET", "/api/v1/approval-requests", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/my/approval-requests", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/approval-requests/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/approval-requests", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/approval-requests/:id/submit", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/approval-requests/:id/withdraw", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/approval-requests/:id/decisions", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/approval-inbox", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/approval-delegations", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/approval-delegations", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/approval-delegations/:id/revoke", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/approval-policies/:type", 401, 401, 401, 401, 401, 401},
	{"PUT", "/api/v1/approval-policies/:type", 401, 401, 401, 401, 401, 401},
}

// exportsMatrix: exports, the export center, scheduled reports, notifications and the dashboard.
var exportsMatrix = []matrixRow{
	// method  route                                admin manager finance employee auditor signed-out
	{"POST", "/exports", 422, 422, 422, 403, 422, 303},
	{"GET", "/exports", 200, 200, 200, 403, 200, 303},
	{"GET", "/exports/:id", 404, 404, 404, 403, 404, 303},
	{"POST", "/exports/:id/cancel", 404, 404, 404, 403, 404, 303},
	{"POST", "/exports/:id/rerun", 404, 404, 404, 403, 404, 303},
	{"GET", "/exports/:id/download", 404, 404, 404, 404, 404, 303},
	{"GET", "/exports/settings", 200, 403, 403, 403, 403, 303},
	{"POST", "/exports/settings", 422, 403, 403, 403, 403, 303},
	{"GET", "/exports/schedules", 200, 403, 403, 403, 403, 303},
	{"POST", "/exports/schedules", 422, 403, 403, 403, 403, 303},
	{"POST", "/exports/schedules/:id/delete", 404, 403, 403, 403, 403, 303},
	{"GET", "/notifications", 200, 200, 200, 200, 200, 303},
	{"POST", "/notifications/read-all", 303, 303, 303, 303, 303, 303},
	{"POST", "/notifications/:id/read", 404, 404, 404, 404, 404, 303},
	{"POST", "/api/v1/exports", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/exports/:id", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/exports/:id/download", 401, 401, 401, 401, 401, 401},
}

// integrationsMatrix: outgoing webhooks and single sign-on.
var integrationsMatrix = []matrixRow{
	{"GET", "/admin/webhooks", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/webhooks", 422, 403, 403, 403, 403, 303},
	{"GET", "/admin/webhooks/:id", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/webhooks/:id", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/webhooks/:id/rotate", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/webhooks/:id/delete", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/webhooks/:id/restore", 404, 403, 403, 403, 403, 303},
	{"POST", "/admin/webhooks/deliveries/:id/resend", 404, 403, 403, 403, 403, 303},
	{"GET", "/admin/sso", 200, 403, 403, 403, 403, 303},
	{"POST", "/admin/sso", 422, 403, 403, 403, 403, 303},
	{"GET", "/sso", 303, 303, 303, 303, 303, 200},
	{"POST", "/sso", 422, 422, 422, 422, 422, 422},
	{"GET", "/sso/callback", 400, 400, 400, 400, 400, 400},
	{"GET", "/api/v1/webhook-endpoints", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/webhook-endpoints", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/webhook-endpoints/:id", 401, 401, 401, 401, 401, 401},
	{"PATCH", "/api/v1/webhook-endpoints/:id", 401, 401, 401, 401, 401, 401},
	{"DELETE", "/api/v1/webhook-endpoints/:id", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/webhook-endpoints/:id/rotate-secret", 401, 401, 401, 401, 401, 401},
	{"GET", "/api/v1/webhook-endpoints/:id/deliveries", 401, 401, 401, 401, 401, 401},
	{"POST", "/api/v1/webhook-deliveries/:id/resend", 401, 401, 401, 401, 401, 401},
}

// matrixIDs are the ids the matrix puts into routes' :id, by route prefix: rows of tenant B, where tenant
// A's admin must find nothing.
func (b *testBundle) matrixIDs(t *testing.T) map[string]string {
	t.Helper()
	events := b.auditEvents(t, b.tenantB.ID, "")
	require.NotEmpty(t, events)
	itemB, locationB := b.inventoryB(t)
	endpointB, deliveryB := b.webhooksB(t)
	exportB := b.exportB(t).String()
	billB := b.billingB(t)
	return map[string]string{
		"/billing/invoices/":    billB.invoice.String(),
		"/billing/customers/":   billB.customer.String(),
		"/billing/payments/":    billB.payment.String(),
		"/billing/tax-rates/":   billB.rate.String(),
		"/api/v1/invoices/":     billB.invoice.String(),
		"/api/v1/customers/":    billB.customer.String(),
		"/api/v1/payments/":     billB.payment.String(),
		"/inventory/items/":     itemB.String(),
		"/inventory/locations/": locationB.String(),
		"/audit/":               events[0].ID.String(),
		"/admin/users/":         b.usersB[identity.RoleEmployee].ID.String(),
		"/admin/departments/":   b.deptB.ID.String(),
		"/api/v1/audit-events/": events[0].ID.String(),
		"/api/v1/users/":        b.usersB[identity.RoleEmployee].ID.String(),
		"/api/v1/departments/":  b.deptB.ID.String(),
		"/approvals/":           b.approvalB(t).String(),

		"/exports/":        exportB,
		"/api/v1/exports/": exportB,

		"/admin/webhooks/":            endpointB.String(),
		"/admin/webhooks/deliveries/": deliveryB.String(),
		"/api/v1/webhook-endpoints/":  endpointB.String(),
		"/api/v1/webhook-deliveries/": deliveryB.String(),
	}
}

// matrixRequest turns a route of the matrix into a request: the path with its parameters filled in, the
// form (POST, PUT, PATCH) and any extra headers.
func (b *testBundle) matrixRequest(ids map[string]string, method, route string) (string, url.Values, http.Header) {
	path := route
	if strings.Contains(route, ":id") {
		id := store.NewID().String() // tokens, API clients, invitations: none exist
		longest := ""
		for prefix, v := range ids {
			if strings.HasPrefix(route, prefix) && len(prefix) > len(longest) {
				id, longest = v, prefix
			}
		}
		path = strings.Replace(route, ":id", id, 1)
	}
	var header http.Header
	if strings.HasPrefix(route, "/admin/jobs/") {
		// River UI's own API is refused without Sec-Fetch-Site: same-origin, which its browser pages send.
		// Its queue list takes GET only: an admin's other methods reach River UI and get its 405.
		path = strings.Replace(path, "*", "queues", 1)
		header = http.Header{"Sec-Fetch-Site": {"same-origin"}}
	}
	if method == http.MethodGet {
		return path, nil, header
	}
	form := url.Values{"version": {"1"}}
	if route == "/tenant/switch" {
		// To the user's own tenant, so every member may.
		form.Set("tenant_id", b.tenantA.ID.String())
	}
	return path, form, header
}

func TestRoutePermissionMatrix(t *testing.T) {
	matrix := slices.Concat(routeMatrix, billingMatrix, approvalsMatrix, exportsMatrix, integrationsMatrix)
	t.Parallel()
	b := setup(t)

	// The table covers exactly the routes Echo knows (the not-found catch-alls and static files aside).
	var registered, tabled []string
	for _, r := range b.echo.Routes() {
		if r.Method == echo.RouteNotFound || strings.HasPrefix(r.Path, "/static/") {
			continue
		}
		registered = append(registered, r.Method+" "+r.Path)
	}
	for _, row := range matrix {
		tabled = append(tabled, row.method+" "+row.route)
	}
	require.ElementsMatch(t, registered, tabled, "the route matrices must list every route of routes.go, and only those")

	type column struct {
		name string
		user *testUser // nil: signed out
		set  func(*matrixRow, int)
	}
	user := func(r identity.Role) *testUser { u := b.usersA[r]; return &u }
	columns := []column{
		{"admin", user(identity.RoleAdmin), func(r *matrixRow, s int) { r.admin = s }},
		{"manager", user(identity.RoleManager), func(r *matrixRow, s int) { r.manager = s }},
		{"finance", user(identity.RoleFinance), func(r *matrixRow, s int) { r.finance = s }},
		{"employee", user(identity.RoleEmployee), func(r *matrixRow, s int) { r.employee = s }},
		{"auditor", user(identity.RoleAuditor), func(r *matrixRow, s int) { r.auditor = s }},
		{"signed-out", nil, func(r *matrixRow, s int) { r.signedOut = s }},
	}

	got := make([]matrixRow, len(matrix))
	for i, row := range matrix {
		got[i] = matrixRow{method: row.method, route: row.route}
	}
	ids := b.matrixIDs(t)
	var mu sync.Mutex
	// The group returns once its parallel subtests, one per column, are done.
	t.Run("columns", func(t *testing.T) {
		for _, col := range columns {
			t.Run(col.name, func(t *testing.T) {
				t.Parallel()
				newClient := func() *client {
					if col.user == nil {
						c := b.newClient(t)
						c.get("/login")
						return c
					}
					return b.signedIn(t, *col.user)
				}
				c := newClient()
				for i, row := range matrix {
					path, form, header := b.matrixRequest(ids, row.method, row.route)
					if form != nil {
						form.Set("_csrf", c.token)
					}
					token := c.token
					res := c.do(row.method, path, form, header)
					if header.Get("Sec-Fetch-Site") != "" {
						// Echo's CSRF check trusts Sec-Fetch-Site and renders a placeholder token then: keep
						// the session's token for the rows after (a POST would otherwise get 403).
						c.token = token
					}
					if col.user == nil && res.status == http.StatusSeeOther {
						require.True(t, strings.HasPrefix(res.location(), "/login"), "%s %s sends a signed-out visitor to %q", row.method, path, res.location())
					}
					mu.Lock()
					col.set(&got[i], res.status)
					mu.Unlock()
					// Signing out ends the session: the next rows need a signed-in client again.
					if row.route == "/logout" {
						c = newClient()
					}
				}
			})
		}
	})
	if !reflect.DeepEqual(matrix, got) {
		var sb strings.Builder
		for _, r := range got {
			fmt.Fprintf(&sb, "\t{%q, %q, %d, %d, %d, %d, %d, %d},\n", r.method, r.route, r.admin, r.manager, r.finance, r.employee, r.auditor, r.signedOut)
		}
		t.Logf("the statuses the server gave (check every changed cell before copying):\n%s", sb.String())
	}
	require.Equal(t, matrix, got, "statuses by route (rows) and role (columns)")
}

func TestSignedOutRedirects(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newClient(t)

	for _, tt := range []struct{ path, location string }{
		{"/", "/login"},
		{"/audit", "/login?next=%2Faudit"},
		{"/audit?action=auth", "/login?next=%2Faudit%3Faction%3Dauth"},
	} {
		res := c.get(tt.path)
		require.Equal(t, http.StatusSeeOther, res.status, tt.path)
		require.Equal(t, tt.location, res.location(), tt.path)
	}

	// After signing in, next= brings the user back, but only to a path of ours.
	u := b.usersA[identity.RoleAuditor]
	c.get("/login?next=%2Faudit")
	res := c.post("/login", url.Values{"email": {u.Email}, "password": {u.Password}, "next": {"/audit"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/audit", res.location())

	c = b.newClient(t)
	c.get("/login")
	res = c.post("/login", url.Values{"email": {u.Email}, "password": {u.Password}, "next": {"//evil.example/"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/", res.location())

	// HTMX requests get HX-Redirect instead of a 303.
	res = b.newClient(t).do(http.MethodGet, "/audit", nil, http.Header{"HX-Request": {"true"}})
	require.Equal(t, http.StatusNoContent, res.status)
	require.Equal(t, "/login?next=%2Faudit", res.header.Get("HX-Redirect"))
}
