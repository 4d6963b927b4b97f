package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReportTargets checks the target lines of the middleware, River and stability measurements: holds,
// misses by how much, or not measured.
func TestReportTargets(t *testing.T) {
	t.Parallel()
	write := func(r *report) string {
		path := filepath.Join(t.TempDir(), "latest.md")
		require.NoError(t, r.write(path))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
	var samples []soakSample
	for at := time.Duration(0); at <= 10*time.Minute; at += 15 * time.Second {
		samples = append(samples, soakSample{at: at, goroutines: 100, heap: 20 << 20, rss: 90 << 20})
	}
	got := write(&report{
		cfg: config{clients: []int{1, 16, 64}},
		goBench: goBenchmarks{
			overheadBenchName: {"bare-p50-ms": 0.06, "bare-p95-ms": 0.15, "global-p50-ms": 0.0599, "global-p95-ms": 0.15,
				"session-p50-ms": 0.17, "session-p95-ms": 1.2,
				"app-p50-ms": 0.49, "app-p95-ms": 2.5, "overhead-p50-ms": 0.43},
			riverBenchName: {"jobs/s": 98, "inserts/s": 37000, "workers": 10, "completed-share": 0.74},
		},
		mixedJobs: []stepJobs{
			{clients: 1},
			{clients: 16, jobs: jobLatency{jobs: 40, p50: 20 * time.Millisecond, p95: 150 * time.Millisecond, max: 200 * time.Millisecond}},
		},
		soak: &soakResult{step: stepResult{clients: 64, elapsed: 10 * time.Minute}, every: 15 * time.Second, samples: samples,
			jobs: &jobLatency{jobs: 500, p50: 10 * time.Millisecond, p95: 80 * time.Millisecond}},
		appPeakRSS: 120 << 20,
	})
	require.Contains(t, got, "| + request id, metrics and request log, panic recovery, security headers | 0.060 | 0.150 | +0.000 |")
	require.Contains(t, got, "| + Redis session and CSRF | 0.170 | 1.200 | +0.110 |")
	require.Contains(t, got, "- Session, CSRF and row-level-security overhead < 1 ms per request at p50: holds (0.43 ms")
	require.Contains(t, got, "- River: no-op jobs at 5,000/s or more through the app's client: **misses** by 4902 jobs/s")
	require.Contains(t, got, "(16 clients): **misses** by 50.0 ms (p95 150.0 ms over 40 jobs, 0 not started)")
	require.Contains(t, got, "(stability run, 64 clients): holds (p95 80.0 ms over 500 jobs)")
	require.Contains(t, got, "- Server memory < 300 MB at 64 clients: holds (120 MB peak")
	require.Contains(t, got, "- No growth of goroutines and heap over a 10-minute mixed run (64 clients): holds (goroutines 100 → 100")
	require.NotContains(t, got, "shorter than the target's 10 minutes")

	got = write(&report{cfg: config{clients: []int{1, 16}}, appPeakRSS: 400 << 20})
	require.Contains(t, got, "overhead < 1 ms at p50: **not measured**")
	require.Contains(t, got, "no-op jobs at 5,000/s or more: **not measured**")
	require.Contains(t, got, "job start latency under the mixed load: **not measured** at 16 clients")
	require.Contains(t, got, "- Server memory < 300 MB at 64 clients: **misses** by 100 MB (400 MB peak (VmHWM over the whole run); this run went up to 16 clients only)")
	require.Contains(t, got, "over a 10-minute mixed run: **not measured** (run with `-soak 10m`)")
}

// TestReportCPU checks the table of CPU per request: the floor's row, each screen at the client count
// nearest 16, and the floor's share of each screen's total.
func TestReportCPU(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "latest.md")
	r := &report{
		cfg:   config{clients: []int{1, 16}},
		floor: []stepResult{{clients: 1, cpu: cpuSplit{1, 1}}, {clients: 16, cpu: cpuSplit{0.05, 0.04, 0, 0.01}}},
		scenarios: []scenarioResult{{sc: scenario{name: "items-first", title: "Items"},
			steps: []stepResult{{clients: 1, cpu: cpuSplit{9}}, {clients: 16, cpu: cpuSplit{0.4, 0.5, 0.02, 0.05, 0.03}}}}},
	}
	require.NoError(t, r.write(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(b), "| Fortunes (floor) | 0.050 | 0.040 | 0.000 | 0.010 | 0.000 | 0.100 | 100 % |")
	require.Contains(t, string(b), "| Items (`items-first`) | 0.400 | 0.500 | 0.020 | 0.050 | 0.030 | 1.000 | 10 % |")
}

// TestReadSplit reads this process's own CPU time from /proc under the load generator's family.
func TestReadSplit(t *testing.T) {
	t.Parallel()
	before := readSplit(-1)
	for deadline := time.Now().Add(300 * time.Millisecond); time.Now().Before(deadline); {
	}
	after := readSplit(-1)
	require.Greater(t, after[famLoadgen], before[famLoadgen], "the busy loop counts as the load generator's")
	per := after.perRequest(before, 10)
	require.Greater(t, per[famLoadgen], 0.0)
}
