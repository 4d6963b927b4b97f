package approvals_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
)

func TestBusinessHours(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	cal := approvals.Calendar{Loc: berlin, Start: 9 * 60, End: 17 * 60, Workdays: approvals.MondayToFriday}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		name, from string
		hours      float64
		want       string
	}{
		{"within the day", "2026-11-25 10:00", 2, "2026-11-25 12:00"},
		{"to the next morning", "2026-11-25 16:00", 2, "2026-11-26 10:00"},
		{"before opening", "2026-11-25 07:00", 1, "2026-11-25 10:00"},
		{"friday evening to monday", "2026-11-27 18:00", 8, "2026-11-30 17:00"},
		{"saturday", "2026-11-28 12:00", 0.5, "2026-11-30 09:30"},
		{"a full week", "2026-11-23 09:00", 40, "2026-11-27 17:00"},
		{"across the spring DST change", "2026-03-27 16:00", 2, "2026-03-30 10:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := cal.AddBusinessHours(at(tc.from), time.Duration(tc.hours*float64(time.Hour)))
			require.Equal(t, at(tc.want).UTC(), got.UTC(), "got %s", got.In(berlin))
		})
	}
}

func TestRouteMatrix(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	// A custom expense policy: up to 500.00 Ops/Sales manager; from 500.00 two of three finance members.
	_, err := approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeExpense, Bands: []approvals.Band{
		{From: 0, To: ptr(int64(50000)), Steps: []approvals.Step{{Name: "Manager", Approver: approvals.ApproverManager, Mode: approvals.ModeAny}}},
		{From: 50000, Steps: []approvals.Step{{Name: "Finance quorum", Approver: approvals.ApproverRole, Role: identity.RoleFinance,
			Mode: approvals.ModeQuorum, Quorum: 2, SLAHours: 4}}},
	}})
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		who       string
		typ       approvals.RequestType
		amount    int64
		steps     []string
		approvers [][]string
		needed    []int
	}{
		{"general small, Ops", "emp", approvals.TypeGeneral, 50000, []string{"Department manager"}, [][]string{{"Manager"}}, []int{1}},
		{"general small, Sales", "emp2", approvals.TypeGeneral, 50000, []string{"Department manager"}, [][]string{{"Manager2"}}, []int{1}},
		{"general at the manager limit", "emp", approvals.TypeGeneral, 100000, []string{"Department manager", "Finance"},
			[][]string{{"Manager"}, {"Fin1", "Fin2", "Fin3"}}, []int{1, 1}},
		{"general above the finance limit", "emp2", approvals.TypeGeneral, 2000000, []string{"Department manager", "Finance", "Administrator"},
			[][]string{{"Manager2"}, {"Fin1", "Fin2", "Fin3"}, {"Admin"}}, []int{1, 1, 1}},
		{"manager's own request goes to administrators", "manager", approvals.TypeGeneral, 100,
			[]string{"Department manager (no other department manager: administrators)"}, [][]string{{"Admin"}}, []int{1}},
		{"finance requester is not their own approver", "fin1", approvals.TypeGeneral, 500000,
			[]string{"Department manager (no other department manager: administrators)", "Finance"}, [][]string{{"Admin"}, {"Fin2", "Fin3"}}, []int{1, 1}},
		{"expense small", "emp", approvals.TypeExpense, 49999, []string{"Manager"}, [][]string{{"Manager"}}, []int{1}},
		{"expense quorum", "emp2", approvals.TypeExpense, 50000, []string{"Finance quorum"}, [][]string{{"Fin1", "Fin2", "Fin3"}}, []int{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := approvals.RequestFields{Type: tc.typ, Title: tc.name, Amount: tc.amount}
			if tc.typ == approvals.TypeExpense {
				f.Category, f.ExpenseDate = "Travel", ptr(time.Now().AddDate(0, 0, -1))
			}
			r, err := approvals.RequestCreate(ctx, tb.db, tb.as(tc.who), f)
			require.NoError(t, err)
			if tc.typ == approvals.TypeExpense {
				_, err := approvals.ReceiptAdd(ctx, tb.db, tb.as(tc.who), r.ID, "r.pdf", strings.NewReader("%PDF-1.4 receipt"))
				require.NoError(t, err)
				d, err := approvals.RequestGet(ctx, tb.db, tb.as(tc.who), r.ID)
				require.NoError(t, err)
				r = &d.Request
			}
			_, err = approvals.RequestSubmit(ctx, tb.db, tb.as(tc.who), r.ID, r.Version)
			require.NoError(t, err)
			d := tb.detail(ctx, t, r.ID)
			var names []string
			var needed []int
			for _, s := range d.Route {
				names = append(names, s.Name)
				needed = append(needed, s.Needed)
			}
			require.Equal(t, tc.steps, names)
			require.Equal(t, tc.approvers, approverNames(d.Route))
			require.Equal(t, tc.needed, needed)
			require.Equal(t, "active", d.Route[0].Status)
		})
	}
}

