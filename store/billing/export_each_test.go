package billing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

// listAll follows a list's pages with the list function and returns the ids in order.
func listAll[T any](t *testing.T, page func(after string) ([]T, string, error), id func(T) store.ID) []store.ID {
	t.Helper()
	var out []store.ID
	for after, first := "", true; first || after != ""; first = false {
		rows, next, err := page(after)
		require.NoError(t, err)
		for _, r := range rows {
			out = append(out, id(r))
		}
		after = next
	}
	return out
}

// TestBillingEachEqualsList checks that the export iterators give exactly the list's rows in the list's
// order, across several of their own pages, that the counts match, that RLS keeps tenant B's rows out
// and that a member without BillingRead is refused. Not parallel: it shrinks the Each page size.
func TestBillingEachEqualsList(t *testing.T) {
	defer billing.SetEachPageSize(4)()
	tb, ctx := setup(t)
	var open []*billing.Invoice
	for i := range 9 {
		cust := tb.cust.ID
		if i%3 == 0 {
			cust = tb.custUSD.ID
		}
		open = append(open, tb.issued(ctx, t, cust, [2]int64{1, int64(1000 + i)}))
	}
	tb.draft(ctx, t, tb.sys, tb.cust2.ID, tb.std.ID, [2]int64{1, 5})
	tb.issued(ctx, t, tb.cust2.ID, [2]int64{2, 700})
	for i := range 6 {
		tb.customer(ctx, t, tb.sys, "Extra"+string(rune('A'+i)), "EUR")
	}
	for _, inv := range open {
		if inv.Currency != "EUR" {
			continue
		}
		_, err := billing.PaymentRecord(ctx, tb.db, tb.sys, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 100, ReceivedOn: time.Now(),
			Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 100}}})
		require.NoError(t, err)
	}
	// Tenant B's rows must never appear.
	inv := tb.draft(ctx, t, tb.sysB, tb.custB.ID, tb.stdB.ID, [2]int64{1, 100})
	_, err := billing.InvoiceIssue(ctx, tb.db, tb.sysB, billing.InvoiceIssueParams{ID: inv.ID})
	require.NoError(t, err)
	sc := tb.as[identity.RoleFinance]

	each := func(fn func(tx *store.Tx) error) {
		t.Helper()
		require.NoError(t, tb.db.InTenant(ctx, sc, fn))
	}
	invoiceCases := []billing.InvoiceListParams{{}, {Status: billing.StatusPartiallyPaid}, {CustomerID: &tb.cust.ID},
		{Search: "hoo"}, {Status: billing.StatusDraft}}
	for _, p := range invoiceCases {
		want := listAll(t, func(after string) ([]billing.Invoice, string, error) {
			q := p
			q.After, q.Limit = after, 3
			res, err := billing.InvoiceList(ctx, tb.db, sc, q)
			if err != nil {
				return nil, "", err
			}
			return res.Invoices, res.Next, nil
		}, func(i billing.Invoice) store.ID { return i.ID })
		require.NotEmpty(t, want, "%+v", p)
		var got []store.ID
		var n int64
		each(func(tx *store.Tx) error {
			var err error
			if n, err = billing.InvoicesCount(ctx, tx, p); err != nil {
				return err
			}
			return billing.InvoicesEach(ctx, tx, p, func(i billing.Invoice) error { got = append(got, i.ID); return nil })
		})
		require.Equal(t, want, got, "%+v", p)
		require.Equal(t, int64(len(want)), n, "%+v", p)
	}

	for _, p := range []billing.CustomerListParams{{}, {Search: "Extra"}, {Search: "Ex"}} {
		want := listAll(t, func(after string) ([]billing.Customer, string, error) {
			q := p
			q.After, q.Limit = after, 3
			res, err := billing.CustomerList(ctx, tb.db, sc, q)
			if err != nil {
				return nil, "", err
			}
			return res.Customers, res.Next, nil
		}, func(c billing.Customer) store.ID { return c.ID })
		require.NotEmpty(t, want, "%+v", p)
		var got []store.ID
		var n int64
		each(func(tx *store.Tx) error {
			var err error
			if n, err = billing.CustomersCount(ctx, tx, p); err != nil {
				return err
			}
			return billing.CustomersEach(ctx, tx, p, func(c billing.Customer) error { got = append(got, c.ID); return nil })
		})
		require.Equal(t, want, got, "%+v", p)
		require.Equal(t, int64(len(want)), n)
	}

	want := listAll(t, func(after string) ([]billing.Payment, string, error) {
		res, err := billing.PaymentList(ctx, tb.db, sc, billing.PaymentListParams{After: after, Limit: 3})
		if err != nil {
			return nil, "", err
		}
		return res.Payments, res.Next, nil
	}, func(p billing.Payment) store.ID { return p.ID })
	require.Len(t, want, 6)
	var got []store.ID
	var n int64
	each(func(tx *store.Tx) error {
		var err error
		if n, err = billing.PaymentsCount(ctx, tx, billing.PaymentListParams{}); err != nil {
			return err
		}
		return billing.PaymentsEach(ctx, tx, billing.PaymentListParams{}, func(p billing.Payment) error { got = append(got, p.ID); return nil })
	})
	require.Equal(t, want, got)
	require.Equal(t, int64(6), n)

	// Without BillingRead: refused, nothing emitted.
	emp := tb.as[identity.RoleEmployee]
	calls := 0
	err = tb.db.InTenant(ctx, emp, func(tx *store.Tx) error {
		return billing.InvoicesEach(ctx, tx, billing.InvoiceListParams{}, func(billing.Invoice) error { calls++; return nil })
	})
	require.Equal(t, store.Forbidden, store.ErrorCode(err))
	err = tb.db.InTenant(ctx, emp, func(tx *store.Tx) error {
		_, err := billing.PaymentsCount(ctx, tx, billing.PaymentListParams{})
		return err
	})
	require.Equal(t, store.Forbidden, store.ErrorCode(err))
	require.Zero(t, calls)
	// A filter the list refuses is refused here too.
	err = tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
		_, err := billing.InvoicesCount(ctx, tx, billing.InvoiceListParams{Status: "bogus"})
		return err
	})
	require.Equal(t, store.Invalid, store.ErrorCode(err))
}
