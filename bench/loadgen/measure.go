package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stepResult is one scenario at one client count.
type stepResult struct {
	clients    int
	ops        int
	errors     int
	firstError string
	elapsed    time.Duration
	from, to   time.Time // the measured part of the step
	p50, p95   time.Duration
	p99, max   time.Duration
	peakRSS    int64 // bytes, sampled during the step
	statements float64
	load1      float64  // the machine's 1-minute load average at the end of the step
	busyShare  float64  // share of the machine's CPU time busy during the step (all processes)
	cpu        cpuSplit // CPU ms per request by process family over the measured part
}

func (r stepResult) throughput() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ops-r.errors) / r.elapsed.Seconds()
}

func (r stepResult) short() string {
	return fmt.Sprintf("%8.1f op/s  p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms  errors %d  rss %d MB  stmts/req %.1f  load %.2f",
		r.throughput(), ms(r.p50), ms(r.p95), ms(r.p99), r.errors, r.peakRSS>>20, r.statements, r.load1)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// measure runs op on every session concurrently (one goroutine per session, closed loop) for the warm-up
// and then the measured duration, and returns the measured step.
func measure(ctx context.Context, cfg config, sessions []*session, fx *fixture,
	op func(context.Context, *session, *rand.Rand, *fixture) error, pid int) stepResult {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		res       = stepResult{clients: len(sessions)}
		wg        sync.WaitGroup
	)
	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	end := measureFrom.Add(cfg.duration)
	stopSampling := make(chan struct{})
	sampled := make(chan int64)
	go func() { sampled <- sampleRSS(pid, stopSampling) }()
	cpuBefore := readCPU()
	splitBefore := make(chan cpuSplit, 1)
	go func() {
		time.Sleep(time.Until(measureFrom))
		splitBefore <- readSplit(pid)
	}()
	for i, s := range sessions {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			var mine []time.Duration
			errs, first := 0, ""
			for {
				t0 := time.Now()
				if t0.After(end) || ctx.Err() != nil {
					break
				}
				err := op(ctx, s, r, fx)
				d := time.Since(t0)
				if t0.Before(measureFrom) {
					continue
				}
				mine = append(mine, d)
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			res.errors += errs
			if res.firstError == "" {
				res.firstError = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(measureFrom)
	res.from, res.to = measureFrom, time.Now()
	close(stopSampling)
	res.peakRSS = <-sampled
	res.busyShare = readCPU().busySince(cpuBefore)
	res.load1 = loadAverage()
	res.ops = len(latencies)
	res.cpu = readSplit(pid).perRequest(<-splitBefore, res.ops)
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		pct := func(p float64) time.Duration { return latencies[min(n-1, int(float64(n)*p))] }
		res.p50, res.p95, res.p99, res.max = pct(0.50), pct(0.95), pct(0.99), latencies[n-1]
	}
	return res
}

// sampleRSS returns the largest resident set size of pid seen every 100 ms until stop is closed.
func sampleRSS(pid int, stop <-chan struct{}) int64 {
	var peak int64
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		peak = max(peak, rss(pid, "VmRSS:"))
		select {
		case <-stop:
			return peak
		case <-t.C:
		}
	}
}

// peakRSS is the process's high-water mark since it started.
func peakRSS(pid int) int64 { return rss(pid, "VmHWM:") }

func rss(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

type cpuTimes struct{ busy, total uint64 }

func readCPU() cpuTimes {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var t cpuTimes
	for i, v := range f[1:] {
		n, _ := strconv.ParseUint(v, 10, 64)
		t.total += n
		if i != 3 && i != 4 { // idle, iowait
			t.busy += n
		}
	}
	return t
}

func (t cpuTimes) busySince(before cpuTimes) float64 {
	if t.total <= before.total {
		return 0
	}
	return float64(t.busy-before.busy) / float64(t.total-before.total)
}

func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// appMetrics are the counters of the app's /metrics that the report needs (requests and statements summed
// over routes other than /metrics itself) and the process's gauges the stability run samples.
type appMetrics struct {
	requests, statements float64
	goroutines           float64
	heapLive, rss        float64 // bytes: the heap the last GC found live, resident memory
}

func scrapeMetrics(ctx context.Context, base string) (appMetrics, error) {
	var m appMetrics
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return m, err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var into *float64
		switch {
		case strings.HasPrefix(line, "ledgerline_http_requests_total{"):
			into = &m.requests
		case strings.HasPrefix(line, "ledgerline_db_statements_total{"):
			into = &m.statements
		case strings.HasPrefix(line, "go_goroutines "):
			into = &m.goroutines
		case strings.HasPrefix(line, "go_gc_heap_live_bytes "):
			into = &m.heapLive
		case strings.HasPrefix(line, "process_resident_memory_bytes "):
			into = &m.rss
		default:
			continue
		}
		if strings.Contains(line, `route="/metrics"`) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			*into += v
		}
	}
	_, _ = io.Copy(io.Discard, res.Body)
	return m, sc.Err()
}

func (m appMetrics) statementsPerRequest(before appMetrics) float64 {
	if d := m.requests - before.requests; d > 0 {
		return (m.statements - before.statements) / d
	}
	return 0
}
