package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/inventory"
)

// StockHandoffWorker is where billing meets inventory: it issues the stock of an issued invoice's item
// lines. Each line's movements carry the line's reference ("INV-2026-000123 line 2"); what was already
// issued under that reference is not issued again, so a retried job (after a crash, or while stock was
// short) issues each line once. Stock is taken from the item's levels with the most available first; when
// the item has too little, the job fails with the shortage and River retries it with back-off.
type StockHandoffWorker struct {
	river.WorkerDefaults[billing.StockHandoffArgs]
	DB *store.DB
}

// Work issues the lines as the system in the job's tenant.
func (w *StockHandoffWorker) Work(ctx context.Context, job *river.Job[billing.StockHandoffArgs]) error {
	scope := store.Scope{TenantID: job.Args.TenantID}
	for _, l := range job.Args.Lines {
		if err := w.issueLine(ctx, scope, l); err != nil {
			return err
		}
	}
	return nil
}

func (w *StockHandoffWorker) issueLine(ctx context.Context, scope store.Scope, l billing.StockHandoffLine) error {
	issued, err := issuedUnder(ctx, w.DB, scope, l.ItemID, l.Reference)
	if err != nil {
		return err
	}
	remaining := inventory.Qty(l.Quantity) - issued
	if remaining <= 0 {
		return nil
	}
	levels, err := inventory.StockLevels(ctx, w.DB, scope, inventory.StockLevelParams{ItemID: &l.ItemID})
	if code := store.ErrorCode(err); code == store.NotFound {
		return river.JobCancel(fmt.Errorf("error handing %s to inventory: %w", l.Reference, err))
	}
	if err != nil {
		return err
	}
	slices.SortFunc(levels, func(a, b inventory.StockLevel) int { return int(b.Available - a.Available) })
	for _, lv := range levels {
		if remaining <= 0 {
			break
		}
		take := min(lv.Available, remaining)
		if take <= 0 {
			continue
		}
		if _, err := inventory.Issue(ctx, w.DB, scope, inventory.IssueParams{ItemID: l.ItemID, LocationID: lv.LocationID, Batch: lv.Batch,
			Quantity: take, MovementInfo: inventory.MovementInfo{OccurredAt: time.Now(), Reference: l.Reference, Note: "Invoiced"}}); err != nil {
			return fmt.Errorf("error issuing stock for %s: %w", l.Reference, err)
		}
		remaining -= take
	}
	if remaining > 0 {
		return fmt.Errorf("not enough stock for %s: %s more needed", l.Reference, remaining)
	}
	return nil
}

// issuedUnder sums what the item's issue movements under reference took (a positive quantity).
func issuedUnder(ctx context.Context, db *store.DB, scope store.Scope, item store.ID, reference string) (inventory.Qty, error) {
	var total inventory.Qty
	after := ""
	for page := 0; page < 20; page++ {
		res, err := inventory.MovementList(ctx, db, scope, inventory.MovementListParams{ItemID: &item, Kind: inventory.KindIssue, After: after, Limit: 200})
		if err != nil {
			return 0, err
		}
		for _, m := range res.Lines {
			if m.Reference == reference {
				total -= m.Quantity
			}
		}
		if res.Next == "" {
			break
		}
		after = res.Next
	}
	return total, nil
}
