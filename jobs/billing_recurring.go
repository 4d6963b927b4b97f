package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// RecurringWorker makes the due occurrences of recurring invoices, tenant by tenant. Occurrences are
// keyed by date (billing.RecurringRun), so a repeated or late run makes each one once.
type RecurringWorker struct {
	river.WorkerDefaults[billing.RecurringArgs]
	DB *store.DB
}

// Work visits every tenant.
func (w *RecurringWorker) Work(ctx context.Context, job *river.Job[billing.RecurringArgs]) error {
	var tenants []store.ID
	if err := w.DB.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return fmt.Errorf("error listing tenants: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := billing.RecurringRun(ctx, w.DB, store.Scope{TenantID: t})
		if err != nil {
			return err
		}
		total += n
	}
	return river.RecordOutput(ctx, map[string]int{"invoices": total})
}
