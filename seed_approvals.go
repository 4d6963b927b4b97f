package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// seedApprovalsIfEmpty gives a demo tenant its approval policies and requests when it has none: a saved
// purchase and expense policy (general requests keep the default from the settings), and the employee's
// requests in every state: draft, waiting for the manager, waiting for finance, approved (a purchase that
// inventory then expects, an expense claim to reimburse), rejected, sent back and withdrawn.
func seedApprovalsIfEmpty(ctx context.Context, db *store.DB, scope store.Scope, dt demoTenant, stdout io.Writer) error {
	existing, err := approvals.RequestList(ctx, db, scope, approvals.RequestListParams{Limit: 1})
	if err != nil {
		return fmt.Errorf("error checking demo requests of %s: %w", dt.params.Slug, err)
	}
	if len(existing.Requests) > 0 {
		return nil
	}
	as := func(role identity.Role) (store.Scope, error) {
		email := string(role) + "@" + dt.params.Slug + ".example"
		id, err := identity.UserIDByEmail(ctx, db, email)
		if err != nil {
			return store.Scope{}, fmt.Errorf("error finding demo user %s: %w", email, err)
		}
		return store.Scope{TenantID: scope.TenantID, ActorID: id}, nil
	}
	emp, err := as(identity.RoleEmployee)
	if err != nil {
		return err
	}
	mgr, err := as(identity.RoleManager)
	if err != nil {
		return err
	}
	fin, err := as(identity.RoleFinance)
	if err != nil {
		return err
	}
	adm, err := as(identity.RoleAdmin)
	if err != nil {
		return err
	}
	s, err := approvals.SettingsGet(ctx, db, adm)
	if err != nil {
		return err
	}
	ml, fl := s.ManagerLimit, s.FinanceLimit
	manager := approvals.Step{Name: "Department manager", Approver: approvals.ApproverManager, Mode: approvals.ModeAny, SLAHours: 8}
	finance := approvals.Step{Name: "Finance", Approver: approvals.ApproverRole, Role: identity.RoleFinance, Mode: approvals.ModeAny, SLAHours: 16}
	admin := approvals.Step{Name: "Managing director", Approver: approvals.ApproverRole, Role: identity.RoleAdmin, Mode: approvals.ModeAny, SLAHours: 24}
	if _, err := approvals.PolicySave(ctx, db, adm, approvals.PolicySaveParams{Type: approvals.TypePurchase, Bands: []approvals.Band{
		{From: 0, To: &ml, Steps: []approvals.Step{manager}},
		{From: ml, To: &fl, Steps: []approvals.Step{manager, finance}},
		{From: fl, Steps: []approvals.Step{manager, finance, admin}},
	}}); err != nil {
		return fmt.Errorf("error seeding purchase policy: %w", err)
	}
	half := ml / 2
	if _, err := approvals.PolicySave(ctx, db, adm, approvals.PolicySaveParams{Type: approvals.TypeExpense, Bands: []approvals.Band{
		{From: 0, To: &half, Steps: []approvals.Step{manager}},
		{From: half, Steps: []approvals.Step{manager, {Name: "Finance check", Approver: approvals.ApproverRole, Role: identity.RoleFinance,
			Mode: approvals.ModeAll, SLAHours: 16}}},
	}}); err != nil {
		return fmt.Errorf("error seeding expense policy: %w", err)
	}

	items, err := inventory.ItemList(ctx, db, scope, inventory.ItemListParams{Limit: 3})
	if err != nil {
		return err
	}
	line := func(i int, qty, cost int64) approvals.Line {
		l := approvals.Line{Description: "Supplies", Quantity: approvals.Quantity(qty * 1000), UnitCost: cost, Supplier: "Demo Supplies Ltd"}
		if i < len(items.Items) {
			l.ItemID, l.Description = &items.Items[i].ID, items.Items[i].Name
		}
		return l
	}
	yesterday := time.Now().AddDate(0, 0, -1)
	type demoRequest struct {
		fields  approvals.RequestFields
		receipt bool
		submit  bool
		steps   []func(store.ID) error // decisions in order
		then    func(*approvals.Request) error
	}
	decide := func(sc store.Scope, d approvals.DecisionKind, comment string) func(store.ID) error {
		return func(id store.ID) error {
			_, err := approvals.StepDecide(ctx, db, sc, approvals.DecideParams{RequestID: id, Decision: d, Comment: comment})
			return err
		}
	}
	demo := []demoRequest{
		{fields: approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Team offsite in spring", Description: "Two days, twelve people.", Amount: ml / 2}},
		{fields: approvals.RequestFields{Type: approvals.TypePurchase, Title: "Restock fasteners", Lines: []approvals.Line{line(0, 20, 450), line(1, 10, 990)}}, submit: true},
		{fields: approvals.RequestFields{Type: approvals.TypePurchase, Title: "New tool set for the workshop", Lines: []approvals.Line{line(2, 12, ml/10)}},
			submit: true, steps: []func(store.ID) error{decide(mgr, approvals.DecisionApprove, "Needed for the new line.")}},
		{fields: approvals.RequestFields{Type: approvals.TypePurchase, Title: "Safety equipment for the warehouse", Lines: []approvals.Line{line(0, 50, ml/40), line(1, 8, 1500)}},
			submit: true, steps: []func(store.ID) error{decide(mgr, approvals.DecisionApprove, ""), decide(fin, approvals.DecisionApprove, "Within budget.")}},
		{fields: approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Second company car", Amount: fl + ml}, submit: true,
			steps: []func(store.ID) error{decide(mgr, approvals.DecisionReject, "Not this year; revisit in Q3.")}},
		{fields: approvals.RequestFields{Type: approvals.TypeExpense, Title: "Taxi to the trade fair", Amount: 4_250, Category: "Travel", ExpenseDate: &yesterday},
			receipt: true, submit: true, steps: []func(store.ID) error{decide(mgr, approvals.DecisionReturn, "Please attach the second receipt as well.")}},
		{fields: approvals.RequestFields{Type: approvals.TypeExpense, Title: "Hotel for the customer visit", Amount: ml * 3 / 4, Category: "Lodging", ExpenseDate: &yesterday},
			receipt: true, submit: true, steps: []func(store.ID) error{decide(mgr, approvals.DecisionApprove, ""), decide(fin, approvals.DecisionApprove, "")}},
		{fields: approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Conference ticket", Amount: ml / 4}, submit: true,
			then: func(r *approvals.Request) error {
				_, err := approvals.RequestWithdraw(ctx, db, emp, r.ID, r.Version)
				return err
			}},
	}
	for _, d := range demo {
		r, err := approvals.RequestCreate(ctx, db, emp, d.fields)
		if err != nil {
			return fmt.Errorf("error seeding request %q: %w", d.fields.Title, err)
		}
		if d.receipt {
			if _, err := approvals.ReceiptAdd(ctx, db, emp, r.ID, "receipt.pdf", strings.NewReader(demoReceiptPDF)); err != nil {
				return fmt.Errorf("error seeding receipt of %q: %w", d.fields.Title, err)
			}
			detail, err := approvals.RequestGet(ctx, db, emp, r.ID)
			if err != nil {
				return err
			}
			r = &detail.Request
		}
		if d.submit {
			if r, err = approvals.RequestSubmit(ctx, db, emp, r.ID, r.Version); err != nil {
				return fmt.Errorf("error submitting demo request %q: %w", d.fields.Title, err)
			}
		}
		for _, step := range d.steps {
			if err := step(r.ID); err != nil {
				return fmt.Errorf("error deciding demo request %q: %w", d.fields.Title, err)
			}
		}
		if d.then != nil {
			if err := d.then(r); err != nil {
				return fmt.Errorf("error finishing demo request %q: %w", d.fields.Title, err)
			}
		}
	}
	// The manager plans a week off next month; the admin approves for them then.
	start := time.Now().AddDate(0, 1, 0).Truncate(24 * time.Hour)
	if _, err := approvals.DelegationCreate(ctx, db, mgr, approvals.DelegationCreateParams{DelegateID: adm.ActorID, StartsOn: start,
		EndsOn: start.AddDate(0, 0, 6), Note: "Holiday"}); err != nil {
		return fmt.Errorf("error seeding delegation: %w", err)
	}
	fmt.Fprintf(stdout, "seed: %s approvals: policies and %d requests\n", dt.params.Name, len(demo))
	return nil
}

// demoReceiptPDF is a minimal one-page PDF, the demo receipts' content.
const demoReceiptPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
