package jobs

import "github.com/riverqueue/river"

// exportsWorkers adds the workers for exports, scheduled reports and file clean-up.
func exportsWorkers(workers *river.Workers, deps Deps) error {
	return nil
}

// exportsPeriodicJobs are the periodic jobs for exports, scheduled reports and file clean-up.
func exportsPeriodicJobs() []*river.PeriodicJob {
	return nil
}
