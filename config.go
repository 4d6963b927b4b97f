package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is everything the process reads from its environment. Every variable has a local default that
// matches the services started by `make run`, and is documented in the README.
type Config struct {
	DatabaseURL        string        // DATABASE_URL: the app role (no superuser, no BYPASSRLS)
	ReadDatabaseURL    string        // READ_DATABASE_URL: optional streaming replica for reports (may lag)
	MigrateDatabaseURL string        // MIGRATE_DATABASE_URL: the schema owner, used by migrate only
	RedisURL           string        // REDIS_URL
	RedisPrefix        string        // REDIS_KEY_PREFIX: namespaces every key, so environments can share a Redis
	HTTPAddr           string        // HTTP_ADDR
	BaseURL            *url.URL      // BASE_URL: how users reach the app (links in e-mails)
	SMTPURL            *url.URL      // SMTP_URL: smtp://user:pass@host:port
	MailFrom           string        // MAIL_FROM
	CookieSecure       bool          // COOKIE_SECURE
	DataKey            []byte        // DATA_KEY: 32 bytes, hex or base64
	TrustedProxies     []*net.IPNet  // TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed
	DBMaxConns         int32         // DB_MAX_CONNS: connections for web requests (and the one-shot commands)
	DBReadConcurrency  int           // DB_READ_CONCURRENCY: GET requests with a transaction open at once
	DBJobMaxConns      int32         // DB_JOB_MAX_CONNS: connections for River and the jobs it works
	SessionIdle        time.Duration // SESSION_IDLE_TIMEOUT
	SessionLifetime    time.Duration // SESSION_LIFETIME
	ShutdownTimeout    time.Duration // SHUTDOWN_TIMEOUT
	LogLevel           string        // LOG_LEVEL
	PlatformOperators  []string      // PLATFORM_OPERATORS: e-mails of the people who run the installation
	Workers            int           // RIVER_WORKERS: jobs worked at once by this instance; 0 = insert only
	WebhookAllowHosts  []string      // WEBHOOK_ALLOW_HOSTS: hosts, IPs or CIDRs webhooks may reach though private
	WebhookHTTPS       bool          // WEBHOOK_REQUIRE_HTTPS: refuse http:// endpoints (default: when BASE_URL is https)
	JobRescueAfter     time.Duration // JOB_RESCUE_AFTER: a job running this long has a dead worker; 0 = River's 1h
	PprofAddr          string        // PPROF_ADDR: a private listener for Go's profiler; empty = none
}

// devDataKey is the development key used when DATA_KEY is unset. Production must set its own.
const devDataKey = "6c65646765726c696e652d646576656c6f706d656e742d6b65792d3030303030"

