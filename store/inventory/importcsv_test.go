package inventory_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/files"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// importRun uploads body as the manager of A and runs the job to its end.
func (tb *testBundle) importRun(ctx context.Context, t *testing.T, body string) *inventory.Import {
	t.Helper()
	sc := tb.as[identity.RoleManager]
	imp, err := inventory.ImportCreate(ctx, tb.db, sc, inventory.ImportCreateParams{FileName: "items.csv",
		ContentType: "text/csv", Body: strings.NewReader(body)})
	require.NoError(t, err)
	require.Equal(t, inventory.ImportQueued, imp.State)
	require.NoError(t, inventory.ImportRun(ctx, tb.db, inventory.ImportArgs{TenantID: sc.TenantID, ImportID: imp.ID, ActorID: sc.ActorID}))
	imp, err = inventory.ImportGet(ctx, tb.db, sc, imp.ID)
	require.NoError(t, err)
	return imp
}

// importErrors reads the error report of a rejected import as "row|column|message" lines.
func (tb *testBundle) importErrors(ctx context.Context, t *testing.T, imp *inventory.Import) []string {
	t.Helper()
	require.Equal(t, inventory.ImportRejected, imp.State, imp.Message)
	r, err := inventory.ImportErrorReport(ctx, tb.db, tb.as[identity.RoleManager], imp.ID)
	require.NoError(t, err)
	recs, err := csv.NewReader(r).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"row", "column", "message"}, recs[0])
	var out []string
	for _, rec := range recs[1:] {
		out = append(out, strings.Join(rec, "|"))
	}
	return out
}

func (tb *testBundle) itemCount(ctx context.Context, t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &n, `SELECT count(*) FROM inventory_items`)
	}))
	return n
}

const importHeader = "sku,name,description,category,unit,barcode,reorder_point,reorder_quantity,tracking,location,quantity,unit_cost\n"

func TestImportValid(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	body := "\xEF\xBB\xBF" + importHeader + // a BOM, as Excel writes it
		"NUT-10,Nut M10,\"Hex nut, zinc\",Fasteners,ea,4006381333931,100,500,none,WH1-A1,250,0.12\n" +
		"OIL-5,Oil 5W30,,Fluids,L,,10,20,,wh1,12.5,\"1,234.50\"\n" +
		"LOT-1,Glue,,Adhesives,kg,,0,0,batch,,,\n"
	imp := tb.importRun(ctx, t, body)
	require.Equal(t, inventory.ImportDone, imp.State, imp.Message)
	require.EqualValues(t, 3, imp.ItemsCreated)
	require.EqualValues(t, 2, imp.StockLines)
	require.EqualValues(t, 3, imp.RowsTotal)
	require.EqualValues(t, 3, imp.RowsDone)
	require.Nil(t, imp.ErrorFileID)

	res, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: "nut-10"})
	require.NoError(t, err)
	require.Len(t, res.Items, 1)
	nut := res.Items[0]
	require.Equal(t, "Hex nut, zinc", nut.Description)
	require.Equal(t, inventory.Units(250), nut.OnHand)
	require.Equal(t, int64(12), nut.AvgCost)
	require.Equal(t, int64(3000), nut.StockValue)
	require.Equal(t, inventory.Units(250), tb.onHand(ctx, t, tb.sys, nut.ID, tb.bin1.ID))

	res, err = inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: "OIL-5"})
	require.NoError(t, err)
	oil := res.Items[0]
	require.Equal(t, inventory.Unit("l"), oil.Unit)
	require.Equal(t, q("12.5"), tb.onHand(ctx, t, tb.sys, oil.ID, tb.wh.ID))
	require.Equal(t, int64(123450), oil.AvgCost)

	// The ledger explains every level, and the receipt is one movement.
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
	lines, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{ItemID: &nut.ID})
	require.NoError(t, err)
	require.Len(t, lines.Lines, 1)
	require.Equal(t, inventory.KindReceipt, lines.Lines[0].Kind)
	require.Equal(t, "Import items.csv", lines.Lines[0].Reference)
	require.Equal(t, tb.as[identity.RoleManager].ActorID, *lines.Lines[0].ActorID)
	// An item's page reads its history from its first movement: the opening stock's, none without stock.
	require.NotNil(t, nut.FirstMovementAt)
	require.True(t, nut.FirstMovementAt.Equal(lines.Lines[0].OccurredAt))
	hist, err := inventory.ItemHistory(ctx, tb.db, tb.sys, &nut, "", 20)
	require.NoError(t, err)
	require.Equal(t, lines.Lines, hist.Lines)
	res, err = inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Search: "LOT-1"})
	require.NoError(t, err)
	require.Nil(t, res.Items[0].FirstMovementAt)

	// The audit trail: one event per item, the movement, and the import with its counts.
	var actions []string
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &actions, `SELECT action || ':' || count(*) FROM audit_events
			WHERE actor_id = $1 GROUP BY action ORDER BY action`, tb.as[identity.RoleManager].ActorID)
	}))
	require.Equal(t, []string{"inventory.import:1", "inventory.import_upload:1", "inventory.item_create:3", "inventory.receipt:1"}, actions)

	// Importing the same file again: every SKU exists now.
	again := tb.importRun(ctx, t, body)
	require.Equal(t, []string{
		"2|sku|An item with the SKU NUT-10 exists already. Remove the row, or change the SKU.",
		"3|sku|An item with the SKU OIL-5 exists already. Remove the row, or change the SKU.",
		"4|sku|An item with the SKU LOT-1 exists already. Remove the row, or change the SKU.",
	}, tb.importErrors(ctx, t, again))

	// A finished import is not redone.
	require.NoError(t, inventory.ImportRun(ctx, tb.db, inventory.ImportArgs{TenantID: tb.a, ImportID: imp.ID, ActorID: tb.as[identity.RoleManager].ActorID}))
	require.Equal(t, 1+3, tb.itemCount(ctx, t), "the setup's item and the three imported")
}

