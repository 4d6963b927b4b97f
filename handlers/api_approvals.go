package handlers

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

// Approvals in API v1: requests (create, submit, withdraw), decisions, the inbox, delegations and policies.
// Every operation calls one store operation, which checks the caller's right itself (a request is visible
// to its requester, its approvers and their delegates, and to readers); the scopes mirror the permissions:
// approvals.submit to ask, approvals.decide to decide and delegate, approvals.read to read everything.

// apiApprovalLine is a purchase line.
type apiApprovalLine struct {
	ItemID      *string `json:"item_id,omitempty" format:"uuid" doc:"An inventory item; the goods are then expected in inventory once approved."`
	Description string  `json:"description" maxLength:"500"`
	Quantity    apiQty  `json:"quantity"`
	UnitCost    int64   `json:"unit_cost" minimum:"0" doc:"Estimated cost per unit in minor units of the request's currency."`
	Supplier    string  `json:"supplier,omitempty" maxLength:"200"`
	NeededBy    string  `json:"needed_by,omitempty" format:"date"`
}

// apiApprovalDecision is one decision on a step.
type apiApprovalDecision struct {
	ApproverID string    `json:"approver_id" format:"uuid" doc:"The approver the decision counts for."`
	DecidedBy  string    `json:"decided_by" format:"uuid" doc:"Who decided: the approver, or their delegate."`
	Who        string    `json:"who" doc:"As screens show it, e.g. \"Ben Hart on behalf of Ann Lee\"."`
	Decision   string    `json:"decision" enum:"approve,reject,return"`
	Comment    string    `json:"comment"`
	CreatedAt  time.Time `json:"created_at"`
}

// apiApprovalStep is one step of the request's frozen route.
type apiApprovalStep struct {
	Position    int                   `json:"position"`
	Name        string                `json:"name"`
	Mode        string                `json:"mode" enum:"any,all,quorum"`
	Needed      int                   `json:"needed" doc:"Approvals that complete the step."`
	SLAHours    int                   `json:"sla_hours" doc:"In business hours."`
	Status      string                `json:"status" enum:"waiting,active,approved,rejected,returned,cancelled"`
	DueAt       *time.Time            `json:"due_at"`
	EscalatedAt *time.Time            `json:"escalated_at"`
	Approvers   []string              `json:"approvers" doc:"Names of the approvers."`
	Decisions   []apiApprovalDecision `json:"decisions"`
}

// apiApprovalRequest is a request as the API shows it.
type apiApprovalRequest struct {
	ID          string            `json:"id" format:"uuid"`
	Number      string            `json:"number" example:"AR-000123"`
	Type        string            `json:"type" enum:"purchase,expense,general"`
	Status      string            `json:"status" enum:"draft,pending,approved,rejected,returned,withdrawn"`
	RequesterID string            `json:"requester_id" format:"uuid"`
	Title       string            `json:"title"`
	Description string            `json:"description"`
	Amount      apiMoney          `json:"amount"`
	Category    string            `json:"category,omitempty"`
	ExpenseDate string            `json:"expense_date,omitempty" format:"date"`
	Round       int               `json:"round" doc:"How many times it was submitted."`
	CurrentStep *int              `json:"current_step" doc:"The active step's position while pending."`
	Lines       []apiApprovalLine `json:"lines,omitempty"`
	Route       []apiApprovalStep `json:"route,omitempty" doc:"The current round's route (only on single-request answers)."`
	SubmittedAt *time.Time        `json:"submitted_at"`
	DecidedAt   *time.Time        `json:"decided_at"`
	CreatedAt   time.Time         `json:"created_at"`
	Version     int               `json:"version" doc:"Send it back when submitting or withdrawing: a stale version is a 409 conflict."`
}

