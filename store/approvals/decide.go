package approvals

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
)

// DecisionKind is what an approver decided.
type DecisionKind string

// The decisions: approve, reject (final), or send back to the requester for changes.
const (
	DecisionApprove DecisionKind = "approve"
	DecisionReject  DecisionKind = "reject"
	DecisionReturn  DecisionKind = "return"
)

// Label is the decision as people read it, in the past tense.
func (d DecisionKind) Label() string {
	switch d {
	case DecisionApprove:
		return "approved"
	case DecisionReject:
		return "rejected"
	case DecisionReturn:
		return "sent back"
	}
	return string(d)
}

// Decision is one approver's decision on a step. DecidedBy differs from ApproverID when a delegate
// decided on the approver's behalf.
type Decision struct {
	ID            store.ID     `db:"id" json:"id"`
	Round         int          `db:"round" json:"round"`
	Position      int          `db:"position" json:"position"`
	ApproverID    store.ID     `db:"approver_id" json:"approver_id"`
	ApproverName  string       `db:"approver_name" json:"approver_name"`
	DecidedBy     store.ID     `db:"decided_by" json:"decided_by"`
	DecidedByName string       `db:"decided_by_name" json:"decided_by_name"`
	Decision      DecisionKind `db:"decision" json:"decision"`
	Comment       string       `db:"comment" json:"comment,omitempty"`
	CreatedAt     time.Time    `db:"created_at" json:"created_at"`
}

// OnBehalf reports whether a delegate decided.
func (d Decision) OnBehalf() bool { return d.ApproverID != d.DecidedBy }

// Who says who decided, e.g. "Ben Hart on behalf of Ann Lee".
func (d Decision) Who() string {
	if d.OnBehalf() {
		return d.DecidedByName + " on behalf of " + d.ApproverName
	}
	return d.DecidedByName
}

// RequestApprovedArgs hands an approved purchase request to inventory: a worker in jobs/ expects the goods
// of its item lines. It is inserted in the transaction of the final approval, so it exists exactly once
// when that decision does.
type RequestApprovedArgs struct {
	TenantID  store.ID       `json:"tenant_id"`
	RequestID store.ID       `json:"request_id"`
	Reference string         `json:"reference"`
	Lines     []ApprovedLine `json:"lines"`
}

// ApprovedLine is an approved purchase line of an inventory item.
type ApprovedLine struct {
	LineNo   int      `json:"line_no"`
	ItemID   store.ID `json:"item_id"`
	Quantity Quantity `json:"quantity"`
}

// Kind names the job in River's tables.
func (RequestApprovedArgs) Kind() string { return "approvals_request_approved" }

// InsertOpts retries for a day: inventory being briefly unavailable delays the hand-off, never loses it.
func (RequestApprovedArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 25} }

// DecideParams is one decision. Round and Position name the step the approver looked at (0 for the
// current one): when the request moved on in between, the decision is refused with who decided.
type DecideParams struct {
	RequestID store.ID
	Round     int
	Position  int
	Decision  DecisionKind
	Comment   string
}

// StepDecide records the actor's decision on the request's active step, for themselves or for an approver
// whose approvals are delegated to them today. The requester can never decide on their own request, not
// even as a delegate. Approve counts toward the step (once per approver, once per person); the step that
// reaches its count moves the request on, and the last one approves it. Reject ends the request; send
// back returns it to the requester. Comments are required for reject and send back. The actor needs
// ApprovalsDecide.
func StepDecide(ctx context.Context, db *store.DB, scope store.Scope, p DecideParams) (*Request, error) {
	return stepDecide(ctx, db, scope, p, time.Now())
}

