package billing_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

func TestInvoiceLifecycle(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]

	inv, err := billing.InvoiceCreate(ctx, tb.db, fin, billing.InvoiceCreateParams{CustomerID: tb.cust.ID})
	require.NoError(t, err)
	require.Equal(t, billing.StatusDraft, inv.Status)
	require.Nil(t, inv.Number)
	require.Equal(t, "EUR", inv.Currency)
	require.Equal(t, 14, inv.TermsDays)

	// Bad lines are refused with a message per field, nothing written.
	for _, tt := range []struct {
		p     billing.LineParams
		field string
	}{
		{billing.LineParams{Description: "x", Quantity: -billing.Units(1), UnitPrice: 100, TaxRateID: tb.std.ID}, "quantity"},
		{billing.LineParams{Description: "x", Quantity: 0, UnitPrice: 100, TaxRateID: tb.std.ID}, "quantity"},
		{billing.LineParams{Description: "", Quantity: billing.Units(1), UnitPrice: 100, TaxRateID: tb.std.ID}, "description"},
		{billing.LineParams{Description: "x", Quantity: billing.Units(1), UnitPrice: -5, TaxRateID: tb.std.ID}, "unit_price"},
		{billing.LineParams{Description: "x", Quantity: billing.Units(1), UnitPrice: 100, TaxRateID: store.NewID()}, "tax_rate_id"},
		{billing.LineParams{Description: "x", Quantity: billing.Units(1), UnitPrice: 100, TaxRateID: tb.stdB.ID}, "tax_rate_id"},
		{billing.LineParams{Description: "x", Quantity: billing.Units(1), UnitPrice: 100, TaxRateID: tb.std.ID, ItemID: ptr(store.NewID())}, "item_id"},
	} {
		_, err := billing.InvoiceLineAdd(ctx, tb.db, fin, inv.ID, 0, tt.p)
		var se *store.Error
		require.True(t, errors.As(err, &se), "%v", err)
		require.Contains(t, se.Fields, tt.field, "%+v", tt.p)
	}
	require.Empty(t, tb.invoice(ctx, t, inv.ID).Lines)

	// Issuing an empty draft is refused.
	_, err = billing.InvoiceIssue(ctx, tb.db, fin, billing.InvoiceIssueParams{ID: inv.ID})
	requireCode(t, err, store.Invalid, "at least one line")

	inv, err = billing.InvoiceLineAdd(ctx, tb.db, fin, inv.ID, inv.Version, billing.LineParams{Description: "Consulting",
		Quantity: billing.Units(3), UnitPrice: 10000, TaxRateID: tb.std.ID})
	require.NoError(t, err)
	inv, err = billing.InvoiceLineAdd(ctx, tb.db, fin, inv.ID, inv.Version, billing.LineParams{Description: "Books",
		Quantity: billing.Units(2), UnitPrice: 1999, TaxRateID: tb.reduced.ID})
	require.NoError(t, err)
	require.Equal(t, []int64{33998, 5700 + 280, 33998 + 5980}, []int64{inv.Subtotal, inv.TaxTotal, inv.Total})
	// A stale version is a conflict.
	_, err = billing.InvoiceLineAdd(ctx, tb.db, fin, inv.ID, inv.Version-1, billing.LineParams{Description: "x",
		Quantity: billing.Units(1), UnitPrice: 1, TaxRateID: tb.std.ID})
	requireCode(t, err, store.Conflict, "")
	d := tb.invoice(ctx, t, inv.ID)
	require.Len(t, d.Lines, 2)
	require.Len(t, d.Taxes, 2)
	require.Equal(t, "initech@example.com", d.CustomerEmail, "the send form's default recipient")
	inv, err = billing.InvoiceLineRemove(ctx, tb.db, fin, inv.ID, inv.Version, d.Lines[1].ID)
	require.NoError(t, err)
	require.Equal(t, int64(35700), inv.Total)

	// Only billing.issue may issue.
	_, err = billing.InvoiceIssue(ctx, tb.db, tb.as[identity.RoleManager], billing.InvoiceIssueParams{ID: inv.ID})
	requireCode(t, err, store.Forbidden, "")

	issued, err := billing.InvoiceIssue(ctx, tb.db, fin, billing.InvoiceIssueParams{ID: inv.ID, Version: inv.Version})
	require.NoError(t, err)
	year := time.Now().UTC().Year()
	require.Equal(t, fmt.Sprintf("INV-%d-000001", year), *issued.Number)
	require.Equal(t, billing.StatusIssued, issued.Status)
	require.Equal(t, issued.Total, issued.Balance)
	require.Equal(t, issued.IssueDate.AddDate(0, 0, 14), *issued.DueDate)

	// Frozen: no edits, no second issue; the database refuses a change behind the store's back.
	_, err = billing.InvoiceLineAdd(ctx, tb.db, fin, inv.ID, 0, billing.LineParams{Description: "x", Quantity: billing.Units(1), UnitPrice: 1, TaxRateID: tb.std.ID})
	requireCode(t, err, store.Invalid, "credit note")
	_, err = billing.InvoiceIssue(ctx, tb.db, fin, billing.InvoiceIssueParams{ID: inv.ID})
	requireCode(t, err, store.Invalid, "already issued")
	err = tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoice_lines SET unit_price = 1 WHERE invoice_id = $1`, inv.ID)
		return err
	})
	require.True(t, store.IsCheckViolation(err, "billing_invoices_frozen"), "%v", err)
	err = tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET total = total + 1, subtotal = subtotal + 1, balance = balance + 1 WHERE id = $1`, inv.ID)
		return err
	})
	require.True(t, store.IsCheckViolation(err, "billing_invoices_frozen"), "%v", err)

	// Void keeps the number; the next invoice gets the next one.
	_, err = billing.InvoiceVoid(ctx, tb.db, fin, billing.InvoiceVoidParams{ID: inv.ID, Reason: " "})
	requireCode(t, err, store.Invalid, "")
	voided, err := billing.InvoiceVoid(ctx, tb.db, fin, billing.InvoiceVoidParams{ID: inv.ID, Reason: "Wrong customer"})
	require.NoError(t, err)
	require.Equal(t, billing.StatusVoid, voided.Status)
	require.Equal(t, *issued.Number, *voided.Number)
	_, err = billing.InvoiceVoid(ctx, tb.db, fin, billing.InvoiceVoidParams{ID: inv.ID, Reason: "again"})
	requireCode(t, err, store.Invalid, "already void")
	next := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 100})
	require.Equal(t, fmt.Sprintf("INV-%d-000002", year), *next.Number)

	// Events and audit were written in the same transactions.
	var types []string
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &types, `SELECT type FROM events ORDER BY occurred_at, id`)
	}))
	require.Equal(t, []string{"invoice.issued", "invoice.voided", "invoice.issued"}, types)
	var actions []string
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &actions, `SELECT DISTINCT action FROM audit_events WHERE action LIKE 'billing.invoice%' ORDER BY 1`)
	}))
	require.Subset(t, actions, []string{"billing.invoice_create", "billing.invoice_issue", "billing.invoice_line_add",
		"billing.invoice_line_remove", "billing.invoice_void"})

	// A voided invoice without payments is void; one with a payment cannot be voided.
	paidPart := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000})
	_, err = billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 100, ReceivedOn: day("2026-01-05"),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: paidPart.ID, Amount: 100}}})
	require.NoError(t, err)
	_, err = billing.InvoiceVoid(ctx, tb.db, fin, billing.InvoiceVoidParams{ID: paidPart.ID, Reason: "x"})
	requireCode(t, err, store.Invalid, "payments")
	require.Empty(t, balanceViolations(ctx, t, tb.db, tb.a))
}