func apiApprovalRequestOf(r *approvals.Request) apiApprovalRequest {
	out := apiApprovalRequest{ID: r.ID.String(), Number: r.Ref(), Type: string(r.Type), Status: string(r.Status),
		RequesterID: r.RequesterID.String(), Title: r.Title, Description: r.Description,
		Amount: apiMoney{Amount: r.Amount, Currency: r.Currency}, Category: r.Category, Round: r.Round, CurrentStep: r.CurrentStep,
		SubmittedAt: r.SubmittedAt, DecidedAt: r.DecidedAt, CreatedAt: r.CreatedAt.UTC(), Version: r.Version}
	if r.ExpenseDate != nil {
		out.ExpenseDate = r.ExpenseDate.Format(time.DateOnly)
	}
	return out
}

func apiApprovalDetailOf(d *approvals.RequestDetail) apiApprovalRequest {
	out := apiApprovalRequestOf(&d.Request)
	for _, l := range d.Lines {
		al := apiApprovalLine{Description: l.Description, Quantity: apiQty(l.Quantity), UnitCost: l.UnitCost, Supplier: l.Supplier}
		if l.ItemID != nil {
			s := l.ItemID.String()
			al.ItemID = &s
		}
		if l.NeededBy != nil {
			al.NeededBy = l.NeededBy.Format(time.DateOnly)
		}
		out.Lines = append(out.Lines, al)
	}
	for _, st := range d.Route {
		as := apiApprovalStep{Position: st.Position, Name: st.Name, Mode: string(st.Mode), Needed: st.Needed, SLAHours: st.SLAHours,
			Status: st.Status, DueAt: st.DueAt, EscalatedAt: st.EscalatedAt, Approvers: []string{}, Decisions: []apiApprovalDecision{}}
		for _, a := range st.Approvers {
			as.Approvers = append(as.Approvers, a.Name)
		}
		for _, dec := range st.Decisions {
			as.Decisions = append(as.Decisions, apiApprovalDecision{ApproverID: dec.ApproverID.String(), DecidedBy: dec.DecidedBy.String(),
				Who: dec.Who(), Decision: string(dec.Decision), Comment: dec.Comment, CreatedAt: dec.CreatedAt.UTC()})
		}
		out.Route = append(out.Route, as)
	}
	return out
}

type apiApprovalListInput struct {
	APIPage
	Status string `query:"status" enum:"draft,pending,approved,rejected,returned,withdrawn" doc:"Only requests in this status."`
	Type   string `query:"type" enum:"purchase,expense,general" doc:"Only requests of this type."`
}

type apiApprovalListOutput struct {
	Body apiList[apiApprovalRequest]
}

type apiApprovalIDInput struct {
	ID string `path:"id" format:"uuid" doc:"The request's id."`
}

type apiApprovalOutput struct {
	Body apiApprovalRequest
}

type apiApprovalCreateInput struct {
	APIIdempotencyKey
	Body struct {
		Type        string            `json:"type" enum:"purchase,expense,general"`
		Title       string            `json:"title" maxLength:"200"`
		Description string            `json:"description,omitempty" maxLength:"4000"`
		Amount      int64             `json:"amount,omitempty" minimum:"0" doc:"Expense claims and general requests: minor units of the organization's currency. Purchase requests: ignored, the lines' total counts."`
		Category    string            `json:"category,omitempty" doc:"Expense claims: Travel, Meals, Lodging, Office supplies, Software, Training or Other."`
		ExpenseDate string            `json:"expense_date,omitempty" format:"date"`
		Lines       []apiApprovalLine `json:"lines,omitempty" maxItems:"50"`
		Submit      bool              `json:"submit,omitempty" doc:"Submit at once (not for expense claims, which need receipts uploaded on the request's page first)."`
	}
}

type apiApprovalVersionInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The request's id."`
	Body apiVersionBody
}

type apiApprovalDecideInput struct {
	APIIdempotencyKey
	ID   string `path:"id" format:"uuid" doc:"The request's id."`
	Body struct {
		Decision string `json:"decision" enum:"approve,reject,return"`
		Comment  string `json:"comment,omitempty" maxLength:"2000" doc:"Required to reject or send back (return)."`
		Round    int    `json:"round,omitempty" minimum:"0" doc:"The round you looked at; when the request moved on, the decision is a 409 that says who decided."`
		Position int    `json:"position,omitempty" minimum:"0" doc:"The step you looked at."`
	}
}