func stepDecide(ctx context.Context, db *store.DB, scope store.Scope, p DecideParams, now time.Time) (*Request, error) {
	var f store.FieldErrors
	switch p.Decision {
	case DecisionApprove:
	case DecisionReject, DecisionReturn:
		if strings.TrimSpace(p.Comment) == "" {
			f.Add("comment", "Say why, so the requester knows what to change.")
		}
	default:
		f.Add("decision", "Choose approve, reject or send back.")
	}
	p.Comment = textField(&f, "comment", p.Comment, 0, 2000, "Keep the comment under 2,000 characters.")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		out, err = stepDecideTx(ctx, tx, p, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func stepDecideTx(ctx context.Context, tx *store.Tx, p DecideParams, now time.Time) (*Request, error) {
	if err := permit(ctx, tx, identity.ApprovalsDecide); err != nil {
		return nil, err
	}
	actor := tx.Scope.ActorID
	if actor == (store.ID{}) {
		return nil, store.Errorf(store.Forbidden, "Decisions are made by people: sign in, or use a personal access token.")
	}
	// The request row lock serializes every decision on the request.
	r, err := requestGetTx(ctx, tx, p.RequestID, true)
	if err != nil {
		return nil, err
	}
	// Whoever may not see the request learns nothing about it (NotFound). An approver of the current step,
	// or their delegate today, may always see it: so the check runs only before a refusal, and the decision
	// itself needs no second read of the actor's role.
	refuse := func(err error) error {
		if serr := canSee(ctx, tx, r); serr != nil {
			return serr
		}
		return err
	}
	if r.RequesterID == actor {
		return nil, refuse(errOwnRequest)
	}
	moved := r.Status != StatusPending || r.CurrentStep == nil ||
		(p.Round != 0 && p.Round != r.Round) || (p.Position != 0 && p.Position != *r.CurrentStep)
	if moved {
		if err := canSee(ctx, tx, r); err != nil {
			return nil, err
		}
		return nil, alreadyDecided(ctx, tx, r, p)
	}
	steps, err := stepsTx(ctx, tx, r.ID, r.Round)
	if err != nil {
		return nil, err
	}
	step := steps[*r.CurrentStep-1]
	principal, err := principalFor(ctx, tx, r, step, actor, now)
	if err != nil {
		return nil, refuse(err)
	}
	d := Decision{ID: store.NewID(), Round: r.Round, Position: step.Position, ApproverID: principal, DecidedBy: actor,
		Decision: p.Decision, Comment: p.Comment}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO approval_decisions (id, request_id, round, position, approver_id, decided_by, decision, comment, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, d.ID, r.ID, d.Round, d.Position, principal, actor, d.Decision, d.Comment, now)
	if store.IsUniqueViolation(err, "") {
		return nil, store.Errorf(store.Conflict, "This decision was already recorded. Reload the page to see the request as it is now.")
	}
	if err != nil {
		return nil, fmt.Errorf("error recording decision on %s: %w", r.ID, err)
	}
	// The principal is an approver of the step, loaded with it; so is the actor, unless acting for someone.
	d.ApproverName, d.DecidedByName = step.approverName(principal), step.approverName(actor)
	if !slices.Contains(step.approverIDs(), actor) {
		d.DecidedByName = memberName(ctx, tx, actor)
	}
	step.Decisions = append(step.Decisions, d)

	final := Status("")
	switch p.Decision {
	case DecisionApprove:
		approvals := 0
		for _, x := range step.Decisions {
			if x.Decision == DecisionApprove {
				approvals++
			}
		}
		if approvals < step.Needed {
			break
		}
		if err := stepClose(ctx, tx, r, step.Position, "approved", now); err != nil {
			return nil, err
		}
		if step.Position < len(steps) {
			s, loc, err := settingsLocationTx(ctx, tx)
			if err != nil {
				return nil, err
			}
			next := steps[step.Position]
			if err := stepActivate(ctx, tx, r, r.Round, next.Position, next.SLAHours, next.approverIDs(), s.Calendar(loc), now); err != nil {
				return nil, err
			}
		} else {
			final = StatusApproved
		}
	case DecisionReject:
		final = StatusRejected
	case DecisionReturn:
		final = StatusReturned
	}
	if final != "" {
		waiting := slices.ContainsFunc(steps, func(s RouteStep) bool { return s.Status == "waiting" })
		if err := requestFinish(ctx, tx, r, step.Position, final, d, waiting, now); err != nil {
			return nil, err
		}
	}
	out, err := requestGetTx(ctx, tx, r.ID, false)
	if err != nil {
		return nil, err
	}
	action := "approvals.decision_" + string(p.Decision)
	return out, audit.Record(ctx, tx, audit.RecordParams{Action: action, EntityType: "approval_request",
		EntityID: r.ID.String(), Before: r, After: struct {
			*Request
			Decision Decision `json:"decision"`
		}{out, d}})
}

// alreadyDecided explains why a decision on a step that moved on is refused: who decided it, how and when.
func alreadyDecided(ctx context.Context, tx *store.Tx, r *Request, p DecideParams) error {
	round, position := p.Round, p.Position
	if round == 0 {
		round = r.Round
	}
	q := `SELECT d.id, d.round, d.position, d.approver_id, ua.name AS approver_name, d.decided_by, ub.name AS decided_by_name,
		       d.decision, d.comment, d.created_at
		FROM approval_decisions d JOIN users ua ON ua.id = d.approver_id JOIN users ub ON ub.id = d.decided_by
		WHERE d.tenant_id = $1 AND d.request_id = $2 AND d.round = $3 AND ($4 = 0 OR d.position = $4)
		ORDER BY d.created_at DESC, d.id DESC LIMIT 1`
	var last []Decision
	if err := tx.SelectContext(ctx, &last, q, tx.Scope.TenantID, r.ID, round, position); err != nil {
		return fmt.Errorf("error loading last decision of %s: %w", r.ID, err)
	}
	if len(last) == 1 {
		d := last[0]
		return store.Errorf(store.Conflict, "Already decided by %s (%s at %s). Reload the page to see %s as it is now.",
			d.Who(), d.Decision.Label(), d.CreatedAt.UTC().Format("15:04:05 UTC"), r.Ref())
	}
	return store.Errorf(store.Conflict, "%s is %s now. Reload the page to see it as it is.", r.Ref(), strings.ToLower(r.Status.Label()))
}

// principalFor returns the approver of step the actor decides for: themselves when they are an approver
// who has not decided, else the first undecided approver whose approvals reach the actor through today's
// delegations. A person decides once per step, whoever they act for.
func principalFor(ctx context.Context, tx *store.Tx, r *Request, step RouteStep, actor store.ID, now time.Time) (store.ID, error) {
	if step.decidedBy(actor) {
		return store.ID{}, store.Errorf(store.Conflict, "You have already decided on this step of %s.", r.Ref())
	}
	approvers := step.approverIDs()
	if slices.Contains(approvers, actor) && !step.decidedFor(actor) {
		return actor, nil
	}
	graph, err := delegationGraph(ctx, tx, now)
	if err != nil {
		return store.ID{}, err
	}
	var problems []string
	for _, a := range approvers {
		if step.decidedFor(a) {
			continue
		}
		to, problem := graph.resolve(a)
		if problem != "" && slices.Contains(graph.chain(a), actor) {
			problems = append(problems, memberName(ctx, tx, a)+": "+problem)
			continue
		}
		if to == actor {
			return a, nil
		}
	}
	if len(problems) > 0 {
		return store.ID{}, store.Errorf(store.Forbidden, "The delegation does not reach you cleanly (%s). Ask the approver to fix their delegation.",
			strings.Join(problems, "; "))
	}
	if slices.Contains(approvers, actor) {
		return store.ID{}, store.Errorf(store.Conflict, "You have already decided on this step of %s.", r.Ref())
	}
	return store.ID{}, store.Errorf(store.Forbidden, "You are not an approver of the current step of %s, and no approver has delegated it to you.", r.Ref())
}

// stepClose ends a step with status.
func stepClose(ctx context.Context, tx *store.Tx, r *Request, position int, status string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `
		UPDATE approval_steps SET status = $5, decided_at = $6
		WHERE tenant_id = $1 AND request_id = $2 AND round = $3 AND position = $4`,
		tx.Scope.TenantID, r.ID, r.Round, position, status, now); err != nil {
		return fmt.Errorf("error closing step %d of %s: %w", position, r.ID, err)
	}
	return nil
}

// requestFinish ends the request's route with status, tells the requester, records the business event and,
// for an approved purchase request, hands the expected goods to inventory, all in this transaction.
func requestFinish(ctx context.Context, tx *store.Tx, r *Request, position int, status Status, d Decision, waiting bool, now time.Time) error {
	if status != StatusApproved {
		stepStatus := "rejected"
		if status == StatusReturned {
			stepStatus = "returned"
		}
		if err := stepClose(ctx, tx, r, position, stepStatus, now); err != nil {
			return err
		}
	}
	// Later steps still waiting (a rejection or send-back before the last step) are not needed any more;
	// the route loaded with the (locked) request says whether there are any.
	if waiting {
		if _, err := tx.ExecContext(ctx, `
			UPDATE approval_steps SET status = 'cancelled' WHERE tenant_id = $1 AND request_id = $2 AND round = $3 AND status = 'waiting'`,
			tx.Scope.TenantID, r.ID, r.Round); err != nil {
			return fmt.Errorf("error closing route of %s: %w", r.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE approval_requests SET status = $3, current_step = NULL, decided_at = $4, updated_at = now(), version = version + 1
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, r.ID, status, now); err != nil {
		return fmt.Errorf("error finishing %s: %w", r.ID, err)
	}
	if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.ApprovalDecided, Data: map[string]any{
		"request_id": r.ID, "number": r.Ref(), "type": r.Type, "status": status, "amount": r.Amount, "currency": r.Currency,
		"requester_id": r.RequesterID, "decided_by": d.DecidedBy, "on_behalf_of": d.ApproverID, "round": r.Round}}); err != nil {
		return err
	}
	body := fmt.Sprintf("%s %s %q.", d.Who(), status.Label(), r.Title)
	switch status {
	case StatusApproved:
		body = fmt.Sprintf("%q is approved; the last decision was by %s.", r.Title, d.Who())
	case StatusReturned:
		body = fmt.Sprintf("%s sent %q back for changes: %s", d.Who(), r.Title, d.Comment)
	case StatusRejected:
		body = fmt.Sprintf("%s rejected %q: %s", d.Who(), r.Title, d.Comment)
	}
	if err := tell(ctx, tx, []store.ID{r.RequesterID}, "approvals.decided", r.Ref()+" "+strings.ToLower(status.Label()), body, r.ID); err != nil {
		return err
	}
	if status == StatusApproved && r.Type == TypePurchase {
		lines, err := linesTx(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		args := RequestApprovedArgs{TenantID: tx.Scope.TenantID, RequestID: r.ID, Reference: r.Ref()}
		for _, l := range lines {
			if l.ItemID != nil {
				args.Lines = append(args.Lines, ApprovedLine{LineNo: l.LineNo, ItemID: *l.ItemID, Quantity: l.Quantity})
			}
		}
		if len(args.Lines) > 0 {
			if err := tx.Enqueue(ctx, args, nil); err != nil {
				return err
			}
		}
	}
	return nil
}
