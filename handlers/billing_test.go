package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

type billingRows struct {
	customer, invoice, payment, rate store.ID
}

// billingB gives tenant B a tax rate, a customer, an issued invoice and a payment: tenant A must find none.
func (b *testBundle) billingB(t *testing.T) billingRows {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantB.ID}
	rate, err := billing.TaxRateCreate(ctx, b.db, sc, billing.TaxRateCreateParams{Name: "Sales tax", RateBP: 800})
	require.NoError(t, err)
	cust, err := billing.CustomerCreate(ctx, b.db, sc, billing.CustomerFields{Name: "Globex buyer", Email: "buyer@globex.example", Currency: "USD"})
	require.NoError(t, err)
	inv, err := billing.InvoiceCreate(ctx, b.db, sc, billing.InvoiceCreateParams{CustomerID: cust.ID})
	require.NoError(t, err)
	_, err = billing.InvoiceLineAdd(ctx, b.db, sc, inv.ID, 0, billing.LineParams{Description: "B work", Quantity: billing.Units(1), UnitPrice: 1000, TaxRateID: rate.ID})
	require.NoError(t, err)
	_, err = billing.InvoiceIssue(ctx, b.db, sc, billing.InvoiceIssueParams{ID: inv.ID})
	require.NoError(t, err)
	pay, err := billing.PaymentRecord(ctx, b.db, sc, billing.PaymentParams{CustomerID: cust.ID, Amount: 500, ReceivedOn: time.Now(),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 500}}})
	require.NoError(t, err)
	return billingRows{customer: cust.ID, invoice: inv.ID, payment: pay.ID, rate: rate.ID}
}

func testIDText(t *testing.T, r *response, id string) string {
	t.Helper()
	s, ok := byTestID(r.doc, id)
	require.True(t, ok, "no element %q in:\n%s", id, r.body)
	return strings.Join(strings.Fields(s), " ")
}

