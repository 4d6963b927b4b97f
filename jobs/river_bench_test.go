package jobs_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/storetest"
)

// noopArgs is the benchmark's job: nothing to do, so what is measured is River's own cost (insert, fetch,
// work dispatch, completion) with the app's client configuration.
type noopArgs struct{}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct {
	river.WorkerDefaults[noopArgs]
}

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// BenchmarkRiverNoop inserts RIVER_BENCH_JOBS no-op jobs (20,000 by default) in batches of 1,000 into a
// running River client built by the app's own constructor (jobs.NewClient: its queues, RIVER_WORKERS
// workers as `serve` has by default, River's fetch cooldown and poll interval, the LISTEN/NOTIFY listener on
// the pgx pool) and waits until every one is completed, or 30 s. It reports completed jobs per second from
// the first insert to the last completion or the end of the window (issue 9's target: 5,000 or more), the
// insert rate alone, and the share of the jobs completed within the window.
func BenchmarkRiverNoop(b *testing.B) {
	total := 20_000
	if v, err := strconv.Atoi(os.Getenv("RIVER_BENCH_JOBS")); err == nil && v > 0 {
		total = v
	}
	ctx := context.Background()
	workers := benchWorkers()
	client, _ := benchClient(ctx, b, workers, func(w *river.Workers) error { return river.AddWorkerSafely(w, noopWorker{}) })
	completed, cancel := client.SubscribeConfig(&river.SubscribeConfig{
		Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: total + 1_000})
	defer cancel()
	require.NoError(b, client.Start(ctx))

	const batch = 1_000
	params := make([]river.InsertManyParams, batch)
	for i := range params {
		params[i] = river.InsertManyParams{Args: noopArgs{}}
	}
	// A client far below the target would take minutes to drain the batch: its rate over this window is
	// the figure (the jobs left over go with the test database).
	const maxWait = 30 * time.Second
	var perSecond, insertPerSecond, completedShare float64
	for range b.N {
		start := time.Now()
		insertErr := make(chan error, 1)
		var insertTime time.Duration
		go func() {
			for n := 0; n < total; n += batch {
				if _, err := client.InsertManyFast(ctx, params[:min(batch, total-n)]); err != nil {
					insertErr <- err
					return
				}
			}
			insertTime = time.Since(start)
			insertErr <- nil
		}()
		done, insertsDone := 0, false
		window := time.After(maxWait)
	wait:
		for done < total || !insertsDone {
			select {
			case ev := <-completed:
				if ev.Job.Kind == (noopArgs{}).Kind() {
					done++
				}
			case err := <-insertErr:
				require.NoError(b, err)
				insertsDone = true
			case <-window:
				break wait // a slow client: its rate over the window is the figure
			}
		}
		elapsed := time.Since(start)
		require.NotZero(b, done, "no no-op job completed within %s", maxWait)
		if insertsDone {
			insertPerSecond = float64(total) / insertTime.Seconds()
		}
		perSecond = float64(done) / elapsed.Seconds()
		completedShare = float64(done) / float64(total)
	}
	b.ReportMetric(perSecond, "jobs/s")
	b.ReportMetric(insertPerSecond, "inserts/s")
	b.ReportMetric(float64(workers), "workers")
	b.ReportMetric(completedShare, "completed-share")
}

// benchWorkers is RIVER_WORKERS as `serve` reads it (config.go: 10 by default).
func benchWorkers() int {
	if v, err := strconv.Atoi(os.Getenv("RIVER_WORKERS")); err == nil && v > 0 {
		return v
	}
	return 10
}

// benchClient builds the app's River client (jobs.NewClient) on a fresh database with extra workers, and
// stops it when the benchmark ends (start it after subscribing).
func benchClient(ctx context.Context, b *testing.B, workers int, extra func(*river.Workers) error) (*river.Client[*sql.Tx], *store.DB) {
	sb := storetest.New(b)
	client, err := jobs.NewClientWithWorkers(jobs.Deps{DB: sb.DB, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		jobs.ClientOpts{Workers: workers, AuditSealEvery: time.Hour}, extra)
	require.NoError(b, err)
	b.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(ctx, 10*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
	})
	return client, sb.DB
}

// probeArgs is a no-op job that tells when it started.
type probeArgs struct {
	Seq int `json:"seq"`
}

func (probeArgs) Kind() string { return "bench_probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	started chan<- probeStart
}

type probeStart struct {
	seq int
	at  time.Time
}

func (w probeWorker) Work(_ context.Context, job *river.Job[probeArgs]) error {
	w.started <- probeStart{seq: job.Args.Seq, at: time.Now()}
	return nil
}

// BenchmarkRiverStart measures how soon the app's River client (as in BenchmarkRiverNoop) starts a job
// after the transaction that enqueued it commits, as a page's job is enqueued (InsertTx in the page's
// transaction), on an otherwise idle client: 100 probes, each 10-30 ms (random, so that they do not keep
// step with the fetch cooldown) after the previous one started. It reports the p50 and p95 from commit to
// the worker's start: the floor of issue 9's "a job enqueued by a page starts within 100 ms at p95",
// which loadgen measures under the mixed load.
func BenchmarkRiverStart(b *testing.B) {
	ctx := context.Background()
	started := make(chan probeStart, 16)
	client, db := benchClient(ctx, b, benchWorkers(), func(w *river.Workers) error {
		return river.AddWorkerSafely(w, probeWorker{started: started})
	})
	require.NoError(b, client.Start(ctx))
	const probes = 100
	r := rand.New(rand.NewPCG(1, 2)) // #nosec G404 -- pacing
	var waits []time.Duration
	for range b.N {
		waits = waits[:0]
		for i := range probes {
			time.Sleep(time.Duration(10+r.IntN(21)) * time.Millisecond)
			tx, err := db.X.BeginTx(ctx, nil)
			require.NoError(b, err)
			_, err = client.InsertTx(ctx, tx, probeArgs{Seq: i}, nil)
			require.NoError(b, err)
			require.NoError(b, tx.Commit())
			committed := time.Now()
			select {
			case s := <-started:
				require.Equal(b, i, s.seq)
				waits = append(waits, s.at.Sub(committed))
			case <-time.After(10 * time.Second):
				b.Fatalf("probe %d did not start within 10 s", i)
			}
		}
	}
	slices.Sort(waits)
	pct := func(p float64) float64 {
		return float64(waits[min(len(waits)-1, int(float64(len(waits))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "start-p50-ms")
	b.ReportMetric(pct(0.95), "start-p95-ms")
}
