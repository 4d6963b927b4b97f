package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"ledgerline/store"
)

// ListParams filters and pages the audit log. After is the opaque cursor of the previous page.
type ListParams struct {
	Action string
	After  string
	Limit  int
}

// ListedEvent is an event with its actor's name for display.
type ListedEvent struct {
	Event
	ActorName  *string `db:"actor_name"`
	ActorEmail *string `db:"actor_email"`
}

// ListResult is one page of events, newest first, and the cursor of the next page ("" at the end).
type ListResult struct {
	Events []ListedEvent
	Next   string
}

// List returns a page of the tenant's audit events, newest first, with keyset pagination on
// (occurred_at, id) so every page costs the same however deep it is.
func List(ctx context.Context, db *store.DB, scope store.Scope, p ListParams) (*ListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var (
		afterTime *time.Time
		afterID   *store.ID
	)
	if p.After != "" {
		t, id, err := decodeCursor(p.After)
		if err != nil {
			return nil, store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")
		}
		afterTime, afterID = &t, &id
	}
	action := strings.TrimSpace(p.Action)
	res := &ListResult{}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &res.Events, `
			SELECT e.tenant_id, e.id, e.occurred_at, e.actor_id, e.action, e.entity_type, e.entity_id,
			       e.before, e.after, e.request_id, e.client_ip, u.name AS actor_name, u.email AS actor_email
			FROM audit_events e
			LEFT JOIN users u ON u.id = e.actor_id
			WHERE ($1 = '' OR e.action = $1 OR e.action LIKE $1 || '.%')
			  AND ($2::timestamptz IS NULL OR (e.occurred_at, e.id) < ($2, $3))
			ORDER BY e.occurred_at DESC, e.id DESC
			LIMIT $4`, action, afterTime, afterID, p.Limit+1)
	})
	if err != nil {
		return nil, fmt.Errorf("error listing audit events: %w", err)
	}
	if len(res.Events) > p.Limit {
		last := res.Events[p.Limit-1]
		res.Events = res.Events[:p.Limit]
		res.Next = encodeCursor(last.OccurredAt, last.ID)
	}
	return res, nil
}

func encodeCursor(t time.Time, id store.ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

func decodeCursor(s string) (time.Time, store.ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	ts, idStr, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, store.ID{}, fmt.Errorf("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	id, err := store.ParseID(idStr)
	return t, id, err
}
