package jobs

import "github.com/riverqueue/river"

// billingWorkers adds the workers for invoice PDFs and e-mails.
func billingWorkers(workers *river.Workers, deps Deps) error {
	return nil
}

// billingPeriodicJobs are the periodic jobs for invoice PDFs and e-mails.
func billingPeriodicJobs() []*river.PeriodicJob {
	return nil
}
