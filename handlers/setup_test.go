package handlers_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/handlers"
	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// testPassword is every test user's password.
const testPassword = "correct-horse-battery-staple"

// Cookie names the handlers set.
const (
	sessionCookie = "ledgerline_session"
	csrfCookie    = "ledgerline_csrf"
)

// testUser is a person created by setup, with the password to sign in as them.
type testUser struct {
	ID       store.ID
	Email    string
	Name     string
	Password string
}

// testBundle is one test's world: a fresh database with two tenants and a user of every role in each,
// and the real handler stack served over HTTP on a free port, with its own Redis key prefix.
type testBundle struct {
	db      *store.DB
	echo    *echo.Echo
	server  *httptest.Server
	baseURL *url.URL
	redis   *redis.Pool
	prefix  string
	logs    *testLog

	tenantA, tenantB *identity.Tenant
	deptA, deptB     *identity.Department // "Operations" in A, "Stores" in B; every user is in one
	usersA, usersB   map[identity.Role]testUser
	// both is admin in tenant A and auditor in tenant B (like the demo's Ada Admin).
	both testUser
}

// setupOpts changes what setup builds; the zero value is the ordinary server on the shared Redis.
type setupOpts struct {
	// LoginLimits for throttle tests; zero values take the handlers' defaults.
	LoginLimits handlers.LoginLimits
	// Redis replaces the pool on REDIS_URL (the Redis-outage test brings its own server).
	Redis *redis.Pool
	// VersionedCacheTTL as in handlers.Deps (negative: no in-process copies of dashboard values).
	VersionedCacheTTL time.Duration
	// SessionIdle as in handlers.Deps (zero: the default half hour).
	SessionIdle time.Duration
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	return setupWith(t, setupOpts{})
}

func setupWith(t *testing.T, opts setupOpts) *testBundle {
	t.Helper()
	ctx := context.Background()

	// Registered first so it runs last: server, River and database cleanups may still log.
	logs := newTestLog(t)

	db := storetest.New(t).DB
	b := &testBundle{db: db, logs: logs, prefix: "test:" + randomHex(8) + ":"}

	b.redis = opts.Redis
	if b.redis == nil {
		b.redis = newRedisPool(redisURL())
		t.Cleanup(func() {
			deleteKeys(t, b.redis, b.prefix)
			_ = b.redis.Close()
		})
	}

	b.createTenantsAndUsers(t, ctx)

	// The base URL must be known before the handler is built (reset links are made from it), so the
	// listener comes first.
	srv := httptest.NewUnstartedServer(nil)
	base, err := url.Parse("http://" + srv.Listener.Addr().String())
	require.NoError(t, err)
	e, err := handlers.New(handlers.Deps{
		DB:                db,
		Redis:             b.redis,
		Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		BaseURL:           base,
		RedisPrefix:       b.prefix,
		LoginLimits:       opts.LoginLimits,
		VersionedCacheTTL: opts.VersionedCacheTTL,
		SessionIdle:       opts.SessionIdle,
		// Tenant A's admin runs the installation; tenant B's admin does not.
		PlatformOperators: []string{b.usersA[identity.RoleAdmin].Email},
	})
	require.NoError(t, err)
	srv.Config.Handler = e
	srv.Start()
	t.Cleanup(srv.Close)
	b.echo, b.server, b.baseURL = e, srv, base
	return b
}

