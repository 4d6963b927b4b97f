package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// TestExportWaitsWhileDatabaseUnavailable: the database drops the export's connection mid-run (the
// source terminates its own backend, as a restart or failover would). The job fails, the export shows
// "waiting" with the time River will try again (the worker's own back-off), and the next attempt finishes
// with exactly one file; when the last attempt fails too the export is failed, not left waiting.
func TestExportWaitsWhileDatabaseUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{Name: "Wait", Slug: "wait", TimeZone: "UTC", Currency: "EUR"})
	require.NoError(t, err)
	uid := store.NewID()
	_, err = db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'admin@wait.example', 'Admin', 'x')`, uid)
	require.NoError(t, err)
	require.NoError(t, identity.MemberAdd(ctx, db, store.Scope{TenantID: ten.ID}, identity.MemberAddParams{UserID: uid, Role: identity.RoleAdmin}))
	sc := store.Scope{TenantID: ten.ID, ActorID: uid}
	for _, sku := range []string{"W-1", "W-2", "W-3"} {
		_, err := inventory.ItemCreate(ctx, db, sc, inventory.ItemFields{SKU: sku, Name: "Thing " + sku, Unit: "ea"})
		require.NoError(t, err)
	}

	good := jobs.ExportCatalog()
	src := good[exports.KindInventoryItems]
	dropping := exports.Catalog{exports.KindInventoryItems: {Columns: src.Columns, Count: src.Count,
		Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
			n := 0
			return src.Each(ctx, tx, filter, func(cells []any) error {
				if n++; n == 2 {
					// The server ends this session, as it does for everyone on a restart.
					_, err := tx.ExecContext(ctx, `SELECT pg_terminate_backend(pg_backend_pid())`)
					return err
				}
				return emit(cells)
			})
		}}}
	job := func(x *exports.Export, attempt int) *river.Job[exports.RunArgs] {
		at := time.Now()
		return &river.Job[exports.RunArgs]{
			JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt, MaxAttempts: 5, AttemptedAt: &at, Kind: exports.RunArgs{}.Kind()},
			Args:   exports.RunArgs{TenantID: ten.ID, ExportID: x.ID},
		}
	}
	filesOf := func() int {
		var n int
		require.NoError(t, db.InTenant(ctx, sc, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM files WHERE owner_id = $1`, uid)
		}))
		return n
	}

	x, err := exports.Create(ctx, db, sc, exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	require.NoError(t, err)
	broken := &jobs.ExportRunWorker{DB: db, Catalog: dropping}
	j := job(x, 1)
	err = broken.Work(ctx, j)
	require.Error(t, err)
	require.True(t, exports.Transient(err), "a dropped connection is a transient failure: %v", err)
	got, err := exports.Get(ctx, db, sc, x.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateWaiting, got.State)
	require.Contains(t, got.Error, "database could not be reached")
	require.NotNil(t, got.NextAttemptAt, "the next attempt's time is shown")
	require.WithinDuration(t, broken.NextRetry(j), *got.NextAttemptAt, time.Second, "the time River retries at")
	require.WithinDuration(t, j.AttemptedAt.Add(10*time.Second), *got.NextAttemptAt, time.Second)
	require.Equal(t, 0, filesOf(), "the partial file was removed")

	// The database is back: the retry finishes once, with one file.
	require.NoError(t, (&jobs.ExportRunWorker{DB: db, Catalog: good}).Work(ctx, job(x, 2)))
	got, err = exports.Get(ctx, db, sc, x.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateDone, got.State)
	require.EqualValues(t, 3, got.RowsDone)
	require.Equal(t, 1, filesOf())
	// A duplicate delivery of the job does not write another file.
	require.NoError(t, (&jobs.ExportRunWorker{DB: db, Catalog: good}).Work(ctx, job(x, 3)))
	require.Equal(t, 1, filesOf())

	// Still unavailable at the last attempt: failed, and said so.
	y, err := exports.Create(ctx, db, sc, exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	require.NoError(t, err)
	require.Error(t, broken.Work(ctx, job(y, 5)))
	got, err = exports.Get(ctx, db, sc, y.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateFailed, got.State)

	require.Equal(t, []time.Duration{10 * time.Second, 30 * time.Second, 90 * time.Second, 270 * time.Second},
		[]time.Duration{jobs.ExportRetryBackoff(1), jobs.ExportRetryBackoff(2), jobs.ExportRetryBackoff(3), jobs.ExportRetryBackoff(4)})
}
