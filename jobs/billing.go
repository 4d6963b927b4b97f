package jobs

import (
	"fmt"

	"github.com/riverqueue/river"

	"ledgerline/store/billing"
)

// billingWorkers adds billing's workers: invoice PDFs and e-mails, the stock hand-off to inventory,
// recurring invoices and reminders.
func billingWorkers(workers *river.Workers, deps Deps) error {
	if err := river.AddWorkerSafely(workers, &InvoicePDFWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding invoice PDF worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &InvoiceSendWorker{DB: deps.DB, Mailer: deps.Mailer}); err != nil {
		return fmt.Errorf("error adding invoice e-mail worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &StockHandoffWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding stock hand-off worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &RecurringWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding recurring invoices worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &RemindersWorker{DB: deps.DB}); err != nil {
		return fmt.Errorf("error adding billing reminders worker: %w", err)
	}
	return nil
}

// billingPeriodicJobs are billing's periodic jobs: recurring invoices and reminders of overdue ones, hourly.
func billingPeriodicJobs() []*river.PeriodicJob {
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(billing.RecurringEvery), func() (river.JobArgs, *river.InsertOpts) {
			return billing.RecurringArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(billing.RemindersEvery), func() (river.JobArgs, *river.InsertOpts) {
			return billing.RemindersArgs{}, nil
		}, &river.PeriodicJobOpts{RunOnStart: true}),
	}
}
