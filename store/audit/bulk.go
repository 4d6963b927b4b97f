package audit

import (
	"context"
	"fmt"

	"ledgerline/store"
)

// recordManyBatch is how many events one statement of RecordMany inserts.
const recordManyBatch = 5000

// RecordMany writes many events in tx like Record does, a few thousand per statement: a bulk operation (an
// import of 100,000 items) keeps its per-record trail without a round trip per record. The events get the
// same actor, request and client address, from tx's scope.
func RecordMany(ctx context.Context, tx *store.Tx, events []RecordParams) error {
	var actor *store.ID
	if a := tx.Scope.ActorID; a != (store.ID{}) {
		actor = &a
	} else if c := tx.Scope.ClientID; c != (store.ID{}) {
		actor = &c
	}
	for start := 0; start < len(events); start += recordManyBatch {
		batch := events[start:min(start+recordManyBatch, len(events))]
		ids := make([]string, len(batch))
		actions := make([]string, len(batch))
		types := make([]string, len(batch))
		entities := make([]string, len(batch))
		befores := make([]*string, len(batch))
		afters := make([]*string, len(batch))
		for i, p := range batch {
			ids[i], actions[i], types[i], entities[i] = store.NewID().String(), p.Action, p.EntityType, p.EntityID
			for _, s := range []struct {
				v   any
				out **string
				err string
			}{{p.Before, &befores[i], "before"}, {p.After, &afters[i], "after"}} {
				b, err := marshalState(s.v)
				if err != nil {
					return fmt.Errorf("error encoding audit %s-state for %s: %w", s.err, p.Action, err)
				}
				if b != nil {
					str := string(b)
					*s.out = &str
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO audit_events (id, actor_id, action, entity_type, entity_id, before, after, request_id, client_ip)
			SELECT e.id, $1, e.action, e.entity_type, e.entity_id, e.before::jsonb, e.after::jsonb, $2, $3
			FROM unnest($4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
				AS e (id, action, entity_type, entity_id, before, after)`,
			actor, tx.Scope.RequestID, tx.Scope.ClientIP, ids, actions, types, entities, befores, afters); err != nil {
			return fmt.Errorf("error recording %d audit events: %w", len(batch), err)
		}
	}
	return nil
}
