package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// seal is one row of audit_seals as the app role sees it.
type seal struct {
	Seq      int64    `db:"seq"`
	EventID  store.ID `db:"event_id"`
	PrevHash []byte   `db:"prev_hash"`
	Hash     []byte   `db:"hash"`
}

func (tb *testBundle) seals(ctx context.Context, t *testing.T, tenantID store.ID) []seal {
	t.Helper()
	var seals []seal
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &seals, `SELECT seq, event_id, prev_hash, hash FROM audit_seals ORDER BY seq`)
	})
	require.NoError(t, err)
	return seals
}

// requireChain checks the chain's shape: seqs 1..n without gaps, each seal pointing at its predecessor,
// every event named once.
func requireChain(t *testing.T, seals []seal, n int) {
	t.Helper()
	require.Len(t, seals, n)
	prev := make([]byte, 32)
	seen := map[store.ID]bool{}
	for i, s := range seals {
		require.Equal(t, int64(i+1), s.Seq)
		require.Equal(t, prev, s.PrevHash, "seal %d", s.Seq)
		require.Len(t, s.Hash, 32)
		require.False(t, seen[s.EventID], "event %s sealed twice", s.EventID)
		seen[s.EventID] = true
		prev = s.Hash
	}
}

func requireVerified(ctx context.Context, t *testing.T, db *store.DB, tenantID store.ID, checked, unsealed int) {
	t.Helper()
	res, err := audit.Verify(ctx, db, tenantID)
	require.NoError(t, err)
	require.Nil(t, res.FirstBad)
	require.Equal(t, audit.VerifyResult{TenantID: tenantID, Checked: checked, Unsealed: unsealed, OK: true}, res)
}

func TestSealVerify(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)

	// An empty chain verifies.
	requireVerified(ctx, t, tb.db, tenant, 0, 0)

	tb.eventsRecord(ctx, t, tenant, 3)
	requireVerified(ctx, t, tb.db, tenant, 0, 3)

	n, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	requireVerified(ctx, t, tb.db, tenant, 3, 0)

	seals := tb.seals(ctx, t, tenant)
	requireChain(t, seals, 3)
	events := tb.events(ctx, t, tenant)
	for i := range events {
		require.Equal(t, events[i].ID, seals[i].EventID, "seals follow (occurred_at, id)")
	}
}

func TestSealTwice(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenant, 3)

	n, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	before := tb.seals(ctx, t, tenant)

	n, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Zero(t, n, "nothing new to seal")
	require.Equal(t, before, tb.seals(ctx, t, tenant))
	requireVerified(ctx, t, tb.db, tenant, 3, 0)

	// New events extend the same chain.
	tb.eventsRecord(ctx, t, tenant, 2)
	requireVerified(ctx, t, tb.db, tenant, 3, 2)
	n, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	after := tb.seals(ctx, t, tenant)
	requireChain(t, after, 5)
	require.Equal(t, before, after[:3], "sealing never rewrites earlier seals")
	requireVerified(ctx, t, tb.db, tenant, 5, 0)
}

func TestSealOrder(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)

	// Inserted newest first; sealed oldest first.
	ids := []store.ID{store.NewID(), store.NewID(), store.NewID()}
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		for i := len(ids) - 1; i >= 0; i-- {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO audit_events (id, occurred_at, action, entity_type)
				VALUES ($1, '2026-01-01T00:00:00Z'::timestamptz + make_interval(secs => $2), 'test.order', 'item')`,
				ids[i], i); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	_, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	seals := tb.seals(ctx, t, tenant)
	requireChain(t, seals, 3)
	for i, id := range ids {
		require.Equal(t, id, seals[i].EventID)
	}
}

func TestSealManyBatches(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)

	// More than one batch of 5000, all with the same timestamp so that the id breaks the ties.
	const total = 12003
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO audit_events (id, action, entity_type, entity_id, after)
			SELECT gen_random_uuid(), 'test.bulk', 'item', g::text, jsonb_build_object('n', g)
			FROM generate_series(1, $1) g`, total)
		return err
	})
	require.NoError(t, err)

	n, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Equal(t, total, n)
	requireChain(t, tb.seals(ctx, t, tenant), total)
	requireVerified(ctx, t, tb.db, tenant, total, 0)
}

