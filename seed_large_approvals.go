package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

// Approvals bench data: the large tenant gets 100,000 requests (purchase requests with lines and general
// requests) in every state, each submitted one with its route frozen as requestSubmit freezes it (the
// policy's band for the amount, approvers resolved like planRoute: the department manager or the
// administrators standing in, then finance, then the administrators) and the decisions that brought it to
// its status. The ordinary tenants have only an administrator, who cannot approve their own requests:
// they get none. Settings and policies come from the store; the rows
// go in with COPY as the owner, with the audit events of creating, submitting and deciding.
const (
	largeRequests       = 100_000
	smallTenantRequests = 200
)

func init() { benchModules = append(benchModules, seedLargeApprovals) }

type benchMember struct {
	id         store.ID
	role       identity.Role
	department *store.ID
}

type benchStep struct {
	name, kind, role, mode, status    string
	needed, sla                       int
	approvers                         []store.ID
	activated, remind, due, decidedAt *time.Time
	decision                          string
	deciders                          []store.ID // who decided, each once: the first Needed approvers, or the one who refused
	decisionIDs                       []store.ID
	comment                           string
	position                          int
}

type benchRequest struct {
	id, requester      store.ID
	department         *store.ID
	number             int64
	typ                approvals.RequestType
	status             approvals.Status
	title              string
	amount             int64
	lines              []approvals.Line
	created, updated   time.Time
	submitted, decided *time.Time
	round              int
	current            *int
	steps              []benchStep
	version            int
}

