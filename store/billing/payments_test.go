package billing_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

func requireField(t *testing.T, err error, field, msg string) {
	t.Helper()
	var se *store.Error
	require.True(t, errors.As(err, &se), "%v", err)
	require.Contains(t, se.Fields, field, "%v", err)
	if msg != "" {
		require.Contains(t, se.Fields[field], msg)
	}
}

func TestPaymentAllocationEdgeCases(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	a := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 10000})    // 119.00
	b := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 5000})     // 59.50
	other := tb.issued(ctx, t, tb.cust2.ID, [2]int64{1, 100}) // another customer's
	usdDraft := tb.draft(ctx, t, tb.sys, tb.custUSD.ID, tb.std.ID, [2]int64{1, 100})
	usd, err := billing.InvoiceIssue(ctx, tb.db, tb.sys, billing.InvoiceIssueParams{ID: usdDraft.ID})
	require.NoError(t, err)
	draft := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 100})
	void := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 100})
	_, err = billing.InvoiceVoid(ctx, tb.db, fin, billing.InvoiceVoidParams{ID: void.ID, Reason: "test"})
	require.NoError(t, err)
	base := billing.PaymentParams{CustomerID: tb.cust.ID, ReceivedOn: day("2026-03-01"), Method: billing.MethodBankTransfer, Reference: "TX-1"}
	pay := func(amount int64, keep bool, allocs ...billing.Allocation) (*billing.PaymentDetail, error) {
		p := base
		p.Amount, p.KeepCredit, p.Allocations = amount, keep, allocs
		return billing.PaymentRecord(ctx, tb.db, fin, p)
	}
	countPayments := func() int {
		var n int
		require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM billing_payments`)
		}))
		return n
	}

	// Each refusal writes nothing.
	_, err = pay(12000, false, billing.Allocation{InvoiceID: a.ID, Amount: 12000})
	requireField(t, err, "allocations", "open balance")
	_, err = pay(11900, false)
	requireField(t, err, "keep_credit", "credit")
	_, err = pay(20000, false, billing.Allocation{InvoiceID: a.ID, Amount: 11900})
	requireField(t, err, "keep_credit", "")
	_, err = pay(100, false, billing.Allocation{InvoiceID: a.ID, Amount: 50}, billing.Allocation{InvoiceID: a.ID, Amount: 50})
	requireField(t, err, "allocations", "once")
	_, err = pay(100, false, billing.Allocation{InvoiceID: a.ID, Amount: 200})
	requireField(t, err, "amount", "more than the payment")
	_, err = pay(119, false, billing.Allocation{InvoiceID: other.ID, Amount: 119})
	requireField(t, err, "allocations", "another customer")
	_, err = pay(119, false, billing.Allocation{InvoiceID: usd.ID, Amount: 119})
	requireField(t, err, "allocations", "another customer")
	p := base
	p.Currency, p.Amount, p.KeepCredit = "USD", 100, true
	_, err = billing.PaymentRecord(ctx, tb.db, fin, p)
	requireField(t, err, "currency", "never converted")
	_, err = pay(119, false, billing.Allocation{InvoiceID: draft.ID, Amount: 119})
	requireField(t, err, "allocations", "draft")
	_, err = pay(119, false, billing.Allocation{InvoiceID: void.ID, Amount: 119})
	requireField(t, err, "allocations", "void")
	_, err = pay(0, true)
	requireField(t, err, "amount", "")
	_, err = pay(100, false, billing.Allocation{InvoiceID: store.NewID(), Amount: 100})
	requireField(t, err, "allocations", "")
	_, err = billing.PaymentRecord(ctx, tb.db, tb.as[identity.RoleManager], billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 1,
		ReceivedOn: day("2026-03-01"), Method: billing.MethodCash, KeepCredit: true})
	requireCode(t, err, store.Forbidden, "")
	require.Zero(t, countPayments())
	require.Equal(t, int64(11900), tb.invoice(ctx, t, a.ID).Balance)

	// One payment over two invoices, paying one in full and one in part, the rest kept as credit.
	p1, err := pay(20000, true, billing.Allocation{InvoiceID: a.ID, Amount: 11900}, billing.Allocation{InvoiceID: b.ID, Amount: 2000})
	require.NoError(t, err)
	require.Equal(t, int64(13900), p1.Allocated)
	require.Equal(t, int64(6100), p1.Unallocated())
	require.Len(t, p1.Allocations, 2)
	require.Equal(t, billing.StatusPaid, tb.invoice(ctx, t, a.ID).Status)
	db := tb.invoice(ctx, t, b.ID)
	require.Equal(t, billing.StatusPartiallyPaid, db.Status)
	require.Equal(t, int64(3950), db.Balance)
	credit, err := billing.CustomerCredit(ctx, tb.db, fin, tb.cust.ID)
	require.NoError(t, err)
	require.Equal(t, int64(6100), credit)

	// The credit pays the rest of b later; more than the credit is refused.
	_, err = billing.PaymentAllocate(ctx, tb.db, fin, p1.ID, []billing.Allocation{{InvoiceID: b.ID, Amount: 6101}})
	requireField(t, err, "allocations", "unallocated")
	p1, err = billing.PaymentAllocate(ctx, tb.db, fin, p1.ID, []billing.Allocation{{InvoiceID: b.ID, Amount: 3950}})
	require.NoError(t, err)
	require.Equal(t, int64(2150), p1.Unallocated())
	require.Equal(t, billing.StatusPaid, tb.invoice(ctx, t, b.ID).Status)
	_, err = billing.PaymentAllocate(ctx, tb.db, fin, p1.ID, []billing.Allocation{{InvoiceID: b.ID, Amount: 1}})
	requireField(t, err, "allocations", "paid")

	// Reversal: allocations reversed (kept), balances back, statuses back, credit gone; once only.
	_, err = billing.PaymentReverse(ctx, tb.db, fin, billing.PaymentReverseParams{ID: p1.ID})
	requireCode(t, err, store.Invalid, "")
	_, err = billing.PaymentReverse(ctx, tb.db, tb.as[identity.RoleManager], billing.PaymentReverseParams{ID: p1.ID, Reason: "Bounced"})
	requireCode(t, err, store.Forbidden, "")
	rev, err := billing.PaymentReverse(ctx, tb.db, fin, billing.PaymentReverseParams{ID: p1.ID, Reason: "Bounced"})
	require.NoError(t, err)
	require.NotNil(t, rev.ReversedAt)
	require.Zero(t, rev.Unallocated())
	require.Len(t, rev.Allocations, 3)
	for _, al := range rev.Allocations {
		require.NotNil(t, al.ReversedAt)
	}
	for _, id := range []store.ID{a.ID, b.ID} {
		d := tb.invoice(ctx, t, id)
		require.Equal(t, billing.StatusIssued, d.Status)
		require.Equal(t, d.Total, d.Balance)
		require.Nil(t, d.PaidAt)
	}
	credit, err = billing.CustomerCredit(ctx, tb.db, fin, tb.cust.ID)
	require.NoError(t, err)
	require.Zero(t, credit)
	_, err = billing.PaymentReverse(ctx, tb.db, fin, billing.PaymentReverseParams{ID: p1.ID, Reason: "again"})
	requireCode(t, err, store.Invalid, "already reversed")
	_, err = billing.PaymentAllocate(ctx, tb.db, fin, p1.ID, []billing.Allocation{{InvoiceID: a.ID, Amount: 1}})
	requireCode(t, err, store.Invalid, "reversed")

	// The database refuses an allocation beyond the balance even when the code is bypassed.
	err = tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET paid = total + 1, balance = -1 WHERE id = $1`, a.ID)
		return err
	})
	require.True(t, store.IsCheckViolation(err, ""), "%v", err)
	err = tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET paid = 100 WHERE id = $1`, a.ID)
		return err
	})
	require.True(t, store.IsCheckViolation(err, "billing_invoices_balance_rule"), "%v", err)
	require.Empty(t, balanceViolations(ctx, t, tb.db, tb.a))

	// Events: payment.recorded once, invoice.paid when each became paid.
	var types []string
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &types, `SELECT type FROM events WHERE type IN ('payment.recorded', 'invoice.paid') ORDER BY occurred_at, id`)
	}))
	require.Equal(t, []string{"invoice.paid", "payment.recorded", "invoice.paid"}, types)
}

// TestBalanceInvariantProperty runs random sequences of invoices, payments with allocations, credit
// allocations, credit notes and reversals, and checks after every step that each balance equals its
// formula, no allocation exceeds a balance and the customer credit equals the unallocated payments.
func TestBalanceInvariantProperty(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	rng := rand.New(rand.NewPCG(42, 2026))
	customers := []store.ID{tb.cust.ID, tb.cust2.ID}
	var invoices []store.ID
	var payments []store.ID
	refused := 0
	for step := range 150 {
		cust := customers[rng.IntN(len(customers))]
		var err error
		switch op := rng.IntN(10); {
		case op < 3 || len(invoices) == 0:
			lines := make([][2]int64, 1+rng.IntN(3))
			for i := range lines {
				lines[i] = [2]int64{int64(1 + rng.IntN(5)), int64(rng.IntN(20000))}
			}
			inv := tb.draft(ctx, t, tb.sys, cust, []store.ID{tb.std.ID, tb.reduced.ID}[rng.IntN(2)], lines...)
			_, err = billing.InvoiceIssue(ctx, tb.db, fin, billing.InvoiceIssueParams{ID: inv.ID})
			require.NoError(t, err)
			invoices = append(invoices, inv.ID)
		case op < 6:
			// A payment allocated to up to three random invoices (some of another customer or paid, refused).
			var allocs []billing.Allocation
			var sum int64
			for _, idx := range rng.Perm(len(invoices))[:min(len(invoices), 1+rng.IntN(3))] {
				amt := int64(1 + rng.IntN(15000))
				allocs = append(allocs, billing.Allocation{InvoiceID: invoices[idx], Amount: amt})
				sum += amt
			}
			var p *billing.PaymentDetail
			p, err = billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: cust, Amount: sum + int64(rng.IntN(3000)),
				ReceivedOn: day("2026-02-01"), Method: billing.MethodCard, Allocations: allocs, KeepCredit: true})
			if err == nil {
				payments = append(payments, p.ID)
			}
		case op < 7 && len(payments) > 0:
			_, err = billing.PaymentAllocate(ctx, tb.db, fin, payments[rng.IntN(len(payments))],
				[]billing.Allocation{{InvoiceID: invoices[rng.IntN(len(invoices))], Amount: int64(1 + rng.IntN(5000))}})
		case op < 9:
			var amount *int64
			if rng.IntN(3) > 0 {
				amount = ptr(int64(1 + rng.IntN(8000)))
			}
			_, err = billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: invoices[rng.IntN(len(invoices))],
				Amount: amount, Reason: "Property test"})
		case len(payments) > 0:
			_, err = billing.PaymentReverse(ctx, tb.db, fin, billing.PaymentReverseParams{ID: payments[rng.IntN(len(payments))], Reason: "Property test"})
		}
		if err != nil {
			// Refusals are expected (over-allocation, closed invoices, other customers); they must be
			// clear Invalid errors and change nothing.
			require.Equal(t, store.Invalid, store.ErrorCode(err), "step %d: %v", step, err)
			refused++
		}
		require.Empty(t, balanceViolations(ctx, t, tb.db, tb.a), "step %d", step)
	}
	require.Greater(t, refused, 5, "the random walk exercised refusals")
	require.Less(t, refused, 140, "the random walk did real work")
	// The customer credit is exactly the unallocated part of live payments.
	for _, c := range customers {
		credit, err := billing.CustomerCredit(ctx, tb.db, fin, c)
		require.NoError(t, err)
		var want int64
		res, err := billing.PaymentList(ctx, tb.db, fin, billing.PaymentListParams{CustomerID: &c, Limit: 200})
		require.NoError(t, err)
		for _, p := range res.Payments {
			want += p.Unallocated()
		}
		require.Equal(t, want, credit)
	}
}
