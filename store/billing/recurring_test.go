package billing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
)

// TestRecurring: occurrences on their dates, caught up after missed runs, each once however often the
// job runs, drafts or issued per template, ending at the end date or when stopped.
func TestRecurring(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	fin := tb.as[identity.RoleFinance]
	today := time.Now().UTC().Truncate(24 * time.Hour)
	lines := []billing.RecurringLine{{Description: "Hosting", Quantity: billing.Units(1), UnitPrice: 10000, TaxRateID: tb.std.ID}}

	_, err := billing.RecurringCreate(ctx, tb.db, fin, billing.RecurringParams{CustomerID: tb.cust.ID, Name: " ", Schedule: "weekly",
		Lines: []billing.RecurringLine{{Description: "x", Quantity: -1, TaxRateID: tb.std.ID}}})
	for _, f := range []string{"name", "schedule", "start_date", "quantity"} {
		requireField(t, err, f, "")
	}
	_, err = billing.RecurringCreate(ctx, tb.db, tb.as[identity.RoleManager], billing.RecurringParams{CustomerID: tb.cust.ID, Name: "x",
		Schedule: billing.Monthly, StartDate: today, Lines: lines})
	requireCode(t, err, store.Forbidden, "")

	// Started three months ago, monthly, drafts: four occurrences are due (today included).
	start := today.AddDate(0, -3, 0)
	drafts, err := billing.RecurringCreate(ctx, tb.db, fin, billing.RecurringParams{CustomerID: tb.cust.ID, Name: "Hosting",
		Schedule: billing.Monthly, StartDate: start, Lines: lines})
	require.NoError(t, err)
	// Quarterly, issued at once, ended after its first occurrence.
	end := today.AddDate(0, 1, 0)
	issued, err := billing.RecurringCreate(ctx, tb.db, fin, billing.RecurringParams{CustomerID: tb.cust2.ID, Name: "Support",
		Schedule: billing.Quarterly, StartDate: today, EndDate: &end, AutoIssue: true, Lines: lines})
	require.NoError(t, err)
	future, err := billing.RecurringCreate(ctx, tb.db, fin, billing.RecurringParams{CustomerID: tb.cust.ID, Name: "Next year",
		Schedule: billing.Yearly, StartDate: today.AddDate(0, 1, 0), Lines: lines})
	require.NoError(t, err)

	n, err := billing.RecurringRun(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = billing.RecurringRun(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	require.Zero(t, n, "a repeated run makes nothing")

	res, err := billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{CustomerID: &tb.cust.ID})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 4)
	for _, i := range res.Invoices {
		require.Equal(t, billing.StatusDraft, i.Status)
		require.Equal(t, int64(11900), i.Total)
	}
	res, err = billing.InvoiceList(ctx, tb.db, tb.sys, billing.InvoiceListParams{CustomerID: &tb.cust2.ID})
	require.NoError(t, err)
	require.Len(t, res.Invoices, 1)
	require.Equal(t, billing.StatusIssued, res.Invoices[0].Status)

	list, err := billing.RecurringList(ctx, tb.db, tb.sys)
	require.NoError(t, err)
	byID := map[store.ID]billing.Recurring{}
	for _, r := range list {
		byID[r.ID] = r
	}
	require.Equal(t, 4, byID[drafts.ID].Occurrences)
	require.True(t, byID[drafts.ID].NextDate.After(today), "the next occurrence is ahead")
	require.Nil(t, byID[issued.ID].NextDate, "past its end date")
	require.Equal(t, 0, byID[future.ID].Occurrences)

	stopped, err := billing.RecurringStop(ctx, tb.db, fin, drafts.ID)
	require.NoError(t, err)
	require.Nil(t, stopped.NextDate)
	_, err = billing.RecurringStop(ctx, tb.db, fin, drafts.ID)
	requireCode(t, err, store.Invalid, "ended")
	_, err = billing.RecurringStop(ctx, tb.db, tb.sysB, future.ID)
	requireCode(t, err, store.NotFound, "")
	listB, err := billing.RecurringList(ctx, tb.db, tb.sysB)
	require.NoError(t, err)
	require.Empty(t, listB)
	n, err = billing.RecurringRun(ctx, tb.db, tb.sysB)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, balanceViolations(ctx, t, tb.db, tb.a))
}
