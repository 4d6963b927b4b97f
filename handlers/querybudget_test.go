package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// queryBudgets are the most SQL statements (commits included) each main page may send per request, session
// and actor resolution included. A page over budget fails TestQueryBudget; so does a page whose count grows
// with the number of rows it shows (an N+1 query). Raise a budget only with a reason in the commit. Every
// page's frame reads the approvals waiting in the page's transaction (cached until approvals change): four
// statements of each budget on the cache miss measured here, one on a hit. The unread notifications come
// with the actor (identity.ActorLoad), which cut every budget by one.
var queryBudgets = []struct {
	name, path string
	budget     int64
}{
	// The dashboard on a cache miss (the first view after a change): each figure's cache version, the
	// figures themselves (inventory 20, approvals' two cards 10 more: principals (one statement since the
	// delegations and the time zone are read together), counts, the oldest few; billing's two cards 4 more:
	// their cache version, the aging rows and totals, the revenue by month), recent activity and the frame,
	// all in one shared read transaction.
	{"home", "/", 34},
	{"inventory list", "/inventory", 16},
	{"inventory list, search, filter and sort", "/inventory?q=hex+bolt&category=fasteners&sort=name", 16},
	{"item page", "/inventory/items/{item}", 15}, // the item, levels, reservations and the locations' key in one statement; the locations when not kept
	{"ledger", "/inventory/ledger", 15},          // its lines carry their SKUs (one query fewer)
	{"audit log", "/audit", 16},
	{"people", "/admin/users", 15}, // the page carries its total (one query fewer)
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
	b := setupWith(t, setupOpts{VersionedCacheTTL: -1}) // every page takes the miss path (see measure)
	ctx := context.Background()
	f := b.inventoryA(t)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	item := f.items["NUT-10"].ID.String()

	measure := func() map[string]int64 {
		counts := map[string]int64{}
		for _, p := range queryBudgets {
			path := p.path
			if path == "/inventory/items/{item}" {
				path = "/inventory/items/" + item
			}
			// Every page takes its cached figures' miss path (the dashboard, the frame's approvals count),
			// the worst case: the cache is emptied before each.
			deleteKeys(t, b.redis, b.prefix+"dash:")
			inventory.ForgetLocations()
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

// moduleBudgets are the statement budgets of the billing and approvals main pages, measured like
// queryBudgets (as the administrator, frame included): {invoice} and {request} are a detail page with
// few rows in the first measurement and one with many lines, payments, steps and decisions in the second.
// Each page reads in one shared transaction (readShared); before that, the invoice list sent 26 statements,
// the invoice page 30, all requests 27, the inbox 29 and the request page 27. The approvals pages then
// saved 4, 5 and 6 more: the tabs' inbox count shares the sidebar's cached one, principals are one
// statement, a route (steps, approvers, decisions) is one, and a general request reads neither lines nor
// receipts (only purchase requests have lines, only expense claims receipts). The invoice page went from
// 21 to 17 (its payments, credit notes, e-mails and reminders in one statement, the customer's address
// with the invoice); a filtered invoice list leaves its totals to a second request (16). The invoice list's
// customer filter suggests customers as someone types instead of listing 200 of them: one less (16, 15);
// the first page's totals from the tally ride on its rows: one less again (15); the unread notifications
// riding with the actor took one more off every page (14, 14).
var moduleBudgets = []struct {
	name, path string
	budget     int64
}{
	{"invoice list", "/billing", 14},
	{"invoice list, filtered", "/billing?status=issued&q=Work", 14},
	{"invoice page", "/billing/invoices/{invoice}", 16},
	{"approvals, all requests", "/approvals/all", 13},
	{"approvals, waiting for me", "/approvals/inbox", 14},
	{"approval request page", "/approvals/{request}", 15},
}

func TestQueryBudgetModules(t *testing.T) {
	t.Parallel()
	b := setupWith(t, setupOpts{VersionedCacheTTL: -1})
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	rate, err := billing.TaxRateCreate(ctx, b.db, sc, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	cust, err := billing.CustomerCreate(ctx, b.db, sc, billing.CustomerFields{Name: "Initech", Currency: "EUR"})
	require.NoError(t, err)
	// invoice issues an invoice with n lines and pays it in payments parts (0: unpaid).
	invoice := func(n, payments int) store.ID {
		inv, err := billing.InvoiceCreate(ctx, b.db, sc, billing.InvoiceCreateParams{CustomerID: cust.ID})
		require.NoError(t, err)
		for i := range n {
			_, err = billing.InvoiceLineAdd(ctx, b.db, sc, inv.ID, 0, billing.LineParams{Description: fmt.Sprintf("Work %d", i),
				Quantity: billing.Units(int64(1 + i)), UnitPrice: 1000, TaxRateID: rate.ID})
			require.NoError(t, err)
		}
		issued, err := billing.InvoiceIssue(ctx, b.db, sc, billing.InvoiceIssueParams{ID: inv.ID})
		require.NoError(t, err)
		for range payments {
			_, err = billing.PaymentRecord(ctx, b.db, sc, billing.PaymentParams{CustomerID: cust.ID, Amount: issued.Total / int64(payments+1),
				ReceivedOn: time.Now(), Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: issued.Total / int64(payments+1)}}})
			require.NoError(t, err)
		}
		return inv.ID
	}
	emp := store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleEmployee].ID}
	// request submits a general request of amount (the policy's band decides the steps), approved by the
	// administrator and finance along the way as far as decide says.
	request := func(amount int64, decide int) store.ID {
		r, err := approvals.RequestCreate(ctx, b.db, emp, approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Team offsite", Amount: amount})
		require.NoError(t, err)
		_, err = approvals.RequestSubmit(ctx, b.db, emp, r.ID, r.Version)
		require.NoError(t, err)
		for pos := 1; pos <= decide; pos++ {
			who := b.usersA[identity.RoleAdmin].ID
			if pos == 2 {
				who = b.usersA[identity.RoleFinance].ID
			}
			_, err = approvals.StepDecide(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: who},
				approvals.DecideParams{RequestID: r.ID, Round: 1, Position: pos, Decision: approvals.DecisionApprove, Comment: "ok"})
			require.NoError(t, err)
		}
		return r.ID
	}
	measure := func(inv, req store.ID) map[string]int64 {
		counts := map[string]int64{}
		for _, p := range moduleBudgets {
			path := strings.NewReplacer("{invoice}", inv.String(), "{request}", req.String()).Replace(p.path)
			// Every page takes its cached figures' miss path (the dashboard, the frame's approvals count),
			// the worst case: the cache is emptied before each.
			deleteKeys(t, b.redis, b.prefix+"dash:")
			status, n := b.statementsOf(t, admin, path)
			require.Equal(t, http.StatusOK, status, "GET %s", path)
			counts[p.name] = n
		}
		return counts
	}
	// More than a page of invoices and requests from the start, so both measurements take the same paths.
	for range 52 {
		invoice(1, 0)
		request(100, 0)
	}
	few := measure(invoice(1, 1), request(100, 0))
	for _, p := range moduleBudgets {
		require.LessOrEqual(t, few[p.name], p.budget, "%s (%s) sends %d statements; its budget is %d", p.name, p.path, few[p.name], p.budget)
		require.Positive(t, few[p.name], "%s: the statement counter saw nothing", p.name)
	}
	// Many lines, payments, steps and decisions on the detail pages; more rows in the lists.
	for range 10 {
		invoice(3, 1)
		request(100, 0)
	}
	s, err := approvals.SettingsGet(ctx, b.db, sc)
	require.NoError(t, err)
	many := measure(invoice(15, 3), request(s.FinanceLimit+1, 2))
	for _, p := range moduleBudgets {
		require.Equal(t, few[p.name], many[p.name], "%s (%s): %d statements with few rows, %d with many (a query per row?)",
			p.name, p.path, few[p.name], many[p.name])
	}
	t.Logf("statements per request: %v", many)
}
