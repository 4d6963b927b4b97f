package billing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// TestReminders: each stage once per invoice, a late run sends one e-mail for the latest stage reached,
// paid invoices and customers without e-mail are left alone, other tenants untouched.
func TestReminders(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	emailJobs := func() []string {
		var to []string
		require.NoError(t, tb.db.X.SelectContext(ctx, &to, `SELECT args->>'to' FROM river_job WHERE kind = 'email_send' ORDER BY id`))
		return to
	}
	late := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000})  // terms 14
	backdate(ctx, t, tb, late.ID, 14+20)                      // 20 days overdue: stages 7 and 14 reached
	paid := tb.issued(ctx, t, tb.cust2.ID, [2]int64{1, 1000}) // overdue but paid
	backdate(ctx, t, tb, paid.ID, 14+40)
	_, err := billing.PaymentRecord(ctx, tb.db, tb.sys, billing.PaymentParams{CustomerID: tb.cust2.ID, Amount: 1190, ReceivedOn: day("2026-01-01"),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: paid.ID, Amount: 1190}}})
	require.NoError(t, err)
	fresh := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000}) // not yet due
	_ = fresh

	n, err := billing.RemindersRun(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"initech@example.com"}, emailJobs())
	d := tb.invoice(ctx, t, late.ID)
	require.Equal(t, []int{7, 14}, []int{d.Reminders[0].Days, d.Reminders[1].Days})
	require.False(t, d.Reminders[0].Sent, "the missed stage is recorded, not mailed")
	require.True(t, d.Reminders[1].Sent)

	// A second run (or a second instance) sends nothing.
	n, err = billing.RemindersRun(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Len(t, emailJobs(), 1)

	// Ten more days: the 30-day stage, once.
	backdate(ctx, t, tb, late.ID, 10)
	n, err = billing.RemindersRun(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, emailJobs(), 2)

	// Reminders off: nothing more, even past every stage.
	_, err = billing.SettingsUpdate(ctx, tb.db, tb.sys, billing.SettingsUpdateParams{InvoiceSeries: "INV", CreditNoteSeries: "CN",
		DefaultTermsDays: 30, ReminderDays: billing.Days{}})
	require.NoError(t, err)
	other := tb.issued(ctx, t, tb.cust.ID, [2]int64{1, 1000})
	backdate(ctx, t, tb, other.ID, 100)
	n, err = billing.RemindersRun(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Zero(t, n)
	// Tenant B has nothing to remind of.
	n, err = billing.RemindersRun(ctx, tb.db, store.Scope{TenantID: tb.b})
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = billing.SettingsUpdate(ctx, tb.db, tb.sys, billing.SettingsUpdateParams{InvoiceSeries: "INV", CreditNoteSeries: "CN",
		ReminderDays: billing.Days{14, 7}, Version: 1})
	requireField(t, err, "reminder_days", "ascending")
}
