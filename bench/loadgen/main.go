// Command loadgen is the benchmark harness behind `make bench`. It starts the app binary on a free port
// against the bench database (made by `ledgerline seed --scale large`), starts the Fortunes floor server
// (bench/fortunes) on the same PostgreSQL, signs in real users of several roles through the login form,
// and drives each scenario with 1, 16 and 64 concurrent clients (closed loop: a client sends its next
// request when the previous one is answered). It measures throughput, latency percentiles, errors, the
// app's peak memory and statements per request (from the app's /metrics), runs `pgbench -S` on the same
// cluster, and writes bench/results/latest.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	bin, fortunesBin string
	appURL, ownerURL string
	redisURL         string
	out              string
	duration, warmup time.Duration
	clients          []int
	only             map[string]bool
	pgbench          string
	password         string
	appEnv           []string
	skipPgbench      bool
	vacuum           bool
	deepPages        int
	fortConn         int
	soak, soakEvery  time.Duration
	drainLimit       time.Duration
	goBench          []string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var cfg config
	var clients, only, env string
	flag.StringVar(&cfg.bin, "bin", "bin/ledgerline", "the app binary")
	flag.StringVar(&cfg.fortunesBin, "fortunes", "bin/fortunes", "the Fortunes floor binary (go build ./bench/fortunes)")
	flag.StringVar(&cfg.appURL, "db", "postgres://ledgerline_app:ledgerline_app@127.0.0.1:55432/ledgerline_bench?sslmode=disable", "bench database as the app role")
	flag.StringVar(&cfg.ownerURL, "owner-db", "postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:55432/ledgerline_bench?sslmode=disable", "bench database as the schema owner")
	flag.StringVar(&cfg.redisURL, "redis", "redis://127.0.0.1:56379/0", "Redis for the app's sessions (keys prefixed bench:)")
	flag.StringVar(&cfg.out, "out", "bench/results/latest.md", "report file")
	flag.DurationVar(&cfg.duration, "duration", 6*time.Second, "measured time per scenario and client count")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured time before each measurement")
	flag.StringVar(&clients, "clients", "1,16,64", "concurrent clients, comma-separated")
	flag.StringVar(&only, "scenarios", "", "run only these scenarios (comma-separated names; default all)")
	flag.StringVar(&cfg.pgbench, "pgbench", "/usr/lib/postgresql/15/bin/pgbench", "pgbench binary")
	flag.BoolVar(&cfg.skipPgbench, "skip-pgbench", false, "do not run pgbench -S")
	flag.BoolVar(&cfg.vacuum, "vacuum", true, "run VACUUM (ANALYZE) on the bench database first")
	flag.StringVar(&cfg.password, "password", "ledgerline-demo", "password of the bench users")
	flag.StringVar(&env, "app-env", "", "extra environment for the app, comma-separated K=V")
	flag.IntVar(&cfg.deepPages, "deep", 60, "pages to walk for the deep-page cursors")
	flag.IntVar(&cfg.fortConn, "fortunes-conns", 16, "Fortunes pool size")
	flag.DurationVar(&cfg.soak, "soak", 0, "stability run after the mixed profile (and only with it): the mix at the largest client count for this long (0: none)")
	flag.DurationVar(&cfg.soakEvery, "soak-every", 15*time.Second, "how often the stability run reads the app's /metrics")
	flag.DurationVar(&cfg.drainLimit, "drain", 2*time.Minute, "longest wait for River's backlog before a step that measures job latency")
	var goBench string
	flag.StringVar(&goBench, "go-bench", "", "`go test -bench` outputs to put in the report (comma-separated; middleware overhead, River)")
	flag.Parse()
	if goBench != "" {
		cfg.goBench = strings.Split(goBench, ",")
	}
	for _, c := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -clients %q", clients)
		}
		cfg.clients = append(cfg.clients, n)
	}
	if only != "" {
		cfg.only = map[string]bool{}
		for _, s := range strings.Split(only, ",") {
			cfg.only[strings.TrimSpace(s)] = true
		}
	}
	if env != "" {
		cfg.appEnv = strings.Split(env, ",")
	}

	rep := &report{started: time.Now().UTC(), cfg: cfg, machine: machineInfo()}
	var err error
	if rep.goBench, err = readGoBenchmarks(cfg.goBench); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cfg.out), 0o755); err != nil {
		return err
	}

	// Vacuumed tables with current statistics, as autovacuum keeps them in production. PostgreSQL forgets
	// its activity counters when it stops without a clean shutdown (a machine restart), and then autovacuum
	// does not revisit the big tables until they change a lot: index-only scans fetch heap pages again and
	// plans go by stale estimates (the item search by "premium" took 6.5 ms instead of 4.4).
	if cfg.vacuum {
		took, err := vacuumAnalyze(ctx, cfg.ownerURL)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "vacuum (analyze): %s\n", took.Round(time.Millisecond))
		rep.notes = append(rep.notes, fmt.Sprintf("Before the run: VACUUM (ANALYZE) of the bench database (%s).", took.Round(time.Second)))
	}

	// The floor first, on a quiet app: Fortunes and pgbench.
	fort, err := startFortunes(ctx, cfg)
	if err != nil {
		return err
	}
	defer fort.stop()
	tr := newTransport()
	for _, n := range cfg.clients {
		sessions := make([]*session, n)
		for i := range sessions {
			sessions[i] = newSession(fort.base, tr)
		}
		res := measure(ctx, cfg, sessions, nil, func(ctx context.Context, s *session, r *rand.Rand, _ *fixture) error {
			_, err := s.get(ctx, "/fortunes")
			return err
		}, fort.pid)
		rep.floor = append(rep.floor, res)
		fmt.Fprintf(os.Stderr, "fortunes  %3d clients: %s\n", n, res.short())
	}
	fort.stop()
	if !cfg.skipPgbench {
		rep.pgbench, err = runPgbench(ctx, cfg)
		if err != nil {
			rep.notes = append(rep.notes, "pgbench -S failed: "+err.Error())
		}
	}

	app, err := startApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer app.stop()
	rep.appLog = app.logPath

	// Sessions: enough signed-in clients of each role for the largest client count.
	maxClients := 0
	for _, n := range cfg.clients {
		maxClients = max(maxClients, n)
	}
	users := benchUsers()
	pools := map[string][]*session{}
	for _, role := range []string{"employee", "manager", "auditor", "admin", "finance"} {
		for i := range maxClients {
			us := users[role]
			s := newSession(app.base, tr)
			u := us[i%len(us)]
			if err := s.signIn(ctx, u, cfg.password, role); err != nil {
				return fmt.Errorf("sign-in: %w", err)
			}
			pools[role] = append(pools[role], s)
		}
	}
	fx, err := collectInventory(ctx, pools["employee"][0], cfg.deepPages)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fixture: %d items, %d deep pages, %d locations\n", len(fx.itemIDs), len(fx.deepPages), len(fx.bins))
	if fx.mod, err = collectModules(ctx, pools["finance"][0], pools["manager"][0], pools["admin"][0], cfg.deepPages); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "fixture: %d invoices, %d deep pages, %d customers, %d requests, %d deep pages, %d pending for the admin\n",
		len(fx.mod.invoiceIDs), len(fx.mod.invoiceDeep), len(fx.mod.customerIDs), len(fx.mod.requestIDs), len(fx.mod.requestDeep), len(fx.mod.decide))

	scenarios := scenarioList()
	for _, sc := range scenarios {
		if cfg.only != nil && !cfg.only[sc.name] {
			continue
		}
		sr := scenarioResult{sc: sc}
		for _, n := range cfg.clients {
			if sc.name == "approval-decide" {
				// Generously more than measured (45–100/s at 1 client, 200/s at 16 on a quiet machine); what is
				// left over waits in the inbox for the next run.
				if err := prepareDecisions(ctx, cfg, fx, pools["employee"], max(150, min(n, 8)*50)); err != nil {
					return err
				}
			}
			before, _ := scrapeMetrics(ctx, app.base)
			res := measure(ctx, cfg, pools[sc.role][:n], fx, sc.op, app.pid)
			after, _ := scrapeMetrics(ctx, app.base)
			res.statements = after.statementsPerRequest(before)
			sr.steps = append(sr.steps, res)
			fmt.Fprintf(os.Stderr, "%-14s %3d clients: %s\n", sc.name, n, res.short())
		}
		rep.scenarios = append(rep.scenarios, sr)
	}
	// The mixed profile: every client runs the weighted mix as its own role allows (employees most).
	if cfg.only == nil || cfg.only["mixed"] {
		sr := scenarioResult{sc: scenario{name: "mixed", title: "Mixed profile (weighted mix of the scenarios above)"}}
		for _, n := range cfg.clients {
			sessions, op := mixedClients(pools, scenarios, n)
			// One decision in ~120 operations; a few a second at most.
			if err := prepareDecisions(ctx, cfg, fx, pools["employee"], mixedDecisionsPerSecond); err != nil {
				return err
			}
			// The decide scenario leaves thousands of e-mails behind: measure the mix's own job latency.
			if _, left, err := drainJobs(ctx, cfg.ownerURL, cfg.drainLimit); err != nil {
				return err
			} else if left > 0 {
				rep.notes = append(rep.notes, fmt.Sprintf("The mixed step at %d clients began with %d River jobs still due after waiting %s.", n, left, cfg.drainLimit))
			}
			before, _ := scrapeMetrics(ctx, app.base)
			res := measure(ctx, cfg, sessions, fx, op, app.pid)
			after, _ := scrapeMetrics(ctx, app.base)
			res.statements = after.statementsPerRequest(before)
			sr.steps = append(sr.steps, res)
			fmt.Fprintf(os.Stderr, "%-14s %3d clients: %s\n", "mixed", n, res.short())
			jl, err := jobStartLatency(ctx, cfg.ownerURL, res.from, res.to, 3*time.Second)
			if err != nil {
				return err
			}
			rep.mixedJobs = append(rep.mixedJobs, stepJobs{clients: n, jobs: jl})
			fmt.Fprintf(os.Stderr, "%-14s %3d clients: %d page jobs, start p50 %.1f ms p95 %.1f ms, %d not started\n",
				"mixed jobs", n, jl.jobs, ms(jl.p50), ms(jl.p95), jl.notStarted)
		}
		rep.scenarios = append(rep.scenarios, sr)

		if cfg.soak > 0 {
			n := slices.Max(cfg.clients)
			sessions, op := mixedClients(pools, scenarios, n)
			soakCfg := cfg
			soakCfg.warmup, soakCfg.duration = 0, cfg.soak
			if err := prepareDecisions(ctx, soakCfg, fx, pools["employee"], mixedDecisionsPerSecond); err != nil {
				return err
			}
			drained, left, err := drainJobs(ctx, cfg.ownerURL, cfg.drainLimit)
			if err != nil {
				return err
			}
			if left > 0 {
				rep.notes = append(rep.notes, fmt.Sprintf("The stability run began with %d River jobs still due after waiting %s.", left, cfg.drainLimit))
			}
			fmt.Fprintf(os.Stderr, "stability run: mixed profile, %d clients, %s\n", n, cfg.soak)
			before, _ := scrapeMetrics(ctx, app.base)
			sk := soak(ctx, cfg, app.base, sessions, fx, op, app.pid, cfg.soak, cfg.soakEvery)
			after, _ := scrapeMetrics(ctx, app.base)
			sk.step.statements = after.statementsPerRequest(before)
			sk.drained = drained
			jl, err := jobStartLatency(ctx, cfg.ownerURL, sk.step.from, sk.step.to, 3*time.Second)
			if err != nil {
				return err
			}
			sk.jobs = &jl
			rep.soak = &sk
			fmt.Fprintf(os.Stderr, "stability run: %s\n", sk.step.short())
		}
	}
	rep.appPeakRSS = peakRSS(app.pid)
	rep.notes = append(rep.notes,
		"Exports and webhooks have no scenarios yet; see bench/README.md for how a module adds its data and scenarios.")
	rep.finished = time.Now().UTC()
	return rep.write(cfg.out)
}