func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	step := []approvals.Step{{Name: "M", Approver: approvals.ApproverManager, Mode: approvals.ModeAny}}
	for _, tc := range []struct {
		name  string
		bands []approvals.Band
		msg   string
	}{
		{"no bands", nil, "at least one amount band"},
		{"not from zero", []approvals.Band{{From: 100, Steps: step}}, "Amounts from 0"},
		{"overlap", []approvals.Band{{From: 0, To: ptr(int64(500)), Steps: step}, {From: 400, Steps: step}}, "overlap"},
		{"gap", []approvals.Band{{From: 0, To: ptr(int64(500)), Steps: step}, {From: 600, Steps: step}}, "have no band"},
		{"closed last band", []approvals.Band{{From: 0, To: ptr(int64(500)), Steps: step}}, "5.00 EUR and more have no band"},
		{"no steps", []approvals.Band{{From: 0}}, "at least one step"},
		{"role that cannot approve", []approvals.Band{{From: 0, Steps: []approvals.Step{{Name: "E", Approver: approvals.ApproverRole,
			Role: identity.RoleEmployee, Mode: approvals.ModeAny}}}}, "role that may approve"},
		{"quorum above named people", []approvals.Band{{From: 0, Steps: []approvals.Step{{Name: "U", Approver: approvals.ApproverUsers,
			UserIDs: []store.ID{tb.ids["fin1"]}, Mode: approvals.ModeQuorum, Quorum: 2}}}}, "at most 1"},
		{"named employee", []approvals.Band{{From: 0, Steps: []approvals.Step{{Name: "U", Approver: approvals.ApproverUsers,
			UserIDs: []store.ID{tb.ids["emp"]}, Mode: approvals.ModeAny}}}}, "who may approve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeGeneral, Bands: tc.bands})
			requireCode(t, err, store.Invalid, tc.msg)
		})
	}
	p, err := approvals.PolicyGet(ctx, tb.db, tb.as("admin"), approvals.TypeGeneral)
	require.NoError(t, err)
	require.True(t, p.Default, "nothing was written")
	_, err = approvals.PolicySave(ctx, tb.db, tb.as("manager"), approvals.PolicySaveParams{Type: approvals.TypeGeneral,
		Bands: []approvals.Band{{From: 0, Steps: step}}})
	requireCode(t, err, store.Forbidden, "")
	_, err = approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeGeneral,
		Bands: []approvals.Band{{From: 0, Steps: step}}, Version: 3})
	requireCode(t, err, store.Conflict, "")
}

