package billing_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

func TestCustomerSecretsSealedAndMasked(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	tax, bank := "DE 999 888 777", "DE89 3704 0044 0532 0130 00"
	c, err := billing.CustomerCreate(ctx, tb.db, fin, billing.CustomerFields{Name: "Secretive AG", Currency: "eur", TaxID: &tax, Bank: &bank})
	require.NoError(t, err)
	require.Equal(t, "EUR", c.Currency)
	require.Equal(t, "•••• 8777", c.TaxIDMasked())
	require.Equal(t, "•••• 3000", c.BankMasked())

	var raw struct {
		Tax  []byte `db:"tax_id_sealed"`
		Bank []byte `db:"bank_sealed"`
	}
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &raw, `SELECT tax_id_sealed, bank_sealed FROM billing_customers WHERE id = $1`, c.ID)
	}))
	require.False(t, bytes.Contains(raw.Tax, []byte("999 888")), "stored sealed, not in clear")
	require.False(t, bytes.Contains(raw.Bank, []byte("3704")))

	// Auditors see the masked values only; opening them needs billing.write and is audited.
	_, err = billing.CustomerSecrets(ctx, tb.db, tb.as[identity.RoleAuditor], c.ID)
	requireCode(t, err, store.Forbidden, "")
	got, err := billing.CustomerSecrets(ctx, tb.db, fin, c.ID)
	require.NoError(t, err)
	require.Equal(t, billing.CustomerSecretValues{TaxID: tax, Bank: bank}, got)

	// nil keeps a value, "" removes it.
	empty := ""
	c, err = billing.CustomerUpdate(ctx, tb.db, fin, billing.CustomerUpdateParams{ID: c.ID, Version: c.Version,
		CustomerFields: billing.CustomerFields{Name: "Secretive AG", Currency: "EUR", Bank: &empty}})
	require.NoError(t, err)
	require.Equal(t, "•••• 8777", c.TaxIDMasked())
	require.Empty(t, c.BankMasked())
	_, err = billing.CustomerUpdate(ctx, tb.db, fin, billing.CustomerUpdateParams{ID: c.ID, Version: c.Version - 1,
		CustomerFields: billing.CustomerFields{Name: "x", Currency: "EUR"}})
	requireCode(t, err, store.Conflict, "")

	// Validation.
	_, err = billing.CustomerCreate(ctx, tb.db, fin, billing.CustomerFields{Name: " ", Email: "nope", Currency: "XXX", TermsDays: 400})
	for _, f := range []string{"name", "email", "currency", "terms_days"} {
		requireField(t, err, f, "")
	}
	_, err = billing.CustomerCreate(ctx, tb.db, tb.as[identity.RoleManager], billing.CustomerFields{Name: "x", Currency: "EUR"})
	requireCode(t, err, store.Forbidden, "")
}

func TestCustomerListDeleteRestore(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	res, err := billing.CustomerList(ctx, tb.db, fin, billing.CustomerListParams{Limit: 2})
	require.NoError(t, err)
	require.Equal(t, []string{"Hooli", "Initech"}, []string{res.Customers[0].Name, res.Customers[1].Name})
	res, err = billing.CustomerList(ctx, tb.db, fin, billing.CustomerListParams{Limit: 2, After: res.Next})
	require.NoError(t, err)
	require.Equal(t, "Umbrella", res.Customers[0].Name)
	require.Empty(t, res.Next)
	res, err = billing.CustomerList(ctx, tb.db, fin, billing.CustomerListParams{Search: "brel"})
	require.NoError(t, err)
	require.Len(t, res.Customers, 1)
	res, err = billing.CustomerList(ctx, tb.db, fin, billing.CustomerListParams{Search: "um"})
	require.NoError(t, err)
	require.Len(t, res.Customers, 1)

	// A customer with an open invoice cannot be deleted, nor change currency.
	tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 100})
	_, err = billing.CustomerDelete(ctx, tb.db, fin, tb.cust.ID, tb.cust.Version)
	requireCode(t, err, store.Invalid, "open invoices")
	_, err = billing.CustomerUpdate(ctx, tb.db, fin, billing.CustomerUpdateParams{ID: tb.cust.ID, Version: tb.cust.Version,
		CustomerFields: billing.CustomerFields{Name: "Initech", Currency: "USD"}})
	requireField(t, err, "currency", "")

	del, err := billing.CustomerDelete(ctx, tb.db, fin, tb.cust2.ID, tb.cust2.Version)
	require.NoError(t, err)
	require.NotNil(t, del.DeletedAt)
	_, err = billing.InvoiceCreate(ctx, tb.db, fin, billing.InvoiceCreateParams{CustomerID: tb.cust2.ID})
	requireField(t, err, "customer_id", "deleted")
	res, err = billing.CustomerList(ctx, tb.db, fin, billing.CustomerListParams{Deleted: true})
	require.NoError(t, err)
	require.Len(t, res.Customers, 1)
	back, err := billing.CustomerRestore(ctx, tb.db, fin, del.ID, del.Version)
	require.NoError(t, err)
	require.Nil(t, back.DeletedAt)
}

