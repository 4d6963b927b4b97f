// Package jobs holds River's workers and the periodic schedule. Workers are thin: they open a tenant
// transaction from the job's tenant id and call store operations. This is where modules meet: a domain
// enqueues its own job args in its store package, and a worker here reacts by calling another domain.
package jobs

import (
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"ledgerline/store"
	"ledgerline/store/webhooks"
)

// Deps are what workers need.
type Deps struct {
	DB     *store.DB
	Mailer *Mailer
	Logger *slog.Logger
	// Webhooks decides where webhook deliveries may connect; nil refuses every private address.
	Webhooks *webhooks.Guard
	// BaseURL makes links in e-mails absolute (exports); empty gives relative links.
	BaseURL string
	// MaxJobDuration caps the timeout of long jobs (exports); NewClient sets it from ClientOpts.RescueAfter,
	// because River rescues a job whose worker died only once the job's own timeout has passed.
	MaxJobDuration time.Duration
}

// ClientOpts configures NewClient.
type ClientOpts struct {
	// Workers is how many jobs this instance works at once across queues; 0 makes an insert-only client.
	Workers int
	// AuditSealEvery is the period of the audit sealing job.
	AuditSealEvery time.Duration
	// RescueAfter is how long a job may stay running before River takes its worker for dead (killed, or
	// its machine lost) and retries it on another instance. Zero keeps River's default, an hour. Set
	// lower, it also caps the default job timeout and the import's (River rescues a job only once its
	// own timeout has passed, and requires the default timeout to be no longer).
	RescueAfter time.Duration
}

// NewClient builds the River client that both inserts jobs (in sqlx transactions, through database/sql)
// and works them, listening for new jobs on the shared pgx pool.
func NewClient(deps Deps, opts ClientOpts) (*river.Client[*sql.Tx], error) {
	return newClient(deps, opts, nil)
}

// newClient is NewClient; extra, when not nil, registers more workers next to the app's (the River
// benchmark's no-op worker), so that a benchmark runs the app's own client configuration.
func newClient(deps Deps, opts ClientOpts, extra func(*river.Workers) error) (*river.Client[*sql.Tx], error) {
	workers := river.NewWorkers()
	if extra != nil {
		if err := extra(workers); err != nil {
			return nil, err
		}
	}
	if err := river.AddWorkerSafely(workers, &EmailSendWorker{Mailer: deps.Mailer, DB: deps.DB}); err != nil {
		return nil, fmt.Errorf("error adding e-mail worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &AuditSealWorker{DB: deps.DB}); err != nil {
		return nil, fmt.Errorf("error adding audit seal worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &AuditVerifyWorker{DB: deps.DB}); err != nil {
		return nil, fmt.Errorf("error adding audit verify worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &SigningKeyRotateWorker{DB: deps.DB}); err != nil {
		return nil, fmt.Errorf("error adding signing key rotation worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &InventoryImportWorker{DB: deps.DB, MaxDuration: opts.RescueAfter}); err != nil {
		return nil, fmt.Errorf("error adding inventory import worker: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &LowStockNotifyWorker{DB: deps.DB}); err != nil {
		return nil, fmt.Errorf("error adding low-stock worker: %w", err)
	}
	// The business modules, exports and integrations add their workers in their own files.
	deps.MaxJobDuration = opts.RescueAfter
	for _, add := range []func(*river.Workers, Deps) error{billingWorkers, approvalsWorkers, exportsWorkers, webhooksWorkers} {
		if err := add(workers, deps); err != nil {
			return nil, err
		}
	}

	cfg := &river.Config{
		Logger:  deps.Logger,
		Workers: workers,
		// River's reindexer needs to own the indexes; the app role owns nothing (see STACK_NOTES).
		ReindexerSchedule:           river.NeverSchedule(),
		CompletedJobRetentionPeriod: 7 * 24 * time.Hour,
		JobTimeout:                  5 * time.Minute,
		// River fetches at most once per cooldown and only as many jobs as it has free workers, and
		// announces inserts at most once per cooldown: its 100 ms default caps 10 workers near 100 jobs a
		// second and lets a page's job wait for the next poll (1 s). Measured (bench/README.md): 10 ms and
		// 200 ms start a job a few ms after its commit at p95 and work 850 no-op jobs/s with 10 workers.
		FetchCooldown:     10 * time.Millisecond,
		FetchPollInterval: 200 * time.Millisecond,
	}
	if opts.RescueAfter > 0 {
		cfg.RescueStuckJobsAfter = opts.RescueAfter
		cfg.JobTimeout = min(cfg.JobTimeout, opts.RescueAfter)
	}
	if opts.Workers > 0 {
		email := opts.Workers / 4
		if email < 1 {
			email = 1
		}
		cfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: opts.Workers},
			"email":            {MaxWorkers: email},
			// Webhook deliveries wait on other people's servers: their own queue keeps them from
			// holding up everything else.
			"webhooks": {MaxWorkers: max(2, opts.Workers/2)},
		}
		every := opts.AuditSealEvery
		if every <= 0 {
			every = time.Minute
		}
		cfg.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
				return AuditSealArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(SigningKeyRotateEvery), func() (river.JobArgs, *river.InsertOpts) {
				return SigningKeyRotateArgs{}, nil
			}, &river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(LowStockEvery), func() (river.JobArgs, *river.InsertOpts) {
				return LowStockNotifyArgs{}, nil
			}, nil),
		}
		cfg.PeriodicJobs = slices.Concat(cfg.PeriodicJobs, billingPeriodicJobs(), approvalsPeriodicJobs(),
			exportsPeriodicJobs(), webhooksPeriodicJobs())
	}
	driver := riverdatabasesql.NewWithPgxListener(deps.DB.X.DB, deps.DB.Pool)
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("error creating River client: %w", err)
	}
	return client, nil
}
