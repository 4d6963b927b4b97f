package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// AuditSealArgs is the periodic job that seals every tenant's new audit events into its hash chain.
type AuditSealArgs struct{}

// Kind names the job in River's tables.
func (AuditSealArgs) Kind() string { return "audit_seal" }

// InsertOpts makes the job unique per minute: every instance schedules it, but only one lands per period.
// Overlapping runs would still be safe (sealing takes a per-tenant lock); they would only be wasted work.
func (AuditSealArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

// AuditSealWorker works AuditSealArgs. It is idempotent: a retry seals only what is still unsealed.
type AuditSealWorker struct {
	river.WorkerDefaults[AuditSealArgs]
	DB *store.DB
}

// auditSealOutput is what a finished sealing job records, visible in River UI.
type auditSealOutput struct {
	Sealed int `json:"sealed"`
}

// Work seals every tenant's pending events.
func (w *AuditSealWorker) Work(ctx context.Context, job *river.Job[AuditSealArgs]) error {
	n, err := audit.SealAll(ctx, w.DB)
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, auditSealOutput{Sealed: n})
}