func TestPurchaseFlowAndSideEffects(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	var itemID store.ID
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		itemID = store.NewID()
		_, err := tx.ExecContext(ctx, `INSERT INTO inventory_items (id, sku, name, unit, currency) VALUES ($1, 'PAPER', 'Paper', 'box', 'EUR')`, itemID)
		return err
	}))
	f := approvals.RequestFields{Type: approvals.TypePurchase, Title: "Paper", Lines: []approvals.Line{
		{ItemID: &itemID, Description: "Paper A4", Quantity: 10_000, UnitCost: 25_000, Supplier: "Acme"},
		{Description: "Delivery", Quantity: 1000, UnitCost: 5_000},
	}}
	r, err := approvals.RequestCreate(ctx, tb.db, tb.as("emp"), f)
	require.NoError(t, err)
	require.Equal(t, int64(255_000), r.Amount, "10 × 250.00 + 50.00")
	require.Equal(t, approvals.StatusDraft, r.Status)

	// A line naming another tenant's item is refused.
	var itemB store.ID
	require.NoError(t, tb.db.InTenant(ctx, tb.sysB, func(tx *store.Tx) error {
		itemB = store.NewID()
		_, err := tx.ExecContext(ctx, `INSERT INTO inventory_items (id, sku, name, unit, currency) VALUES ($1, 'B', 'B', 'ea', 'EUR')`, itemB)
		return err
	}))
	bad := f
	bad.Lines = []approvals.Line{{ItemID: &itemB, Description: "x", Quantity: 1000, UnitCost: 1}}
	_, err = approvals.RequestUpdate(ctx, tb.db, tb.as("emp"), approvals.RequestUpdateParams{ID: r.ID, Version: r.Version, RequestFields: bad})
	requireCode(t, err, store.Invalid, "Choose an item")

	r, err = approvals.RequestSubmit(ctx, tb.db, tb.as("emp"), r.ID, r.Version)
	require.NoError(t, err)
	require.Equal(t, approvals.StatusPending, r.Status)
	// The manager is told in the app and by e-mail, with a link to the request.
	notes, err := notify.ListUnread(ctx, tb.db, tb.as("manager"), 0)
	require.NoError(t, err)
	require.Len(t, notes, 1)
	require.Equal(t, "/approvals/"+r.ID.String(), notes[0].Link)
	require.Contains(t, notes[0].Title, r.Ref())
	var mails int
	require.NoError(t, tb.db.X.GetContext(ctx, &mails, `SELECT count(*) FROM river_job WHERE kind = 'email_send' AND args->>'to' LIKE 'manager-%'`))
	require.Equal(t, 1, mails)
	_, err = approvals.RequestUpdate(ctx, tb.db, tb.as("emp"), approvals.RequestUpdateParams{ID: r.ID, Version: r.Version, RequestFields: f})
	requireCode(t, err, store.Invalid, "cannot be changed")

	jobs := func() int {
		var n int
		require.NoError(t, tb.db.X.GetContext(ctx, &n, `SELECT count(*) FROM river_job WHERE kind = 'approvals_request_approved'`))
		return n
	}
	// Finance cannot skip the manager's step.
	_, err = tb.decide(ctx, "fin1", r.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "not an approver of the current step")
	_, err = tb.decide(ctx, "manager", r.ID, approvals.DecisionApprove, "ok")
	require.NoError(t, err)
	require.Equal(t, 0, jobs(), "nothing happens before the last approval")
	r, err = tb.decide(ctx, "fin2", r.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, r.Status)
	require.Equal(t, 1, jobs())
	var args string
	require.NoError(t, tb.db.X.GetContext(ctx, &args, `SELECT args::text FROM river_job WHERE kind = 'approvals_request_approved'`))
	require.Contains(t, args, r.Ref())
	require.Contains(t, args, itemID.String())
	require.NotContains(t, args, "Delivery", "free-text lines are not expected in inventory")

	_, err = tb.decide(ctx, "fin3", r.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Conflict, "Already decided by Fin2")
	require.Equal(t, 1, jobs())

	var events []string
	require.NoError(t, tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &events, `SELECT type FROM events ORDER BY id`)
	}))
	require.Equal(t, []string{"approval.requested", "approval.decided"}, events)
	d := tb.detail(ctx, t, r.ID)
	var actions []string
	for _, e := range d.Timeline {
		actions = append(actions, e.Action)
	}
	require.Equal(t, []string{"approvals.request_create", "approvals.request_submit", "approvals.decision_approve", "approvals.decision_approve"}, actions)
}

func TestRejectAndSendBack(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	r := tb.submitted(ctx, t, "emp", 5000)
	_, err := tb.decide(ctx, "manager", r.ID, approvals.DecisionReturn, " ")
	requireCode(t, err, store.Invalid, "Say why")
	_, err = tb.decide(ctx, "manager", r.ID, approvals.DecisionReject, "")
	requireCode(t, err, store.Invalid, "Say why")
	r, err = tb.decide(ctx, "manager", r.ID, approvals.DecisionReturn, "Add the agenda")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusReturned, r.Status)

	// Edited and resubmitted: a new round, a new route from the start.
	r, err = approvals.RequestUpdate(ctx, tb.db, tb.as("emp"), approvals.RequestUpdateParams{ID: r.ID, Version: r.Version,
		RequestFields: approvals.RequestFields{Title: "Conference ticket with agenda", Amount: 150000}})
	require.NoError(t, err)
	r, err = approvals.RequestSubmit(ctx, tb.db, tb.as("emp"), r.ID, r.Version)
	require.NoError(t, err)
	require.Equal(t, 2, r.Round)
	d := tb.detail(ctx, t, r.ID)
	require.Len(t, d.Route, 2, "the new amount is in the manager-and-finance band")
	require.Empty(t, d.Route[0].Decisions)

	_, err = tb.decide(ctx, "manager", r.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	r, err = tb.decide(ctx, "fin1", r.ID, approvals.DecisionReject, "Over budget")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusRejected, r.Status)
	_, err = approvals.RequestWithdraw(ctx, tb.db, tb.as("emp"), r.ID, r.Version)
	requireCode(t, err, store.Invalid, "cannot be withdrawn")

	w := tb.submitted(ctx, t, "emp", 100)
	w, err = approvals.RequestWithdraw(ctx, tb.db, tb.as("emp"), w.ID, w.Version)
	require.NoError(t, err)
	require.Equal(t, approvals.StatusWithdrawn, w.Status)
	_, err = tb.decide(ctx, "manager", w.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Conflict, "withdrawn")
}

