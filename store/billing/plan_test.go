package billing_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// planNodes flattens an EXPLAIN (FORMAT JSON) plan into "node type on relation using index" strings.
func planNodes(plan any, out *[]string) {
	switch v := plan.(type) {
	case map[string]any:
		if t, ok := v["Node Type"].(string); ok {
			s := t
			if r, ok := v["Relation Name"].(string); ok {
				s += " on " + r
			}
			if ix, ok := v["Index Name"].(string); ok {
				s += " using " + ix
			}
			*out = append(*out, s)
		}
		for _, x := range v {
			planNodes(x, out)
		}
	case []any:
		for _, x := range v {
			planNodes(x, out)
		}
	}
}

// TestInvoiceListPlans loads 30,000 invoices into tenant A (as the owner, in one statement: the tally
// trigger counts them too) and checks, through row-level security as the app runs them, that each list
// filter's page query walks the index made for it and never scans the invoices: the plans measured at
// 200,000 invoices in bench/README.md.
func TestInvoiceListPlans(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	// A thousand customers with 30 invoices each, as at bench scale (2,000 customers, 100 invoices each);
	// every third invoice paid; the newest 3,000 not yet due.
	rare := tb.customer(ctx, t, tb.sys, "Wayne", "EUR")
	_, err = conn.Exec(ctx, `INSERT INTO billing_customers (tenant_id, id, name, currency)
		SELECT $1, gen_random_uuid(), 'Customer ' || g, 'EUR' FROM generate_series(1, 999) g`, tb.a)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO billing_invoices (tenant_id, id, customer_id, status, series, year, seq, number, currency,
			issue_date, due_date, subtotal, tax_total, total, paid, balance, issued_at, created_at)
		SELECT $1, gen_random_uuid(), CASE WHEN g % 1000 = 0 THEN $2::uuid ELSE cs.ids[1 + g % 999] END,
			CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'issued' END, 'INV', 2025, g, 'INV-2025-' || lpad(g::text, 6, '0'), 'EUR',
			current_date - (30000 - g) / 100, current_date - (30000 - g) / 100 + CASE WHEN g > 27000 THEN 60 ELSE 14 END,
			1000, 190, 1190, CASE WHEN g % 3 = 0 THEN 1190 ELSE 0 END, CASE WHEN g % 3 = 0 THEN 0 ELSE 1190 END,
			now() - (30000 - g) * interval '1 minute', now() - (30000 - g) * interval '1 minute'
		FROM generate_series(1, 30000) g,
			(SELECT array_agg(id) AS ids FROM billing_customers WHERE tenant_id = $1 AND name LIKE 'Customer %') cs`, tb.a, rare.ID)
	require.NoError(t, err)
	for _, q := range []string{`VACUUM ANALYZE billing_invoices`, `ANALYZE billing_customers`} {
		_, err = conn.Exec(ctx, q)
		require.NoError(t, err)
	}
	requireTallyExact(ctx, t, tb.db, tb.a, "after a bulk insert")

	from, to := time.Now().AddDate(0, 0, -60), time.Now().AddDate(0, 0, -30)
	cases := []struct {
		name  string
		p     billing.InvoiceListParams
		index []string // the page walks one of these
	}{
		{"first page", billing.InvoiceListParams{}, []string{"billing_invoices_list_idx"}},
		{"status", billing.InvoiceListParams{Status: billing.StatusPaid}, []string{"billing_invoices_status_idx"}},
		{"overdue", billing.InvoiceListParams{Overdue: true}, []string{"billing_invoices_open_list_idx"}},
		{"date range", billing.InvoiceListParams{From: &from, To: &to}, []string{"billing_invoices_issue_date_idx"}},
		{"status in a date range", billing.InvoiceListParams{Status: billing.StatusPaid, From: &from, To: &to}, []string{"billing_invoices_issue_date_idx"}},
		{"customer", billing.InvoiceListParams{CustomerID: &rare.ID}, []string{"billing_invoices_customer_idx"}},
		// A name takes its customers' invoices; one that every customer shares walks the list instead.
		{"customer name", billing.InvoiceListParams{Search: "Wayne"}, []string{"billing_invoices_customer_idx"}},
		{"common customer name", billing.InvoiceListParams{Search: "Customer"}, []string{"billing_invoices_customer_idx", "billing_invoices_list_idx"}},
		{"customer name with a space", billing.InvoiceListParams{Search: "Customer 12"}, []string{"billing_invoices_customer_idx", "billing_invoices_list_idx"}},
		// A number with both dashes goes by year and sequence; a part of one through the trigram index.
		{"number", billing.InvoiceListParams{Search: "INV-2025-0123"}, []string{"billing_invoices_year_seq_idx"}},
		{"part of a number", billing.InvoiceListParams{Search: "2025-0123"}, []string{"billing_invoices_pkey"}},
	}
	for _, c := range cases {
		c.p.Limit = 20
		for _, after := range []bool{false, true} {
			p := c.p
			if after { // a deep page: the cursor's bound is an index condition too
				res, err := billing.InvoiceList(ctx, tb.db, tb.sys, p)
				require.NoError(t, err)
				require.NotEmpty(t, res.Next, c.name)
				p.After = res.Next
			}
			q, args, err := billing.InvoicePageQuery(p, tb.a)
			require.NoError(t, err)
			var raw []byte
			require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
				return tx.QueryRowContext(ctx, `EXPLAIN (FORMAT JSON) `+q, args...).Scan(&raw)
			}))
			var plan any
			require.NoError(t, json.Unmarshal(raw, &plan))
			var nodes []string
			planNodes(plan, &nodes)
			joined := strings.Join(nodes, "\n")
			require.NotContains(t, joined, "Seq Scan on billing_invoices", "%s (after %v):\n%s", c.name, after, joined)
			found := false
			for _, ix := range c.index {
				found = found || strings.Contains(joined, "using "+ix)
			}
			require.True(t, found, "%s (after %v) walks %v:\n%s", c.name, after, c.index, joined)
		}
	}

	// Text no number holds reads the customers' branch alone: the same invoices as ILIKE on the names.
	var want int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM billing_invoices i JOIN billing_customers c ON c.id = i.customer_id
		WHERE i.tenant_id = $1 AND c.name ILIKE '%customer 99%'`, tb.a).Scan(&want))
	require.NotZero(t, want)
	named, err := billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Search: "customer 99", Limit: 200})
	require.NoError(t, err)
	require.Len(t, named.Invoices, int(min(want, 200)))
	for _, inv := range named.Invoices {
		require.Contains(t, inv.CustomerName, "Customer 99")
	}

	// The search by year and sequence finds exactly what ILIKE over every number finds, on the page and in
	// the totals: whole and partial numbers, other cases, the series' end, wider and impossible terms.
	for _, term := range []string{"INV-2025-0123", "INV 2025", "2025-0123", "0123", "inv-2025-01", "inv-2025-01230", "NV-2025-012", "INV-2025-", "V-2025-029999",
		"INV-2025-000001", "INV-2025-1", "INV-2025-0000001", "INV-2024-0123", "XINV-2025-0123", "INV-02025-0123",
		"INV-2025-0123-", "-2025-03", "INV-2025-01%", "INV-2025-01_3", "INV-2025- 0123"} {
		var want int64
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM billing_invoices WHERE tenant_id = $1 AND number ILIKE $2`,
			tb.a, "%"+strings.NewReplacer(`%`, `\%`, `_`, `\_`).Replace(term)+"%").Scan(&want))
		totals, err := billing.InvoiceTotals(ctx, tb.db, tb.sys, billing.InvoiceListParams{Search: term})
		require.NoError(t, err)
		var got int64
		for _, x := range totals {
			got += x.Count
		}
		require.Equal(t, want, got, "totals of %q", term)
		res, err := billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Search: term, Limit: 200})
		require.NoError(t, err)
		require.Len(t, res.Invoices, int(min(want, 200)), "page of %q", term)
		for _, inv := range res.Invoices {
			require.Contains(t, strings.ToUpper(inv.Title()), strings.ToUpper(term), "page of %q", term)
		}
	}
}
