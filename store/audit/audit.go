// Package audit owns the audit trail: append-only events written in the same transaction as the change
// they describe, sealed periodically into a per-tenant hash chain that `ledgerline audit-verify` checks.
//
// The app role can insert and read events and seals, never change or delete them.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"ledgerline/store"
)

// Event is one audit record. Before and After are the entity's state around the change (nil when it did
// not exist before, or no longer exists after); they are stored as JSON.
type Event struct {
	ID         store.ID  `db:"id"`
	TenantID   store.ID  `db:"tenant_id"`
	OccurredAt time.Time `db:"occurred_at"`
	ActorID    *store.ID `db:"actor_id"`
	Action     string    `db:"action"`
	EntityType string    `db:"entity_type"`
	EntityID   string    `db:"entity_id"`
	Before     []byte    `db:"before"`
	After      []byte    `db:"after"`
	RequestID  string    `db:"request_id"`
	ClientIP   string    `db:"client_ip"`
}

// RecordParams describes a change to record. Action is "<domain>.<verb>", e.g. "auth.sign_in".
type RecordParams struct {
	Action     string
	EntityType string
	EntityID   string
	Before     any
	After      any
}

// Record writes an audit event in tx for the tenant, actor, request and client address of tx's scope.
func Record(ctx context.Context, tx *store.Tx, p RecordParams) error {
	before, err := marshalState(p.Before)
	if err != nil {
		return fmt.Errorf("error encoding audit before-state for %s: %w", p.Action, err)
	}
	after, err := marshalState(p.After)
	if err != nil {
		return fmt.Errorf("error encoding audit after-state for %s: %w", p.Action, err)
	}
	// The actor is the member, or for a machine caller the OAuth client's id.
	var actor *store.ID
	if a := tx.Scope.ActorID; a != (store.ID{}) {
		actor = &a
	} else if c := tx.Scope.ClientID; c != (store.ID{}) {
		actor = &c
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO audit_events (id, actor_id, action, entity_type, entity_id, before, after, request_id, client_ip)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		store.NewID(), actor, p.Action, p.EntityType, p.EntityID, before, after, tx.Scope.RequestID, tx.Scope.ClientIP)
	if err != nil {
		return fmt.Errorf("error recording audit event %s: %w", p.Action, err)
	}
	return nil
}

// RecordInUserTenants records the event in every tenant the user belongs to, inside tx. It is for changes
// to a person rather than to one tenant's data (a password reset), which each organization must see.
// tx must have been opened for that user (ActorID), so the user's memberships are visible.
func RecordInUserTenants(ctx context.Context, tx *store.Tx, userID store.ID, p RecordParams) error {
	// A user's memberships in all tenants are visible only outside any tenant.
	if err := tx.SetTenant(ctx, store.ID{}); err != nil {
		return err
	}
	var tenants []store.ID
	if err := tx.SelectContext(ctx, &tenants,
		`SELECT tenant_id FROM memberships WHERE user_id = $1 ORDER BY tenant_id`, userID); err != nil {
		return fmt.Errorf("error listing tenants of user %s: %w", userID, err)
	}
	for _, t := range tenants {
		if err := tx.SetTenant(ctx, t); err != nil {
			return err
		}
		if err := Record(ctx, tx, p); err != nil {
			return err
		}
	}
	return tx.SetTenant(ctx, tx.Scope.TenantID)
}

func marshalState(v any) ([]byte, error) {
	switch s := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return s, nil
	case []byte:
		return s, nil
	}
	return json.Marshal(v)
}
