package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// RemindersWorker reminds customers of overdue invoices, tenant by tenant. Each stage of each invoice
// happens once (billing.RemindersRun records it with the e-mail job in one transaction), so a repeated
// or late run sends nothing twice.
type RemindersWorker struct {
	river.WorkerDefaults[billing.RemindersArgs]
	DB *store.DB
}

// Work visits every tenant.
func (w *RemindersWorker) Work(ctx context.Context, job *river.Job[billing.RemindersArgs]) error {
	var tenants []store.ID
	if err := w.DB.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return fmt.Errorf("error listing tenants: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := billing.RemindersRun(ctx, w.DB, store.Scope{TenantID: t})
		if err != nil {
			return err
		}
		total += n
	}
	return river.RecordOutput(ctx, map[string]int{"reminders": total})
}