func TestImportOneBadRowCommitsNothing(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	before := tb.itemCount(ctx, t)
	imp := tb.importRun(ctx, t, importHeader+
		"A-1,One,,,ea,,,,,WH1,5,1.00\n"+
		"A-2,Two,,,ea,,,,,WH1,five,1.00\n"+
		"A-3,Three,,,ea,,,,,WH1,5,1.00\n")
	require.Equal(t, []string{`3|quantity|"five" is not a number: Enter a quantity in figures with at most 3 decimals, like 12.5.`},
		tb.importErrors(ctx, t, imp))
	require.EqualValues(t, 1, imp.ErrorCount)
	require.Equal(t, before, tb.itemCount(ctx, t), "no item was created")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))

	// The upload and the error report are temporary files: they expire, and the clean-up removes them.
	var expiring int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &expiring, `SELECT count(*) FROM files WHERE id IN ($1, $2)
			AND expires_at BETWEEN now() + interval '6 days' AND now() + interval '8 days'`, imp.FileID, *imp.ErrorFileID)
	}))
	require.Equal(t, 2, expiring)
}

func TestImportMessages(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"DuplicateInFile", importHeader + "X-1,One,,,ea,,,,,,,\nx-1,Two,,,ea,,,,,,,\n",
			[]string{"3|sku|The SKU x-1 is also on row 2. Each SKU may appear once."}},
		{"DuplicateOfLiveItem", importHeader + "bolt-10,Bolt,,,ea,,,,,,,\n",
			[]string{"2|sku|An item with the SKU bolt-10 exists already. Remove the row, or change the SKU."}},
		{"UnknownUnit", "sku,name,unit\nX-1,One,crates\n",
			[]string{`2|unit|Unknown unit "crates". Use one of: ` + strings.Join(unitStrings(), ", ") + "."}},
		{"UnknownLocation", "sku,name,unit,location,quantity\nX-1,One,ea,WH9,3\n",
			[]string{`2|location|Unknown location "WH9". Use the code of an existing warehouse or bin.`}},
		{"BadNumbers", "sku,name,unit,reorder_point,unit_cost,location,quantity\nX-1,One,ea,ten,1.2.3,WH1,1.5\n",
			[]string{
				`2|reorder_point|"ten" is not a number: Enter a quantity in figures with at most 3 decimals, like 12.5.`,
				`2|unit_cost|"1.2.3" is not an amount: Enter an amount in figures, like 1,000.00.`,
				"2|quantity|Enter a whole number: each counts whole things.",
			}},
		{"Semicolons", "sku;name;unit\nX-1;One;ea\n",
			[]string{`1||The columns are separated by semicolons. Use commas: save the file as "CSV UTF-8 (comma delimited)", or change the list separator to a comma, and upload it again.`}},
		{"Latin1", "sku,name,unit\nX-1,Caf\xe9 cr\xe8me,ea\n",
			[]string{`2||The file is not UTF-8 text (it looks like Windows-1252 or Latin-1). Save it as "CSV UTF-8" and upload it again.`}},
		{"UTF16", "\xff\xfes\x00k\x00u\x00",
			[]string{`||The file is UTF-16 text ("Unicode text"). Save it as "CSV UTF-8" and upload it again.`}},
		{"NoHeader", "X-1,One,ea\n",
			[]string{
				`1|x-1|Unknown column "x-1". The columns are: ` + strings.Join(inventory.ImportColumns, ", ") + ".",
				`1|one|Unknown column "one". The columns are: ` + strings.Join(inventory.ImportColumns, ", ") + ".",
				`1|ea|Unknown column "ea". The columns are: ` + strings.Join(inventory.ImportColumns, ", ") + ".",
				"1|sku|The header has no sku column. The first row must name the columns, e.g. " + strings.Join(inventory.ImportColumns, ",") + ".",
				"1|name|The header has no name column. The first row must name the columns, e.g. " + strings.Join(inventory.ImportColumns, ",") + ".",
				"1|unit|The header has no unit column. The first row must name the columns, e.g. " + strings.Join(inventory.ImportColumns, ",") + ".",
			}},
		{"FormulaInHeader", "sku,name,unit,=SUM(A1)\nX-1,One,ea,1\n",
			[]string{`1|'=sum(a1)|Unknown column "=sum(a1)". The columns are: ` + strings.Join(inventory.ImportColumns, ", ") + "."}},
		{"HeaderOnly", "sku,name,unit\n",
			[]string{"||The file has a header but no rows. Add a row for each item below the header."}},
		{"FieldCount", "sku,name,unit\nX-1,One,ea,extra\n",
			[]string{"2||This row has 4 values but the header has 3 columns. Check for a missing or extra comma, and put values that contain commas in double quotes."}},
		{"SerialStock", "sku,name,unit,tracking,location,quantity\nX-1,One,ea,serial,WH1,1\n",
			[]string{"2|quantity|Opening stock of items tracked by batch or serial number cannot be imported (the file has no batch column). Leave the quantity empty and receive the stock with its batches."}},
		{"MissingName", "sku,name,unit\nX-1,,ea\n",
			[]string{"2|name|Enter the item's name (up to 200 characters)."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			imp := tb.importRun(ctx, t, tc.body)
			require.Equal(t, tc.want, tb.importErrors(ctx, t, imp))
			require.EqualValues(t, len(tc.want), imp.ErrorCount)
			require.Equal(t, strings.SplitN(tc.want[0], "|", 3)[2], imp.Message)
		})
	}
}

