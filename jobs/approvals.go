package jobs

import (
	"fmt"

	"github.com/riverqueue/river"
)

// approvalsWorkers adds the workers for approval reminders and escalations, and for the hand-off of
// approved purchase requests to inventory.
func approvalsWorkers(workers *river.Workers, deps Deps) error {
	if err := river.AddWorkerSafely(workers, &ApprovalsSLAWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding approvals SLA worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &ApprovalsRequestApprovedWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding approvals hand-off worker: %w", err)
	}
	return nil
}

// approvalsPeriodicJobs are the periodic jobs for approval reminders and escalations.
func approvalsPeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(ApprovalsSLAEvery), func() (river.JobArgs, *river.InsertOpts) {
			return ApprovalsSLAArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
