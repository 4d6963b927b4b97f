package approvals

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// TimelineEntry is one event of a request's history, from the audit trail.
type TimelineEntry struct {
	At        time.Time `db:"occurred_at" json:"at"`
	Action    string    `db:"action" json:"action"`
	ActorName string    `db:"actor_name" json:"actor_name,omitempty"`
	After     []byte    `db:"after" json:"-"`
}

// Label says what happened, as people read it.
func (e TimelineEntry) Label() string {
	switch e.Action {
	case "approvals.request_create":
		return "Created the draft"
	case "approvals.request_update":
		return "Changed the request"
	case "approvals.receipt_add":
		return "Attached a receipt"
	case "approvals.receipt_remove":
		return "Removed a receipt"
	case "approvals.request_submit":
		return "Submitted for approval"
	case "approvals.request_withdraw":
		return "Withdrew the request"
	case "approvals.decision_approve":
		return "Approved"
	case "approvals.decision_reject":
		return "Rejected"
	case "approvals.decision_return":
		return "Sent back for changes"
	case "approvals.sla_reminder":
		return "Reminded the approvers: half the SLA has passed"
	case "approvals.sla_escalate":
		return "Escalated: the SLA was breached"
	case "approvals.reimburse":
		return "Marked reimbursed"
	}
	return e.Action
}

// RequestDetail is a request with everything its page shows, and what the viewer may do with it.
// ActingFor is the approver the viewer would decide for (themselves or the one who delegated to them);
// DecideBlock says why the viewer cannot decide when they are involved but may not.
type RequestDetail struct {
	Request
	Lines      []Line          `json:"lines,omitempty"`
	Receipts   []Receipt       `json:"receipts,omitempty"`
	Route      []RouteStep     `json:"route"`
	Timeline   []TimelineEntry `json:"-"`
	Mine       bool            `json:"-"`
	CanDecide  bool            `json:"-"`
	ActingFor  *store.ID       `json:"-"`
	ActingName string          `json:"-"`
}

