package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// TestApprovalsHandOff: an approved purchase request becomes expected goods in inventory exactly once,
// even when the job runs twice; the SLA run over all tenants reminds once.
func TestApprovalsHandOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{
		Name: "Hand-off", Slug: "handoff", TimeZone: "Europe/Berlin", Currency: "EUR"})
	require.NoError(t, err)
	sys := store.Scope{TenantID: ten.ID}
	members := map[identity.Role]store.ID{}
	for _, role := range []identity.Role{identity.RoleAdmin, identity.RoleEmployee} {
		id := store.NewID()
		_, err := db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
			id, string(role)+"@handoff.example", string(role))
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, db, sys, identity.MemberAddParams{UserID: id, Role: role}))
		members[role] = id
	}
	item, err := inventory.ItemCreate(ctx, db, sys, inventory.ItemFields{SKU: "DESK", Name: "Desk", Unit: "ea"})
	require.NoError(t, err)
	emp := store.Scope{TenantID: ten.ID, ActorID: members[identity.RoleEmployee]}
	r, err := approvals.RequestCreate(ctx, db, emp, approvals.RequestFields{Type: approvals.TypePurchase, Title: "Desks",
		Lines: []approvals.Line{{ItemID: &item.ID, Description: "Desk", Quantity: 4000, UnitCost: 100}}})
	require.NoError(t, err)
	_, err = approvals.RequestSubmit(ctx, db, emp, r.ID, r.Version)
	require.NoError(t, err)

	res, err := jobs.ApprovalsSLARunAll(ctx, db, time.Now().Add(30*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, approvals.SLAResult{Reminders: 1, Escalations: 1}, res)
	res, err = jobs.ApprovalsSLARunAll(ctx, db, time.Now().Add(31*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, approvals.SLAResult{}, res)

	// No department: administrators approve.
	_, err = approvals.StepDecide(ctx, db, store.Scope{TenantID: ten.ID, ActorID: members[identity.RoleAdmin]},
		approvals.DecideParams{RequestID: r.ID, Decision: approvals.DecisionApprove})
	require.NoError(t, err)
	var raw [][]byte
	require.NoError(t, db.X.SelectContext(ctx, &raw, `SELECT args FROM river_job WHERE kind = 'approvals_request_approved'`))
	require.Len(t, raw, 1)
	var args approvals.RequestApprovedArgs
	require.NoError(t, json.Unmarshal(raw[0], &args))
	for range 2 { // a retry repeats nothing
		require.NoError(t, jobs.ApprovalsExpectGoods(ctx, db, args))
	}
	exp, err := inventory.ExpectedList(ctx, db, sys, inventory.ExpectedListParams{})
	require.NoError(t, err)
	require.Len(t, exp, 1)
	require.Equal(t, r.Ref(), exp[0].Reference)
	require.Equal(t, inventory.Units(4), exp[0].Quantity)
}
