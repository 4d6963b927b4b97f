package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
)

// ListParams filters and pages the audit log, as typed in the filter form. Every filter is optional:
//   - Actor is a user id;
//   - Action is a whole action or its leading dot-separated parts ("auth" finds auth.sign_in and
//     auth.sign_out, "auth.sign_in" finds only that action, not auth.sign_in_failed);
//   - EntityType matches exactly, EntityID too (EntityID needs EntityType);
//   - From and To are dates (2006-01-02), both included, read in Location (the tenant's time zone; UTC
//     when nil).
//
// After is the opaque cursor of the previous page; Limit defaults to 50 (at most 200).
type ListParams struct {
	Actor      string
	Action     string
	EntityType string
	EntityID   string
	From, To   string
	Location   *time.Location
	After      string
	Limit      int
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

// listFilter is ListParams checked and converted for the query.
type listFilter struct {
	actor      *store.ID
	action     string
	entityType string
	entityID   string
	from, to   *time.Time // to is exclusive: the start of the day after the To date
}

// filter validates p. Problems are field errors keyed by the filter form's field names.
func (p ListParams) filter() (listFilter, error) {
	var (
		f   store.FieldErrors
		out listFilter
	)
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	if a := strings.TrimSpace(p.Actor); a != "" {
		id, err := store.ParseID(a)
		if err != nil {
			f.Add("actor", "Choose a person from the list.")
		} else {
			out.actor = &id
		}
	}
	out.action = strings.Trim(strings.ToLower(strings.TrimSpace(p.Action)), ".")
	if len(out.action) > 100 || strings.Trim(out.action, "abcdefghijklmnopqrstuvwxyz_.") != "" {
		f.Add("action", "Enter an action or the start of one, using letters, dots and underscores, like auth.sign_in.")
	}
	out.entityType = strings.TrimSpace(p.EntityType)
	out.entityID = strings.TrimSpace(p.EntityID)
	if len(out.entityType) > 100 {
		f.Add("entity_type", "Enter an entity type of up to 100 characters, like department.")
	}
	if len(out.entityID) > 200 {
		f.Add("entity_id", "Enter an entity id of up to 200 characters.")
	}
	if out.entityID != "" && out.entityType == "" {
		f.Add("entity_type", "Enter the entity type too, like department.")
	}
	day := func(field, s string) *time.Time {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			f.Add(field, "Enter a date like 2026-03-31.")
			return nil
		}
		return &t
	}
	out.from = day("from", p.From)
	if to := day("to", p.To); to != nil {
		next := to.AddDate(0, 0, 1)
		out.to = &next
		if out.from != nil && !out.from.Before(next) {
			f.Add("to", "Enter an end date on or after the start date.")
		}
	}
	return out, f.Err()
}

// listQuery reads events with their actor; the WHERE clause follows.
const listQuery = listedEventColumns + `
	FROM audit_events_all e
	LEFT JOIN users u ON u.id = e.actor_id`

// listedEventColumns are the columns of a ListedEvent, from events e joined with their actor u.
const listedEventColumns = `
	SELECT e.tenant_id, e.id, e.occurred_at, e.actor_id, e.action, e.entity_type, e.entity_id,
	       e.before, e.after, e.request_id, e.client_ip, u.name AS actor_name, u.email AS actor_email`

// List returns a page of the tenant's audit events, newest first, with keyset pagination on
// (occurred_at, id) so every page costs the same however deep it is. The caller checks the actor may read
// the audit log (identity.AuditRead): this package sits below identity and cannot know roles.
func List(ctx context.Context, db *store.DB, scope store.Scope, p ListParams) (*ListResult, error) {
	flt, err := p.filter()
	if err != nil {
		return nil, err
	}
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
	res := &ListResult{}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		res, err = pageTx(ctx, tx, flt, afterTime, afterID, p.Limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("error listing audit events: %w", err)
	}
	return res, nil
}

// writeFilters adds flt's filters to a query over audit_events_all e, each a fixed SQL fragment added only
// when used: every combination of filters is its own statement with its own generic plan, which
// PostgreSQL keeps per connection instead of planning each execution over every monthly partition (a
// catch-all "$2 IS NULL OR e.actor_id = $2" would need a custom plan each time to use the right index).
func writeFilters(q *strings.Builder, flt listFilter, arg func(any) string) {
	if flt.actor != nil {
		q.WriteString(` AND e.actor_id = ` + arg(*flt.actor))
	}
	if flt.action != "" {
		n := arg(flt.action)
		q.WriteString(` AND (e.action = ` + n + ` OR starts_with(e.action, ` + n + ` || '.'))`)
	}
	if flt.entityType != "" {
		q.WriteString(` AND e.entity_type = ` + arg(flt.entityType))
	}
	if flt.entityID != "" {
		q.WriteString(` AND e.entity_id = ` + arg(flt.entityID))
	}
	if flt.from != nil {
		q.WriteString(` AND e.occurred_at >= ` + arg(*flt.from))
	}
	if flt.to != nil {
		q.WriteString(` AND e.occurred_at < ` + arg(*flt.to))
	}
}

