package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// TestArchivalWorker: the periodic job archives the months every tenant's policy lets go and purges the
// tenant's old soft-deleted records; run twice (a retry, or a second instance) it finds nothing more to do.
func TestArchivalWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sb := storetest.New(t)
	ten, err := identity.TenantCreate(ctx, sb.DB, store.Scope{}, identity.TenantCreateParams{Name: "Arch", Slug: "arch", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	var all []store.ID
	require.NoError(t, sb.DB.X.SelectContext(ctx, &all, `SELECT all_tenant_ids()`))
	for _, id := range all {
		_, err := exports.SettingsUpdate(ctx, sb.DB, store.Scope{TenantID: id}, exports.Settings{RetentionDays: 7, MaxConcurrent: 3,
			AuditOnlineMonths: 12, MovementsOnlineMonths: 12, PurgeDeletedDays: 30})
		require.NoError(t, err)
	}
	it, err := inventory.ItemCreate(ctx, sb.DB, store.Scope{TenantID: ten.ID}, inventory.ItemFields{SKU: "GONE", Name: "Gone", Unit: "ea"})
	require.NoError(t, err)
	owner, err := pgx.Connect(ctx, sb.OwnerURL)
	require.NoError(t, err)
	defer owner.Close(ctx)
	_, err = owner.Exec(ctx, `UPDATE inventory_items SET deleted_at = now() - interval '31 days' WHERE id = $1`, it.ID)
	require.NoError(t, err)
	now := time.Now().UTC()
	old := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -13, 0)
	_, err = owner.Exec(ctx, `SELECT audit_event_partition_create($1::date)`, old.Format("2006-01-02"))
	require.NoError(t, err)

	w := &jobs.ArchivalWorker{DB: sb.DB}
	moved, purged, err := w.Run(ctx)
	require.NoError(t, err)
	require.Contains(t, moved, "archive.audit_events_"+old.Format("2006_01"))
	require.Equal(t, 1, purged.Purged["inventory_items"])
	var ns string
	require.NoError(t, owner.QueryRow(ctx, `SELECT relnamespace::regnamespace::text FROM pg_class WHERE relname = $1`,
		"audit_events_"+old.Format("2006_01")).Scan(&ns))
	require.Equal(t, "archive", ns)
	items, err := inventory.ItemsGet(ctx, sb.DB, store.Scope{TenantID: ten.ID}, []store.ID{it.ID})
	require.NoError(t, err)
	require.Empty(t, items, "purged")
	moved, purged, err = w.Run(ctx)
	require.NoError(t, err)
	require.Empty(t, moved, "nothing more to move")
	require.Empty(t, purged.Purged)
}