func TestQuorumAndAll(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	_, err := approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeGeneral, Bands: []approvals.Band{
		{From: 0, To: ptr(int64(100000)), Steps: []approvals.Step{{Name: "Two of three", Approver: approvals.ApproverRole,
			Role: identity.RoleFinance, Mode: approvals.ModeQuorum, Quorum: 2}}},
		{From: 100000, Steps: []approvals.Step{{Name: "Both", Approver: approvals.ApproverUsers,
			UserIDs: []store.ID{tb.ids["fin1"], tb.ids["manager2"]}, Mode: approvals.ModeAll}}},
	}})
	require.NoError(t, err)

	q := tb.submitted(ctx, t, "emp", 500)
	q2, err := tb.decide(ctx, "fin1", q.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusPending, q2.Status, "one of two")
	_, err = tb.decide(ctx, "fin1", q.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Conflict, "already decided")
	q2, err = tb.decide(ctx, "fin3", q.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, q2.Status, "two of two needed")
	d := tb.detail(ctx, t, q.ID)
	require.Len(t, d.Route[0].Decisions, 2)

	a := tb.submitted(ctx, t, "emp", 200000)
	a2, err := tb.decide(ctx, "manager2", a.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusPending, a2.Status)
	_, err = tb.decide(ctx, "fin2", a.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "not an approver")
	a2, err = tb.decide(ctx, "fin1", a.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, a2.Status)
}

func TestConcurrentDecisionsOnAnyStep(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	for range 5 {
		r := tb.submitted(ctx, t, "emp", 150000)
		_, err := tb.decide(ctx, "manager", r.ID, approvals.DecisionApprove, "")
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		start := make(chan struct{})
		for i, who := range []string{"fin1", "fin2", "fin3"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = approvals.StepDecide(ctx, tb.db, tb.as(who), approvals.DecideParams{RequestID: r.ID, Round: 1, Position: 2,
					Decision: approvals.DecisionApprove})
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			requireCode(t, err, store.Conflict, "Already decided by Fin")
		}
		require.Equal(t, 1, wins)
		d := tb.detail(ctx, t, r.ID)
		require.Equal(t, approvals.StatusApproved, d.Status)
		require.Len(t, d.Route[1].Decisions, 1, "nothing counted twice")
	}
}