func unitStrings() []string {
	var out []string
	for _, u := range inventory.UnitList() {
		out = append(out, string(u))
	}
	return out
}

func TestImportTooLarge(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	_, err := inventory.ImportCreate(ctx, tb.db, tb.as[identity.RoleManager], inventory.ImportCreateParams{
		FileName: "big.csv", Body: io.LimitReader(strings.NewReader(strings.Repeat(importHeader, 200_000)), inventory.ImportMaxSize+1)})
	require.Equal(t, store.Invalid, store.ErrorCode(err))
	require.Contains(t, store.ErrorMessage(err), "larger than 20 MB")
}

func TestImportPermissionAndTenants(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	_, err := inventory.ImportCreate(ctx, tb.db, tb.as[identity.RoleEmployee], inventory.ImportCreateParams{
		FileName: "x.csv", Body: strings.NewReader(importHeader)})
	requireCode(t, err, store.Forbidden, "")

	imp := tb.importRun(ctx, t, "sku,name,unit\nX-1,One,crates\n")
	require.NotNil(t, imp.ErrorFileID)
	otherAdmin := store.NewID()
	_, err = tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'admin@inv-b.example', 'B', 'x')`, otherAdmin)
	require.NoError(t, err)
	require.NoError(t, identity.MemberAdd(ctx, tb.db, tb.sysB, identity.MemberAddParams{UserID: otherAdmin, Role: identity.RoleAdmin}))
	scB := store.Scope{TenantID: tb.b, ActorID: otherAdmin}
	_, err = inventory.ImportGet(ctx, tb.db, scB, imp.ID)
	requireCode(t, err, store.NotFound, "")
	_, err = inventory.ImportErrorReport(ctx, tb.db, scB, imp.ID)
	requireCode(t, err, store.NotFound, "")
	for _, id := range []store.ID{imp.FileID, *imp.ErrorFileID} {
		_, err = files.Open(ctx, tb.db, scB, id)
		requireCode(t, err, store.NotFound, "")
	}
	list, err := inventory.ImportList(ctx, tb.db, scB)
	require.NoError(t, err)
	require.Empty(t, list)
	list, err = inventory.ImportList(ctx, tb.db, tb.as[identity.RoleAdmin])
	require.NoError(t, err)
	require.Len(t, list, 1)
}

// generatedImport is an import file of n new items, each with opening stock at one of the locations in turn.
func generatedImport(n int, locations ...string) string {
	var b strings.Builder
	b.WriteString(importHeader)
	for i := range n {
		fmt.Fprintf(&b, "GEN-%06d,Generated item %d,Made by the test,Category %d,ea,%013d,10,50,none,%s,%d,%d.%02d\n",
			i, i, i%50, i, locations[i%len(locations)], 1+i%100, i%20, i%100)
	}
	return b.String()
}

// TestImport100k imports a generated file of 100,000 rows, each with opening stock, and watches the
// progress while the job runs. Its speed target (10 s) is checked by BenchmarkImport, never by a timed
// test; -short skips it.
func TestImport100k(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("imports 100,000 rows")
	}
	tb, ctx := setup(t)
	const n = 100_000
	sc := tb.as[identity.RoleManager]
	imp, err := inventory.ImportCreate(ctx, tb.db, sc, inventory.ImportCreateParams{FileName: "gen.csv",
		Body: strings.NewReader(generatedImport(n, "WH1-A1", "WH1-A2"))})
	require.NoError(t, err)
	t.Logf("file of %d rows: %d bytes", n, imp.FileSize)

	// Watch the progress from another connection while the job runs.
	var (
		seen []string
		wg   sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			p, err := inventory.ImportGet(ctx, tb.db, sc, imp.ID)
			if err == nil && p.State.Open() && p.RowsDone > 0 && p.RowsDone < p.RowsTotal {
				seen = append(seen, fmt.Sprintf("%s %d/%d", p.State, p.RowsDone, p.RowsTotal))
			}
		}
	})
	start := time.Now()
	err = inventory.ImportRun(ctx, tb.db, inventory.ImportArgs{TenantID: tb.a, ImportID: imp.ID, ActorID: sc.ActorID})
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	require.NoError(t, err)
	t.Logf("imported %d rows in %s; progress seen: %v", n, elapsed, seen)
	require.NotEmpty(t, seen, "progress is visible while the job runs")

	imp, err = inventory.ImportGet(ctx, tb.db, sc, imp.ID)
	require.NoError(t, err)
	require.Equal(t, inventory.ImportDone, imp.State, imp.Message)
	require.EqualValues(t, n, imp.ItemsCreated)
	require.EqualValues(t, n, imp.StockLines)
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
	var events int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &events, `SELECT count(*) FROM audit_events WHERE action = 'inventory.item_create' AND actor_id = $1`, sc.ActorID)
	}))
	require.Equal(t, n, events)
}
