package jobs_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// TestStockHandoff: with the hand-off enabled, issuing an invoice with an item line enqueues (in the
// issuing transaction) the job that issues the stock; the job takes from the fullest levels, waits while
// stock is short, and a repeated run issues nothing twice.
func TestStockHandoff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: "Stock Co", Slug: "stockco", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	sys := store.Scope{TenantID: ten.ID}
	wh, err := inventory.LocationCreate(ctx, db, sys, inventory.LocationCreateParams{Code: "WH", Name: "Warehouse"})
	require.NoError(t, err)
	wh2, err := inventory.LocationCreate(ctx, db, sys, inventory.LocationCreateParams{Code: "WH2", Name: "Second"})
	require.NoError(t, err)
	item, err := inventory.ItemCreate(ctx, db, sys, inventory.ItemFields{SKU: "W-1", Name: "Widget", Unit: "ea"})
	require.NoError(t, err)
	for _, r := range []struct {
		loc store.ID
		n   int64
	}{{wh.ID, 4}, {wh2.ID, 3}} {
		_, err = inventory.Receive(ctx, db, sys, inventory.ReceiveParams{ItemID: item.ID, LocationID: r.loc, Quantity: inventory.Units(r.n), Currency: "EUR"})
		require.NoError(t, err)
	}
	rate, err := billing.TaxRateCreate(ctx, db, sys, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	cust, err := billing.CustomerCreate(ctx, db, sys, billing.CustomerFields{Name: "Buyer", Currency: "EUR"})
	require.NoError(t, err)
	_, err = billing.SettingsUpdate(ctx, db, sys, billing.SettingsUpdateParams{InvoiceSeries: "INV", CreditNoteSeries: "CN", DefaultTermsDays: 30, StockHandoff: true})
	require.NoError(t, err)

	issue := func(qty int64) *billing.Invoice {
		inv, err := billing.InvoiceCreate(ctx, db, sys, billing.InvoiceCreateParams{CustomerID: cust.ID})
		require.NoError(t, err)
		_, err = billing.InvoiceLineAdd(ctx, db, sys, inv.ID, 0, billing.LineParams{Description: "Widget", Quantity: billing.Units(qty), UnitPrice: 1000,
			TaxRateID: rate.ID, ItemID: &item.ID})
		require.NoError(t, err)
		_, err = billing.InvoiceLineAdd(ctx, db, sys, inv.ID, 0, billing.LineParams{Description: "Service", Quantity: billing.Units(1), UnitPrice: 500, TaxRateID: rate.ID})
		require.NoError(t, err)
		inv, err = billing.InvoiceIssue(ctx, db, sys, billing.InvoiceIssueParams{ID: inv.ID})
		require.NoError(t, err)
		return inv
	}
	jobOf := func(inv *billing.Invoice) *river.Job[billing.StockHandoffArgs] {
		var raw []byte
		require.NoError(t, db.X.GetContext(ctx, &raw, `SELECT args FROM river_job WHERE kind = 'billing_stock_handoff' AND args->>'invoice_id' = $1`, inv.ID.String()))
		var args billing.StockHandoffArgs
		require.NoError(t, json.Unmarshal(raw, &args))
		return &river.Job[billing.StockHandoffArgs]{JobRow: &rivertype.JobRow{ID: 1}, Args: args}
	}
	onHand := func() inventory.Qty {
		it, err := inventory.ItemGet(ctx, db, sys, item.ID)
		require.NoError(t, err)
		return it.OnHand
	}
	w := &jobs.StockHandoffWorker{DB: db}

	first := issue(5) // more than any one location holds
	job := jobOf(first)
	require.Len(t, job.Args.Lines, 1, "only the item line")
	require.NoError(t, w.Work(ctx, job))
	require.Equal(t, inventory.Units(2), onHand())
	require.NoError(t, w.Work(ctx, job), "a repeated run")
	require.Equal(t, inventory.Units(2), onHand(), "issues nothing twice")

	short := issue(3) // only 2 left: the job fails (and is retried) after taking what there is
	job = jobOf(short)
	require.ErrorContains(t, w.Work(ctx, job), "not enough stock")
	require.Equal(t, inventory.Units(0), onHand())
	_, err = inventory.Receive(ctx, db, sys, inventory.ReceiveParams{ItemID: item.ID, LocationID: wh.ID, Quantity: inventory.Units(10), Currency: "EUR"})
	require.NoError(t, err)
	require.NoError(t, w.Work(ctx, job), "the retry after the receipt")
	require.Equal(t, inventory.Units(9), onHand(), "only the missing 1 was issued")

	// Off: no hand-off job.
	_, err = billing.SettingsUpdate(ctx, db, sys, billing.SettingsUpdateParams{InvoiceSeries: "INV", CreditNoteSeries: "CN", DefaultTermsDays: 30, Version: 1})
	require.NoError(t, err)
	off := issue(1)
	var n int
	require.NoError(t, db.X.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'billing_stock_handoff' AND args->>'invoice_id' = $1`, off.ID.String()))
	require.Zero(t, n)
}
