package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/inventory"
)

// Billing bench data: the large tenant gets 200,000 invoices with 1,000,000 lines, its customers, the
// payments and allocations of the paid and partially paid ones, the gapless invoice counters and the audit
// events of issuing and paying; each ordinary tenant gets a few hundred invoices. Settings and tax rates go
// through the store; the bulk rows go in with COPY as the owner, computed by the store's own rules
// (billing.LineAmounts for every line, Totals for the invoice, statuses by the CHECK constraints).
const (
	largeInvoices        = 200_000
	largeCustomers       = 2_000
	smallTenantInvoices  = 300
	smallTenantCustomers = 20
)

func init() { benchModules = append(benchModules, seedLargeBilling) }

type benchInvoiceLine struct {
	id              store.ID
	desc            string
	qty             billing.Qty
	price           int64
	rate            int
	net, tax, gross int64
	rateName        string
	rateID          store.ID
	position        int
}

type benchInvoice struct {
	id, customer        store.ID
	created             time.Time
	status              billing.Status
	issue, due          time.Time
	terms               int
	lines               []benchInvoiceLine
	sub, tax, total     int64
	paid                int64
	year                int
	seq                 int64
	number              string
	voidReason          string
	payID, allocID      store.ID
	paidOn              time.Time
	actor               store.ID
	issuedAt, updatedAt time.Time
}

var benchInvoiceCatalog = []struct {
	desc  string
	price int64
}{{"Consulting (hours)", 12000}, {"Maintenance contract", 49900}, {"Spare parts kit", 2450}, {"On-site installation", 85000},
	{"Training day", 65000}, {"Shipping", 1500}, {"Software licence (seat)", 3900}, {"Hardware rental (month)", 17500},
	{"Support plan (month)", 29900}, {"Travel expenses", 8800}}

