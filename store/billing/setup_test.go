package billing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// testBundle is a fresh database with two tenants. Tenant A (EUR) has a member of every role, a standard
// and a reduced tax rate and two EUR customers and one USD customer; tenant B (JPY) has its own customer.
type testBundle struct {
	db       *store.DB
	ownerURL string
	a, b     store.ID
	sys      store.Scope
	sysB     store.Scope
	as       map[identity.Role]store.Scope
	std      *billing.TaxRate // 19 %
	reduced  *billing.TaxRate // 7 %
	cust     *billing.Customer
	cust2    *billing.Customer
	custUSD  *billing.Customer
	stdB     *billing.TaxRate
	custB    *billing.Customer
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	b := storetest.New(t)
	tb := &testBundle{db: b.DB, ownerURL: b.OwnerURL, as: map[identity.Role]store.Scope{}}
	tenant := func(slug, currency string) store.ID {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
			Name: "Tenant " + slug, Slug: slug, TimeZone: "UTC", Currency: currency})
		require.NoError(t, err)
		return ten.ID
	}
	tb.a, tb.b = tenant("bill-a", "EUR"), tenant("bill-b", "JPY")
	tb.sys, tb.sysB = store.Scope{TenantID: tb.a}, store.Scope{TenantID: tb.b}
	for _, role := range identity.Roles {
		id := store.NewID()
		_, err := tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
			id, string(role)+"@bill.example", strings.ToUpper(string(role[:1]))+string(role[1:]))
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, tb.db, tb.sys, identity.MemberAddParams{UserID: id, Role: role}))
		tb.as[role] = store.Scope{TenantID: tb.a, ActorID: id}
	}
	tb.std = tb.rate(ctx, t, tb.sys, "Standard", 1900)
	tb.reduced = tb.rate(ctx, t, tb.sys, "Reduced", 700)
	tb.cust = tb.customer(ctx, t, tb.sys, "Initech", "EUR")
	tb.cust2 = tb.customer(ctx, t, tb.sys, "Umbrella", "EUR")
	tb.custUSD = tb.customer(ctx, t, tb.sys, "Hooli", "USD")
	tb.stdB = tb.rate(ctx, t, tb.sysB, "Consumption", 1000)
	tb.custB = tb.customer(ctx, t, tb.sysB, "Kaisha", "JPY")
	return tb, ctx
}

func (tb *testBundle) rate(ctx context.Context, t *testing.T, sc store.Scope, name string, bp int) *billing.TaxRate {
	t.Helper()
	r, err := billing.TaxRateCreate(ctx, tb.db, sc, billing.TaxRateCreateParams{Name: name, RateBP: bp})
	require.NoError(t, err)
	return r
}

func (tb *testBundle) customer(ctx context.Context, t *testing.T, sc store.Scope, name, currency string) *billing.Customer {
	t.Helper()
	c, err := billing.CustomerCreate(ctx, tb.db, sc, billing.CustomerFields{Name: name, Email: strings.ToLower(name) + "@example.com",
		Currency: currency, TermsDays: 14})
	require.NoError(t, err)
	return c
}

// draft makes a draft for customer with one line per (quantity, unit price) pair at the standard rate.
func (tb *testBundle) draft(ctx context.Context, t *testing.T, sc store.Scope, customer store.ID, rate store.ID, lines ...[2]int64) *billing.Invoice {
	t.Helper()
	inv, err := billing.InvoiceCreate(ctx, tb.db, sc, billing.InvoiceCreateParams{CustomerID: customer})
	require.NoError(t, err)
	for _, l := range lines {
		inv, err = billing.InvoiceLineAdd(ctx, tb.db, sc, inv.ID, 0, billing.LineParams{Description: "Work",
			Quantity: billing.Units(l[0]), UnitPrice: l[1], TaxRateID: rate})
		require.NoError(t, err)
	}
	return inv
}

// issued makes and issues an invoice of tenant A for customer.
func (tb *testBundle) issued(ctx context.Context, t *testing.T, customer store.ID, lines ...[2]int64) *billing.Invoice {
	t.Helper()
	inv := tb.draft(ctx, t, tb.sys, customer, tb.std.ID, lines...)
	inv, err := billing.InvoiceIssue(ctx, tb.db, tb.sys, billing.InvoiceIssueParams{ID: inv.ID})
	require.NoError(t, err)
	return inv
}

func (tb *testBundle) invoice(ctx context.Context, t *testing.T, id store.ID) *billing.InvoiceDetail {
	t.Helper()
	d, err := billing.InvoiceGet(ctx, tb.db, tb.sys, id)
	require.NoError(t, err)
	return d
}

func requireCode(t *testing.T, err error, code store.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), "%v", err)
	if msg != "" {
		require.Contains(t, err.Error(), msg)
	}
}

// balanceViolations checks, in tenant, every rule that ties balances to their ledgers: invoice paid equals
// its live allocations, credited its credit notes, balance total − paid − credited and never negative;
// a payment's allocated equals its live allocations and never exceeds its amount; reversed payments have
// no live allocation; the status matches the amounts.
func balanceViolations(ctx context.Context, t *testing.T, db *store.DB, tenant store.ID) []string {
	t.Helper()
	var bad []string
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &bad, `
			SELECT 'invoice ' || i.id || ': paid ' || i.paid || ' but allocations ' || coalesce(a.s, 0)
			FROM billing_invoices i LEFT JOIN (SELECT invoice_id, sum(amount) s FROM billing_allocations
				WHERE reversed_at IS NULL GROUP BY 1) a ON a.invoice_id = i.id
			WHERE i.paid <> coalesce(a.s, 0)
			UNION ALL
			SELECT 'invoice ' || i.id || ': credited ' || i.credited || ' but credit notes ' || coalesce(n.s, 0)
			FROM billing_invoices i LEFT JOIN (SELECT invoice_id, sum(amount) s FROM billing_credit_notes GROUP BY 1) n
				ON n.invoice_id = i.id
			WHERE i.credited <> coalesce(n.s, 0)
			UNION ALL
			SELECT 'invoice ' || id || ': balance ' || balance || ' is not total - paid - credited'
			FROM billing_invoices WHERE balance <> total - paid - credited OR balance < 0
			UNION ALL
			SELECT 'invoice ' || id || ': total ' || total || ' is not the sum of its lines'
			FROM billing_invoices i WHERE total <> (SELECT coalesce(sum(gross), 0) FROM billing_invoice_lines l WHERE l.invoice_id = i.id)
			UNION ALL
			SELECT 'invoice ' || id || ': status ' || status || ' does not match balance ' || balance
			FROM billing_invoices WHERE status IN ('issued', 'partially_paid', 'paid') AND
				status <> CASE WHEN balance = 0 THEN 'paid' WHEN paid = 0 AND credited = 0 THEN 'issued' ELSE 'partially_paid' END
			UNION ALL
			SELECT 'payment ' || p.id || ': allocated ' || p.allocated || ' but allocations ' || coalesce(a.s, 0)
			FROM billing_payments p LEFT JOIN (SELECT payment_id, sum(amount) s FROM billing_allocations
				WHERE reversed_at IS NULL GROUP BY 1) a ON a.payment_id = p.id
			WHERE p.allocated <> coalesce(a.s, 0) OR p.allocated > p.amount
			UNION ALL
			SELECT 'allocation ' || a.id || ' is live on reversed payment ' || p.id
			FROM billing_allocations a JOIN billing_payments p ON p.id = a.payment_id
			WHERE a.reversed_at IS NULL AND p.reversed_at IS NOT NULL`)
	}))
	return bad
}

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}