func ptr[T any](v T) *T { return &v }

// TestInvoiceIssueConcurrent issues 50 drafts at once: the numbers are exactly 1..50, no gap, no duplicate.
func TestInvoiceIssueConcurrent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	const n = 50
	drafts := make([]*billing.Invoice, n)
	for i := range drafts {
		drafts[i] = tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, int64(100 + i)})
	}
	numbers := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, d := range drafts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inv, err := billing.InvoiceIssue(ctx, tb.db, tb.as[identity.RoleFinance], billing.InvoiceIssueParams{ID: d.ID})
			if err != nil {
				errs <- err
				return
			}
			numbers[i] = *inv.Number
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	year := time.Now().UTC().Year()
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("INV-%d-%06d", year, i))
	}
	slices.Sort(numbers)
	require.Equal(t, want, numbers)
}

// TestInvoiceIssueRollbackLeavesNoGap issues in transactions that roll back between successful issues,
// some concurrently with them: the committed numbers are still consecutive.
func TestInvoiceIssueRollbackLeavesNoGap(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	const n = 20
	var wg sync.WaitGroup
	errRollback := errors.New("forced rollback")
	errs := make(chan error, 2*n)
	for i := range n {
		keep := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, int64(100 + i)})
		drop := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 1})
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
				if _, err := billing.InvoiceIssueTx(ctx, tx, billing.InvoiceIssueParams{ID: drop.ID}); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := billing.InvoiceIssue(ctx, tb.db, tb.sys, billing.InvoiceIssueParams{ID: keep.ID}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var seqs []int64
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &seqs, `SELECT seq FROM billing_invoices WHERE seq IS NOT NULL ORDER BY seq`)
	}))
	require.Len(t, seqs, n)
	for i, s := range seqs {
		require.Equal(t, int64(i+1), s)
	}
	var drafts int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &drafts, `SELECT count(*) FROM billing_invoices WHERE status = 'draft'`)
	}))
	require.Equal(t, n, drafts, "the rolled-back issues left their drafts")
}

