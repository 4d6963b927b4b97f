package identity_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// peopleFixture is two tenants with their admins and members. Names are chosen so that the order by
// name differs from the order of creation.
type peopleFixture struct {
	acme, globex store.ID
	ops, fin     store.ID // departments of acme
	stores       store.ID // department of globex
	ada          store.ID // acme admin, ops
	max          store.ID // acme manager, ops
	fay          store.ID // acme finance, fin
	eli          store.ID // acme employee, no department
	gus          store.ID // globex admin
	gwen         store.ID // globex employee, stores
}

func (tb *testBundle) peopleFixtureCreate(ctx context.Context, t *testing.T) *peopleFixture {
	t.Helper()
	f := &peopleFixture{
		acme:   tb.tenantCreate(ctx, t, "Acme", "acme"),
		globex: tb.tenantCreate(ctx, t, "Globex", "globex"),
	}
	dept := func(tenant store.ID, name string) store.ID {
		d, err := identity.DepartmentCreate(ctx, tb.db, store.Scope{TenantID: tenant}, name)
		require.NoError(t, err)
		return d.ID
	}
	f.ops, f.fin, f.stores = dept(f.acme, "Operations"), dept(f.acme, "Finance"), dept(f.globex, "Stores")
	person := func(tenant store.ID, email, name string, role identity.Role, d *store.ID) store.ID {
		u, err := identity.UserCreate(ctx, tb.db, store.Scope{TenantID: tenant}, identity.UserCreateParams{
			Email: email, Name: name, Password: password})
		require.NoError(t, err)
		tb.memberAdd(ctx, t, tenant, u.ID, role, d)
		return u.ID
	}
	f.max = person(f.acme, "max@acme.example", "Max Manager", identity.RoleManager, &f.ops)
	f.eli = person(f.acme, "eli@acme.example", "Eli Employee", identity.RoleEmployee, nil)
	f.ada = person(f.acme, "ada@acme.example", "Ada Admin", identity.RoleAdmin, &f.ops)
	f.fay = person(f.acme, "fay@acme.example", "Fay 50%_Finance", identity.RoleFinance, &f.fin)
	f.gus = person(f.globex, "gus@globex.example", "Gus Admin", identity.RoleAdmin, nil)
	f.gwen = person(f.globex, "gwen@globex.example", "Gwen Employee", identity.RoleEmployee, &f.stores)
	return f
}

func scopeOf(tenant, actor store.ID) store.Scope {
	return store.Scope{TenantID: tenant, ActorID: actor, RequestID: "req-people", ClientIP: "192.0.2.7"}
}

func memberIDs(members []identity.Member) []store.ID {
	var ids []store.ID
	for _, m := range members {
		ids = append(ids, m.UserID)
	}
	return ids
}

