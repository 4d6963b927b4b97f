package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// pageJobKinds are the River jobs that the mixed profile's writes enqueue in their own transaction, to
// start at once: the business event of an issued invoice, a decision or low stock after an issue
// (events.Record), the invoice's PDF (billing.InvoiceIssue), the stock handoff of an approved purchase,
// and the approvers' and requester's e-mails (notify.Email). Periodic jobs and the jobs other jobs
// enqueue (webhook deliveries) are not a page's and are left out.
var pageJobKinds = []string{"event_fan_out", "billing_invoice_pdf", "billing_stock_handoff", "approvals_request_approved", "email_send"}

// jobLatency is how soon River started the jobs that pages enqueued during one step.
type jobLatency struct {
	jobs       int            // enqueued by pages during the step
	byKind     map[string]int // of which, by kind
	notStarted int            // still waiting when read (counted at their wait so far: a lower bound)
	retried    int            // started more than once; attempted_at is their last start, so they are left out
	p50, p95   time.Duration
	max        time.Duration
}

// jobStartLatency reads the River jobs of pageJobKinds created between from and to (the measured part of a
// step) and measures attempted_at - scheduled_at, the time a job waited for a worker to start it. River
// stamps scheduled_at with the database's now(), the start of the enqueuing transaction, so the figure
// includes the rest of the page's transaction: an upper bound of the wait after the commit. Jobs
// scheduled for later on purpose (scheduled_at more than a second after created_at) are not counted.
// It waits grace first, so that jobs enqueued at the end of the step had their chance to start.
func jobStartLatency(ctx context.Context, ownerURL string, from, to time.Time, grace time.Duration) (jobLatency, error) {
	l := jobLatency{byKind: map[string]int{}}
	select {
	case <-ctx.Done():
		return l, ctx.Err()
	case <-time.After(grace):
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return l, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT kind, attempt, attempted_at IS NULL,
		       (extract(epoch FROM coalesce(attempted_at, now()) - scheduled_at) * 1000000)::bigint
		FROM river_job
		WHERE created_at >= $1 AND created_at < $2 AND kind = ANY($3)
		  AND scheduled_at <= created_at + interval '1 second'`, from, to, pageJobKinds)
	if err != nil {
		return l, fmt.Errorf("error reading the step's jobs: %w", err)
	}
	var waits []time.Duration
	for rows.Next() {
		var kind string
		var attempt int
		var waiting bool
		var micros int64
		if err := rows.Scan(&kind, &attempt, &waiting, &micros); err != nil {
			return l, fmt.Errorf("error reading the step's jobs: %w", err)
		}
		l.jobs++
		l.byKind[kind]++
		switch {
		case waiting:
			l.notStarted++
		case attempt > 1:
			l.retried++
			continue
		}
		waits = append(waits, time.Duration(max(micros, 0))*time.Microsecond)
	}
	if err := rows.Err(); err != nil {
		return l, fmt.Errorf("error reading the step's jobs: %w", err)
	}
	slices.Sort(waits)
	if n := len(waits); n > 0 {
		pct := func(p float64) time.Duration { return waits[min(n-1, int(float64(n)*p))] }
		l.p50, l.p95, l.max = pct(0.50), pct(0.95), waits[n-1]
	}
	return l, nil
}

func (l jobLatency) kinds() string {
	var parts []string
	for _, k := range pageJobKinds {
		if n := l.byKind[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	return strings.Join(parts, ", ")
}

// drainJobs waits until River has no job that is due and not yet started (the backlog that earlier steps,
// such as thousands of decisions, left behind), so that a step's job latency is its own. It gives up after
// limit and returns how long it waited and what was left.
// vacuumAnalyze runs VACUUM (ANALYZE) on the database of ownerURL (every table the owner owns).
func vacuumAnalyze(ctx context.Context, ownerURL string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	if _, err := conn.Exec(ctx, `VACUUM (ANALYZE)`); err != nil {
		return 0, fmt.Errorf("error vacuuming the bench database: %w", err)
	}
	return time.Since(start), nil
}

func drainJobs(ctx context.Context, ownerURL string, limit time.Duration) (time.Duration, int, error) {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	start := time.Now()
	for {
		var due int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM river_job
			WHERE state IN ('available', 'retryable') AND scheduled_at <= now()`).Scan(&due); err != nil {
			return time.Since(start), 0, fmt.Errorf("error counting due jobs: %w", err)
		}
		if due == 0 || time.Since(start) >= limit || ctx.Err() != nil {
			return time.Since(start), due, ctx.Err()
		}
		fmt.Fprintf(os.Stderr, "waiting for River's backlog of %d due jobs\n", due)
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
}
