package handlers

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ledgerline/store"
)

type metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	statements *prometheus.CounterVec
}

// newMetrics registers the app's metrics; jobsDB, if not nil, is the jobs' pool, reported beside db's.
func newMetrics(reg *prometheus.Registry, db, jobsDB *store.DB) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgerline_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ledgerline_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		// Divided by ledgerline_http_requests_total of the route, the statements per request (the query budget).
		statements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgerline_db_statements_total", Help: "SQL statements sent to PostgreSQL (commits included) by route and method.",
		}, []string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.latency, m.statements,
		// Besides the usual memstats: go_gc_heap_live_bytes, the heap the last GC found live. Heap in use
		// swings by a factor of two with every GC cycle under load; the live heap is what grows with a leak.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&poolCollector{db: db, jobs: jobsDB},
		&jobsCollector{db: db},
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) observe(method, route string, status int, d time.Duration, statements int64) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(d.Seconds())
	m.statements.WithLabelValues(route, method).Add(float64(statements))
}

// poolCollector reports the state of the pgx pools at scrape time: the web's (pool="web") and, when
// jobs have their own, the jobs' (pool="jobs").
type poolCollector struct{ db, jobs *store.DB }

var (
	poolConns = prometheus.NewDesc("ledgerline_db_pool_connections", "Database pool connections by pool and state.", []string{"pool", "state"}, nil)
	poolMax   = prometheus.NewDesc("ledgerline_db_pool_max_connections", "Database pool size limit.", []string{"pool"}, nil)
	poolWaits = prometheus.NewDesc("ledgerline_db_pool_acquire_waits_total", "Acquires that had to wait for a connection.", []string{"pool"}, nil)
	poolWait  = prometheus.NewDesc("ledgerline_db_pool_acquire_wait_seconds_total", "Time spent waiting for connections.", []string{"pool"}, nil)
	jobsState = prometheus.NewDesc("ledgerline_jobs", "River jobs by queue and state (every state but completed).", []string{"queue", "state"}, nil)
	jobsUp    = prometheus.NewDesc("ledgerline_jobs_scrape_ok", "1 when the job counts could be read.", nil, nil)
	// Only with a read replica (READ_DATABASE_URL): how far its replayed data is behind, and whether it answers.
	replicaLag = prometheus.NewDesc("ledgerline_db_replica_lag_seconds", "Replay delay of the read replica (0 when it has replayed all it received).", nil, nil)
	replicaUp  = prometheus.NewDesc("ledgerline_db_replica_up", "1 when the read replica answers.", nil, nil)
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- poolConns
	ch <- poolMax
	ch <- poolWaits
	ch <- poolWait
	ch <- replicaLag
	ch <- replicaUp
}

func collectPool(ch chan<- prometheus.Metric, db *store.DB, name string) {
	s := db.Pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), name, "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), name, "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), name, "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()), name)
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.EmptyAcquireCount()), name)
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds(), name)
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	collectPool(ch, p.db, "web")
	if p.jobs != nil && p.jobs != p.db {
		collectPool(ch, p.jobs, "jobs")
	}
	if p.db.ReadPool == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	// An idle primary sends no new WAL, so "now - last replayed commit" would grow without any lag: the lag
	// counts only while received WAL waits to be replayed.
	var lag float64
	err := p.db.ReadPool.QueryRow(ctx, `SELECT CASE
		WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
		ELSE COALESCE(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8`).Scan(&lag)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(replicaUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(replicaUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(replicaLag, prometheus.GaugeValue, lag)
}

// jobsCollector counts River jobs by queue and state at scrape time (River's tables hold no tenant data).
// Completed jobs are left out: River keeps them for a week, so counting them read the whole table on every
// scrape (60–90 ms at 140,000 jobs, growing with the traffic), and no alert needs them. The other states are
// read from River's fetching index, whose leading column is the state.
type jobsCollector struct{ db *store.DB }

func (j *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsState
	ch <- jobsUp
}

func (j *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var rows []struct {
		Queue string `db:"queue"`
		State string `db:"state"`
		N     int64  `db:"n"`
	}
	err := j.db.X.SelectContext(ctx, &rows, `SELECT queue, state::text AS state, count(*) AS n FROM river_job
		WHERE state IN ('available', 'cancelled', 'discarded', 'pending', 'retryable', 'running', 'scheduled') GROUP BY 1, 2`)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(jobsUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(jobsUp, prometheus.GaugeValue, 1)
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(jobsState, prometheus.GaugeValue, float64(r.N), r.Queue, r.State)
	}
}
