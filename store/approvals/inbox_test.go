package approvals_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

// referenceInbox is "Waiting for me" as it was computed before approver rows carried waiting_since (every
// active step of the tenant, its request, approvers and decisions), kept as the specification the indexed
// inbox must match: items oldest waiting first, each for the actor themselves when they are an approver,
// else for the first principal by id.
const referenceInbox = `
	SELECT r.id, s.round, s.position, who.user_id AS for_id
	FROM approval_steps s
	JOIN approval_requests r ON r.tenant_id = s.tenant_id AND r.id = s.request_id AND r.round = s.round AND r.current_step = s.position
	JOIN LATERAL (
		SELECT a.user_id FROM approval_step_approvers a
		WHERE a.tenant_id = s.tenant_id AND a.request_id = s.request_id AND a.round = s.round AND a.position = s.position
		  AND a.user_id = ANY($2)
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id AND d.request_id = a.request_id
		                  AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id)
		ORDER BY a.user_id = $3 DESC, a.user_id LIMIT 1) who ON true
	WHERE s.tenant_id = $1 AND s.status = 'active' AND r.status = 'pending' AND r.requester_id <> $3
	  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = s.tenant_id AND d.request_id = s.request_id
	                  AND d.round = s.round AND d.position = s.position AND d.decided_by = $3)
	ORDER BY s.activated_at, s.request_id`

type inboxRow struct {
	ID       store.ID `db:"id"`
	Round    int      `db:"round"`
	Position int      `db:"position"`
	ForID    store.ID `db:"for_id"`
}

func (r inboxRow) String() string {
	return fmt.Sprintf("%s r%d s%d for %s", r.ID, r.Round, r.Position, r.ForID)
}

// requireInboxesMatch compares, for every person of tenant A who may decide, the inbox read page by page
// (pages of two), its bounded count and its export count with referenceInbox; and checks the triggers'
// invariant on every approver row: waiting_since is the step's activation exactly while the step is active
// and no decision counts for the approver.
func (tb *testBundle) requireInboxesMatch(ctx context.Context, t *testing.T, stage string) {
	t.Helper()
	var broken int
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &broken, `
			SELECT count(*) FROM approval_step_approvers a
			JOIN approval_steps s ON s.tenant_id = a.tenant_id AND s.request_id = a.request_id AND s.round = a.round AND s.position = a.position
			WHERE a.tenant_id = $1 AND a.waiting_since IS DISTINCT FROM (
				CASE WHEN s.status = 'active' AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id
					AND d.request_id = a.request_id AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id)
				THEN s.activated_at END)`, tb.a)
	}))
	require.Zero(t, broken, "%s: approver rows whose waiting_since disagrees with their step and decisions", stage)
	total := 0
	for _, who := range []string{"admin", "manager", "manager2", "fin1", "fin2", "fin3"} {
		sc := tb.as(who)
		var want []inboxRow
		require.NoError(t, tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
			principals, err := approvals.PrincipalsOf(ctx, tx, sc.ActorID)
			if err != nil {
				return err
			}
			ids := make([]string, len(principals))
			for i, p := range principals {
				ids[i] = p.String()
			}
			return tx.SelectContext(ctx, &want, referenceInbox, tb.a, ids, sc.ActorID)
		}))
		var got []inboxRow
		p := approvals.InboxParams{Limit: 2}
		for {
			res, err := approvals.Inbox(ctx, tb.db, sc, p)
			require.NoError(t, err)
			for _, it := range res.Items {
				got = append(got, inboxRow{ID: it.ID, Round: it.Round, Position: it.Position, ForID: it.ForID})
			}
			if res.Next == "" {
				break
			}
			p.After = res.Next
		}
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(got), "%s: inbox of %s", stage, who)
		n, err := approvals.InboxCount(ctx, tb.db, sc)
		require.NoError(t, err)
		require.Equal(t, len(want), n, "%s: count of %s", stage, who)
		var all int64
		require.NoError(t, tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
			all, err = approvals.InboxItemsCount(ctx, tx)
			return err
		}))
		require.EqualValues(t, len(want), all, "%s: export count of %s", stage, who)
		total += len(want)
	}
	require.Positive(t, total, "%s: something waits for someone", stage)
}

