package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

func TestDashboardApprovals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.approvalsManagerSet(t)
	pending := b.approvalRequests(t, identity.RoleEmployee, 4, true)
	b.approvalRequests(t, identity.RoleEmployee, 1, false)
	b.approvalB(t)
	items := func(r *response, id string) []string {
		var out []string
		for _, li := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == id }) {
			out = append(out, attr(findAll(li, func(n *html.Node) bool { return n.Data == "a" })[0], "href"))
		}
		return out
	}

	// The manager decides: four wait, the three waiting longest are listed with links, oldest first.
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	home := mgr.get("/")
	require.Equal(t, http.StatusOK, home.status)
	require.Equal(t, "4", testID(t, home, "dashboard-approvals-inbox-value"))
	require.Equal(t, []string{"/approvals/" + pending[0].ID.String(), "/approvals/" + pending[1].ID.String(), "/approvals/" + pending[2].ID.String()},
		items(home, "dashboard-approvals-inbox-item"))
	require.Contains(t, testID(t, home, "dashboard-approvals-inbox"), "Eli Employee")
	require.Equal(t, "0", testID(t, home, "dashboard-approvals-mine-value"))
	require.Contains(t, testID(t, home, "dashboard-approvals-mine"), "You have no open requests")

	// The employee submits: no inbox card; their five open requests by status.
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	home = emp.get("/")
	_, ok := byTestID(home.doc, "dashboard-approvals-inbox")
	require.False(t, ok, "an employee decides nothing")
	require.Equal(t, "5", testID(t, home, "dashboard-approvals-mine-value"))
	require.Equal(t, "4 waiting for approval", testID(t, home, "dashboard-approvals-mine-pending"))
	require.Equal(t, "1 draft", testID(t, home, "dashboard-approvals-mine-draft"))
	require.Len(t, items(home, "dashboard-approvals-mine-item"), 3)

	// The auditor neither decides nor submits: no approvals cards.
	home = b.signedIn(t, b.usersA[identity.RoleAuditor]).get("/")
	require.Equal(t, http.StatusOK, home.status)
	for _, id := range []string{"dashboard-approvals-inbox", "dashboard-approvals-mine"} {
		_, ok := byTestID(home.doc, id)
		require.False(t, ok, id)
	}

	// Behind the app's back (no audit event), the figures stay cached.
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE approval_requests SET status = 'withdrawn', current_step = NULL WHERE tenant_id = $1 AND id = $2`,
			b.tenantA.ID, pending[3].ID)
		return err
	}))
	require.Equal(t, "4", testID(t, mgr.get("/"), "dashboard-approvals-inbox-value"), "served from the cache")
	require.Equal(t, "4 waiting for approval", testID(t, emp.get("/"), "dashboard-approvals-mine-pending"), "served from the cache")
	// A decision through the app invalidates both cards at once.
	_, err := approvals.StepDecide(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleManager].ID},
		approvals.DecideParams{RequestID: pending[0].ID, Decision: approvals.DecisionApprove})
	require.NoError(t, err)
	home = mgr.get("/")
	require.Equal(t, "2", testID(t, home, "dashboard-approvals-inbox-value"), "one approved, one withdrawn")
	require.Equal(t, []string{"/approvals/" + pending[1].ID.String(), "/approvals/" + pending[2].ID.String()},
		items(home, "dashboard-approvals-inbox-item"))
	home = emp.get("/")
	require.Equal(t, "3", testID(t, home, "dashboard-approvals-mine-value"))
	require.Equal(t, "2 waiting for approval", testID(t, home, "dashboard-approvals-mine-pending"))

	// Tenant B's manager sees nothing of A.
	home = b.signedIn(t, b.usersB[identity.RoleManager]).get("/")
	require.Equal(t, "0", testID(t, home, "dashboard-approvals-mine-value"))
	_, ok = byTestID(home.doc, "dashboard-approvals-inbox-item")
	require.False(t, ok)
}
