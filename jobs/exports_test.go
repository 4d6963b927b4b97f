package jobs_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// TestExportRunsUnderRequesterRights: the job reads with the requester's scope, so another tenant's rows
// never appear, and a requester who lost the right by the time the job runs gets a failed export, not a file.
func TestExportRunsUnderRequesterRights(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	tenant := func(slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	a, b := tenant("rls-a"), tenant("rls-b")
	member := func(ten store.ID, role identity.Role, email string) store.Scope {
		id := store.NewID()
		_, err := db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $2, 'x')`, id, email)
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: ten}, identity.MemberAddParams{UserID: id, Role: role}))
		return store.Scope{TenantID: ten, ActorID: id}
	}
	admin := member(a, identity.RoleAdmin, "admin@rls-a.example")
	mgr := member(a, identity.RoleManager, "manager@rls-a.example")
	for _, sku := range []string{"A-1", "A-2"} {
		_, err := inventory.ItemCreate(ctx, db, store.Scope{TenantID: a}, inventory.ItemFields{SKU: sku, Name: "Thing " + sku, Unit: "ea"})
		require.NoError(t, err)
	}
	_, err := inventory.ItemCreate(ctx, db, store.Scope{TenantID: b}, inventory.ItemFields{SKU: "B-1", Name: "Thing of B", Unit: "ea"})
	require.NoError(t, err)
	catalog := jobs.ExportCatalog()
	run := func(sc store.Scope, kind exports.Kind) *exports.Export {
		x, err := exports.Create(ctx, db, sc, exports.CreateParams{Kind: kind, Format: exports.FormatCSV})
		require.NoError(t, err)
		return x
	}
	finish := func(x *exports.Export) *exports.Export {
		require.NoError(t, exports.Run(ctx, db, catalog, exports.RunArgs{TenantID: a, ExportID: x.ID}, 1, exports.RunOpts{}))
		got, err := exports.Get(ctx, db, admin, x.ID)
		require.NoError(t, err)
		return got
	}

	x := finish(run(mgr, exports.KindInventoryItems))
	require.Equal(t, exports.StateDone, x.State)
	_, r, err := exports.Download(ctx, db, mgr, x.ID)
	require.NoError(t, err)
	body, err := io.ReadAll(r)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	var skus []string
	for _, rec := range recs[1:] {
		skus = append(skus, rec[0])
	}
	require.Equal(t, []string{"A-1", "A-2"}, skus, "only tenant A's items")

	// Exports queued by the admin (audit log) and the manager (items); then both are demoted to employee,
	// who may not export: the jobs fail with the reason and leave no file.
	audit := run(admin, exports.KindAuditEvents)
	items := run(mgr, exports.KindInventoryItems)
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE memberships SET role = 'employee' WHERE tenant_id = $1 AND user_id = $2`, a, mgr.ActorID)
		return err
	}))
	got := finish(items)
	require.Equal(t, exports.StateFailed, got.State)
	require.Contains(t, got.Error, "Your role does not allow this")
	require.Nil(t, got.FileID)
	// The admin, demoted to manager, may not read the audit log any more.
	admin2 := member(a, identity.RoleAdmin, "admin2@rls-a.example")
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: a}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE memberships SET role = 'manager' WHERE tenant_id = $1 AND user_id = $2`, a, admin.ActorID)
		return err
	}))
	require.NoError(t, exports.Run(ctx, db, catalog, exports.RunArgs{TenantID: a, ExportID: audit.ID}, 1, exports.RunOpts{}))
	got, err = exports.Get(ctx, db, admin2, audit.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateFailed, got.State)
}
