package exports

import "ledgerline/store/identity"

// Kind names an exportable list as "<domain>.<list>".
type Kind string

// The exportable lists. Billing and approvals add theirs here (one line each in kinds) and a source in
// jobs/exports_<module>.go.
const (
	KindInventoryItems     Kind = "inventory.items"
	KindInventoryLevels    Kind = "inventory.levels"
	KindInventoryMovements Kind = "inventory.movements"
	KindAuditEvents        Kind = "audit.events"
	KindPeople             Kind = "identity.users"
	KindApprovalRequests   Kind = "approvals.requests"
	KindApprovalsMine      Kind = "approvals.mine"
	KindApprovalsInbox     Kind = "approvals.inbox"
	KindBillingInvoices    Kind = "billing.invoices"
	KindBillingCustomers   Kind = "billing.customers"
	KindBillingPayments    Kind = "billing.payments"
)

// KindInfo describes an exportable list: its name for people, the permission its list page needs (an
// export needs it too, besides ExportsRun) and the base of the file name.
type KindInfo struct {
	Kind       Kind
	Title      string
	Permission identity.Permission
	FileBase   string
}

// kinds is the lookup table of exportable lists.
var kinds = []KindInfo{
	{KindInventoryItems, "Inventory items", identity.InventoryRead, "items"},
	{KindInventoryLevels, "Stock levels", identity.InventoryRead, "stock-levels"},
	{KindInventoryMovements, "Stock movements", identity.InventoryRead, "stock-movements"},
	{KindAuditEvents, "Audit events", identity.AuditRead, "audit-events"},
	{KindPeople, "People", identity.AdminUsers, "people"},
	{KindApprovalRequests, "Approval requests", identity.ApprovalsRead, "approval-requests"},
	{KindApprovalsMine, "My approval requests", identity.ApprovalsSubmit, "my-approval-requests"},
	{KindApprovalsInbox, "Approvals waiting for me", identity.ApprovalsDecide, "approvals-waiting"},
	{KindBillingInvoices, "Invoices", identity.BillingRead, "invoices"},
	{KindBillingCustomers, "Customers", identity.BillingRead, "customers"},
	{KindBillingPayments, "Payments", identity.BillingRead, "payments"},
}

// KindLookup returns the description of k.
func KindLookup(k Kind) (KindInfo, bool) {
	for _, i := range kinds {
		if i.Kind == k {
			return i, true
		}
	}
	return KindInfo{}, false
}

// Kinds returns every exportable list.
func Kinds() []KindInfo { return append([]KindInfo(nil), kinds...) }
