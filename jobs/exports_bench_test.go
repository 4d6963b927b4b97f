package jobs_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
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

// BenchmarkExportItems exports the item list of EXPORT_BENCH_ROWS items (1,000,000 by default) through the
// real source (keyset pages under the requester's row-level security), the format's writer and the file
// store, and reports rows per second, the p95 of the item list page opened every 50 ms meanwhile, and the peak heap in use during the run, sampled every 10 ms.
func BenchmarkExportItems(b *testing.B) {
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("EXPORT_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	ctx := context.Background()
	sb := storetest.New(b)
	ten, err := identity.TenantCreate(ctx, sb.DB, store.Scope{}, identity.TenantCreateParams{Name: "Bench", Slug: "bench", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(b, err)
	admin := store.NewID()
	_, err = sb.DB.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'admin@bench.example', 'Admin', 'x')`, admin)
	require.NoError(b, err)
	require.NoError(b, identity.MemberAdd(ctx, sb.DB, store.Scope{TenantID: ten.ID}, identity.MemberAddParams{UserID: admin, Role: identity.RoleAdmin}))
	owner, err := pgx.Connect(ctx, sb.OwnerURL)
	require.NoError(b, err)
	_, err = owner.Exec(ctx, `
		INSERT INTO inventory_items (tenant_id, id, sku, name, category, unit, currency, reorder_point, on_hand, avg_cost, stock_value)
		SELECT $1, gen_random_uuid(), 'SKU-' || lpad(g::text, 7, '0'), 'Item number ' || g || ', a longer descriptive name',
		       'Category ' || (g % 40), 'ea', 'EUR', g % 20, g % 50, 1250, (g % 50) * 1250
		FROM generate_series(1, $2::int) AS g`, ten.ID, rows)
	require.NoError(b, err)
	_, err = owner.Exec(ctx, `ANALYZE inventory_items`)
	require.NoError(b, err)
	require.NoError(b, owner.Close(ctx))
	_, err = exports.SettingsUpdate(ctx, sb.DB, store.Scope{TenantID: ten.ID, ActorID: admin}, exports.Settings{RetentionDays: 1, MaxConcurrent: 20})
	require.NoError(b, err)
	catalog := jobs.ExportCatalog()

	for _, f := range []exports.Format{exports.FormatCSV, exports.FormatXLSX} {
		b.Run(string(f), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				sc := store.Scope{TenantID: ten.ID, ActorID: admin}
				x, err := exports.Create(ctx, sb.DB, sc, exports.CreateParams{Kind: exports.KindInventoryItems, Format: f, Filter: []byte(`{"Sort":"name"}`)})
				require.NoError(b, err)
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base := ms.HeapInuse
				stop, peak := make(chan struct{}), make(chan uint64, 1)
				go func() {
					var top uint64
					var m runtime.MemStats
					t := time.NewTicker(10 * time.Millisecond)
					defer t.Stop()
					for {
						runtime.ReadMemStats(&m)
						top = max(top, m.HeapInuse)
						select {
						case <-stop:
							peak <- top
							return
						case <-t.C:
						}
					}
				}()
				// Meanwhile a member opens the first page of the item list every 50 ms (the list page's store
				// call, sorted by name, with its count estimate), and the latencies are kept for the p95.
				pageStop, pageTimes := make(chan struct{}), make(chan []time.Duration, 1)
				go func() {
					var took []time.Duration
					t := time.NewTicker(50 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-pageStop:
							pageTimes <- took
							return
						case <-t.C:
						}
						s := time.Now()
						if _, err := inventory.ItemList(ctx, sb.DB, sc, inventory.ItemListParams{Sort: inventory.SortName, Limit: 50}); err == nil {
							took = append(took, time.Since(s))
						}
					}
				}()
				start := time.Now()
				b.StartTimer()
				require.NoError(b, exports.Run(ctx, sb.DB, catalog, exports.RunArgs{TenantID: ten.ID, ExportID: x.ID}, 1, exports.RunOpts{}))
				b.StopTimer()
				took := time.Since(start)
				close(stop)
				close(pageStop)
				p := <-peak
				pages := <-pageTimes
				require.NotEmpty(b, pages)
				slices.Sort(pages)
				b.ReportMetric(float64(pages[len(pages)*95/100].Microseconds())/1000, "page-p95-ms")
				got, err := exports.Get(ctx, sb.DB, sc, x.ID)
				require.NoError(b, err)
				require.EqualValues(b, rows, got.RowsDone)
				b.ReportMetric(float64(rows)/took.Seconds(), "rows/s")
				b.ReportMetric(float64(base)/(1<<20), "base-heap-MB")
				b.ReportMetric(float64(p)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(got.FileSize)/(1<<20), "file-MB")
			}
		})
	}
}
