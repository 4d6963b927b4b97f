package approvals

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
)

// RouteStep is one step of a request's frozen route, with its approvers and decisions.
type RouteStep struct {
	Round        int          `db:"round" json:"round"`
	Position     int          `db:"position" json:"position"`
	Name         string       `db:"name" json:"name"`
	ApproverKind ApproverKind `db:"approver_kind" json:"approver_kind"`
	ApproverRole string       `db:"approver_role" json:"approver_role,omitempty"`
	Mode         Mode         `db:"mode" json:"mode"`
	Needed       int          `db:"needed" json:"needed"`
	SLAHours     int          `db:"sla_hours" json:"sla_hours"`
	Status       string       `db:"status" json:"status"`
	ActivatedAt  *time.Time   `db:"activated_at" json:"activated_at,omitempty"`
	RemindAt     *time.Time   `db:"remind_at" json:"remind_at,omitempty"`
	DueAt        *time.Time   `db:"due_at" json:"due_at,omitempty"`
	RemindedAt   *time.Time   `db:"reminded_at" json:"reminded_at,omitempty"`
	EscalatedAt  *time.Time   `db:"escalated_at" json:"escalated_at,omitempty"`
	DecidedAt    *time.Time   `db:"decided_at" json:"decided_at,omitempty"`
	Approvers    []StepMember `db:"-" json:"approvers"`
	Decisions    []Decision   `db:"-" json:"decisions"`
}

// StepMember is an approver of a step; Escalated marks one added at the step's breach.
type StepMember struct {
	UserID    store.ID `db:"user_id" json:"user_id"`
	Name      string   `db:"name" json:"name"`
	Escalated bool     `db:"escalated" json:"escalated"`
}

// plannedStep is a step as computed at submission, before it is written.
type plannedStep struct {
	Step
	approvers []store.ID
	needed    int
	note      string
}

// activeApprovers returns the active members with a role that may approve who match query.
func activeApprovers(ctx context.Context, tx *store.Tx, query string, args ...any) ([]store.ID, error) {
	var ids []store.ID
	if err := tx.SelectContext(ctx, &ids, `
		SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.deactivated_at IS NULL AND u.disabled_at IS NULL
		  AND m.role IN ('admin', 'manager', 'finance') AND `+query+` ORDER BY lower(u.name), m.user_id`, args...); err != nil {
		return nil, fmt.Errorf("error resolving approvers: %w", err)
	}
	return ids, nil
}

// planRoute computes the steps and approvers of r under policy pol. The requester is never an approver.
// A step left without approvers is Invalid with a message that says what to fix, and nothing is written.
func planRoute(ctx context.Context, tx *store.Tx, r *Request, pol *Policy, s *Settings) ([]plannedStep, error) {
	band, ok := pol.Band(r.Amount)
	if !ok {
		return nil, store.Errorf(store.Invalid, "No band of the %s policy covers %s. Ask an administrator to fix the policy.",
			strings.ToLower(r.Type.Label()), formatMoney(r.Amount, r.Currency))
	}
	var out []plannedStep
	for i, st := range band.Steps {
		ps := plannedStep{Step: st}
		if ps.SLAHours == 0 {
			ps.SLAHours = s.DefaultSLAHours
		}
		var err error
		switch st.Approver {
		case ApproverManager:
			ps.approvers, err = activeApprovers(ctx, tx, `m.user_id = (
				SELECT d.manager_id FROM departments d WHERE d.tenant_id = $1 AND d.id = $2 AND d.deleted_at IS NULL)
				AND m.user_id <> $3`, tx.Scope.TenantID, r.DepartmentID, r.RequesterID)
			if err == nil && len(ps.approvers) == 0 {
				// No department, no manager, or the requester manages it: administrators stand in.
				ps.approvers, err = activeApprovers(ctx, tx, `m.role = 'admin' AND m.user_id <> $2`, tx.Scope.TenantID, r.RequesterID)
				ps.note = "no other department manager: administrators"
			}
		case ApproverRole:
			ps.approvers, err = activeApprovers(ctx, tx, `m.role = $2 AND m.user_id <> $3`, tx.Scope.TenantID, st.Role, r.RequesterID)
		case ApproverUsers:
			ps.approvers, err = activeApprovers(ctx, tx, `m.user_id = ANY($2) AND m.user_id <> $3`,
				tx.Scope.TenantID, idStrings(st.UserIDs), r.RequesterID)
		}
		if err != nil {
			return nil, err
		}
		if len(ps.approvers) == 0 {
			return nil, store.Errorf(store.Invalid, "Step %d (%s) has no one who may approve it other than you. Ask an administrator to adjust the approval policy.",
				i+1, st.Name)
		}
		switch st.Mode {
		case ModeAny:
			ps.needed = 1
		case ModeAll:
			ps.needed = len(ps.approvers)
		case ModeQuorum:
			ps.needed = st.Quorum
			if ps.needed > len(ps.approvers) {
				return nil, store.Errorf(store.Invalid, "Step %d (%s) needs %d approvals but only %d people other than you may approve it. Ask an administrator to adjust the approval policy.",
					i+1, st.Name, st.Quorum, len(ps.approvers))
			}
		}
		out = append(out, ps)
	}
	return out, nil
}

