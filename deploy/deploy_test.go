// Package deploy_test checks the production files in deploy/: the Prometheus alert rules parse, name only
// metrics the app exports and fire when they should; the nginx configurations pass `nginx -t`; the systemd
// units give the graceful shutdown the time it needs.
package deploy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/stretchr/testify/require"
)

const alertsFile = "prometheus/alerts.yml"

func loadRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(alertsFile, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.Default())
	require.Empty(t, errs, "rulefmt (what `promtool check rules` runs)")
	return groups
}

// exportedMetrics are the metric names the app registers (handlers/metrics.go), with the series a histogram
// adds, plus Prometheus's own up.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "handlers", "metrics.go"))
	require.NoError(t, err)
	names := map[string]bool{"up": true}
	for _, m := range regexp.MustCompile(`"(ledgerline_[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		names[m[1]] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			names[m[1]+suffix] = true
		}
	}
	require.True(t, names["ledgerline_http_requests_total"], "metrics.go no longer names the request counter")
	return names
}

func TestAlertRules(t *testing.T) {
	groups := loadRules(t)
	exported := exportedMetrics(t)
	p := parser.NewParser(parser.Options{})
	alerts := map[string]rulefmt.Rule{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert, "group %s: only alerting rules here", g.Name)
			alerts[r.Alert] = r
			expr, err := p.ParseExpr(r.Expr)
			require.NoError(t, err, r.Alert)
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					require.True(t, exported[vs.Name], "%s uses %q, which the app does not export", r.Alert, vs.Name)
				}
				return nil
			})
			require.Contains(t, []string{"page", "warn"}, r.Labels["severity"], r.Alert)
			require.NotEmpty(t, r.Annotations["summary"], r.Alert)
			require.NotEmpty(t, r.Annotations["description"], r.Alert)
		}
	}
	// The five the operations team asked for.
	for _, name := range []string{"LedgerlineHighErrorRate", "LedgerlineSlowRequests", "LedgerlineJobQueueBacklog",
		"LedgerlineReplicaLag", "LedgerlineJobsFailing"} {
		require.Contains(t, alerts, name)
	}

	// The expressions fire on the situations they describe, and stay quiet otherwise: Prometheus's own
	// PromQL engine evaluates them over synthetic series (one sample a minute for 20 minutes). The expected
	// values include rate()'s extrapolation at the window's edges.
	expr := func(name string) string { return strings.Join(strings.Fields(alerts[name].Expr), " ") }
	engine := promqltest.NewTestEngine(t, false, 5*time.Minute, 1_000_000)
	promqltest.RunTest(t, `
load 1m
	ledgerline_http_requests_total{route="/",method="GET",status="200"} 0+100x20
	ledgerline_http_requests_total{route="/",method="GET",status="500"} 0+5x20
	ledgerline_http_requests_total{route="/x",method="GET",status="200"} 0+100x20
	ledgerline_http_requests_total{route="/x",method="GET",status="500"} 0+1x20

eval instant at 20m `+expr("LedgerlineHighErrorRate")+`
	{} 0.029126213592233004
`, engine)
	promqltest.RunTest(t, `
load 1m
	ledgerline_http_requests_total{route="/",method="GET",status="200"} 0+100x20
	ledgerline_http_requests_total{route="/",method="GET",status="500"} 0+1x20

eval instant at 20m `+expr("LedgerlineHighErrorRate")+`
`, engine)
	promqltest.RunTest(t, `
load 1m
	ledgerline_http_request_duration_seconds_bucket{route="/",method="GET",le="0.5"} 0+10x20
	ledgerline_http_request_duration_seconds_bucket{route="/",method="GET",le="1"} 0+20x20
	ledgerline_http_request_duration_seconds_bucket{route="/",method="GET",le="2.5"} 0+100x20
	ledgerline_http_request_duration_seconds_bucket{route="/",method="GET",le="+Inf"} 0+100x20
	ledgerline_http_request_duration_seconds_bucket{route="/admin/jobs/*",method="GET",le="0.5"} 0+1000x20
	ledgerline_http_request_duration_seconds_bucket{route="/admin/jobs/*",method="GET",le="1"} 0+1000x20
	ledgerline_http_request_duration_seconds_bucket{route="/admin/jobs/*",method="GET",le="2.5"} 0+1000x20
	ledgerline_http_request_duration_seconds_bucket{route="/admin/jobs/*",method="GET",le="+Inf"} 0+1000x20

eval instant at 20m `+expr("LedgerlineSlowRequests")+`
	{} 2.40625
`, engine)
	promqltest.RunTest(t, `
load 1m
	ledgerline_jobs{queue="default",state="available",instance="a"} 600x20
	ledgerline_jobs{queue="email",state="available",instance="a"} 3x20
	ledgerline_jobs{queue="default",state="discarded",instance="a"} 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2 2 3 3 3 3
	ledgerline_db_replica_lag_seconds{instance="a"} 0.01x20
	ledgerline_db_replica_lag_seconds{instance="b"} 45x20

eval instant at 20m `+expr("LedgerlineJobQueueBacklog")+`
	{queue="default"} 600

eval instant at 20m `+expr("LedgerlineJobsFailing")+`
	{} 1.0714285714285714

eval instant at 20m `+expr("LedgerlineReplicaLag")+`
	{} 45
`, engine)
	promqltest.RunTest(t, `
load 1m
	ledgerline_jobs{queue="default",state="discarded",instance="a"} 2x20
	ledgerline_db_replica_lag_seconds{instance="a"} 0x20

eval instant at 20m `+expr("LedgerlineJobsFailing")+`

eval instant at 20m `+expr("LedgerlineReplicaLag")+`
`, engine)
	promqltest.RunTest(t, `
load 1m
	ledgerline_db_pool_connections{pool="web",state="acquired",instance="a"} 5x20
	ledgerline_db_pool_connections{pool="web",state="idle",instance="a"} 0x20
	ledgerline_db_pool_max_connections{pool="web",instance="a"} 5x20
	ledgerline_db_pool_connections{pool="jobs",state="acquired",instance="a"} 3x20
	ledgerline_db_pool_max_connections{pool="jobs",instance="a"} 20x20
	ledgerline_db_pool_connections{pool="web",state="acquired",instance="b"} 2x20
	ledgerline_db_pool_max_connections{pool="web",instance="b"} 5x20

eval instant at 20m `+expr("LedgerlineDatabasePoolSaturated")+`
	{instance="a",pool="web"} 1
`, engine)
}

// nginxTest runs `nginx -t` on a configuration in a scratch directory.
func nginxTest(t *testing.T, conf string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("nginx is not installed (make cluster installs it)")
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(path, []byte(conf), 0o644))
	args := []string{"-t", "-q", "-p", dir, "-c", path}
	if !strings.Contains(conf, "\npid ") {
		args = append(args, "-g", "pid "+filepath.Join(dir, "t.pid")+";")
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	require.NoError(t, err, "nginx -t:\n%s\n%s", out, conf)
}

func TestNginxClusterConfig(t *testing.T) {
	tmpl, err := os.ReadFile("nginx/cluster.conf.in")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "nginx-tmp"), 0o755))
	conf := strings.NewReplacer("@DIR@", dir, "@APP1@", "18081", "@APP2@", "18082", "@APP3@", "18083", "@LB@", "18080").
		Replace(string(tmpl))
	require.NotContains(t, conf, "@", "a placeholder scripts/cluster.sh does not fill")
	nginxTest(t, conf)
}

func TestNginxTLSExample(t *testing.T) {
	site, err := os.ReadFile("nginx/ledgerline.conf")
	require.NoError(t, err)
	// A throwaway certificate stands in for the real one.
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ledgerline.example.com"},
		DNSNames: []string{"ledgerline.example.com"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	cert, priv := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	require.NoError(t, os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	s := strings.NewReplacer("/etc/ssl/ledgerline/fullchain.pem", cert, "/etc/ssl/ledgerline/privkey.pem", priv).Replace(string(site))
	for _, must := range []string{"ssl_protocols TLSv1.2 TLSv1.3", "X-Forwarded-For", "location = /metrics", "return 301 https://"} {
		require.Contains(t, s, must)
	}
	nginxTest(t, "events {}\nhttp {\n"+s+"\n}\n")
}

// unitValues reads a systemd unit's Key=Value lines (the last value wins, as for systemd's scalars).
func unitValues(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	v := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: %q is not Key=Value", path, line)
		v[k] = val
	}
	return v
}

func TestSystemdUnits(t *testing.T) {
	unit := unitValues(t, "systemd/ledgerline.service")
	require.Equal(t, "/usr/local/bin/ledgerline serve", unit["ExecStart"])
	require.Equal(t, "SIGTERM", unit["KillSignal"])
	env := unitValues(t, "systemd/ledgerline.env.example")
	require.Equal(t, "/etc/ledgerline/ledgerline.env", unit["EnvironmentFile"])
	// systemd must wait longer than the app's own shutdown deadline, or it kills requests mid-flight.
	shutdown, err := time.ParseDuration(env["SHUTDOWN_TIMEOUT"])
	require.NoError(t, err)
	stop, err := time.ParseDuration(unit["TimeoutStopSec"] + "s")
	require.NoError(t, err)
	require.Greater(t, stop, shutdown)
	require.Equal(t, "true", env["COOKIE_SECURE"])
	require.Contains(t, env, "READ_DATABASE_URL")

	migrate := unitValues(t, "systemd/ledgerline-migrate.service")
	require.Equal(t, "oneshot", migrate["Type"])
	require.Equal(t, "/usr/local/bin/ledgerline migrate", migrate["ExecStart"])
}