func TestCreditNotes(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	inv := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 10000}) // 119.00
	year := time.Now().UTC().Year()

	_, err := billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: inv.ID, Amount: ptr(int64(11901)), Reason: "Too much"})
	requireCode(t, err, store.Invalid, "")
	_, err = billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: inv.ID, Amount: ptr(int64(1000))})
	requireCode(t, err, store.Invalid, "")
	_, err = billing.CreditNoteIssue(ctx, tb.db, tb.as[identity.RoleManager], billing.CreditNoteParams{InvoiceID: inv.ID, Reason: "x"})
	requireCode(t, err, store.Forbidden, "")

	cn, err := billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: inv.ID, Amount: ptr(int64(1900)), Reason: "Discount"})
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("CN-%d-000001", year), cn.Number)
	d := tb.invoice(ctx, t, inv.ID)
	require.Equal(t, billing.StatusPartiallyPaid, d.Status)
	require.Equal(t, int64(10000), d.Balance)
	// The rest, in full.
	cn2, err := billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: inv.ID, Reason: "Cancelled"})
	require.NoError(t, err)
	require.Equal(t, int64(10000), cn2.Amount)
	require.Equal(t, fmt.Sprintf("CN-%d-000002", year), cn2.Number)
	d = tb.invoice(ctx, t, inv.ID)
	require.Equal(t, billing.StatusPaid, d.Status)
	require.Zero(t, d.Balance)
	require.Len(t, d.CreditNotes, 2)
	_, err = billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: inv.ID, Reason: "again"})
	requireCode(t, err, store.Invalid, "open balance")
	// A draft cannot be credited.
	draft := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 1})
	_, err = billing.CreditNoteIssue(ctx, tb.db, fin, billing.CreditNoteParams{InvoiceID: draft.ID, Reason: "x"})
	requireCode(t, err, store.Invalid, "")
	require.Empty(t, balanceViolations(ctx, t, tb.db, tb.a))
}