// createTenantsAndUsers makes tenants A and B with departments and a user of every role in each, plus
// A's admin as auditor in B. Password hashing dominates, so the users are created concurrently.
func (b *testBundle) createTenantsAndUsers(t *testing.T, ctx context.Context) {
	t.Helper()
	suffix := randomHex(6)
	var err error
	b.tenantA, err = identity.TenantCreate(ctx, b.db, store.Scope{}, identity.TenantCreateParams{
		Name: "Acme Manufacturing", Slug: "acme", TimeZone: "Europe/Berlin", Currency: "EUR"})
	require.NoError(t, err)
	b.tenantB, err = identity.TenantCreate(ctx, b.db, store.Scope{}, identity.TenantCreateParams{
		Name: "Globex Retail", Slug: "globex", TimeZone: "America/New_York", Currency: "USD"})
	require.NoError(t, err)
	deptA, err := identity.DepartmentCreate(ctx, b.db, store.Scope{TenantID: b.tenantA.ID}, "Operations")
	require.NoError(t, err)
	deptB, err := identity.DepartmentCreate(ctx, b.db, store.Scope{TenantID: b.tenantB.ID}, "Stores")
	require.NoError(t, err)
	b.deptA, b.deptB = deptA, deptB

	type spec struct {
		tenant *identity.Tenant
		role   identity.Role
		name   string
	}
	specs := []spec{
		{b.tenantA, identity.RoleAdmin, "Ada Admin"},
		{b.tenantA, identity.RoleManager, "Max Manager"},
		{b.tenantA, identity.RoleFinance, "Fiona Finance"},
		{b.tenantA, identity.RoleEmployee, "Eli Employee"},
		{b.tenantA, identity.RoleAuditor, "Aude Auditor"},
		{b.tenantB, identity.RoleAdmin, "Gus Admin"},
		{b.tenantB, identity.RoleManager, "Mia Manager"},
		{b.tenantB, identity.RoleFinance, "Finn Finance"},
		{b.tenantB, identity.RoleEmployee, "Eve Employee"},
		{b.tenantB, identity.RoleAuditor, "Art Auditor"},
	}
	users := make([]testUser, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, s := range specs {
		wg.Go(func() {
			// Unique addresses: mailpit is shared by every test run.
			email := fmt.Sprintf("%s-%s@%s.example", s.role, suffix, s.tenant.Slug)
			u, err := identity.UserCreate(ctx, b.db, store.Scope{TenantID: s.tenant.ID},
				identity.UserCreateParams{Email: email, Name: s.name, Password: testPassword})
			if err != nil {
				errs[i] = err
				return
			}
			users[i] = testUser{ID: u.ID, Email: u.Email, Name: u.Name, Password: testPassword}
		})
	}
	wg.Wait()
	b.usersA, b.usersB = map[identity.Role]testUser{}, map[identity.Role]testUser{}
	for i, s := range specs {
		require.NoError(t, errs[i], "create %s of %s", s.role, s.tenant.Slug)
		dept := deptA.ID
		if s.tenant == b.tenantB {
			dept = deptB.ID
		}
		require.NoError(t, identity.MemberAdd(ctx, b.db, store.Scope{TenantID: s.tenant.ID},
			identity.MemberAddParams{UserID: users[i].ID, Role: s.role, DepartmentID: &dept}))
		if s.tenant == b.tenantA {
			b.usersA[s.role] = users[i]
		} else {
			b.usersB[s.role] = users[i]
		}
	}
	b.both = b.usersA[identity.RoleAdmin]
	require.NoError(t, identity.MemberAdd(ctx, b.db, store.Scope{TenantID: b.tenantB.ID},
		identity.MemberAddParams{UserID: b.both.ID, Role: identity.RoleAuditor, DepartmentID: &deptB.ID}))
}

func redisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:56379/1"
}

// newRedisPool is configured like main's: bounded, with short dial and read timeouts.
func newRedisPool(rawURL string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     4,
		MaxActive:   20,
		Wait:        true,
		IdleTimeout: time.Minute,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialURLContext(ctx, rawURL,
				redis.DialConnectTimeout(time.Second),
				redis.DialReadTimeout(2*time.Second),
				redis.DialWriteTimeout(2*time.Second))
		},
	}
}

