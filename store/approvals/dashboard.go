package approvals

import (
	"context"
	"fmt"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// InboxHeadResult is the top of the actor's inbox for the home page: how many requests wait for them (at
// most InboxCountMax) and the ones waiting longest.
type InboxHeadResult struct {
	Count int         `json:"count"`
	Items []InboxItem `json:"items"`
}

// InboxHead returns how many requests wait for the actor's decision and the n that wait longest (n from 1
// to 20), in one transaction so the two agree. The actor needs ApprovalsDecide.
func InboxHead(ctx context.Context, db *store.DB, scope store.Scope, n int) (*InboxHeadResult, error) {
	if n <= 0 || n > 20 {
		n = 5
	}
	var out InboxHeadResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
			return err
		}
		principals, err := principalsOf(ctx, tx, tx.Scope.ActorID)
		if err != nil {
			return err
		}
		if err := inboxCountTx(ctx, tx, principals, &out.Count); err != nil {
			return err
		}
		page, err := inboxPageTx(ctx, tx, principals, InboxParams{Limit: n})
		if err != nil {
			return err
		}
		out.Items = page.Items
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// OpenRequestsResult is the actor's own requests that are not finished: how many are drafts, waiting for
// approval and sent back for changes, and the first few to look at.
type OpenRequestsResult struct {
	Draft    int       `json:"draft"`
	Pending  int       `json:"pending"`
	Returned int       `json:"returned"`
	Requests []Request `json:"requests"`
}

// Total is the number of open requests.
func (o OpenRequestsResult) Total() int { return o.Draft + o.Pending + o.Returned }

// OpenRequests returns the actor's open requests (draft, pending, sent back): their counts by status and
// the n to look at first (n from 1 to 20): those sent back for changes, then drafts, then those waiting
// for approval, each the most recently changed first. The actor needs ApprovalsSubmit.
func OpenRequests(ctx context.Context, db *store.DB, scope store.Scope, n int) (*OpenRequestsResult, error) {
	if n <= 0 || n > 20 {
		n = 5
	}
	var out OpenRequestsResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		var counts []struct {
			Status Status `db:"status"`
			N      int    `db:"n"`
		}
		if err := tx.SelectContext(ctx, &counts, `
			SELECT status, count(*) AS n FROM approval_requests
			WHERE tenant_id = $1 AND requester_id = $2 AND status IN ('draft', 'pending', 'returned')
			GROUP BY status`, tx.Scope.TenantID, tx.Scope.ActorID); err != nil {
			return fmt.Errorf("error counting open requests: %w", err)
		}
		for _, c := range counts {
			switch c.Status {
			case StatusDraft:
				out.Draft = c.N
			case StatusPending:
				out.Pending = c.N
			case StatusReturned:
				out.Returned = c.N
			}
		}
		if err := tx.SelectContext(ctx, &out.Requests, `SELECT `+requestColumns+requestFrom+`
			WHERE r.tenant_id = $1 AND r.requester_id = $2 AND r.status IN ('draft', 'pending', 'returned')
			ORDER BY CASE r.status WHEN 'returned' THEN 0 WHEN 'draft' THEN 1 ELSE 2 END, r.updated_at DESC, r.id DESC
			LIMIT $3`, tx.Scope.TenantID, tx.Scope.ActorID, n); err != nil {
			return fmt.Errorf("error loading open requests: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
