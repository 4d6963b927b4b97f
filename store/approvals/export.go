package approvals

import (
	"context"
	"fmt"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// EachPageSize is how many rows RequestsEach and InboxItemsEach read per query: large enough that an export
// of 100,000 requests takes 20 queries, small enough that a page is a few megabytes.
const EachPageSize = 5000

// RequestsEach calls fn for every request of the request list with p's filter (my requests when p.Mine,
// else all requests), newest first like the list page (p.After and p.Limit are ignored), reading page by
// page with the list's own keyset query in tx. fn must not use tx. The actor needs ApprovalsSubmit for
// their own requests and ApprovalsRead for everyone's, as on the page.
func RequestsEach(ctx context.Context, tx *store.Tx, p RequestListParams, fn func(Request) error) error {
	return requestsEach(ctx, tx, p, EachPageSize, fn)
}

func requestsEach(ctx context.Context, tx *store.Tx, p RequestListParams, pageSize int, fn func(Request) error) error {
	if err := requestListPermit(ctx, tx, p); err != nil {
		return err
	}
	p.After, p.Limit = "", pageSize
	for {
		res, err := requestPageTx(ctx, tx, p)
		if err != nil {
			return err
		}
		for _, r := range res.Requests {
			if err := fn(r); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// RequestsCount counts the requests of the request list with p's filter, with the same rights as
// RequestsEach.
func RequestsCount(ctx context.Context, tx *store.Tx, p RequestListParams) (int64, error) {
	if err := requestListPermit(ctx, tx, p); err != nil {
		return 0, err
	}
	q, args, err := requestListQuery(tx, p, true)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := tx.GetContext(ctx, &n, q, args...); err != nil {
		return 0, fmt.Errorf("error counting requests: %w", err)
	}
	return n, nil
}

// InboxItemsEach calls fn for every request waiting for the actor's decision (for themselves or for whoever
// delegated to them today), oldest waiting first like "Waiting for me", reading page by page with the
// inbox's keyset query in tx. fn must not use tx. The actor needs ApprovalsDecide.
func InboxItemsEach(ctx context.Context, tx *store.Tx, fn func(InboxItem) error) error {
	return inboxItemsEach(ctx, tx, EachPageSize, fn)
}

func inboxItemsEach(ctx context.Context, tx *store.Tx, pageSize int, fn func(InboxItem) error) error {
	if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
		return err
	}
	principals, err := principalsOf(ctx, tx, tx.Scope.ActorID)
	if err != nil {
		return err
	}
	p := InboxParams{Limit: pageSize}
	for {
		res, err := inboxPageTx(ctx, tx, principals, p)
		if err != nil {
			return err
		}
		for _, it := range res.Items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		p.After = res.Next
	}
}

// InboxItemsCount counts the requests waiting for the actor's decision, without InboxCount's bound. The
// actor needs ApprovalsDecide.
func InboxItemsCount(ctx context.Context, tx *store.Tx) (int64, error) {
	if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
		return 0, err
	}
	principals, err := principalsOf(ctx, tx, tx.Scope.ActorID)
	if err != nil {
		return 0, err
	}
	var n int64
	// No bound: each principal's range is read to its end (LIMIT NULL).
	if err := tx.GetContext(ctx, &n, `SELECT count(DISTINCT w.request_id)`+inboxWaiting("", false), tx.Scope.TenantID,
		idStrings(principals), tx.Scope.ActorID, nil); err != nil {
		return 0, fmt.Errorf("error counting inbox: %w", err)
	}
	return n, nil
}
