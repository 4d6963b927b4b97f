package billing_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

// freshTotals sums tenant's invoices directly (as the list did before the tally): the totals the list
// must show for status s ("" for all).
func freshTotals(ctx context.Context, t *testing.T, db *store.DB, tenant store.ID, s billing.Status) []billing.CurrencyTotal {
	t.Helper()
	var out []billing.CurrencyTotal
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &out, `SELECT currency, count(*) AS count,
			coalesce(sum(total) FILTER (WHERE status <> 'void'), 0)::bigint AS total,
			coalesce(sum(balance) FILTER (WHERE status IN ('issued', 'partially_paid')), 0)::bigint AS balance
			FROM billing_invoices WHERE $1 = '' OR status = $1 GROUP BY currency ORDER BY currency`, string(s))
	}))
	return out
}

// requireTallyExact checks that the list's totals (from the tally) equal a fresh sum over the invoices,
// for the whole list and for every status, in tenant.
func requireTallyExact(ctx context.Context, t *testing.T, db *store.DB, tenant store.ID, msg string) {
	t.Helper()
	for _, s := range append([]billing.Status{""}, billing.Statuses...) {
		got, err := billing.InvoiceTotals(ctx, db, store.Scope{TenantID: tenant}, billing.InvoiceListParams{Status: s})
		require.NoError(t, err)
		require.Equal(t, freshTotals(ctx, t, db, tenant, s), got, "%s, status %q", msg, s)
	}
}

// tallyRows counts tenant's tally rows.
func tallyRows(ctx context.Context, t *testing.T, db *store.DB, tenant store.ID) int {
	t.Helper()
	var n int
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &n, `SELECT count(*) FROM billing_invoice_tallies`)
	}))
	return n
}

// fold folds tenant's tally rows now (the triggers do it now and then by themselves).
func fold(ctx context.Context, t *testing.T, db *store.DB, tenant store.ID) {
	t.Helper()
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `SELECT billing_invoice_tally_fold($1)`, tenant)
		return err
	}))
}

