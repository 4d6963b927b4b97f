package identity_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store/identity"
)

// allPermissions is every permission. A permission granted by the table but missing here fails the test,
// so the matrix below is always the whole table.
var allPermissions = []identity.Permission{
	identity.InventoryRead, identity.InventoryWrite, identity.InventoryAdjust,
	identity.BillingRead, identity.BillingWrite, identity.BillingIssue,
	identity.ApprovalsSubmit, identity.ApprovalsRead, identity.ApprovalsDecide,
	identity.AdminUsers, identity.AdminSettings, identity.AuditRead, identity.ExportsRun,
}

// TestRolePermissions is the permission table written out as the specification: what each role may do.
func TestRolePermissions(t *testing.T) {
	t.Parallel()

	want := map[identity.Role][]identity.Permission{
		identity.RoleAdmin: allPermissions,
		identity.RoleManager: {
			identity.InventoryRead, identity.InventoryWrite, identity.InventoryAdjust, identity.BillingRead,
			identity.ApprovalsSubmit, identity.ApprovalsRead, identity.ApprovalsDecide, identity.ExportsRun,
		},
		identity.RoleFinance: {
			identity.InventoryRead, identity.BillingRead, identity.BillingWrite, identity.BillingIssue,
			identity.ApprovalsSubmit, identity.ApprovalsRead, identity.ApprovalsDecide, identity.ExportsRun,
		},
		identity.RoleEmployee: {identity.InventoryRead, identity.InventoryWrite, identity.ApprovalsSubmit},
		identity.RoleAuditor: {
			identity.InventoryRead, identity.BillingRead, identity.ApprovalsRead, identity.AuditRead, identity.ExportsRun,
		},
	}
	require.ElementsMatch(t, identity.Roles, []identity.Role{
		identity.RoleAdmin, identity.RoleManager, identity.RoleFinance, identity.RoleEmployee, identity.RoleAuditor,
	})

	for _, role := range identity.Roles {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			granted := role.Permissions()
			require.ElementsMatch(t, want[role], granted)
			require.Len(t, granted, len(slices.Compact(slices.Sorted(slices.Values(granted)))), "no duplicates")
			for _, p := range granted {
				require.Contains(t, allPermissions, p, "permission missing from allPermissions")
			}
			for _, p := range allPermissions {
				require.Equal(t, slices.Contains(want[role], p), role.Can(p), "%s can %s", role, p)
			}
			require.NotEmpty(t, role.Label())
			require.NotEqual(t, string(role), role.Label())
		})
	}
}

func TestRoleRules(t *testing.T) {
	t.Parallel()

	for _, p := range allPermissions {
		require.True(t, identity.RoleAdmin.Can(p), "admin can %s", p)
	}
	require.False(t, identity.RoleEmployee.Can(identity.AuditRead))
	require.False(t, identity.RoleEmployee.Can(identity.AdminUsers))
	require.False(t, identity.RoleAuditor.Can(identity.InventoryWrite), "auditors only read")
	require.False(t, identity.RoleAuditor.Can(identity.InventoryAdjust), "auditors only read")
	require.True(t, identity.RoleEmployee.Can(identity.InventoryWrite), "employees move stock")
	require.False(t, identity.RoleEmployee.Can(identity.InventoryAdjust), "only managers adjust and count")
	require.False(t, identity.RoleFinance.Can(identity.InventoryAdjust))
	require.False(t, identity.RoleAuditor.Can(identity.BillingWrite), "auditors only read")
	require.False(t, identity.RoleManager.Can(identity.AuditRead))
	require.False(t, identity.RoleFinance.Can(identity.AdminUsers))
	for _, role := range identity.Roles {
		if role != identity.RoleAdmin {
			require.False(t, role.Can(identity.AdminUsers), "%s administers users", role)
			require.False(t, role.Can(identity.AdminSettings), "%s changes settings", role)
		}
		require.False(t, role.Can("made.up"), "%s can an unknown permission", role)
	}

	// Permissions returns a copy: changing it cannot grant anything.
	perms := identity.RoleEmployee.Permissions()
	perms[0] = identity.AdminUsers
	require.False(t, identity.RoleEmployee.Can(identity.AdminUsers))

	var nobody *identity.Actor
	require.False(t, nobody.Can(identity.InventoryRead), "nil actor")
	require.True(t, (&identity.Actor{Role: identity.RoleAuditor}).Can(identity.AuditRead))
	require.False(t, (&identity.Actor{Role: identity.RoleEmployee}).Can(identity.AuditRead))
}

func TestRoleValid(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		role  identity.Role
		valid bool
	}{
		{identity.RoleAdmin, true},
		{identity.RoleManager, true},
		{identity.RoleFinance, true},
		{identity.RoleEmployee, true},
		{identity.RoleAuditor, true},
		{"", false},
		{"Admin", false},
		{"admin ", false},
		{"owner", false},
		{"superuser", false},
	} {
		t.Run(string(tc.role), func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.valid, tc.role.Valid())
			if !tc.valid {
				require.Empty(t, tc.role.Permissions())
			}
		})
	}
}
