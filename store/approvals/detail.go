package approvals

import (
	"context"
	"fmt"
	"strconv"
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
		if out.Lines, err = linesTx(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out.Receipts, `
			SELECT f.id AS file_id, f.name, f.content_type, f.size, f.created_at
			FROM approval_request_files a JOIN files f ON f.tenant_id = a.tenant_id AND f.id = a.file_id
			WHERE a.tenant_id = $1 AND a.request_id = $2 ORDER BY a.created_at, f.id`, tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error loading receipts of %s: %w", id, err)
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
			if a, err := principalFor(ctx, tx, r, out.Route[*r.CurrentStep-1], tx.Scope.ActorID, time.Now()); err == nil {
				out.CanDecide, out.ActingFor = true, &a
				out.ActingName = memberName(ctx, tx, a)
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

const inboxQuery = `
	FROM approval_steps s
	JOIN approval_requests r ON r.tenant_id = s.tenant_id AND r.id = s.request_id AND r.round = s.round AND r.current_step = s.position
	JOIN users u ON u.id = r.requester_id
	JOIN LATERAL (
		SELECT a.user_id FROM approval_step_approvers a
		WHERE a.tenant_id = s.tenant_id AND a.request_id = s.request_id AND a.round = s.round AND a.position = s.position
		  AND a.user_id = ANY($2)
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id AND d.request_id = a.request_id
		                  AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id)
		ORDER BY a.user_id = $3 DESC, a.user_id LIMIT 1) who ON true
	JOIN users uf ON uf.id = who.user_id
	WHERE s.tenant_id = $1 AND s.status = 'active' AND r.status = 'pending' AND r.requester_id <> $3
	  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = s.tenant_id AND d.request_id = s.request_id
	                  AND d.round = s.round AND d.position = s.position AND d.decided_by = $3)`

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
	args := []any{tx.Scope.TenantID, idStrings(principals), tx.Scope.ActorID}
	q := `SELECT ` + requestColumns + `, s.position, s.name AS step_name, s.due_at, s.activated_at, who.user_id AS for_id,
		uf.name AS for_name ` + inboxQuery
	if p.After != "" {
		t, id, err := cursorDecode(p.After)
		if err != nil {
			return nil, err
		}
		args = append(args, t, id)
		q += ` AND (s.activated_at, s.request_id) > ($4, $5)`
	}
	args = append(args, p.Limit+1)
	q += ` ORDER BY s.activated_at, s.request_id LIMIT $` + strconv.Itoa(len(args))
	var res InboxResult
	if err := tx.SelectContext(ctx, &res.Items, q, args...); err != nil {
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
		return tx.GetContext(ctx, &n, `SELECT count(*) FROM (SELECT 1 `+inboxQuery+` LIMIT $4) x`,
			tx.Scope.TenantID, idStrings(principals), tx.Scope.ActorID, InboxCountMax)
	})
	return n, err
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
