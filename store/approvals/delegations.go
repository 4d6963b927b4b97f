package approvals

import (
	"context"
	"fmt"
	"slices"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Delegation hands a member's approvals to another member for a window of days (out of office), both
// days included, in the tenant's time zone.
type Delegation struct {
	ID            store.ID   `db:"id" json:"id"`
	DelegatorID   store.ID   `db:"delegator_id" json:"delegator_id"`
	DelegatorName string     `db:"delegator_name" json:"delegator_name"`
	DelegateID    store.ID   `db:"delegate_id" json:"delegate_id"`
	DelegateName  string     `db:"delegate_name" json:"delegate_name"`
	StartsOn      time.Time  `db:"starts_on" json:"starts_on"`
	EndsOn        time.Time  `db:"ends_on" json:"ends_on"`
	Note          string     `db:"note" json:"note,omitempty"`
	RevokedAt     *time.Time `db:"revoked_at" json:"revoked_at,omitempty"`
	CreatedAt     time.Time  `db:"created_at" json:"created_at"`
}

const delegationColumns = `d.id, d.delegator_id, ua.name AS delegator_name, d.delegate_id, ub.name AS delegate_name,
	d.starts_on, d.ends_on, d.note, d.revoked_at, d.created_at`

const delegationFrom = ` FROM approval_delegations d JOIN users ua ON ua.id = d.delegator_id JOIN users ub ON ub.id = d.delegate_id`

// delegationChainMax is how many hand-overs a chain may take before it is refused as too long.
const delegationChainMax = 5

// graph is the delegations in force on one day: delegator → delegate.
type graph map[store.ID]store.ID

// delegationGraph loads the delegations in force at now in the tenant's time zone. One statement reads the
// tenant's time zone and the delegations in force on any day now may be somewhere (the UTC day and the
// days either side); the tenant's own day is then picked here.
func delegationGraph(ctx context.Context, tx *store.Tx, now time.Time) (graph, error) {
	var rows []struct {
		TimeZone string     `db:"time_zone"`
		From     *store.ID  `db:"delegator_id"`
		To       *store.ID  `db:"delegate_id"`
		StartsOn *time.Time `db:"starts_on"`
		EndsOn   *time.Time `db:"ends_on"`
	}
	if err := tx.SelectContext(ctx, &rows, `
		SELECT t.time_zone, d.delegator_id, d.delegate_id, d.starts_on, d.ends_on
		FROM tenants t LEFT JOIN approval_delegations d ON d.tenant_id = t.id AND d.revoked_at IS NULL
			AND d.starts_on <= $2::date + 1 AND d.ends_on >= $2::date - 1
		WHERE t.id = $1
		ORDER BY d.created_at LIMIT 10000`, tx.Scope.TenantID, now.UTC().Format(time.DateOnly)); err != nil {
		return nil, fmt.Errorf("error loading delegations: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("error loading delegations: tenant %s not found", tx.Scope.TenantID)
	}
	loc, err := store.LoadLocation(rows[0].TimeZone)
	if err != nil {
		loc = time.UTC
	}
	day := now.In(loc).Format(time.DateOnly)
	g := graph{}
	for _, r := range rows {
		if r.From == nil || r.StartsOn.Format(time.DateOnly) > day || r.EndsOn.Format(time.DateOnly) < day {
			continue
		}
		if _, ok := g[*r.From]; !ok {
			g[*r.From] = *r.To
		}
	}
	return g, nil
}

// chain returns the people a's approvals pass through, a first, stopping at a repeat or the limit.
func (g graph) chain(a store.ID) []store.ID {
	out := []store.ID{a}
	for cur := a; len(out) <= delegationChainMax+1; {
		next, ok := g[cur]
		if !ok || slices.Contains(out, next) {
			break
		}
		out = append(out, next)
		cur = next
	}
	return out
}

// resolve follows a's delegations to the one person who acts for a today. A loop or a chain longer than
// delegationChainMax stops with a problem to show, and nobody acts through it.
func (g graph) resolve(a store.ID) (store.ID, string) {
	seen := []store.ID{a}
	cur := a
	for {
		next, ok := g[cur]
		if !ok {
			return cur, ""
		}
		if slices.Contains(seen, next) {
			return store.ID{}, "the delegations form a loop"
		}
		seen = append(seen, next)
		if len(seen) > delegationChainMax+1 {
			return store.ID{}, fmt.Sprintf("the chain of delegations is longer than %d", delegationChainMax)
		}
		cur = next
	}
}

// principalsOf returns the people whose approvals user acts on today: user and everyone whose delegation
// chain resolves to user.
func principalsOf(ctx context.Context, tx *store.Tx, user store.ID) ([]store.ID, error) {
	g, err := delegationGraph(ctx, tx, time.Now())
	if err != nil {
		return nil, err
	}
	out := []store.ID{user}
	for from := range g {
		if to, problem := g.resolve(from); problem == "" && to == user && from != user {
			out = append(out, from)
		}
	}
	return out, nil
}

// DelegationCreateParams delegates the actor's approvals (or, for an admin, DelegatorID's) to DelegateID
// from StartsOn to EndsOn.
type DelegationCreateParams struct {
	DelegatorID *store.ID
	DelegateID  store.ID
	StartsOn    time.Time
	EndsOn      time.Time
	Note        string
}

// DelegationCreate records a delegation. The delegate must be an active member who may approve; nobody
// delegates to themselves; a delegator has one delegation at a time for any day; and a delegation that
// would close a loop with others overlapping its window is refused. The actor needs ApprovalsDecide, and
// AdminUsers to delegate for someone else.
func DelegationCreate(ctx context.Context, db *store.DB, scope store.Scope, p DelegationCreateParams) (*Delegation, error) {
	var f store.FieldErrors
	if p.DelegateID == (store.ID{}) {
		f.Add("delegate_id", "Choose who approves in your place.")
	}
	if p.StartsOn.IsZero() {
		f.Add("starts_on", "Enter the first day.")
	}
	if p.EndsOn.IsZero() {
		f.Add("ends_on", "Enter the last day.")
	} else if !p.StartsOn.IsZero() && p.EndsOn.Before(p.StartsOn) {
		f.Add("ends_on", "Enter a last day on or after the first day.")
	} else if p.EndsOn.Sub(p.StartsOn) > 366*24*time.Hour {
		f.Add("ends_on", "Delegate for at most a year at a time.")
	}
	p.Note = textField(&f, "note", p.Note, 0, 500, "Keep the note under 500 characters.")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out Delegation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
			return err
		}
		from := tx.Scope.ActorID
		if p.DelegatorID != nil && *p.DelegatorID != from {
			if err := permit(ctx, tx, identity.AdminUsers); err != nil {
				return err
			}
			from = *p.DelegatorID
		}
		if from == (store.ID{}) {
			return store.Errorf(store.Invalid, "Name whose approvals are delegated.")
		}
		if from == p.DelegateID {
			return (store.FieldErrors{"delegate_id": "Choose someone other than yourself."}).Err()
		}
		loc, err := tenantLocation(ctx, tx)
		if err != nil {
			return err
		}
		today := time.Now().In(loc).Format(time.DateOnly)
		if p.EndsOn.Format(time.DateOnly) < today {
			return (store.FieldErrors{"ends_on": "The window has ended already. Enter a last day from today on."}).Err()
		}
		ok, err := activeApprovers(ctx, tx, `m.user_id = ANY($2)`, tx.Scope.TenantID, idStrings([]store.ID{from, p.DelegateID}))
		if err != nil {
			return err
		}
		if !slices.Contains(ok, p.DelegateID) {
			return (store.FieldErrors{"delegate_id": "Choose an active member who may approve (administrator, manager or finance)."}).Err()
		}
		if !slices.Contains(ok, from) {
			return store.Errorf(store.Invalid, "Only members who may approve can delegate their approvals.")
		}
		// Locks the delegations touching either person, so two delegations that together would form a
		// loop are checked one after the other.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('approval_delegations:' || $1, 0))`,
			tx.Scope.TenantID.String()); err != nil {
			return fmt.Errorf("error locking delegations: %w", err)
		}
		var overlap int
		if err := tx.GetContext(ctx, &overlap, `
			SELECT count(*) FROM approval_delegations WHERE tenant_id = $1 AND delegator_id = $2 AND revoked_at IS NULL
			AND starts_on <= $4 AND ends_on >= $3`, tx.Scope.TenantID, from, p.StartsOn, p.EndsOn); err != nil {
			return fmt.Errorf("error checking delegations: %w", err)
		}
		if overlap > 0 {
			return (store.FieldErrors{"starts_on": "A delegation for these days exists already. Revoke it first, or choose other days."}).Err()
		}
		// Would the delegate's chain, over delegations overlapping this window, lead back to the delegator?
		var loop int
		if err := tx.GetContext(ctx, &loop, `
			WITH RECURSIVE chain(person, depth) AS (
				SELECT $2::uuid, 0
				UNION
				SELECT d.delegate_id, c.depth + 1 FROM chain c JOIN approval_delegations d
				ON d.tenant_id = $1 AND d.delegator_id = c.person AND d.revoked_at IS NULL AND d.starts_on <= $5 AND d.ends_on >= $4
				WHERE c.depth < 20)
			SELECT count(*) FROM chain WHERE person = $3`, tx.Scope.TenantID, p.DelegateID, from, p.StartsOn, p.EndsOn); err != nil {
			return fmt.Errorf("error checking delegation loop: %w", err)
		}
		if loop > 0 {
			return (store.FieldErrors{"delegate_id": "That person's approvals come back to you through their own delegations on these days: the delegations would form a loop."}).Err()
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO approval_delegations (id, delegator_id, delegate_id, starts_on, ends_on, note) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, from, p.DelegateID, p.StartsOn, p.EndsOn, p.Note); err != nil {
			return fmt.Errorf("error creating delegation: %w", err)
		}
		if err := store.Get(ctx, tx, &out, "No such delegation.", `SELECT `+delegationColumns+delegationFrom+` WHERE d.tenant_id = $1 AND d.id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.delegation_create", EntityType: "approval_delegation",
			EntityID: id.String(), After: out})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DelegationRevoke ends a delegation now. The delegator revokes their own; an admin anyone's.
func DelegationRevoke(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Delegation, error) {
	var out Delegation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
			return err
		}
		var before Delegation
		if err := store.Get(ctx, tx, &before, "No such delegation.", `SELECT `+delegationColumns+delegationFrom+
			` WHERE d.tenant_id = $1 AND d.id = $2 FOR UPDATE OF d`, tx.Scope.TenantID, id); err != nil {
			return err
		}
		if before.DelegatorID != tx.Scope.ActorID {
			if err := permit(ctx, tx, identity.AdminUsers); err != nil {
				return store.Errorf(store.NotFound, "No such delegation.")
			}
		}
		if before.RevokedAt != nil {
			return store.Errorf(store.Invalid, "This delegation is revoked already.")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE approval_delegations SET revoked_at = now() WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error revoking delegation %s: %w", id, err)
		}
		if err := store.Get(ctx, tx, &out, "No such delegation.", `SELECT `+delegationColumns+delegationFrom+` WHERE d.tenant_id = $1 AND d.id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.delegation_revoke", EntityType: "approval_delegation",
			EntityID: id.String(), Before: before, After: out})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DelegationList returns the delegations from or to the actor (all of the tenant's for an admin), current
// and future first, at most 200.
func DelegationList(ctx context.Context, db *store.DB, scope store.Scope) ([]Delegation, error) {
	var out []Delegation
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
			return err
		}
		all := permit(ctx, tx, identity.AdminUsers) == nil
		return tx.SelectContext(ctx, &out, `SELECT `+delegationColumns+delegationFrom+`
			WHERE d.tenant_id = $1 AND ($3 OR d.delegator_id = $2 OR d.delegate_id = $2)
			ORDER BY (d.revoked_at IS NULL AND d.ends_on >= current_date) DESC, d.starts_on DESC, d.id DESC LIMIT 200`,
			tx.Scope.TenantID, tx.Scope.ActorID, all)
	})
	return out, err
}