// mixedDecisionsPerSecond bounds the decisions the mixed profile makes: one operation in about 120 is a
// decision, and the mixed profile ran at up to 525 operations/s (4.4 decisions/s; the stability run of
// 15:15 on 2026-11-26 ran the inbox dry at a top-up for 3/s). 8/s leaves room for a faster app or machine.
const mixedDecisionsPerSecond = 8

// prepareDecisions tops up the admin's inbox for a step of cfg's length at up to perSecond decisions
// (topUpApprovals). The River jobs of the new requests (e-mails, events) are left to the drain before the
// steps that measure job latency: the decide scenario makes more of them itself than River works off.
func prepareDecisions(ctx context.Context, cfg config, fx *fixture, employees []*session, perSecond int) error {
	need := perSecond * int((cfg.warmup+cfg.duration).Seconds()+1)
	added, err := topUpApprovals(ctx, fx.mod, employees, need)
	if added > 0 {
		fmt.Fprintf(os.Stderr, "approvals: submitted %d requests for the admin to decide\n", added)
	}
	return err
}

// mixedClients are n clients of the mixed profile. Client i is person i of each role: it runs each picked
// scenario in that role's session i (employees' and managers' inventory work, finance's invoices, the
// admin's and managers' approvals).
func mixedClients(pools map[string][]*session, scenarios []scenario, n int) ([]*session, func(context.Context, *session, *rand.Rand, *fixture) error) {
	sessions := make([]*session, n)
	index := map[*session]int{}
	for i := range sessions {
		sessions[i] = pools["employee"][i]
		index[sessions[i]] = i
	}
	return sessions, mixedOp(scenarios, func(s *session, role string) *session { return pools[role][index[s]] })
}

