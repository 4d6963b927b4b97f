package inventory_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store/inventory"
)

// BenchmarkImport100k validates and commits a CSV file of 100,000 new items with opening stock, the whole
// import job as the worker runs it (the target is under 10 s). Each iteration imports into a fresh tenant
// database, so the SKUs are new every time.
func BenchmarkImport100k(b *testing.B) {
	const n = 100_000
	body := generatedImport(n, "B1", "B2")
	for b.Loop() {
		b.StopTimer()
		bb, ctx := benchSetup(b)
		imp, err := inventory.ImportCreate(ctx, bb.db, bb.actor, inventory.ImportCreateParams{FileName: "gen.csv", Body: strings.NewReader(body)})
		require.NoError(b, err)
		b.StartTimer()
		err = inventory.ImportRun(ctx, bb.db, inventory.ImportArgs{TenantID: bb.tenant, ImportID: imp.ID, ActorID: bb.actor.ActorID})
		b.StopTimer()
		require.NoError(b, err)
		got, err := inventory.ImportGet(ctx, bb.db, bb.actor, imp.ID)
		require.NoError(b, err)
		require.Equal(b, inventory.ImportDone, got.State, got.Message)
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "rows/op")
}
