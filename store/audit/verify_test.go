package audit_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// verifyJobs returns the args of the queued verification jobs of a tenant. river_job has no row-level
// security.
func (tb *testBundle) verifyJobs(ctx context.Context, t *testing.T, tenant store.ID) []audit.VerifyArgs {
	t.Helper()
	var rows [][]byte
	require.NoError(t, tb.db.X.SelectContext(ctx, &rows,
		`SELECT args FROM river_job WHERE kind = 'audit_verify' AND args->>'tenant_id' = $1 ORDER BY id`, tenant.String()))
	out := make([]audit.VerifyArgs, len(rows))
	for i, r := range rows {
		require.NoError(t, json.Unmarshal(r, &out[i]))
	}
	return out
}

func TestVerification(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant, other := tb.tenantCreate(ctx, t), tb.tenantCreate(ctx, t)
	asker := store.NewID()
	scope := store.Scope{TenantID: tenant, ActorID: asker, RequestID: "req-verify"}

	latest, err := audit.VerificationLatest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Nil(t, latest)

	tb.eventsRecord(ctx, t, tenant, 3)
	_, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	tb.eventsRecord(ctx, t, tenant, 1)

	v, err := audit.VerificationRequest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Equal(t, audit.VerificationQueued, v.State)
	require.Equal(t, asker, *v.RequestedBy)
	require.True(t, v.State.Open())
	jobs := tb.verifyJobs(ctx, t, tenant)
	require.Equal(t, []audit.VerifyArgs{{TenantID: tenant, VerificationID: v.ID, RequestedBy: asker}}, jobs)

	// Asking again while it is open returns the same verification and queues nothing.
	again, err := audit.VerificationRequest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Equal(t, v.ID, again.ID)
	require.Len(t, tb.verifyJobs(ctx, t, tenant), 1)

	// Other tenants see nothing of it.
	none, err := audit.VerificationLatest(ctx, tb.db, store.Scope{TenantID: other})
	require.NoError(t, err)
	require.Nil(t, none)

	require.NoError(t, audit.VerificationRun(ctx, tb.db, jobs[0]))
	done, err := audit.VerificationLatest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Equal(t, v.ID, done.ID)
	require.Equal(t, audit.VerificationDone, done.State)
	require.True(t, *done.OK)
	require.Equal(t, int64(3), done.Checked)
	require.Equal(t, int64(2), done.Unsealed, "the fourth event and the request's own event")
	require.NotNil(t, done.FinishedAt)
	require.Empty(t, done.Reason)

	// A retried job finds the verification finished and leaves it alone; so does a late failure.
	require.NoError(t, audit.VerificationRun(ctx, tb.db, jobs[0]))
	require.NoError(t, audit.VerificationFail(ctx, tb.db, jobs[0], "late"))
	same, err := audit.VerificationLatest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Equal(t, done, same)

	// Tampering shows up in the next verification.
	_, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	victim := tb.events(ctx, t, tenant)[1].ID
	tb.ownerExec(ctx, t, `UPDATE audit_events SET after = '{"qty":99}' WHERE tenant_id = $1 AND id = $2`, tenant, victim)
	second, err := audit.VerificationRequest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.NotEqual(t, v.ID, second.ID)
	require.NoError(t, audit.VerificationRun(ctx, tb.db, audit.VerifyArgs{TenantID: tenant, VerificationID: second.ID}))
	bad, err := audit.VerificationLatest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Equal(t, audit.VerificationDone, bad.State)
	require.False(t, *bad.OK)
	require.Equal(t, int64(2), *bad.FirstBadSeq)
	require.Equal(t, victim, *bad.FirstBadEvent)
	require.Contains(t, bad.Reason, audit.ReasonEventChanged)
	require.Equal(t, int64(1), bad.Checked)

	// A verification of another tenant cannot be run into this one's row.
	third, err := audit.VerificationRequest(ctx, tb.db, store.Scope{TenantID: other})
	require.NoError(t, err)
	require.NoError(t, audit.VerificationRun(ctx, tb.db, audit.VerifyArgs{TenantID: tenant, VerificationID: third.ID}))
	stillQueued, err := audit.VerificationLatest(ctx, tb.db, store.Scope{TenantID: other})
	require.NoError(t, err)
	require.Equal(t, audit.VerificationQueued, stillQueued.State)
	require.Nil(t, stillQueued.RequestedBy)
}

func TestVerificationFailAndStale(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	scope := store.Scope{TenantID: tenant}

	v, err := audit.VerificationRequest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.NoError(t, audit.VerificationFail(ctx, tb.db, audit.VerifyArgs{TenantID: tenant, VerificationID: v.ID}, "out of attempts"))
	failed, err := audit.VerificationLatest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.Equal(t, audit.VerificationFailed, failed.State)
	require.Equal(t, "out of attempts", failed.Reason)
	require.Nil(t, failed.OK)

	// An open verification whose worker died is given up after a while, so asking again works.
	stuck, err := audit.VerificationRequest(ctx, tb.db, scope)
	require.NoError(t, err)
	tb.ownerExec(ctx, t, `UPDATE audit_verifications SET state = 'running', created_at = now() - interval '2 hours' WHERE id = $1`, stuck.ID)
	fresh, err := audit.VerificationRequest(ctx, tb.db, scope)
	require.NoError(t, err)
	require.NotEqual(t, stuck.ID, fresh.ID)
	require.Equal(t, audit.VerificationQueued, fresh.State)
	var state string
	require.NoError(t, tb.db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &state, `SELECT state FROM audit_verifications WHERE id = $1`, stuck.ID)
	}))
	require.Equal(t, "failed", state)
}

// TestVerificationRequestConcurrent asks many times at once: one verification, one job.
func TestVerificationRequestConcurrent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)

	const n = 12
	ids := make([]store.ID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := audit.VerificationRequest(ctx, tb.db, store.Scope{TenantID: tenant, ActorID: store.NewID()})
			errs[i] = err
			if v != nil {
				ids[i] = v.ID
			}
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i])
	}
	require.Len(t, tb.verifyJobs(ctx, t, tenant), 1)
}
