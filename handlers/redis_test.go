package handlers_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store/identity"
)

// privateRedis is a redis-server process of this test's own, so it can be stopped without disturbing
// other tests.
type privateRedis struct {
	t    *testing.T
	bin  string
	port int
	cmd  *exec.Cmd
	out  bytes.Buffer
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	r := &privateRedis{t: t, bin: bin, port: port}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *privateRedis) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

// start runs redis-server on r.port and waits until it accepts connections.
func (r *privateRedis) start() {
	r.t.Helper()
	r.out.Reset()
	r.cmd = exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	require.NoError(r.t, r.cmd.Start())
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.port), 100*time.Millisecond)
		if err == nil {
			_ = conn.Close()
			return
		}
		if time.Now().After(deadline) {
			r.stop()
			require.FailNow(r.t, "redis-server did not start", "port %d: %v\n%s", r.port, err, r.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server, as a crash would.
func (r *privateRedis) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func TestRedisLost(t *testing.T) {
	t.Parallel()
	r := startPrivateRedis(t)
	pool := newRedisPool(r.url())
	t.Cleanup(func() { _ = pool.Close() })
	b := setupWith(t, setupOpts{Redis: pool})
	u := b.usersA[identity.RoleEmployee]
	c := b.signedIn(t, u)
	require.Equal(t, http.StatusOK, c.get("/").status)
	require.Equal(t, http.StatusOK, c.get("/readyz").status)

	r.stop()

	start := time.Now()
	res := c.get("/")
	require.Less(t, time.Since(start), time.Second, "the 503 took too long")
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Contains(t, textOf(res.doc), "sessions are unavailable")
	require.Equal(t, "5", res.header.Get("Retry-After"))

	res = c.get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Equal(t, map[string]string{"postgres": "ok", "redis": "unreachable"}, readyChecks(t, res))

	// Signing in needs Redis too (throttle counters, session): a 503, not a 500.
	anon := b.newClient(t)
	require.Equal(t, http.StatusOK, anon.get("/login").status, "the sign-in page itself needs no Redis")
	res = anon.post("/login", map[string][]string{"email": {u.Email}, "password": {u.Password}})
	require.Equal(t, http.StatusServiceUnavailable, res.status)
	require.Contains(t, textOf(res.doc), "sessions are unavailable")

	// Redis comes back (empty: it kept nothing): the same app recovers without a restart.
	r.start()
	res = c.get("/readyz")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, map[string]string{"postgres": "ok", "redis": "ok"}, readyChecks(t, res))
	res = c.get("/")
	require.Equal(t, http.StatusSeeOther, res.status, "the session was lost with Redis")
	require.Equal(t, "/login", res.location())
	c = b.signedIn(t, u)
	res = c.get("/")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, u.Name, testID(t, res, "whoami"))

	require.NotContains(t, b.logs.String(), "msg=panic")
	require.NotContains(t, b.logs.String(), "level=ERROR")
}

func readyChecks(t *testing.T, r *response) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(r.body), &m), r.body)
	return m
}
