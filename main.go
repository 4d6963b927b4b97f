// Command ledgerline is the whole application in one binary: the web server with its River workers
// (serve, the default), workers only (worker), schema migrations (migrate), demo data (seed) and the audit
// chain check (audit-verify).
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/riverqueue/river"

	"ledgerline/handlers"
	"ledgerline/jobs"
	"ledgerline/migrations"
	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/webhooks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "ledgerline: %v\n", err)
		os.Exit(1)
	}
}

const usage = `usage: ledgerline [command]

commands:
  serve          serve HTTP and work jobs (default)
  worker         work jobs only
  migrate        apply database migrations (as MIGRATE_DATABASE_URL)
  seed           create the demo tenants and users (idempotent)
                 --scale large: the benchmark data instead (1,000,000 items, 5,000,000 movements,
                 50 more tenants; loads as MIGRATE_DATABASE_URL's owner with COPY; idempotent)
  audit-verify   recompute every tenant's audit hash chain and name the first tampered event
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	cfg, err := LoadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(stderr, cfg.LogLevel)

	switch cmd {
	case "serve", "worker":
		tuneGC(os.Getenv)
		return serve(ctx, cfg, logger, cmd == "serve")
	case "migrate":
		return migrations.Up(ctx, cfg.MigrateDatabaseURL, logger)
	case "seed":
		scale, err := seedArgs(args[1:])
		if err != nil {
			return err
		}
		// Seeding is bulk work, like a job's.
		db, err := openDB(ctx, cfg, cfg.DBJobMaxConns)
		if err != nil {
			return err
		}
		defer db.Close()
		client, err := jobs.NewClient(jobs.Deps{DB: db, Logger: logger}, jobs.ClientOpts{})
		if err != nil {
			return err
		}
		db.UseJobs(client)
		if scale == "large" {
			return seedLarge(ctx, db, cfg.MigrateDatabaseURL, stdout)
		}
		return seed(ctx, db, stdout)
	case "audit-verify":
		db, err := openDB(ctx, cfg, cfg.DBMaxConns)
		if err != nil {
			return err
		}
		defer db.Close()
		return auditVerify(ctx, db, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// openDB opens a pool of at most maxConns connections to the primary (and to the replica, if there is one),
// with the read gate (store/gate.go) of DB_READ_CONCURRENCY.
func openDB(ctx context.Context, cfg Config, maxConns int32) (*store.DB, error) {
	sealer, err := store.NewSealer(cfg.DataKey)
	if err != nil {
		return nil, fmt.Errorf("DATA_KEY: %w", err)
	}
	return store.Open(ctx, cfg.DatabaseURL, store.OpenOpts{MaxConns: maxConns, Secrets: sealer, CountStatements: true,
		ReadURL: cfg.ReadDatabaseURL, ReadConcurrency: cfg.DBReadConcurrency})
}

// openRedis returns a bounded redigo pool after checking that the server answers.
func openRedis(ctx context.Context, redisURL string) (*redis.Pool, error) {
	dial := func(ctx context.Context) (redis.Conn, error) {
		return redis.DialURLContext(ctx, redisURL,
			redis.DialConnectTimeout(time.Second),
			redis.DialReadTimeout(2*time.Second),
			redis.DialWriteTimeout(2*time.Second))
	}
	pool := &redis.Pool{
		MaxIdle:     20,
		MaxActive:   200,
		Wait:        true,
		IdleTimeout: 2 * time.Minute,
		DialContext: dial,
		// A connection idle for more than a second is checked before use: after a Redis restart the pool's
		// idle connections are dead, and using them unchecked would fail a request per connection.
		TestOnBorrow: func(c redis.Conn, lastUsed time.Time) error {
			if time.Since(lastUsed) < time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
	pingCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	conn, err := pool.GetContext(pingCtx)
	if err == nil {
		_, err = conn.Do("PING")
		_ = conn.Close()
	}
	if err != nil {
		_ = pool.Close()
		//lint:ignore ST1005 the message starts with a proper name and is shown as it is at start-up
		return nil, fmt.Errorf("Redis at %s is unreachable: %w", store.RedactURL(redisURL), err)
	}
	return pool, nil
}

func serve(ctx context.Context, cfg Config, logger *slog.Logger, withHTTP bool) error {
	// Two pools: the web's is small (see DB_MAX_CONNS in config.go), the jobs' one is sized by the workers,
	// so a long import or export never waits for, nor takes, a connection that pages need.
	jobsDB, err := openDB(ctx, cfg, cfg.DBJobMaxConns)
	if err != nil {
		return err
	}
	defer jobsDB.Close()

	webhookGuard := &webhooks.Guard{AllowHosts: cfg.WebhookAllowHosts, RequireHTTPS: cfg.WebhookHTTPS}
	client, err := jobs.NewClient(jobs.Deps{
		DB:       jobsDB,
		Mailer:   &jobs.Mailer{URL: cfg.SMTPURL, From: cfg.MailFrom},
		Logger:   logger,
		Webhooks: webhookGuard,
		BaseURL:  strings.TrimSuffix(cfg.BaseURL.String(), "/"),
	}, jobs.ClientOpts{Workers: cfg.Workers, RescueAfter: cfg.JobRescueAfter})
	if err != nil {
		return err
	}
	jobsDB.UseJobs(client)

	var (
		srv      *http.Server
		ln       net.Listener
		draining atomic.Bool
	)
	serveErr := make(chan error, 1)
	if withHTTP {
		redisPool, err := openRedis(ctx, cfg.RedisURL)
		if err != nil {
			return err
		}
		defer redisPool.Close()
		db, err := openDB(ctx, cfg, cfg.DBMaxConns)
		if err != nil {
			return err
		}
		defer db.Close()
		db.UseJobs(client)
		h, err := handlers.New(handlers.Deps{
			DB:                db,
			JobsDB:            jobsDB,
			Redis:             redisPool,
			RedisPrefix:       cfg.RedisPrefix,
			PlatformOperators: cfg.PlatformOperators,
			Jobs:              client,
			Webhooks:          webhookGuard,
			Logger:            logger,
			BaseURL:           cfg.BaseURL,
			CookieSecure:      cfg.CookieSecure,
			TrustedProxies:    cfg.TrustedProxies,
			SessionIdle:       cfg.SessionIdle,
			SessionLifetime:   cfg.SessionLifetime,
			Context:           ctx,
		})
		if err != nil {
			return err
		}
		srv = &http.Server{
			Addr:              cfg.HTTPAddr,
			Handler:           closeWhenDraining(h, &draining),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       60 * time.Second,
			WriteTimeout:      120 * time.Second,
			IdleTimeout:       120 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		}
		ln, err = net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("HTTP_ADDR %s: %w", cfg.HTTPAddr, err)
		}
	}
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, logger)
		if err != nil {
			return err
		}
		defer stopPprof()
	}
	if cfg.Workers > 0 {
		if err := client.Start(ctx); err != nil {
			return fmt.Errorf("error starting River: %w", err)
		}
	}
	if srv != nil {
		logger.Info("serving", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String())
		go func() { serveErr <- srv.Serve(ln) }()
	} else {
		logger.Info("working jobs only", "workers", cfg.Workers)
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("error serving HTTP: %w", err)
		}
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if srv != nil {
		// Drain before Shutdown: stop accepting (the balancer's new connections are refused and go to
		// another instance), answer requests on the open connections for a moment with "Connection:
		// close", and only then close the idle ones. Closing an idle keep-alive connection at once races
		// with a request the balancer is sending on it, which it cannot safely retry if it is a POST.
		draining.Store(true)
		_ = ln.Close()
		select {
		case <-time.After(drainDelay(cfg.ShutdownTimeout)):
		case <-shutdownCtx.Done():
		}
		if err := srv.Shutdown(shutdownCtx); err != nil {
			logger.Error("HTTP shutdown incomplete", "error", err)
		}
	}
	if cfg.Workers > 0 {
		stopRiver(shutdownCtx, client, logger)
	}
	logger.Info("stopped")
	return nil
}

// drainDelay is how long a stopping instance keeps answering on its open connections before closing the
// idle ones: long enough for a balancer to use (and so learn the end of) each pooled connection.
func drainDelay(shutdown time.Duration) time.Duration {
	return min(shutdown/4, 2*time.Second)
}

// closeWhenDraining asks the client to close the connection after each response once the instance is
// stopping, so the balancer stops reusing connections to it.
func closeWhenDraining(next http.Handler, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// stopRiver lets running jobs finish until the deadline, then cancels them; cancelled jobs are retried by
// another instance (River rescues them), so nothing is lost.
func stopRiver(ctx context.Context, client *river.Client[*sql.Tx], logger *slog.Logger) {
	softCtx, cancel := context.WithTimeout(ctx, time.Until(deadline(ctx))*3/4)
	defer cancel()
	if err := client.Stop(softCtx); err == nil {
		return
	}
	logger.Warn("jobs still running at shutdown deadline; cancelling them")
	if err := client.StopAndCancel(ctx); err != nil {
		logger.Error("River stop incomplete", "error", err)
	}
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(10 * time.Second)
}

func auditVerify(ctx context.Context, db *store.DB, stdout io.Writer) error {
	results, err := audit.VerifyAll(ctx, db)
	if err != nil {
		return err
	}
	bad := 0
	for _, r := range results {
		if r.OK {
			fmt.Fprintf(stdout, "tenant %s: ok, %d sealed events checked, %d not yet sealed\n", r.TenantID, r.Checked, r.Unsealed)
			continue
		}
		bad++
		fmt.Fprintf(stdout, "tenant %s: TAMPERED at seq %d (event %s): %s\n", r.TenantID, r.FirstBad.Seq, r.FirstBad.EventID, r.FirstBad.Reason)
	}
	if bad > 0 {
		return fmt.Errorf("audit chain broken in %d tenant(s)", bad)
	}
	return nil
}
