package jobs

import (
	"context"
	"encoding/json"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/exports"
)

// approvalRequestColumns are the columns of an exported request list (all requests and my requests).
var approvalRequestColumns = []string{"Request", "Title", "Type", "Status", "Current step", "Requester", "Amount", "Currency",
	"Category", "Expense date", "Created at", "Submitted at", "Decided at", "Reimbursed at", "Request id"}

// approvalRequestCells is one request as an export row.
func approvalRequestCells(r approvals.Request) []any {
	var step any
	if r.Status == approvals.StatusPending && r.CurrentStep != nil {
		step = *r.CurrentStep
	}
	var expenseDate string
	if r.ExpenseDate != nil {
		expenseDate = r.ExpenseDate.Format("2006-01-02")
	}
	return []any{r.Ref(), r.Title, r.Type.Label(), r.Status.Label(), step, r.RequesterName, amount(r.Amount, r.Currency), r.Currency,
		r.Category, expenseDate, r.CreatedAt, r.SubmittedAt, r.DecidedAt, r.ReimbursedAt, r.ID.String()}
}

// approvalsExportSources adds the approval lists: all requests, my requests and "Waiting for me". Each
// reads with the requester's scope through the list's own query; the kind decides whose requests a
// request list holds, whatever its stored filter says.
func approvalsExportSources(c exports.Catalog) {
	requests := func(mine bool) exports.Source {
		params := func(filter json.RawMessage) (approvals.RequestListParams, error) {
			var p approvals.RequestListParams
			if err := decodeFilter(filter, &p); err != nil {
				return p, err
			}
			p.Mine = mine
			return p, nil
		}
		return exports.Source{
			Columns: approvalRequestColumns,
			Count: func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error) {
				p, err := params(filter)
				if err != nil {
					return 0, err
				}
				return approvals.RequestsCount(ctx, tx, p)
			},
			Each: func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func([]any) error) error {
				p, err := params(filter)
				if err != nil {
					return err
				}
				return approvals.RequestsEach(ctx, tx, p, func(r approvals.Request) error {
					return emit(approvalRequestCells(r))
				})
			},
		}
	}
	c[exports.KindApprovalRequests] = requests(false)
	c[exports.KindApprovalsMine] = requests(true)
	c[exports.KindApprovalsInbox] = exports.Source{
		Columns: []string{"Request", "Title", "Type", "Requester", "Amount", "Currency", "Step", "Step name", "On behalf of",
			"Waiting since", "Due at", "Request id"},
		Count: func(ctx context.Context, tx *store.Tx, _ json.RawMessage) (int64, error) {
			return approvals.InboxItemsCount(ctx, tx)
		},
		Each: func(ctx context.Context, tx *store.Tx, _ json.RawMessage, emit func([]any) error) error {
			me := tx.Scope.ActorID
			return approvals.InboxItemsEach(ctx, tx, func(it approvals.InboxItem) error {
				var behalf string
				if it.Delegated(me) {
					behalf = it.ForName
				}
				return emit([]any{it.Ref(), it.Title, it.Type.Label(), it.RequesterName, amount(it.Amount, it.Currency), it.Currency,
					it.Position, it.StepName, behalf, it.ActivatedAt, it.DueAt, it.ID.String()})
			})
		},
	}
}
