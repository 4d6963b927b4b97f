package exports_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
)

// benchCatalog streams n item-like rows of 14 cells, like the item export.
func benchCatalog(n int) exports.Catalog {
	return exports.Catalog{exports.KindInventoryItems: {
		Columns: []string{"SKU", "Name", "Category", "Unit", "Status", "Tracking", "On hand", "Reorder point",
			"Reorder quantity", "Currency", "Average cost", "Stock value", "Barcode", "Updated at"},
		Count: func(context.Context, *store.Tx, json.RawMessage) (int64, error) { return int64(n), nil },
		Each: func(ctx context.Context, tx *store.Tx, _ json.RawMessage, emit func([]any) error) error {
			at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range n {
				s := strconv.Itoa(i)
				if err := emit([]any{"SKU-" + s, "Item number " + s + " with a longer name", "Hardware", "ea", "active", "none",
					exports.Number(s + ".000"), exports.Number("10.000"), exports.Number("40.000"), "EUR",
					exports.Number("12.34"), exports.Number(s + ".00"), "400" + s, at}); err != nil {
					return err
				}
			}
			return nil
		},
	}}
}

// peakHeap samples the live heap every 10 ms until stop is closed and returns the highest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak atomic.Uint64
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				out <- peak.Load()
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkExport200k exports 200,000 rows through the real engine and file storage and reports the peak
// heap in use during the run (peak-heap-MB) next to the heap before it (base-heap-MB): the difference stays
// flat as rows grow, because no stage holds the rows.
func BenchmarkExport200k(b *testing.B) {
	for _, f := range []exports.Format{exports.FormatCSV, exports.FormatXLSX} {
		b.Run(string(f), func(b *testing.B) {
			tbb, ctx := setup(b)
			catalog := benchCatalog(200_000)
			admin := tbb.as[identity.RoleAdmin]
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				x, err := exports.Create(ctx, tbb.db, admin, exports.CreateParams{Kind: exports.KindInventoryItems, Format: f})
				require.NoError(b, err)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapInuse
				stop := make(chan struct{})
				peak := peakHeap(stop)
				b.StartTimer()
				require.NoError(b, exports.Run(ctx, tbb.db, catalog, exports.RunArgs{TenantID: tbb.a, ExportID: x.ID}, 1, exports.RunOpts{}))
				b.StopTimer()
				close(stop)
				p := <-peak
				got, err := exports.Get(ctx, tbb.db, admin, x.ID)
				require.NoError(b, err)
				require.EqualValues(b, 200_000, got.RowsDone)
				b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
				b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(got.FileSize)/(1<<20), "file-MB")
			}
		})
	}
}
