package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
)

// Verification on request: someone who may read the audit log asks for the tenant's chain to be checked
// (VerificationRequest); a River job (jobs.AuditVerifyWorker) runs VerificationRun, which records the
// outcome of Verify in audit_verifications for the audit log page to show. A tenant has at most one open
// verification: asking again while one is queued or running returns that one.

// VerificationState is where a verification is in its life.
type VerificationState string

// The verification states.
const (
	VerificationQueued  VerificationState = "queued"  // waiting for a worker
	VerificationRunning VerificationState = "running" // a worker is recomputing the chain
	VerificationDone    VerificationState = "done"    // finished: OK says whether the chain holds
	VerificationFailed  VerificationState = "failed"  // could not be completed; Reason says why
)

// Open reports whether the verification has not finished yet.
func (s VerificationState) Open() bool {
	return s == VerificationQueued || s == VerificationRunning
}

// verificationStaleAfter is how long an open verification may take before a new request gives up on it:
// a worker that died mid-way must not block verification for ever.
const verificationStaleAfter = 30 * time.Minute

// VerifyArgs is the job that verifies one tenant's chain and records the result in verification
// VerificationID. The tenant's transaction is opened from TenantID, under row-level security.
type VerifyArgs struct {
	TenantID       store.ID `json:"tenant_id"`
	VerificationID store.ID `json:"verification_id"`
	RequestedBy    store.ID `json:"requested_by"`
}

// Kind names the job in River's tables.
func (VerifyArgs) Kind() string { return "audit_verify" }

// InsertOpts gives the job a few attempts only: a chain that cannot be read three times in a row is
// reported as failed rather than retried for days.
func (VerifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3}
}

// Verification is one requested check of a tenant's chain and, once done, its outcome.
type Verification struct {
	ID              store.ID          `db:"id"`
	RequestedBy     *store.ID         `db:"requested_by"`
	RequestedByName *string           `db:"requested_by_name"`
	State           VerificationState `db:"state"`
	// Checked is how many sealed events were found intact; Unsealed how many were not sealed yet (they are
	// sealed within a minute and checked next time).
	Checked  int64 `db:"checked"`
	Unsealed int64 `db:"unsealed"`
	// OK is set when State is done: whether every seal matched.
	OK *bool `db:"ok"`
	// FirstBadSeq and FirstBadEvent name the first link that failed, when OK is false.
	FirstBadSeq   *int64    `db:"first_bad_seq"`
	FirstBadEvent *store.ID `db:"first_bad_event"`
	// Reason says what was wrong: the broken link's reason, or why the check failed.
	Reason     string     `db:"reason"`
	CreatedAt  time.Time  `db:"created_at"`
	FinishedAt *time.Time `db:"finished_at"`
}

const verificationSelect = `
	SELECT v.id, v.requested_by, u.name AS requested_by_name, v.state, v.checked, v.unsealed, v.ok,
	       v.first_bad_seq, v.first_bad_event, v.reason, v.created_at, v.finished_at
	FROM audit_verifications v
	LEFT JOIN users u ON u.id = v.requested_by`

