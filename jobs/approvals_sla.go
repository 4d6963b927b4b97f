package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/approvals"
)

// ApprovalsSLAEvery is the period of the approvals SLA job: reminders and escalations are at most this late.
const ApprovalsSLAEvery = 5 * time.Minute

// ApprovalsSLAArgs is the periodic job that reminds approvers at half the SLA and escalates at breach.
type ApprovalsSLAArgs struct{}

// Kind names the job in River's tables.
func (ApprovalsSLAArgs) Kind() string { return "approvals_sla" }

// InsertOpts makes the job unique per period: every instance schedules it, only one lands.
func (ApprovalsSLAArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: ApprovalsSLAEvery}}
}

// ApprovalsSLAWorker works ApprovalsSLAArgs for every tenant. A retry repeats nothing: each step records
// its reminder and its escalation in the same transaction as the notification.
type ApprovalsSLAWorker struct {
	river.WorkerDefaults[ApprovalsSLAArgs]
	DB *store.DB
}

// Work visits every tenant with the current time.
func (w *ApprovalsSLAWorker) Work(ctx context.Context, job *river.Job[ApprovalsSLAArgs]) error {
	out, err := ApprovalsSLARunAll(ctx, w.DB, time.Now())
	if err != nil {
		return err
	}
	return river.RecordOutput(ctx, out)
}

// ApprovalsSLARunAll runs approvals.SLARun for every tenant at now and sums the results.
func ApprovalsSLARunAll(ctx context.Context, db *store.DB, now time.Time) (approvals.SLAResult, error) {
	var tenants []store.ID
	var total approvals.SLAResult
	if err := db.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return total, fmt.Errorf("error listing tenants: %w", err)
	}
	for _, t := range tenants {
		res, err := approvals.SLARun(ctx, db, t, now)
		if err != nil {
			return total, fmt.Errorf("error running approval SLAs of tenant %s: %w", t, err)
		}
		total.Reminders += res.Reminders
		total.Escalations += res.Escalations
	}
	return total, nil
}
