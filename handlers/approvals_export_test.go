package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

// allRefs follows a request list's Next links from path and returns every request number in order.
func allRefs(t *testing.T, c *client, path, rowLink, next string) []string {
	t.Helper()
	var out []string
	for path != "" {
		res := c.get(path)
		require.Equal(t, http.StatusOK, res.status, res.body)
		for _, a := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == rowLink }) {
			out = append(out, textOf(a))
		}
		path = ""
		if n := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == next }); len(n) > 0 {
			path = attr(n[0], "href")
		}
	}
	return out
}

// approvalRequests creates n general requests of who in tenant A (submitted when submit) and returns them.
func (b *testBundle) approvalRequests(t *testing.T, who identity.Role, n int, submit bool) []*approvals.Request {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[who].ID}
	var out []*approvals.Request
	for i := range n {
		r, err := approvals.RequestCreate(ctx, b.db, sc, approvals.RequestFields{Type: approvals.TypeGeneral,
			Title: fmt.Sprintf("%s request %02d", who, i), Amount: int64(1000 + i)})
		require.NoError(t, err)
		if submit {
			r, err = approvals.RequestSubmit(ctx, b.db, sc, r.ID, r.Version)
			require.NoError(t, err)
		}
		out = append(out, r)
	}
	return out
}

func TestExportApprovalListsEqualPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.approvalsManagerSet(t)
	// The employee's 55 pending requests (two pages of the lists) and 4 drafts wait for the manager;
	// the manager has 2 drafts of their own; tenant B has one request that must never appear.
	pending := b.approvalRequests(t, identity.RoleEmployee, 55, true)
	b.approvalRequests(t, identity.RoleEmployee, 4, false)
	b.approvalRequests(t, identity.RoleManager, 2, false)
	b.approvalB(t)
	// A formula in a title is neutralised in the file.
	sc := store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleFinance].ID}
	_, err := approvals.RequestCreate(context.Background(), b.db, sc, approvals.RequestFields{Type: approvals.TypeGeneral,
		Title: "=HYPERLINK(\"http://x\")", Amount: 1})
	require.NoError(t, err)

	// All requests, filtered, as the auditor: exactly the list's rows in its order, CSV and XLSX.
	aud := b.signedIn(t, b.usersA[identity.RoleAuditor])
	listPath := "/approvals/all?status=pending&type=general"
	want := allRefs(t, aud, listPath, "approvals-row-link", "approvals-next")
	require.Len(t, want, 55)
	for _, format := range []string{"csv", "xlsx"} {
		id := exportStart(t, aud, aud.get(listPath), format)
		b.exportRun(t, b.tenantA.ID, id)
		rows := exportRows(t, aud, id)
		require.Equal(t, "Request", rows[0][0])
		require.Equal(t, want, column(rows[1:], 0), "%s: the export has exactly the list's rows, in its order", format)
		require.Equal(t, "Pending", rows[1][3])
		require.Equal(t, "Eli Employee", rows[1][5])
	}
	// Unfiltered, the finance member's formula title is neutralised.
	id := exportStart(t, aud, aud.get("/approvals/all"), "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows := exportRows(t, aud, id)
	require.Equal(t, allRefs(t, aud, "/approvals/all", "approvals-row-link", "approvals-next"), column(rows[1:], 0))
	require.Len(t, rows, 1+55+4+2+1, "tenant A's requests, not B's")
	require.Equal(t, `'=HYPERLINK("http://x")`, rows[1][1])

	// My requests, as the manager: their own two drafts, never the employee's.
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	mine := allRefs(t, mgr, "/approvals", "approvals-row-link", "approvals-next")
	require.Len(t, mine, 2)
	id = exportStart(t, mgr, mgr.get("/approvals"), "xlsx")
	b.exportRun(t, b.tenantA.ID, id)
	require.Equal(t, mine, column(exportRows(t, mgr, id)[1:], 0))

	// Waiting for me, as the manager: the inbox's rows, oldest first.
	inbox := allRefs(t, mgr, "/approvals/inbox", "inbox-row-link", "inbox-next")
	require.Len(t, inbox, 55)
	require.Equal(t, pending[0].Ref(), inbox[0])
	id = exportStart(t, mgr, mgr.get("/approvals/inbox"), "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows = exportRows(t, mgr, id)
	require.Equal(t, inbox, column(rows[1:], 0))
	require.Equal(t, []string{"Request", "Title", "Type", "Requester", "Amount", "Currency", "Step"}, rows[0][:7])
	require.Equal(t, []string{"Eli Employee", "10.00", "EUR", "1"}, rows[1][3:7])

	// The employee may not export (no Export button, 403); the auditor has no inbox to export and no
	// requests of their own; a filter the list refuses is refused; tenant B's admin gets B's request only.
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	page := emp.get("/approvals")
	require.Equal(t, http.StatusOK, page.status)
	_, ok := byTestID(page.doc, "export-form")
	require.False(t, ok)
	require.Equal(t, http.StatusForbidden, emp.post("/exports", url.Values{"kind": {"approvals.mine"}, "format": {"csv"}}).status)
	require.Equal(t, http.StatusForbidden, aud.post("/exports", url.Values{"kind": {"approvals.inbox"}, "format": {"csv"}}).status)
	require.Equal(t, http.StatusForbidden, aud.post("/exports", url.Values{"kind": {"approvals.mine"}, "format": {"csv"}}).status)
	res := aud.post("/exports", url.Values{"kind": {"approvals.requests"}, "query": {"status=lost"}, "format": {"csv"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, res.body)
	gus := b.signedIn(t, b.usersB[identity.RoleAdmin])
	id = exportStart(t, gus, gus.get("/approvals/all"), "csv")
	b.exportRun(t, b.tenantB.ID, id)
	rows = exportRows(t, gus, id)
	require.Len(t, rows, 2)
	require.Equal(t, "Globex request", rows[1][1])
	require.Equal(t, http.StatusNotFound, aud.get("/exports/"+id.String()+"/download").status)
}