func TestInvoiceListFiltersAndTotals(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	for i := range 5 {
		tb.issued(ctx, t, tb.cust.ID, [2]int64{1, int64(1000 * (i + 1))})
	}
	usd := tb.draft(ctx, t, tb.sys, tb.custUSD.ID, tb.std.ID, [2]int64{2, 500})
	_, err := billing.InvoiceIssue(ctx, tb.db, tb.sys, billing.InvoiceIssueParams{ID: usd.ID})
	require.NoError(t, err)
	tb.draft(ctx, t, tb.sys, tb.cust2.ID, tb.std.ID, [2]int64{1, 1})

	res, err := billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Limit: 3})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 3)
	require.NotEmpty(t, res.Next)
	// Totals cover the filtered set, per currency, never mixed.
	require.Equal(t, []billing.CurrencyTotal{
		{Currency: "EUR", Count: 6, Total: (1000+2000+3000+4000+5000)*119/100 + 119*1/100, Balance: 15000 * 119 / 100},
		{Currency: "USD", Count: 1, Total: 1190, Balance: 1190},
	}, res.Totals)
	seen := map[store.ID]bool{}
	for _, i := range res.Invoices {
		seen[i.ID] = true
	}
	for next := res.Next; next != ""; {
		page, err := billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Limit: 3, After: next})
		require.NoError(t, err)
		for _, i := range page.Invoices {
			require.False(t, seen[i.ID], "no row twice")
			seen[i.ID] = true
		}
		next = page.Next
	}
	require.Len(t, seen, 7)

	res, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Status: billing.StatusDraft})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 1)
	// The tally's totals that ride on a page's rows are those of the tally's own statement; a page
	// without rows has them too (none here).
	for _, p := range []billing.InvoiceListParams{{}, {Status: billing.StatusIssued}, {Status: billing.StatusDraft}, {Status: billing.StatusVoid}, {Limit: 2, After: res.Next}} {
		page, err := billing.InvoiceList(ctx, tb.db, tb.sys, p)
		require.NoError(t, err)
		require.False(t, page.TotalsDeferred)
		totals, err := billing.InvoiceTotals(ctx, tb.db, tb.sys, p)
		require.NoError(t, err)
		require.Equal(t, totals, page.Totals, "%+v", p)
		require.Equal(t, p.Status == billing.StatusVoid, len(page.Totals) == 0, "%+v", p)
	}
	res, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{CustomerID: &tb.custUSD.ID})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 1)
	res, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Search: "000003"})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 1)
	// Nothing is overdue yet; after moving a due date into the past (as the owner), one is.
	res, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Overdue: true})
	require.NoError(t, err)
	require.Empty(t, res.Invoices)
	backdate(ctx, t, tb, usd.ID, 40)
	res, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{Overdue: true})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 1)
	require.True(t, res.Invoices[0].Overdue)
	_, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{After: "garbage"})
	requireCode(t, err, store.Invalid, "")
	_, err = billing.InvoiceList(ctx, tb.db, tb.as[identity.RoleEmployee], billing.InvoiceListParams{})
	requireCode(t, err, store.Forbidden, "")
}

// TestInvoiceColumnsScan: the list's explicit scan (selectInvoices) fills every field as sqlx's reflection
// does, for drafts, issued, overdue, void and paid invoices.
func TestInvoiceColumnsScan(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	paid := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000})
	_, err := billing.PaymentRecord(ctx, tb.db, tb.sys, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: paid.Total,
		ReceivedOn: time.Now(), Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: paid.ID, Amount: paid.Total}}})
	require.NoError(t, err)
	void := tb.issued(ctx, t, tb.cust2.ID, [2]int64{2, 700})
	_, err = billing.InvoiceVoid(ctx, tb.db, tb.sys, billing.InvoiceVoidParams{ID: void.ID, Version: void.Version, Reason: "Typo"})
	require.NoError(t, err)
	late := tb.issued(ctx, t, tb.custUSD.ID, [2]int64{1, 500})
	backdate(ctx, t, tb, late.ID, 60)
	tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 1})
	explicit, reflected, err := billing.InvoicesBothWays(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Len(t, reflected, 4)
	require.Equal(t, reflected, explicit)
	var overdue, voided, paidAt, drafts int
	for _, i := range explicit {
		if i.Overdue {
			overdue++
		}
		if i.VoidedAt != nil && i.VoidReason == "Typo" {
			voided++
		}
		if i.PaidAt != nil && i.Status == billing.StatusPaid {
			paidAt++
		}
		if i.Number == nil && i.IssueDate == nil {
			drafts++
		}
	}
	require.Equal(t, []int{1, 1, 1, 1}, []int{overdue, voided, paidAt, drafts})
}

// backdate moves an issued invoice's dates days into the past, as the owner (the app role cannot: the
// content of an issued invoice is frozen).
func backdate(ctx context.Context, t *testing.T, tb *testBundle, id store.ID, days int) {
	t.Helper()
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `ALTER TABLE billing_invoices DISABLE TRIGGER billing_invoices_frozen`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `UPDATE billing_invoices SET issue_date = issue_date - $2::int, due_date = due_date - $2::int WHERE id = $1`, id, days)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `ALTER TABLE billing_invoices ENABLE TRIGGER billing_invoices_frozen`)
	require.NoError(t, err)
}

