package approvals_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
)

// benchRequests is the size of the tenant the benchmarks run in.
const benchRequests = 100_000

// benchFill gives tenant A benchRequests requests by emp and emp2 in every status; every 50th is pending on
// a manager step whose approver is "manager" (2,000 in the manager's inbox), written in bulk with SQL.
func benchFill(ctx context.Context, b *testing.B, tb *testBundle, n int, firstNumber int) {
	b.Helper()
	require.NoError(b, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO approval_requests (id, number, request_type, status, requester_id, department_id, title, amount, currency,
				round, current_step, submitted_at, created_at)
			SELECT uuidv7_like, $5::int + g, (ARRAY['purchase','expense','general'])[1 + g % 3],
			       CASE WHEN g % 50 = 0 THEN 'pending' ELSE (ARRAY['draft','approved','rejected','returned','withdrawn'])[1 + g % 5] END,
			       CASE WHEN g % 2 = 0 THEN $1::uuid ELSE $2::uuid END, $3::uuid, 'Request ' || g, (g * 37) % 5000000, 'EUR',
			       CASE WHEN g % 50 = 0 THEN 1 ELSE 0 END, CASE WHEN g % 50 = 0 THEN 1 END,
			       now() - make_interval(mins => $4::int - g), now() - make_interval(mins => $4::int - g)
			FROM (SELECT g, (lpad(to_hex(g), 8, '0') || '-0000-7000-8000-' || lpad(to_hex($5::int + g), 12, '0'))::uuid AS uuidv7_like
			      FROM generate_series(1, $4::int) g) s`,
			tb.ids["emp"], tb.ids["emp2"], tb.ops, n, firstNumber); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO approval_steps (request_id, round, position, name, approver_kind, mode, needed, sla_hours, status,
				activated_at, remind_at, due_at)
			SELECT id, 1, 1, 'Department manager', 'manager', 'any', 1, 8, 'active', submitted_at, submitted_at + interval '4 hours',
			       submitted_at + interval '8 hours'
			FROM approval_requests WHERE status = 'pending' AND number > $1::int`, firstNumber); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO approval_step_approvers (request_id, round, position, user_id)
			SELECT id, 1, 1, $2 FROM approval_requests WHERE status = 'pending' AND number > $1::int`, firstNumber, tb.ids["manager"]); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE approval_settings SET next_number = $1::int + $2::int + 1`, firstNumber, n)
		return err
	}))
	_, err := tb.db.X.ExecContext(ctx, `ANALYZE approval_requests; ANALYZE approval_steps; ANALYZE approval_step_approvers`)
	require.NoError(b, err)
}

// benchLatency runs op from 16 clients (8 goroutines per core on 2 cores) b.N times in all and reports the
// p50 and p99 latency.
func benchLatency(b *testing.B, op func() error) {
	b.Helper()
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func BenchmarkApprovalLists(b *testing.B) {
	tb, ctx := setup(b)
	_, err := approvals.SettingsGet(ctx, tb.db, tb.as("admin"))
	require.NoError(b, err)
	benchFill(ctx, b, tb, benchRequests, 0)
	b.Run("inbox of 2,000 in 100,000", func(b *testing.B) {
		benchLatency(b, func() error {
			res, err := approvals.Inbox(ctx, tb.db, tb.as("manager"), approvals.InboxParams{})
			if err == nil && len(res.Items) != 50 {
				b.Fatalf("inbox page has %d items, want 50", len(res.Items))
			}
			return err
		})
	})
	b.Run("inbox count", func(b *testing.B) {
		benchLatency(b, func() error {
			_, err := approvals.InboxCount(ctx, tb.db, tb.as("manager"))
			return err
		})
	})
	b.Run("all requests, first page", func(b *testing.B) {
		benchLatency(b, func() error {
			_, err := approvals.RequestList(ctx, tb.db, tb.as("fin1"), approvals.RequestListParams{})
			return err
		})
	})
	b.Run("my requests, pending", func(b *testing.B) {
		benchLatency(b, func() error {
			_, err := approvals.RequestList(ctx, tb.db, tb.as("emp"), approvals.RequestListParams{Mine: true, Status: approvals.StatusPending})
			return err
		})
	})
}

// BenchmarkApprovalDecisions approves pending requests from 16 clients, each decision in its own
// transaction with its audit event, and reports decisions per second.
func BenchmarkApprovalDecisions(b *testing.B) {
	tb, ctx := setup(b)
	_, err := approvals.SettingsGet(ctx, tb.db, tb.as("admin"))
	require.NoError(b, err)
	benchFill(ctx, b, tb, benchRequests, 0)
	// b.N more pending requests, one each.
	benchFill(ctx, b, tb, b.N*50, benchRequests)
	var ids []store.ID
	require.NoError(b, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &ids, `SELECT id FROM approval_requests WHERE status = 'pending' AND number > $1 ORDER BY number`, benchRequests)
	}))
	require.GreaterOrEqual(b, len(ids), b.N)
	var next atomic.Int64
	start := time.Now()
	benchLatency(b, func() error {
		id := ids[next.Add(1)-1]
		_, err := approvals.StepDecide(ctx, tb.db, tb.as("manager"), approvals.DecideParams{RequestID: id, Decision: approvals.DecisionApprove})
		return err
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}