func TestSealTenantsIndependent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenantA := tb.tenantCreate(ctx, t)
	tenantB := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenantA, 3)
	tb.eventsRecord(ctx, t, tenantB, 2)

	n, err := audit.SealAll(ctx, tb.db)
	require.NoError(t, err)
	require.Equal(t, 5, n)

	sealsA, sealsB := tb.seals(ctx, t, tenantA), tb.seals(ctx, t, tenantB)
	requireChain(t, sealsA, 3) // each chain starts at seq 1 from the zero hash
	requireChain(t, sealsB, 2)
	eventsB := map[store.ID]bool{}
	for _, ev := range tb.events(ctx, t, tenantB) {
		eventsB[ev.ID] = true
	}
	for _, s := range sealsB {
		require.True(t, eventsB[s.EventID], "tenant B's chain holds only its own events")
	}

	// Tampering with one tenant's chain leaves the other's intact.
	tb.ownerExec(ctx, t, `UPDATE audit_events SET action = 'test.forged' WHERE tenant_id = $1`, tenantA)

	results, err := audit.VerifyAll(ctx, tb.db)
	require.NoError(t, err)
	byTenant := map[store.ID]audit.VerifyResult{}
	for _, r := range results {
		byTenant[r.TenantID] = r
	}
	require.Len(t, byTenant, 3, "tenant A, tenant B and the platform tenant")
	require.False(t, byTenant[tenantA].OK)
	require.Equal(t, int64(1), byTenant[tenantA].FirstBad.Seq)
	require.Equal(t, audit.VerifyResult{TenantID: tenantB, Checked: 2, OK: true}, byTenant[tenantB])
	platform := uuid.MustParse("00000000-0000-7000-8000-000000000001") // created by the first migration
	require.Equal(t, audit.VerifyResult{TenantID: platform, OK: true}, byTenant[platform])
}

func TestVerifyDetectsChangedEvent(t *testing.T) {
	t.Parallel()

	// Every column counts: a change to any of them, however small, breaks the event's link.
	for _, tt := range []struct {
		name string
		set  string
	}{
		{"after", `after = '{"qty": 1000, "name": "new"}'`},
		{"after key order only", `after = '{"name": "new", "qty": 3}'`}, // jsonb normalises: not a change
		{"before", `before = NULL`},
		{"occurred_at by one microsecond", `occurred_at = occurred_at + interval '1 microsecond'`},
		{"occurred_at to infinity", `occurred_at = 'infinity'`}, // no text form: must not make Verify fail
		{"actor_id", `actor_id = NULL`},
		{"action", `action = 'inventory.item_delete'`},
		{"entity_type", `entity_type = 'invoice'`},
		{"entity_id", `entity_id = 'item-99'`},
		{"request_id", `request_id = ''`},
		{"client_ip", `client_ip = '198.51.100.1'`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, ctx := setup(t)
			tenant := tb.tenantCreate(ctx, t)
			tb.eventsRecord(ctx, t, tenant, 5)
			_, err := audit.Seal(ctx, tb.db, tenant)
			require.NoError(t, err)
			seals := tb.seals(ctx, t, tenant)
			target := seals[2]

			require.Equal(t, int64(1), tb.ownerExec(ctx, t,
				`UPDATE audit_events SET `+tt.set+` WHERE tenant_id = $1 AND id = $2`, tenant, target.EventID))

			res, err := audit.Verify(ctx, tb.db, tenant)
			require.NoError(t, err)
			if tt.name == "after key order only" {
				requireVerified(ctx, t, tb.db, tenant, 5, 0)
				return
			}
			require.False(t, res.OK)
			require.Equal(t, 2, res.Checked)
			require.NotNil(t, res.FirstBad)
			require.Equal(t, target.Seq, res.FirstBad.Seq)
			require.Equal(t, target.EventID, res.FirstBad.EventID)
			require.Contains(t, res.FirstBad.Reason, "changed")
			require.Contains(t, res.FirstBad.Reason, audit.ReasonEventChanged)
		})
	}
}

func TestVerifyDetectsNullBecomingJSONNull(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		return audit.Record(ctx, tx, audit.RecordParams{Action: "auth.sign_in", EntityType: "user"})
	})
	require.NoError(t, err)
	_, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)

	// SQL NULL and the JSON value null are different states and encode differently.
	tb.ownerExec(ctx, t, `UPDATE audit_events SET before = 'null'::jsonb WHERE tenant_id = $1`, tenant)
	res, err := audit.Verify(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.False(t, res.OK)
	require.Contains(t, res.FirstBad.Reason, audit.ReasonEventChanged)
}

func TestVerifyDetectsMissingEvent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenant, 4)
	_, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	target := tb.seals(ctx, t, tenant)[1]

	require.Equal(t, int64(1), tb.ownerExec(ctx, t,
		`DELETE FROM audit_events WHERE tenant_id = $1 AND id = $2`, tenant, target.EventID))

	res, err := audit.Verify(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.False(t, res.OK)
	require.Equal(t, 1, res.Checked)
	require.Equal(t, &audit.BadLink{Seq: target.Seq, EventID: target.EventID, Reason: res.FirstBad.Reason}, res.FirstBad)
	require.Contains(t, res.FirstBad.Reason, "missing")
	require.Contains(t, res.FirstBad.Reason, audit.ReasonEventMissing)
}