func TestInvoicePDF(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tax := "DE123456789"
	_, err := billing.CustomerUpdate(ctx, tb.db, tb.sys, billing.CustomerUpdateParams{ID: tb.cust.ID, Version: tb.cust.Version,
		CustomerFields: billing.CustomerFields{Name: "Initech GmbH", Email: "ap@initech.example", Address: "Hauptstraße 1\n10115 Berlin",
			TaxID: &tax, Currency: "EUR", TermsDays: 14}})
	require.NoError(t, err)
	draft := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{2, 12345})
	_, err = billing.InvoicePDFEnsure(ctx, tb.db, tb.sys, draft.ID)
	requireCode(t, err, store.Invalid, "draft")
	inv, err := billing.InvoiceIssue(ctx, tb.db, tb.sys, billing.InvoiceIssueParams{ID: draft.ID})
	require.NoError(t, err)
	_, err = billing.InvoicePDFOpen(ctx, tb.db, tb.sys, inv.ID)
	requireCode(t, err, store.NotFound, "being prepared")

	id1, err := billing.InvoicePDFEnsure(ctx, tb.db, tb.sys, inv.ID)
	require.NoError(t, err)
	id2, err := billing.InvoicePDFEnsure(ctx, tb.db, tb.sys, inv.ID)
	require.NoError(t, err)
	require.Equal(t, id1, id2, "the PDF of an issued invoice is rendered once")
	r, err := billing.InvoicePDFOpen(ctx, tb.db, tb.sys, inv.ID)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "%PDF-"))
	require.Contains(t, string(b), *inv.Number)
	require.Contains(t, string(b), "DE123456789")
	require.Contains(t, string(b), "293.81") // 246.90 + 19 % = 293.811 → 293.81
	// The stored PDF is never replaced, even by a direct update.
	err = tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET pdf_file_id = NULL WHERE id = $1`, inv.ID)
		return err
	})
	require.True(t, store.IsCheckViolation(err, "billing_invoices_frozen"), "%v", err)
	// Another tenant cannot open it.
	_, err = billing.InvoicePDFOpen(ctx, tb.db, tb.sysB, inv.ID)
	requireCode(t, err, store.NotFound, "")
}

func TestInvoiceSendOnce(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	inv := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 5000})
	draft := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 1})
	_, err := billing.InvoiceSendRequest(ctx, tb.db, tb.sys, billing.InvoiceSendParams{InvoiceID: draft.ID})
	requireCode(t, err, store.Invalid, "")
	_, err = billing.InvoiceSendRequest(ctx, tb.db, tb.sys, billing.InvoiceSendParams{InvoiceID: inv.ID, To: "not an address"})
	requireCode(t, err, store.Invalid, "")

	s, err := billing.InvoiceSendRequest(ctx, tb.db, tb.as[identity.RoleFinance], billing.InvoiceSendParams{InvoiceID: inv.ID})
	require.NoError(t, err)
	require.Equal(t, "initech@example.com", s.Recipient)
	m, err := billing.InvoiceSendPrepare(ctx, tb.db, tb.sys, s.ID)
	require.NoError(t, err)
	require.False(t, m.AlreadyDelivered)
	require.Contains(t, m.Subject, *inv.Number)
	require.Contains(t, string(m.PDF), *inv.Number)
	require.NoError(t, billing.InvoiceSendFailed(ctx, tb.db, tb.sys, s.ID, "connection refused"))
	d := tb.invoice(ctx, t, inv.ID)
	require.True(t, d.Sends[0].Retrying())
	require.NoError(t, billing.InvoiceSendDone(ctx, tb.db, tb.sys, s.ID))
	require.NoError(t, billing.InvoiceSendDone(ctx, tb.db, tb.sys, s.ID))
	m, err = billing.InvoiceSendPrepare(ctx, tb.db, tb.sys, s.ID)
	require.NoError(t, err)
	require.True(t, m.AlreadyDelivered, "a retried job finds the request sent and sends nothing")
	var sent int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &sent, `SELECT count(*) FROM audit_events WHERE action = 'billing.invoice_sent'`)
	}))
	require.Equal(t, 1, sent)
	_, err = billing.InvoiceSendPrepare(ctx, tb.db, tb.sysB, s.ID)
	requireCode(t, err, store.NotFound, "")
}
