package approvals

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// SLAResult counts what one SLA run did.
type SLAResult struct {
	Reminders   int `json:"reminders"`
	Escalations int `json:"escalations"`
}

// SLARun reminds the approvers of every active step whose half-SLA moment has passed, and escalates every
// active step whose SLA is breached at now: the undecided approvers' department managers (or the tenant's
// admins when an approver has none) are told and may decide on the step from then on. Each happens once
// per step (the step row records it under a row lock) and is written to the request's timeline. The
// moments were computed in business hours in the tenant's time zone when the step started. now is a
// parameter so that tests control the clock; the periodic job passes time.Now().
func SLARun(ctx context.Context, db *store.DB, tenantID store.ID, now time.Time) (SLAResult, error) {
	var res SLAResult
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		type due struct {
			RequestID store.ID `db:"request_id"`
			Round     int      `db:"round"`
			Position  int      `db:"position"`
			Name      string   `db:"name"`
		}
		var reminders []due
		if err := tx.SelectContext(ctx, &reminders, `
			SELECT request_id, round, position, name FROM approval_steps
			WHERE tenant_id = $1 AND status = 'active' AND reminded_at IS NULL AND remind_at <= $2
			ORDER BY remind_at LIMIT 500 FOR UPDATE SKIP LOCKED`, tenantID, now); err != nil {
			return fmt.Errorf("error finding steps to remind: %w", err)
		}
		for _, s := range reminders {
			r, err := requestGetTx(ctx, tx, s.RequestID, false)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE approval_steps SET reminded_at = $5
				WHERE tenant_id = $1 AND request_id = $2 AND round = $3 AND position = $4`, tenantID, s.RequestID, s.Round, s.Position, now); err != nil {
				return fmt.Errorf("error marking reminder: %w", err)
			}
			waiting, err := undecided(ctx, tx, s.RequestID, s.Round, s.Position)
			if err != nil {
				return err
			}
			if err := tell(ctx, tx, waiting, "approvals.reminder", "Reminder: "+r.Ref()+" waits for your decision",
				fmt.Sprintf("Half the time for step %q of %q has passed. Please decide soon.", s.Name, r.Title), r.ID); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.sla_reminder", EntityType: "approval_request",
				EntityID: r.ID.String(), After: map[string]any{"round": s.Round, "position": s.Position, "step": s.Name, "reminded": waiting}}); err != nil {
				return err
			}
			res.Reminders++
		}
		var breached []due
		if err := tx.SelectContext(ctx, &breached, `
			SELECT request_id, round, position, name FROM approval_steps
			WHERE tenant_id = $1 AND status = 'active' AND escalated_at IS NULL AND due_at <= $2
			ORDER BY due_at LIMIT 500 FOR UPDATE SKIP LOCKED`, tenantID, now); err != nil {
			return fmt.Errorf("error finding breached steps: %w", err)
		}
		for _, s := range breached {
			r, err := requestGetTx(ctx, tx, s.RequestID, false)
			if err != nil {
				return err
			}
			waiting, err := undecided(ctx, tx, s.RequestID, s.Round, s.Position)
			if err != nil {
				return err
			}
			// Each waiting approver's department manager; the tenant's admins for an approver without one
			// (or who is that manager). Never the requester.
			var targets []store.ID
			if err := tx.SelectContext(ctx, &targets, `
				WITH up AS (
					SELECT CASE WHEN d.manager_id IS NOT NULL AND d.manager_id <> m.user_id THEN d.manager_id END AS manager_id
					FROM memberships m LEFT JOIN departments d ON d.tenant_id = m.tenant_id AND d.id = m.department_id AND d.deleted_at IS NULL
					WHERE m.tenant_id = $1 AND m.user_id = ANY($2))
				SELECT DISTINCT x.user_id FROM (
					SELECT manager_id AS user_id FROM up WHERE manager_id IS NOT NULL
					UNION
					SELECT a.user_id FROM memberships a WHERE a.tenant_id = $1 AND a.role = 'admin' AND a.deactivated_at IS NULL
					  AND EXISTS (SELECT 1 FROM up WHERE manager_id IS NULL)) x
				JOIN memberships mm ON mm.tenant_id = $1 AND mm.user_id = x.user_id AND mm.deactivated_at IS NULL
				WHERE x.user_id <> $3 ORDER BY x.user_id`, tenantID, idStrings(waiting), r.RequesterID); err != nil {
				return fmt.Errorf("error finding escalation targets: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE approval_steps SET escalated_at = $5
				WHERE tenant_id = $1 AND request_id = $2 AND round = $3 AND position = $4`, tenantID, s.RequestID, s.Round, s.Position, now); err != nil {
				return fmt.Errorf("error marking escalation: %w", err)
			}
			for _, t := range targets {
				if _, err := tx.ExecContext(ctx, `
					INSERT INTO approval_step_approvers (request_id, round, position, user_id, escalated) VALUES ($1, $2, $3, $4, true)
					ON CONFLICT DO NOTHING`, s.RequestID, s.Round, s.Position, t); err != nil {
					return fmt.Errorf("error adding escalation approver: %w", err)
				}
			}
			if err := tell(ctx, tx, targets, "approvals.escalated", "Escalated: "+r.Ref()+" is overdue",
				fmt.Sprintf("Step %q of %q (%s) has passed its SLA without a decision. You may decide on it now.",
					s.Name, r.Title, r.RequesterName), r.ID); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.sla_escalate", EntityType: "approval_request",
				EntityID: r.ID.String(), After: map[string]any{"round": s.Round, "position": s.Position, "step": s.Name,
					"waiting": waiting, "escalated_to": targets}}); err != nil {
				return err
			}
			res.Escalations++
		}
		return nil
	})
	return res, err
}

// undecided returns the step's approvers who have not decided.
func undecided(ctx context.Context, tx *store.Tx, id store.ID, round, position int) ([]store.ID, error) {
	var ids []store.ID
	if err := tx.SelectContext(ctx, &ids, `
		SELECT a.user_id FROM approval_step_approvers a
		WHERE a.tenant_id = $1 AND a.request_id = $2 AND a.round = $3 AND a.position = $4
		  AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.tenant_id = a.tenant_id AND d.request_id = a.request_id
		                  AND d.round = a.round AND d.position = a.position AND d.approver_id = a.user_id)
		ORDER BY a.user_id`, tx.Scope.TenantID, id, round, position); err != nil {
		return nil, fmt.Errorf("error loading undecided approvers: %w", err)
	}
	return ids, nil
}
