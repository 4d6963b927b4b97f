package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// AuditVerifyWorker works audit.VerifyArgs: it recomputes one tenant's hash chain on request and records
// the outcome for the audit log page. It is idempotent: a finished verification is not redone.
type AuditVerifyWorker struct {
	river.WorkerDefaults[audit.VerifyArgs]
	DB *store.DB
}

// Work verifies the chain. When the last attempt fails, the verification is marked failed, so the page
// stops waiting and says so.
func (w *AuditVerifyWorker) Work(ctx context.Context, job *river.Job[audit.VerifyArgs]) error {
	err := audit.VerificationRun(ctx, w.DB, job.Args)
	if err != nil && job.Attempt >= job.MaxAttempts {
		// A fresh context: ctx may be the one that just timed out.
		failCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if ferr := audit.VerificationFail(failCtx, w.DB, job.Args, "The check could not be completed. Try again later; if it keeps failing, tell your operator."); ferr != nil {
			return ferr
		}
	}
	return err
}

// Timeout allows for long chains: Verify streams every seal of the tenant in one transaction.
func (w *AuditVerifyWorker) Timeout(*river.Job[audit.VerifyArgs]) time.Duration {
	return 30 * time.Minute
}