// TestBillingPagesFlow is finance's day through the pages: a customer (with a refused form kept as
// typed), a draft with lines (a bad line refused in place), issue, a payment allocated in full, paid.
func TestBillingPagesFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	std, err := billing.TaxRateCreate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	c := b.signedIn(t, b.usersA[identity.RoleFinance])

	// 422 keeps what was typed, except the secret fields.
	c.get("/billing/customers/new")
	res := c.post("/billing/customers", url.Values{"name": {""}, "email": {"ap@initech.example"}, "currency": {"EUR"},
		"terms_days": {"abc"}, "tax_id": {"DE123456789"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Equal(t, "ap@initech.example", inputValue(res.doc, "email"))
	require.NotContains(t, res.body, "DE123456789", "secrets never travel back")
	require.Contains(t, testIDText(t, res, "error-summary"), "Enter the customer's name")
	require.Contains(t, testIDText(t, res, "error-summary"), "whole number of days")

	res = c.post("/billing/customers", url.Values{"name": {"Initech"}, "email": {"ap@initech.example"}, "currency": {"EUR"},
		"terms_days": {"14"}, "tax_id": {"DE123456789"}, "bank": {"DE89370400440532013000"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	custPath := res.location()
	res = c.get(custPath)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "•••• 6789", testIDText(t, res, "customer-taxid"))
	require.NotContains(t, res.body, "DE123456789")
	custID := strings.TrimPrefix(custPath, "/billing/customers/")

	res = c.post("/billing/invoices", url.Values{"customer_id": {custID}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	invPath := res.location()
	res = c.get(invPath)
	require.Equal(t, http.StatusOK, res.status)
	version := inputValue(res.doc, "version")
	rate := std.ID.String()
	require.Contains(t, res.body, `value="`+rate+`"`, "the rate is offered")

	// A negative quantity is refused in place (HTMX swaps the editor, 422), typed values kept.
	hx := http.Header{"HX-Request": {"true"}, "HX-Target": {"billing-editor"}}
	res = c.do(http.MethodPost, invPath+"/lines", url.Values{"_csrf": {c.token}, "version": {version}, "description": {"Consulting"},
		"quantity": {"-2"}, "unit_price": {"100.00"}, "tax_rate_id": {rate}}, hx)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "credit note")
	require.Equal(t, "Consulting", inputValue(res.doc, "description"))
	require.NotContains(t, res.body, "<html", "a fragment, not a page")

	res = c.do(http.MethodPost, invPath+"/lines", url.Values{"_csrf": {c.token}, "version": {version}, "description": {"Consulting"},
		"quantity": {"2.5"}, "unit_price": {"100.00"}, "tax_rate_id": {rate}}, hx)
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.Equal(t, "EUR 297.50", testIDText(t, res, "editor-total")) // 250.00 + 19 %
	version = inputValue(res.doc, "version")

	res = c.post(invPath+"/issue", url.Values{"version": {version}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = c.get(invPath)
	require.Contains(t, testIDText(t, res, "invoice-status"), "Issued")
	number := firstInvoiceNumber(time.Now())
	require.Contains(t, res.body, number)
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "line-form" }), "issued: no editor")

	// The PDF is prepared by its job (no workers here: render it as the job would), then downloads.
	invUUID, err := store.ParseID(strings.TrimPrefix(invPath, "/billing/invoices/"))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, c.get(invPath+"/pdf").status, "not rendered yet")
	require.Contains(t, testIDText(t, c.get(invPath), "invoice-pdf-state"), "Being prepared")
	_, err = billing.InvoicePDFEnsure(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, invUUID)
	require.NoError(t, err)
	res = c.get(invPath + "/pdf")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "application/pdf", res.header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(res.body, "%PDF-"))
	require.Contains(t, res.body, number)
	// Send by e-mail: queued, listed on the invoice.
	c.get(invPath)
	res = c.post(invPath+"/send", url.Values{"to": {"not-an-address"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	res = c.post(invPath+"/send", url.Values{"to": {"ap@initech.example"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = c.get(invPath)
	require.Contains(t, testIDText(t, res, "invoice-sends"), "Queued")

	// Record a payment from the invoice's "Record payment" link (prefilled with the balance).
	payHref := attr(findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "invoice-pay" })[0], "href")
	res = c.get(payHref)
	require.Equal(t, http.StatusOK, res.status)
	invID := strings.TrimPrefix(invPath, "/billing/invoices/")
	require.Equal(t, "297.50", inputValue(res.doc, "alloc_"+invID))
	// More than allocated without "keep credit" is refused, nothing recorded.
	res = c.post("/billing/payments", url.Values{"customer_id": {custID}, "amount": {"300.00"}, "received_on": {time.Now().Format("2006-01-02")},
		"method": {"bank_transfer"}, "alloc_" + invID: {"297.50"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "keep it as customer credit")
	require.Equal(t, "300.00", inputValue(res.doc, "amount"))
	res = c.post("/billing/payments", url.Values{"customer_id": {custID}, "amount": {"297.50"}, "received_on": {time.Now().Format("2006-01-02")},
		"method": {"bank_transfer"}, "reference": {"TX-1"}, "alloc_" + invID: {"297.50"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, invPath, res.location())
	res = c.get(invPath)
	require.Contains(t, testIDText(t, res, "invoice-status"), "Paid")
	require.Equal(t, "EUR 0.00", testIDText(t, res, "invoice-balance"))

	// The list shows it, the reports page draws the month, the auditor reads but does not write.
	res = c.get("/billing?status=paid")
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "invoice-row" }), 1)
	// The totals of the whole list or a status come with the page (from the tally); those of other
	// filters in a second request the page makes after itself, or with the page on totals=1 (no script).
	require.Contains(t, testIDText(t, res, "billing-totals"), "EUR · 1 invoices")
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "billing-totals-pending" }))
	res = c.get("/billing?customer=" + custID)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "invoice-row" }), 1)
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "billing-totals" }))
	pending := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "billing-totals-pending" })
	require.Len(t, pending, 1)
	require.Equal(t, "/billing/totals?customer="+custID, attr(pending[0], "hx-get"))
	require.Equal(t, "load", attr(pending[0], "hx-trigger"))
	res = c.do(http.MethodGet, attr(pending[0], "hx-get"), nil, http.Header{"HX-Request": {"true"}})
	require.Equal(t, http.StatusOK, res.status)
	require.NotContains(t, res.body, "<html", "a fragment, not a page")
	require.Contains(t, testIDText(t, res, "billing-totals"), "EUR · 1 invoices")
	require.Contains(t, testIDText(t, res, "billing-totals"), "Total EUR 297.50 · open EUR 0.00")
	// Filtering in place answers the results fragment alone (the form and its customer list stay).
	res = c.do(http.MethodGet, "/billing?customer="+custID, nil, http.Header{"HX-Request": {"true"}, "HX-Target": {"billing-invoice-results"}})
	require.Equal(t, http.StatusOK, res.status)
	require.NotContains(t, res.body, "<html")
	require.NotContains(t, res.body, `name="customer"`)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "invoice-row" }), 1)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "billing-totals-pending" }), 1)
	res = c.get("/billing?totals=1&customer=" + custID)
	require.Contains(t, testIDText(t, res, "billing-totals"), "Total EUR 297.50")
	res = c.get("/billing/reports")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, "<svg")
	aud := b.signedIn(t, b.usersA[identity.RoleAuditor])
	res = aud.get(invPath)
	require.Equal(t, http.StatusOK, res.status)
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "invoice-pay" }))
	require.Equal(t, http.StatusForbidden, aud.post(invPath+"/void", url.Values{"version": {"1"}, "reason": {"x"}}).status)

	// The customer's statement: the invoice and the payment, closing at zero.
	res = c.get(custPath + "/statement")
	require.Equal(t, http.StatusOK, res.status)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "statement-line" }), 2)
	require.Equal(t, "0.00", testIDText(t, res, "statement-closing"))
	require.Equal(t, http.StatusOK, c.get(custPath+"/statement?from=garbage").status)

	// A recurring invoice: a refused form keeps its input, a good one is listed.
	c.get("/billing/recurring")
	res = c.post("/billing/recurring", url.Values{"name": {"Hosting"}, "customer_id": {custID}, "schedule": {"monthly"},
		"start_date": {"2030-01-31"}, "description": {"Hosting"}, "quantity": {"0"}, "unit_price": {"49.00"}, "tax_rate_id": {rate}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Equal(t, "Hosting", inputValue(res.doc, "name"))
	res = c.post("/billing/recurring", url.Values{"name": {"Hosting"}, "customer_id": {custID}, "schedule": {"monthly"},
		"start_date": {"2030-01-31"}, "description": {"Hosting"}, "quantity": {"1"}, "unit_price": {"49.00"}, "tax_rate_id": {rate}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = c.get("/billing/recurring")
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "recurring-row" }), 1)
	require.Contains(t, res.body, "31 Jan 2030")

	// Tenant B's invoice is not found from tenant A.
	rowsB := b.billingB(t)
	require.Equal(t, http.StatusNotFound, c.get("/billing/invoices/"+rowsB.invoice.String()).status)
	require.Equal(t, http.StatusNotFound, c.post("/billing/invoices/"+rowsB.invoice.String()+"/issue", url.Values{"version": {"1"}}).status)
	htmx := http.Header{"Hx-Request": {"true"}}
	res = c.do(http.MethodGet, "/billing/totals?q="+url.QueryEscape(number), nil, htmx)
	require.Contains(t, testIDText(t, res, "billing-totals"), "EUR · 1 invoices", "tenant A's own invoice")
	res = c.do(http.MethodGet, "/billing/totals?customer="+rowsB.customer.String(), nil, htmx)
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "billing-totals" }), "tenant B's customer")
	// The fragment opened directly (a bookmark) is the list with its totals.
	res = c.get("/billing/totals?q=" + url.QueryEscape(number))
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/billing?q="+url.QueryEscape(number)+"&totals=1", res.header.Get("Location"))
	res = c.do(http.MethodGet, "/billing/totals?overdue=1&from=2000-01-01", nil, htmx)
	require.Equal(t, http.StatusOK, res.status)
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "billing-totals" }), "nothing overdue, tenant B's never counted")
}