func TestSelfApprovalBlocked(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	// fin2 is out and delegates to fin1; fin1's own request must not be approved by fin1 as fin2's delegate.
	_, err := approvals.DelegationCreate(ctx, tb.db, tb.as("fin2"), approvals.DelegationCreateParams{DelegateID: tb.ids["fin1"],
		StartsOn: today, EndsOn: today.AddDate(0, 0, 3)})
	require.NoError(t, err)
	r := tb.submitted(ctx, t, "fin1", 150000)
	_, err = tb.decide(ctx, "admin", r.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	_, err = tb.decide(ctx, "fin1", r.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "own request")
	n, err := approvals.InboxCount(ctx, tb.db, tb.as("fin1"))
	require.NoError(t, err)
	require.Zero(t, n, "one's own request never waits for oneself")
	d := tb.detail(ctx, t, r.ID)
	require.Equal(t, approvals.StatusPending, d.Status)
	require.Empty(t, d.Route[1].Decisions)

	// A manager's own request goes to administrators; the manager cannot decide it.
	m := tb.submitted(ctx, t, "manager", 100)
	_, err = tb.decide(ctx, "manager", m.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "own request")
}

func TestDelegation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	window := func(from, to string) approvals.DelegationCreateParams {
		return approvals.DelegationCreateParams{DelegateID: tb.ids[to], StartsOn: today, EndsOn: today.AddDate(0, 0, 5)}
	}
	_, err := approvals.DelegationCreate(ctx, tb.db, tb.as("manager"), approvals.DelegationCreateParams{DelegateID: tb.ids["manager"],
		StartsOn: today, EndsOn: today})
	requireCode(t, err, store.Invalid, "other than yourself")
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("manager"), approvals.DelegationCreateParams{DelegateID: tb.ids["emp"],
		StartsOn: today, EndsOn: today})
	requireCode(t, err, store.Invalid, "may approve")
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("emp"), window("emp", "manager"))
	requireCode(t, err, store.Forbidden, "")

	// manager → manager2 → fin1: the chain resolves to fin1.
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("manager"), window("manager", "manager2"))
	require.NoError(t, err)
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("manager"), window("manager", "fin2"))
	requireCode(t, err, store.Invalid, "exists already")
	d2, err := approvals.DelegationCreate(ctx, tb.db, tb.as("manager2"), window("manager2", "fin1"))
	require.NoError(t, err)
	// fin1 → manager would close a loop.
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.as("fin1"), window("fin1", "manager"))
	requireCode(t, err, store.Invalid, "loop")

	r := tb.submitted(ctx, t, "emp", 100)
	_, err = tb.decide(ctx, "manager2", r.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "not an approver")
	inbox, err := approvals.Inbox(ctx, tb.db, tb.as("fin1"), approvals.InboxParams{})
	require.NoError(t, err)
	require.Len(t, inbox.Items, 1)
	require.Equal(t, tb.ids["manager"], inbox.Items[0].ForID)
	r, err = tb.decide(ctx, "fin1", r.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, r.Status)
	d := tb.detail(ctx, t, r.ID)
	require.Equal(t, "Fin1 on behalf of Manager", d.Route[0].Decisions[0].Who())

	// Revoking the middle link: the chain now stops at manager2.
	_, err = approvals.DelegationRevoke(ctx, tb.db, tb.as("fin1"), d2.ID)
	requireCode(t, err, store.NotFound, "")
	_, err = approvals.DelegationRevoke(ctx, tb.db, tb.as("manager2"), d2.ID)
	require.NoError(t, err)
	r2 := tb.submitted(ctx, t, "emp", 100)
	_, err = tb.decide(ctx, "fin1", r2.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "not an approver")
	r2, err = tb.decide(ctx, "manager2", r2.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, r2.Status)

	// Each member lists the delegations from or to them; an admin lists all.
	list, err := approvals.DelegationList(ctx, tb.db, tb.as("manager"))
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = approvals.DelegationList(ctx, tb.db, tb.as("admin"))
	require.NoError(t, err)
	require.Len(t, list, 2)
}

func TestFrozenRoute(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	r := tb.submitted(ctx, t, "emp", 500)
	_, err := approvals.PolicySave(ctx, tb.db, tb.as("admin"), approvals.PolicySaveParams{Type: approvals.TypeGeneral, Bands: []approvals.Band{
		{From: 0, Steps: []approvals.Step{{Name: "Finance only", Approver: approvals.ApproverRole, Role: identity.RoleFinance, Mode: approvals.ModeAll}}},
	}})
	require.NoError(t, err)
	d := tb.detail(ctx, t, r.ID)
	require.Equal(t, "Department manager", d.Route[0].Name, "the route in flight is unchanged")
	require.Len(t, d.Route, 1)
	_, err = tb.decide(ctx, "fin1", r.ID, approvals.DecisionApprove, "")
	requireCode(t, err, store.Forbidden, "")
	r, err = tb.decide(ctx, "manager", r.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, r.Status)

	n := tb.submitted(ctx, t, "emp", 500)
	d = tb.detail(ctx, t, n.ID)
	require.Equal(t, "Finance only", d.Route[0].Name, "new submissions follow the new policy")
	require.Equal(t, 3, d.Route[0].Needed)
}