func TestSettingsAndSeries(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	s, err := billing.SettingsGet(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Equal(t, "INV", s.InvoiceSeries)
	require.Zero(t, s.Version)
	_, err = billing.SettingsUpdate(ctx, tb.db, tb.as[identity.RoleFinance], billing.SettingsUpdateParams{InvoiceSeries: "AR", CreditNoteSeries: "CR"})
	requireCode(t, err, store.Forbidden, "")
	_, err = billing.SettingsUpdate(ctx, tb.db, tb.sys, billing.SettingsUpdateParams{InvoiceSeries: "ar-1", CreditNoteSeries: "AR1", DefaultTermsDays: -1})
	for _, f := range []string{"invoice_series", "default_terms_days"} {
		requireField(t, err, f, "")
	}
	s, err = billing.SettingsUpdate(ctx, tb.db, tb.as[identity.RoleAdmin], billing.SettingsUpdateParams{PricesIncludeTax: true,
		InvoiceSeries: "AR", CreditNoteSeries: "CR", DefaultTermsDays: 10, Version: 0})
	require.NoError(t, err)
	require.Equal(t, 1, s.Version)
	_, err = billing.SettingsUpdate(ctx, tb.db, tb.sys, billing.SettingsUpdateParams{InvoiceSeries: "AR", CreditNoteSeries: "CR", Version: 0})
	requireCode(t, err, store.Conflict, "")
	// New drafts take the inclusive pricing; numbers come from the new series.
	inv := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 11900})
	require.True(t, inv.PricesIncludeTax)
	require.Equal(t, int64(10000), inv.Subtotal)
	require.Equal(t, int64(11900), inv.Total)
	require.Contains(t, *inv.Number, "AR-")
	// Settings and tax rates are per tenant.
	sb, err := billing.SettingsGet(ctx, tb.db, tb.sysB)
	require.NoError(t, err)
	require.Equal(t, "INV", sb.InvoiceSeries)
	rates, err := billing.TaxRateList(ctx, tb.db, tb.sysB)
	require.NoError(t, err)
	require.Len(t, rates, 1)
	_, err = billing.TaxRateCreate(ctx, tb.db, tb.sys, billing.TaxRateCreateParams{Name: "standard", RateBP: 1900})
	requireField(t, err, "name", "exists")
	require.NoError(t, billing.TaxRateDelete(ctx, tb.db, tb.sys, tb.reduced.ID))
	_, err = billing.InvoiceLineAdd(ctx, tb.db, tb.sys, tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID).ID, 0,
		billing.LineParams{Description: "x", Quantity: billing.Units(1), UnitPrice: 1, TaxRateID: tb.reduced.ID})
	requireField(t, err, "tax_rate_id", "")
}

