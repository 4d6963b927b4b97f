package jobs_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// TestExportCatalogCoversEveryKind: every list the export center and the API accept has a source, and
// every source belongs to a list.
func TestExportCatalogCoversEveryKind(t *testing.T) {
	t.Parallel()
	catalog := jobs.ExportCatalog()
	for _, k := range exports.Kinds() {
		src, ok := catalog[k.Kind]
		require.True(t, ok, "%s has no source", k.Kind)
		require.NotEmpty(t, src.Columns, k.Kind)
		require.NotNil(t, src.Each, k.Kind)
	}
	for k := range catalog {
		_, ok := exports.KindLookup(k)
		require.True(t, ok, "source %s is no list", k)
	}
}

// TestExportApprovalsKindDecidesWhose: "my requests" holds the requester's own requests whatever its
// stored filter claims, and a requester who lost the right to read everyone's requests gets a failed
// export, not a file.
func TestExportApprovalsKindDecidesWhose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: "Appr", Slug: "appr-x", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	member := func(role identity.Role, email string) store.Scope {
		id := store.NewID()
		_, err := db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $2, 'x')`, id, email)
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: ten.ID}, identity.MemberAddParams{UserID: id, Role: role}))
		return store.Scope{TenantID: ten.ID, ActorID: id}
	}
	mgr := member(identity.RoleManager, "mgr@appr-x.example")
	fin := member(identity.RoleFinance, "fin@appr-x.example")
	admin := member(identity.RoleAdmin, "admin@appr-x.example")
	for _, r := range []struct {
		sc    store.Scope
		title string
	}{{mgr, "Manager's"}, {fin, "Finance's"}} {
		_, err := approvals.RequestCreate(ctx, db, r.sc, approvals.RequestFields{Type: approvals.TypeGeneral, Title: r.title, Amount: 100})
		require.NoError(t, err)
	}
	catalog := jobs.ExportCatalog()
	run := func(sc store.Scope, kind exports.Kind, filter string) *exports.Export {
		x, err := exports.Create(ctx, db, sc, exports.CreateParams{Kind: kind, Format: exports.FormatCSV, Filter: json.RawMessage(filter)})
		require.NoError(t, err)
		require.NoError(t, exports.Run(ctx, db, catalog, exports.RunArgs{TenantID: ten.ID, ExportID: x.ID}, 1, exports.RunOpts{}))
		got, err := exports.Get(ctx, db, sc, x.ID)
		require.NoError(t, err)
		return got
	}
	titles := func(sc store.Scope, x *exports.Export) []string {
		_, r, err := exports.Download(ctx, db, sc, x.ID)
		require.NoError(t, err)
		body, err := io.ReadAll(r)
		require.NoError(t, err)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
		require.NoError(t, err)
		var out []string
		for _, rec := range recs[1:] {
			out = append(out, rec[1])
		}
		return out
	}

	x := run(mgr, exports.KindApprovalsMine, `{"Mine": false}`)
	require.Equal(t, exports.StateDone, x.State)
	require.Equal(t, []string{"Manager's"}, titles(mgr, x))
	x = run(mgr, exports.KindApprovalRequests, `{"Mine": true}`)
	require.ElementsMatch(t, []string{"Manager's", "Finance's"}, titles(mgr, x))

	// Queued as a manager, run after the demotion to employee: failed with the reason, no file.
	queued, err := exports.Create(ctx, db, fin, exports.CreateParams{Kind: exports.KindApprovalRequests, Format: exports.FormatCSV})
	require.NoError(t, err)
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: ten.ID}, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE memberships SET role = 'employee' WHERE tenant_id = $1 AND user_id = $2`, ten.ID, fin.ActorID)
		return err
	}))
	require.NoError(t, exports.Run(ctx, db, catalog, exports.RunArgs{TenantID: ten.ID, ExportID: queued.ID}, 1, exports.RunOpts{}))
	got, err := exports.Get(ctx, db, admin, queued.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateFailed, got.State)
	require.Nil(t, got.FileID)
}
