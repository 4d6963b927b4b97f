package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/dashboard"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// exportB is a finished-or-not export of tenant B, for the cross-tenant cases.
func (b *testBundle) exportB(t *testing.T) store.ID {
	t.Helper()
	x, err := exports.Create(context.Background(), b.db, store.Scope{TenantID: b.tenantB.ID, ActorID: b.usersB[identity.RoleAdmin].ID},
		exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	require.NoError(t, err)
	return x.ID
}

// exportRun works an export as the job would.
func (b *testBundle) exportRun(t *testing.T, tenant, id store.ID) {
	t.Helper()
	require.NoError(t, exports.Run(context.Background(), b.db, jobs.ExportCatalog(), exports.RunArgs{TenantID: tenant, ExportID: id}, 1, exports.RunOpts{}))
}

// exportStart submits a list's Export form as the page offers it and returns the new export's id.
func exportStart(t *testing.T, c *client, page *response, format string) store.ID {
	t.Helper()
	form := findAll(page.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "export-form" })
	require.Len(t, form, 1, "the list offers one Export button")
	vals := url.Values{"format": {format}}
	for _, in := range findAll(form[0], func(n *html.Node) bool { return n.Data == "input" }) {
		if name := attr(in, "name"); name != "_csrf" {
			vals.Set(name, attr(in, "value"))
		}
	}
	res := c.post("/exports", vals)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.True(t, strings.HasPrefix(res.location(), "/exports/"), res.location())
	id, err := store.ParseID(strings.TrimPrefix(res.location(), "/exports/"))
	require.NoError(t, err)
	return id
}

// exportRows downloads an export as c and returns its rows (CSV or the XLSX sheets one after the other),
// header first.
func exportRows(t *testing.T, c *client, id store.ID) [][]string {
	t.Helper()
	res := c.get("/exports/" + id.String() + "/download")
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.Contains(t, res.header.Get("Content-Disposition"), "attachment")
	if strings.HasPrefix(res.header.Get("Content-Type"), "text/csv") {
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(res.body, "\ufeff"))).ReadAll()
		require.NoError(t, err)
		return recs
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(res.body)))
	require.NoError(t, err)
	var out [][]string
	for i, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		require.NoError(t, err)
		if i > 0 {
			rows = rows[1:]
		}
		out = append(out, rows...)
	}
	return out
}

func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[i])
	}
	return out
}

// allSKUs follows the item list's Next links from path and returns every SKU in order.
func allSKUs(t *testing.T, c *client, path string) []string {
	t.Helper()
	var out []string
	for path != "" {
		res := c.get(path)
		require.Equal(t, http.StatusOK, res.status)
		out = append(out, skus(res)...)
		path = ""
		if next := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "inventory-next" }); len(next) > 0 {
			path = attr(next[0], "href")
		}
	}
	return out
}

