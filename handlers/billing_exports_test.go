package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

// listIDs follows a billing list's Next links (data-testid next) from path and returns the id at the end
// of every row link whose data-testid is rowLink (or, with rowLink "", the first link of every row rowID).
func listIDs(t *testing.T, c *client, path, rowID, next string) []string {
	t.Helper()
	var out []string
	for path != "" {
		res := c.get(path)
		require.Equal(t, http.StatusOK, res.status, path)
		for _, tr := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == rowID }) {
			a := findAll(tr, func(n *html.Node) bool { return n.Data == "a" })
			require.NotEmpty(t, a)
			href := attr(a[0], "href")
			out = append(out, href[strings.LastIndex(href, "/")+1:])
		}
		path = ""
		if n := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == next }); len(n) > 0 {
			path = attr(n[0], "href")
		}
	}
	return out
}

// decimals writes decimal numbers without trailing zeros ("13.20" → "13.2", "5.00" → "5"): a CSV
// keeps the currency's digits, a spreadsheet reader shows the number cell's value.
func decimals(xs ...string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		if strings.Contains(x, ".") {
			x = strings.TrimRight(strings.TrimRight(x, "0"), ".")
		}
		out[i] = x
	}
	return out
}

// billingExportData gives tenant A 120 invoices (every fourth for a USD customer, every third left a
// draft), 55 customers and 55 payments, and a customer whose name is a formula.
func (b *testBundle) billingExportData(t *testing.T) (acme, formula *billing.Customer) {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	rate, err := billing.TaxRateCreate(ctx, b.db, sc, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	customer := func(name, currency string) *billing.Customer {
		cu, err := billing.CustomerCreate(ctx, b.db, sc, billing.CustomerFields{Name: name, Currency: currency, TermsDays: 14})
		require.NoError(t, err)
		return cu
	}
	acme, bolt := customer("Acme", "EUR"), customer("Bolt Corp", "USD")
	formula = customer("=HYPERLINK(\"http://x.example\")", "EUR")
	for i := range 52 {
		customer(fmt.Sprintf("Customer %02d", (i*17)%52), "EUR")
	}
	payments := 0
	for i := range 120 {
		cu := acme
		if i%4 == 0 {
			cu = bolt
		}
		inv, err := billing.InvoiceCreate(ctx, b.db, sc, billing.InvoiceCreateParams{CustomerID: cu.ID})
		require.NoError(t, err)
		_, err = billing.InvoiceLineAdd(ctx, b.db, sc, inv.ID, 0, billing.LineParams{Description: "Work", Quantity: billing.Units(1),
			UnitPrice: int64(1000 + i), TaxRateID: rate.ID})
		require.NoError(t, err)
		if i%3 == 0 {
			continue
		}
		inv, err = billing.InvoiceIssue(ctx, b.db, sc, billing.InvoiceIssueParams{ID: inv.ID})
		require.NoError(t, err)
		if cu == acme && payments < 55 {
			_, err = billing.PaymentRecord(ctx, b.db, sc, billing.PaymentParams{CustomerID: acme.ID, Amount: 500, ReceivedOn: time.Now(),
				Method: billing.MethodBankTransfer, Reference: fmt.Sprintf("-REF %d", i), Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 500}}})
			require.NoError(t, err)
			payments++
		}
	}
	return acme, formula
}

