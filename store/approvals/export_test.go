package approvals_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
)

// listAll follows RequestList's pages (of two, to cross boundaries) and returns every request id in order.
func listAll(ctx context.Context, t *testing.T, tb *testBundle, sc store.Scope, p approvals.RequestListParams) []store.ID {
	t.Helper()
	var out []store.ID
	p.Limit = 2
	for {
		res, err := approvals.RequestList(ctx, tb.db, sc, p)
		require.NoError(t, err)
		for _, r := range res.Requests {
			out = append(out, r.ID)
		}
		if res.Next == "" {
			return out
		}
		p.After = res.Next
	}
}

// eachAll reads the list with RequestsEach (pages of pageSize) and its count, in one transaction of sc.
func eachAll(ctx context.Context, tb *testBundle, sc store.Scope, p approvals.RequestListParams, pageSize int) ([]store.ID, int64, error) {
	var out []store.ID
	var n int64
	err := tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
		var err error
		if n, err = approvals.RequestsCount(ctx, tx, p); err != nil {
			return err
		}
		return approvals.RequestsEachPaged(ctx, tx, p, pageSize, func(r approvals.Request) error {
			out = append(out, r.ID)
			return nil
		})
	})
	return out, n, err
}

func TestRequestsEachEqualsList(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	// emp: 4 drafts and 3 pending; emp2: 2 pending; tenant B: one of its own, which must never appear.
	for range 4 {
		tb.general(ctx, t, "emp", 100)
	}
	for range 3 {
		tb.submitted(ctx, t, "emp", 100)
	}
	for range 2 {
		tb.submitted(ctx, t, "emp2", 100)
	}
	rb, err := approvals.RequestCreate(ctx, tb.db, tb.empB, approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Of B", Amount: 1})
	require.NoError(t, err)

	for _, c := range []struct {
		who  string
		p    approvals.RequestListParams
		want int
	}{
		{"emp", approvals.RequestListParams{Mine: true}, 7},
		{"emp", approvals.RequestListParams{Mine: true, Status: approvals.StatusPending}, 3},
		{"emp2", approvals.RequestListParams{Mine: true}, 2},
		{"auditor", approvals.RequestListParams{}, 9},
		{"auditor", approvals.RequestListParams{Status: approvals.StatusPending, Type: approvals.TypeGeneral}, 5},
		{"manager", approvals.RequestListParams{Status: approvals.StatusDraft}, 4},
		{"manager", approvals.RequestListParams{Type: approvals.TypeExpense}, 0},
	} {
		want := listAll(ctx, t, tb, tb.as(c.who), c.p)
		require.Len(t, want, c.want, "%s %+v", c.who, c.p)
		for _, size := range []int{1, 2, 5000} {
			got, n, err := eachAll(ctx, tb, tb.as(c.who), c.p, size)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s %+v pages of %d: the list's rows in its order", c.who, c.p, size)
			require.EqualValues(t, c.want, n)
			require.NotContains(t, got, rb.ID)
		}
	}

	// The rights of the page: an employee may not read everyone's requests, an auditor has no requests of
	// their own to export; a filter the page refuses is refused.
	_, _, err = eachAll(ctx, tb, tb.as("emp"), approvals.RequestListParams{}, 10)
	requireCode(t, err, store.Forbidden, "")
	_, _, err = eachAll(ctx, tb, tb.as("auditor"), approvals.RequestListParams{Mine: true}, 10)
	requireCode(t, err, store.Forbidden, "")
	_, _, err = eachAll(ctx, tb, tb.as("auditor"), approvals.RequestListParams{Status: "lost"}, 10)
	requireCode(t, err, store.Invalid, "Choose a status")
	// Tenant B's admin sees only B's request.
	got, n, err := eachAll(ctx, tb, tb.adminB, approvals.RequestListParams{}, 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{rb.ID}, got)
	require.EqualValues(t, 1, n)
}

func TestInboxItemsEachEqualsInbox(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	// Five requests of Ops wait for its manager; two of Sales for manager2, who delegates to manager today.
	for range 5 {
		tb.submitted(ctx, t, "emp", 100)
	}
	for range 2 {
		tb.submitted(ctx, t, "emp2", 100)
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	_, err := approvals.DelegationCreate(ctx, tb.db, tb.as("manager2"), approvals.DelegationCreateParams{DelegateID: tb.ids["manager"],
		StartsOn: today, EndsOn: today.AddDate(0, 0, 2)})
	require.NoError(t, err)
	rb, err := approvals.RequestCreate(ctx, tb.db, tb.empB, approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Of B", Amount: 1})
	require.NoError(t, err)
	_, err = approvals.RequestSubmit(ctx, tb.db, tb.empB, rb.ID, rb.Version)
	require.NoError(t, err)

	var want []store.ID
	p := approvals.InboxParams{Limit: 2}
	for {
		res, err := approvals.Inbox(ctx, tb.db, tb.as("manager"), p)
		require.NoError(t, err)
		for _, it := range res.Items {
			want = append(want, it.ID)
		}
		if res.Next == "" {
			break
		}
		p.After = res.Next
	}
	require.Len(t, want, 7)
	each := func(sc store.Scope, size int) ([]store.ID, []string, int64, error) {
		var ids []store.ID
		var behalf []string
		var n int64
		err := tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
			var err error
			if n, err = approvals.InboxItemsCount(ctx, tx); err != nil {
				return err
			}
			return approvals.InboxItemsEachPaged(ctx, tx, size, func(it approvals.InboxItem) error {
				ids = append(ids, it.ID)
				if it.Delegated(sc.ActorID) {
					behalf = append(behalf, it.ForName)
				}
				return nil
			})
		})
		return ids, behalf, n, err
	}
	for _, size := range []int{1, 3, 5000} {
		got, behalf, n, err := each(tb.as("manager"), size)
		require.NoError(t, err)
		require.Equal(t, want, got, "pages of %d: the inbox's rows in its order", size)
		require.EqualValues(t, 7, n)
		require.Equal(t, []string{"Manager2", "Manager2"}, behalf, "the delegated ones say for whom")
	}
	// manager2, who delegated, still has their own two (not manager's five, and not as anyone's delegate);
	// an employee and an auditor may not decide.
	got, behalf, n, err := each(tb.as("manager2"), 10)
	require.NoError(t, err)
	require.Equal(t, want[5:], got)
	require.Empty(t, behalf)
	require.EqualValues(t, 2, n)
	for _, who := range []string{"emp", "auditor"} {
		_, _, _, err = each(tb.as(who), 10)
		requireCode(t, err, store.Forbidden, "")
	}
	// B's admin sees B's request only.
	got, _, _, err = each(tb.adminB, 10)
	require.NoError(t, err)
	require.Equal(t, []store.ID{rb.ID}, got)
}

func TestDashboardSummaries(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	d1 := tb.general(ctx, t, "emp", 100)
	p1 := tb.submitted(ctx, t, "emp", 200)
	p2 := tb.submitted(ctx, t, "emp", 300)
	sent := tb.submitted(ctx, t, "emp", 400)
	_, err := tb.decide(ctx, "manager", sent.ID, approvals.DecisionReturn, "Add the quote")
	require.NoError(t, err)
	done := tb.submitted(ctx, t, "emp", 500)
	_, err = tb.decide(ctx, "manager", done.ID, approvals.DecisionApprove, "")
	require.NoError(t, err)
	tb.submitted(ctx, t, "emp2", 100)

	open, err := approvals.OpenRequests(ctx, tb.db, tb.as("emp"), 3)
	require.NoError(t, err)
	require.Equal(t, 1, open.Draft)
	require.Equal(t, 2, open.Pending)
	require.Equal(t, 1, open.Returned)
	require.Equal(t, 4, open.Total())
	var ids []store.ID
	for _, r := range open.Requests {
		ids = append(ids, r.ID)
	}
	require.Equal(t, []store.ID{sent.ID, d1.ID, p2.ID}, ids, "sent back first, then drafts, then pending, latest first")
	_ = p1

	head, err := approvals.InboxHead(ctx, tb.db, tb.as("manager"), 1)
	require.NoError(t, err)
	require.Equal(t, 2, head.Count, "p1 and p2 wait; the one sent back and the approved one do not")
	require.Len(t, head.Items, 1)
	require.Equal(t, p1.ID, head.Items[0].ID, "the one waiting longest")

	_, err = approvals.InboxHead(ctx, tb.db, tb.as("emp"), 3)
	requireCode(t, err, store.Forbidden, "")
	_, err = approvals.OpenRequests(ctx, tb.db, tb.as("auditor"), 3)
	requireCode(t, err, store.Forbidden, "")
	openB, err := approvals.OpenRequests(ctx, tb.db, tb.adminB, 3)
	require.NoError(t, err)
	require.Zero(t, openB.Total())
	headB, err := approvals.InboxHead(ctx, tb.db, tb.adminB, 3)
	require.NoError(t, err)
	require.Zero(t, headB.Count)
}