// VerificationRequest asks for scope's tenant's chain to be verified by a job and returns the verification,
// which is the one already open if there is one. The caller checks the actor may read the audit log.
func VerificationRequest(ctx context.Context, db *store.DB, scope store.Scope) (*Verification, error) {
	var v Verification
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			UPDATE audit_verifications SET state = 'failed', finished_at = now(),
			       reason = 'The check did not finish in time. It was given up; ask again.'
			WHERE tenant_id = $1 AND state IN ('queued', 'running') AND created_at < now() - $2::interval`,
			scope.TenantID, fmt.Sprintf("%d seconds", int(verificationStaleAfter.Seconds()))); err != nil {
			return fmt.Errorf("error expiring stale verifications: %w", err)
		}
		id := store.NewID()
		var requestedBy *store.ID
		if scope.ActorID != (store.ID{}) {
			requestedBy = &scope.ActorID
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO audit_verifications (id, requested_by) VALUES ($1, $2)
			ON CONFLICT (tenant_id) WHERE state IN ('queued', 'running') DO NOTHING`, id, requestedBy)
		if err != nil {
			return fmt.Errorf("error requesting verification: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// One is open already (perhaps asked for a moment ago by someone else): that one answers.
			return store.Get(ctx, tx, &v, "No open verification.",
				verificationSelect+` WHERE v.tenant_id = $1 AND v.state IN ('queued', 'running')`, scope.TenantID)
		}
		if err := tx.Enqueue(ctx, VerifyArgs{TenantID: scope.TenantID, VerificationID: id, RequestedBy: scope.ActorID}, nil); err != nil {
			return err
		}
		if err := Record(ctx, tx, RecordParams{Action: "audit.verify_request", EntityType: "audit_verification", EntityID: id.String()}); err != nil {
			return err
		}
		return store.Get(ctx, tx, &v, "No such verification.", verificationSelect+` WHERE v.tenant_id = $1 AND v.id = $2`, scope.TenantID, id)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// VerificationLatest returns scope's tenant's most recent verification, or nil when there has been none.
// The caller checks the actor may read the audit log.
func VerificationLatest(ctx context.Context, db *store.DB, scope store.Scope) (*Verification, error) {
	var v Verification
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &v, verificationSelect+`
			WHERE v.tenant_id = $1 ORDER BY v.created_at DESC, v.id DESC LIMIT 1`, scope.TenantID)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error loading latest verification: %w", err)
	}
	return &v, nil
}

// VerificationRun does the work of a VerifyArgs job: it marks the verification running, recomputes the
// chain and records the outcome. It is idempotent: a verification that has finished is left as it is, and
// a retry after a crash simply checks again.
func VerificationRun(ctx context.Context, db *store.DB, args VerifyArgs) error {
	scope := store.Scope{TenantID: args.TenantID}
	open := false
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE audit_verifications SET state = 'running'
			WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')`, args.TenantID, args.VerificationID)
		if err != nil {
			return fmt.Errorf("error starting verification %s: %w", args.VerificationID, err)
		}
		n, _ := res.RowsAffected()
		open = n == 1
		return nil
	})
	if err != nil || !open {
		return err
	}
	// The check and its record share one transaction: the result stored is the chain as that snapshot saw it.
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		res := VerifyResult{TenantID: args.TenantID}
		if err := verifyTx(ctx, tx, args.TenantID, &res); err != nil {
			return fmt.Errorf("error verifying audit chain of tenant %s: %w", args.TenantID, err)
		}
		var (
			badSeq   *int64
			badEvent *store.ID
			reason   string
		)
		if res.FirstBad != nil {
			badSeq, badEvent, reason = &res.FirstBad.Seq, &res.FirstBad.EventID, res.FirstBad.Reason
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE audit_verifications
			SET state = 'done', checked = $3, unsealed = $4, ok = $5, first_bad_seq = $6, first_bad_event = $7,
			    reason = $8, finished_at = now()
			WHERE tenant_id = $1 AND id = $2 AND state = 'running'`,
			args.TenantID, args.VerificationID, res.Checked, res.Unsealed, res.OK, badSeq, badEvent, reason); err != nil {
			return fmt.Errorf("error recording verification %s: %w", args.VerificationID, err)
		}
		return nil
	})
}

// VerificationFail records that a verification could not be completed (its job ran out of attempts), so
// the page stops waiting for it. A finished verification is left as it is.
func VerificationFail(ctx context.Context, db *store.DB, args VerifyArgs, reason string) error {
	return db.InTenant(ctx, store.Scope{TenantID: args.TenantID}, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			UPDATE audit_verifications SET state = 'failed', reason = $3, finished_at = now()
			WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running')`,
			args.TenantID, args.VerificationID, reason); err != nil {
			return fmt.Errorf("error failing verification %s: %w", args.VerificationID, err)
		}
		return nil
	})
}
