package jobs

import (
	"fmt"

	"github.com/riverqueue/river"
)

// billingWorkers adds the workers for invoice PDFs and e-mails.
func billingWorkers(workers *river.Workers, deps Deps) error {
	if err := river.AddWorkerSafely(workers, &InvoicePDFWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding invoice PDF worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &InvoiceSendWorker{DB: deps.DB, Mailer: deps.Mailer}); err != nil {
		return fmt.Errorf("error adding invoice e-mail worker: %w", err)
	}
	return nil
}

// billingPeriodicJobs are the periodic jobs for invoice PDFs and e-mails.
func billingPeriodicJobs() []*river.PeriodicJob {
	return nil
}