func seedLargeBilling(ctx context.Context, db *store.DB, owner *pgx.Conn, t benchTenant, stdout io.Writer) error {
	var has bool
	if err := owner.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM billing_invoices WHERE tenant_id = $1)`, t.ID).Scan(&has); err != nil {
		return fmt.Errorf("error checking bench invoices: %w", err)
	}
	if has {
		return nil
	}
	t0 := time.Now()
	scope := store.Scope{TenantID: t.ID}
	var currency string
	if err := owner.QueryRow(ctx, `SELECT currency FROM tenants WHERE id = $1`, t.ID).Scan(&currency); err != nil {
		return fmt.Errorf("error reading tenant currency: %w", err)
	}
	settings, err := billing.SettingsGet(ctx, db, scope)
	if err != nil {
		return err
	}
	rates, err := billing.TaxRateList(ctx, db, scope)
	if err != nil {
		return err
	}
	if len(rates) == 0 {
		for _, r := range []billing.TaxRateCreateParams{{Name: "Standard", RateBP: 1900}, {Name: "Reduced", RateBP: 700}} {
			tr, err := billing.TaxRateCreate(ctx, db, scope, r)
			if err != nil {
				return fmt.Errorf("error creating bench tax rate: %w", err)
			}
			rates = append(rates, *tr)
		}
	}
	nInv, nCust := smallTenantInvoices, smallTenantCustomers
	if t.Large {
		nInv, nCust = largeInvoices, largeCustomers
	}
	r := rand.New(rand.NewPCG(t.Seed, 1<<61)) // #nosec G404 -- bench data, deliberately repeatable
	yearAgo := t.Now.AddDate(-1, 0, 0)

	type benchCustomer struct {
		id      store.ID
		name    string
		terms   int
		created time.Time
	}
	customers := make([]benchCustomer, nCust)
	for i := range customers {
		created := yearAgo.Add(time.Duration(i) * time.Hour)
		customers[i] = benchCustomer{id: uuidAt(created, r), name: fmt.Sprintf("%s %s %04d", demoCategories[i%len(demoCategories)].name,
			[]string{"GmbH", "Ltd", "Inc", "AG", "SARL", "BV"}[i%6], i), terms: []int{14, 30, 30, 45, 60}[i%5], created: created}
	}

	// Invoices in creation order over the year; the last ones are the drafts being written now.
	span := t.Now.Sub(yearAgo.Add(time.Duration(nCust) * time.Hour))
	invoices := make([]benchInvoice, nInv)
	for k := range invoices {
		inv := &invoices[k]
		c := customers[r.IntN(nCust)]
		inv.customer, inv.terms = c.id, c.terms
		inv.created = c.created.Add(time.Hour)
		if at := yearAgo.Add(time.Duration(nCust)*time.Hour + time.Duration(int64(span)/int64(nInv)*int64(k))); at.After(inv.created) {
			inv.created = at
		}
		inv.created = inv.created.Add(time.Duration(r.Int64N(int64(time.Minute))))
		inv.id = uuidAt(inv.created, r)
		inv.actor = t.Actors[r.IntN(len(t.Actors))]
		n := 1 + r.IntN(9) // 5 lines on average
		for p := range n {
			item := benchInvoiceCatalog[r.IntN(len(benchInvoiceCatalog))]
			rt := rates[r.IntN(len(rates))]
			l := benchInvoiceLine{id: uuidAt(inv.created, r), desc: item.desc, qty: billing.Units(int64(1 + r.IntN(20))),
				price: item.price + int64(r.IntN(1000)), rate: rt.RateBP, rateName: rt.Name, rateID: rt.ID, position: p}
			l.net, l.tax, l.gross, err = billing.LineAmounts(l.qty, l.price, l.rate, settings.PricesIncludeTax)
			if err != nil {
				return fmt.Errorf("error computing a bench line: %w", err)
			}
			inv.sub += l.net
			inv.tax += l.tax
			inv.lines = append(inv.lines, l)
		}
		inv.total = inv.sub + inv.tax
		inv.updatedAt = inv.created
		draft := r.IntN(100) < 4 || k >= nInv-nInv/200 // 4 % abandoned or pending drafts, and the newest ones
		if draft {
			inv.status = billing.StatusDraft
			continue
		}
		// Issued the same day, numbered in creation order (gapless per year, below).
		inv.issuedAt = inv.created.Add(time.Duration(1+r.IntN(120)) * time.Minute)
		inv.updatedAt = inv.issuedAt
		inv.issue = inv.created.Truncate(24 * time.Hour)
		inv.due = inv.issue.AddDate(0, 0, inv.terms)
		inv.year = inv.issue.Year()
		age := t.Now.Sub(inv.issue)
		switch x := r.IntN(100); {
		case x < 3:
			inv.status = billing.StatusVoid
			inv.voidReason = "Issued to the wrong customer"
			inv.updatedAt = inv.issuedAt.Add(time.Hour)
		case x < 13 && age > 7*24*time.Hour:
			inv.status, inv.paid = billing.StatusPartiallyPaid, inv.total/2
		case x < 78 && age > 7*24*time.Hour:
			inv.status, inv.paid = billing.StatusPaid, inv.total
		default:
			inv.status = billing.StatusIssued
		}
		if inv.paid > 0 {
			days := min(int(age.Hours()/24)-1, 5+r.IntN(inv.terms+15))
			inv.paidOn = inv.issue.AddDate(0, 0, days)
			inv.payID = uuidAt(inv.paidOn.Add(10*time.Hour), r)
			inv.allocID = uuidAt(inv.paidOn.Add(10*time.Hour), r)
			inv.updatedAt = inv.paidOn.Add(10 * time.Hour)
		}
	}
	// Gapless numbers per year in issue order (creation order equals issue order here).
	counters := map[int]int64{}
	for k := range invoices {
		inv := &invoices[k]
		if inv.status == billing.StatusDraft {
			continue
		}
		counters[inv.year]++
		inv.seq = counters[inv.year]
		inv.number = billing.DocumentNumber(settings.InvoiceSeries, inv.year, inv.seq)
	}

	tx, err := owner.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return err
	}
	// The line trigger refuses lines of issued invoices (and looks the invoice up per row); these invoices
	// are issued with their lines already in place, as the app leaves them. Off for this transaction only.
	if _, err := tx.Exec(ctx, `ALTER TABLE billing_invoice_lines DISABLE TRIGGER billing_invoice_lines_frozen`); err != nil {
		return fmt.Errorf("error pausing the line trigger: %w", err)
	}
	ci := 0
	if _, err := copyRows(ctx, tx, "billing_customers", []string{"tenant_id", "id", "name", "email", "address", "currency",
		"terms_days", "created_at", "updated_at"}, func() ([]any, error) {
		if ci == len(customers) {
			return nil, nil
		}
		c := customers[ci]
		ci++
		return []any{t.ID, c.id, c.name, fmt.Sprintf("accounts%04d@%s.example", ci, t.Slug), fmt.Sprintf("%d Bench Road\nBench City", ci),
			currency, c.terms, c.created, c.created}, nil
	}); err != nil {
		return err
	}
	ii := 0
	if _, err := copyRows(ctx, tx, "billing_invoices", []string{"tenant_id", "id", "customer_id", "status", "series", "year", "seq",
		"number", "currency", "prices_include_tax", "issue_date", "due_date", "terms_days", "subtotal", "tax_total", "total", "paid",
		"credited", "balance", "void_reason", "issued_at", "voided_at", "paid_at", "created_at", "updated_at", "version"}, func() ([]any, error) {
		if ii == len(invoices) {
			return nil, nil
		}
		inv := &invoices[ii]
		ii++
		var series, year, seq, number, issue, due, issuedAt, voidedAt, paidAt any
		version := 1 + len(inv.lines) // created, then each line added
		if inv.status != billing.StatusDraft {
			series, year, seq, number = settings.InvoiceSeries, inv.year, inv.seq, inv.number
			issue, due, issuedAt = inv.issue, inv.due, inv.issuedAt
			version++
		}
		switch inv.status {
		case billing.StatusVoid:
			voidedAt = inv.updatedAt
			version++
		case billing.StatusPaid:
			paidAt = inv.updatedAt
			version++
		case billing.StatusPartiallyPaid:
			version++
		}
		balance := inv.total - inv.paid
		if inv.status == billing.StatusVoid {
			balance = inv.total
		}
		return []any{t.ID, inv.id, inv.customer, string(inv.status), series, year, seq, number, currency, settings.PricesIncludeTax,
			issue, due, inv.terms, inv.sub, inv.tax, inv.total, inv.paid, int64(0), balance, inv.voidReason, issuedAt, voidedAt, paidAt,
			inv.created, inv.updatedAt, version}, nil
	}); err != nil {
		return err
	}
	ii = 0
	var pending [][]any
	nLines, err := copyRows(ctx, tx, "billing_invoice_lines", []string{"tenant_id", "invoice_id", "id", "position", "description",
		"quantity", "unit_price", "tax_rate_id", "tax_name", "tax_rate_bp", "net", "tax", "gross"}, func() ([]any, error) {
		for len(pending) == 0 {
			if ii == len(invoices) {
				return nil, nil
			}
			inv := &invoices[ii]
			ii++
			for _, l := range inv.lines {
				pending = append(pending, []any{t.ID, inv.id, l.id, l.position, l.desc, numeric3(int64(l.qty)), l.price, l.rateID,
					l.rateName, l.rate, l.net, l.tax, l.gross})
			}
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	})
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `ALTER TABLE billing_invoice_lines ENABLE TRIGGER billing_invoice_lines_frozen`); err != nil {
		return fmt.Errorf("error restoring the line trigger: %w", err)
	}
	// One payment per paid or partially paid invoice, fully allocated to it, in time order.
	var paid []*benchInvoice
	for k := range invoices {
		if invoices[k].paid > 0 {
			paid = append(paid, &invoices[k])
		}
	}
	sort.SliceStable(paid, func(a, b int) bool { return paid[a].paidOn.Before(paid[b].paidOn) })
	pi := 0
	methods := []billing.Method{billing.MethodBankTransfer, billing.MethodBankTransfer, billing.MethodBankTransfer, billing.MethodCard, billing.MethodCheque}
	if _, err := copyRows(ctx, tx, "billing_payments", []string{"tenant_id", "id", "customer_id", "currency", "amount", "allocated",
		"received_on", "method", "reference", "actor_id", "created_at"}, func() ([]any, error) {
		if pi == len(paid) {
			return nil, nil
		}
		inv := paid[pi]
		pi++
		return []any{t.ID, inv.payID, inv.customer, currency, inv.paid, inv.paid, inv.paidOn, string(methods[pi%len(methods)]),
			"Remittance " + inv.number, inv.actor, inv.updatedAt}, nil
	}); err != nil {
		return err
	}
	pi = 0
	if _, err := copyRows(ctx, tx, "billing_allocations", []string{"tenant_id", "id", "payment_id", "invoice_id", "amount", "created_at"},
		func() ([]any, error) {
			if pi == len(paid) {
				return nil, nil
			}
			inv := paid[pi]
			pi++
			return []any{t.ID, inv.allocID, inv.payID, inv.id, inv.paid, inv.updatedAt}, nil
		}); err != nil {
		return err
	}
	for year, last := range counters {
		if _, err := tx.Exec(ctx, `INSERT INTO billing_counters (tenant_id, kind, series, year, last) VALUES ($1, 'invoice', $2, $3, $4)
			ON CONFLICT (tenant_id, kind, series, year) DO UPDATE SET last = greatest(billing_counters.last, EXCLUDED.last)`,
			t.ID, settings.InvoiceSeries, year, last); err != nil {
			return fmt.Errorf("error setting the invoice counter: %w", err)
		}
	}
	// Audit: each invoice's creation and issue (or void), and each payment, as the store records them.
	ii, pi = 0, 0
	nAudit, err := copyRows(ctx, tx, "audit_events", []string{"tenant_id", "id", "occurred_at", "actor_id", "action", "entity_type",
		"entity_id", "before", "after", "request_id", "client_ip"}, func() ([]any, error) {
		for len(pending) == 0 {
			if ii == len(invoices) {
				if pi == len(paid) {
					return nil, nil
				}
				inv := paid[pi]
				pi++
				pending = append(pending, []any{t.ID, uuidAt(inv.updatedAt, r), inv.updatedAt, inv.actor, "billing.payment_record",
					"billing_payment", inv.payID.String(), nil, fmt.Sprintf(`{"id":%q,"amount":%d,"allocated":%d,"reference":%q}`,
						inv.payID, inv.paid, inv.paid, "Remittance "+inv.number), "", "10.0.0.3"})
				continue
			}
			inv := &invoices[ii]
			ii++
			pending = append(pending, []any{t.ID, uuidAt(inv.created, r), inv.created, inv.actor, "billing.invoice_create",
				"billing_invoice", inv.id.String(), nil, fmt.Sprintf(`{"id":%q,"customer_id":%q,"status":"draft"}`, inv.id, inv.customer),
				"", "10.0.0.3"})
			if inv.status != billing.StatusDraft {
				pending = append(pending, []any{t.ID, uuidAt(inv.issuedAt, r), inv.issuedAt, inv.actor, "billing.invoice_issue",
					"billing_invoice", inv.id.String(), `{"status":"draft"}`, fmt.Sprintf(`{"id":%q,"number":%q,"status":"issued","total":%d}`,
						inv.id, inv.number, inv.total), "", "10.0.0.3"})
			}
			if inv.status == billing.StatusVoid {
				pending = append(pending, []any{t.ID, uuidAt(inv.updatedAt, r), inv.updatedAt, inv.actor, "billing.invoice_void",
					"billing_invoice", inv.id.String(), `{"status":"issued"}`, fmt.Sprintf(`{"id":%q,"number":%q,"status":"void","void_reason":%q}`,
						inv.id, inv.number, inv.voidReason), "", "10.0.0.3"})
			}
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	})
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("error committing bench invoices: %w", err)
	}
	for _, table := range []string{"billing_customers", "billing_invoices", "billing_invoice_lines", "billing_payments", "billing_allocations"} {
		if t.Large || t.Slug == fmt.Sprintf("bench-t%02d", smallTenants) {
			if _, err := owner.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
				return fmt.Errorf("error vacuuming %s: %w", table, err)
			}
		}
	}
	if t.Large {
		fmt.Fprintf(stdout, "seed large: %s: %d customers, %d invoices, %d lines, %d payments, %d audit events in %s\n",
			t.Slug, len(customers), len(invoices), nLines, len(paid), nAudit, time.Since(t0).Round(time.Second))
	}
	return nil
}

// numeric3 is a quantity in thousandths as a numeric(15,3).
func numeric3(thousandths int64) any {
	return numeric(inventory.Qty(thousandths))
}
