package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

// TestApprovalsWaitingCountShared checks the count of approvals waiting on the approvals pages: the inbox
// tab and the sidebar show one cached figure (read once per page), which a change behind the app's back
// (no audit event) does not move and the next change through the app does.
func TestApprovalsWaitingCountShared(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.approvalsManagerSet(t)
	pending := b.approvalRequests(t, identity.RoleEmployee, 3, true)
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	counts := func(path string) (tab, sidebar string) {
		t.Helper()
		page := mgr.get(path)
		require.Equal(t, http.StatusOK, page.status)
		tab, _ = byTestID(page.doc, "approvals-count-inbox") // a request's page has no tabs
		links := findAll(page.doc, func(n *html.Node) bool {
			return n.Data == "a" && attr(n, "href") == "/approvals" && attr(n, "class") == "nav__link"
		})
		require.Len(t, links, 1, "the sidebar's Approvals link")
		badges := findAll(links[0], func(n *html.Node) bool { return strings.Contains(attr(n, "class"), "nav__count") })
		require.Len(t, badges, 1, "the sidebar's count")
		return tab, strings.TrimSpace(textOf(badges[0]))
	}
	for _, path := range []string{"/approvals/all", "/approvals/inbox", "/approvals"} {
		tab, sidebar := counts(path)
		require.Equal(t, "3", tab, path)
		require.Equal(t, "3", sidebar, path)
	}
	_, onRequest := counts("/approvals/" + pending[0].ID.String())
	require.Equal(t, "3", onRequest, "a request's page")

	// Behind the app's back (no audit event), the figure stays cached on both.
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE approval_requests SET status = 'withdrawn', current_step = NULL WHERE tenant_id = $1 AND id = $2`,
			b.tenantA.ID, pending[2].ID)
		return err
	}))
	tab, sidebar := counts("/approvals/all")
	require.Equal(t, "3", tab, "served from the cache")
	require.Equal(t, "3", sidebar, "served from the cache")

	// A withdrawal through the app moves the cache version: both show the requests that really wait.
	_, err := approvals.RequestWithdraw(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleEmployee].ID},
		pending[1].ID, pending[1].Version)
	require.NoError(t, err)
	tab, sidebar = counts("/approvals/all")
	require.Equal(t, "1", tab)
	require.Equal(t, "1", sidebar)
}
