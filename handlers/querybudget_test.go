package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// queryBudgets are the most SQL statements (commits included) each main page may send per request, session
// and actor resolution included. A page over budget fails TestQueryBudget; so does a page whose count grows
// with the number of rows it shows (an N+1 query). Raise a budget only with a reason in the commit. Every
// page's frame reads two counts in the page's transaction (unread notifications, approvals waiting): four
// statements of each budget.
var queryBudgets = []struct {
	name, path string
	budget     int64
}{
	// The dashboard on a cache miss (the first view after a change): each figure's cache version, the
	// figures themselves (inventory 20, approvals' two cards 12 more: principals, counts, the oldest few;
	// billing's two cards 4 more: their cache version, the aging rows and totals, the revenue by month),
	// recent activity and the frame, all in one shared read transaction.
	{"home", "/", 36},
	{"inventory list", "/inventory", 16},
	{"inventory list, search, filter and sort", "/inventory?q=hex+bolt&category=fasteners&sort=name", 16},
	{"item page", "/inventory/items/{item}", 18},
	{"ledger", "/inventory/ledger", 16},
	{"audit log", "/audit", 16},
	{"people", "/admin/users", 16},
}

// statementsOf serves one GET as c's session in-process, with a statement counter in the request's
// context, and returns the status and the number of statements the request sent.
func (b *testBundle) statementsOf(t *testing.T, c *client, path string) (int, int64) {
	t.Helper()
	ctx, count := store.CountStatements(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	for _, ck := range c.http.Jar.Cookies(b.baseURL) {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	b.echo.ServeHTTP(rec, req)
	return rec.Code, count.Load()
}

func TestQueryBudget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	f := b.inventoryA(t)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	item := f.items["NUT-10"].ID.String()

	measure := func() map[string]int64 {
		// Every measurement takes the dashboard's cache-miss path, its worst case: the cache is emptied.
		deleteKeys(t, b.redis, b.prefix+"dash:")
		counts := map[string]int64{}
		for _, p := range queryBudgets {
			path := p.path
			if path == "/inventory/items/{item}" {
				path = "/inventory/items/" + item
			}
			status, n := b.statementsOf(t, admin, path)
			require.Equal(t, http.StatusOK, status, "GET %s", path)
			counts[p.name] = n
		}
		return counts
	}
	// More than a page of items and movements from the start, so that both measurements take the same
	// paths (the list's "of about N" estimate is made only when there is a next page).
	sc := store.Scope{TenantID: b.tenantA.ID}
	addItems := func(prefix string, n int) {
		for i := range n {
			it, err := inventory.ItemCreate(ctx, b.db, sc, inventory.ItemFields{SKU: fmt.Sprintf("%s-%03d", prefix, i),
				Name: fmt.Sprintf("Hex bolt M%d", i), Category: "Fasteners", Unit: "pcs"})
			require.NoError(t, err)
			_, err = inventory.Receive(ctx, b.db, sc, inventory.ReceiveParams{ItemID: it.ID, LocationID: f.bin.ID,
				Quantity: inventory.Units(5), UnitCost: 3, Currency: "EUR"})
			require.NoError(t, err)
		}
	}
	addItems("BOLT", 55)
	// Receivables and revenue on the dashboard: a billing change before each measurement makes both a
	// cache miss, so they take the same path.
	b.billingIssued(t, nil, "EUR", 3, time.Now().AddDate(0, 0, -40))
	few := measure()
	for _, p := range queryBudgets {
		require.LessOrEqual(t, few[p.name], p.budget, "%s (%s) sends %d statements; its budget is %d", p.name, p.path, few[p.name], p.budget)
		require.Positive(t, few[p.name], "%s: the statement counter saw nothing", p.name)
	}

	// Many more rows on every page: the counts must not grow (no query per row).
	addItems("SCREW", 60)
	for range 30 {
		_, err := inventory.Issue(ctx, b.db, sc, inventory.IssueParams{ItemID: f.items["NUT-10"].ID, LocationID: f.warehouse.ID,
			Quantity: inventory.Units(1)})
		require.NoError(t, err)
	}
	b.peopleBulkMembers(t, b.tenantA.ID, 40)
	b.billingIssued(t, nil, "USD", 25, time.Now().AddDate(0, -3, 0))
	many := measure()
	for _, p := range queryBudgets {
		require.Equal(t, few[p.name], many[p.name], "%s (%s): %d statements with few rows, %d with many (a query per row?)",
			p.name, p.path, few[p.name], many[p.name])
	}
	t.Logf("statements per request: %v", many)
}