// firstInvoiceNumber is the number of tenant A's first invoice (its zone is Europe/Berlin).
func firstInvoiceNumber(now time.Time) string {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		loc = time.UTC
	}
	return "INV-" + now.In(loc).Format("2006") + "-000001"
}

// TestBillingAPI: customers, a draft with lines, issue, a doubled payment POST with one idempotency key
// (one payment), the aging report, and tenant B's rows unseen.
func TestBillingAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	rate, err := billing.TaxRateCreate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	token := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleFinance], identity.BillingRead, identity.BillingWrite, identity.BillingIssue)

	res := b.api(t, http.MethodPost, "/customers", token, map[string]any{"name": "Initech", "currency": "EUR", "terms_days": 30, "tax_id": "DE123456789"})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	require.Equal(t, "•••• 6789", res.json["tax_id_masked"])
	cust := res.json["id"].(string)

	res = b.api(t, http.MethodPost, "/invoices", token, map[string]any{"customer_id": cust, "lines": []map[string]any{
		{"description": "Widgets", "quantity": "3", "unit_price": 1999, "tax_rate_id": rate.ID.String()}}})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	inv := res.json["id"].(string)
	require.Nil(t, res.json["number"])
	require.EqualValues(t, 5997+1139, res.json["total"]) // tax 1139.43 → 1139

	res = b.api(t, http.MethodPost, "/invoices/"+inv+"/lines", token, map[string]any{"description": "Refund", "quantity": "-1", "unit_price": 100, "tax_rate_id": rate.ID.String()})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, string(res.body))

	res = b.api(t, http.MethodPost, "/invoices/"+inv+"/issue", token, map[string]any{})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, "issued", res.json["status"])
	require.NotNil(t, res.json["number"])
	require.Equal(t, http.StatusNotFound, b.api(t, http.MethodGet, "/invoices/"+inv+"/pdf", token, nil).status, "being rendered")
	invUUID, err := store.ParseID(inv)
	require.NoError(t, err)
	_, err = billing.InvoicePDFEnsure(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, invUUID)
	require.NoError(t, err)
	pdf := b.api(t, http.MethodGet, "/invoices/"+inv+"/pdf", token, nil)
	require.Equal(t, http.StatusOK, pdf.status, string(pdf.body))
	require.Equal(t, "application/pdf", pdf.header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(string(pdf.body), "%PDF-"))
	res = b.api(t, http.MethodPost, "/invoices/"+inv+"/lines", token, map[string]any{"description": "Late", "quantity": "1", "unit_price": 100, "tax_rate_id": rate.ID.String()})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, "an issued invoice is frozen")

	body := map[string]any{"customer_id": cust, "amount": 3000, "received_on": "2026-03-01", "method": "bank_transfer",
		"allocations": []map[string]any{{"invoice_id": inv, "amount": 3000}}}
	key := http.Header{"Idempotency-Key": {"pay-" + store.NewID().String()}}
	first := apiDo(t, b.server.URL, http.MethodPost, "/api/v1/payments", token, body, key)
	require.Equal(t, http.StatusCreated, first.status, string(first.body))
	again := apiDo(t, b.server.URL, http.MethodPost, "/api/v1/payments", token, body, key)
	require.Equal(t, http.StatusCreated, again.status)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Equal(t, first.json["id"], again.json["id"])
	res = b.api(t, http.MethodGet, "/payments", token, nil)
	require.Len(t, res.json["data"], 1, "a doubled POST with one key records one payment")

	res = b.api(t, http.MethodGet, "/invoices/"+inv, token, nil)
	require.Equal(t, "partially_paid", res.json["status"])
	require.EqualValues(t, 7136-3000, res.json["balance"])
	// More than the balance, no credit kept: refused.
	res = b.api(t, http.MethodPost, "/payments", token, map[string]any{"customer_id": cust, "amount": 9000, "received_on": "2026-03-02",
		"method": "cash", "allocations": []map[string]any{{"invoice_id": inv, "amount": 9000}}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)

	res = b.api(t, http.MethodGet, "/reports/aging", token, nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	totals := res.json["totals"].([]any)
	require.Len(t, totals, 1)
	require.EqualValues(t, 4136, totals[0].(map[string]any)["total"])
	res = b.api(t, http.MethodGet, "/reports/revenue", token, nil)
	require.Equal(t, http.StatusOK, res.status, string(res.body))

	// Void is refused while paid in part; tenant B's rows are 404.
	res = b.api(t, http.MethodPost, "/invoices/"+inv+"/void", token, map[string]any{"reason": "x"})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	rowsB := b.billingB(t)
	for _, p := range []string{"/invoices/" + rowsB.invoice.String(), "/customers/" + rowsB.customer.String(), "/payments/" + rowsB.payment.String()} {
		require.Equal(t, http.StatusNotFound, b.api(t, http.MethodGet, p, token, nil).status, p)
	}
	require.Equal(t, http.StatusNotFound, b.api(t, http.MethodPost, "/invoices/"+rowsB.invoice.String()+"/void", token, map[string]any{"reason": "x"}).status)
	// A read-only token cannot issue.
	ro := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAuditor], identity.BillingRead)
	require.Equal(t, http.StatusForbidden, b.api(t, http.MethodPost, "/invoices/"+inv+"/void", ro, map[string]any{"reason": "x"}).status)
}

