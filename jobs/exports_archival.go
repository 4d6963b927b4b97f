package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/exports"
)

// ArchivalEvery is the period of archival and purging.
const ArchivalEvery = 24 * time.Hour

// ArchivalArgs is the periodic job that moves monthly partitions of audit events and stock movements older
// than every tenant's policy to the archive schema, and purges soft-deleted records past each tenant's
// retention.
type ArchivalArgs struct{}

// Kind names the job in River's tables.
func (ArchivalArgs) Kind() string { return "archival" }

// InsertOpts makes the job unique per period: every instance schedules it, only one lands.
func (ArchivalArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: ArchivalEvery}}
}

// ArchivalWorker works ArchivalArgs. Each month moves in its own transaction under an advisory lock (the
// DDL runs in ledger_partition_archive, a SECURITY DEFINER function of the owner role), so a retried or
// concurrent run skips what is done.
type ArchivalWorker struct {
	river.WorkerDefaults[ArchivalArgs]
	DB  *store.DB
	Now func() time.Time
}

type archivalOutput struct {
	Archived []string            `json:"archived"`
	Purge    exports.PurgeResult `json:"purge"`
}

// Work archives, then purges, and records what it did as the job's output.
func (w *ArchivalWorker) Work(ctx context.Context, job *river.Job[ArchivalArgs]) error {
	moved, purged, err := w.Run(ctx)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, archivalOutput{Archived: moved, Purge: purged})
}

// Run archives the due months and purges the due soft-deleted records; it returns the partitions moved
// and the purge counts (rows kept because they are still referenced are logged too).
func (w *ArchivalWorker) Run(ctx context.Context) ([]string, exports.PurgeResult, error) {
	now := time.Now()
	if w.Now != nil {
		now = w.Now()
	}
	moved, err := exports.Archive(ctx, w.DB, now)
	if err != nil {
		return moved, exports.PurgeResult{}, err
	}
	purged, err := exports.PurgeAll(ctx, w.DB, now)
	if err != nil {
		return moved, purged, err
	}
	for table, n := range purged.Referenced {
		slog.InfoContext(ctx, "soft-deleted records kept because other records still refer to them", "table", table, "rows", n)
	}
	return moved, purged, nil
}
