package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// soakSample is one reading of the app's /metrics during the stability run.
type soakSample struct {
	at                    time.Duration // since the run started
	goroutines, heap, rss float64
}

// soakResult is the stability run: the mixed profile for a long time at the largest client count, with
// the app's goroutines, live heap (after the last GC) and resident memory read from its /metrics every few seconds.
type soakResult struct {
	step    stepResult
	every   time.Duration
	samples []soakSample
	jobs    *jobLatency
	// drained is how long the run waited for River's backlog before it began.
	drained time.Duration
}

// Tolerances of the stability verdict: the last window's average may exceed the baseline window's by this
// share (plus a few goroutines: a request in flight holds several).
const (
	soakGoroutineGrowth = 0.10
	soakGoroutineSlack  = 5
	soakHeapGrowth      = 0.25
	soakMemoryTarget    = 300 << 20
)

// soak runs op on sessions (closed loop, no warm-up: the run is long) for d while sampling the app's
// /metrics every `every` (at most a tenth of the run, so a short run still has its windows).
func soak(ctx context.Context, cfg config, base string, sessions []*session, fx *fixture,
	op func(context.Context, *session, *rand.Rand, *fixture) error, pid int, d, every time.Duration) soakResult {
	every = min(every, d/10)
	res := soakResult{every: every}
	stop := make(chan struct{})
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := scrapeMetrics(ctx, base); err == nil {
				res.samples = append(res.samples, soakSample{at: time.Since(start), goroutines: m.goroutines, heap: m.heapLive, rss: m.rss})
				last := res.samples[len(res.samples)-1]
				fmt.Fprintf(os.Stderr, "soak %6s: %4.0f goroutines, live heap %4d MB, RSS %4d MB\n",
					last.at.Round(time.Second), last.goroutines, int64(last.heap)>>20, int64(last.rss)>>20)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	c := cfg
	c.warmup, c.duration = 0, d
	res.step = measure(ctx, c, sessions, fx, op, pid)
	close(stop)
	<-done
	return res
}

// windows returns the average sample of the baseline window (the second one: the first is the warm-up)
// and of the last one. A window is a minute, or a fifth of a shorter run.
func (r soakResult) windows() (baseline, last soakSample, ok bool) {
	if len(r.samples) == 0 {
		return baseline, last, false
	}
	total := r.samples[len(r.samples)-1].at
	w := min(time.Minute, total/5)
	avg := func(from, to time.Duration) (soakSample, bool) {
		var s soakSample
		n := 0.0
		for _, x := range r.samples {
			if x.at >= from && x.at <= to {
				s.goroutines += x.goroutines
				s.heap += x.heap
				s.rss += x.rss
				n++
			}
		}
		if n == 0 {
			return s, false
		}
		s.goroutines, s.heap, s.rss = s.goroutines/n, s.heap/n, s.rss/n
		return s, true
	}
	baseline, ok1 := avg(w, 2*w)
	last, ok2 := avg(total-w, total)
	return baseline, last, ok1 && ok2
}

func (r soakResult) maxRSS() float64 {
	var m float64
	for _, s := range r.samples {
		m = max(m, s.rss)
	}
	return m
}

// verdict judges the run: goroutines and heap stable (the last window within the tolerances of the
// baseline), resident memory under the target.
func (r soakResult) verdict() (stable bool, detail string) {
	b, l, ok := r.windows()
	if !ok {
		return false, "too few samples to judge (run longer)"
	}
	gOK := l.goroutines <= b.goroutines*(1+soakGoroutineGrowth)+soakGoroutineSlack
	hOK := l.heap <= b.heap*(1+soakHeapGrowth)
	detail = fmt.Sprintf("goroutines %.0f → %.0f (%+.0f %%, tolerance %.0f %% + %d), live heap %d → %d MB (%+.0f %%, tolerance %.0f %%)",
		b.goroutines, l.goroutines, 100*(l.goroutines/b.goroutines-1), 100*soakGoroutineGrowth, soakGoroutineSlack,
		int64(b.heap)>>20, int64(l.heap)>>20, 100*(l.heap/b.heap-1), 100*soakHeapGrowth)
	return gOK && hOK, detail
}
