package jobs

import (
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// ExportCleanupEvery is the period of the expired-file clean-up; ExportSchedulesEvery of the check for
// due scheduled reports (they start within this much of their hour).
const (
	ExportCleanupEvery   = time.Hour
	ExportSchedulesEvery = 5 * time.Minute
)

// exportsWorkers adds the workers for exports, scheduled reports, file clean-up and dashboard snapshots.
func exportsWorkers(workers *river.Workers, deps Deps) error {
	if err := river.AddWorkerSafely(workers, &ExportRunWorker{DB: deps.DB, Catalog: ExportCatalog(), BaseURL: deps.BaseURL, MaxDuration: deps.MaxJobDuration}); err != nil {
		return fmt.Errorf("error adding export worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &FileCleanupWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding file clean-up worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &ExportSchedulesWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding scheduled report worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &DashboardSnapshotWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding dashboard snapshot worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &ArchivalWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding archival worker: %w", err)
	}
	return nil
}

// exportsPeriodicJobs are the periodic jobs for exports, scheduled reports and file clean-up.
func exportsPeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(ExportCleanupEvery), func() (river.JobArgs, *river.InsertOpts) {
			return FileCleanupArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(ExportSchedulesEvery), func() (river.JobArgs, *river.InsertOpts) {
			return ExportSchedulesArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(DashboardSnapshotEvery), func() (river.JobArgs, *river.InsertOpts) {
			return DashboardSnapshotArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(ArchivalEvery), func() (river.JobArgs, *river.InsertOpts) {
			return ArchivalArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
