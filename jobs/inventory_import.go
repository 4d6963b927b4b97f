package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

// InventoryImportWorker works inventory.ImportArgs: it checks an uploaded CSV file and commits all of its
// rows or none. It is idempotent: a finished import is not redone.
type InventoryImportWorker struct {
	river.WorkerDefaults[inventory.ImportArgs]
	DB *store.DB
	// MaxDuration, when set (JOB_RESCUE_AFTER), caps the timeout below, so a dead worker's import is
	// rescued that soon.
	MaxDuration time.Duration
}

// Work runs the import. When the last attempt fails, the import is marked failed, so the page stops
// waiting and says so.
func (w *InventoryImportWorker) Work(ctx context.Context, job *river.Job[inventory.ImportArgs]) error {
	err := inventory.ImportRun(ctx, w.DB, job.Args)
	if err != nil && job.Attempt >= job.MaxAttempts {
		failCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if ferr := inventory.ImportFail(failCtx, w.DB, job.Args, "The import could not be completed and nothing was imported. Try again later; if it keeps failing, tell your operator."); ferr != nil {
			return ferr
		}
	}
	return err
}

// Timeout allows for large files: 100,000 rows take seconds, but a busy database may take longer.
func (w *InventoryImportWorker) Timeout(*river.Job[inventory.ImportArgs]) time.Duration {
	if w.MaxDuration > 0 {
		return min(w.MaxDuration, 15*time.Minute)
	}
	return 15 * time.Minute
}