func TestSLAReminderAndEscalation(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	s, err := approvals.SettingsGet(ctx, tb.db, tb.as("admin"))
	require.NoError(t, err)
	_, err = approvals.SettingsUpdate(ctx, tb.db, tb.as("admin"), approvals.SettingsUpdateParams{ManagerLimit: s.ManagerLimit,
		FinanceLimit: s.FinanceLimit, WorkStart: 9 * 60, WorkEnd: 17 * 60, Workdays: approvals.MondayToFriday, DefaultSLAHours: 8,
		Version: s.Version})
	require.NoError(t, err)
	// emp2's manager is manager2; manager2 is in Sales, whose manager is manager2 itself: escalation goes to admins.
	r := tb.submitted(ctx, t, "emp2", 100)
	d := tb.detail(ctx, t, r.ID)
	step := d.Route[0]
	require.NotNil(t, step.RemindAt)
	cal := approvals.Calendar{Loc: time.UTC, Start: 9 * 60, End: 17 * 60, Workdays: approvals.MondayToFriday}
	require.Equal(t, cal.AddBusinessHours(*step.ActivatedAt, 4*time.Hour).UTC(), step.RemindAt.UTC())
	require.Equal(t, cal.AddBusinessHours(*step.ActivatedAt, 8*time.Hour).UTC(), step.DueAt.UTC())

	run := func(at time.Time) approvals.SLAResult {
		res, err := approvals.SLARun(ctx, tb.db, tb.a, at)
		require.NoError(t, err)
		return res
	}
	require.Equal(t, approvals.SLAResult{}, run(step.RemindAt.Add(-time.Second)))
	require.Equal(t, approvals.SLAResult{Reminders: 1}, run(*step.RemindAt))
	require.Equal(t, approvals.SLAResult{}, run(step.RemindAt.Add(time.Minute)), "once per step")
	require.Equal(t, approvals.SLAResult{}, run(step.DueAt.Add(-time.Second)))
	require.Equal(t, approvals.SLAResult{Escalations: 1}, run(*step.DueAt))
	require.Equal(t, approvals.SLAResult{}, run(step.DueAt.Add(24*time.Hour)), "once per step")

	d = tb.detail(ctx, t, r.ID)
	require.Equal(t, [][]string{{"Manager2", "Admin"}}, approverNames(d.Route))
	var actions []string
	for _, e := range d.Timeline {
		actions = append(actions, e.Action)
	}
	require.Contains(t, actions, "approvals.sla_reminder")
	require.Contains(t, actions, "approvals.sla_escalate")
	// The escalation target may now decide.
	r, err = tb.decide(ctx, "admin", r.ID, approvals.DecisionApprove, "Approved on escalation")
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, r.Status)

	// An employee of Ops whose approver (manager) sits in Ops, managed by manager: escalation goes to admins.
	// Tenant B's steps are not touched by A's run.
	rb, err := approvals.RequestCreate(ctx, tb.db, tb.empB, approvals.RequestFields{Type: approvals.TypeGeneral, Title: "B"})
	require.NoError(t, err)
	_, err = approvals.RequestSubmit(ctx, tb.db, tb.empB, rb.ID, rb.Version)
	require.NoError(t, err)
	require.Equal(t, approvals.SLAResult{}, run(time.Now().Add(365*24*time.Hour)))
	res, err := approvals.SLARun(ctx, tb.db, tb.b, time.Now().Add(365*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, approvals.SLAResult{Reminders: 1, Escalations: 1}, res)
}

func TestReceipts(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	r, err := approvals.RequestCreate(ctx, tb.db, tb.as("emp"), approvals.RequestFields{Type: approvals.TypeExpense, Title: "Taxi",
		Amount: 4200, Category: "travel", ExpenseDate: ptr(time.Now().AddDate(0, 0, -2))})
	require.NoError(t, err)
	require.Equal(t, "Travel", r.Category)
	_, err = approvals.RequestSubmit(ctx, tb.db, tb.as("emp"), r.ID, r.Version)
	requireCode(t, err, store.Invalid, "receipt")
	_, err = approvals.ReceiptAdd(ctx, tb.db, tb.as("emp"), r.ID, "x.exe", strings.NewReader("MZ\x90\x00 not a receipt"))
	requireCode(t, err, store.Invalid, "PDF or an image")
	big := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), approvals.ReceiptMaxSize)...)
	_, err = approvals.ReceiptAdd(ctx, tb.db, tb.as("emp"), r.ID, "big.pdf", bytes.NewReader(big))
	requireCode(t, err, store.Invalid, "larger than")
	_, err = approvals.ReceiptAdd(ctx, tb.db, tb.as("emp2"), r.ID, "r.pdf", strings.NewReader("%PDF-1.4"))
	requireCode(t, err, store.NotFound, "")
	rc, err := approvals.ReceiptAdd(ctx, tb.db, tb.as("emp"), r.ID, "taxi.png", strings.NewReader("\x89PNG\r\n\x1a\nimage"))
	require.NoError(t, err)
	require.Equal(t, "image/png", rc.ContentType)
	d, err := approvals.RequestGet(ctx, tb.db, tb.as("emp"), r.ID)
	require.NoError(t, err)
	require.Len(t, d.Receipts, 1)
	_, rd, err := approvals.ReceiptOpen(ctx, tb.db, tb.as("manager"), r.ID, rc.FileID)
	require.NoError(t, err)
	buf := new(bytes.Buffer)
	_, err = buf.ReadFrom(rd)
	require.NoError(t, err)
	require.Equal(t, "\x89PNG\r\n\x1a\nimage", buf.String())
	_, err = approvals.RequestSubmit(ctx, tb.db, tb.as("emp"), r.ID, d.Version)
	require.NoError(t, err)
	_, err = approvals.ReceiptAdd(ctx, tb.db, tb.as("emp"), r.ID, "late.pdf", strings.NewReader("%PDF-1.4"))
	requireCode(t, err, store.Invalid, "submitted")

	// Approved claims appear in finance's list to reimburse, once.
	_, err = tb.decide(ctx, "manager", r.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	list, err := approvals.ReimburseList(ctx, tb.db, tb.as("fin1"))
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = approvals.ReimburseMark(ctx, tb.db, tb.as("fin1"), r.ID)
	require.NoError(t, err)
	_, err = approvals.ReimburseMark(ctx, tb.db, tb.as("fin1"), r.ID)
	requireCode(t, err, store.Conflict, "")
	_, err = approvals.ReimburseList(ctx, tb.db, tb.as("emp"))
	requireCode(t, err, store.Forbidden, "")
}