func TestReports(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	cur := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 10000}) // 119.00, not yet due
	late := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000}) // 11.90, 45 days past due
	backdate(ctx, t, tb, late.ID, 45+14)
	old := tb.issued(ctx, t, tb.cust2.ID, [2]int64{1, 2000}) // 23.80, 100 days past due
	backdate(ctx, t, tb, old.ID, 100+14)
	usdDraft := tb.draft(ctx, t, tb.sys, tb.custUSD.ID, tb.std.ID, [2]int64{1, 500})
	usd, err := billing.InvoiceIssue(ctx, tb.db, tb.sys, billing.InvoiceIssueParams{ID: usdDraft.ID})
	require.NoError(t, err)
	backdate(ctx, t, tb, usd.ID, 10+14)
	_, err = billing.PaymentRecord(ctx, tb.db, fin, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 900, ReceivedOn: time.Now(),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: cur.ID, Amount: 900}}})
	require.NoError(t, err)

	rep, err := billing.ReceivablesAging(ctx, tb.db, fin, billing.AgingParams{})
	require.NoError(t, err)
	require.Len(t, rep.Rows, 3)
	byName := map[string]billing.AgingRow{}
	for _, r := range rep.Rows {
		byName[r.CustomerName+"/"+r.Currency] = r
	}
	require.Equal(t, int64(11000), byName["Initech/EUR"].Current)
	require.Equal(t, int64(1190), byName["Initech/EUR"].Days31To60)
	require.Equal(t, int64(12190), byName["Initech/EUR"].Total)
	require.Equal(t, int64(2380), byName["Umbrella/EUR"].Over90)
	require.Equal(t, int64(595), byName["Hooli/USD"].Days1To30)
	// Totals per currency, never across.
	require.Len(t, rep.Totals, 2)
	require.Equal(t, "EUR", rep.Totals[0].Currency)
	require.Equal(t, int64(12190+2380), rep.Totals[0].Total)
	require.Equal(t, "USD", rep.Totals[1].Currency)
	require.Equal(t, int64(595), rep.Totals[1].Total)

	months, err := billing.RevenueByMonth(ctx, tb.db, fin, billing.RevenueParams{})
	require.NoError(t, err)
	require.Len(t, months, 24, "12 months × 2 currencies")
	var eurInvoiced, eurCollected, usdInvoiced int64
	for _, m := range months {
		switch m.Currency {
		case "EUR":
			eurInvoiced += m.Invoiced
			eurCollected += m.Collected
		case "USD":
			usdInvoiced += m.Invoiced
		}
	}
	require.Equal(t, int64(13000), eurInvoiced, "net of the EUR invoices within the last 12 months")
	require.Equal(t, int64(900), eurCollected)
	require.Equal(t, int64(500), usdInvoiced)
	_, err = billing.ReceivablesAging(ctx, tb.db, tb.as[identity.RoleEmployee], billing.AgingParams{})
	requireCode(t, err, store.Forbidden, "")
	// Tenant B sees none of it.
	repB, err := billing.ReceivablesAging(ctx, tb.db, tb.sysB, billing.AgingParams{})
	require.NoError(t, err)
	require.Empty(t, repB.Rows)
}