func TestExportItemsEqualsFilteredList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	// 130 bolts (three pages of the list), other items, and bolts in tenant B that must never appear.
	for i := range 130 {
		_, err := inventory.ItemCreate(ctx, b.db, sc, inventory.ItemFields{SKU: fmt.Sprintf("BOLT-%03d", i),
			Name: fmt.Sprintf("Bolt %c%03d", 'A'+rune(i%7), (i*37)%130), Category: "Fasteners", Unit: "pcs"})
		require.NoError(t, err)
	}
	_, err := inventory.ItemCreate(ctx, b.db, sc, inventory.ItemFields{SKU: "NUT-1", Name: "=cmd|' /C calc'!A0", Unit: "pcs"})
	require.NoError(t, err)
	for i := range 5 {
		_, err := inventory.ItemCreate(ctx, b.db, store.Scope{TenantID: b.tenantB.ID}, inventory.ItemFields{SKU: fmt.Sprintf("BOLT-B%d", i), Name: "Bolt of B", Unit: "pcs"})
		require.NoError(t, err)
	}
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	listPath := "/inventory?q=BOLT&sort=name&dir=desc"
	want := allSKUs(t, mgr, listPath)
	require.Len(t, want, 130)

	for _, format := range []string{"csv", "xlsx"} {
		page := mgr.get(listPath)
		id := exportStart(t, mgr, page, format)
		show := mgr.get("/exports/" + id.String())
		require.Equal(t, http.StatusOK, show.status)
		require.Equal(t, "queued", attrOf(t, show, "export-panel", "data-state"))
		b.exportRun(t, b.tenantA.ID, id)
		show = mgr.get("/exports/" + id.String())
		require.Equal(t, "done", attrOf(t, show, "export-panel", "data-state"))
		rows := exportRows(t, mgr, id)
		require.Equal(t, "SKU", rows[0][0])
		require.Equal(t, want, column(rows[1:], 0), "%s: the export has exactly the list's rows, in its order", format)
	}

	// Formula neutralising in a real export; the whole list without a filter.
	id := exportStart(t, mgr, mgr.get("/inventory?q=NUT"), "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows := exportRows(t, mgr, id)
	require.Equal(t, [][]string{{"NUT-1", "'=cmd|' /C calc'!A0"}}, [][]string{rows[1][:2]})

	// Download: the requester and admins; not another member, not tenant B even with the id.
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	require.Equal(t, http.StatusOK, admin.get("/exports/"+id.String()+"/download").status)
	fin := b.signedIn(t, b.usersA[identity.RoleFinance])
	require.Equal(t, http.StatusNotFound, fin.get("/exports/"+id.String()+"/download").status)
	require.Equal(t, http.StatusNotFound, fin.get("/exports/"+id.String()).status)
	gus := b.signedIn(t, b.usersB[identity.RoleAdmin])
	require.Equal(t, http.StatusNotFound, gus.get("/exports/"+id.String()+"/download").status)

	// An employee has no Export button and may not post one.
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	page := emp.get("/inventory")
	_, ok := byTestID(page.doc, "export-form")
	require.False(t, ok)
	require.Equal(t, http.StatusForbidden, emp.post("/exports", url.Values{"kind": {"inventory.items"}, "format": {"csv"}}).status)
	// A list the role cannot see: a manager may not export the audit log or people.
	require.Equal(t, http.StatusForbidden, mgr.post("/exports", url.Values{"kind": {"audit.events"}, "format": {"csv"}}).status)
	require.Equal(t, http.StatusForbidden, mgr.post("/exports", url.Values{"kind": {"identity.users"}, "format": {"csv"}}).status)
}

func attrOf(t *testing.T, r *response, testID, name string) string {
	t.Helper()
	n := findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == testID })
	require.NotEmpty(t, n, "no %s", testID)
	return attr(n[0], name)
}

