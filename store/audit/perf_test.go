package audit_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// LatestChange names the newest event of the tenant's domain, through the owner's function
// audit_latest_change: never an event of another domain or another tenant, and nothing without a tenant.
func TestLatestChange(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant, other := tb.tenantCreate(ctx, t), tb.tenantCreate(ctx, t)
	tb.eventInsert(ctx, t, tenant, "2026-01-10T08:00:00Z", nil, "inventory.item_create", "inventory_item", "i1")
	inv := tb.eventInsert(ctx, t, tenant, "2026-03-10T08:00:00Z", nil, "inventory.movement_post", "stock_movement", "m1")
	appr := tb.eventInsert(ctx, t, tenant, "2026-03-11T08:00:00Z", nil, "approvals.request_submit", "approval_request", "r1")
	// "inventoryx" is another domain, however it begins; the other tenant's events are newer still.
	tb.eventInsert(ctx, t, tenant, "2026-03-12T08:00:00Z", nil, "inventoryx.thing", "thing", "t1")
	otherInv := tb.eventInsert(ctx, t, other, "2026-03-13T08:00:00Z", nil, "inventory.movement_post", "stock_movement", "m2")

	sc := store.Scope{TenantID: tenant}
	for prefix, want := range map[string]string{"inventory.": inv.String(), "inventory": inv.String(),
		"approvals.": appr.String(), "billing.": ""} {
		got, err := audit.LatestChange(ctx, tb.db, sc, prefix)
		require.NoError(t, err)
		require.Equal(t, want, got, prefix)
	}
	got, err := audit.LatestChange(ctx, tb.db, store.Scope{TenantID: other}, "inventory.")
	require.NoError(t, err)
	require.Equal(t, otherInv.String(), got)

	// A newer event moves it (what the caches keyed on it rely on).
	newer := tb.eventInsert(ctx, t, tenant, "2026-04-01T00:00:00Z", nil, "inventory.item_update", "inventory_item", "i1")
	got, err = audit.LatestChange(ctx, tb.db, sc, "inventory.")
	require.NoError(t, err)
	require.Equal(t, newer.String(), got)

	// A change of the last weeks is found in the recent partitions first; an older event (outside that
	// window) recorded after it does not hide it, and other domains still fall back to the full walk.
	recent := tb.eventInsert(ctx, t, tenant, time.Now().UTC().Add(-24*time.Hour).Format(time.RFC3339), nil,
		"inventory.item_update", "inventory_item", "i1")
	tb.eventInsert(ctx, t, tenant, "2026-04-02T00:00:00Z", nil, "inventory.item_update", "inventory_item", "i1")
	got, err = audit.LatestChange(ctx, tb.db, sc, "inventory.")
	require.NoError(t, err)
	require.Equal(t, recent.String(), got)
	got, err = audit.LatestChange(ctx, tb.db, sc, "approvals.")
	require.NoError(t, err)
	require.Equal(t, appr.String(), got)

	// Without a tenant in scope the owner's function answers nothing.
	var none *store.ID
	require.NoError(t, tb.db.X.GetContext(ctx, &none, `SELECT audit_latest_change('inventory')`))
	require.Nil(t, none)
}

// preparedStatement is a row of pg_prepared_statements: what a connection prepared and how often it ran it
// on a generic plan (kept) and on a custom plan (planned for the execution).
type preparedStatement struct {
	Statement string `db:"statement"`
	Generic   int64  `db:"generic_plans"`
	Custom    int64  `db:"custom_plans"`
}

// The log's page query is one fixed statement per combination of filters with a literal LIMIT, so that
// PostgreSQL reuses a generic plan for it instead of planning it over every monthly partition each time
// (store.Limit). Eight pages read in one transaction (one connection) must have run on a generic plan.
func TestListReusesAGenericPlan(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	alice := store.NewID()
	tb.eventInsert(ctx, t, tenant, "2026-03-01T08:00:00Z", &alice, "department.create", "department", "d1")
	tb.eventInsert(ctx, t, tenant, "2026-04-01T08:00:00Z", &alice, "auth.sign_in", "user", "u1")
	sc := store.Scope{TenantID: tenant}

	for _, p := range []audit.ListParams{{}, {Actor: alice.String(), Action: "auth"}} {
		var stmts []preparedStatement
		err := tb.db.InTenantShared(ctx, sc, func(ctx context.Context) error {
			for range 8 {
				res, err := audit.List(ctx, tb.db, sc, p)
				if err != nil {
					return err
				}
				require.NotEmpty(t, res.Events)
			}
			return tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
				return tx.SelectContext(ctx, &stmts, `
					SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
					WHERE statement LIKE '%FROM audit_events_all e%ORDER BY e.occurred_at DESC, e.id DESC%'
					  AND statement NOT LIKE '%pg_prepared_statements%'`)
			})
		})
		require.NoError(t, err)
		// The connection may also hold the statement of the other filters (a fixed statement each).
		stmts = slices.DeleteFunc(stmts, func(s preparedStatement) bool {
			return strings.Contains(s.Statement, "e.actor_id = $2") != (p.Actor != "")
		})
		require.Len(t, stmts, 1, "filters %+v: one statement, prepared once on this connection", p)
		require.Regexp(t, `LIMIT 51$`, stmts[0].Statement, "a literal limit, not a parameter")
		require.NotContains(t, stmts[0].Statement, "IS NULL OR", "no catch-all filter that only a custom plan can use")
		require.Positive(t, stmts[0].Generic, "filters %+v: planned afresh every time (%d custom plans)", p, stmts[0].Custom)
	}
}

// Keyset pages of the log walk events that share a time by id, and a page cut by a larger store.Limit
// step keeps exactly Limit events: every event once, newest first, whatever the page size.
func TestListPagesThroughEqualTimes(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	for i := range 7 {
		at := "2026-03-01T08:00:00Z"
		if i%3 == 0 {
			at = "2026-02-01T08:00:00Z"
		}
		tb.eventInsert(ctx, t, tenant, at, nil, "department.create", "department", "d")
	}
	sc := store.Scope{TenantID: tenant}
	all, err := audit.List(ctx, tb.db, sc, audit.ListParams{})
	require.NoError(t, err)
	require.Len(t, all.Events, 7)
	var n int64
	require.NoError(t, tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
		var err error
		n, err = audit.EventsCount(ctx, tx, audit.ListParams{Action: "department"})
		return err
	}))
	require.EqualValues(t, 7, n)
	for _, limit := range []int{1, 2, 3, 6} {
		var got []store.ID
		p := audit.ListParams{Limit: limit}
		for {
			res, err := audit.List(ctx, tb.db, sc, p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(res.Events), limit)
			got = append(got, eventIDs(res.Events)...)
			if res.Next == "" {
				break
			}
			p.After = res.Next
		}
		require.Equal(t, eventIDs(all.Events), got, "limit %d", limit)
	}
}