func TestVisibility(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	r := tb.submitted(ctx, t, "emp", 100)
	_, err := approvals.RequestGet(ctx, tb.db, tb.as("emp2"), r.ID)
	requireCode(t, err, store.NotFound, "")
	for _, who := range []string{"emp", "manager", "auditor", "fin1", "admin"} {
		_, err := approvals.RequestGet(ctx, tb.db, tb.as(who), r.ID)
		require.NoError(t, err, who)
	}
	mine, err := approvals.RequestList(ctx, tb.db, tb.as("emp2"), approvals.RequestListParams{Mine: true})
	require.NoError(t, err)
	require.Empty(t, mine.Requests)
	_, err = approvals.RequestList(ctx, tb.db, tb.as("emp"), approvals.RequestListParams{})
	requireCode(t, err, store.Forbidden, "")
	for range 3 {
		tb.general(ctx, t, "emp", 1)
	}
	page, err := approvals.RequestList(ctx, tb.db, tb.as("emp"), approvals.RequestListParams{Mine: true, Limit: 3})
	require.NoError(t, err)
	require.Len(t, page.Requests, 3)
	require.NotEmpty(t, page.Next)
	page, err = approvals.RequestList(ctx, tb.db, tb.as("emp"), approvals.RequestListParams{Mine: true, Limit: 3, After: page.Next})
	require.NoError(t, err)
	require.Len(t, page.Requests, 1)
	require.Equal(t, r.ID, page.Requests[0].ID)
}

