package approvals_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

// testBundle is a fresh database with two tenants. Tenant A (EUR, UTC, default limits 1,000.00 and
// 10,000.00) has departments Ops (managed by "manager") and Sales (managed by "manager2"), three finance
// members, two employees (emp in Ops, emp2 in Sales), an admin and an auditor. Tenant B has an admin and
// an employee.
type testBundle struct {
	db *store.DB
	// ownerURL reaches the test database as the owner role, for tests that write or analyze behind the
	// app's back.
	ownerURL string
	a, b     store.ID
	sys      store.Scope
	sysB     store.Scope
	ids      map[string]store.ID // member ids of A by name
	ops      store.ID
	sales    store.ID
	adminB   store.Scope
	empB     store.Scope
}

func (tb *testBundle) as(name string) store.Scope {
	return store.Scope{TenantID: tb.a, ActorID: tb.ids[name]}
}

func setup(t testing.TB) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	b := storetest.New(t)
	tb := &testBundle{db: b.DB, ownerURL: b.OwnerURL, ids: map[string]store.ID{}}
	tenant := func(slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
			Name: "Tenant " + slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	tb.a, tb.b = tenant("appr-a"), tenant("appr-b")
	tb.sys, tb.sysB = store.Scope{TenantID: tb.a}, store.Scope{TenantID: tb.b}
	dept := func(name string) store.ID {
		d, err := identity.DepartmentCreate(ctx, tb.db, tb.sys, name)
		require.NoError(t, err)
		return d.ID
	}
	tb.ops, tb.sales = dept("Ops"), dept("Sales")
	member := func(sc store.Scope, name string, role identity.Role, dept *store.ID) store.ID {
		id := store.NewID()
		_, err := tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
			id, name+"-"+id.String()[:8]+"@appr.example", strings.ToUpper(name[:1])+name[1:])
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, tb.db, sc, identity.MemberAddParams{UserID: id, Role: role, DepartmentID: dept}))
		return id
	}
	for _, m := range []struct {
		name string
		role identity.Role
		dept *store.ID
	}{
		{"admin", identity.RoleAdmin, nil},
		{"manager", identity.RoleManager, &tb.ops},
		{"manager2", identity.RoleManager, &tb.sales},
		{"fin1", identity.RoleFinance, nil},
		{"fin2", identity.RoleFinance, nil},
		{"fin3", identity.RoleFinance, nil},
		{"emp", identity.RoleEmployee, &tb.ops},
		{"emp2", identity.RoleEmployee, &tb.sales},
		{"auditor", identity.RoleAuditor, nil},
	} {
		tb.ids[m.name] = member(tb.sys, m.name, m.role, m.dept)
	}
	require.NoError(t, identity.DepartmentManagerSet(ctx, tb.db, tb.sys, tb.ops, tb.ids["manager"]))
	require.NoError(t, identity.DepartmentManagerSet(ctx, tb.db, tb.sys, tb.sales, tb.ids["manager2"]))
	tb.adminB = store.Scope{TenantID: tb.b, ActorID: member(tb.sysB, "adminb", identity.RoleAdmin, nil)}
	tb.empB = store.Scope{TenantID: tb.b, ActorID: member(tb.sysB, "empb", identity.RoleEmployee, nil)}
	return tb, ctx
}

// general creates a draft general request of amount (minor units) by who.
func (tb *testBundle) general(ctx context.Context, t *testing.T, who string, amount int64) *approvals.Request {
	t.Helper()
	r, err := approvals.RequestCreate(ctx, tb.db, tb.as(who), approvals.RequestFields{Type: approvals.TypeGeneral,
		Title: "Conference ticket", Amount: amount})
	require.NoError(t, err)
	return r
}

// submitted creates and submits a general request.
func (tb *testBundle) submitted(ctx context.Context, t *testing.T, who string, amount int64) *approvals.Request {
	t.Helper()
	r := tb.general(ctx, t, who, amount)
	r, err := approvals.RequestSubmit(ctx, tb.db, tb.as(who), r.ID, r.Version)
	require.NoError(t, err)
	return r
}

func (tb *testBundle) detail(ctx context.Context, t *testing.T, id store.ID) *approvals.RequestDetail {
	t.Helper()
	d, err := approvals.RequestGet(ctx, tb.db, tb.as("admin"), id)
	require.NoError(t, err)
	return d
}

func (tb *testBundle) decide(ctx context.Context, who string, id store.ID, d approvals.DecisionKind, comment string) (*approvals.Request, error) {
	return approvals.StepDecide(ctx, tb.db, tb.as(who), approvals.DecideParams{RequestID: id, Decision: d, Comment: comment})
}

// approverNames lists the names of each step's approvers.
func approverNames(route []approvals.RouteStep) [][]string {
	var out [][]string
	for _, s := range route {
		var names []string
		for _, a := range s.Approvers {
			names = append(names, a.Name)
		}
		out = append(out, names)
	}
	return out
}

func requireCode(t *testing.T, err error, code store.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), "%v", err)
	if msg != "" {
		require.Contains(t, err.Error(), msg)
	}
}

func ptr[T any](v T) *T { return &v }