// The customer filter is a picker that suggests customers as someone types: the page holds only the
// chosen customer (by id in the URL, by name in the picker), never the tenant's list; the suggestions are
// the first matches by name, in the tenant only.
func TestBillingCustomerPicker(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	zed := store.NewID()
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_customers (id, name, currency)
			SELECT gen_random_uuid(), 'Aa customer ' || lpad(g::text, 3, '0'), 'EUR' FROM generate_series(1, 200) g`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO billing_customers (id, name, currency) VALUES ($1, 'Zed Works', 'EUR')`, zed)
		return err
	}))
	rowsB := b.billingB(t)
	c := b.signedIn(t, b.usersA[identity.RoleFinance])
	// picker returns the filter's hidden value and the picker's text.
	picker := func(res *response) (value, label string) {
		t.Helper()
		hidden := findAll(res.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == "customer" })
		require.Len(t, hidden, 1, res.body)
		require.Equal(t, "hidden", attr(hidden[0], "type"))
		box := findAll(res.doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "role") == "combobox" })
		require.Len(t, box, 1)
		require.Equal(t, "billing-customer-q", attr(box[0], "id"))
		require.Equal(t, "billing-customer-options", attr(box[0], "aria-controls"))
		require.Equal(t, attr(box[0], "value"), attr(box[0], "data-combobox-label"))
		labels := findAll(res.doc, func(n *html.Node) bool { return n.Data == "label" && attr(n, "for") == "billing-customer-q" })
		require.Len(t, labels, 1, "the picker has a label")
		return attr(hidden[0], "value"), attr(box[0], "value")
	}
	res := c.get("/billing")
	require.Equal(t, http.StatusOK, res.status)
	value, label := picker(res)
	require.Empty(t, value)
	require.Empty(t, label)
	require.NotContains(t, res.body, "Aa customer", "no customer list on the page")
	require.Empty(t, findAll(res.doc, func(n *html.Node) bool { return n.Data == "select" && attr(n, "name") == "customer" }))
	res = c.get("/billing?customer=" + zed.String())
	require.Equal(t, http.StatusOK, res.status)
	value, label = picker(res)
	require.Equal(t, zed.String(), value, "the chosen customer stays in the filter")
	require.Equal(t, "Zed Works (EUR)", label, "and is named")
	require.Equal(t, "Zed Works (EUR)", testIDText(t, res, "billing-customer-chosen"), "also without the script")
	// Another tenant's customer is not named; its invoices are not listed.
	res = c.get("/billing?customer=" + rowsB.customer.String())
	require.Equal(t, http.StatusOK, res.status)
	_, label = picker(res)
	require.Empty(t, label)
	require.NotContains(t, res.body, "Globex")
	_, ok := byTestID(res.doc, "billing-empty")
	require.True(t, ok)

	// options returns the suggestions' values and labels (the first is always "All customers").
	options := func(q string) (values, labels []string) {
		t.Helper()
		res := c.do(http.MethodGet, "/billing/customer-choices?q="+url.QueryEscape(q), nil, http.Header{"HX-Request": {"true"}})
		require.Equal(t, http.StatusOK, res.status, res.body)
		for _, o := range findAll(res.doc, func(n *html.Node) bool { return n.Data == "li" && attr(n, "role") == "option" }) {
			if attr(o, "aria-disabled") == "true" {
				continue
			}
			values = append(values, attr(o, "data-value"))
			labels = append(labels, attr(o, "data-label"))
		}
		require.NotEmpty(t, values, res.body)
		require.Equal(t, "", values[0], "all customers first")
		return values[1:], labels[1:]
	}
	values, labels := options("")
	require.Len(t, values, billing.CustomerMatchesMax, "the first few by name, not all")
	require.Equal(t, "Aa customer 001 (EUR)", labels[0])
	require.True(t, slices.IsSorted(labels), labels)
	values, labels = options("zed w")
	require.Equal(t, []string{zed.String()}, values)
	require.Equal(t, []string{"Zed Works (EUR)"}, labels)
	values, _ = options("customer 19")
	require.Len(t, values, 10) // 190-199
	values, _ = options("Globex")
	require.Empty(t, values, "another tenant's customers are never suggested")
	res = c.do(http.MethodGet, "/billing/customer-choices?q=nothing-like-it", nil, http.Header{"HX-Request": {"true"}})
	require.Contains(t, res.body, "No customer matches")
	// Opened directly, not by the picker: the customer list with the same search.
	res = c.get("/billing/customer-choices?q=Acme+1")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/billing/customers?q=Acme+1", res.header.Get("Location"))
}