// TestInvoiceTallyMatchesInvoices runs a random walk over everything that changes an invoice (drafts in
// two currencies, lines added and removed, issue, void, payments, allocations of credit, credit notes,
// reversals) in tenant A, with tenant B working alongside, and checks after every step that the totals
// the list reads from the tally equal a fresh sum over the invoices, for the list and every status; and
// that folding keeps them and shrinks the tally to one row per currency and status.
func TestInvoiceTallyMatchesInvoices(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	rng := rand.New(rand.NewPCG(7, 2026))
	customers := []store.ID{tb.cust.ID, tb.cust2.ID, tb.custUSD.ID}
	var drafts, issued, payments []store.ID
	refused := 0
	for step := range 200 {
		var err error
		switch op := rng.IntN(12); {
		case op < 2 || len(drafts) == 0:
			inv := tb.draft(ctx, t, fin, customers[rng.IntN(len(customers))], tb.std.ID, [2]int64{int64(1 + rng.IntN(4)), int64(1 + rng.IntN(9000))})
			drafts = append(drafts, inv.ID)
		case op < 3:
			_, err = billing.InvoiceLineAdd(ctx, tb.db, fin, drafts[rng.IntN(len(drafts))], 0, billing.LineParams{Description: "More",
				Quantity: billing.Units(int64(1 + rng.IntN(3))), UnitPrice: int64(rng.IntN(5000)), TaxRateID: tb.reduced.ID})
		case op < 4:
			id := drafts[rng.IntN(len(drafts))]
			if lines := tb.invoice(ctx, t, id).Lines; len(lines) > 1 {
				_, err = billing.InvoiceLineRemove(ctx, tb.db, fin, id, 0, lines[rng.IntN(len(lines))].ID)
			}
		case op < 6:
			i := rng.IntN(len(drafts))
			if _, err = billing.InvoiceIssue(ctx, tb.db, fin, billing.InvoiceIssueParams{ID: drafts[i]}); err == nil {
				issued = append(issued, drafts[i])
				drafts = append(drafts[:i], drafts[i+1:]...)
			}
		case len(issued) == 0:
		case op < 7:
			_, err = billing.InvoiceVoid(ctx, tb.db, fin, billing.InvoiceVoidParams{ID: issued[rng.IntN(len(issued))], Reason: "Tally test"})
		case op < 9:
			inv := tb.invoice(ctx, t, issued[rng.IntN(len(issued))])
			var p *billing.PaymentDetail
			amount := int64(1 + rng.IntN(int(inv.Total+1)))
			if rng.IntN(2) == 0 && inv.Balance > 0 {
				amount = inv.Balance // paid in full
			}
			p, err = billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: inv.CustomerID, Amount: amount + int64(rng.IntN(500)),
				ReceivedOn: day("2026-03-01"), Method: billing.MethodCard, KeepCredit: true,
				Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: amount}}})
			if err == nil {
				payments = append(payments, p.ID)
			}
		case op < 10 && len(payments) > 0:
			_, err = billing.PaymentAllocate(ctx, tb.db, fin, payments[rng.IntN(len(payments))],
				[]billing.Allocation{{InvoiceID: issued[rng.IntN(len(issued))], Amount: int64(1 + rng.IntN(300))}})
		case op < 11:
			_, err = billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: issued[rng.IntN(len(issued))],
				Amount: ptr(int64(1 + rng.IntN(2000))), Reason: "Tally test"})
		case len(payments) > 0:
			_, err = billing.PaymentReverse(ctx, tb.db, fin, billing.PaymentReverseParams{ID: payments[rng.IntN(len(payments))], Reason: "Tally test"})
		}
		if err != nil {
			require.Equal(t, store.Invalid, store.ErrorCode(err), "step %d: %v", step, err)
			refused++
		}
		if step%10 == 0 { // tenant B works too: its changes never reach A's tally
			tb.draft(ctx, t, tb.sysB, tb.custB.ID, tb.stdB.ID, [2]int64{1, int64(100 + step)})
		}
		requireTallyExact(ctx, t, tb.db, tb.a, "tenant A after step "+strconv.Itoa(step))
		if step%50 == 49 {
			fold(ctx, t, tb.db, tb.a)
			requireTallyExact(ctx, t, tb.db, tb.a, "tenant A folded after step "+strconv.Itoa(step))
			var keys int
			require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
				return tx.GetContext(ctx, &keys, `SELECT count(DISTINCT (currency, status)) FROM billing_invoices`)
			}))
			require.LessOrEqual(t, tallyRows(ctx, t, tb.db, tb.a), keys, "folded: one row per currency and status")
		}
	}
	require.Greater(t, refused, 0, "the walk met refusals")
	require.Greater(t, len(issued), 20, "the walk issued invoices")
	requireTallyExact(ctx, t, tb.db, tb.b, "tenant B")
	// Every status occurred, so each tally row was exercised.
	for _, s := range billing.Statuses {
		require.NotEmpty(t, freshTotals(ctx, t, tb.db, tb.a, s), "status %s occurred", s)
	}
}

// TestInvoiceTallyConcurrent has eight members create, issue and pay invoices at once: the delta rows and
// the folds (which skip rows another transaction holds) never lose or double a change.
func TestInvoiceTallyConcurrent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 12 {
				inv, err := billing.InvoiceCreate(ctx, tb.db, fin, billing.InvoiceCreateParams{CustomerID: tb.cust.ID})
				if err == nil {
					inv, err = billing.InvoiceLineAdd(ctx, tb.db, fin, inv.ID, 0, billing.LineParams{Description: "Work",
						Quantity: billing.Units(1), UnitPrice: int64(1000 + 10*w + i), TaxRateID: tb.std.ID})
				}
				if err == nil && i%3 != 0 {
					inv, err = billing.InvoiceIssue(ctx, tb.db, fin, billing.InvoiceIssueParams{ID: inv.ID})
				}
				if err == nil && i%3 == 2 {
					_, err = billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: inv.Total / 2,
						ReceivedOn: time.Now(), Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: inv.Total / 2}}})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	requireTallyExact(ctx, t, tb.db, tb.a, "after concurrent work")
	fold(ctx, t, tb.db, tb.a)
	requireTallyExact(ctx, t, tb.db, tb.a, "folded after concurrent work")
}