// LoadConfig reads the configuration through getenv. An invalid value is an error naming its variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var cfg Config
	var problems []string
	bad := func(name, format string, args ...any) {
		problems = append(problems, name+": "+fmt.Sprintf(format, args...))
	}

	cfg.DatabaseURL = get("DATABASE_URL", "postgres://ledgerline_app:ledgerline_app@127.0.0.1:55432/ledgerline?sslmode=disable")
	// REPORTING_DATABASE_URL is the same setting under the name the exports design used.
	cfg.ReadDatabaseURL = get("READ_DATABASE_URL", get("REPORTING_DATABASE_URL", ""))
	cfg.MigrateDatabaseURL = get("MIGRATE_DATABASE_URL", "postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:55432/ledgerline?sslmode=disable")
	cfg.RedisURL = get("REDIS_URL", "redis://127.0.0.1:56379/0")
	cfg.RedisPrefix = get("REDIS_KEY_PREFIX", "ll:")
	cfg.HTTPAddr = get("HTTP_ADDR", "127.0.0.1:8080")
	cfg.MailFrom = get("MAIL_FROM", "Ledgerline <no-reply@ledgerline.localhost>")
	cfg.LogLevel = strings.ToLower(get("LOG_LEVEL", "info"))
	for _, e := range strings.Split(get("PLATFORM_OPERATORS", ""), ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if !strings.Contains(e, "@") {
			bad("PLATFORM_OPERATORS", "%q is not an e-mail address; want a comma-separated list", e)
			continue
		}
		cfg.PlatformOperators = append(cfg.PlatformOperators, e)
	}

	for _, v := range []struct{ name, value string }{
		{"DATABASE_URL", cfg.DatabaseURL}, {"MIGRATE_DATABASE_URL", cfg.MigrateDatabaseURL},
	} {
		if u, err := url.Parse(v.value); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad(v.name, "want postgres://user:password@host:port/database")
		}
	}
	if cfg.ReadDatabaseURL != "" {
		if u, err := url.Parse(cfg.ReadDatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			bad("READ_DATABASE_URL", "want postgres://user:password@replica-host:port/database, or leave it unset")
		}
	}
	if u, err := url.Parse(cfg.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		bad("REDIS_URL", "want redis://host:port/db")
	}
	if len(cfg.RedisPrefix) > 64 || strings.ContainsAny(cfg.RedisPrefix, " \t\r\n") {
		bad("REDIS_KEY_PREFIX", "want up to 64 characters without spaces, e.g. ll:")
	}
	if _, _, err := net.SplitHostPort(cfg.HTTPAddr); err != nil {
		bad("HTTP_ADDR", "want host:port, e.g. 127.0.0.1:8080 or :8080")
	}
	if u, err := url.Parse(get("BASE_URL", "http://localhost:8080")); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("BASE_URL", "want an absolute http(s) URL, e.g. https://ledgerline.example.com")
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/")
		cfg.BaseURL = u
	}
	if u, err := url.Parse(get("SMTP_URL", "smtp://127.0.0.1:51025")); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Port() == "" {
		bad("SMTP_URL", "want smtp://user:password@host:port (smtps:// for implicit TLS)")
	} else {
		cfg.SMTPURL = u
	}
	if b, err := strconv.ParseBool(get("COOKIE_SECURE", "false")); err != nil {
		bad("COOKIE_SECURE", "want true or false")
	} else {
		cfg.CookieSecure = b
	}
	key, err := decodeKey(get("DATA_KEY", devDataKey))
	if err != nil {
		bad("DATA_KEY", "%v", err)
	}
	cfg.DataKey = key
	for _, cidr := range strings.Split(get("TRUSTED_PROXIES", ""), ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		if !strings.Contains(cidr, "/") {
			if strings.Contains(cidr, ":") {
				cidr += "/128"
			} else {
				cidr += "/32"
			}
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			bad("TRUSTED_PROXIES", "%q is not an IP address or CIDR", cidr)
			continue
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, n)
	}
	intVar := func(name, def string, min, max int) int {
		n, err := strconv.Atoi(get(name, def))
		if err != nil || n < min || n > max {
			bad(name, "want a whole number from %d to %d", min, max)
		}
		return n
	}
	cfg.DBMaxConns = int32(intVar("DB_MAX_CONNS", "20", 2, 1000)) // #nosec G115 -- bounded to 2..1000 by intVar
	// About two per core of the database server: see the read gate in store/gate.go.
	cfg.DBReadConcurrency = intVar("DB_READ_CONCURRENCY", "5", 1, 1000)
	cfg.Workers = intVar("RIVER_WORKERS", "10", 0, 1000)
	// Jobs get their own pool, so that long jobs (an import, an export) never take the web's connections:
	// one per worker of every queue (jobs.NewClient: default, email, webhooks) and three for River itself
	// (its notifier's LISTEN, the leader's maintenance, the producers' fetches).
	jobConns := cfg.Workers + max(1, cfg.Workers/4) + max(2, cfg.Workers/2) + 3
	cfg.DBJobMaxConns = int32(intVar("DB_JOB_MAX_CONNS", strconv.Itoa(jobConns), 2, 1000)) // #nosec G115 -- bounded to 2..1000 by intVar
	durVar := func(name, def string, min time.Duration) time.Duration {
		d, err := time.ParseDuration(get(name, def))
		if err != nil || d < min {
			bad(name, "want a duration of at least %s, e.g. 30m", min)
		}
		return d
	}
	cfg.SessionIdle = durVar("SESSION_IDLE_TIMEOUT", "30m", time.Minute)
	cfg.SessionLifetime = durVar("SESSION_LIFETIME", "12h", time.Minute)
	cfg.ShutdownTimeout = durVar("SHUTDOWN_TIMEOUT", "20s", time.Second)
	for _, h := range strings.Split(get("WEBHOOK_ALLOW_HOSTS", ""), ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if strings.ContainsAny(h, " /:") && !strings.Contains(h, "/") && net.ParseIP(h) == nil {
			bad("WEBHOOK_ALLOW_HOSTS", "%q is not a host name, IP address or CIDR", h)
			continue
		}
		if strings.Contains(h, "/") {
			if _, _, err := net.ParseCIDR(h); err != nil {
				bad("WEBHOOK_ALLOW_HOSTS", "%q is not a valid CIDR", h)
				continue
			}
		}
		cfg.WebhookAllowHosts = append(cfg.WebhookAllowHosts, h)
	}
	httpsDefault := "false"
	if cfg.BaseURL != nil && cfg.BaseURL.Scheme == "https" {
		httpsDefault = "true"
	}
	if b, err := strconv.ParseBool(get("WEBHOOK_REQUIRE_HTTPS", httpsDefault)); err != nil {
		bad("WEBHOOK_REQUIRE_HTTPS", "want true or false")
	} else {
		cfg.WebhookHTTPS = b
	}
	if get("JOB_RESCUE_AFTER", "") != "" {
		cfg.JobRescueAfter = durVar("JOB_RESCUE_AFTER", "", 10*time.Second)
	}
	cfg.PprofAddr = get("PPROF_ADDR", "")
	if cfg.PprofAddr != "" {
		if host, _, err := net.SplitHostPort(cfg.PprofAddr); err != nil {
			bad("PPROF_ADDR", "want host:port, e.g. 127.0.0.1:6060")
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			// The profiler shows memory contents and costs CPU on demand: never on a public interface.
			bad("PPROF_ADDR", "want a loopback address such as 127.0.0.1:6060 (reach it over SSH)")
		}
	}
	switch cfg.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "want debug, info, warn or error")
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return cfg, nil
}

func decodeKey(s string) ([]byte, error) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	return nil, fmt.Errorf("want 32 random bytes as 64 hex digits or base64 (e.g. openssl rand -hex 32)")
}