// routeStart freezes the route of r (already locked) for a new round and activates its first step.
func routeStart(ctx context.Context, tx *store.Tx, r *Request, steps []plannedStep, cal Calendar, now time.Time) (int, error) {
	round := r.Round + 1
	for i, ps := range steps {
		role := ""
		if ps.Approver == ApproverRole {
			role = string(ps.Role)
		}
		name := ps.Name
		if ps.note != "" {
			name += " (" + ps.note + ")"
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO approval_steps (request_id, round, position, name, approver_kind, approver_role, mode, needed, sla_hours)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			r.ID, round, i+1, name, ps.Approver, role, ps.Mode, ps.needed, ps.SLAHours); err != nil {
			return 0, fmt.Errorf("error writing step %d of %s: %w", i+1, r.ID, err)
		}
		for _, a := range ps.approvers {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO approval_step_approvers (request_id, round, position, user_id) VALUES ($1, $2, $3, $4)`,
				r.ID, round, i+1, a); err != nil {
				return 0, fmt.Errorf("error writing approver of step %d of %s: %w", i+1, r.ID, err)
			}
		}
	}
	if len(steps) == 0 {
		return 0, store.Errorf(store.Invalid, "The approval policy gives %s no steps. Ask an administrator to fix the policy.", r.Ref())
	}
	return round, stepActivate(ctx, tx, r, round, 1, steps[0].SLAHours, steps[0].approvers, cal, now)
}

// stepActivate starts a step's clock (reminder at half its SLA of sla business hours, escalation at its
// end), points the request at it and tells its approvers. The caller has the step's SLA and approvers at
// hand (just planned, or loaded with the route), so they are not read again.
func stepActivate(ctx context.Context, tx *store.Tx, r *Request, round, position, sla int, approvers []store.ID, cal Calendar, now time.Time) error {
	full := time.Duration(sla) * time.Hour
	remind, due := cal.AddBusinessHours(now, full/2), cal.AddBusinessHours(now, full)
	if _, err := tx.ExecContext(ctx, `
		UPDATE approval_steps SET status = 'active', activated_at = $5, remind_at = $6, due_at = $7
		WHERE tenant_id = $1 AND request_id = $2 AND round = $3 AND position = $4`,
		tx.Scope.TenantID, r.ID, round, position, now, remind, due); err != nil {
		return fmt.Errorf("error activating step %d of %s: %w", position, r.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE approval_requests SET current_step = $3, round = $4, updated_at = now(), version = version + 1
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, r.ID, position, round); err != nil {
		return fmt.Errorf("error moving %s to step %d: %w", r.ID, position, err)
	}
	approvers = slices.Clone(approvers)
	slices.SortFunc(approvers, func(a, b store.ID) int { return bytes.Compare(a[:], b[:]) })
	return tell(ctx, tx, approvers, "approvals.waiting", r.Ref()+" waits for your decision",
		fmt.Sprintf("%s asks for approval of %q (%s). Please decide by %s.", r.RequesterName, r.Title,
			formatMoney(r.Amount, r.Currency), due.In(cal.Loc).Format("Mon 2 Jan 15:04 MST")), r.ID)
}

// tell notifies members in the app and by e-mail, with a link to the request. The addresses are read in one
// statement, and only when e-mail can be sent (a sealer for the outbox is configured).
func tell(ctx context.Context, tx *store.Tx, users []store.ID, kind, title, body string, requestID store.ID) error {
	link := "/approvals/" + requestID.String()
	for _, u := range users {
		if err := notify.InApp(ctx, tx, notify.InAppParams{UserID: u, Kind: kind, Title: title, Body: body, Link: link}); err != nil {
			return err
		}
	}
	if tx.Secrets() == nil || len(users) == 0 {
		return nil
	}
	var rows []struct {
		ID    store.ID `db:"id"`
		Email string   `db:"email"`
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT id, email FROM users WHERE id = ANY($1)`, idStrings(users)); err != nil {
		return fmt.Errorf("error loading e-mail addresses: %w", err)
	}
	emails := make(map[store.ID]string, len(rows))
	for _, r := range rows {
		emails[r.ID] = r.Email
	}
	for _, u := range users {
		email, ok := emails[u]
		if !ok {
			return fmt.Errorf("error loading e-mail address of %s: no such user", u)
		}
		if err := notify.Email(ctx, tx, notify.EmailParams{To: email, Subject: title, Text: body + "\n\nOpen the request: " + link}); err != nil {
			return err
		}
	}
	return nil
}

// RequestSubmit puts the requester's own draft (or sent-back) request on its route: the policy band of
// its amount gives the steps, the approvers are resolved now and both are frozen on the request, so a
// later policy change never moves it. A stale version is a Conflict.
func RequestSubmit(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Request, error) {
	return requestSubmit(ctx, db, scope, id, version, time.Now())
}

func requestSubmit(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int, now time.Time) (*Request, error) {
	var out *Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		r, err := requestGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := requesterOnly(tx, r); err != nil {
			return err
		}
		if r.Version != version {
			return errRequestChanged
		}
		if !r.Status.Editable() {
			return store.Errorf(store.Invalid, "%s is %s: it cannot be submitted again.", r.Ref(), strings.ToLower(r.Status.Label()))
		}
		// The requester's department is taken at submission: the manager step follows where they work now.
		if err := tx.GetContext(ctx, &r.DepartmentID, `SELECT department_id FROM memberships WHERE tenant_id = $1 AND user_id = $2`,
			tx.Scope.TenantID, r.RequesterID); err != nil {
			return fmt.Errorf("error loading department of %s: %w", r.RequesterID, err)
		}
		if r.Type == TypeExpense {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM approval_request_files WHERE tenant_id = $1 AND request_id = $2`,
				tx.Scope.TenantID, id); err != nil {
				return fmt.Errorf("error counting receipts: %w", err)
			}
			if n == 0 {
				return store.Errorf(store.Invalid, "Attach at least one receipt (a PDF or a photo) before submitting the claim.")
			}
		}
		s, loc, err := settingsLocationTx(ctx, tx)
		if err != nil {
			return err
		}
		pol, err := policyTx(ctx, tx, r.Type, false)
		if err != nil {
			return err
		}
		steps, err := planRoute(ctx, tx, r, pol, s)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE approval_requests SET status = 'pending', department_id = $3, submitted_at = $4, decided_at = NULL
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id, r.DepartmentID, now); err != nil {
			return fmt.Errorf("error submitting %s: %w", id, err)
		}
		round, err := routeStart(ctx, tx, r, steps, s.Calendar(loc), now)
		if err != nil {
			return err
		}
		if out, err = requestGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		route, err := stepsTx(ctx, tx, id, round)
		if err != nil {
			return err
		}
		if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.ApprovalRequested, Data: map[string]any{
			"request_id": id, "number": r.Ref(), "type": r.Type, "amount": r.Amount, "currency": r.Currency,
			"requester_id": r.RequesterID, "round": round, "steps": len(route)}}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.request_submit", EntityType: "approval_request",
			EntityID: id.String(), Before: r, After: struct {
				*Request
				Route []RouteStep `json:"route"`
			}{out, route}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stepsTx returns the route of one round, each step with its approvers (ordered as on the request's page)
// and decisions (oldest first), in one statement.
func stepsTx(ctx context.Context, tx *store.Tx, id store.ID, round int) ([]RouteStep, error) {
	var rows []struct {
		RouteStep
		ApproversJSON []byte `db:"approvers_json"`
		DecisionsJSON []byte `db:"decisions_json"`
	}
	if err := tx.SelectContext(ctx, &rows, `
		SELECT s.round, s.position, s.name, s.approver_kind, s.approver_role, s.mode, s.needed, s.sla_hours, s.status,
		       s.activated_at, s.remind_at, s.due_at, s.reminded_at, s.escalated_at, s.decided_at,
		       (SELECT coalesce(json_agg(json_build_object('user_id', a.user_id, 'name', u.name, 'escalated', a.escalated)
		                                 ORDER BY a.escalated, lower(u.name), a.user_id), '[]')
		        FROM approval_step_approvers a JOIN users u ON u.id = a.user_id
		        WHERE a.tenant_id = s.tenant_id AND a.request_id = s.request_id AND a.round = s.round AND a.position = s.position
		       ) AS approvers_json,
		       (SELECT coalesce(json_agg(json_build_object('id', d.id, 'round', d.round, 'position', d.position,
		                                 'approver_id', d.approver_id, 'approver_name', ua.name, 'decided_by', d.decided_by,
		                                 'decided_by_name', ub.name, 'decision', d.decision, 'comment', d.comment,
		                                 'created_at', d.created_at) ORDER BY d.created_at, d.id), '[]')
		        FROM approval_decisions d JOIN users ua ON ua.id = d.approver_id JOIN users ub ON ub.id = d.decided_by
		        WHERE d.tenant_id = s.tenant_id AND d.request_id = s.request_id AND d.round = s.round AND d.position = s.position
		       ) AS decisions_json
		FROM approval_steps s WHERE s.tenant_id = $1 AND s.request_id = $2 AND s.round = $3 ORDER BY s.position`,
		tx.Scope.TenantID, id, round); err != nil {
		return nil, fmt.Errorf("error loading route of %s: %w", id, err)
	}
	steps := make([]RouteStep, len(rows))
	for i, r := range rows {
		steps[i] = r.RouteStep
		if err := json.Unmarshal(r.ApproversJSON, &steps[i].Approvers); err != nil {
			return nil, fmt.Errorf("error reading approvers of %s: %w", id, err)
		}
		if err := json.Unmarshal(r.DecisionsJSON, &steps[i].Decisions); err != nil {
			return nil, fmt.Errorf("error reading decisions of %s: %w", id, err)
		}
		for j := range steps[i].Decisions {
			// JSON carries the session's UTC offset; the driver gives other columns in the local zone.
			steps[i].Decisions[j].CreatedAt = steps[i].Decisions[j].CreatedAt.In(time.Local)
		}
		if len(steps[i].Decisions) == 0 {
			steps[i].Decisions = nil
		}
		if len(steps[i].Approvers) == 0 {
			steps[i].Approvers = nil
		}
	}
	return steps, nil
}

// approverIDs returns the user ids of the step's approvers.
func (s RouteStep) approverIDs() []store.ID {
	out := make([]store.ID, 0, len(s.Approvers))
	for _, a := range s.Approvers {
		out = append(out, a.UserID)
	}
	return out
}

// approverName returns the name of approver a of the step (loaded with it), or "someone".
func (s RouteStep) approverName(a store.ID) string {
	for _, m := range s.Approvers {
		if m.UserID == a {
			return m.Name
		}
	}
	return "someone"
}

// decidedFor reports whether approver a has decided on the step.
func (s RouteStep) decidedFor(a store.ID) bool {
	return slices.ContainsFunc(s.Decisions, func(d Decision) bool { return d.ApproverID == a })
}

// decidedBy reports whether person p has made a decision on the step (for anyone).
func (s RouteStep) decidedBy(p store.ID) bool {
	return slices.ContainsFunc(s.Decisions, func(d Decision) bool { return d.DecidedBy == p })
}
