// Package handlers is the HTTP layer: Echo routes, middleware, and thin handlers that decode input, call
// one store operation and render a templ view. No SQL and no business rule lives here.
package handlers

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/webhooks"
)

// Deps are the handlers' dependencies, passed explicitly.
type Deps struct {
	DB *store.DB
	// JobsDB is River's pool when it is not DB (serve keeps them apart); only its metrics are read here.
	JobsDB          *store.DB
	Redis           *redis.Pool
	Jobs            *river.Client[*sql.Tx]
	Logger          *slog.Logger
	BaseURL         *url.URL
	CookieSecure    bool
	TrustedProxies  []*net.IPNet
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// RedisPrefix namespaces every Redis key (sessions, throttles); tests give each server its own.
	RedisPrefix string
	// Registry receives the metrics; nil makes a new one.
	Registry *prometheus.Registry
	// PlatformOperators are the e-mail addresses of the people who run the installation; only they (as
	// admins) may open pages that span tenants, such as the job monitor.
	PlatformOperators []string
	// LoginLimits overrides the sign-in throttle (tests); zero values take the defaults.
	LoginLimits LoginLimits
	// VersionedCacheTTL is how long the process keeps dashboard values whose keys name their data's
	// version (versionedCache): 0 takes 30 s, a negative value keeps none (tests that count the statements
	// of the recomputing path).
	VersionedCacheTTL time.Duration
	// Webhooks decides which endpoint URLs may be registered; nil refuses every private address.
	Webhooks *webhooks.Guard
	// Context bounds the background work of the job monitor (River UI's caches, started by its first
	// request); nil lets it run until the process ends.
	Context context.Context
}

// Handler holds what the handlers share.
type Handler struct {
	db       *store.DB
	redis    *redis.Pool
	sessions *scs.SessionManager
	// sessionIdle signs a session out after this long without a request (see sessionIdleExpired).
	sessionIdle time.Duration
	logger      *slog.Logger
	baseURL     *url.URL
	prefix      string
	metrics     *metrics
	registry    *prometheus.Registry
	limits      LoginLimits
	secure      bool
	jobs        *jobsMonitor
	// operators are the lower-cased e-mails of PLATFORM_OPERATORS.
	operators map[string]bool
	// webhooks checks endpoint URLs; oidcClient talks to single sign-on providers.
	webhooks   *webhooks.Guard
	oidcClient *http.Client
	// versioned keeps dashboard values whose keys name their data's version (dashboardCache).
	versioned *versionedCache
}

// New builds the Echo server with its middleware and the whole route table.
func New(d Deps) (*echo.Echo, error) {
	_, e, err := newServer(d)
	return e, err
}

// newServer is New, also returning the Handler, for benchmarks that mount a route behind its middleware.
func newServer(d Deps) (*Handler, *echo.Echo, error) {
	if d.DB == nil || d.Redis == nil || d.Logger == nil || d.BaseURL == nil {
		return nil, nil, fmt.Errorf("handlers.New: DB, Redis, Logger and BaseURL are required")
	}
	if d.RedisPrefix == "" {
		d.RedisPrefix = "ll:"
	}
	if d.SessionIdle == 0 {
		d.SessionIdle = 30 * time.Minute
	}
	if d.SessionLifetime == 0 {
		d.SessionLifetime = 12 * time.Hour
	}
	reg := d.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg, d.DB, d.JobsDB)
	if err != nil {
		return nil, nil, err
	}
	h := &Handler{
		db:          d.DB,
		redis:       d.Redis,
		logger:      d.Logger,
		baseURL:     d.BaseURL,
		prefix:      d.RedisPrefix,
		metrics:     m,
		registry:    reg,
		limits:      d.LoginLimits.withDefaults(),
		secure:      d.CookieSecure,
		sessionIdle: d.SessionIdle,
		operators:   map[string]bool{},
		webhooks:    d.Webhooks,
		oidcClient:  &http.Client{Timeout: 10 * time.Second},
		versioned:   newVersionedCache(d.VersionedCacheTTL),
	}
	if h.webhooks == nil {
		h.webhooks = &webhooks.Guard{}
	}
	for _, e := range d.PlatformOperators {
		h.operators[strings.ToLower(strings.TrimSpace(e))] = true
	}
	h.sessions = newSessionManager(d)
	if h.jobs, err = newJobsMonitor(d.Context, d.DB, d.Jobs, d.Logger); err != nil {
		return nil, nil, err
	}

	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = h.handleError
	if len(d.TrustedProxies) > 0 {
		opts := make([]echo.TrustOption, 0, len(d.TrustedProxies)+1)
		opts = append(opts, echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false))
		for _, n := range d.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	h.routes(e)
	return h, e, nil
}

// ServeHTTP-compatible check for tests and main.
var _ http.Handler = (*echo.Echo)(nil)