type apiInboxItem struct {
	Request  apiApprovalRequest `json:"request"`
	Position int                `json:"position"`
	StepName string             `json:"step_name"`
	DueAt    *time.Time         `json:"due_at"`
	ForID    string             `json:"for_id" format:"uuid" doc:"The approver you decide for: yourself, or who delegated to you."`
}

type apiInboxOutput struct {
	Body apiList[apiInboxItem]
}

type apiDelegation struct {
	ID          string     `json:"id" format:"uuid"`
	DelegatorID string     `json:"delegator_id" format:"uuid"`
	DelegateID  string     `json:"delegate_id" format:"uuid"`
	StartsOn    string     `json:"starts_on" format:"date"`
	EndsOn      string     `json:"ends_on" format:"date"`
	Note        string     `json:"note"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

func apiDelegationOf(d *approvals.Delegation) apiDelegation {
	return apiDelegation{ID: d.ID.String(), DelegatorID: d.DelegatorID.String(), DelegateID: d.DelegateID.String(),
		StartsOn: d.StartsOn.Format(time.DateOnly), EndsOn: d.EndsOn.Format(time.DateOnly), Note: d.Note, RevokedAt: d.RevokedAt}
}

type apiDelegationListOutput struct {
	Body apiList[apiDelegation]
}

type apiDelegationOutput struct {
	Body apiDelegation
}

type apiDelegationCreateInput struct {
	APIIdempotencyKey
	Body struct {
		DelegateID string `json:"delegate_id" format:"uuid"`
		StartsOn   string `json:"starts_on" format:"date"`
		EndsOn     string `json:"ends_on" format:"date"`
		Note       string `json:"note,omitempty" maxLength:"500"`
	}
}

type apiDelegationIDInput struct {
	APIIdempotencyKey
	ID string `path:"id" format:"uuid" doc:"The delegation's id."`
}

type apiPolicyTypeInput struct {
	Type string `path:"type" enum:"purchase,expense,general"`
}

type apiPolicyOutput struct {
	Body approvals.Policy
}

type apiPolicyPutInput struct {
	Type string `path:"type" enum:"purchase,expense,general"`
	Body struct {
		Bands   []approvals.Band `json:"bands" maxItems:"6" doc:"From 0, each starting where the one before ends; the last has no \"to\"."`
		Version int              `json:"version" minimum:"0" doc:"The version you read (0 while the default applies)."`
	}
}

func apiParseDate(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, (store.FieldErrors{field: "Enter a date like 2026-11-25."}).Err()
	}
	return &t, nil
}

// apiApprovalsRoutes registers the API operations for approval requests and decisions.
func (h *Handler) apiApprovalsRoutes(api huma.API) {
	tags := []string{"Approvals"}
	apiOperation(h, api, huma.Operation{
		OperationID: "listApprovalRequests", Method: http.MethodGet, Path: "/approval-requests", Tags: tags,
		Summary: "List all approval requests", Description: "Every request of the organization, newest first.",
	}, identity.ApprovalsRead, func(ctx context.Context, in *apiApprovalListInput) (*apiApprovalListOutput, error) {
		return h.apiApprovalList(ctx, in, false)
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "listMyApprovalRequests", Method: http.MethodGet, Path: "/my/approval-requests", Tags: tags,
		Summary: "List my approval requests", Description: "The caller's own requests, newest first.",
	}, identity.ApprovalsSubmit, func(ctx context.Context, in *apiApprovalListInput) (*apiApprovalListOutput, error) {
		return h.apiApprovalList(ctx, in, true)
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "getApprovalRequest", Method: http.MethodGet, Path: "/approval-requests/{id}", Tags: tags,
		Summary:     "Get an approval request",
		Description: "One request with its lines and current route. Visible to its requester, its approvers and their delegates, and to readers (approvals.read); 404 to anyone else.",
		Errors:      []int{http.StatusNotFound},
	}, "", func(ctx context.Context, in *apiApprovalIDInput) (*apiApprovalOutput, error) {
		id, err := store.ParseID(in.ID)
		if err != nil {
			return nil, store.Errorf(store.NotFound, "No such request.")
		}
		d, err := approvals.RequestGet(ctx, h.db, apiScope(ctx), id)
		if err != nil {
			return nil, err
		}
		return &apiApprovalOutput{Body: apiApprovalDetailOf(d)}, nil
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "createApprovalRequest", Method: http.MethodPost, Path: "/approval-requests", Tags: tags,
		Summary: "Create an approval request", Description: "A draft in the caller's name; with submit, submitted at once.",
		DefaultStatus: http.StatusCreated,
	}, identity.ApprovalsSubmit, h.apiApprovalCreate)
	apiOperation(h, api, huma.Operation{
		OperationID: "submitApprovalRequest", Method: http.MethodPost, Path: "/approval-requests/{id}/submit", Tags: tags,
		Summary:     "Submit an approval request",
		Description: "Puts the caller's own draft or sent-back request on its route, computed from the policy now and frozen.",
		Errors:      []int{http.StatusNotFound},
	}, identity.ApprovalsSubmit, func(ctx context.Context, in *apiApprovalVersionInput) (*apiApprovalOutput, error) {
		return h.apiApprovalVersioned(ctx, in, approvals.RequestSubmit)
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "withdrawApprovalRequest", Method: http.MethodPost, Path: "/approval-requests/{id}/withdraw", Tags: tags,
		Summary: "Withdraw an approval request", Description: "Stops the caller's own request; nothing follows from it.",
		Errors: []int{http.StatusNotFound},
	}, identity.ApprovalsSubmit, func(ctx context.Context, in *apiApprovalVersionInput) (*apiApprovalOutput, error) {
		return h.apiApprovalVersioned(ctx, in, approvals.RequestWithdraw)
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "decideApprovalRequest", Method: http.MethodPost, Path: "/approval-requests/{id}/decisions", Tags: tags,
		Summary: "Decide on an approval request",
		Description: "Approve, reject or send back (return) the current step, for yourself or for an approver who delegated to you. " +
			"Never on your own request. A step that moved on is a 409 saying who decided it.",
		Errors: []int{http.StatusNotFound, http.StatusForbidden},
	}, identity.ApprovalsDecide, h.apiApprovalDecide)
	apiOperation(h, api, huma.Operation{
		OperationID: "listApprovalInbox", Method: http.MethodGet, Path: "/approval-inbox", Tags: tags,
		Summary: "Requests waiting for me", Description: "Requests whose current step waits for the caller or whoever delegated to them, oldest first.",
	}, identity.ApprovalsDecide, h.apiApprovalInbox)
	apiOperation(h, api, huma.Operation{
		OperationID: "listApprovalDelegations", Method: http.MethodGet, Path: "/approval-delegations", Tags: tags,
		Summary: "List delegations", Description: "Delegations from or to the caller (all of them for an admin), at most 200.",
	}, identity.ApprovalsDecide, func(ctx context.Context, _ *struct{}) (*apiDelegationListOutput, error) {
		list, err := approvals.DelegationList(ctx, h.db, apiScope(ctx))
		if err != nil {
			return nil, err
		}
		out := make([]apiDelegation, 0, len(list))
		for i := range list {
			out = append(out, apiDelegationOf(&list[i]))
		}
		return &apiDelegationListOutput{Body: newAPIList(out, "")}, nil
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "createApprovalDelegation", Method: http.MethodPost, Path: "/approval-delegations", Tags: tags,
		Summary: "Delegate my approvals", Description: "To another member who may approve, for a window of days. Loops are refused.",
		DefaultStatus: http.StatusCreated,
	}, identity.ApprovalsDecide, func(ctx context.Context, in *apiDelegationCreateInput) (*apiDelegationOutput, error) {
		var fields store.FieldErrors
		delegate, err := store.ParseID(in.Body.DelegateID)
		if err != nil {
			fields.Add("delegate_id", "Give the delegate's id.")
		}
		starts, err := apiParseDate("starts_on", in.Body.StartsOn)
		if err != nil || starts == nil {
			fields.Add("starts_on", "Enter the first day like 2026-12-24.")
		}
		ends, err := apiParseDate("ends_on", in.Body.EndsOn)
		if err != nil || ends == nil {
			fields.Add("ends_on", "Enter the last day like 2026-12-31.")
		}
		if err := fields.Err(); err != nil {
			return nil, err
		}
		d, err := approvals.DelegationCreate(ctx, h.db, apiScope(ctx), approvals.DelegationCreateParams{DelegateID: delegate,
			StartsOn: *starts, EndsOn: *ends, Note: in.Body.Note})
		if err != nil {
			return nil, err
		}
		return &apiDelegationOutput{Body: apiDelegationOf(d)}, nil
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "revokeApprovalDelegation", Method: http.MethodPost, Path: "/approval-delegations/{id}/revoke", Tags: tags,
		Summary: "Revoke a delegation", Description: "Ends it now. Your own, or anyone's for an admin.",
		Errors: []int{http.StatusNotFound},
	}, identity.ApprovalsDecide, func(ctx context.Context, in *apiDelegationIDInput) (*apiDelegationOutput, error) {
		id, err := store.ParseID(in.ID)
		if err != nil {
			return nil, store.Errorf(store.NotFound, "No such delegation.")
		}
		d, err := approvals.DelegationRevoke(ctx, h.db, apiScope(ctx), id)
		if err != nil {
			return nil, err
		}
		return &apiDelegationOutput{Body: apiDelegationOf(d)}, nil
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "getApprovalPolicy", Method: http.MethodGet, Path: "/approval-policies/{type}", Tags: tags,
		Summary: "Get an approval policy", Description: "The policy of a request type: the saved one, or the default from the settings.",
	}, identity.ApprovalsRead, func(ctx context.Context, in *apiPolicyTypeInput) (*apiPolicyOutput, error) {
		p, err := approvals.PolicyGet(ctx, h.db, apiScope(ctx), approvals.RequestType(in.Type))
		if err != nil {
			return nil, err
		}
		return &apiPolicyOutput{Body: *p}, nil
	})
	apiOperation(h, api, huma.Operation{
		OperationID: "putApprovalPolicy", Method: http.MethodPut, Path: "/approval-policies/{type}", Tags: tags,
		Summary:     "Replace an approval policy",
		Description: "Bands must cover every amount from 0 without gaps or overlaps. Requests already submitted keep their route.",
		Errors:      []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, identity.AdminSettings, func(ctx context.Context, in *apiPolicyPutInput) (*apiPolicyOutput, error) {
		p, err := approvals.PolicySave(ctx, h.db, apiScope(ctx), approvals.PolicySaveParams{Type: approvals.RequestType(in.Type),
			Bands: in.Body.Bands, Version: in.Body.Version})
		if err != nil {
			return nil, err
		}
		return &apiPolicyOutput{Body: *p}, nil
	})
}

func (h *Handler) apiApprovalList(ctx context.Context, in *apiApprovalListInput, mine bool) (*apiApprovalListOutput, error) {
	res, err := approvals.RequestList(ctx, h.db, apiScope(ctx), approvals.RequestListParams{Mine: mine,
		Status: approvals.Status(in.Status), Type: approvals.RequestType(in.Type), After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]apiApprovalRequest, 0, len(res.Requests))
	for i := range res.Requests {
		out = append(out, apiApprovalRequestOf(&res.Requests[i]))
	}
	return &apiApprovalListOutput{Body: newAPIList(out, res.Next)}, nil
}

func (h *Handler) apiApprovalCreate(ctx context.Context, in *apiApprovalCreateInput) (*apiApprovalOutput, error) {
	b := in.Body
	p := approvals.RequestFields{Type: approvals.RequestType(b.Type), Title: b.Title, Description: b.Description, Amount: b.Amount,
		Category: b.Category}
	var fields store.FieldErrors
	var err error
	if b.Submit && p.Type == approvals.TypeExpense {
		// Refused before anything is written: a claim needs its receipts, uploaded on its page, first.
		fields.Add("submit", "Create the expense claim as a draft, attach its receipts on its page, then submit it.")
	}
	if p.ExpenseDate, err = apiParseDate("expense_date", b.ExpenseDate); err != nil {
		fields.Add("expense_date", "Enter a date like 2026-11-25.")
	}
	for i, l := range b.Lines {
		line := approvals.Line{Description: l.Description, Quantity: approvals.Quantity(l.Quantity), UnitCost: l.UnitCost, Supplier: l.Supplier}
		if l.ItemID != nil {
			id, err := store.ParseID(*l.ItemID)
			if err != nil {
				fields.Add("lines", "Line "+strconv.Itoa(i+1)+": give an item's id.")
			}
			line.ItemID = &id
		}
		if line.NeededBy, err = apiParseDate("needed_by", l.NeededBy); err != nil {
			fields.Add("lines", "Give needed_by dates like 2026-12-01.")
		}
		p.Lines = append(p.Lines, line)
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	r, err := approvals.RequestCreate(ctx, h.db, apiScope(ctx), p)
	if err != nil {
		return nil, err
	}
	if b.Submit {
		if r, err = approvals.RequestSubmit(ctx, h.db, apiScope(ctx), r.ID, r.Version); err != nil {
			return nil, err
		}
	}
	d, err := approvals.RequestGet(ctx, h.db, apiScope(ctx), r.ID)
	if err != nil {
		return nil, err
	}
	return &apiApprovalOutput{Body: apiApprovalDetailOf(d)}, nil
}

func (h *Handler) apiApprovalVersioned(ctx context.Context, in *apiApprovalVersionInput,
	op func(context.Context, *store.DB, store.Scope, store.ID, int) (*approvals.Request, error)) (*apiApprovalOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, store.Errorf(store.NotFound, "No such request.")
	}
	if _, err := op(ctx, h.db, apiScope(ctx), id, in.Body.Version); err != nil {
		return nil, err
	}
	d, err := approvals.RequestGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiApprovalOutput{Body: apiApprovalDetailOf(d)}, nil
}

func (h *Handler) apiApprovalDecide(ctx context.Context, in *apiApprovalDecideInput) (*apiApprovalOutput, error) {
	id, err := store.ParseID(in.ID)
	if err != nil {
		return nil, store.Errorf(store.NotFound, "No such request.")
	}
	if _, err := approvals.StepDecide(ctx, h.db, apiScope(ctx), approvals.DecideParams{RequestID: id, Round: in.Body.Round,
		Position: in.Body.Position, Decision: approvals.DecisionKind(in.Body.Decision), Comment: in.Body.Comment}); err != nil {
		return nil, err
	}
	d, err := approvals.RequestGet(ctx, h.db, apiScope(ctx), id)
	if err != nil {
		return nil, err
	}
	return &apiApprovalOutput{Body: apiApprovalDetailOf(d)}, nil
}

func (h *Handler) apiApprovalInbox(ctx context.Context, in *struct{ APIPage }) (*apiInboxOutput, error) {
	res, err := approvals.Inbox(ctx, h.db, apiScope(ctx), approvals.InboxParams{After: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, err
	}
	out := make([]apiInboxItem, 0, len(res.Items))
	for i := range res.Items {
		it := &res.Items[i]
		out = append(out, apiInboxItem{Request: apiApprovalRequestOf(&it.Request), Position: it.Position, StepName: it.StepName,
			DueAt: it.DueAt, ForID: it.ForID.String()})
	}
	return &apiInboxOutput{Body: newAPIList(out, res.Next)}, nil
}
