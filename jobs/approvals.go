package jobs

import "github.com/riverqueue/river"

// approvalsWorkers adds the workers for approval reminders and escalations.
func approvalsWorkers(workers *river.Workers, deps Deps) error {
	return nil
}

// approvalsPeriodicJobs are the periodic jobs for approval reminders and escalations.
func approvalsPeriodicJobs() []*river.PeriodicJob {
	return nil
}
