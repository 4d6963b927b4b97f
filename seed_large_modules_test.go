package main

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// TestBenchModuleLoaders runs the billing and approvals bench loaders on a small tenant (300 invoices,
// 200 requests; never the large scale in tests) and checks that the rows are what the app would have
// written: gapless numbers with the counter at the last one, payments matching the invoices' paid amounts,
// pending requests waiting at an active step of approvers other than the requester, a second run that
// changes nothing, the line trigger back on, and an audit chain that verifies.
func TestBenchModuleLoaders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := storetest.New(t)
	dt := demoTenant{
		params:      identity.TenantCreateParams{Name: "Bench modules", Slug: "bench-mod", TimeZone: "Europe/Berlin", Currency: "EUR"},
		departments: []string{"Operations"},
		users: []demoUser{
			{"admin@bench-mod.example", "Ada Admin", identity.RoleAdmin, "Operations"},
			{"finance@bench-mod.example", "Fin Finance", identity.RoleFinance, "Operations"},
			{"manager@bench-mod.example", "Max Manager", identity.RoleManager, "Operations"},
			{"employee1@bench-mod.example", "Emma One", identity.RoleEmployee, "Operations"},
			{"employee2@bench-mod.example", "Emil Two", identity.RoleEmployee, "Operations"},
		},
	}
	tenantID, created, err := benchTenantEnsure(ctx, b.DB, dt)
	require.NoError(t, err)
	require.True(t, created)
	owner, err := pgx.Connect(ctx, b.OwnerURL)
	require.NoError(t, err)
	defer owner.Close(ctx)
	actors, err := benchActors(ctx, owner, tenantID)
	require.NoError(t, err)
	bt := benchTenant{ID: tenantID, Slug: dt.params.Slug, Actors: actors, Now: time.Now().UTC().Truncate(24 * time.Hour), Seed: largeSeed}
	load := func() {
		for _, l := range []func(context.Context, *store.DB, *pgx.Conn, benchTenant, io.Writer) error{seedLargeBilling, seedLargeApprovals} {
			require.NoError(t, l(ctx, b.DB, owner, bt, io.Discard))
		}
	}
	load()
	count := func(q string) int {
		t.Helper()
		var n int
		require.NoError(t, owner.QueryRow(ctx, q, tenantID).Scan(&n))
		return n
	}
	require.Equal(t, smallTenantInvoices, count(`SELECT count(*) FROM billing_invoices WHERE tenant_id = $1`))
	require.Equal(t, smallTenantRequests, count(`SELECT count(*) FROM approval_requests WHERE tenant_id = $1`))
	for _, st := range []string{"draft", "issued", "paid", "partially_paid", "void"} {
		require.Positive(t, count(`SELECT count(*) FROM billing_invoices WHERE tenant_id = $1 AND status = '`+st+`'`), st)
	}
	for _, st := range []string{"draft", "pending", "approved", "rejected", "returned"} {
		require.Positive(t, count(`SELECT count(*) FROM approval_requests WHERE tenant_id = $1 AND status = '`+st+`'`), st)
	}
	// Gapless per year, and the counter continues the series.
	require.Zero(t, count(`SELECT count(*) FROM (SELECT year, count(*) AS n, max(seq) AS m FROM billing_invoices
		WHERE tenant_id = $1 AND seq IS NOT NULL GROUP BY year) x
		LEFT JOIN billing_counters c ON c.tenant_id = $1 AND c.kind = 'invoice' AND c.year = x.year WHERE x.n <> x.m OR c.last IS DISTINCT FROM x.m`))
	// Totals are the lines' sums; paid is what the allocations say, and each payment is allocated in full.
	require.Zero(t, count(`SELECT count(*) FROM billing_invoices i WHERE tenant_id = $1 AND
		(subtotal <> (SELECT sum(net) FROM billing_invoice_lines l WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.id)
		 OR tax_total <> (SELECT sum(tax) FROM billing_invoice_lines l WHERE l.tenant_id = i.tenant_id AND l.invoice_id = i.id))`))
	require.Zero(t, count(`SELECT count(*) FROM billing_invoices i WHERE tenant_id = $1 AND paid <>
		coalesce((SELECT sum(amount) FROM billing_allocations a WHERE a.tenant_id = i.tenant_id AND a.invoice_id = i.id), 0)`))
	require.Zero(t, count(`SELECT count(*) FROM billing_payments WHERE tenant_id = $1 AND allocated <> amount`))
	// The invoice tally (the list's totals) counted the bulk load: equal to a fresh sum per currency and status.
	require.Zero(t, count(`SELECT count(*) FROM
		(SELECT currency, status, count(*) AS n, sum(total) AS t, sum(balance) AS b FROM billing_invoices
			WHERE tenant_id = $1 GROUP BY currency, status) f
		FULL JOIN (SELECT currency, status, sum(invoices) AS n, sum(total) AS t, sum(balance) AS b FROM billing_invoice_tallies
			WHERE tenant_id = $1 GROUP BY currency, status HAVING sum(invoices) <> 0) y USING (currency, status)
		WHERE f.n IS DISTINCT FROM y.n OR f.t IS DISTINCT FROM y.t OR f.b IS DISTINCT FROM y.b`))
	// Pending: one active step, the request's current one, with approvers who are not the requester.
	require.Zero(t, count(`SELECT count(*) FROM approval_requests r WHERE tenant_id = $1 AND status = 'pending' AND NOT EXISTS (
		SELECT 1 FROM approval_steps s JOIN approval_step_approvers a USING (tenant_id, request_id, round, position)
		WHERE s.tenant_id = r.tenant_id AND s.request_id = r.id AND s.round = r.round AND s.position = r.current_step
		  AND s.status = 'active' AND a.user_id <> r.requester_id)`))
	require.Zero(t, count(`SELECT count(*) FROM approval_step_approvers a JOIN approval_requests r ON r.tenant_id = a.tenant_id
		AND r.id = a.request_id WHERE a.tenant_id = $1 AND a.user_id = r.requester_id`))
	// Decided requests: the deciding step's decision matches the status.
	require.Zero(t, count(`SELECT count(*) FROM approval_requests r WHERE tenant_id = $1 AND status IN ('approved', 'rejected', 'returned')
		AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = r.tenant_id AND d.request_id = r.id
		  AND d.decision = CASE r.status WHEN 'approved' THEN 'approve' WHEN 'rejected' THEN 'reject' ELSE 'return' END)`))
	// The COPY of steps, approvers and decisions leaves the inbox's waiting_since (migration 00021's
	// triggers) as the app would: the step's activation exactly while it is active and undecided for them.
	require.Positive(t, count(`SELECT count(*) FROM approval_step_approvers WHERE tenant_id = $1 AND waiting_since IS NOT NULL`))
	require.Zero(t, count(`SELECT count(*) FROM approval_step_approvers a
		JOIN approval_steps s ON s.tenant_id = a.tenant_id AND s.request_id = a.request_id AND s.round = a.round AND s.position = a.position
		WHERE a.tenant_id = $1 AND a.waiting_since IS DISTINCT FROM (
			CASE WHEN s.status = 'active' AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id
				AND d.request_id = a.request_id AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id)
			THEN s.activated_at END)`))
	var next int64
	require.NoError(t, owner.QueryRow(ctx, `SELECT next_number FROM approval_settings WHERE tenant_id = $1`, tenantID).Scan(&next))
	require.Equal(t, int64(smallTenantRequests+1), next)
	var trigger string
	require.NoError(t, owner.QueryRow(ctx, `SELECT tgenabled FROM pg_trigger WHERE tgname = 'billing_invoice_lines_frozen'`).Scan(&trigger))
	require.Equal(t, "O", trigger, "the line trigger is enabled again")

	lines := count(`SELECT count(*) FROM billing_invoice_lines WHERE tenant_id = $1`)
	load() // idempotent
	require.Equal(t, lines, count(`SELECT count(*) FROM billing_invoice_lines WHERE tenant_id = $1`))
	require.Equal(t, smallTenantRequests, count(`SELECT count(*) FROM approval_requests WHERE tenant_id = $1`))

	_, err = audit.SealAll(ctx, b.DB)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"audit-verify"}, envMap(map[string]string{"DATABASE_URL": b.AppURL}), &out, io.Discard))
	require.Contains(t, out.String(), "tenant "+tenantID.String()+": ok")
}