// pageTx reads one page of events matching flt after (afterTime, afterID) in tx.
func pageTx(ctx context.Context, tx *store.Tx, flt listFilter, afterTime *time.Time, afterID *store.ID, limit int) (*ListResult, error) {
	args := []any{tx.Scope.TenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var q strings.Builder
	q.WriteString(listQuery + ` WHERE e.tenant_id = $1`)
	writeFilters(&q, flt, arg)
	if afterTime != nil && afterID != nil {
		// Spelled out rather than as a row comparison, so that the time bound prunes partitions and bounds
		// the index scans.
		t, id := arg(*afterTime), arg(*afterID)
		q.WriteString(` AND e.occurred_at <= ` + t + ` AND (e.occurred_at < ` + t + ` OR e.id < ` + id + `)`)
	}
	q.WriteString(` ORDER BY e.occurred_at DESC, e.id DESC` + store.Limit(limit+1))
	res := &ListResult{}
	if err := tx.SelectContext(ctx, &res.Events, q.String(), args...); err != nil {
		return nil, err
	}
	if len(res.Events) > limit {
		last := res.Events[limit-1]
		res.Events = res.Events[:limit]
		res.Next = encodeCursor(last.OccurredAt, last.ID)
	}
	return res, nil
}

// EventsEach calls fn for every event of the audit log matching p, newest first like the log page
// (p.After and p.Limit are ignored), a thousand events per keyset query in tx. fn must not use tx. As
// for List, the caller checks the actor may read the audit log.
func EventsEach(ctx context.Context, tx *store.Tx, p ListParams, fn func(ListedEvent) error) error {
	flt, err := p.filter()
	if err != nil {
		return err
	}
	var (
		afterTime *time.Time
		afterID   *store.ID
	)
	for {
		res, err := pageTx(ctx, tx, flt, afterTime, afterID, 1000)
		if err != nil {
			return fmt.Errorf("error listing audit events: %w", err)
		}
		for _, e := range res.Events {
			if err := fn(e); err != nil {
				return err
			}
		}
		if res.Next == "" {
			return nil
		}
		last := res.Events[len(res.Events)-1]
		afterTime, afterID = &last.OccurredAt, &last.ID
	}
}

// EventsCount counts the events matching p. As for List, the caller checks the actor's right.
func EventsCount(ctx context.Context, tx *store.Tx, p ListParams) (int64, error) {
	flt, err := p.filter()
	if err != nil {
		return 0, err
	}
	args := []any{tx.Scope.TenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var q strings.Builder
	q.WriteString(`SELECT count(*) FROM audit_events_all e WHERE e.tenant_id = $1`)
	writeFilters(&q, flt, arg)
	var n int64
	if err := tx.GetContext(ctx, &n, q.String(), args...); err != nil {
		return 0, fmt.Errorf("error counting audit events: %w", err)
	}
	return n, nil
}

// EventDetail is one event with its actor and its place in the hash chain (nil until sealed).
type EventDetail struct {
	ListedEvent
	SealSeq  *int64     `db:"seal_seq"`
	SealedAt *time.Time `db:"sealed_at"`
}

// Get returns one event of scope's tenant; an event of another tenant is NotFound. As for List, the caller
// checks the actor may read the audit log.
func Get(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*EventDetail, error) {
	var ev EventDetail
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return store.Get(ctx, tx, &ev, "No such audit event.", `
			SELECT e.tenant_id, e.id, e.occurred_at, e.actor_id, e.action, e.entity_type, e.entity_id,
			       e.before, e.after, e.request_id, e.client_ip, u.name AS actor_name, u.email AS actor_email,
			       s.seq AS seal_seq, s.sealed_at
			FROM audit_events_all e
			LEFT JOIN users u ON u.id = e.actor_id
			LEFT JOIN audit_seals s ON s.tenant_id = e.tenant_id AND s.event_id = e.id
			WHERE e.tenant_id = $1 AND e.id = $2`, scope.TenantID, id)
	})
	if err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return nil, err
		}
		return nil, fmt.Errorf("error loading audit event %s: %w", id, err)
	}
	return &ev, nil
}

// ActorChoice is a person the audit log can be filtered by.
type ActorChoice struct {
	ID    store.ID `db:"id"`
	Name  string   `db:"name"`
	Email string   `db:"email"`
}

// ActorChoices lists the members of scope's tenant, deactivated ones included (their events stay in the
// log), by name: at most 1000.
func ActorChoices(ctx context.Context, db *store.DB, scope store.Scope) ([]ActorChoice, error) {
	var out []ActorChoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &out, `
			SELECT u.id, u.name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 ORDER BY lower(u.name), u.id LIMIT 1000`, scope.TenantID)
	})
	if err != nil {
		return nil, fmt.Errorf("error listing audit actors: %w", err)
	}
	return out, nil
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
		return time.Time{}, store.ID{}, errors.New("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	id, err := store.ParseID(idStr)
	return t, id, err
}

// LatestChange returns the id of the newest event of scope's tenant in the domain that prefix names
// ("inventory." or "inventory": actions "inventory.*"), or "" when there is none. Every change writes an
// event in its own transaction, so this moves whenever the domain's data changes: caches of aggregates key
// on it. It asks audit_latest_change (migration 00022), which runs as the owner for the tenant of the
// transaction only: under row-level security the index on the action's domain is out of reach (split_part
// is not leakproof) and the query walked the tenant's events through every partition; as the owner it is
// one probe of that index per partition.
func LatestChange(ctx context.Context, db *store.DB, scope store.Scope, prefix string) (string, error) {
	var id *store.ID
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &id, `SELECT audit_latest_change($1)`, strings.TrimSuffix(prefix, "."))
	})
	if err != nil {
		return "", fmt.Errorf("error finding the latest %s change: %w", prefix, err)
	}
	if id == nil {
		return "", nil
	}
	return id.String(), nil
}