// TestCrossTenant: every read and write of tenant A's rows from tenant B finds nothing and changes nothing.
func TestCrossTenant(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	r := tb.submitted(ctx, t, "emp", 100)
	exp, err := approvals.RequestCreate(ctx, tb.db, tb.as("emp"), approvals.RequestFields{Type: approvals.TypeExpense, Title: "Taxi",
		Amount: 100, Category: "Travel", ExpenseDate: ptr(time.Now().AddDate(0, 0, -1))})
	require.NoError(t, err)
	rc, err := approvals.ReceiptAdd(ctx, tb.db, tb.as("emp"), exp.ID, "r.pdf", strings.NewReader("%PDF-1.4"))
	require.NoError(t, err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	dlg, err := approvals.DelegationCreate(ctx, tb.db, tb.as("fin1"), approvals.DelegationCreateParams{DelegateID: tb.ids["fin2"],
		StartsOn: today, EndsOn: today})
	require.NoError(t, err)
	for _, sc := range []store.Scope{tb.adminB, tb.sysB, {TenantID: tb.b, ActorID: tb.ids["admin"]}} {
		_, err := approvals.RequestGet(ctx, tb.db, sc, r.ID)
		requireCode(t, err, store.NotFound, "")
		_, err = approvals.StepDecide(ctx, tb.db, sc, approvals.DecideParams{RequestID: r.ID, Decision: approvals.DecisionApprove})
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, err = approvals.RequestUpdate(ctx, tb.db, sc, approvals.RequestUpdateParams{ID: exp.ID, Version: exp.Version,
			RequestFields: approvals.RequestFields{Title: "x"}})
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, err = approvals.RequestSubmit(ctx, tb.db, sc, exp.ID, exp.Version)
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, err = approvals.RequestWithdraw(ctx, tb.db, sc, r.ID, r.Version)
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, err = approvals.ReceiptAdd(ctx, tb.db, sc, exp.ID, "r.pdf", strings.NewReader("%PDF-1.4"))
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		err = approvals.ReceiptRemove(ctx, tb.db, sc, exp.ID, rc.FileID)
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, _, err = approvals.ReceiptOpen(ctx, tb.db, sc, exp.ID, rc.FileID)
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, err = approvals.DelegationRevoke(ctx, tb.db, sc, dlg.ID)
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
		_, err = approvals.ReimburseMark(ctx, tb.db, sc, exp.ID)
		require.Contains(t, []store.Code{store.NotFound, store.Forbidden}, store.ErrorCode(err))
	}
	list, err := approvals.RequestList(ctx, tb.db, tb.adminB, approvals.RequestListParams{})
	require.NoError(t, err)
	require.Empty(t, list.Requests)
	n, err := approvals.InboxCount(ctx, tb.db, tb.adminB)
	require.NoError(t, err)
	require.Zero(t, n)
	dl, err := approvals.DelegationList(ctx, tb.db, tb.adminB)
	require.NoError(t, err)
	require.Empty(t, dl)
	inbox, err := approvals.Inbox(ctx, tb.db, tb.adminB, approvals.InboxParams{})
	require.NoError(t, err)
	require.Empty(t, inbox.Items)
	// A's manager, were they to act in B's scope, is no member there: refused.
	_, err = approvals.Inbox(ctx, tb.db, store.Scope{TenantID: tb.b, ActorID: tb.ids["manager"]}, approvals.InboxParams{})
	requireCode(t, err, store.Forbidden, "")
	_, err = approvals.ReimburseMark(ctx, tb.db, tb.as("fin1"), exp.ID)
	requireCode(t, err, store.Invalid, "not an approved expense claim")
	rl, err := approvals.ReimburseList(ctx, tb.db, tb.adminB)
	require.NoError(t, err)
	require.Empty(t, rl)
	choices, err := approvals.ApproverChoices(ctx, tb.db, tb.adminB)
	require.NoError(t, err)
	for _, ch := range choices {
		require.NotEqual(t, tb.ids["fin1"], ch.ID, "A's members are not B's choices")
	}
	// B's settings change leaves A's alone.
	sb, err := approvals.SettingsGet(ctx, tb.db, tb.adminB)
	require.NoError(t, err)
	_, err = approvals.SettingsUpdate(ctx, tb.db, tb.adminB, approvals.SettingsUpdateParams{ManagerLimit: 1, FinanceLimit: 2,
		WorkStart: 0, WorkEnd: 1440, Workdays: 127, DefaultSLAHours: 1, Version: sb.Version})
	require.NoError(t, err)
	sa, err := approvals.SettingsGet(ctx, tb.db, tb.as("admin"))
	require.NoError(t, err)
	require.Equal(t, int64(100000), sa.ManagerLimit)
	// A delegate from another tenant cannot be named.
	_, err = approvals.DelegationCreate(ctx, tb.db, tb.adminB, approvals.DelegationCreateParams{DelegateID: tb.ids["fin1"],
		StartsOn: today, EndsOn: today})
	requireCode(t, err, store.Invalid, "")
	// B's policy and settings are its own.
	_, err = approvals.PolicySave(ctx, tb.db, tb.adminB, approvals.PolicySaveParams{Type: approvals.TypeGeneral, Bands: []approvals.Band{
		{From: 0, Steps: []approvals.Step{{Name: "U", Approver: approvals.ApproverUsers, UserIDs: []store.ID{tb.ids["fin1"]}, Mode: approvals.ModeAny}}}}})
	requireCode(t, err, store.Invalid, "who may approve")
	pa, err := approvals.PolicyGet(ctx, tb.db, tb.as("admin"), approvals.TypeGeneral)
	require.NoError(t, err)
	require.True(t, pa.Default)
	// Nothing of A changed.
	d := tb.detail(ctx, t, r.ID)
	require.Equal(t, approvals.StatusPending, d.Status)
	require.Empty(t, d.Route[0].Decisions)
}