// mixedOp picks a scenario by weight for each operation.
func mixedOp(all []scenario, as func(s *session, role string) *session) func(context.Context, *session, *rand.Rand, *fixture) error {
	var ops []scenario
	total := 0
	for _, s := range all {
		if s.weight > 0 {
			ops = append(ops, s)
			total += s.weight
		}
	}
	return func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
		n := r.IntN(total)
		for _, o := range ops {
			if n < o.weight {
				return o.op(ctx, as(s, o.role), r, fx)
			}
			n -= o.weight
		}
		return nil
	}
}

// benchUsers are the large tenant's people by role (see largeUsers in seed_large.go).
func benchUsers() map[string][]string {
	const domain = "large.example"
	u := map[string][]string{
		"admin":   {"admin@" + domain},
		"auditor": {"auditor@" + domain},
		"finance": {"finance@" + domain},
	}
	for i := 1; i <= 4; i++ {
		u["manager"] = append(u["manager"], fmt.Sprintf("manager%d@%s", i, domain))
	}
	for i := 1; i <= 16; i++ {
		u["employee"] = append(u["employee"], fmt.Sprintf("employee%d@%s", i, domain))
	}
	return u
}

// process is a child the harness started.
type process struct {
	cmd     *exec.Cmd
	base    string
	pid     int
	logPath string
	once    sync.Once
}