// TestInboxMatchesReference walks requests through every kind of step change (activation, a partial
// quorum, an "all" step half done, approval, rejection, send back and resubmission, withdrawal, delegation
// in and out, a delegate who decided for someone, one's own request reached through a delegation,
// escalation) and after each stage requires the indexed inbox to equal the reference query for everyone.
func TestInboxMatchesReference(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	_, err := approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeGeneral, Bands: []approvals.Band{
		{From: 0, To: ptr(int64(100000)), Steps: []approvals.Step{{Name: "Manager", Approver: approvals.ApproverManager, Mode: approvals.ModeAny}}},
		{From: 100000, Steps: []approvals.Step{
			{Name: "Two of finance", Approver: approvals.ApproverRole, Role: identity.RoleFinance, Mode: approvals.ModeQuorum, Quorum: 2},
			{Name: "Admin and Sales", Approver: approvals.ApproverUsers, UserIDs: []store.ID{tb.ids["admin"], tb.ids["manager2"]},
				Mode: approvals.ModeAll}}},
	}})
	require.NoError(t, err)
	decide := func(who string, id store.ID, d approvals.DecisionKind) {
		t.Helper()
		_, err := tb.decide(ctx, who, id, d, "because")
		require.NoError(t, err)
	}

	small := tb.submitted(ctx, t, "emp", 500)      // waits for manager
	tb.submitted(ctx, t, "emp2", 600)              // waits for manager2
	partial := tb.submitted(ctx, t, "emp", 200000) // two of finance
	second := tb.submitted(ctx, t, "emp", 300000)  // on to its "all" step
	rejected := tb.submitted(ctx, t, "emp", 700)   // rejected by manager
	returned := tb.submitted(ctx, t, "emp2", 800)  // sent back, then resubmitted
	withdrawn := tb.submitted(ctx, t, "emp", 900)  // withdrawn while waiting
	own := tb.submitted(ctx, t, "fin1", 400000)    // fin1's own: fin2 and fin3 decide
	tb.requireInboxesMatch(ctx, t, "submitted")

	decide("fin1", partial.ID, approvals.DecisionApprove)
	decide("fin1", second.ID, approvals.DecisionApprove)
	decide("fin2", second.ID, approvals.DecisionApprove)
	decide("admin", second.ID, approvals.DecisionApprove)
	decide("manager", rejected.ID, approvals.DecisionReject)
	decide("manager2", returned.ID, approvals.DecisionReturn)
	w, err := approvals.RequestWithdraw(ctx, tb.db, tb.as("emp"), withdrawn.ID, withdrawn.Version)
	require.NoError(t, err)
	require.Equal(t, approvals.StatusWithdrawn, w.Status)
	tb.requireInboxesMatch(ctx, t, "decided")

	back, err := approvals.RequestGet(ctx, tb.db, tb.as("emp2"), returned.ID)
	require.NoError(t, err)
	_, err = approvals.RequestSubmit(ctx, tb.db, tb.as("emp2"), returned.ID, back.Version)
	require.NoError(t, err)
	tb.requireInboxesMatch(ctx, t, "resubmitted")

	// fin3 is out and delegates to fin1: fin1 now also sees fin3's items, except on the step fin1 decided
	// already (a person decides once per step) and on fin1's own request. manager is out too, to manager2.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("fin3"), approvals.DelegationCreateParams{DelegateID: tb.ids["fin1"],
		StartsOn: today, EndsOn: today.AddDate(0, 0, 3)})
	require.NoError(t, err)
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("manager"), approvals.DelegationCreateParams{DelegateID: tb.ids["manager2"],
		StartsOn: today, EndsOn: today.AddDate(0, 0, 3)})
	require.NoError(t, err)
	tb.submitted(ctx, t, "emp", 250000)
	tb.requireInboxesMatch(ctx, t, "delegated")
	in, err := approvals.Inbox(ctx, tb.db, tb.as("fin1"), approvals.InboxParams{})
	require.NoError(t, err)
	for _, it := range in.Items {
		require.NotEqual(t, partial.ID, it.ID, "fin1 decided on this step already, for themselves")
		require.NotEqual(t, own.ID, it.ID, "never one's own request, not even as a delegate")
	}

	// manager2 approves small on manager's behalf.
	decide("manager2", small.ID, approvals.DecisionApprove)
	tb.requireInboxesMatch(ctx, t, "decided as delegates")

	// Escalation at breach adds approvers to the active steps: they wait from the step's activation on.
	res, err := approvals.SLARun(ctx, tb.db, tb.a, time.Now().Add(365*24*time.Hour))
	require.NoError(t, err)
	require.Positive(t, res.Escalations)
	tb.requireInboxesMatch(ctx, t, "escalated")
}

