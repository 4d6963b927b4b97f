package identity

// Role is a member's role in a tenant. The set is fixed; what each role may do is the permission table below.
type Role string

// The roles, in the order screens list them.
const (
	RoleAdmin    Role = "admin"
	RoleManager  Role = "manager"
	RoleFinance  Role = "finance"
	RoleEmployee Role = "employee"
	RoleAuditor  Role = "auditor"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleManager, RoleFinance, RoleEmployee, RoleAuditor}

// Label is the role's name as people read it.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "Administrator"
	case RoleManager:
		return "Department manager"
	case RoleFinance:
		return "Finance"
	case RoleEmployee:
		return "Employee"
	case RoleAuditor:
		return "Auditor"
	}
	return string(r)
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	_, ok := permissions[r]
	return ok
}

// Permission names one thing a role may do. Routes and store operations declare the permission they need.
type Permission string

// The permissions. Add new ones here and to the table; the route matrix test lists every route.
const (
	InventoryRead   Permission = "inventory.read"
	InventoryWrite  Permission = "inventory.write"
	InventoryAdjust Permission = "inventory.adjust"
	BillingRead     Permission = "billing.read"
	BillingWrite    Permission = "billing.write"
	BillingIssue    Permission = "billing.issue"
	ApprovalsSubmit Permission = "approvals.submit"
	ApprovalsDecide Permission = "approvals.decide"
	ApprovalsRead   Permission = "approvals.read"
	AdminUsers      Permission = "admin.users"
	AdminSettings   Permission = "admin.settings"
	AuditRead       Permission = "audit.read"
	ExportsRun      Permission = "exports.run"
)

// permissions is the one permission table: role → what it may do.
var permissions = map[Role][]Permission{
	RoleAdmin: {
		InventoryRead, InventoryWrite, InventoryAdjust, BillingRead, BillingWrite, BillingIssue,
		ApprovalsSubmit, ApprovalsRead, ApprovalsDecide, AdminUsers, AdminSettings, AuditRead, ExportsRun,
	},
	RoleManager: {
		InventoryRead, InventoryWrite, InventoryAdjust, BillingRead, ApprovalsSubmit, ApprovalsRead, ApprovalsDecide, ExportsRun,
	},
	RoleFinance: {
		InventoryRead, BillingRead, BillingWrite, BillingIssue, ApprovalsSubmit, ApprovalsRead, ApprovalsDecide,
		ExportsRun,
	},
	RoleEmployee: {
		InventoryRead, InventoryWrite, ApprovalsSubmit,
	},
	RoleAuditor: {
		InventoryRead, BillingRead, ApprovalsRead, AuditRead, ExportsRun,
	},
}

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	for _, q := range permissions[r] {
		if q == p {
			return true
		}
	}
	return false
}

// Permissions returns what the role grants, in table order.
func (r Role) Permissions() []Permission {
	return append([]Permission(nil), permissions[r]...)
}

// Label describes the permission as people read it.
func (p Permission) Label() string {
	switch p {
	case InventoryRead:
		return "Look up items and stock"
	case InventoryWrite:
		return "Receive, issue, transfer and reserve stock"
	case InventoryAdjust:
		return "Adjust and count stock, correct movements, manage items and locations"
	case BillingRead:
		return "See customers, invoices and payments"
	case BillingWrite:
		return "Prepare invoices and record payments"
	case BillingIssue:
		return "Issue and void invoices"
	case ApprovalsSubmit:
		return "Submit requests for approval"
	case ApprovalsRead:
		return "See all approval requests"
	case ApprovalsDecide:
		return "Approve or reject requests"
	case AdminUsers:
		return "Manage people and departments"
	case AdminSettings:
		return "Change organization settings"
	case AuditRead:
		return "Read the audit log"
	case ExportsRun:
		return "Export data"
	}
	return string(p)
}
