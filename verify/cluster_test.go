// Package verify proves Ledgerline under fire: it starts a whole cluster of its own with scripts/cluster.sh
// (PostgreSQL primary and streaming replica, Redis, three instances, nginx; an SMTP server of the test's
// own), then injects faults while a load generator runs, and checks that no request and no datum is lost.
//
// These tests take minutes and start real servers, so they run only under `make verify`
// (LEDGERLINE_VERIFY=1); `go test ./...` skips them. They never touch the shared development services.
package verify

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	demoAdmin    = "admin@acme.example"
	demoPassword = "ledgerline-demo"
)

// tally is the figure sheet `make verify` prints.
type tally struct {
	mu   sync.Mutex
	rows []tallyRow
}

type tallyRow struct {
	fault                  string
	requests, errors, lost int64
	note                   string
	injected               int
}

func (t *tally) add(r tallyRow) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rows = append(t.rows, r)
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "| Fault injected | Times | Requests sent | Errors | Data lost | Notes |\n| --- | ---: | ---: | ---: | ---: | --- |\n")
	var total tallyRow
	for _, r := range t.rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", r.fault, r.injected, r.requests, r.errors, r.lost, r.note)
		total.injected += r.injected
		total.requests += r.requests
		total.errors += r.errors
		total.lost += r.lost
	}
	fmt.Fprintf(&b, "| **Total** | **%d** | **%d** | **%d** | **%d** | errors: answers while a fault was on, by design |\n",
		total.injected, total.requests, total.errors, total.lost)
	return b.String()
}

// cluster is one running cluster of scripts/cluster.sh.
type cluster struct {
	t         *testing.T
	root, dir string
	env       []string
	lb        string
	apps      []string
	primary   string
	replica   string
	smtp      *fakeSMTP
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	return filepath.Dir(wd)
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("LEDGERLINE_VERIFY") == "" {
		t.Skip("the cluster and fault tests run under make verify (LEDGERLINE_VERIFY=1)")
	}
	root := repoRoot(t)
	bin := os.Getenv("LEDGERLINE_BIN")
	if bin == "" {
		bin = filepath.Join(root, "bin", "ledgerline")
	}
	base := 27200
	if p := os.Getenv("VERIFY_PORT"); p != "" {
		var err error
		base, err = strconv.Atoi(p)
		require.NoError(t, err)
	}
	smtp := startFakeSMTP(t)
	c := &cluster{t: t, root: root, dir: t.TempDir(), smtp: smtp}
	c.env = append(os.Environ(), "CLUSTER_DIR="+c.dir, "CLUSTER_PORT="+strconv.Itoa(base), "LEDGERLINE_BIN="+bin,
		"SMTP_URL=smtp://"+smtp.addr, "SHUTDOWN_TIMEOUT=10s",
		// A killed worker's job is retried after this long (in production: longer than the longest job).
		"JOB_RESCUE_AFTER=30s")
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"app1.log", "app2.log", "app3.log", "nginx-error.log"} {
				if b, err := os.ReadFile(filepath.Join(c.dir, f)); err == nil {
					t.Logf("--- %s (last 3000 bytes)\n%s", f, tail(b, 3000))
				}
			}
		}
		_ = c.script("stop")
	})
	out, err := c.scriptOutput("start")
	require.NoError(t, err, "cluster start:\n%s", out)
	vars := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			vars[k] = strings.TrimSpace(v)
		}
	}
	c.lb, c.primary, c.replica = vars["CLUSTER_URL"], vars["CLUSTER_PRIMARY_URL"], vars["CLUSTER_REPLICA_URL"]
	c.apps = strings.Fields(vars["CLUSTER_INSTANCE_URLS"])
	require.Len(t, c.apps, 3, out)
	return c
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (c *cluster) scriptOutput(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.root, "scripts", "cluster.sh"), args...)
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// scriptWith runs cluster.sh with extra environment variables (e.g. RIVER_WORKERS=0 for start-app).
func (c *cluster) scriptWith(env []string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.root, "scripts", "cluster.sh"), args...)
	cmd.Env = append(append([]string(nil), c.env...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("cluster.sh %v: %w\n%s", args, err, out)
	}
	return nil
}

func (c *cluster) script(args ...string) error {
	out, err := c.scriptOutput(args...)
	if err != nil {
		return fmt.Errorf("cluster.sh %v: %w\n%s", args, err, out)
	}
	return nil
}

// sql runs a query as the superuser on the primary (or the replica) and returns the first column of
// every row.
func (c *cluster) sql(dsn, query string, args ...any) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(v))
	}
	return out, rows.Err()
}

func (c *cluster) one(dsn, query string, args ...any) string {
	c.t.Helper()
	v, err := c.sql(dsn, query, args...)
	require.NoError(c.t, err, query)
	require.Len(c.t, v, 1, query)
	return v[0]
}