// TestInboxReadsOnePage checks the plans at a scale where it matters: with 1,500 requests waiting for one
// approver (written behind the app's back, then analyzed), a page of the inbox reads one page of that
// approver's index entries and the count at most InboxCountMax, never the whole list, and the count no step.
func TestInboxReadsOnePage(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	owner, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer func() { _ = owner.Close(context.WithoutCancel(ctx)) }()
	const waiting = 1500
	// Like the bench data, most of the manager's approver rows are history (decided requests): 20,000 here.
	_, err = owner.Exec(ctx, `
		INSERT INTO approval_requests (tenant_id, id, number, request_type, status, requester_id, title, amount, currency, round,
			current_step, submitted_at, created_at)
		SELECT $1, gen_random_uuid(), 100000 + g, 'general', CASE WHEN g <= $3 THEN 'pending' ELSE 'approved' END, $2,
			'Bulk ' || g, 100, 'EUR', 1, CASE WHEN g <= $3 THEN 1 END, now() - g * interval '1 minute', now() - g * interval '1 minute'
		FROM generate_series(1, $3::int + 20000) g`, tb.a, tb.ids["emp"], waiting)
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `
		INSERT INTO approval_steps (tenant_id, request_id, round, position, name, approver_kind, mode, needed, sla_hours, status, activated_at)
		SELECT tenant_id, id, 1, 1, 'Manager', 'manager', 'any', 1, 16, CASE status WHEN 'pending' THEN 'active' ELSE 'approved' END,
			submitted_at
		FROM approval_requests WHERE tenant_id = $1 AND number > 100000`, tb.a)
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `
		INSERT INTO approval_step_approvers (tenant_id, request_id, round, position, user_id)
		SELECT tenant_id, id, 1, 1, $2 FROM approval_requests WHERE tenant_id = $1 AND number > 100000`, tb.a, tb.ids["manager"])
	require.NoError(t, err)
	_, err = owner.Exec(ctx, `ANALYZE approval_requests, approval_steps, approval_step_approvers, approval_decisions`)
	require.NoError(t, err)

	// plan runs EXPLAIN ANALYZE of q as the manager and returns every node of the plan.
	plan := func(q string, args ...any) []map[string]any {
		var out []byte
		sc := tb.as("manager")
		require.NoError(t, tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &out, `EXPLAIN (ANALYZE, FORMAT JSON) `+q, args...)
		}))
		var doc []struct {
			Plan map[string]any `json:"Plan"`
		}
		require.NoError(t, json.Unmarshal(out, &doc))
		var nodes []map[string]any
		var walk func(n map[string]any)
		walk = func(n map[string]any) {
			nodes = append(nodes, n)
			kids, _ := n["Plans"].([]any)
			for _, k := range kids {
				walk(k.(map[string]any))
			}
		}
		walk(doc[0].Plan)
		return nodes
	}
	// readOf sums the rows the plan's scans of table returned, failing on a sequential scan of it. (Only the
	// approver rows are checked so: the few steps and decisions of a test database are rightly scanned whole.)
	readOf := func(nodes []map[string]any, table string) float64 {
		rows := 0.0
		for _, n := range nodes {
			if n["Relation Name"] != table {
				continue
			}
			require.NotEqual(t, "Seq Scan", n["Node Type"], "a sequential scan of %s: %s", table, planText(nodes))
			loops, _ := n["Actual Loops"].(float64)
			r, _ := n["Actual Rows"].(float64)
			rows += r * loops
		}
		return rows
	}
	principals := []string{tb.ids["manager"].String()}
	const limit = 50
	page := plan(approvals.InboxPageQuery(""), tb.a, principals, tb.ids["manager"], limit+1)
	require.LessOrEqual(t, readOf(page, "approval_step_approvers"), float64(limit+1), "a page reads a page of index entries: %s",
		planText(page))
	for _, n := range page {
		if n["Relation Name"] == "approval_step_approvers" {
			require.Equal(t, "approval_step_approvers_waiting_idx", n["Index Name"])
		}
	}
	count := plan(approvals.InboxCountQuery, tb.a, principals, tb.ids["manager"], approvals.InboxCountMax)
	require.LessOrEqual(t, readOf(count, "approval_step_approvers"), float64(approvals.InboxCountMax), "the count stops at its bound: %s",
		planText(count))
	for _, n := range count {
		require.NotEqual(t, "approval_steps", n["Relation Name"], "the count needs no step")
	}

	// And the results agree: the oldest first, the count at its bound.
	res, err := approvals.Inbox(ctx, tb.db, tb.as("manager"), approvals.InboxParams{Limit: limit})
	require.NoError(t, err)
	require.Len(t, res.Items, limit)
	require.NotEmpty(t, res.Next)
	require.Equal(t, "Bulk 1500", res.Items[0].Title)
	n, err := approvals.InboxCount(ctx, tb.db, tb.as("manager"))
	require.NoError(t, err)
	require.Equal(t, approvals.InboxCountMax, n)
}