// deleteKeys removes the test's keys (SCAN, never KEYS), so test runs do not pile up in Redis.
func deleteKeys(t *testing.T, pool *redis.Pool, prefix string) {
	conn := pool.Get()
	defer conn.Close()
	cursor := 0
	for {
		vals, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			t.Logf("scan test keys: %v", err)
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testLog sends the server's log lines to t.Log and keeps them, so a test can check what was logged. It
// stops forwarding once the test's cleanups are done.
type testLog struct {
	t    *testing.T
	mu   sync.Mutex
	buf  bytes.Buffer
	done bool
}

func newTestLog(t *testing.T) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.done = true
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// client is one browser: its own cookie jar, no automatic redirects, and the last CSRF token it saw.
type client struct {
	t     *testing.T
	base  *url.URL
	http  *http.Client
	token string // the _csrf value of the last page that had a form
}

func (b *testBundle) newClient(t *testing.T) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &client{t: t, base: b.baseURL, http: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is a finished response with its body read and, for HTML, parsed.
type response struct {
	status int
	header http.Header
	body   string
	doc    *html.Node
}

func (r *response) location() string { return r.header.Get("Location") }

// do sends one request. form is sent as the body of a POST; header adds request headers.
func (c *client) do(method, path string, form url.Values, header http.Header) *response {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base.String()+path, body)
	require.NoError(c.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err, "%s %s", method, path)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	r := &response{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		r.doc, err = html.Parse(bytes.NewReader(b))
		require.NoError(c.t, err)
		if tok := inputValue(r.doc, "_csrf"); tok != "" {
			c.token = tok
		}
	}
	return r
}

func (c *client) get(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// post submits form with the CSRF token scraped from the last page (fetching /login first if the client
// has seen no form yet).
func (c *client) post(path string, form url.Values) *response {
	c.t.Helper()
	if c.token == "" {
		c.get("/login")
		require.NotEmpty(c.t, c.token, "no _csrf input on /login")
	}
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("_csrf") {
		form.Set("_csrf", c.token)
	}
	return c.do(http.MethodPost, path, form, nil)
}

// signIn loads the sign-in page and submits the credentials.
func (c *client) signIn(email, password string) *response {
	c.t.Helper()
	page := c.get("/login")
	require.Equal(c.t, http.StatusOK, page.status, "GET /login")
	return c.post("/login", url.Values{"email": {email}, "password": {password}})
}

// signedIn returns a new client signed in as u.
func (b *testBundle) signedIn(t *testing.T, u testUser) *client {
	t.Helper()
	c := b.newClient(t)
	res := c.signIn(u.Email, u.Password)
	require.Equal(t, http.StatusSeeOther, res.status, "sign in as %s: %s", u.Email, textOf(res.doc))
	require.Equal(t, "/", res.location())
	return c
}

// cookie returns the value of the client's cookie called name ("" when it has none).
func (c *client) cookie(name string) string {
	for _, ck := range c.http.Jar.Cookies(c.base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// withSession returns a new client that presents the given session token, as a stolen or replayed
// cookie would.
func (b *testBundle) withSession(t *testing.T, token string) *client {
	t.Helper()
	c := b.newClient(t)
	c.http.Jar.SetCookies(b.baseURL, []*http.Cookie{{Name: sessionCookie, Value: token, Path: "/"}})
	return c
}

// HTML helpers.

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func findAll(doc *html.Node, match func(*html.Node) bool) []*html.Node {
	var found []*html.Node
	if doc == nil {
		return nil
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && match(n) {
			found = append(found, n)
		}
	}
	return found
}

func elements(doc *html.Node, tag string) []*html.Node {
	return findAll(doc, func(n *html.Node) bool { return n.Data == tag })
}

// inputValue returns the value of the first <input name=name>.
func inputValue(doc *html.Node, name string) string {
	for _, n := range findAll(doc, func(n *html.Node) bool { return n.Data == "input" && attr(n, "name") == name }) {
		return attr(n, "value")
	}
	return ""
}

// byTestID returns the whitespace-normalised text of the first element with data-testid=id, and whether
// there is one.
func byTestID(doc *html.Node, id string) (string, bool) {
	for _, n := range findAll(doc, func(n *html.Node) bool { return attr(n, "data-testid") == id }) {
		return textOf(n), true
	}
	return "", false
}

// testID is byTestID for elements that must exist.
func testID(t *testing.T, r *response, id string) string {
	t.Helper()
	s, ok := byTestID(r.doc, id)
	require.True(t, ok, "no data-testid=%q in the page:\n%s", id, r.body)
	return s
}

// textOf returns the text under n with runs of whitespace collapsed.
func textOf(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
			b.WriteByte(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