func (p *process) stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = p.cmd.Process.Kill()
		}
	})
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s/healthz did not answer within a minute", base)
}

func startApp(ctx context.Context, cfg config) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(filepath.Dir(cfg.out), "app.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.bin, "serve")
	cmd.Env = append(os.Environ(),
		"HTTP_ADDR="+addr, "BASE_URL=http://"+addr,
		"DATABASE_URL="+cfg.appURL, "MIGRATE_DATABASE_URL="+cfg.ownerURL,
		"REDIS_URL="+cfg.redisURL, "REDIS_KEY_PREFIX=bench:"+strconv.Itoa(os.Getpid())+":",
		"LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, cfg.appEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.bin, err)
	}
	p := &process{cmd: cmd, base: "http://" + addr, pid: cmd.Process.Pid, logPath: logPath}
	if err := waitHealthy(ctx, p.base); err != nil {
		p.stop()
		return nil, fmt.Errorf("the app did not start (see %s): %w", logPath, err)
	}
	return p, nil
}

func startFortunes(ctx context.Context, cfg config) (*process, error) {
	cmd := exec.Command(cfg.fortunesBin, "-addr", "127.0.0.1:0", "-db", cfg.appURL, "-setup", cfg.ownerURL,
		"-conns", strconv.Itoa(cfg.fortConn))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.fortunesBin, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("fortunes did not start: %w", err)
	}
	p := &process{cmd: cmd, base: "http://" + strings.TrimSpace(line), pid: cmd.Process.Pid}
	if err := waitHealthy(ctx, p.base); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// runPgbench initialises pgbench's tables in the schema bench_floor (once) and runs the select-only test
// at each client count.
func runPgbench(ctx context.Context, cfg config) ([]pgbenchResult, error) {
	env := append(os.Environ(), "PGOPTIONS=-c search_path=bench_floor")
	check := exec.CommandContext(ctx, filepath.Join(filepath.Dir(cfg.pgbench), "psql"), cfg.ownerURL, "-Atc",
		"SELECT count(*) FROM pg_tables WHERE schemaname = 'bench_floor' AND tablename = 'pgbench_accounts'")
	out, err := check.Output()
	if err != nil {
		return nil, fmt.Errorf("psql: %w", err)
	}
	if strings.TrimSpace(string(out)) == "0" {
		init := exec.CommandContext(ctx, cfg.pgbench, "-i", "-s", "10", "-q", "--no-vacuum", cfg.ownerURL)
		init.Env = env
		if b, err := init.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pgbench -i: %w: %s", err, b)
		}
	}
	var results []pgbenchResult
	for _, n := range cfg.clients {
		cmd := exec.CommandContext(ctx, cfg.pgbench, "-S", "-n", "-M", "prepared", "-c", strconv.Itoa(n),
			"-j", strconv.Itoa(min(n, 2)), "-T", strconv.Itoa(int(cfg.duration.Seconds())), cfg.ownerURL)
		cmd.Env = env
		b, err := cmd.CombinedOutput()
		if err != nil {
			return results, fmt.Errorf("pgbench -S -c %d: %w: %s", n, err, b)
		}
		r := pgbenchResult{clients: n}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "tps = ") {
				f := strings.Fields(line)
				r.tps, _ = strconv.ParseFloat(f[2], 64)
			}
			if strings.HasPrefix(line, "latency average = ") {
				f := strings.Fields(line)
				r.latencyMS, _ = strconv.ParseFloat(f[3], 64)
			}
		}
		if r.tps == 0 {
			return results, errors.New("no tps in pgbench output: " + string(b))
		}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "pgbench -S %3d clients: %.0f tps\n", n, r.tps)
	}
	return results, nil
}

func htmlUnescape(s string) string { return html.UnescapeString(s) }
