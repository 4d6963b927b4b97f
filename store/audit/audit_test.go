package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/storetest"
)

// testBundle is one test's database: the app role's handle and the owner's URL for tampering.
type testBundle struct {
	db       *store.DB
	ownerURL string
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	b := storetest.New(t)
	return &testBundle{db: b.DB, ownerURL: b.OwnerURL}, t.Context()
}

// tenantCreate inserts a tenant the way the tenants policy allows: its own row, from inside its own scope.
func (tb *testBundle) tenantCreate(ctx context.Context, t *testing.T) store.ID {
	t.Helper()
	id := store.NewID()
	err := tb.db.InTenant(ctx, store.Scope{TenantID: id}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, slug) VALUES ($1, $2, $3)`,
			id, "Tenant "+id.String(), "t-"+id.String())
		return err
	})
	require.NoError(t, err)
	return id
}

// eventsRecord records n events in one transaction of the tenant and returns the params it recorded.
func (tb *testBundle) eventsRecord(ctx context.Context, t *testing.T, tenantID store.ID, n int) []audit.RecordParams {
	t.Helper()
	actor := store.NewID()
	var recorded []audit.RecordParams
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenantID, ActorID: actor, RequestID: "req-1", ClientIP: "192.0.2.7"},
		func(tx *store.Tx) error {
			recorded = recorded[:0]
			for i := range n {
				p := audit.RecordParams{
					Action:     "inventory.item_update",
					EntityType: "item",
					EntityID:   fmt.Sprintf("item-%d", i),
					Before:     map[string]any{"name": "old", "qty": i},
					After:      map[string]any{"qty": i + 1, "name": "new"},
				}
				if err := audit.Record(ctx, tx, p); err != nil {
					return err
				}
				recorded = append(recorded, p)
			}
			return nil
		})
	require.NoError(t, err)
	return recorded
}

// events lists the tenant's events as the app role sees them, oldest first.
func (tb *testBundle) events(ctx context.Context, t *testing.T, tenantID store.ID) []audit.Event {
	t.Helper()
	var events []audit.Event
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &events, `
			SELECT id, tenant_id, occurred_at, actor_id, action, entity_type, entity_id, before, after,
			       request_id, client_ip
			FROM audit_events ORDER BY occurred_at, id`)
	})
	require.NoError(t, err)
	return events
}

// ownerExec runs sql as the schema owner, which bypasses row-level security and the app role's grants:
// tampering behind the app's back.
func (tb *testBundle) ownerExec(ctx context.Context, t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tag, err := conn.Exec(ctx, sql, args...)
	require.NoError(t, err)
	return tag.RowsAffected()
}

func requirePgCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	var pgErr *pgconn.PgError
	require.True(t, errors.As(err, &pgErr), "want a PostgreSQL error, got %v", err)
	require.Equal(t, code, pgErr.Code, pgErr.Message)
}

func TestRecord(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenant, 2)

	events := tb.events(ctx, t, tenant)
	require.Len(t, events, 2)
	ev := events[0]
	require.Equal(t, tenant, ev.TenantID)
	require.NotNil(t, ev.ActorID)
	require.Equal(t, "inventory.item_update", ev.Action)
	require.Equal(t, "item", ev.EntityType)
	require.Equal(t, "item-0", ev.EntityID)
	require.JSONEq(t, `{"name":"old","qty":0}`, string(ev.Before))
	require.JSONEq(t, `{"name":"new","qty":1}`, string(ev.After))
	require.Equal(t, "req-1", ev.RequestID)
	require.Equal(t, "192.0.2.7", ev.ClientIP)
}

func TestRecordNilStates(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	err := tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		return audit.Record(ctx, tx, audit.RecordParams{Action: "auth.sign_in", EntityType: "user"})
	})
	require.NoError(t, err)

	events := tb.events(ctx, t, tenant)
	require.Len(t, events, 1)
	require.Nil(t, events[0].ActorID)
	require.Nil(t, events[0].Before)
	require.Nil(t, events[0].After)
}

func TestAppRoleCannotChangeAuditTrail(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenant, 1)
	_, err := audit.Seal(ctx, tb.db, tenant)
	require.NoError(t, err)

	for _, stmt := range []string{
		`UPDATE audit_events SET after = '{"qty": 1000}'`,
		`DELETE FROM audit_events`,
		`TRUNCATE audit_events`,
		`UPDATE audit_seals SET hash = prev_hash`,
		`DELETE FROM audit_seals`,
		`TRUNCATE audit_seals`,
	} {
		t.Run(stmt, func(t *testing.T) {
			err := tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, stmt)
				return err
			})
			requirePgCode(t, err, "42501") // insufficient_privilege
		})
	}

	res, err := audit.Verify(ctx, tb.db, tenant)
	require.NoError(t, err)
	require.True(t, res.OK)
	require.Equal(t, 1, res.Checked)
}

func TestAuditTrailTenantIsolation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenantA := tb.tenantCreate(ctx, t)
	tenantB := tb.tenantCreate(ctx, t)
	tb.eventsRecord(ctx, t, tenantA, 2)
	tb.eventsRecord(ctx, t, tenantB, 3)
	_, err := audit.Seal(ctx, tb.db, tenantB)
	require.NoError(t, err)

	err = tb.db.InTenant(ctx, store.Scope{TenantID: tenantA}, func(tx *store.Tx) error {
		var events, seals, named int
		if err := tx.GetContext(ctx, &events, `SELECT count(*) FROM audit_events`); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &seals, `SELECT count(*) FROM audit_seals`); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &named,
			`SELECT count(*) FROM audit_events WHERE tenant_id = $1`, tenantB); err != nil {
			return err
		}
		require.Equal(t, 2, events, "tenant A sees only its own events")
		require.Zero(t, seals, "tenant A sees none of tenant B's seals")
		require.Zero(t, named, "tenant A cannot read tenant B's events even by naming the tenant")
		return nil
	})
	require.NoError(t, err)

	// Writing into another tenant is refused by the policy's WITH CHECK.
	err = tb.db.InTenant(ctx, store.Scope{TenantID: tenantA}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO audit_events (tenant_id, id, action, entity_type) VALUES ($1, $2, 'test.forge', 'item')`,
			tenantB, store.NewID())
		return err
	})
	requirePgCode(t, err, "42501")
	err = tb.db.InTenant(ctx, store.Scope{TenantID: tenantA}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO audit_seals (tenant_id, seq, event_id, prev_hash, hash) VALUES ($1, 99, $2, '', '')`,
			tenantB, store.NewID())
		return err
	})
	requirePgCode(t, err, "42501")

	// Without a tenant in scope nothing is visible at all.
	err = tb.db.InUser(ctx, store.Scope{ActorID: store.NewID()}, func(tx *store.Tx) error {
		var events int
		if err := tx.GetContext(ctx, &events, `SELECT count(*) FROM audit_events`); err != nil {
			return err
		}
		require.Zero(t, events)
		return nil
	})
	require.NoError(t, err)
}
