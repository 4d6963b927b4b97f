package jobs

import (
	"fmt"

	"github.com/riverqueue/river"

	"ledgerline/store/billing"
)

// billingWorkers adds the workers for invoice PDFs and e-mails.
func billingWorkers(workers *river.Workers, deps Deps) error {
	if err := river.AddWorkerSafely(workers, &InvoicePDFWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding invoice PDF worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &InvoiceSendWorker{DB: deps.DB, Mailer: deps.Mailer}); err != nil {
		return fmt.Errorf("error adding invoice e-mail worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &RemindersWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding billing reminders worker: %w", err)
	}
	return nil
}

// billingPeriodicJobs are billing's periodic jobs: the hourly reminders of overdue invoices.
func billingPeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(billing.RemindersEvery), func() (river.JobArgs, *river.InsertOpts) {
			return billing.RemindersArgs{}, nil
		}, nil),
	}
}
