package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReadGoBenchmarks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "overhead.txt")
	require.NoError(t, os.WriteFile(out, []byte(`goos: linux
pkg: ledgerline/handlers
BenchmarkMiddlewareOverhead-2   	    5000	   2132684 ns/op	         0.5344 app-p50-ms	         5.049 app-p95-ms	         0.05628 bare-p50-ms	         0.4720 bare-p95-ms	         0.4781 overhead-p50-ms
PASS
`), 0o600))
	got, err := readGoBenchmarks([]string{out, filepath.Join(dir, "missing.txt")})
	require.NoError(t, err)
	require.Equal(t, goBenchmarks{"BenchmarkMiddlewareOverhead": {
		"ns/op": 2132684, "app-p50-ms": 0.5344, "app-p95-ms": 5.049, "bare-p50-ms": 0.05628, "bare-p95-ms": 0.4720, "overhead-p50-ms": 0.4781,
	}}, got)
}

func TestSoakVerdict(t *testing.T) {
	t.Parallel()
	// Ten minutes sampled every 15 s; the first minute warms up.
	run := func(goroutines, heap func(at time.Duration) float64) soakResult {
		var r soakResult
		for at := time.Duration(0); at <= 10*time.Minute; at += 15 * time.Second {
			r.samples = append(r.samples, soakSample{at: at, goroutines: goroutines(at), heap: heap(at), rss: 80 << 20})
		}
		return r
	}
	flat := func(v float64) func(time.Duration) float64 {
		return func(at time.Duration) float64 {
			if at < time.Minute {
				return v / 2 // warming up: not the baseline
			}
			return v
		}
	}
	growing := func(v, perMinute float64) func(time.Duration) float64 {
		return func(at time.Duration) float64 { return v + perMinute*at.Minutes() }
	}
	for _, c := range []struct {
		name             string
		goroutines, heap func(time.Duration) float64
		stable           bool
	}{
		{"flat", flat(100), flat(20 << 20), true},
		{"goroutines leak", growing(100, 5), flat(20 << 20), false},
		{"heap grows", flat(100), growing(20<<20, 2<<20), false},
		{"noise within tolerance", growing(100, 0.5), growing(20<<20, 0.2*(1<<20)), true},
	} {
		stable, detail := run(c.goroutines, c.heap).verdict()
		require.Equal(t, c.stable, stable, "%s: %s", c.name, detail)
	}
	stable, detail := soakResult{}.verdict()
	require.False(t, stable)
	require.Contains(t, detail, "too few samples")
}