// browser is a cookie-keeping client that scrapes CSRF tokens. Go's cookie jar ignores ports, so one
// browser's session cookie goes to every instance on 127.0.0.1, as it would through one host name.
type browser struct {
	t     *testing.T
	http  *http.Client
	token string
	// location is the Location header of the last answer (a redirect's target), last its body.
	location, last string
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &browser{t: t, http: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends one request and returns the status and body; err is a transport error.
func (b *browser) do(method, u string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		if !form.Has("_csrf") {
			form.Set("_csrf", b.token)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b.location = res.Header.Get("Location")
	raw, err := io.ReadAll(res.Body)
	if m := csrfInput.FindSubmatch(raw); m != nil {
		b.token = string(m[1])
	}
	b.last = string(raw)
	return res.StatusCode, string(raw), err
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// upload posts a file as the import form does, and returns the status and the Location header.
func (b *browser) upload(u, name string, content []byte) (int, string) {
	b.t.Helper()
	var body strings.Builder
	w := multipart.NewWriter(&body)
	require.NoError(b.t, w.WriteField("_csrf", b.token))
	fw, err := w.CreateFormFile("file", name)
	require.NoError(b.t, err)
	_, err = fw.Write(content)
	require.NoError(b.t, err)
	require.NoError(b.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(body.String()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := b.http.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	require.Less(b.t, res.StatusCode, 400, string(raw))
	return res.StatusCode, res.Header.Get("Location")
}

func (b *browser) mustGet(u string) (int, string) {
	b.t.Helper()
	st, body, err := b.do(http.MethodGet, u, nil)
	require.NoError(b.t, err, u)
	return st, body
}

func (b *browser) signIn(base, email, password string) int {
	b.t.Helper()
	b.mustGet(base + "/login")
	st, _, err := b.do(http.MethodPost, base+"/login", url.Values{"email": {email}, "password": {password}})
	require.NoError(b.t, err)
	return st
}

// TestCluster runs the scale-out checks and the faults in order on one cluster.
func TestCluster(t *testing.T) {
	c := startCluster(t)
	figures := &tally{}
	t.Cleanup(func() {
		t.Logf("figures:\n%s", figures)
		if p := os.Getenv("VERIFY_REPORT"); p != "" {
			_ = os.WriteFile(p, []byte(figures.String()), 0o644)
		}
	})
	started := time.Now()

	t.Run("SessionOnOneInstanceWorksOnOthers", func(t *testing.T) {
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.apps[0], demoAdmin, demoPassword))
		for _, app := range c.apps {
			st, body := b.mustGet(app + "/")
			require.Equal(t, http.StatusOK, st, app)
			require.Contains(t, body, "Ada Admin", app)
		}
		// Signing out on one instance ends the session on all of them.
		b.mustGet(c.apps[2] + "/")
		st, _, err := b.do(http.MethodPost, c.apps[2]+"/logout", url.Values{})
		require.NoError(t, err)
		require.Equal(t, http.StatusSeeOther, st)
		st, _ = b.mustGet(c.apps[0] + "/")
		require.Equal(t, http.StatusSeeOther, st)
	})

	t.Run("RateLimitsShared", func(t *testing.T) {
		// Five failed sign-ins spread over the instances lock the account on every instance.
		b := newBrowser(t)
		for i := range 5 {
			require.Equal(t, http.StatusUnauthorized, b.signInStatus(c.apps[i%3], "manager@acme.example", "wrong-password"))
		}
		for _, app := range c.apps {
			require.Equal(t, http.StatusTooManyRequests, b.signInStatus(app, "manager@acme.example", demoPassword), app)
		}
	})

	t.Run("ReportsReadFromTheReplica", func(t *testing.T) {
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.lb, demoAdmin, demoPassword))
		commits := func() int {
			v, err := strconv.Atoi(c.one(c.replica, `SELECT xact_commit FROM pg_stat_database WHERE datname = 'ledgerline'`))
			require.NoError(t, err)
			return v
		}
		before := commits()
		const n = 30
		for range n {
			st, body := b.mustGet(c.lb + "/inventory/locations") // the stock value report
			require.Equal(t, http.StatusOK, st, body)
		}
		// Statistics reach pg_stat_database within a second or so.
		require.Eventually(t, func() bool { return commits()-before >= n }, 5*time.Second, 200*time.Millisecond,
			"the replica served fewer than %d transactions", n)
		for _, app := range c.apps {
			st, body := b.mustGet(app + "/metrics")
			require.Equal(t, http.StatusOK, st)
			require.Contains(t, body, "ledgerline_db_replica_up 1", app)
		}
		figures.add(tallyRow{fault: "(none) reports on the replica", requests: n, note: fmt.Sprintf("replica served ≥ %d report transactions", n)})
	})

	t.Run("ExportsReadFromTheReplica", func(t *testing.T) {
		// With the replica's replay paused, an item created on the primary is missing from an export made
		// meanwhile (its rows came from the replica) although the export's own record, progress and file,
		// written on the primary, are complete; once replay resumes the next export has it.
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.lb, demoAdmin, demoPassword))
		c.one(c.replica, `SELECT pg_wal_replay_pause()::text`)
		paused := true
		t.Cleanup(func() {
			if paused {
				_, _ = c.sql(c.replica, `SELECT pg_wal_replay_resume()`)
			}
		})
		require.Eventually(t, func() bool {
			return c.one(c.replica, `SELECT pg_get_wal_replay_pause_state()`) == "paused"
		}, 10*time.Second, 100*time.Millisecond)
		const sku = "REPLICA-LAG-1"
		b.mustGet(c.lb + "/inventory/items/new")
		st, body, err := b.do(http.MethodPost, c.lb+"/inventory/items", url.Values{"sku": {sku}, "name": {"Made while the replica waits"},
			"unit": {"ea"}, "reorder_point": {"0"}, "reorder_qty": {"0"}, "tracking": {"none"}, "status": {"active"}})
		require.NoError(t, err)
		require.Equal(t, http.StatusSeeOther, st, body)
		export := func() string {
			b.mustGet(c.lb + "/exports")
			st, body, err := b.do(http.MethodPost, c.lb+"/exports", url.Values{"kind": {"inventory.items"}, "format": {"csv"}, "query": {""}})
			require.NoError(t, err)
			require.Equal(t, http.StatusSeeOther, st, body)
			loc := b.location
			id := uuidRE.FindString(loc)
			require.NotEmpty(t, id, loc)
			require.Eventually(t, func() bool {
				return c.one(c.primary, `SELECT state::text FROM exports WHERE id = $1`, id) == "done"
			}, 60*time.Second, 200*time.Millisecond, "export %s did not finish", id)
			st, csv := b.mustGet(c.lb + "/exports/" + id + "/download")
			require.Equal(t, http.StatusOK, st)
			require.Contains(t, csv, "SKU,Name")
			return csv
		}
		require.Equal(t, "1", c.one(c.primary, `SELECT count(*) FROM inventory_items WHERE sku = $1`, sku))
		stale := export()
		require.NotContains(t, stale, sku, "the export read the primary, not the replica")
		c.one(c.replica, `SELECT pg_wal_replay_resume()::text`)
		paused = false
		require.Eventually(t, func() bool {
			v, err := c.sql(c.replica, `SELECT count(*) FROM inventory_items WHERE sku = $1`, sku)
			return err == nil && len(v) == 1 && v[0] == "1"
		}, 10*time.Second, 100*time.Millisecond, "the replica did not catch up")
		fresh := export()
		require.Contains(t, fresh, sku)
		figures.add(tallyRow{fault: "(none) exports on the replica, replay paused", requests: 2,
			note: "an item made on the primary meanwhile is absent from the paused replica's export, present once it resumes"})
	})

	t.Run("SMTPDownMailWaitsAndGoesOnce", func(t *testing.T) {
		// The demo data's own e-mails (approvals, invoices) go out first; then only this test's are counted.
		require.Eventually(t, func() bool {
			return c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'email_send' AND state NOT IN ('completed', 'discarded', 'cancelled')`) == "0"
		}, 90*time.Second, 500*time.Millisecond, "the demo data's e-mails did not go out")
		c.smtp.stop()
		before := c.smtp.count()
		users := []string{"manager", "finance", "employee", "auditor"}
		for i, u := range users {
			b := newBrowser(t)
			b.mustGet(c.apps[i%3] + "/password/forgot")
			st, body, err := b.do(http.MethodPost, c.apps[i%3]+"/password/forgot", url.Values{"email": {u + "@acme.example"}})
			require.NoError(t, err)
			require.Less(t, st, 400, body)
		}
		time.Sleep(4 * time.Second)
		require.Equal(t, before, c.smtp.count(), "mail went out while the SMTP server was down")
		failed := c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'email_send' AND cardinality(errors) > 0`)
		require.NotEqual(t, "0", failed, "no send attempt failed: was the SMTP server really down?")
		c.smtp.start()
		require.Eventually(t, func() bool { return c.smtp.count()-before >= len(users) }, 90*time.Second, 500*time.Millisecond,
			"the waiting e-mails did not go out after the SMTP server returned")
		time.Sleep(3 * time.Second)
		msgs := c.smtp.messages()[before:]
		require.Len(t, msgs, len(users), "every e-mail exactly once")
		seen := map[string]int{}
		for _, m := range msgs {
			seen[m.to]++
			require.Equal(t, 1, c.smtp.byMessageID(m.messageID), "message %s delivered twice", m.messageID)
		}
		for _, u := range users {
			require.Equal(t, 1, seen[u+"@acme.example"], u)
		}
		figures.add(tallyRow{fault: "SMTP server down 4 s+", injected: 1, requests: int64(len(users)),
			note: fmt.Sprintf("%d e-mails queued, each delivered once after it returned", len(users))})
	})

	t.Run("RollingRestartLosesNoRequest", func(t *testing.T) {
		load := startLoad(t, c, 6)
		time.Sleep(2 * time.Second)
		for i := 1; i <= 3; i++ {
			require.NoError(t, c.script("stop-app", strconv.Itoa(i)))
			time.Sleep(time.Second)
			require.NoError(t, c.script("start-app", strconv.Itoa(i)))
			time.Sleep(2 * time.Second)
		}
		res := load.stop()
		require.Zero(t, res.errors, "requests failed during the rolling restart: %v", res.samples)
		require.Greater(t, res.requests, int64(100))
		lost := c.lostWrites(res)
		require.Zero(t, lost)
		figures.add(tallyRow{fault: "rolling restart (SIGTERM each instance in turn)", injected: 3, requests: res.requests,
			errors: res.errors, lost: int64(lost), note: fmt.Sprintf("%d writes acknowledged, all present", len(res.written))})
	})

	t.Run("RedisDown30s", func(t *testing.T) {
		goroutinesBefore := c.goroutines()
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.lb, demoAdmin, demoPassword))
		require.NoError(t, c.script("stop-redis"))
		deadline := time.Now().Add(30 * time.Second)
		var requests, slow, wrong int64
		for time.Now().Before(deadline) {
			for _, app := range c.apps {
				start := time.Now()
				st, _, err := b.do(http.MethodGet, app+"/", nil)
				requests++
				if err != nil || st != http.StatusServiceUnavailable {
					wrong++
					t.Logf("%s during the Redis outage: %d %v", app, st, err)
				}
				if time.Since(start) > time.Second {
					slow++
				}
				st, _, _ = b.do(http.MethodGet, app+"/readyz", nil)
				require.Equal(t, http.StatusServiceUnavailable, st)
			}
			time.Sleep(time.Second)
		}
		require.Zero(t, wrong, "answers other than a 503")
		require.Zero(t, slow, "503s slower than a second")
		require.NoError(t, c.script("start-redis"))
		for _, app := range c.apps {
			require.Eventually(t, func() bool { st, _, _ := b.do(http.MethodGet, app+"/readyz", nil); return st == 200 },
				10*time.Second, 200*time.Millisecond)
		}
		require.Equal(t, http.StatusSeeOther, b.signIn(c.lb, demoAdmin, demoPassword))
		st, _ := b.mustGet(c.lb + "/")
		require.Equal(t, http.StatusOK, st)
		// Goroutines return to where they were (idle connections may differ by a few).
		require.Eventually(t, func() bool { return c.goroutines() <= goroutinesBefore+30 }, 20*time.Second, time.Second,
			"goroutines before %d, after %d", goroutinesBefore, c.goroutines())
		c.requireNoPanics(t)
		figures.add(tallyRow{fault: "Redis stopped 30 s", injected: 1, requests: requests, errors: wrong,
			note: fmt.Sprintf("every page a 503 within 1 s; goroutines %d before, %d after", goroutinesBefore, c.goroutines())})
	})

	t.Run("WorkerKilledDuringImport", func(t *testing.T) {
		// Only instance 1 works jobs, so killing it kills the import's worker.
		for _, n := range []string{"2", "3"} {
			require.NoError(t, c.script("stop-app", n))
			require.NoError(t, c.scriptWith([]string{"RIVER_WORKERS=0"}, "start-app", n))
		}
		const rows = 40_000
		var csv strings.Builder
		csv.WriteString("sku,name,description,category,unit,barcode,reorder_point,reorder_quantity,tracking,location,quantity,unit_cost\n")
		for i := range rows {
			fmt.Fprintf(&csv, "KILL-%06d,Rescued item %d,Imported while its worker died,Rescue,ea,,5,10,none,MAIN-A1,%d,1.%02d\n", i, i, 1+i%7, i%100)
		}
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.apps[0], demoAdmin, demoPassword))
		b.mustGet(c.apps[0] + "/inventory/import")
		st, loc := b.upload(c.apps[0]+"/inventory/import", "rescue.csv", []byte(csv.String()))
		require.Equal(t, http.StatusSeeOther, st)
		id := uuidRE.FindString(loc)
		require.NotEmpty(t, id, loc)

		// Kill the worker once the import is under way.
		require.Eventually(t, func() bool {
			v, err := c.sql(c.primary, `SELECT state || ':' || rows_done FROM inventory_imports WHERE id = $1`, id)
			return err == nil && len(v) == 1 && (strings.HasPrefix(v[0], "validating:") || strings.HasPrefix(v[0], "importing:")) && !strings.HasSuffix(v[0], ":0")
		}, 60*time.Second, 20*time.Millisecond, "the import never started")
		require.NoError(t, c.script("kill-app", "1"))
		killedAt := time.Now()
		require.Equal(t, "running", c.one(c.primary, `SELECT state::text FROM river_job WHERE kind = 'inventory_import' AND args->>'import_id' = $1`, id),
			"the job should be left running by its dead worker")

		// The other instances take over the jobs; instance 1 comes back too.
		for _, n := range []string{"2", "3"} {
			require.NoError(t, c.script("stop-app", n))
			require.NoError(t, c.script("start-app", n))
		}
		require.NoError(t, c.script("start-app", "1"))
		require.Eventually(t, func() bool {
			return c.one(c.primary, `SELECT state FROM inventory_imports WHERE id = $1`, id) == "done"
		}, 120*time.Second, 500*time.Millisecond, "the import was not rescued: %v", must(c.sql(c.primary,
			`SELECT state::text || ' attempt ' || attempt || ' errors ' || coalesce(array_to_string(errors, ' '), '') || ' at ' || coalesce(attempted_at::text, '')
			 FROM river_job WHERE kind = 'inventory_import'`)))
		rescuedIn := time.Since(killedAt)
		require.Equal(t, strconv.Itoa(rows), c.one(c.primary, `SELECT count(*) FROM inventory_items WHERE sku LIKE 'KILL-%'`), "items imported exactly once")
		require.Equal(t, strconv.Itoa(rows), c.one(c.primary, `SELECT items_created FROM inventory_imports WHERE id = $1`, id))
		require.Equal(t, strconv.Itoa(rows), c.one(c.primary, `SELECT count(*) FROM stock_movements m JOIN inventory_items i
			ON i.tenant_id = m.tenant_id AND i.id = m.item_id WHERE i.sku LIKE 'KILL-%'`), "one opening movement per item")
		// Rescued, then completed. On a loaded machine the rescued attempt can itself outlive JOB_RESCUE_AFTER
		// (30 s here) and be rescued again while it runs: the import is idempotent, so the counts above
		// still show every row exactly once; the figure says how many attempts it took.
		attempts := c.one(c.primary, `SELECT attempt || ':' || state FROM river_job WHERE kind = 'inventory_import' AND args->>'import_id' = $1`, id)
		require.Regexp(t, `^[2-9]:completed$`, attempts, "rescued, then completed")
		c.requireInvariants(t)
		figures.add(tallyRow{fault: "worker kill -9 during a 40,000-row import", injected: 1, requests: 1,
			note: fmt.Sprintf("rescued and completed in %s (attempt %s); %d items, no duplicate", rescuedIn.Round(time.Second), strings.Split(attempts, ":")[0], rows)})
	})

	t.Run("WorkerKilledDuringExportAndPDFs", func(t *testing.T) {
		// The work is queued while no instance works jobs: invoices are issued (each queues its PDF) and an
		// export of every item (40,000 after the import above) is requested. Then instance 1 alone works
		// them and is killed while the export is being written and PDFs are being rendered.
		for _, n := range []string{"1", "2", "3"} {
			require.NoError(t, c.script("stop-app", n))
			require.NoError(t, c.scriptWith([]string{"RIVER_WORKERS=0"}, "start-app", n))
		}
		items, err := strconv.Atoi(c.one(c.primary, `SELECT count(*) FROM inventory_items i JOIN tenants t ON t.id = i.tenant_id
			WHERE t.slug = 'acme' AND i.deleted_at IS NULL`))
		require.NoError(t, err)
		require.GreaterOrEqual(t, items, 20_000, "runs after WorkerKilledDuringImport, whose items make the export long")
		customer := c.acmeCustomer()
		const invoices = 90
		var (
			mu  sync.Mutex
			ids []string
			wg  sync.WaitGroup
		)
		for w := range 3 {
			b := newBrowser(t)
			require.Equal(t, http.StatusSeeOther, b.signIn(c.apps[w], demoAdmin, demoPassword))
			wg.Go(func() {
				for i := range invoices / 3 {
					id, err := b.issueInvoice(c.apps[w], customer, fmt.Sprintf("pdf-%d-%d", w, i))
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					ids = append(ids, id)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Len(t, ids, invoices)
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.apps[0], demoAdmin, demoPassword))
		b.mustGet(c.apps[0] + "/exports")
		st, body, err := b.do(http.MethodPost, c.apps[0]+"/exports", url.Values{"kind": {"inventory.items"}, "format": {"csv"}, "query": {""}})
		require.NoError(t, err)
		require.Equal(t, http.StatusSeeOther, st, body)
		export := uuidRE.FindString(b.location)
		require.NotEmpty(t, export, b.location)
		require.Equal(t, strconv.Itoa(invoices), c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'billing_invoice_pdf'
			AND args->>'invoice_id' = ANY($1) AND state = 'available'`, ids), "PDF jobs waiting for a worker")

		require.NoError(t, c.script("stop-app", "1"))
		require.NoError(t, c.script("start-app", "1"))
		// Kill it mid-batch: the export is being written and PDFs are rendering, some done, some not.
		var pdfsRunning, pdfsDone, rowsAtKill, last string
		caught := assert.Eventually(t, func() bool {
			v, err := c.sql(c.primary, `SELECT (SELECT state || ':' || rows_done FROM exports WHERE id = $1) || ':' ||
				(SELECT count(*) FILTER (WHERE state = 'running') || ':' || count(*) FILTER (WHERE state = 'completed')
				 FROM river_job WHERE kind = 'billing_invoice_pdf' AND args->>'invoice_id' = ANY($2))`, export, ids)
			if err != nil || len(v) != 1 {
				return false
			}
			last = v[0]
			parts := strings.Split(v[0], ":")
			if len(parts) == 4 && parts[0] == "running" && parts[2] != "0" && parts[3] != "0" {
				rowsAtKill, pdfsRunning, pdfsDone = parts[1], parts[2], parts[3]
				return true
			}
			return false
		}, 60*time.Second, 5*time.Millisecond)
		require.True(t, caught, "never caught the export and PDFs running together (export state:rows:pdfs running:done %s)", last)
		require.NoError(t, c.script("kill-app", "1"))
		killedAt := time.Now()
		require.Equal(t, "running", c.one(c.primary, `SELECT state::text FROM river_job WHERE kind = $1 AND args->>'export_id' = $2`,
			"export_run", export), "the export's job should be left running by its dead worker")
		orphaned := c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'billing_invoice_pdf' AND args->>'invoice_id' = ANY($1) AND state = 'running'`, ids)
		require.NotEqual(t, "0", orphaned, "PDF jobs left running by the dead worker")

		for _, n := range []string{"2", "3"} {
			require.NoError(t, c.script("stop-app", n))
			require.NoError(t, c.script("start-app", n))
		}
		require.NoError(t, c.script("start-app", "1"))
		require.Eventually(t, func() bool {
			return c.one(c.primary, `SELECT state::text FROM exports WHERE id = $1`, export) == "done" &&
				c.one(c.primary, `SELECT count(*) FROM billing_invoices WHERE id::text = ANY($1) AND pdf_file_id IS NULL`, ids) == "0" &&
				c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind IN ('billing_invoice_pdf', 'export_run') AND state <> 'completed'
					AND (args->>'invoice_id' = ANY($1) OR args->>'export_id' = $2)`, ids, export) == "0"
		}, 180*time.Second, 500*time.Millisecond, "not rescued: %v", must(c.sql(c.primary,
			`SELECT kind || ' ' || state::text || ' attempt ' || attempt FROM river_job WHERE kind IN ('billing_invoice_pdf', 'export_run') AND state <> 'completed'`)))
		rescuedIn := time.Since(killedAt)

		// The export: its job rescued (again if an attempt outlived JOB_RESCUE_AFTER), then completed; one
		// file, every item once.
		require.Equal(t, "completed", c.one(c.primary, `SELECT state::text FROM river_job WHERE kind = $1 AND args->>'export_id' = $2 AND attempt >= 2`,
			"export_run", export))
		st, csvBody := b.mustGet(c.apps[1] + "/exports/" + export + "/download")
		require.Equal(t, http.StatusOK, st)
		recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
		require.NoError(t, err)
		seen := map[string]bool{}
		for _, rec := range recs[1:] {
			require.False(t, seen[rec[0]], "%s twice in the export", rec[0])
			seen[rec[0]] = true
		}
		require.Equal(t, c.one(c.primary, `SELECT rows_done::text FROM exports WHERE id = $1`, export), strconv.Itoa(len(recs)-1))
		require.Equal(t, "1", c.one(c.primary, `SELECT count(*) FROM exports e JOIN files f ON f.tenant_id = e.tenant_id AND f.id = e.file_id WHERE e.id = $1`, export))
		// The PDFs: every invoice has exactly one, and the jobs left running were rescued once.
		require.Equal(t, "0", c.one(c.primary, `SELECT count(*) FROM (SELECT i.id FROM billing_invoices i
			LEFT JOIN files f ON f.tenant_id = i.tenant_id AND f.name = i.number || '.pdf'
			WHERE i.id::text = ANY($1) GROUP BY i.id HAVING count(f.id) <> 1) x`, ids), "invoices without exactly one PDF file")
		require.Equal(t, "0", c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'billing_invoice_pdf' AND args->>'invoice_id' = ANY($1)
			AND state <> 'completed'`, ids), "PDF jobs not completed")
		rescued, err := strconv.Atoi(c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'billing_invoice_pdf' AND args->>'invoice_id' = ANY($1) AND attempt >= 2`, ids))
		require.NoError(t, err)
		require.GreaterOrEqual(t, rescued, must(strconv.Atoi(orphaned)), "the PDF jobs killed mid-run ran again")
		// The killed attempt's partial file is never linked or offered; it is purged when it expires.
		partial := c.one(c.primary, `SELECT count(*) FROM files f JOIN exports e ON e.tenant_id = f.tenant_id AND e.id = $1
			WHERE f.created_at >= e.created_at AND f.content_type = $2 AND f.id <> e.file_id`, export, "text/csv; charset=utf-8")
		c.requireInvariants(t)
		figures.add(tallyRow{fault: "worker kill -9 during an export and PDF rendering", injected: 1, requests: invoices*6 + 1,
			note: fmt.Sprintf("killed at %s of %d export rows with %s PDFs rendering, %s done; rescued in %s: one file offered, every item once "+
				"(%s partial file left unlinked until it expires); %d invoices, one PDF each",
				rowsAtKill, len(recs)-1, pdfsRunning, pdfsDone, rescuedIn.Round(time.Second), partial, invoices)})
	})

	t.Run("PostgresKilledDuringWrites", func(t *testing.T) {
		load := startLoad(t, c, 6)
		time.Sleep(3 * time.Second)
		require.NoError(t, c.script("kill-pg"))
		// Every instance notices within a few seconds and says so on /readyz.
		b := newBrowser(t)
		for _, app := range c.apps {
			require.Eventually(t, func() bool {
				st, body, _ := b.do(http.MethodGet, app+"/readyz", nil)
				return st == http.StatusServiceUnavailable && strings.Contains(body, `"postgres":"unreachable"`)
			}, 10*time.Second, 100*time.Millisecond, "%s /readyz during the outage", app)
		}
		time.Sleep(3 * time.Second)
		require.NoError(t, c.script("start-pg"))
		for _, app := range c.apps {
			require.Eventually(t, func() bool {
				st, _, _ := b.do(http.MethodGet, app+"/readyz", nil)
				return st == http.StatusOK
			}, 30*time.Second, 200*time.Millisecond, "%s /readyz after the restart", app)
		}
		okBefore := load.ok.Load()
		require.Eventually(t, func() bool { return load.ok.Load() > okBefore+20 }, 30*time.Second, 200*time.Millisecond,
			"writes did not resume")
		res := load.stop()
		// While the database is down the app answers with its controlled 503 page, never a 500 or a reset.
		for status := range res.statuses {
			require.Equal(t, "503", status, "failed requests by status: %v; samples: %v", res.statuses, res.samples)
		}
		lost := c.lostWrites(res)
		require.Zero(t, lost, "acknowledged writes missing after the crash")
		c.requireInvariants(t)
		c.requireNoPanics(t)
		figures.add(tallyRow{fault: "PostgreSQL primary kill -9 during writes", injected: 1, requests: res.requests,
			errors: res.errors, lost: int64(lost),
			note: fmt.Sprintf("errors only while it was down, all 503; %d writes acknowledged (%d invoices issued, %d payments), all present; "+
				"stock = ledger, invoice numbers gapless, balances = total − payments − credit notes, audit chain verifies",
				len(res.written)+len(res.invoices)+len(res.payments), len(res.invoices), len(res.payments))})
	})
	t.Run("JobsOnceAcrossInstances", func(t *testing.T) {
		// Every job ran once (a retry only after a recorded failure or rescue), and the per-minute audit seal was scheduled at most
		// once per minute although three instances run River.
		dup := c.one(c.primary, `SELECT count(*) FROM river_job
			WHERE state = 'completed' AND attempt > cardinality(coalesce(errors, '{}')) + 1`)
		require.Equal(t, "0", dup, "jobs that ran more often than they failed (a second run of a finished job)")
		minutes := time.Since(started).Minutes()
		seals, err := strconv.Atoi(c.one(c.primary, `SELECT count(*) FROM river_job WHERE kind = 'audit_seal'`))
		require.NoError(t, err)
		require.LessOrEqual(t, float64(seals), minutes+2, "audit_seal ran more often than once a minute (%d in %.1f min)", seals, minutes)
		require.GreaterOrEqual(t, seals, 1)
		perMinute := c.one(c.primary, `SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM river_job
			WHERE kind = 'audit_seal' AND attempted_by IS NOT NULL GROUP BY date_trunc('minute', scheduled_at)) s`)
		require.Contains(t, []string{"1", "2"}, perMinute, "audit seals in one minute (2 allowed only at start: run-on-start plus the first tick)")
		figures.add(tallyRow{fault: "(none) 3 instances working one queue", note: fmt.Sprintf("%d audit seals in %.1f min, no job run twice", seals, minutes)})
	})

}

func (b *browser) signInStatus(base, email, password string) int {
	b.t.Helper()
	b.mustGet(base + "/login")
	st, _, err := b.do(http.MethodPost, base+"/login", url.Values{"email": {email}, "password": {password}})
	require.NoError(b.t, err)
	return st
}

// goroutines sums go_goroutines over the instances.
func (c *cluster) goroutines() int {
	total := 0
	for _, app := range c.apps {
		res, err := http.Get(app + "/metrics")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				total += int(n)
			}
		}
		res.Body.Close()
	}
	return total
}

func (c *cluster) requireNoPanics(t *testing.T) {
	t.Helper()
	for i := 1; i <= 3; i++ {
		b, err := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("app%d.log", i)))
		require.NoError(t, err)
		require.NotContains(t, string(b), `"msg":"panic"`, "instance %d", i)
		require.NotContains(t, string(b), "goroutine 1 [", "instance %d crashed", i)
	}
}

// requireInvariants checks the books after a crash: every stock level equals the sum of its ledger, no
// level is negative where it may not be, and the audit hash chains verify.
func (c *cluster) requireInvariants(t *testing.T) {
	t.Helper()
	bad := c.one(c.primary, `SELECT count(*) FROM stock_levels s
		LEFT JOIN (SELECT tenant_id, item_id, location_id, sum(quantity) AS q FROM stock_movements
		           GROUP BY 1, 2, 3) m USING (tenant_id, item_id, location_id)
		WHERE s.on_hand <> coalesce(m.q, 0)`)
	require.Equal(t, "0", bad, "stock levels that differ from their ledger")
	c.requireBillingInvariants(t)
	cmd := exec.Command(filepath.Join(c.root, "bin", "ledgerline"), "audit-verify")
	if bin := os.Getenv("LEDGERLINE_BIN"); bin != "" {
		cmd = exec.Command(bin, "audit-verify")
	}
	cmd.Env = append(os.Environ(), "DATABASE_URL="+strings.Replace(c.primary, "//postgres@", "//ledgerline_app:ledgerline_app@", 1))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "audit-verify:\n%s", out)
}

// load is a load generator: signed-in admins through nginx, reading pages and creating locations (a write
// with its audit event) with unique codes, so acknowledged writes can be looked up afterwards.
type load struct {
	t        *testing.T
	stopCh   chan struct{}
	wg       sync.WaitGroup
	requests atomic.Int64
	errs     atomic.Int64
	ok       atomic.Int64
	mu       sync.Mutex
	written  []string
	invoices []string // issued invoices (the issue was acknowledged)
	payments []string // references of acknowledged payments
	samples  []string
	statuses map[string]int
}

type loadResult struct {
	requests, errors int64
	written          []string
	invoices         []string
	payments         []string
	samples          []string
	statuses         map[string]int // failed requests by status (or "transport")
}

var loadRun atomic.Int64

// stepStatus finds the status in an error of issueInvoice or payInvoice.
var stepStatus = regexp.MustCompile(`: ([0-9]{1,3}) `)

func startLoad(t *testing.T, c *cluster, workers int) *load {
	l := &load{t: t, stopCh: make(chan struct{}), statuses: map[string]int{}}
	run := loadRun.Add(1)
	customer := c.acmeCustomer()
	for w := range workers {
		b := newBrowser(t)
		require.Equal(t, http.StatusSeeOther, b.signIn(c.lb, demoAdmin, demoPassword))
		b.mustGet(c.lb + "/inventory/locations")
		l.wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-l.stopCh:
					return
				default:
				}
				var st int
				var err error
				if i%9 == 4 {
					// Billing: issue an invoice and record a part payment allocated to it. Each step is a
					// request; a step refused by an outage abandons the rest of the cycle.
					tag := fmt.Sprintf("%d-%d-%d", run, w, i)
					id, ierr := b.issueInvoice(c.lb, customer, tag)
					l.requests.Add(4)
					if ierr == nil {
						l.mu.Lock()
						l.invoices = append(l.invoices, id)
						l.mu.Unlock()
						ref := "FIRE-" + tag
						if ierr = b.payInvoice(c.lb, customer, id, "10.00", ref); ierr == nil {
							l.mu.Lock()
							l.payments = append(l.payments, ref)
							l.mu.Unlock()
						}
						l.requests.Add(1)
					}
					if ierr == nil {
						l.ok.Add(1)
						continue
					}
					// Any refusal counts as an error, by its status (a 4xx here would be a broken step).
					status := "transport"
					if m := stepStatus.FindStringSubmatch(ierr.Error()); m != nil && m[1] != "0" {
						status = m[1]
					}
					l.errs.Add(1)
					l.mu.Lock()
					l.statuses[status]++
					if len(l.samples) < 10 {
						l.samples = append(l.samples, ierr.Error())
					}
					l.mu.Unlock()
					time.Sleep(100 * time.Millisecond)
					continue
				} else if i%3 == 2 {
					code := fmt.Sprintf("L%d-%d-%d", run, w, i)
					st, _, err = b.do(http.MethodPost, c.lb+"/inventory/locations", url.Values{"code": {code}, "name": {"Load " + code}})
					if err == nil && st == http.StatusSeeOther {
						l.mu.Lock()
						l.written = append(l.written, code)
						l.mu.Unlock()
					}
				} else {
					st, _, err = b.do(http.MethodGet, c.lb+[]string{"/", "/inventory/locations"}[i%2], nil)
				}
				l.requests.Add(1)
				if err != nil || st >= 500 {
					l.errs.Add(1)
					l.mu.Lock()
					if err != nil {
						l.statuses["transport"]++
					} else {
						l.statuses[strconv.Itoa(st)]++
					}
					if len(l.samples) < 10 {
						l.samples = append(l.samples, fmt.Sprintf("%d %v", st, err))
					}
					l.mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				} else {
					l.ok.Add(1)
				}
			}
		})
	}
	return l
}

func (l *load) stop() loadResult {
	close(l.stopCh)
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return loadResult{requests: l.requests.Load(), errors: l.errs.Load(), written: l.written, invoices: l.invoices, payments: l.payments,
		samples: l.samples, statuses: l.statuses}
}

// lostWrites counts acknowledged location codes that are not in the database exactly once.
func (c *cluster) lostWrites(res loadResult) int {
	c.t.Helper()
	lost := 0
	if len(res.written) > 0 {
		got, err := c.sql(c.primary, `SELECT code FROM inventory_locations WHERE code = ANY($1) GROUP BY code HAVING count(*) = 1`, res.written)
		require.NoError(c.t, err)
		lost = len(res.written) - len(got)
	}
	// Issued invoices keep their number; recorded payments are there once, with their allocation.
	if len(res.invoices) > 0 {
		issued, err := c.sql(c.primary, `SELECT id FROM billing_invoices WHERE id::text = ANY($1) AND seq IS NOT NULL AND status <> 'draft'`, res.invoices)
		require.NoError(c.t, err)
		lost += len(res.invoices) - len(issued)
	}
	if len(res.payments) > 0 {
		paid, err := c.sql(c.primary, `SELECT p.reference FROM billing_payments p JOIN billing_allocations a
			ON a.tenant_id = p.tenant_id AND a.payment_id = p.id AND a.reversed_at IS NULL
			WHERE p.reference = ANY($1) GROUP BY p.reference HAVING count(*) = 1`, res.payments)
		require.NoError(c.t, err)
		lost += len(res.payments) - len(paid)
	}
	return lost
}

// fakeSMTP is a minimal SMTP server the test can stop and start on the same port.
type fakeSMTP struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	ln   net.Listener
	msgs []mail
}

type mail struct{ to, messageID string }

func startFakeSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &fakeSMTP{t: t, addr: ln.Addr().String()}
	s.serve(ln)
	t.Cleanup(s.stop)
	return s
}

func (s *fakeSMTP) start() {
	ln, err := net.Listen("tcp", s.addr)
	require.NoError(s.t, err)
	s.serve(ln)
}

func (s *fakeSMTP) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		_ = s.ln.Close()
		s.ln = nil
	}
}

func (s *fakeSMTP) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *fakeSMTP) messages() []mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mail(nil), s.msgs...)
}

func (s *fakeSMTP) byMessageID(id string) int {
	n := 0
	for _, m := range s.messages() {
		if m.messageID == id {
			n++
		}
	}
	return n
}

func (s *fakeSMTP) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.session(conn)
		}
	}()
}

func (s *fakeSMTP) session(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(conn)
	say := func(line string) { _, _ = io.WriteString(conn, line+"\r\n") }
	say("220 fake ESMTP")
	var to, msgID string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 fake")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			to, msgID = "", ""
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			to = strings.Trim(strings.TrimSpace(line[len("RCPT TO:"):]), "<>")
			say("250 ok")
		case cmd == "DATA":
			say("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.TrimRight(l, "\r\n") == "." {
					break
				}
				if v, ok := strings.CutPrefix(l, "Message-ID: "); ok {
					msgID = strings.TrimSpace(v)
				}
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, mail{to: to, messageID: msgID})
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		case cmd == "RSET", cmd == "NOOP":
			say("250 ok")
		default:
			say("502 not implemented")
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		return *new(T)
	}
	return v
}

var (
	versionInput  = regexp.MustCompile(`name="version" value="([0-9]+)"`)
	taxRateOption = regexp.MustCompile(`(?s)name="tax_rate_id".*?<option[^>]*value="([0-9a-f-]{36})"`)
)

var (
	errorSummary = regexp.MustCompile(`(?s)class="error-summary__list">(.*?)</ul>`)
	htmlTag      = regexp.MustCompile(`<[^>]*>`)
)

// problemOf is the text of a page's error summary, for a failure's message.
func problemOf(body string) string {
	m := errorSummary.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(htmlTag.ReplaceAllString(m[1], " ")), " ")
}

// acmeCustomer is a customer of the demo tenant in its currency, for invoices made by the tests.
func (c *cluster) acmeCustomer() string {
	c.t.Helper()
	return c.one(c.primary, `SELECT cu.id::text FROM billing_customers cu JOIN tenants t ON t.id = cu.tenant_id
		WHERE t.slug = 'acme' AND cu.deleted_at IS NULL AND cu.currency = t.currency ORDER BY cu.id LIMIT 1`)
}

// issueInvoice makes a draft for customer, adds a line and issues it, as a person does in the browser; it
// returns the invoice's id, or an error (status or transport) at the first step that failed.
func (b *browser) issueInvoice(base, customer, tag string) (string, error) {
	st, _, err := b.do(http.MethodGet, base+"/billing/invoices/new", nil)
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("new invoice page: %d %v", st, err)
	}
	st, body, err := b.do(http.MethodPost, base+"/billing/invoices", url.Values{"customer_id": {customer}, "notes": {"Made under fire " + tag}})
	if err != nil || st != http.StatusSeeOther {
		return "", fmt.Errorf("create draft: %d %v %s", st, err, problemOf(body))
	}
	id := uuidRE.FindString(b.location)
	page := func() (string, error) {
		st, body, err := b.do(http.MethodGet, base+"/billing/invoices/"+id, nil)
		m := versionInput.FindStringSubmatch(body)
		if err != nil || st != http.StatusOK || m == nil {
			return "", fmt.Errorf("invoice page: %d %v", st, err)
		}
		return m[1], nil
	}
	v, err := page()
	if err != nil {
		return id, err
	}
	rate := taxRateOption.FindStringSubmatch(b.last)
	if rate == nil {
		return id, fmt.Errorf("invoice page: %d no tax rate to choose", http.StatusOK)
	}
	st, body, err = b.do(http.MethodPost, base+"/billing/invoices/"+id+"/lines", url.Values{"version": {v},
		"description": {"Work under fire " + tag}, "quantity": {"3"}, "unit_price": {"12.50"}, "tax_rate_id": {rate[1]}})
	if err != nil || st != http.StatusSeeOther {
		return id, fmt.Errorf("add line: %d %v %s", st, err, problemOf(body))
	}
	if v, err = page(); err != nil {
		return id, err
	}
	st, body, err = b.do(http.MethodPost, base+"/billing/invoices/"+id+"/issue", url.Values{"version": {v}})
	if err != nil || st != http.StatusSeeOther {
		return id, fmt.Errorf("issue: %d %v %s", st, err, problemOf(body))
	}
	return id, nil
}

// payInvoice records a payment of amount for invoice, referenced ref, allocated to it.
func (b *browser) payInvoice(base, customer, invoice, amount, ref string) error {
	st, _, err := b.do(http.MethodGet, base+"/billing/payments/new?customer_id="+customer, nil)
	if err != nil || st != http.StatusOK {
		return fmt.Errorf("payment page: %d %v", st, err)
	}
	st, body, err := b.do(http.MethodPost, base+"/billing/payments", url.Values{"customer_id": {customer}, "amount": {amount},
		"received_on": {time.Now().UTC().Format("2006-01-02")}, "method": {"bank_transfer"}, "reference": {ref}, "alloc_" + invoice: {amount}})
	if err != nil || st != http.StatusSeeOther {
		return fmt.Errorf("record payment: %d %v %s", st, err, problemOf(body))
	}
	return nil
}

// requireBillingInvariants checks the books of billing: invoice and credit note numbers are gapless per
// series and year (1..n, each once, the counter at n), every invoice's paid and credited amounts equal its
// live allocations and credit notes and its balance is total − paid − credited, and every payment's
// allocated amount equals its live allocations and never exceeds the payment.
func (c *cluster) requireBillingInvariants(t *testing.T) {
	t.Helper()
	gaps := c.one(c.primary, `SELECT count(*) FROM (
		SELECT tenant_id, 'invoice' AS kind, series, year, count(*) AS n, count(DISTINCT seq) AS d, max(seq) AS m
		FROM billing_invoices WHERE seq IS NOT NULL GROUP BY 1, 2, 3, 4
		UNION ALL
		SELECT tenant_id, 'credit_note', series, year, count(*), count(DISTINCT seq), max(seq)
		FROM billing_credit_notes GROUP BY 1, 2, 3, 4) s
		LEFT JOIN billing_counters k USING (tenant_id, kind, series, year)
		WHERE s.n <> s.d OR s.m <> s.n OR coalesce(k.last, -1) <> s.m`)
	require.Equal(t, "0", gaps, "series with a gap, a duplicate number or a counter out of step")
	numbered := c.one(c.primary, `SELECT count(*) FROM billing_invoices WHERE (status = 'draft') <> (seq IS NULL)`)
	require.Equal(t, "0", numbered, "drafts with a number or issued invoices without one")
	bad := c.one(c.primary, `SELECT count(*) FROM billing_invoices i
		LEFT JOIN (SELECT tenant_id, invoice_id, sum(amount) AS a FROM billing_allocations WHERE reversed_at IS NULL GROUP BY 1, 2) a
			ON a.tenant_id = i.tenant_id AND a.invoice_id = i.id
		LEFT JOIN (SELECT tenant_id, invoice_id, sum(amount) AS a FROM billing_credit_notes GROUP BY 1, 2) n
			ON n.tenant_id = i.tenant_id AND n.invoice_id = i.id
		WHERE i.paid <> coalesce(a.a, 0) OR i.credited <> coalesce(n.a, 0) OR i.balance <> i.total - i.paid - i.credited`)
	require.Equal(t, "0", bad, "invoices whose balance differs from total − allocations − credit notes")
	bad = c.one(c.primary, `SELECT count(*) FROM billing_payments p
		LEFT JOIN (SELECT tenant_id, payment_id, sum(amount) AS a FROM billing_allocations WHERE reversed_at IS NULL GROUP BY 1, 2) a
			ON a.tenant_id = p.tenant_id AND a.payment_id = p.id
		WHERE p.allocated <> coalesce(a.a, 0) OR p.allocated > p.amount`)
	require.Equal(t, "0", bad, "payments whose allocated amount differs from their allocations")
}
