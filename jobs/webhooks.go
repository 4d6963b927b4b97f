package jobs

import "github.com/riverqueue/river"

// webhooksWorkers adds the workers for webhook deliveries.
func webhooksWorkers(workers *river.Workers, deps Deps) error {
	return nil
}

// webhooksPeriodicJobs are the periodic jobs for webhook deliveries.
func webhooksPeriodicJobs() []*river.PeriodicJob {
	return nil
}
