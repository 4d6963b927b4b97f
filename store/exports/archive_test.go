package exports_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// TestArchiveOldPartitions: two tenants keep 6 and 12 months online; a month moves to the archive only
// when it is older than both (the partition is shared), by detaching it (same table, now in schema
// archive, read-only for the app). The audit log, audit-verify and the stock ledger still read the
// archived rows, each tenant only its own; a second run moves nothing.
func TestArchiveOldPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb := storetest.New(t)
	db := sb.DB
	tenant := func(slug string, months int) store.Scope {
		ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		uid := store.NewID()
		_, err = db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $2, 'x')`, uid, "admin@"+slug+".example")
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: ten.ID}, identity.MemberAddParams{UserID: uid, Role: identity.RoleAdmin}))
		sc := store.Scope{TenantID: ten.ID, ActorID: uid}
		_, err = exports.SettingsUpdate(ctx, db, sc, exports.Settings{RetentionDays: 7, MaxConcurrent: 3,
			AuditOnlineMonths: months, MovementsOnlineMonths: months, PurgeDeletedDays: 30})
		require.NoError(t, err)
		return sc
	}
	a, b := tenant("arch-a", 6), tenant("arch-b", 12)
	// Every tenant counts, the platform tenant too (it keeps the default 36 months unless told otherwise).
	var all []store.ID
	require.NoError(t, db.X.SelectContext(ctx, &all, `SELECT all_tenant_ids()`))
	for _, id := range all {
		if id != a.TenantID && id != b.TenantID {
			_, err := exports.SettingsUpdate(ctx, db, store.Scope{TenantID: id}, exports.Settings{RetentionDays: 7, MaxConcurrent: 3,
				AuditOnlineMonths: 3, MovementsOnlineMonths: 3})
			require.NoError(t, err)
		}
	}
	_, err := exports.SettingsUpdate(ctx, db, a, exports.Settings{RetentionDays: 7, MaxConcurrent: 3, AuditOnlineMonths: 2})
	requireCode(t, err, store.Invalid, "")

	now := time.Now().UTC()
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	old := thisMonth.AddDate(0, -14, 0)    // older than both policies: archived
	between := thisMonth.AddDate(0, -8, 0) // older than A's 6 months, not B's 12: stays online
	owner, err := pgx.Connect(ctx, sb.OwnerURL)
	require.NoError(t, err)
	defer owner.Close(ctx)
	for _, m := range []time.Time{old, between} {
		_, err := owner.Exec(ctx, `SELECT audit_event_partition_create($1::date), stock_movement_partition_create($1::date)`, m.Format("2006-01-02"))
		require.NoError(t, err)
	}
	item, err := inventory.ItemCreate(ctx, db, store.Scope{TenantID: a.TenantID}, inventory.ItemFields{SKU: "OLD-1", Name: "Old thing", Unit: "ea"})
	require.NoError(t, err)
	loc, err := inventory.LocationCreate(ctx, db, store.Scope{TenantID: a.TenantID}, inventory.LocationCreateParams{Code: "WH", Name: "Warehouse"})
	require.NoError(t, err)
	for i, m := range []time.Time{old, between} {
		at := m.Add(36 * time.Hour)
		_, err := owner.Exec(ctx, `
			INSERT INTO audit_events (tenant_id, id, occurred_at, action, entity_type, entity_id)
			VALUES ($1, $2, $3, 'inventory.item_created', 'inventory_item', $4)`, a.TenantID, store.NewID(), at, item.ID)
		require.NoError(t, err)
		_, err = owner.Exec(ctx, `
			INSERT INTO stock_movements (tenant_id, id, movement_id, occurred_at, kind, item_id, location_id, quantity, reason)
			VALUES ($1, $2, $3, $4, 'adjustment', $5, $6, $7, 'Counted')`, a.TenantID, store.NewID(), store.NewID(), at, item.ID, loc.ID, i+1)
		require.NoError(t, err)
	}
	_, err = audit.Seal(ctx, db, a.TenantID)
	require.NoError(t, err)
	countAudit := func(sc store.Scope) int {
		var n int
		res, err := audit.List(ctx, db, sc, audit.ListParams{EntityType: "inventory_item", EntityID: item.ID.String(), Limit: 100})
		require.NoError(t, err)
		for _, e := range res.Events {
			if e.Action == "inventory.item_created" {
				n++
			}
		}
		return n
	}
	before := countAudit(a)
	require.GreaterOrEqual(t, before, 2)
	verified, err := audit.Verify(ctx, db, a.TenantID)
	require.NoError(t, err)
	require.True(t, verified.OK)

	cut, err := exports.ArchiveCutoffs(ctx, db, now)
	require.NoError(t, err)
	require.Equal(t, thisMonth.AddDate(0, -12, 0), cut["audit_events"], "the tenant keeping the most months decides")
	moved, err := exports.Archive(ctx, db, now)
	require.NoError(t, err)
	oldName := old.Format("2006_01")
	require.Contains(t, moved, "archive.audit_events_"+oldName)
	require.Contains(t, moved, "archive.stock_movements_"+oldName)
	require.NotContains(t, moved, "archive.audit_events_"+between.Format("2006_01"), "B still keeps that month online")
	for _, m := range moved {
		require.NotContains(t, m, thisMonth.AddDate(0, -12, 0).Format("2006_01"), "no month within 12 months")
	}
	schemaOf := func(rel string) string {
		var ns string
		require.NoError(t, owner.QueryRow(ctx, `SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = $1`, rel).Scan(&ns))
		return ns
	}
	require.Equal(t, "archive", schemaOf("audit_events_"+oldName), "detached and moved, not copied")
	require.Equal(t, "public", schemaOf("audit_events_"+between.Format("2006_01")))
	var live int
	require.NoError(t, owner.QueryRow(ctx, `SELECT count(*) FROM ONLY public.audit_events WHERE occurred_at < $1`, old.AddDate(0, 1, 0)).Scan(&live))
	require.Zero(t, live, "the live table no longer has the month")

	// Still readable: the audit log and audit-verify of A, and the stock ledger; not by B.
	require.Equal(t, before, countAudit(a))
	verified, err = audit.Verify(ctx, db, a.TenantID)
	require.NoError(t, err)
	require.True(t, verified.OK, "the chain includes the archived events: %+v", verified.FirstBad)
	var movements, seenByB int
	require.NoError(t, db.InTenant(ctx, a, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &movements, `SELECT count(*) FROM stock_movements_all WHERE item_id = $1`, item.ID)
	}))
	require.Equal(t, 2, movements)
	require.NoError(t, db.InTenant(ctx, b, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &seenByB, `SELECT count(*) FROM archive.audit_events`)
	}))
	require.Zero(t, seenByB, "row-level security holds in the archive")
	// Archived months are read-only for the app, through the parent or the partition itself.
	err = db.InTenant(ctx, a, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO archive.audit_events_`+oldName+` (tenant_id, id, occurred_at, action, entity_type)
			VALUES ($1, $2, $3, 'x.y', 'x')`, a.TenantID, store.NewID(), old.Add(time.Hour))
		return err
	})
	require.ErrorContains(t, err, "permission denied")
	// The app may not move recent months, whatever it asks.
	_, err = db.X.ExecContext(ctx, `SELECT ledger_partition_archive('audit_events', $1::date)`, thisMonth.Format("2006-01-02"))
	require.ErrorContains(t, err, "too recent")

	again, err := exports.Archive(ctx, db, now)
	require.NoError(t, err)
	require.Empty(t, again)
}