func TestExportPeopleLedgerAuditEqualLists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	_ = f
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])

	// People, filtered by role.
	page := admin.get("/admin/users?status=all")
	var names []string
	for _, tr := range findAll(page.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "person-row" }) {
		names = append(names, textOf(findAll(tr, func(n *html.Node) bool { return n.Data == "a" })[0]))
	}
	require.Len(t, names, 5)
	id := exportStart(t, admin, page, "xlsx")
	b.exportRun(t, b.tenantA.ID, id)
	require.Equal(t, names, column(exportRows(t, admin, id)[1:], 0))

	// The ledger of one kind.
	page = admin.get("/inventory/ledger?kind=receipt")
	id = exportStart(t, admin, page, "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows := exportRows(t, admin, id)
	require.Equal(t, []string{"BOLT-10", "NUT-10"}, column(rows[1:], 2), "newest first, like the ledger")
	require.Equal(t, []string{"20", "500"}, column(rows[1:], 6))

	// The audit log filtered by action: only tenant A's sign-ins, as on the page.
	page = admin.get("/audit?action=auth.sign_in")
	var actions []string
	for _, tr := range findAll(page.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-row" }) {
		actions = append(actions, textOf(findAll(tr, func(n *html.Node) bool { return n.Data == "code" })[0]))
	}
	require.NotEmpty(t, actions)
	id = exportStart(t, admin, page, "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows = exportRows(t, admin, id)
	require.Equal(t, actions, column(rows[1:], 1))

	// Every export is in the audit log with its filter and row count.
	events := b.auditEvents(t, b.tenantA.ID, "export.completed")
	require.Len(t, events, 3)
}

func TestExportLimitAndCenter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	page := mgr.get("/inventory")
	var ids []store.ID
	for range 3 {
		ids = append(ids, exportStart(t, mgr, page, "csv"))
	}
	res := mgr.post("/exports", url.Values{"kind": {"inventory.items"}, "format": {"csv"}, "query": {""}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, res.body, "You already have 3 exports running, the most at once. Wait until one finishes, or cancel one in the export center, then try again.")
	// Through HTMX the message comes as a toast.
	hx := mgr.do(http.MethodPost, "/exports", url.Values{"kind": {"inventory.items"}, "format": {"csv"}, "_csrf": {mgr.token}}, http.Header{"HX-Request": {"true"}})
	require.Equal(t, http.StatusConflict, hx.status)
	require.Contains(t, hx.header.Get("HX-Trigger"), "You already have 3 exports running")

	// The center lists them, polling while they run.
	center := mgr.get("/exports")
	require.Equal(t, http.StatusOK, center.status)
	require.Len(t, findAll(center.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "export-row" }), 3)
	require.Equal(t, "every 2s", attrOf(t, center, "exports-list", "hx-trigger"))

	// Cancel one; run the others; the center stops polling and offers downloads.
	res = mgr.post("/exports/"+ids[0].String()+"/cancel", url.Values{"back": {"/exports"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	for _, id := range ids[1:] {
		b.exportRun(t, b.tenantA.ID, id)
	}
	center = mgr.get("/exports")
	require.Empty(t, attrOf(t, center, "exports-list", "hx-trigger"))
	require.Len(t, findAll(center.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "export-download" }), 2)
	res = mgr.post("/exports/"+ids[0].String()+"/rerun", nil)
	require.Equal(t, http.StatusSeeOther, res.status)

	// The requester was told in the app.
	notes := mgr.get("/notifications")
	require.Len(t, findAll(notes.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "notification" }), 2)
	require.Equal(t, "2", testID(t, notes, "notifications-count"), "the top bar counts the unread ones")
	require.Equal(t, http.StatusSeeOther, mgr.post("/notifications/read-all", nil).status)
	notes = mgr.get("/notifications")
	_, ok := byTestID(notes.doc, "notifications-empty")
	require.True(t, ok)
	_, ok = byTestID(notes.doc, "notifications-count")
	require.False(t, ok)

	// Admins: settings with a 422 that keeps the input.
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	admin.get("/exports/settings")
	res = admin.post("/exports/settings", url.Values{"retention_days": {"0"}, "max_concurrent": {"5"}, "version": {"0"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Enter a number of days from 1 to 90.")
	require.Equal(t, "5", inputValue(res.doc, "max_concurrent"))
	res = admin.post("/exports/settings", url.Values{"retention_days": {"2"}, "max_concurrent": {"5"}, "version": {"0"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	// The retention policy on the same page: shown with its defaults, validated, saved.
	page = admin.get("/exports/settings")
	require.Equal(t, "36", inputValue(page.doc, "audit_online_months"))
	require.Equal(t, "90", inputValue(page.doc, "purge_deleted_days"))
	policy := url.Values{"retention_days": {"2"}, "max_concurrent": {"5"}, "version": {inputValue(page.doc, "version")},
		"audit_online_months": {"2"}, "movements_online_months": {"24"}, "purge_deleted_days": {"60"}}
	res = admin.post("/exports/settings", policy)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Enter a number of months from 3 to 240.")
	require.Equal(t, "24", inputValue(res.doc, "movements_online_months"))
	policy.Set("audit_online_months", "84")
	res = admin.post("/exports/settings", policy)
	require.Equal(t, http.StatusSeeOther, res.status)
	page = admin.get("/exports/settings")
	require.Equal(t, "84", inputValue(page.doc, "audit_online_months"))
	require.Equal(t, "24", inputValue(page.doc, "movements_online_months"))
	require.Equal(t, "60", inputValue(page.doc, "purge_deleted_days"))

	// A scheduled report.
	admin.get("/exports/schedules")
	res = admin.post("/exports/schedules", url.Values{"name": {"Daily items"}, "kind": {"inventory.items"}, "query": {"q=BOLT"},
		"format": {"csv"}, "frequency": {"daily"}, "hour": {"7"}, "recipients": {b.usersA[identity.RoleEmployee].ID.String()}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page = admin.get("/exports/schedules")
	require.Len(t, findAll(page.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "schedule-row" }), 1)
	res = admin.post("/exports/schedules", url.Values{"name": {""}, "kind": {"inventory.items"}, "format": {"csv"}, "frequency": {"daily"}, "hour": {"25"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
}

func TestAPIExports(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.inventoryA(t)
	tok := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleManager], identity.RoleManager.Permissions()...)
	res := b.api(t, http.MethodPost, "/exports", tok, map[string]any{"kind": "inventory.items", "format": "csv", "query": "q=NUT&sort=name"})
	require.Equal(t, http.StatusAccepted, res.status, string(res.body))
	id := res.json["id"].(string)
	require.Equal(t, "queued", res.json["state"])
	require.Equal(t, "q: NUT · sort: name", res.json["filter_text"])
	res = b.api(t, http.MethodGet, "/exports/"+id+"/download", tok, nil)
	require.Equal(t, http.StatusNotFound, res.status)

	xid, err := store.ParseID(id)
	require.NoError(t, err)
	b.exportRun(t, b.tenantA.ID, xid)
	res = b.api(t, http.MethodGet, "/exports/"+id, tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "done", res.json["state"])
	require.EqualValues(t, 1, res.json["rows_done"])
	require.Equal(t, "/api/v1/exports/"+id+"/download", res.json["download_url"])
	res = b.api(t, http.MethodGet, "/exports/"+id+"/download", tok, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "text/csv; charset=utf-8", res.header.Get("Content-Type"))
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.body, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, "NUT-10", recs[1][0])

	// Tenant B's admin, with the id: not found. A bad filter: 422. An unknown list: 422.
	tokB := b.pat(t, b.tenantB.ID, b.usersB[identity.RoleAdmin], identity.RoleAdmin.Permissions()...)
	require.Equal(t, http.StatusNotFound, b.api(t, http.MethodGet, "/exports/"+id, tokB, nil).status)
	require.Equal(t, http.StatusNotFound, b.api(t, http.MethodGet, "/exports/"+id+"/download", tokB, nil).status)
	res = b.api(t, http.MethodPost, "/exports", tok, map[string]any{"kind": "inventory.items", "query": "sort=colour"})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, string(res.body))
	res = b.api(t, http.MethodPost, "/exports", tok, map[string]any{"kind": "billing.invoices"})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, string(res.body))
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := b.inventoryA(t) // BOLT-10: 20 on hand, reorder point 50: low
	sc := store.Scope{TenantID: b.tenantA.ID}
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	home := mgr.get("/")
	require.Equal(t, http.StatusOK, home.status)
	require.Equal(t, "1", testID(t, home, "dashboard-low-stock-value"))
	require.Equal(t, "EUR 27.40", testID(t, home, "dashboard-stock-value-current"), "20×0.12 + 500×0.05")
	_, ok := byTestID(home.doc, "dashboard-chart")
	require.False(t, ok, "no trend before a second day")

	// Behind the app's back (no audit event), the figures stay cached.
	require.NoError(t, b.db.InTenant(ctx, sc, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE inventory_items SET reorder_point = 1000 WHERE tenant_id = $1 AND sku = 'NUT-10'`, b.tenantA.ID)
		return err
	}))
	require.Equal(t, "1", testID(t, mgr.get("/"), "dashboard-low-stock-value"), "served from the cache")
	// A change through the app invalidates them at once.
	_, err := inventory.Receive(ctx, b.db, sc, inventory.ReceiveParams{ItemID: f.items["OIL-5"].ID, LocationID: f.warehouse.ID,
		Quantity: inventory.Units(10), UnitCost: 100, Currency: "EUR"})
	require.NoError(t, err)
	home = mgr.get("/")
	require.Equal(t, "2", testID(t, home, "dashboard-low-stock-value"), "recomputed after the receipt")
	require.Equal(t, "EUR 37.40", testID(t, home, "dashboard-stock-value-current"))

	// With snapshots of earlier days, the trend is an SVG chart with its numbers in a table.
	for i, v := range []int64{100000, 250000} {
		day := time.Now().AddDate(0, 0, -2+i)
		require.NoError(t, dashboard.SnapshotSave(ctx, b.db, sc, dashboard.SeriesStockValue, day, "EUR", v))
	}
	require.NoError(t, jobs.DashboardSnapshotTenant(ctx, b.db, b.tenantA.ID, time.Now()))
	// The snapshot is not an inventory change: the cache would still serve the old trend, so make one.
	_, err = inventory.Receive(ctx, b.db, sc, inventory.ReceiveParams{ItemID: f.items["OIL-5"].ID, LocationID: f.warehouse.ID,
		Quantity: inventory.Units(1), UnitCost: 100, Currency: "EUR"})
	require.NoError(t, err)
	home = mgr.get("/")
	_, ok = byTestID(home.doc, "dashboard-chart")
	require.True(t, ok)
	cells := findAll(home.doc, func(n *html.Node) bool { return n.Data == "td" && attr(n, "class") == "table__num" })
	var values []string
	for _, c := range cells {
		values = append(values, textOf(c))
	}
	require.Equal(t, []string{"1,000.00", "2,500.00", "38.40"}, values)

	// Activity: the organization's for an admin, one's own for an employee.
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	require.Contains(t, testID(t, admin.get("/"), "dashboard-activity"), "Recent activity")
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	act := testID(t, emp.get("/"), "dashboard-activity")
	require.Contains(t, act, "Your recent activity")
	require.Contains(t, act, "auth.sign_in")
	require.NotContains(t, act, "inventory.receipt", "the employee sees only their own events")
}

func TestExportFromItemPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.inventoryA(t)
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	page := mgr.get("/inventory/items/" + f.items["NUT-10"].ID.String())
	require.Equal(t, http.StatusOK, page.status)
	forms := findAll(page.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "export-form" })
	require.Len(t, forms, 2, "levels and history")
	kinds := map[string]string{}
	for _, form := range forms {
		var kind, query string
		for _, in := range findAll(form, func(n *html.Node) bool { return n.Data == "input" }) {
			switch attr(in, "name") {
			case "kind":
				kind = attr(in, "value")
			case "query":
				query = attr(in, "value")
			}
		}
		kinds[kind] = query
	}
	require.Equal(t, map[string]string{"inventory.levels": "item=" + f.items["NUT-10"].ID.String(), "inventory.movements": "sku=NUT-10"}, kinds)

	for kind, query := range kinds {
		res := mgr.post("/exports", url.Values{"kind": {kind}, "query": {query}, "format": {"csv"}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		id, err := store.ParseID(strings.TrimPrefix(res.location(), "/exports/"))
		require.NoError(t, err)
		b.exportRun(t, b.tenantA.ID, id)
		rows := exportRows(t, mgr, id)
		require.Len(t, rows, 2, "%s: one row", kind)
		switch kind {
		case "inventory.levels":
			require.Equal(t, []string{"NUT-10", "Hex nut M10", "pcs", "MAIN", "Main warehouse", "", "500", "0", "500"}, rows[1])
		case "inventory.movements":
			require.Equal(t, []string{"receipt", "NUT-10", "Hex nut M10", "MAIN", "", "500", "0.05", "EUR"}, rows[1][1:9])
		}
	}
}
