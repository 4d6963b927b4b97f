package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// benchFortune is a row of the Fortunes test (TechEmpower), as bench/fortunes serves it.
type benchFortune struct {
	ID      int32  `db:"id"`
	Message string `db:"message"`
}

// overheadLayer is one way BenchmarkMiddlewareOverhead serves the Fortunes handler; each layer adds the
// app's own middleware (or its tenant transaction) to the one before.
type overheadLayer struct {
	name, path string
	server     *echo.Echo
	times      []time.Duration
}

// BenchmarkMiddlewareOverhead measures what the app's middleware adds to a request (issue 9: session, CSRF
// and row-level security together under 1 ms at p50). One Fortunes handler (12 rows, one added, sorted,
// an escaped HTML table, as bench/fortunes) is served in layers, each adding the app's real middleware to
// the one before:
//
//   - bare: a plain Echo with no middleware, the rows read through the app's pool (sqlx) from a table
//     without row-level security, as the floor server does;
//   - global: on the app's own server (newServer), behind routes.go's e.Use: requestID, observe (metrics
//     and the request log line), recoverPanics, securityHeaders;
//   - session: plus the web group's loadSession (Redis) and csrf;
//   - actor: plus the web group's loadActor and the app group's requireSignIn, i.e. the whole chain of a
//     signed-in page, with a signed-in employee's session cookie;
//   - app: the whole chain, and the rows read inside the app's tenant transaction (store.DB.InTenant:
//     BEGIN, the scope's set_config, COMMIT) from a copy of the table under a tenant policy that hides a
//     second tenant's rows. This is the route the target compares with bare.
//
// All are called in-process (ServeHTTP) in turn, the order rotating every iteration, so that the machine's
// load drifts over them alike; the network is left out because it costs them the same. It reports the p50
// and p95 of each layer in milliseconds and the difference of the p50s of app and bare
// (overhead-p50-ms), which loadgen reads for the report.
func BenchmarkMiddlewareOverhead(b *testing.B) {
	ctx := context.Background()
	sb := storetest.New(b)
	tenantA, email := overheadTenant(ctx, b, sb.DB, "overhead-a")
	tenantB, _ := overheadTenant(ctx, b, sb.DB, "overhead-b")
	overheadTables(ctx, b, sb.OwnerURL, tenantA, tenantB)

	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:56379/1"
	}
	pool := &redis.Pool{MaxIdle: 4, MaxActive: 20, Wait: true, IdleTimeout: time.Minute,
		DialContext: func(ctx context.Context) (redis.Conn, error) { return redis.DialURLContext(ctx, redisURL) }}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	prefix := "bench:" + hex.EncodeToString(suffix) + ":"
	b.Cleanup(func() { overheadKeysDelete(pool, prefix); _ = pool.Close() })

	srv := httptest.NewUnstartedServer(nil)
	base, err := url.Parse("http://" + srv.Listener.Addr().String())
	require.NoError(b, err)
	h, app, err := newServer(Deps{DB: sb.DB, Redis: pool, BaseURL: base, RedisPrefix: prefix,
		// The app logs a JSON line per request; formatting it is part of the cost, the output is not.
		Logger: slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	require.NoError(b, err)
	plain := func(c echo.Context) error {
		var rows []benchFortune
		if err := sb.DB.X.SelectContext(c.Request().Context(), &rows, `SELECT id, message FROM bench_floor.fortune`); err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, fortunesHTML(rows))
	}
	inTenant := func(c echo.Context) error {
		var rows []benchFortune
		err := h.db.InTenant(c.Request().Context(), scope(c), func(tx *store.Tx) error {
			return tx.SelectContext(c.Request().Context(), &rows, `SELECT id, message FROM bench_floor.tenant_fortune`)
		})
		if err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, fortunesHTML(rows))
	}
	bare := echo.New()
	bare.GET("/fortunes", plain)
	// The app server's e.Use middleware wraps every route; the groups are routes.go's web and app groups.
	app.GET("/bench/global", plain)
	app.Group("", h.loadSession, h.csrf()).GET("/bench/session", plain)
	web := app.Group("", h.loadSession, h.csrf(), h.loadActor)
	web.GET("/bench/actor", plain, h.requireSignIn)
	web.GET("/bench/app", inTenant, h.requireSignIn)
	layers := []*overheadLayer{
		{name: "bare", path: "/fortunes", server: bare},
		{name: "global", path: "/bench/global", server: app},
		{name: "session", path: "/bench/session", server: app},
		{name: "actor", path: "/bench/actor", server: app},
		{name: "app", path: "/bench/app", server: app},
	}
	srv.Config.Handler = app
	srv.Start()
	b.Cleanup(srv.Close)
	cookies := overheadSignIn(b, srv.URL, email)

	get := func(l *overheadLayer) time.Duration {
		req := httptest.NewRequest(http.MethodGet, l.path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		t0 := time.Now()
		l.server.ServeHTTP(rec, req)
		d := time.Since(t0)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Additional fortune added at request time.") {
			b.Fatalf("GET %s: status %d, %.200s", l.path, rec.Code, rec.Body.String())
		}
		if n := strings.Count(rec.Body.String(), "<tr><td>"); n != 13 {
			b.Fatalf("GET %s: %d rows, want 13 (12 of the tenant and the added one)", l.path, n)
		}
		return d
	}
	for range 200 { // warm the pools, the statement caches and Redis connections
		for _, l := range layers {
			get(l)
		}
	}
	for _, l := range layers {
		l.times = make([]time.Duration, 0, b.N)
	}
	b.ResetTimer()
	for i := range b.N {
		for k := range layers {
			l := layers[(i+k)%len(layers)]
			l.times = append(l.times, get(l))
		}
	}
	b.StopTimer()
	for _, l := range layers {
		b.ReportMetric(msOf(percentile(l.times, 0.50)), l.name+"-p50-ms")
		b.ReportMetric(msOf(percentile(l.times, 0.95)), l.name+"-p95-ms")
	}
	b.ReportMetric(msOf(percentile(layers[len(layers)-1].times, 0.50)-percentile(layers[0].times, 0.50)), "overhead-p50-ms")
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// fortunesHTML does the Fortunes work on rows: add one, sort by message, render an escaped HTML table.
func fortunesHTML(rows []benchFortune) []byte {
	rows = append(rows, benchFortune{Message: "Additional fortune added at request time."})
	slices.SortFunc(rows, func(a, b benchFortune) int { return strings.Compare(a.Message, b.Message) })
	var buf bytes.Buffer
	buf.WriteString(`<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>`)
	for _, f := range rows {
		buf.WriteString("<tr><td>")
		buf.WriteString(strconv.Itoa(int(f.ID)))
		buf.WriteString("</td><td>")
		buf.WriteString(html.EscapeString(f.Message))
		buf.WriteString("</td></tr>")
	}
	buf.WriteString("</table></body></html>")
	return buf.Bytes()
}