func TestVerifyDetectsBrokenChain(t *testing.T) {
	t.Parallel()

	for _, tt := range []struct {
		name   string
		tamper string
		badSeq int64
	}{
		{"seal deleted", `DELETE FROM audit_seals WHERE tenant_id = $1 AND seq = 3`, 4},
		{"first seal deleted", `DELETE FROM audit_seals WHERE tenant_id = $1 AND seq = 1`, 2},
		{"prev_hash changed", `UPDATE audit_seals SET prev_hash = hash WHERE tenant_id = $1 AND seq = 3`, 3},
		// A deleted seal with its event removed too still leaves the gap.
		{"seal and event deleted", `WITH s AS (DELETE FROM audit_seals WHERE tenant_id = $1 AND seq = 2 RETURNING event_id)
			DELETE FROM audit_events WHERE tenant_id = $1 AND id IN (SELECT event_id FROM s)`, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb, ctx := setup(t)
			tenant := tb.tenantCreate(ctx, t)
			tb.eventsRecord(ctx, t, tenant, 5)
			_, err := audit.Seal(ctx, tb.db, tenant)
			require.NoError(t, err)

			tb.ownerExec(ctx, t, tt.tamper, tenant)

			res, err := audit.Verify(ctx, tb.db, tenant)
			require.NoError(t, err)
			require.False(t, res.OK)
			require.Equal(t, tt.badSeq, res.FirstBad.Seq)
			require.Contains(t, res.FirstBad.Reason, audit.ReasonChainBroken)
		})
	}
}

func TestVerifyDetectsChangedSealHash(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenant, 3)
	_, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)

	// Rewriting the last seal's hash: the chain cannot tell this from a changed event, but it is caught.
	tb.ownerExec(ctx, t, `UPDATE audit_seals SET hash = sha256(hash) WHERE tenant_id = $1 AND seq = 3`, tenant)
	res, err := audit.Verify(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.False(t, res.OK)
	require.Equal(t, int64(3), res.FirstBad.Seq)
}

func TestSealConcurrent(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	const perRound, rounds, sealers = 10, 5, 4

	// Sealers race each other while events keep arriving.
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		sealed int
		errs   []error
	)
	for range sealers {
		wg.Go(func() {
			for range rounds + 1 {
				n, err := audit.Seal(ctx, tb.db, tenant)
				mu.Lock()
				sealed += n
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		})
	}
	for range rounds {
		tb.eventsRecord(ctx, t, tenant, perRound)
	}
	wg.Wait()
	require.Empty(t, errs)

	// Whatever the sealers missed, one more call picks up.
	n, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	sealed += n

	const total = perRound * rounds
	require.Equal(t, total, sealed, "every event sealed exactly once")
	requireChain(t, tb.seals(ctx, t, tenant), total)
	requireVerified(ctx, t, tb.db, tenant, total, 0)
}

// Sealing works from the queue the trigger of audit_events keeps: every written event is queued in its own
// transaction (a rolled-back one never), sealing empties the queue, and a queued event that is sealed
// already (an older version of the app sealed it) or gone is dequeued without a second seal.
func TestSealQueue(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	queued := func() int64 {
		return tb.ownerExec(ctx, t, `SELECT 1 FROM audit_unsealed WHERE tenant_id = $1`, tenant)
	}

	tb.eventsRecord(ctx, t, tenant, 3)
	require.EqualValues(t, 3, queued())
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "test.rolled_back", EntityType: "item"}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	require.Error(t, err)
	require.EqualValues(t, 3, queued(), "a rolled-back event is not queued")

	n, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Zero(t, queued(), "sealed events leave the queue")

	// Queue a sealed event again (as if an older version had sealed it behind the queue) and one that does
	// not exist: the next run seals only the new event and empties the queue.
	sealedID := tb.seals(ctx, t, tenant)[0].EventID
	tb.ownerExec(ctx, t, `INSERT INTO audit_unsealed (tenant_id, event_id, occurred_at) VALUES ($1, $2, now()), ($1, $3, now())`,
		tenant, sealedID, store.NewID())
	tb.eventsRecord(ctx, t, tenant, 1)
	n, err = audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Zero(t, queued())
	requireChain(t, tb.seals(ctx, t, tenant), 4)
	requireVerified(ctx, t, tb.db, tenant, 4, 0)
}