// RequestGet returns a request with its lines, receipts, current route and timeline. The requester, anyone
// with ApprovalsRead and the request's approvers (and their delegates) may see it; to anyone else, and for
// another tenant's request, it is NotFound.
func RequestGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*RequestDetail, error) {
	var out RequestDetail
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		r, err := requestGetTx(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if err := canSee(ctx, tx, r); err != nil {
			return err
		}
		out.Request = *r
		out.Mine = r.RequesterID == tx.Scope.ActorID
		// Only purchase requests have lines and only expense claims receipts (RequestFields.validate and
		// ReceiptAdd see to it, and a request's type never changes): the other read is skipped.
		if r.Type == TypePurchase {
			if out.Lines, err = linesTx(ctx, tx, id); err != nil {
				return err
			}
		}
		if r.Type == TypeExpense {
			if err := tx.SelectContext(ctx, &out.Receipts, `
			SELECT f.id AS file_id, f.name, f.content_type, f.size, f.created_at
			FROM approval_request_files a JOIN files f ON f.tenant_id = a.tenant_id AND f.id = a.file_id
			WHERE a.tenant_id = $1 AND a.request_id = $2 ORDER BY a.created_at, f.id`, tx.Scope.TenantID, id); err != nil {
				return fmt.Errorf("error loading receipts of %s: %w", id, err)
			}
		}
		if r.Round > 0 {
			if out.Route, err = stepsTx(ctx, tx, id, r.Round); err != nil {
				return err
			}
		}
		if err := tx.SelectContext(ctx, &out.Timeline, `
			SELECT e.occurred_at, e.action, coalesce(u.name, '') AS actor_name, e.after
			FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id
			WHERE e.tenant_id = $1 AND e.entity_type = 'approval_request' AND e.entity_id = $2
			ORDER BY e.occurred_at, e.id LIMIT 500`, tx.Scope.TenantID, id.String()); err != nil {
			return fmt.Errorf("error loading timeline of %s: %w", id, err)
		}
		if r.Status == StatusPending && r.CurrentStep != nil && !out.Mine && tx.Scope.ActorID != (store.ID{}) &&
			permit(ctx, tx, identity.ApprovalsDecide) == nil {
			step := out.Route[*r.CurrentStep-1]
			if a, err := principalFor(ctx, tx, r, step, tx.Scope.ActorID, time.Now()); err == nil {
				out.CanDecide, out.ActingFor = true, &a
				out.ActingName = step.approverName(a)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// InboxItem is a request waiting for the actor's decision, for themselves or for whoever delegated to them.
type InboxItem struct {
	Request
	Position    int        `db:"position" json:"position"`
	StepName    string     `db:"step_name" json:"step_name"`
	DueAt       *time.Time `db:"due_at" json:"due_at,omitempty"`
	ActivatedAt time.Time  `db:"activated_at" json:"activated_at"`
	ForID       store.ID   `db:"for_id" json:"for_id"`
	ForName     string     `db:"for_name" json:"for_name"`
}

// scanFields returns i's fields in the order of inboxPageQuery's columns.
func (i *InboxItem) scanFields() []any {
	return append(i.Request.scanFields(), &i.Position, &i.StepName, &i.DueAt, &i.ActivatedAt, &i.ForID, &i.ForName)
}

// Delegated reports whether the actor sees the item as someone's delegate.
func (i InboxItem) Delegated(actor store.ID) bool { return i.ForID != actor }

// InboxParams pages the inbox: After is the previous page's cursor; Limit defaults to 50.
type InboxParams struct {
	After string
	Limit int
}

// InboxResult is one page of the inbox and the cursor of the next.
type InboxResult struct {
	Items []InboxItem
	Next  string
}

// inboxWaiting is, for each person in $2 (the actor $3 and whoever delegated to them today), that person's
// waiting items, at most $4 each: approver rows whose waiting_since is set (the step is active and no
// decision counts for them; kept by the triggers of migration 00021), on requests pending at that step (the
// request row stays the authority) that are not the actor's own, and on steps the actor has not decided on
// already (for anyone). Each person's rows come from one range of
// approval_step_approvers_waiting_idx, so a page reads a page of index entries per person, not every active
// step of the tenant. keyset is a condition on a's columns (or empty); ordered puts each person's rows in
// inbox order (a page needs it, a count does not, and without it the count stops after $4 rows whatever
// plan is chosen). OFFSET 0 keeps both checks per-row probes of a primary or unique key: as joins the
// planner may hash every pending request, or every decision the actor ever made, before the first row.
func inboxWaiting(keyset string, ordered bool) string {
	order := ""
	if ordered {
		order = ` ORDER BY a.waiting_since, a.request_id`
	}
	return `
	FROM unnest($2::uuid[]) p(user_id)
	CROSS JOIN LATERAL (
		SELECT a.request_id, a.round, a.position, a.user_id, a.waiting_since
		FROM approval_step_approvers a
		WHERE a.tenant_id = $1 AND a.user_id = p.user_id AND a.waiting_since IS NOT NULL` + keyset + `
		  AND EXISTS (SELECT 1 FROM approval_requests r WHERE r.tenant_id = a.tenant_id AND r.id = a.request_id
		              AND r.status = 'pending' AND r.round = a.round AND r.current_step = a.position AND r.requester_id <> $3
		              OFFSET 0)
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id AND d.request_id = a.request_id
		                  AND d.round = a.round AND d.position = a.position AND d.decided_by = $3 OFFSET 0)` + order + `
		LIMIT $4) w`
}

// inboxPageQuery reads one page of the inbox, from after the keyset condition on: the waiting items of
// every principal merged, one per request (for the actor themselves when they are an approver, else for the
// first principal by id), oldest waiting first. A request's active step is the only one with waiting
// approvers, and every item in the first $4 of the merged list is in the first $4 of some principal's, so
// $4 per principal is enough.
func inboxPageQuery(keyset string) string {
	return `
	WITH w AS (
		SELECT DISTINCT ON (w.request_id) w.request_id, w.round, w.position, w.user_id, w.waiting_since` + inboxWaiting(keyset, true) + `
		ORDER BY w.request_id, w.user_id = $3 DESC, w.user_id)
	SELECT ` + requestColumns + `, s.position, s.name AS step_name, s.due_at, s.activated_at, w.user_id AS for_id,
		uf.name AS for_name
	FROM w
	JOIN approval_steps s ON s.tenant_id = $1 AND s.request_id = w.request_id AND s.round = w.round AND s.position = w.position
	JOIN approval_requests r ON r.tenant_id = $1 AND r.id = w.request_id
	JOIN users u ON u.id = r.requester_id
	JOIN users uf ON uf.id = w.user_id
	ORDER BY w.waiting_since, w.request_id LIMIT $4`
}

// inboxCountQuery counts the requests waiting for the actor, at most $4.
var inboxCountQuery = `SELECT count(*) FROM (SELECT DISTINCT w.request_id` + inboxWaiting("", false) + ` LIMIT $4) x`

// Inbox returns the requests waiting for the actor's decision, oldest waiting first. The actor needs
// ApprovalsDecide.
func Inbox(ctx context.Context, db *store.DB, scope store.Scope, p InboxParams) (*InboxResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var res *InboxResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
			return err
		}
		principals, err := principalsOf(ctx, tx, tx.Scope.ActorID)
		if err != nil {
			return err
		}
		res, err = inboxPageTx(ctx, tx, principals, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// inboxPageTx reads one page of p.Limit items of the inbox of the actor, who acts for principals (themselves
// and whoever delegated to them today); the caller has checked the actor's right.
func inboxPageTx(ctx context.Context, tx *store.Tx, principals []store.ID, p InboxParams) (*InboxResult, error) {
	args := []any{tx.Scope.TenantID, idStrings(principals), tx.Scope.ActorID, p.Limit + 1}
	keyset := ""
	if p.After != "" {
		t, id, err := cursorDecode(p.After)
		if err != nil {
			return nil, err
		}
		args = append(args, t, id)
		keyset = ` AND (a.waiting_since, a.request_id) > ($5, $6)`
	}
	var res InboxResult
	if err := store.ScanRows(ctx, tx, &res.Items, (*InboxItem).scanFields, inboxPageQuery(keyset), args...); err != nil {
		return nil, fmt.Errorf("error loading inbox: %w", err)
	}
	if len(res.Items) > p.Limit {
		res.Items = res.Items[:p.Limit]
		last := res.Items[p.Limit-1]
		res.Next = cursorEncode(last.ActivatedAt, last.ID)
	}
	return &res, nil
}

// InboxCountMax bounds InboxCount: the sidebar shows "999+" beyond it, and counting further costs time on
// every page.
const InboxCountMax = 1000

// InboxCount returns how many requests wait for the actor's decision, at most InboxCountMax (0 for those
// who may not decide).
func InboxCount(ctx context.Context, db *store.DB, scope store.Scope) (int, error) {
	var n int
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
			if store.ErrorCode(err) == store.Forbidden {
				return nil
			}
			return err
		}
		principals, err := principalsOf(ctx, tx, tx.Scope.ActorID)
		if err != nil {
			return err
		}
		return inboxCountTx(ctx, tx, principals, &n)
	})
	return n, err
}

// inboxCountTx counts the requests waiting for the actor, who acts for principals, at most InboxCountMax.
func inboxCountTx(ctx context.Context, tx *store.Tx, principals []store.ID, n *int) error {
	if err := tx.GetContext(ctx, n, inboxCountQuery, tx.Scope.TenantID, idStrings(principals), tx.Scope.ActorID,
		InboxCountMax); err != nil {
		return fmt.Errorf("error counting inbox: %w", err)
	}
	return nil
}

// ReimburseList returns approved expense claims not yet reimbursed, oldest approval first, at most 500.
// The actor needs BillingWrite (finance).
func ReimburseList(ctx context.Context, db *store.DB, scope store.Scope) ([]Request, error) {
	var out []Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `SELECT `+requestColumns+requestFrom+`
			WHERE r.tenant_id = $1 AND r.request_type = 'expense' AND r.status = 'approved' AND r.reimbursed_at IS NULL
			ORDER BY r.decided_at, r.id LIMIT 500`, tx.Scope.TenantID)
	})
	return out, err
}

// ReimburseMark records that an approved expense claim was paid back. Only approved, unreimbursed claims
// can be marked, once. The actor needs BillingWrite.
func ReimburseMark(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Request, error) {
	var out *Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		before, err := requestGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if before.Type != TypeExpense || before.Status != StatusApproved {
			return store.Errorf(store.Invalid, "%s is not an approved expense claim.", before.Ref())
		}
		if before.ReimbursedAt != nil {
			return store.Errorf(store.Conflict, "%s is marked reimbursed already.", before.Ref())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE approval_requests SET reimbursed_at = now(), updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error marking %s reimbursed: %w", id, err)
		}
		if out, err = requestGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.reimburse", EntityType: "approval_request",
			EntityID: id.String(), Before: before, After: out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
