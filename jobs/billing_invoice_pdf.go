package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/billing"
)

// InvoicePDFWorker renders an issued invoice's PDF and stores it in PostgreSQL. It is idempotent: an
// invoice that already has its PDF keeps it (billing.InvoicePDFEnsure), so a retry or a duplicate job
// changes nothing. A failure is noted on the invoice and retried with River's back-off.
type InvoicePDFWorker struct {
	river.WorkerDefaults[billing.InvoicePDFArgs]
	DB *store.DB
}

// Work renders and stores the PDF as the system in the job's tenant.
func (w *InvoicePDFWorker) Work(ctx context.Context, job *river.Job[billing.InvoicePDFArgs]) error {
	scope := store.Scope{TenantID: job.Args.TenantID}
	_, err := billing.InvoicePDFEnsure(ctx, w.DB, scope, job.Args.InvoiceID)
	switch store.ErrorCode(err) {
	case "":
		return nil
	case store.NotFound, store.Invalid:
		// The invoice is gone from this tenant or was never issued: retrying cannot help.
		return river.JobCancel(fmt.Errorf("error rendering PDF of invoice %s: %w", job.Args.InvoiceID, err))
	}
	_ = billing.InvoicePDFFailed(context.WithoutCancel(ctx), w.DB, scope, job.Args.InvoiceID, "rendering failed, retrying")
	return err
}

// Timeout bounds one attempt.
func (w *InvoicePDFWorker) Timeout(*river.Job[billing.InvoicePDFArgs]) time.Duration {
	return time.Minute
}