// planText is a plan's nodes, one a line, for a failure message.
func planText(nodes []map[string]any) string {
	var b strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&b, "\n%v %v %v rows=%v loops=%v", n["Node Type"], n["Relation Name"], n["Index Name"], n["Actual Rows"], n["Actual Loops"])
	}
	return b.String()
}

// TestRouteEndsCleanly checks the step statuses a finished route leaves (decisions close later waiting
// steps only when there are any): a rejection at the first of three steps cancels the other two, a send-back
// at the second cancels the third, and three approvals leave three approved steps.
func TestRouteEndsCleanly(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	statuses := func(id store.ID) []string {
		var out []string
		for _, s := range tb.detail(ctx, t, id).Route {
			out = append(out, s.Status)
		}
		return out
	}
	const big = 2_000_000 // above the finance limit: manager, finance, administrator
	rejected := tb.submitted(ctx, t, "emp", big)
	_, err := tb.decide(ctx, "manager", rejected.ID, approvals.DecisionReject, "No")
	require.NoError(t, err)
	require.Equal(t, []string{"rejected", "cancelled", "cancelled"}, statuses(rejected.ID))

	returned := tb.submitted(ctx, t, "emp", big)
	_, err = tb.decide(ctx, "manager", returned.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	_, err = tb.decide(ctx, "fin2", returned.ID, approvals.DecisionReturn, "Split it")
	require.NoError(t, err)
	require.Equal(t, []string{"approved", "returned", "cancelled"}, statuses(returned.ID))
	// The route, read in one statement, carries each step's approvers and decisions in full.
	route := tb.detail(ctx, t, returned.ID).Route
	require.Equal(t, [][]string{{"Manager"}, {"Fin1", "Fin2", "Fin3"}, {"Admin"}}, approverNames(route))
	require.Len(t, route[1].Decisions, 1)
	dec := route[1].Decisions[0]
	require.Equal(t, approvals.DecisionReturn, dec.Decision)
	require.Equal(t, "Split it", dec.Comment)
	require.Equal(t, "Fin2", dec.Who())
	require.Equal(t, tb.ids["fin2"], dec.ApproverID)
	require.Equal(t, 1, dec.Round)
	require.Equal(t, 2, dec.Position)
	require.WithinDuration(t, time.Now(), dec.CreatedAt, time.Minute)
	require.Equal(t, time.Local, dec.CreatedAt.Location())
	require.Empty(t, route[2].Decisions)

	approved := tb.submitted(ctx, t, "emp", big)
	for _, who := range []string{"manager", "fin3", "admin"} {
		_, err = tb.decide(ctx, who, approved.ID, approvals.DecisionApprove, "")
		require.NoError(t, err)
	}
	require.Equal(t, []string{"approved", "approved", "approved"}, statuses(approved.ID))
	tb.submitted(ctx, t, "emp", big) // one still waiting, beside the finished ones
	tb.requireInboxesMatch(ctx, t, "finished")
}

// TestListScansMatchReflection: the inbox and the request list scan their rows into fields explicitly
// (no reflection on the hot pages); every field must come out as sqlx's reflection reads it, for requests
// of every type with and without optional values.
func TestListScansMatchReflection(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	_, err := approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeGeneral, Bands: []approvals.Band{
		{From: 0, Steps: []approvals.Step{{Name: "Manager", Approver: approvals.ApproverManager, Mode: approvals.ModeAny, SLAHours: 8}}},
	}})
	require.NoError(t, err)
	tb.submitted(ctx, t, "emp", 500)
	tb.submitted(ctx, t, "emp", 0)
	tb.submitted(ctx, t, "emp2", 123456)

	inbox, inboxReflected, err := approvals.InboxBothWays(ctx, tb.db, tb.as("manager"))
	require.NoError(t, err)
	require.NotEmpty(t, inbox)
	require.Equal(t, inboxReflected, inbox)

	all, allReflected, err := approvals.RequestsBothWays(ctx, tb.db, tb.as("admin"))
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, allReflected, all)
}