// TestInvoiceListDeferredTotals: the list computes the totals of a filter other than the status only when
// asked (WithTotals, or InvoiceTotals: the list page's second request), and they equal the sums over the
// invoices the filter lists; a date filter pages by issue date, newest first, every invoice once.
func TestInvoiceListDeferredTotals(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	var ids []store.ID
	for i := range 7 {
		inv := tb.issued(ctx, t, []store.ID{tb.cust.ID, tb.cust2.ID}[i%2], [2]int64{1, int64(1000 * (i + 1))})
		backdate(ctx, t, tb, inv.ID, (i*5)%17) // issue dates out of creation order
		ids = append(ids, inv.ID)
	}
	tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 1})
	sc := tb.as[identity.RoleFinance]

	res, err := billing.InvoiceList(ctx, tb.db, sc, billing.InvoiceListParams{Status: billing.StatusIssued})
	require.NoError(t, err)
	require.False(t, res.TotalsDeferred, "a status filter reads the tally")
	require.Equal(t, freshTotals(ctx, t, tb.db, tb.a, billing.StatusIssued), res.Totals)

	from := time.Now().AddDate(0, 0, -30)
	for _, p := range []billing.InvoiceListParams{{CustomerID: &tb.cust.ID}, {From: &from}, {Search: "Umbrella"}, {Overdue: true},
		{Status: billing.StatusIssued, CustomerID: &tb.cust2.ID}} {
		res, err := billing.InvoiceList(ctx, tb.db, sc, p)
		require.NoError(t, err)
		require.True(t, res.TotalsDeferred, "%+v", p)
		require.Nil(t, res.Totals)
		// The deferred totals are the sums over every invoice the filter lists, page after page.
		var want []billing.CurrencyTotal
		var prev *billing.Invoice
		for after, first := "", true; first || after != ""; first = false {
			q := p
			q.After, q.Limit = after, 2
			page, err := billing.InvoiceList(ctx, tb.db, sc, q)
			require.NoError(t, err)
			for _, inv := range page.Invoices {
				if p.From != nil && prev != nil { // by issue date, newest first
					require.False(t, inv.IssueDate.After(*prev.IssueDate), "issue-date order")
				}
				if len(want) == 0 {
					want = append(want, billing.CurrencyTotal{Currency: inv.Currency})
				}
				want[0].Count++
				if inv.Status != billing.StatusVoid {
					want[0].Total += inv.Total
				}
				if inv.Status.Open() {
					want[0].Balance += inv.Balance
				}
				prev = &inv
			}
			after = page.Next
		}
		got, err := billing.InvoiceTotals(ctx, tb.db, sc, p)
		require.NoError(t, err)
		require.Equal(t, want, got, "%+v", p)
		q := p
		q.WithTotals = true
		res, err = billing.InvoiceList(ctx, tb.db, sc, q)
		require.NoError(t, err)
		require.Equal(t, want, res.Totals, "%+v with totals", p)
	}
	// Every invoice of the date range once, across pages.
	seen := map[store.ID]bool{}
	for after, first := "", true; first || after != ""; first = false {
		page, err := billing.InvoiceList(ctx, tb.db, sc, billing.InvoiceListParams{From: &from, After: after, Limit: 3})
		require.NoError(t, err)
		for _, inv := range page.Invoices {
			require.False(t, seen[inv.ID])
			seen[inv.ID] = true
		}
		after = page.Next
	}
	require.Len(t, seen, len(ids))
	// A creation-order cursor is not a date-order one.
	first, err := billing.InvoiceList(ctx, tb.db, sc, billing.InvoiceListParams{Limit: 2})
	require.NoError(t, err)
	_, err = billing.InvoiceList(ctx, tb.db, sc, billing.InvoiceListParams{From: &from, After: first.Next})
	requireCode(t, err, store.Invalid, "")
	_, err = billing.InvoiceTotals(ctx, tb.db, tb.as[identity.RoleEmployee], billing.InvoiceListParams{Overdue: true})
	requireCode(t, err, store.Forbidden, "")
	// Tenant B's totals never include A's invoices.
	got, err := billing.InvoiceTotals(ctx, tb.db, tb.sysB, billing.InvoiceListParams{CustomerID: &tb.cust.ID})
	require.NoError(t, err)
	require.Empty(t, got)
}

