package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/exports"
)

// ExportRunWorker works exports.RunArgs: it streams the list's rows into the export's file under the
// requester's scope. It is idempotent: a finished or cancelled export is not redone, and the file is
// linked only when complete, so a rescued job never offers a partial or duplicate file.
type ExportRunWorker struct {
	river.WorkerDefaults[exports.RunArgs]
	DB      *store.DB
	Catalog exports.Catalog
	BaseURL string
	// MaxDuration, when set (JOB_RESCUE_AFTER), caps the timeout: River rescues the job of a dead worker
	// only after the job's timeout, so an hour's timeout would leave a killed export waiting an hour.
	MaxDuration time.Duration
}

// Work runs the export; after the last failed attempt the export is marked failed and its requester told.
func (w *ExportRunWorker) Work(ctx context.Context, job *river.Job[exports.RunArgs]) error {
	opts := exports.RunOpts{BaseURL: w.BaseURL}
	if job.Attempt < job.MaxAttempts {
		opts.RetryAt = w.NextRetry(job)
	}
	err := exports.Run(ctx, w.DB, w.Catalog, job.Args, job.Attempt, opts)
	if err != nil && job.Attempt >= job.MaxAttempts {
		failCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if ferr := exports.Fail(failCtx, w.DB, job.Args, "The export could not be completed. Try again later; if it keeps failing, tell your operator.", opts); ferr != nil {
			return ferr
		}
	}
	return err
}

// ExportRetryBackoff is the wait before attempt n+1 after attempt n failed: 10 s, 30 s, 90 s, 270 s (a
// database outage of up to about 6½ minutes is ridden out by the 5 attempts).
func ExportRetryBackoff(attempt int) time.Duration {
	d := 10 * time.Second
	for range max(attempt-1, 0) {
		d *= 3
	}
	return min(d, time.Hour)
}

// NextRetry is when River tries a failed attempt again. It is computed from the attempt's start, so Work
// can show the same time on the export while it waits.
func (w *ExportRunWorker) NextRetry(job *river.Job[exports.RunArgs]) time.Time {
	start := time.Now()
	if job.AttemptedAt != nil {
		start = *job.AttemptedAt
	}
	return start.Add(ExportRetryBackoff(job.Attempt))
}

// Timeout allows for a million rows to XLSX on a busy machine, or JOB_RESCUE_AFTER when that is shorter
// (set it above the longest export).
func (w *ExportRunWorker) Timeout(*river.Job[exports.RunArgs]) time.Duration {
	if w.MaxDuration > 0 {
		return min(w.MaxDuration, time.Hour)
	}
	return time.Hour
}

// FileCleanupArgs is the periodic job that removes the bytes of expired files (exports, import uploads,
// import error reports) of every tenant.
type FileCleanupArgs struct{}

// Kind names the job in River's tables.
func (FileCleanupArgs) Kind() string { return "file_cleanup" }

// InsertOpts makes the job unique per period: every instance schedules it, only one lands.
func (FileCleanupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: ExportCleanupEvery}}
}

// FileCleanupWorker works FileCleanupArgs.
type FileCleanupWorker struct {
	river.WorkerDefaults[FileCleanupArgs]
	DB *store.DB
}

type fileCleanupOutput struct {
	Purged int `json:"purged"`
}

// Work purges every tenant's expired files.
func (w *FileCleanupWorker) Work(ctx context.Context, job *river.Job[FileCleanupArgs]) error {
	n, err := exports.Cleanup(ctx, w.DB, time.Now())
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, fileCleanupOutput{Purged: n})
}

// ExportSchedulesArgs is the periodic job that starts the scheduled reports that are due.
type ExportSchedulesArgs struct{}

// Kind names the job in River's tables.
func (ExportSchedulesArgs) Kind() string { return "export_schedules" }

// InsertOpts makes the job unique per period.
func (ExportSchedulesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: ExportSchedulesEvery}}
}

// ExportSchedulesWorker works ExportSchedulesArgs. Each due schedule is claimed by moving its next run on
// in the transaction that creates its export, so a run is started once.
type ExportSchedulesWorker struct {
	river.WorkerDefaults[ExportSchedulesArgs]
	DB *store.DB
}

type exportSchedulesOutput struct {
	Started int `json:"started"`
}

// Work starts the due scheduled reports of every tenant.
func (w *ExportSchedulesWorker) Work(ctx context.Context, job *river.Job[ExportSchedulesArgs]) error {
	n, err := exports.SchedulesRunAllDue(ctx, w.DB, time.Now())
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, exportSchedulesOutput{Started: n})
}