// TestExportBillingEqualsFilteredLists exports the invoice, customer and payment lists from their pages
// (CSV and XLSX) and checks that each file has exactly the list's rows in its order over every page,
// amounts as decimals with their currency, formulas neutralised, tenant B absent, and that a role
// without billing has no button and may not post one.
func TestExportBillingEqualsFilteredLists(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, formula := b.billingExportData(t)
	rowsB := b.billingB(t)
	fin := b.signedIn(t, b.usersA[identity.RoleFinance])

	// Invoices: a search, a status and a customer; the 55 partly paid Acme invoices over two pages.
	listPath := "/billing?" + url.Values{"q": {"acme"}, "status": {"partially_paid"}, "customer": {acme.ID.String()}}.Encode()
	want := listIDs(t, fin, listPath, "invoice-row", "billing-next")
	require.Len(t, want, 55)
	for _, format := range []string{"csv", "xlsx"} {
		id := exportStart(t, fin, fin.get(listPath), format)
		b.exportRun(t, b.tenantA.ID, id)
		rows := exportRows(t, fin, id)
		require.Equal(t, []string{"Number", "Status", "Overdue", "Customer", "Issue date", "Due date", "Currency", "Subtotal", "Tax",
			"Total", "Paid", "Credited", "Balance", "Void reason", "Created at", "Invoice id"}, rows[0])
		require.Equal(t, want, column(rows[1:], 15), "%s: exactly the list's invoices, in its order", format)
		for _, r := range rows[1:] {
			require.Equal(t, "Acme", r[3])
			require.Equal(t, "EUR", r[6])
			require.Equal(t, "Partially paid", r[1])
			require.True(t, strings.HasPrefix(r[0], "INV-"), r[0])
			require.NotEqual(t, rowsB.invoice.String(), r[15])
		}
		// The newest partly paid invoice is i = 109: 11.09 net, 19 % tax 2.11 (2.1071 rounded), 13.20, 5.00 paid.
		require.Equal(t, decimals("11.09", "2.11", "13.20", "5.00", "0.00", "8.20"), decimals(rows[1][7:13]...), format)
	}
	// Every invoice with no filter: drafts and both currencies, never tenant B's.
	all := listIDs(t, fin, "/billing", "invoice-row", "billing-next")
	require.Len(t, all, 120)
	id := exportStart(t, fin, fin.get("/billing"), "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows := exportRows(t, fin, id)
	require.Equal(t, all, column(rows[1:], 15))
	currencies := map[string]int{}
	for _, r := range rows[1:] {
		currencies[r[6]]++
	}
	require.Equal(t, map[string]int{"EUR": 90, "USD": 30}, currencies, "each row keeps its own currency")

	// Customers: all of them over two pages, then a search; the formula name is neutralised.
	want = listIDs(t, fin, "/billing/customers", "customer-row", "customers-next")
	require.Len(t, want, 55)
	id = exportStart(t, fin, fin.get("/billing/customers"), "xlsx")
	b.exportRun(t, b.tenantA.ID, id)
	rows = exportRows(t, fin, id)
	require.Equal(t, "Name", rows[0][0])
	require.Equal(t, want, column(rows[1:], 10))
	require.NotContains(t, column(rows[1:], 10), rowsB.customer.String())
	id = exportStart(t, fin, fin.get("/billing/customers?q=HYPERLINK"), "csv")
	b.exportRun(t, b.tenantA.ID, id)
	rows = exportRows(t, fin, id)
	require.Len(t, rows, 2)
	require.Equal(t, []string{"'" + formula.Name, formula.ID.String()}, []string{rows[1][0], rows[1][10]})

	// Payments: 55 over two pages, newest first; amounts in the payment's currency.
	want = listIDs(t, fin, "/billing/payments", "payment-row", "payments-next")
	require.Len(t, want, 55)
	for _, format := range []string{"csv", "xlsx"} {
		id = exportStart(t, fin, fin.get("/billing/payments"), format)
		b.exportRun(t, b.tenantA.ID, id)
		rows = exportRows(t, fin, id)
		require.Equal(t, []string{"Received on", "Customer", "Method", "Reference", "Currency", "Amount", "Allocated", "Unallocated",
			"Reversed at", "Reversal reason", "Payment id"}, rows[0])
		require.Equal(t, want, column(rows[1:], 10), format)
		require.Equal(t, []string{"Acme", "EUR"}, []string{rows[1][1], rows[1][4]})
		require.Equal(t, decimals("5.00", "5.00", "0.00"), decimals(rows[1][5:8]...), format)
		require.True(t, strings.HasPrefix(rows[1][3], "'-REF"), "a reference starting with - is neutralised: %q", rows[1][3])
	}

	// A filter the list refuses is refused; a role without billing has no button and may not post.
	res := fin.post("/exports", url.Values{"kind": {"billing.invoices"}, "format": {"csv"}, "query": {"customer=nope"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	for _, kind := range []string{"billing.invoices", "billing.customers", "billing.payments"} {
		require.Equal(t, http.StatusForbidden, emp.post("/exports", url.Values{"kind": {kind}, "format": {"csv"}}).status, kind)
	}
	// Tenant B's admin exports only tenant B's invoice.
	gus := b.signedIn(t, b.usersB[identity.RoleAdmin])
	id = exportStart(t, gus, gus.get("/billing"), "csv")
	b.exportRun(t, b.tenantB.ID, id)
	rows = exportRows(t, gus, id)
	require.Equal(t, []string{rowsB.invoice.String()}, column(rows[1:], 15))
}

// billingIssued gives tenant A n issued invoices of customer cu (created when nil), dated issued, with a
// 10.00 line at 19 %: 11.90 each.
func (b *testBundle) billingIssued(t *testing.T, cu *billing.Customer, currency string, n int, issued time.Time) *billing.Customer {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	var rate *billing.TaxRate
	rates, err := billing.TaxRateList(ctx, b.db, sc)
	require.NoError(t, err)
	for i := range rates {
		if rates[i].RateBP == 1900 {
			rate = &rates[i]
		}
	}
	if rate == nil {
		rate, err = billing.TaxRateCreate(ctx, b.db, sc, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
		require.NoError(t, err)
	}
	if cu == nil {
		cu, err = billing.CustomerCreate(ctx, b.db, sc, billing.CustomerFields{Name: "Buyer " + currency, Currency: currency, TermsDays: 14})
		require.NoError(t, err)
	}
	for range n {
		inv, err := billing.InvoiceCreate(ctx, b.db, sc, billing.InvoiceCreateParams{CustomerID: cu.ID})
		require.NoError(t, err)
		_, err = billing.InvoiceLineAdd(ctx, b.db, sc, inv.ID, 0, billing.LineParams{Description: "Work", Quantity: billing.Units(1),
			UnitPrice: 1000, TaxRateID: rate.ID})
		require.NoError(t, err)
		_, err = billing.InvoiceIssue(ctx, b.db, sc, billing.InvoiceIssueParams{ID: inv.ID, IssueDate: &issued})
		require.NoError(t, err)
	}
	return cu
}

// TestDashboardBilling checks the billing cards of the home page: receivables per currency and aging
// bucket (never added across currencies) and revenue by month as an SVG bar chart with its numbers, cached
// until billing changes, and absent for a role that may not read billing.
func TestDashboardBilling(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	home := mgr.get("/")
	require.Equal(t, http.StatusOK, home.status)
	testID(t, home, "dashboard-receivables-empty")
	testID(t, home, "dashboard-revenue-empty")

	// Two EUR invoices 45 days old (due 31 days ago: the 31–60 bucket) and one USD invoice of today.
	loc, err := time.LoadLocation(b.tenantA.TimeZone)
	require.NoError(t, err)
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	eur := b.billingIssued(t, nil, "EUR", 2, today.AddDate(0, 0, -45))
	b.billingIssued(t, nil, "USD", 1, today)
	home = mgr.get("/")
	rows := findAll(home.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "dashboard-receivables-row" })
	require.Len(t, rows, 2, "a row per currency")
	cells := func(n *html.Node) []string {
		var out []string
		for _, c := range findAll(n, func(n *html.Node) bool { return n.Data == "td" || n.Data == "th" }) {
			out = append(out, textOf(c))
		}
		return out
	}
	require.Equal(t, []string{"EUR", "0.00", "0.00", "23.80", "0.00", "0.00", "23.80"}, cells(rows[0]))
	require.Equal(t, []string{"USD", "11.90", "0.00", "0.00", "0.00", "0.00", "11.90"}, cells(rows[1]))

	revenue, ok := byTestID(home.doc, "dashboard-revenue")
	require.True(t, ok)
	require.Contains(t, revenue, "EUR")
	panel := findAll(home.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "dashboard-revenue" })[0]
	charts := findAll(panel, func(n *html.Node) bool { return n.Data == "svg" && attr(n, "data-testid") == "revenue-chart" })
	require.Len(t, charts, 2, "one chart per currency")
	months := findAll(panel, func(n *html.Node) bool { return attr(n, "data-testid") == "revenue-month" })
	require.Len(t, months, 24, "twelve months per currency")
	byMonth := map[string]string{}
	for _, m := range months[:12] { // EUR first
		c := cells(m)
		byMonth[c[0]] = c[1]
	}
	require.Equal(t, "20.00", byMonth[today.AddDate(0, 0, -45).Format("Jan 06")], "net invoiced in EUR in that month")
	require.NotEmpty(t, findAll(charts[0], func(n *html.Node) bool { return n.Data == "rect" }))

	// Behind the app's back (no audit event) the figures stay cached; a payment through the app
	// invalidates them at once.
	require.NoError(t, b.db.InTenant(ctx, sc, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_customers SET name = 'Renamed' WHERE tenant_id = $1 AND id = $2`, b.tenantA.ID, eur.ID)
		return err
	}))
	rows = findAll(mgr.get("/").doc, func(n *html.Node) bool { return attr(n, "data-testid") == "dashboard-receivables-row" })
	require.Equal(t, "23.80", cells(rows[0])[6], "served from the cache")
	open, err := billing.OpenInvoices(ctx, b.db, sc, eur.ID)
	require.NoError(t, err)
	_, err = billing.PaymentRecord(ctx, b.db, sc, billing.PaymentParams{CustomerID: eur.ID, Amount: 1190, ReceivedOn: today,
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: open[0].ID, Amount: 1190}}})
	require.NoError(t, err)
	home = mgr.get("/")
	rows = findAll(home.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "dashboard-receivables-row" })
	require.Equal(t, []string{"EUR", "0.00", "0.00", "11.90", "0.00", "0.00", "11.90"}, cells(rows[0]), "recomputed after the payment")

	// An employee may not read billing: no billing cards.
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	home = emp.get("/")
	for _, id := range []string{"dashboard-receivables", "dashboard-revenue"} {
		_, ok := byTestID(home.doc, id)
		require.False(t, ok, id)
	}
}