// TestInvoiceGetLists: the invoice page's payments (live and reversed), credit notes and e-mails, which
// InvoiceGet reads in one statement, carry every field as the tables hold it, in the page's order, and
// the customer's address comes with the invoice.
func TestInvoiceGetLists(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	inv := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 10000}) // 119.00
	empty := tb.invoice(ctx, t, inv.ID)
	require.Empty(t, empty.Allocations)
	require.Empty(t, empty.CreditNotes)
	require.Empty(t, empty.Sends)
	require.Empty(t, empty.Reminders)
	require.Equal(t, "initech@example.com", empty.CustomerEmail)

	p1, err := billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 1000, ReceivedOn: day("2026-02-03"),
		Method: billing.MethodCheque, Reference: "CHQ-7", Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 1000}}})
	require.NoError(t, err)
	p2, err := billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 500, ReceivedOn: day("2026-02-04"),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 500}}})
	require.NoError(t, err)
	_, err = billing.PaymentReverse(ctx, tb.db, fin, billing.PaymentReverseParams{ID: p2.ID, Reason: "Bounced"})
	require.NoError(t, err)
	cn, err := billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: inv.ID, Amount: ptr(int64(900)), Reason: "Discount"})
	require.NoError(t, err)
	s1, err := billing.InvoiceSendRequest(ctx, tb.db, fin, billing.InvoiceSendParams{InvoiceID: inv.ID})
	require.NoError(t, err)
	require.NoError(t, billing.InvoiceSendFailed(ctx, tb.db, tb.sys, s1.ID, "connection refused"))
	s2, err := billing.InvoiceSendRequest(ctx, tb.db, fin, billing.InvoiceSendParams{InvoiceID: inv.ID, To: "boss@initech.example"})
	require.NoError(t, err)
	require.NoError(t, billing.InvoiceSendDone(ctx, tb.db, tb.sys, s2.ID))

	d := tb.invoice(ctx, t, inv.ID)
	require.Len(t, d.Allocations, 2)
	a := d.Allocations[0]
	require.Equal(t, p1.ID, a.PaymentID)
	require.Equal(t, inv.ID, a.InvoiceID)
	require.Equal(t, int64(1000), a.Amount)
	require.Equal(t, "2026-02-03", a.ReceivedOn.Format(time.DateOnly))
	require.Equal(t, string(billing.MethodCheque), a.Method)
	require.Equal(t, "CHQ-7", a.Reference)
	require.Nil(t, a.ReversedAt)
	require.False(t, a.CreatedAt.IsZero())
	require.Equal(t, p2.ID, d.Allocations[1].PaymentID)
	require.NotNil(t, d.Allocations[1].ReversedAt, "the reversed payment stays listed, marked")

	require.Len(t, d.CreditNotes, 1)
	n := d.CreditNotes[0]
	require.Equal(t, cn.ID, n.ID)
	require.Equal(t, cn.Number, n.Number)
	require.Equal(t, "EUR", n.Currency)
	require.Equal(t, int64(900), n.Amount)
	require.Equal(t, "Discount", n.Reason)
	require.Equal(t, cn.IssueDate.Format(time.DateOnly), n.IssueDate.Format(time.DateOnly))
	require.True(t, cn.CreatedAt.Equal(n.CreatedAt))
	require.Equal(t, tb.cust.ID, n.CustomerID)

	require.Len(t, d.Sends, 2)
	require.Equal(t, s2.ID, d.Sends[0].ID, "newest first")
	require.Equal(t, "boss@initech.example", d.Sends[0].Recipient)
	require.NotNil(t, d.Sends[0].SentAt)
	require.True(t, d.Sends[1].Retrying())
	require.Equal(t, "connection refused", d.Sends[1].LastError)
	require.Equal(t, 1, d.Sends[1].Attempts)
	require.True(t, s1.RequestedAt.Equal(d.Sends[1].RequestedAt))
}