// TestCrossTenant: every read and write of tenant A's rows from tenant B finds nothing and changes nothing.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	inv := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000})
	draft := tb.draft(ctx, t, tb.sys, tb.cust.ID, tb.std.ID, [2]int64{1, 1000})
	lines := tb.invoice(ctx, t, draft.ID).Lines
	pay, err := billing.PaymentRecord(ctx, tb.db, tb.sys, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 5000, KeepCredit: true,
		ReceivedOn: day("2026-01-01"), Method: billing.MethodCash})
	require.NoError(t, err)
	_, err = billing.InvoicePDFEnsure(ctx, tb.db, tb.sys, inv.ID)
	require.NoError(t, err)
	b := tb.sysB
	notFound := func(name string, err error) {
		t.Helper()
		require.Equal(t, store.NotFound, store.ErrorCode(err), "%s: %v", name, err)
	}
	fieldOrNotFound := func(name string, err error) {
		t.Helper()
		code := store.ErrorCode(err)
		require.True(t, code == store.NotFound || code == store.Invalid, "%s: %v", name, err)
	}
	_, err = billing.CustomerGet(ctx, tb.db, b, tb.cust.ID)
	notFound("CustomerGet", err)
	_, err = billing.CustomerSecrets(ctx, tb.db, b, tb.cust.ID)
	notFound("CustomerSecrets", err)
	_, err = billing.CustomerUpdate(ctx, tb.db, b, billing.CustomerUpdateParams{ID: tb.cust.ID, Version: 1,
		CustomerFields: billing.CustomerFields{Name: "x", Currency: "EUR"}})
	notFound("CustomerUpdate", err)
	_, err = billing.CustomerDelete(ctx, tb.db, b, tb.cust.ID, 1)
	notFound("CustomerDelete", err)
	_, err = billing.CustomerRestore(ctx, tb.db, b, tb.cust.ID, 1)
	notFound("CustomerRestore", err)
	_, err = billing.CustomerCredit(ctx, tb.db, b, tb.cust.ID)
	notFound("CustomerCredit", err)
	res, err := billing.CustomerList(ctx, tb.db, b, billing.CustomerListParams{Search: "Initech"})
	require.NoError(t, err)
	require.Empty(t, res.Customers)
	require.Error(t, billing.TaxRateDelete(ctx, tb.db, b, tb.std.ID))
	_, err = billing.InvoiceCreate(ctx, tb.db, b, billing.InvoiceCreateParams{CustomerID: tb.cust.ID})
	fieldOrNotFound("InvoiceCreate", err)
	_, err = billing.InvoiceGet(ctx, tb.db, b, inv.ID)
	notFound("InvoiceGet", err)
	_, err = billing.InvoiceUpdate(ctx, tb.db, b, billing.InvoiceUpdateParams{ID: draft.ID, Version: draft.Version})
	notFound("InvoiceUpdate", err)
	_, err = billing.InvoiceLineAdd(ctx, tb.db, b, draft.ID, 0, billing.LineParams{Description: "x", Quantity: billing.Units(1), TaxRateID: tb.stdB.ID})
	notFound("InvoiceLineAdd", err)
	_, err = billing.InvoiceLineRemove(ctx, tb.db, b, draft.ID, 0, lines[0].ID)
	notFound("InvoiceLineRemove", err)
	_, err = billing.InvoiceIssue(ctx, tb.db, b, billing.InvoiceIssueParams{ID: draft.ID})
	notFound("InvoiceIssue", err)
	_, err = billing.InvoiceVoid(ctx, tb.db, b, billing.InvoiceVoidParams{ID: inv.ID, Reason: "x"})
	notFound("InvoiceVoid", err)
	list, err := billing.InvoiceList(ctx, tb.db, b, billing.InvoiceListParams{})
	require.NoError(t, err)
	require.Empty(t, list.Invoices)
	require.Empty(t, list.Totals)
	open, err := billing.OpenInvoices(ctx, tb.db, b, tb.cust.ID)
	require.NoError(t, err)
	require.Empty(t, open)
	_, err = billing.CreditNoteIssue(ctx, tb.db, b, billing.CreditNoteParams{InvoiceID: inv.ID, Reason: "x"})
	notFound("CreditNoteIssue", err)
	_, err = billing.PaymentRecord(ctx, tb.db, b, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 1, KeepCredit: true,
		ReceivedOn: day("2026-01-01"), Method: billing.MethodCash})
	fieldOrNotFound("PaymentRecord foreign customer", err)
	_, err = billing.PaymentRecord(ctx, tb.db, b, billing.PaymentParams{CustomerID: tb.custB.ID, Amount: 100, ReceivedOn: day("2026-01-01"),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 100}}})
	fieldOrNotFound("PaymentRecord foreign invoice", err)
	_, err = billing.PaymentGet(ctx, tb.db, b, pay.ID)
	notFound("PaymentGet", err)
	_, err = billing.PaymentAllocate(ctx, tb.db, b, pay.ID, []billing.Allocation{{InvoiceID: inv.ID, Amount: 1}})
	notFound("PaymentAllocate", err)
	_, err = billing.PaymentReverse(ctx, tb.db, b, billing.PaymentReverseParams{ID: pay.ID, Reason: "x"})
	notFound("PaymentReverse", err)
	plist, err := billing.PaymentList(ctx, tb.db, b, billing.PaymentListParams{})
	require.NoError(t, err)
	require.Empty(t, plist.Payments)
	_, err = billing.InvoicePDFEnsure(ctx, tb.db, b, inv.ID)
	notFound("InvoicePDFEnsure", err)
	_, err = billing.InvoicePDFOpen(ctx, tb.db, b, inv.ID)
	notFound("InvoicePDFOpen", err)
	_, err = billing.InvoiceSendRequest(ctx, tb.db, b, billing.InvoiceSendParams{InvoiceID: inv.ID})
	notFound("InvoiceSendRequest", err)
	// Nothing of A changed.
	d := tb.invoice(ctx, t, inv.ID)
	require.Equal(t, billing.StatusIssued, d.Status)
	require.Empty(t, d.Sends)
	require.Empty(t, balanceViolations(ctx, t, tb.db, tb.a))
	require.Empty(t, balanceViolations(ctx, t, tb.db, tb.b))
}