// TestPurgeSoftDeleted: records soft-deleted longer ago than the tenant's retention are deleted, each with
// a retention.purged audit event; a record still referenced (an item with stock movements) stays, and is
// counted as such; recently deleted records and other tenants' records stay.
func TestPurgeSoftDeleted(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as[identity.RoleAdmin]
	_, err := exports.SettingsUpdate(ctx, tb.db, admin, exports.Settings{RetentionDays: 7, MaxConcurrent: 3, PurgeDeletedDays: 30})
	require.NoError(t, err)
	sys := store.Scope{TenantID: tb.a}
	mk := func(sku string) store.ID {
		it, err := inventory.ItemCreate(ctx, tb.db, sys, inventory.ItemFields{SKU: sku, Name: sku, Unit: "ea"})
		require.NoError(t, err)
		return it.ID
	}
	gone, used, recent := mk("P-GONE"), mk("P-USED"), mk("P-RECENT")
	loc, err := inventory.LocationCreate(ctx, tb.db, sys, inventory.LocationCreateParams{Code: "P", Name: "Purge bin"})
	require.NoError(t, err)
	owner, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer owner.Close(ctx)
	_, err = owner.Exec(ctx, `
		INSERT INTO stock_movements (tenant_id, id, movement_id, occurred_at, kind, item_id, location_id, quantity, reason)
		VALUES ($1, $2, $3, now(), 'adjustment', $4, $5, 1, 'Counted')`, tb.a, store.NewID(), store.NewID(), used, loc.ID)
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `UPDATE inventory_items SET deleted_at = now() - interval '40 days' WHERE id = ANY($1)`, []store.ID{gone, used})
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `UPDATE inventory_items SET deleted_at = now() - interval '10 days' WHERE id = $1`, recent)
	require.NoError(t, err)

	res, err := exports.Purge(ctx, tb.db, tb.a, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, res.Purged["inventory_items"])
	require.Equal(t, 1, res.Referenced["inventory_items"], "the item with movements is kept and said so")
	items, err := inventory.ItemsGet(ctx, tb.db, admin, []store.ID{gone, used, recent})
	require.NoError(t, err)
	require.NotContains(t, items, gone)
	require.Contains(t, items, used)
	require.Contains(t, items, recent)
	ev, err := audit.List(ctx, tb.db, admin, audit.ListParams{Action: "retention.purged", Limit: 10})
	require.NoError(t, err)
	require.Len(t, ev.Events, 1)
	require.Equal(t, gone.String(), ev.Events[0].EntityID)

	// Nothing more to do on a second run; the referenced item is counted again, never deleted.
	res, err = exports.Purge(ctx, tb.db, tb.a, time.Now())
	require.NoError(t, err)
	require.Zero(t, res.Purged["inventory_items"])
	require.Equal(t, 1, res.Referenced["inventory_items"])
}