func TestMemberList(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	list := func(t *testing.T, p identity.MemberListParams) *identity.MemberListResult {
		t.Helper()
		res, err := identity.MemberList(ctx, tb.db, admin, p)
		require.NoError(t, err)
		return res
	}

	t.Run("ByNameWithDepartment", func(t *testing.T) {
		t.Parallel()
		res := list(t, identity.MemberListParams{})
		require.Equal(t, []store.ID{f.ada, f.eli, f.fay, f.max}, memberIDs(res.Members))
		require.Equal(t, 4, res.Total)
		require.Equal(t, 1, res.Start)
		require.Empty(t, res.Next)
		ada := res.Members[0]
		require.Equal(t, "ada@acme.example", ada.Email)
		require.Equal(t, identity.RoleAdmin, ada.Role)
		require.Equal(t, &f.ops, ada.DepartmentID)
		require.Equal(t, "Operations", *ada.DepartmentName)
		require.Equal(t, identity.MemberActive, ada.Status())
		require.Equal(t, 1, ada.Version)
		require.Nil(t, res.Members[1].DepartmentID)
	})

	t.Run("KeysetPages", func(t *testing.T) {
		t.Parallel()
		first := list(t, identity.MemberListParams{Limit: 3})
		require.Equal(t, []store.ID{f.ada, f.eli, f.fay}, memberIDs(first.Members))
		require.Equal(t, 4, first.Total)
		require.NotEmpty(t, first.Next)
		second := list(t, identity.MemberListParams{Limit: 3, After: first.Next})
		require.Equal(t, []store.ID{f.max}, memberIDs(second.Members))
		require.Equal(t, 4, second.Start, "the second page starts at the fourth member")
		require.Empty(t, second.Next)
		require.Equal(t, 4, second.Total, "every page counts the whole list")
		// A page past the end of its list (here: a cursor after Fay, for a search only Ada matches) has no
		// row to carry the total; it is counted on its own.
		past := list(t, identity.MemberListParams{Limit: 3, After: first.Next, Search: "ada"})
		require.Empty(t, past.Members)
		require.Equal(t, 1, past.Total)
	})

	t.Run("Search", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			search string
			want   []store.ID
		}{
			{"admin", []store.ID{f.ada}},
			{"  MAX  ", []store.ID{f.max}},
			{"@acme.EXAMPLE", []store.ID{f.ada, f.eli, f.fay, f.max}},
			{"eli@", []store.ID{f.eli}},
			{"50%_", []store.ID{f.fay}},
			{"%", []store.ID{f.fay}}, // literally, not "anything"
			{"_", []store.ID{f.fay}},
			{"5_%", nil}, // as a pattern it would match "50%"
			{`\`, nil},
			{"gus", nil}, // another tenant's person
		} {
			res := list(t, identity.MemberListParams{Search: tc.search})
			require.Equal(t, tc.want, memberIDs(res.Members), "search %q", tc.search)
			require.Equal(t, len(tc.want), res.Total, "search %q", tc.search)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		res := list(t, identity.MemberListParams{Role: identity.RoleManager})
		require.Equal(t, []store.ID{f.max}, memberIDs(res.Members))
		res = list(t, identity.MemberListParams{DepartmentID: &f.ops})
		require.Equal(t, []store.ID{f.ada, f.max}, memberIDs(res.Members))
		res = list(t, identity.MemberListParams{DepartmentID: &f.stores})
		require.Empty(t, res.Members, "another tenant's department matches nobody here")
		res = list(t, identity.MemberListParams{Status: identity.MemberDeactivated})
		require.Empty(t, res.Members)
		res = list(t, identity.MemberListParams{Status: identity.MemberActive, Role: identity.RoleAdmin, Search: "ada"})
		require.Equal(t, []store.ID{f.ada}, memberIDs(res.Members))
	})

	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberList(ctx, tb.db, admin, identity.MemberListParams{Role: "boss", Status: "gone"})
		requireFields(t, err, "role", "status")
		_, err = identity.MemberList(ctx, tb.db, admin, identity.MemberListParams{After: "not a cursor"})
		requireCode(t, store.Invalid, err)
	})

	t.Run("NeedsAdminUsers", func(t *testing.T) {
		t.Parallel()
		for _, sc := range []store.Scope{
			scopeOf(f.acme, f.max), scopeOf(f.acme, f.fay), scopeOf(f.acme, f.eli),
			// an OAuth client whose token lacks admin.users
			{TenantID: f.acme, ClientID: store.NewID(), ClientScopes: []string{string(identity.InventoryRead)}},
			scopeOf(f.globex, f.ada), // an admin elsewhere is nobody here
		} {
			_, err := identity.MemberList(ctx, tb.db, sc, identity.MemberListParams{})
			requireCode(t, store.Forbidden, err)
		}
		// A client whose token grants admin.users may.
		client := store.Scope{TenantID: f.acme, ClientID: store.NewID(), ClientScopes: []string{string(identity.AdminUsers)}}
		_, err := identity.MemberList(ctx, tb.db, client, identity.MemberListParams{})
		require.NoError(t, err)
	})

	t.Run("OtherTenantSeesOnlyItsOwn", func(t *testing.T) {
		t.Parallel()
		res, err := identity.MemberList(ctx, tb.db, scopeOf(f.globex, f.gus), identity.MemberListParams{})
		require.NoError(t, err)
		require.Equal(t, []store.ID{f.gus, f.gwen}, memberIDs(res.Members))
	})
}

func TestMemberDeactivatedListedAndFiltered(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)
	_, err := identity.MemberDeactivate(ctx, tb.db, admin, f.eli)
	require.NoError(t, err)

	res, err := identity.MemberList(ctx, tb.db, admin, identity.MemberListParams{Status: identity.MemberDeactivated})
	require.NoError(t, err)
	require.Equal(t, []store.ID{f.eli}, memberIDs(res.Members))
	require.Equal(t, identity.MemberDeactivated, res.Members[0].Status())
	res, err = identity.MemberList(ctx, tb.db, admin, identity.MemberListParams{Status: identity.MemberActive})
	require.NoError(t, err)
	require.Equal(t, []store.ID{f.ada, f.fay, f.max}, memberIDs(res.Members))
}

func TestMemberGet(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)

	m, err := identity.MemberGet(ctx, tb.db, scopeOf(f.acme, f.ada), f.max)
	require.NoError(t, err)
	require.Equal(t, "Max Manager", m.Name)
	require.Equal(t, identity.RoleManager, m.Role)

	// Tenant B's member is not found from tenant A, even by A's admin; an unknown id neither.
	for _, id := range []store.ID{f.gwen, f.gus, store.NewID()} {
		_, err = identity.MemberGet(ctx, tb.db, scopeOf(f.acme, f.ada), id)
		requireCode(t, store.NotFound, err)
	}
	_, err = identity.MemberGet(ctx, tb.db, scopeOf(f.acme, f.max), f.eli)
	requireCode(t, store.Forbidden, err)
	_, err = identity.MemberGet(ctx, tb.db, scopeOf(f.globex, f.ada), f.gwen)
	requireCode(t, store.Forbidden, err) // acme's admin has no role in globex
}

func TestMemberUpdate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	t.Run("ChangesRoleAndDepartmentWithAudit", func(t *testing.T) {
		t.Parallel()
		res, err := identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
			UserID: f.max, Role: identity.RoleFinance, DepartmentID: &f.fin, Version: 1})
		require.NoError(t, err)
		require.True(t, res.RoleChanged)
		require.Equal(t, identity.RoleFinance, res.Member.Role)
		require.Equal(t, &f.fin, res.Member.DepartmentID)
		require.Equal(t, "Finance", *res.Member.DepartmentName)
		require.Equal(t, 2, res.Member.Version)

		events := tb.events(ctx, t, f.acme, "membership.update")
		require.Len(t, events, 1)
		require.Equal(t, &f.ada, events[0].ActorID)
		require.Equal(t, f.max.String(), events[0].EntityID)
		require.Equal(t, "192.0.2.7", events[0].ClientIP)
		var before, after identity.Member
		require.NoError(t, json.Unmarshal(events[0].Before, &before))
		require.NoError(t, json.Unmarshal(events[0].After, &after))
		require.Equal(t, identity.RoleManager, before.Role)
		require.Equal(t, identity.RoleFinance, after.Role)
		require.Equal(t, &f.fin, after.DepartmentID)

		// The same version again is stale now.
		_, err = identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
			UserID: f.max, Role: identity.RoleEmployee, Version: 1})
		requireCode(t, store.Conflict, err)
		require.Contains(t, store.ErrorMessage(err), "changed by someone else")

		// Only the department: not a role change. No department at all is allowed.
		res, err = identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
			UserID: f.max, Role: identity.RoleFinance, DepartmentID: nil, Version: 2})
		require.NoError(t, err)
		require.False(t, res.RoleChanged)
		require.Nil(t, res.Member.DepartmentID)
		require.Equal(t, 3, res.Member.Version)

		// Nothing changed: nothing written.
		res, err = identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
			UserID: f.max, Role: identity.RoleFinance, Version: 3})
		require.NoError(t, err)
		require.False(t, res.RoleChanged)
		require.Equal(t, 3, res.Member.Version)
		require.Len(t, tb.events(ctx, t, f.acme, "membership.update"), 2)
	})

	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{UserID: f.eli, Role: "boss", Version: 1})
		requireFields(t, err, "role")
		unknown := store.NewID()
		for _, d := range []*store.ID{&f.stores, &unknown} { // another tenant's department, no department
			_, err = identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
				UserID: f.eli, Role: identity.RoleEmployee, DepartmentID: d, Version: 1})
			requireFields(t, err, "department_id")
		}
	})

	t.Run("LastAdminCannotBeDemoted", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
			UserID: f.ada, Role: identity.RoleManager, DepartmentID: &f.ops, Version: 1})
		fields := requireFields(t, err, "role")
		require.Contains(t, fields["role"], "Ada Admin is the last active administrator")
		m, err := identity.MemberGet(ctx, tb.db, admin, f.ada)
		require.NoError(t, err)
		require.Equal(t, identity.RoleAdmin, m.Role)
	})

	t.Run("CrossTenantNotFound", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberUpdate(ctx, tb.db, admin, identity.MemberUpdateParams{
			UserID: f.gwen, Role: identity.RoleAdmin, Version: 1})
		requireCode(t, store.NotFound, err)
		m, err := identity.MemberGet(ctx, tb.db, scopeOf(f.globex, f.gus), f.gwen)
		require.NoError(t, err)
		require.Equal(t, identity.RoleEmployee, m.Role, "unchanged")
	})

	t.Run("NeedsAdminUsers", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberUpdate(ctx, tb.db, scopeOf(f.acme, f.fay), identity.MemberUpdateParams{
			UserID: f.fay, Role: identity.RoleAdmin, DepartmentID: &f.fin, Version: 1})
		requireCode(t, store.Forbidden, err)
	})
}

func TestMemberPromotedAdminMayDemoteTheFirst(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)

	_, err := identity.MemberUpdate(ctx, tb.db, scopeOf(f.acme, f.ada), identity.MemberUpdateParams{
		UserID: f.eli, Role: identity.RoleAdmin, Version: 1})
	require.NoError(t, err)
	res, err := identity.MemberUpdate(ctx, tb.db, scopeOf(f.acme, f.eli), identity.MemberUpdateParams{
		UserID: f.ada, Role: identity.RoleEmployee, DepartmentID: &f.ops, Version: 1})
	require.NoError(t, err)
	require.True(t, res.RoleChanged)
	// Ada lost the right in the same moment.
	_, err = identity.MemberList(ctx, tb.db, scopeOf(f.acme, f.ada), identity.MemberListParams{})
	requireCode(t, store.Forbidden, err)
}

func TestMemberDeactivateReactivate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	t.Run("DeactivateAndReactivate", func(t *testing.T) {
		t.Parallel()
		m, err := identity.MemberDeactivate(ctx, tb.db, admin, f.max)
		require.NoError(t, err)
		require.Equal(t, identity.MemberDeactivated, m.Status())
		require.Equal(t, 2, m.Version)
		_, err = identity.ActorLoad(ctx, tb.db, f.max, f.acme)
		requireCode(t, store.NotFound, err) // a deactivated member cannot act

		again, err := identity.MemberDeactivate(ctx, tb.db, admin, f.max)
		require.NoError(t, err, "deactivating twice is harmless")
		require.Equal(t, 2, again.Version)
		events := tb.events(ctx, t, f.acme, "membership.deactivate")
		require.Len(t, events, 1)
		require.Equal(t, f.max.String(), events[0].EntityID)
		var before, after identity.Member
		require.NoError(t, json.Unmarshal(events[0].Before, &before))
		require.NoError(t, json.Unmarshal(events[0].After, &after))
		require.Nil(t, before.DeactivatedAt)
		require.NotNil(t, after.DeactivatedAt)

		m, err = identity.MemberReactivate(ctx, tb.db, admin, f.max)
		require.NoError(t, err)
		require.Equal(t, identity.MemberActive, m.Status())
		require.Equal(t, identity.RoleManager, m.Role, "role and department are kept")
		require.Equal(t, &f.ops, m.DepartmentID)
		require.Equal(t, 3, m.Version)
		require.Len(t, tb.events(ctx, t, f.acme, "membership.reactivate"), 1)
		a, err := identity.ActorLoad(ctx, tb.db, f.max, f.acme)
		require.NoError(t, err)
		require.Equal(t, identity.RoleManager, a.Role)
	})

	t.Run("NotYourself", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberDeactivate(ctx, tb.db, admin, f.ada)
		requireCode(t, store.Conflict, err)
		require.Contains(t, store.ErrorMessage(err), "cannot deactivate yourself")
	})

	t.Run("CrossTenantNotFound", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberDeactivate(ctx, tb.db, admin, f.gwen)
		requireCode(t, store.NotFound, err)
		_, err = identity.MemberReactivate(ctx, tb.db, admin, f.gwen)
		requireCode(t, store.NotFound, err)
		_, err = identity.ActorLoad(ctx, tb.db, f.gwen, f.globex)
		require.NoError(t, err, "globex's member untouched")
	})

	t.Run("NeedsAdminUsers", func(t *testing.T) {
		t.Parallel()
		_, err := identity.MemberDeactivate(ctx, tb.db, scopeOf(f.acme, f.max), f.eli)
		requireCode(t, store.Forbidden, err)
		_, err = identity.MemberReactivate(ctx, tb.db, scopeOf(f.acme, f.fay), f.eli)
		requireCode(t, store.Forbidden, err)
	})
}

func TestMemberLastAdminCannotBeDeactivated(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)

	// Eli becomes a second admin and deactivates Ada; Ada, deactivated, can do nothing any more, and Eli,
	// now the last admin, can be neither deactivated nor demoted by anyone.
	_, err := identity.MemberUpdate(ctx, tb.db, scopeOf(f.acme, f.ada), identity.MemberUpdateParams{
		UserID: f.eli, Role: identity.RoleAdmin, Version: 1})
	require.NoError(t, err)
	_, err = identity.MemberDeactivate(ctx, tb.db, scopeOf(f.acme, f.eli), f.ada)
	require.NoError(t, err)
	_, err = identity.MemberDeactivate(ctx, tb.db, scopeOf(f.acme, f.ada), f.eli)
	requireCode(t, store.Forbidden, err)

	_, err = identity.MemberUpdate(ctx, tb.db, scopeOf(f.acme, f.eli), identity.MemberUpdateParams{
		UserID: f.eli, Role: identity.RoleEmployee, Version: 2})
	fields := requireFields(t, err, "role")
	require.Contains(t, fields["role"], "Eli Employee is the last active administrator")

	// A deactivated admin does not count, and can be given another role.
	_, err = identity.MemberUpdate(ctx, tb.db, scopeOf(f.acme, f.eli), identity.MemberUpdateParams{
		UserID: f.ada, Role: identity.RoleEmployee, Version: 2})
	require.NoError(t, err)
}

// TestMemberLastAdminUnderConcurrency lets two admins deactivate or demote each other at the same moment,
// many times: exactly one of the two changes may win, and the tenant always keeps an active admin.
func TestMemberLastAdminUnderConcurrency(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tenant := tb.tenantCreate(ctx, t, "Acme", "acme")
	a := tb.userCreate(ctx, t, tenant, "a@example.com")
	b := tb.userCreate(ctx, t, tenant, "b@example.com")
	tb.memberAdd(ctx, t, tenant, a, identity.RoleAdmin, nil)
	tb.memberAdd(ctx, t, tenant, b, identity.RoleAdmin, nil)

	reset := func() {
		t.Helper()
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE memberships SET role = 'admin', deactivated_at = NULL, version = 1`)
			return err
		}))
	}
	activeAdmins := func() int {
		t.Helper()
		var n int
		require.NoError(t, tb.db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM memberships WHERE role = 'admin' AND deactivated_at IS NULL`)
		}))
		return n
	}
	ops := map[string]func(actor, target store.ID) error{
		"Deactivate": func(actor, target store.ID) error {
			_, err := identity.MemberDeactivate(ctx, tb.db, scopeOf(tenant, actor), target)
			return err
		},
		"Demote": func(actor, target store.ID) error {
			_, err := identity.MemberUpdate(ctx, tb.db, scopeOf(tenant, actor), identity.MemberUpdateParams{
				UserID: target, Role: identity.RoleEmployee, Version: 1})
			return err
		},
	}
	for name, op := range ops {
		for round := 0; round < 10; round++ {
			reset()
			start := make(chan struct{})
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, pair := range [][2]store.ID{{a, b}, {b, a}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = op(pair[0], pair[1])
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					// The loser is refused as the last admin, or has just lost the right to act.
					code := store.ErrorCode(err)
					require.Contains(t, []store.Code{store.Forbidden, store.Conflict, store.Invalid}, code, "%s: %v", name, err)
				}
			}
			require.Equal(t, 1, won, "%s round %d: exactly one wins (%v)", name, round, errs)
			require.Equal(t, 1, activeAdmins(), "%s round %d: one active admin is left", name, round)
		}
	}
}

func TestDepartmentChoices(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)

	got, err := identity.DepartmentChoices(ctx, tb.db, scopeOf(f.acme, f.ada))
	require.NoError(t, err)
	require.Equal(t, []identity.DepartmentChoice{{ID: f.fin, Name: "Finance"}, {ID: f.ops, Name: "Operations"}}, got)
	got, err = identity.DepartmentChoices(ctx, tb.db, scopeOf(f.globex, f.gus))
	require.NoError(t, err)
	require.Equal(t, []identity.DepartmentChoice{{ID: f.stores, Name: "Stores"}}, got)
	_, err = identity.DepartmentChoices(ctx, tb.db, scopeOf(f.acme, f.eli))
	requireCode(t, store.Forbidden, err)
	_, err = identity.DepartmentChoices(ctx, tb.db, scopeOf(f.globex, f.ada))
	requireCode(t, store.Forbidden, err)
}