// TestCustomerStatement: opening, movements and closing; the closing balance equals the open balances of
// the customer's invoices minus their credit.
func TestCustomerStatement(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	old := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 10000}) // 119.00, dated 40 days back
	backdate(ctx, t, tb, old.ID, 40)
	inv := tb.issued(ctx, t, tb.cust.ID, [2]int64{2, 5000}) // 119.00
	today := time.Now().UTC()
	_, err := billing.PaymentRecord(ctx, tb.db, tb.sys, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 15000, ReceivedOn: today,
		Method: billing.MethodBankTransfer, Reference: "TX-9", KeepCredit: true, Allocations: []billing.Allocation{{InvoiceID: old.ID, Amount: 11900}}})
	require.NoError(t, err)
	bounced, err := billing.PaymentRecord(ctx, tb.db, tb.sys, billing.PaymentParams{CustomerID: tb.cust.ID, Amount: 1000, ReceivedOn: today,
		Method: billing.MethodCheque, Reference: "CHQ-1", Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 1000}}})
	require.NoError(t, err)
	_, err = billing.PaymentReverse(ctx, tb.db, tb.sys, billing.PaymentReverseParams{ID: bounced.ID, Reason: "Bounced"})
	require.NoError(t, err)
	_, err = billing.CreditNoteIssue(ctx, tb.db, tb.sys, billing.CreditNoteParams{InvoiceID: inv.ID, Amount: ptr(int64(900)), Reason: "Discount"})
	require.NoError(t, err)

	st, err := billing.CustomerStatement(ctx, tb.db, tb.as[identity.RoleAuditor], billing.StatementParams{CustomerID: tb.cust.ID,
		From: today.AddDate(0, 0, -10), To: today})
	require.NoError(t, err)
	require.Equal(t, int64(11900), st.Opening, "the old invoice, issued before the period")
	var kinds []string
	for _, l := range st.Lines {
		kinds = append(kinds, l.Kind)
	}
	require.ElementsMatch(t, []string{"invoice", "payment", "payment", "payment_reversal", "credit_note"}, kinds)
	// Owed: 119.00 − 9.00 credited on the new invoice; credit: 150.00 − 119.00 = 31.00 → 79.00.
	require.Equal(t, int64(11900-900-3100), st.Closing)
	require.Equal(t, st.Closing, st.Lines[len(st.Lines)-1].Balance)
	open, err := billing.OpenInvoices(ctx, tb.db, tb.sys, tb.cust.ID)
	require.NoError(t, err)
	var owed int64
	for _, i := range open {
		owed += i.Balance
	}
	credit, err := billing.CustomerCredit(ctx, tb.db, tb.sys, tb.cust.ID)
	require.NoError(t, err)
	require.Equal(t, owed-credit, st.Closing)

	_, err = billing.CustomerStatement(ctx, tb.db, tb.sysB, billing.StatementParams{CustomerID: tb.cust.ID})
	requireCode(t, err, store.NotFound, "")
	_, err = billing.CustomerStatement(ctx, tb.db, tb.as[identity.RoleEmployee], billing.StatementParams{CustomerID: tb.cust.ID})
	requireCode(t, err, store.Forbidden, "")
}

func TestCustomerChoices(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	names := func(cs []billing.CustomerChoice) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+" "+c.Currency)
		}
		return out
	}
	got, err := billing.CustomerChoices(ctx, tb.db, tb.as[identity.RoleFinance])
	require.NoError(t, err)
	require.Equal(t, []string{"Hooli USD", "Initech EUR", "Umbrella EUR"}, names(got), "by name, this tenant's only")
	del, err := billing.CustomerDelete(ctx, tb.db, tb.as[identity.RoleFinance], tb.cust2.ID, tb.cust2.Version)
	require.NoError(t, err)
	require.NotNil(t, del.DeletedAt)
	got, err = billing.CustomerChoices(ctx, tb.db, tb.as[identity.RoleFinance])
	require.NoError(t, err)
	require.Equal(t, []string{"Hooli USD", "Initech EUR"}, names(got), "no deleted customer")
	got, err = billing.CustomerChoices(ctx, tb.db, tb.sysB)
	require.NoError(t, err)
	require.Equal(t, []string{"Kaisha JPY"}, names(got))
	_, err = billing.CustomerChoices(ctx, tb.db, tb.as[identity.RoleEmployee])
	requireCode(t, err, store.Forbidden, "")
}