func seedLargeApprovals(ctx context.Context, db *store.DB, owner *pgx.Conn, t benchTenant, stdout io.Writer) error {
	var has bool
	if err := owner.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM approval_requests WHERE tenant_id = $1)`, t.ID).Scan(&has); err != nil {
		return fmt.Errorf("error checking bench requests: %w", err)
	}
	if has {
		return nil
	}
	t0 := time.Now()
	scope := store.Scope{TenantID: t.ID}
	s, err := approvals.SettingsGet(ctx, db, scope)
	if err != nil {
		return err
	}
	policies := map[approvals.RequestType]*approvals.Policy{}
	for _, typ := range []approvals.RequestType{approvals.TypePurchase, approvals.TypeGeneral} {
		if policies[typ], err = approvals.PolicyGet(ctx, db, scope, typ); err != nil {
			return err
		}
	}
	var tz string
	var currency string
	if err := owner.QueryRow(ctx, `SELECT time_zone, currency FROM tenants WHERE id = $1`, t.ID).Scan(&tz, &currency); err != nil {
		return fmt.Errorf("error reading the tenant: %w", err)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	cal := s.Calendar(loc)
	// Members who may approve, in planRoute's order (by name), and everyone's department.
	rows, err := owner.Query(ctx, `SELECT m.user_id, m.role, m.department_id FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL ORDER BY lower(u.name), m.user_id`, t.ID)
	if err != nil {
		return fmt.Errorf("error listing bench members: %w", err)
	}
	var members []benchMember
	for rows.Next() {
		var m benchMember
		var role string
		if err := rows.Scan(&m.id, &role, &m.department); err != nil {
			return fmt.Errorf("error listing bench members: %w", err)
		}
		m.role = identity.Role(role)
		members = append(members, m)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error listing bench members: %w", err)
	}
	managers := map[store.ID]store.ID{}
	drows, err := owner.Query(ctx, `SELECT id, manager_id FROM departments WHERE tenant_id = $1 AND deleted_at IS NULL AND manager_id IS NOT NULL`, t.ID)
	if err != nil {
		return fmt.Errorf("error listing bench departments: %w", err)
	}
	for drows.Next() {
		var d, m store.ID
		if err := drows.Scan(&d, &m); err != nil {
			return fmt.Errorf("error listing bench departments: %w", err)
		}
		managers[d] = m
	}
	if err := drows.Err(); err != nil {
		return fmt.Errorf("error listing bench departments: %w", err)
	}
	approversWhere := func(ok func(benchMember) bool, requester store.ID) []store.ID {
		var ids []store.ID
		for _, m := range members {
			if m.id != requester && (m.role == identity.RoleAdmin || m.role == identity.RoleManager || m.role == identity.RoleFinance) && ok(m) {
				ids = append(ids, m.id)
			}
		}
		return ids
	}
	var requesters []benchMember
	for _, m := range members {
		if m.role == identity.RoleEmployee || m.role == identity.RoleManager {
			requesters = append(requesters, m)
		}
	}
	if len(requesters) == 0 {
		return nil // a tenant of administrators only: no one whose requests another person could approve
	}

	n := smallTenantRequests
	if t.Large {
		n = largeRequests
	}
	r := rand.New(rand.NewPCG(t.Seed, 1<<60)) // #nosec G404 -- bench data, deliberately repeatable
	yearAgo := t.Now.AddDate(-1, 0, 0)
	span := t.Now.Sub(yearAgo)
	reqs := make([]benchRequest, n)
	suppliers := []string{"Office Supplies Co", "Würth", "RS Components", "Bechtle", "Amazon Business", ""}
	for k := range reqs {
		q := &reqs[k]
		q.number = int64(k + 1)
		q.created = yearAgo.Add(time.Duration(int64(span)/int64(n)*int64(k)) + time.Duration(r.Int64N(int64(time.Minute))))
		q.updated = q.created
		q.id = uuidAt(q.created, r)
		// Employees ask most; managers and finance ask too.
		req := requesters[r.IntN(len(requesters))]
		q.requester, q.department = req.id, req.department
		q.version = 1
		if r.IntN(10) < 6 {
			q.typ = approvals.TypePurchase
			for l := range 1 + r.IntN(3) {
				cat := demoCategories[r.IntN(len(demoCategories))]
				line := approvals.Line{LineNo: l + 1, Description: fmt.Sprintf("%s for the %s", cat.nouns[r.IntN(len(cat.nouns))], cat.name),
					Quantity: approvals.Quantity(int64(1+r.IntN(50)) * 1000), UnitCost: int64(100 + r.IntN(60000)),
					Supplier: suppliers[r.IntN(len(suppliers))]}
				q.lines = append(q.lines, line)
				q.amount += line.Amount()
			}
			q.title = fmt.Sprintf("Purchase: %s", q.lines[0].Description)
		} else {
			q.typ = approvals.TypeGeneral
			q.amount = int64(r.IntN(4)) * int64(r.IntN(300_000))
			q.title = []string{"Conference attendance", "Team offsite", "Software subscription", "Contractor extension",
				"Trade fair booth", "Training course"}[r.IntN(6)]
		}
		age := t.Now.Sub(q.created)
		if r.IntN(100) < 5 || age < 12*time.Hour {
			q.status = approvals.StatusDraft
			continue
		}
		// Submitted; the route is frozen from the policy band of the amount.
		sub := q.created.Add(time.Duration(5+r.IntN(120)) * time.Minute)
		q.submitted, q.round = &sub, 1
		band, ok := policies[q.typ].Band(q.amount)
		if !ok {
			return fmt.Errorf("no band of the %s policy covers %d", q.typ, q.amount)
		}
		for i, st := range band.Steps {
			bs := benchStep{name: st.Name, kind: string(st.Approver), mode: string(st.Mode), sla: st.SLAHours, status: "waiting", position: i + 1}
			if bs.sla == 0 {
				bs.sla = s.DefaultSLAHours
			}
			switch st.Approver {
			case approvals.ApproverManager:
				if q.department != nil {
					if mgr, ok := managers[*q.department]; ok {
						bs.approvers = approversWhere(func(m benchMember) bool { return m.id == mgr }, q.requester)
					}
				}
				if len(bs.approvers) == 0 {
					bs.approvers = approversWhere(func(m benchMember) bool { return m.role == identity.RoleAdmin }, q.requester)
					bs.name += " (no other department manager: administrators)"
				}
			case approvals.ApproverRole:
				bs.role = string(st.Role)
				bs.approvers = approversWhere(func(m benchMember) bool { return m.role == st.Role }, q.requester)
			case approvals.ApproverUsers:
				bs.approvers = approversWhere(func(m benchMember) bool { return slices.Contains(st.UserIDs, m.id) }, q.requester)
			}
			if len(bs.approvers) == 0 {
				return fmt.Errorf("bench request %d: step %d has no approver", q.number, i+1)
			}
			switch st.Mode {
			case approvals.ModeAll:
				bs.needed = len(bs.approvers)
			case approvals.ModeQuorum:
				bs.needed = min(st.Quorum, len(bs.approvers))
			default:
				bs.needed = 1
			}
			q.steps = append(q.steps, bs)
		}
		// The outcome: recent requests are mostly still pending; older ones are decided.
		outcome, stop := approvals.StatusApproved, len(q.steps)
		switch x := r.IntN(100); {
		case age < 10*24*time.Hour && x < 70, x < 3:
			outcome, stop = approvals.StatusPending, 1+r.IntN(len(q.steps))
		case x < 18:
			outcome, stop = approvals.StatusRejected, 1+r.IntN(len(q.steps))
		case x < 26:
			outcome, stop = approvals.StatusReturned, 1+r.IntN(len(q.steps))
		}
		at := sub
		for i := range q.steps {
			st := &q.steps[i]
			if i+1 > stop {
				if outcome == approvals.StatusPending {
					break // still waiting
				}
				st.status = "cancelled"
				continue
			}
			act := at
			remind, due := cal.AddBusinessHours(act, time.Duration(st.sla)*time.Hour/2), cal.AddBusinessHours(act, time.Duration(st.sla)*time.Hour)
			st.activated, st.remind, st.due = &act, &remind, &due
			q.version++
			cur := i + 1
			q.current = &cur
			if i+1 == stop && outcome == approvals.StatusPending {
				st.status = "active"
				break
			}
			at = act.Add(time.Duration(10+r.IntN(600)) * time.Minute)
			if at.After(t.Now) {
				at = t.Now.Add(-time.Minute)
			}
			decided := at
			st.decidedAt = &decided
			st.deciders = st.approvers[:st.needed]
			st.decision, st.status = "approve", "approved"
			if i+1 == stop {
				switch outcome {
				case approvals.StatusRejected:
					st.decision, st.status, st.comment = "reject", "rejected", "Not in this quarter's budget."
				case approvals.StatusReturned:
					st.decision, st.status, st.comment = "return", "returned", "Please add a second quote."
				}
				if outcome != approvals.StatusApproved {
					st.deciders = st.approvers[:1]
				}
			}
			for range st.deciders {
				st.decisionIDs = append(st.decisionIDs, uuidAt(decided, r))
			}
		}
		q.status = outcome
		q.updated = at
		if outcome != approvals.StatusPending {
			q.current = nil
			d := at
			q.decided = &d
			q.version++
		}
	}

	tx, err := owner.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return err
	}
	i := 0
	if _, err := copyRows(ctx, tx, "approval_requests", []string{"tenant_id", "id", "number", "request_type", "status", "requester_id",
		"department_id", "title", "amount", "currency", "round", "current_step", "submitted_at", "decided_at", "created_at", "updated_at",
		"version"}, func() ([]any, error) {
		if i == len(reqs) {
			return nil, nil
		}
		q := &reqs[i]
		i++
		return []any{t.ID, q.id, q.number, string(q.typ), string(q.status), q.requester, q.department, q.title, q.amount, currency,
			q.round, q.current, q.submitted, q.decided, q.created, q.updated, q.version}, nil
	}); err != nil {
		return err
	}
	var pending [][]any
	// next fills pending from each request through fill, then hands out the rows one by one.
	next := func(fill func(q *benchRequest)) func() ([]any, error) {
		i = 0
		return func() ([]any, error) {
			for len(pending) == 0 {
				if i == len(reqs) {
					return nil, nil
				}
				i++
				fill(&reqs[i-1])
			}
			row := pending[0]
			pending = pending[1:]
			return row, nil
		}
	}
	if _, err := copyRows(ctx, tx, "approval_request_lines", []string{"tenant_id", "request_id", "line_no", "description", "quantity",
		"unit_cost", "supplier"}, next(func(q *benchRequest) {
		for _, l := range q.lines {
			pending = append(pending, []any{t.ID, q.id, l.LineNo, l.Description, numeric3(int64(l.Quantity)), l.UnitCost, l.Supplier})
		}
	})); err != nil {
		return err
	}
	if _, err := copyRows(ctx, tx, "approval_steps", []string{"tenant_id", "request_id", "round", "position", "name", "approver_kind",
		"approver_role", "mode", "needed", "sla_hours", "status", "activated_at", "remind_at", "due_at", "decided_at"},
		next(func(q *benchRequest) {
			for _, st := range q.steps {
				pending = append(pending, []any{t.ID, q.id, q.round, st.position, st.name, st.kind, st.role, st.mode, st.needed, st.sla,
					st.status, st.activated, st.remind, st.due, st.decidedAt})
			}
		})); err != nil {
		return err
	}
	if _, err := copyRows(ctx, tx, "approval_step_approvers", []string{"tenant_id", "request_id", "round", "position", "user_id"},
		next(func(q *benchRequest) {
			for _, st := range q.steps {
				for _, a := range st.approvers {
					pending = append(pending, []any{t.ID, q.id, q.round, st.position, a})
				}
			}
		})); err != nil {
		return err
	}
	nDecisions, err := copyRows(ctx, tx, "approval_decisions", []string{"tenant_id", "id", "request_id", "round", "position",
		"approver_id", "decided_by", "decision", "comment", "created_at"}, next(func(q *benchRequest) {
		for _, st := range q.steps {
			for d, who := range st.deciders {
				pending = append(pending, []any{t.ID, st.decisionIDs[d], q.id, q.round, st.position, who, who, st.decision,
					st.comment, *st.decidedAt})
			}
		}
	}))
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE approval_settings SET next_number = greatest(next_number, $2) WHERE tenant_id = $1`,
		t.ID, int64(n)+1); err != nil {
		return fmt.Errorf("error advancing the request number: %w", err)
	}
	nAudit, err := copyRows(ctx, tx, "audit_events", []string{"tenant_id", "id", "occurred_at", "actor_id", "action", "entity_type",
		"entity_id", "before", "after", "request_id", "client_ip"}, next(func(q *benchRequest) {
		pending = append(pending, []any{t.ID, uuidAt(q.created, r), q.created, q.requester, "approvals.request_create", "approval_request",
			q.id.String(), nil, fmt.Sprintf(`{"id":%q,"number":%d,"type":%q,"title":%q,"amount":%d,"status":"draft"}`,
				q.id, q.number, q.typ, q.title, q.amount), "", "10.0.0.4"})
		if q.submitted != nil {
			pending = append(pending, []any{t.ID, uuidAt(*q.submitted, r), *q.submitted, q.requester, "approvals.request_submit",
				"approval_request", q.id.String(), `{"status":"draft"}`, fmt.Sprintf(`{"id":%q,"status":"pending","round":1,"steps":%d}`,
					q.id, len(q.steps)), "", "10.0.0.4"})
		}
		for _, st := range q.steps {
			for d, who := range st.deciders {
				pending = append(pending, []any{t.ID, uuidAt(*st.decidedAt, r), *st.decidedAt, who, "approvals.decision_" + st.decision,
					"approval_request", q.id.String(), `{"status":"pending"}`, fmt.Sprintf(`{"id":%q,"decision":{"id":%q,"position":%d,"decision":%q}}`,
						q.id, st.decisionIDs[d], st.position, st.decision), "", "10.0.0.4"})
			}
		}
	}))
	if err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("error committing bench requests: %w", err)
	}
	if t.Large || t.Slug == fmt.Sprintf("bench-t%02d", smallTenants) {
		for _, table := range []string{"approval_requests", "approval_request_lines", "approval_steps", "approval_step_approvers", "approval_decisions"} {
			if _, err := owner.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
				return fmt.Errorf("error vacuuming %s: %w", table, err)
			}
		}
	}
	if t.Large {
		fmt.Fprintf(stdout, "seed large: %s: %d approval requests, %d decisions, %d audit events in %s\n",
			t.Slug, len(reqs), nDecisions, nAudit, time.Since(t0).Round(time.Second))
	}
	return nil
}
