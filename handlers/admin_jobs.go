package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"riverqueue.com/riverui"

	"ledgerline/store"
)

// The job monitor is River's own web UI (riverqueue.com/riverui), mounted at jobsPath inside our stack:
// the session, sign-in, the admin two-factor gate and the AdminUsers permission apply to it like to any
// admin page (routes.go). Two things differ, both on this mount only:
//
//   - CSRF. River UI's single-page app sends its POST, PUT and PATCH requests (cancel, retry, delete jobs;
//     pause, resume, update queues) with fetch and no CSRF token. Our CSRF middleware would let a browser's
//     same-origin request through on Sec-Fetch-Site anyway, but it also accepts "none", and without the
//     header it wants a token the UI cannot send. jobsSameOrigin makes the rule explicit and stricter: an
//     unsafe request must carry Sec-Fetch-Site: same-origin, which browsers set themselves and pages
//     cannot forge; anything else (another site, another subdomain, a client without the header) is refused
//     with 403. Every browser River UI supports sends the header.
//   - Content-Security-Policy. River UI's bundle loads its scripts and styles from our origin, but it
//     inserts <style> elements at run time (its toast library and theme switch), which our strict policy
//     blocks. jobsContentSecurityPolicy allows inline styles, and only styles, for this mount. Scripts stay
//     'self' only: the bundle has no inline scripts, and its one use of eval is a feature probe of its
//     validation library (zod checks whether Function("") works and falls back when it does not), so the
//     single CSP report that probe causes in the console is expected and nothing breaks.
//
// River's jobs are not tenant data: the monitor shows every tenant's jobs to whoever reaches it. Job
// arguments (e-mail recipients and subjects, tenant ids) are hidden in the list by default but one click
// away. Until the monitor is limited to platform operators, every tenant admin sees all tenants' jobs.

const jobsPath = "/admin/jobs"

// jobsContentSecurityPolicy is the policy of River UI's pages and API responses (see above).
const jobsContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; " +
	"base-uri 'none'; object-src 'none'"

// jobsMonitor serves River UI. Its background services (count caches) start with the first request, so a
// server whose admins never open the monitor runs no extra queries; they stop when ctx ends.
type jobsMonitor struct {
	ui       *riverui.Handler
	ctx      context.Context
	start    sync.Once
	startErr error
}

// newJobsMonitor builds River UI on client, or, when there is none (tests, tools), on an insert-only client
// of its own over the same database: the UI needs only the client's driver.
func newJobsMonitor(ctx context.Context, db *store.DB, client *river.Client[*sql.Tx], logger *slog.Logger) (*jobsMonitor, error) {
	if client == nil {
		var err error
		client, err = river.NewClient(riverdatabasesql.New(db.X.DB), &river.Config{Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("error creating River client for the job monitor: %w", err)
		}
	}
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger.With("component", "riverui"),
		Prefix:    jobsPath,
		// Job arguments carry e-mail addresses and subjects, some of other tenants: shown on request only.
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		return nil, fmt.Errorf("error creating the job monitor: %w", err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return &jobsMonitor{ui: ui, ctx: ctx}, nil
}

// jobsSameOrigin refuses unsafe requests that a browser did not mark as same-origin (see above).
func jobsSameOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if c.Request().Header.Get("Sec-Fetch-Site") != "same-origin" {
				return store.Errorf(store.Forbidden, "The job monitor accepts changes only from its own pages. Reload it and try again.")
			}
		}
		return next(c)
	}
}

// jobsMonitorServe hands the request to River UI, which expects the full path (it strips jobsPath itself).
func (h *Handler) jobsMonitorServe(c echo.Context) error {
	m := h.jobs
	m.start.Do(func() { m.startErr = m.ui.Start(m.ctx) })
	if m.startErr != nil {
		return fmt.Errorf("error starting the job monitor: %w", m.startErr)
	}
	c.Response().Header().Set("Content-Security-Policy", jobsContentSecurityPolicy)
	// The bundle's file names carry their content hash; everything else (pages, job data) is not cached.
	if !strings.HasPrefix(c.Request().URL.Path, jobsPath+"/assets/") {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	m.ui.ServeHTTP(c.Response(), c.Request())
	return nil
}