// overheadTenant creates a tenant with one employee who can sign in with overheadPassword, and returns the
// tenant's id and the employee's e-mail.
func overheadTenant(ctx context.Context, b *testing.B, db *store.DB, slug string) (store.ID, string) {
	t, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{
		Name: slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
	require.NoError(b, err)
	u, err := identity.UserCreate(ctx, db, store.Scope{TenantID: t.ID}, identity.UserCreateParams{
		Email: "employee@" + slug + ".example", Name: "Bench Employee", Password: overheadPassword})
	require.NoError(b, err)
	require.NoError(b, identity.MemberAdd(ctx, db, store.Scope{TenantID: t.ID},
		identity.MemberAddParams{UserID: u.ID, Role: identity.RoleEmployee}))
	return t.ID, u.Email
}

const overheadPassword = "correct-horse-battery-staple"

// overheadTables creates the Fortunes table of the floor (no row-level security) and its tenant copy under
// a policy like every tenant table's, with the 12 fortunes for each tenant.
func overheadTables(ctx context.Context, b *testing.B, ownerURL string, tenants ...store.ID) {
	conn, err := pgx.Connect(ctx, ownerURL)
	require.NoError(b, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS bench_floor;
		CREATE TABLE bench_floor.fortune (id integer PRIMARY KEY, message text NOT NULL);
		CREATE TABLE bench_floor.tenant_fortune (
			tenant_id uuid NOT NULL DEFAULT app_tenant_id() REFERENCES tenants (id),
			id        integer NOT NULL,
			message   text NOT NULL,
			PRIMARY KEY (tenant_id, id));
		ALTER TABLE bench_floor.tenant_fortune ENABLE ROW LEVEL SECURITY;
		ALTER TABLE bench_floor.tenant_fortune FORCE ROW LEVEL SECURITY;
		CREATE POLICY tenant_fortune_tenant ON bench_floor.tenant_fortune
			USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
		GRANT USAGE ON SCHEMA bench_floor TO ledgerline_app;
		GRANT SELECT ON bench_floor.fortune, bench_floor.tenant_fortune TO ledgerline_app`)
	require.NoError(b, err)
	for i, m := range benchFortunes {
		_, err = conn.Exec(ctx, `INSERT INTO bench_floor.fortune (id, message) VALUES ($1, $2)`, i+1, m)
		require.NoError(b, err)
		for _, t := range tenants {
			_, err = conn.Exec(ctx, `INSERT INTO bench_floor.tenant_fortune (tenant_id, id, message) VALUES ($1, $2, $3)`, t, i+1, m)
			require.NoError(b, err)
		}
	}
	_, err = conn.Exec(ctx, `ANALYZE bench_floor.fortune; ANALYZE bench_floor.tenant_fortune`)
	require.NoError(b, err)
}

// benchFortunes are the Fortunes test's rows (bench/fortunes has the same).
var benchFortunes = []string{
	"fortune: No such file or directory",
	"A computer scientist is someone who fixes things that aren't broken.",
	"After enough decimal places, nobody gives a damn.",
	"A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1",
	"A computer program does what you tell it to do, not what you want it to do.",
	"Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen",
	"Any program that runs right is obsolete.",
	"A list is only as strong as its weakest link. — Donald Knuth",
	"Feature: A bug with seniority.",
	"Computers make very fast, very accurate mistakes.",
	`<script>alert("This should not be displayed in a browser alert box.");</script>`,
	"フレームワークのベンチマーク",
}

var reOverheadCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// overheadSignIn signs the employee in through the real form and returns the session and CSRF cookies.
func overheadSignIn(b *testing.B, base, email string) []*http.Cookie {
	jar, err := cookiejar.New(nil)
	require.NoError(b, err)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(base + "/login")
	require.NoError(b, err)
	page, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(b, err)
	m := reOverheadCSRF.FindSubmatch(page)
	require.NotNil(b, m, "no CSRF token on /login")
	res, err = client.PostForm(base+"/login", url.Values{"email": {email}, "password": {overheadPassword},
		"_csrf": {html.UnescapeString(string(m[1]))}})
	require.NoError(b, err)
	res.Body.Close()
	require.Equal(b, http.StatusSeeOther, res.StatusCode, "sign-in")
	u, err := url.Parse(base)
	require.NoError(b, err)
	return jar.Cookies(u)
}

// overheadKeysDelete removes the benchmark's sessions from Redis (SCAN, never KEYS).
func overheadKeysDelete(pool *redis.Pool, prefix string) {
	conn := pool.Get()
	defer conn.Close()
	for cursor := 0; ; {
		vals, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			return
		}
		cursor, _ = redis.Int(vals[0], nil)
		keys, _ := redis.Strings(vals[1], nil)
		for _, k := range keys {
			_, _ = conn.Do("DEL", k)
		}
		if cursor == 0 {
			return
		}
	}
}
