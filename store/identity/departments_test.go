package identity_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// departmentCreate makes a department as acme's admin would.
func (tb *testBundle) departmentCreate(ctx context.Context, t *testing.T, sc store.Scope, name string) *identity.Department {
	t.Helper()
	d, err := identity.DepartmentCreate(ctx, tb.db, sc, name)
	require.NoError(t, err)
	return d
}

func departmentNames(ds []identity.DepartmentSummary) []string {
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	return names
}

// auditState decodes an event's before or after state as a department.
func auditState(t *testing.T, raw []byte) identity.Department {
	t.Helper()
	var d identity.Department
	require.NoError(t, json.Unmarshal(raw, &d))
	return d
}

func TestDepartmentList(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)
	require.NoError(t, identity.DepartmentManagerSet(ctx, tb.db, admin, f.ops, f.max))
	empty := tb.departmentCreate(ctx, t, admin, "Archive")
	_, err := identity.DepartmentDelete(ctx, tb.db, admin, empty.ID, empty.Version)
	require.NoError(t, err)
	// A deactivated member is not counted among the members.
	_, err = identity.MemberDeactivate(ctx, tb.db, admin, f.fay)
	require.NoError(t, err)

	res, err := identity.DepartmentList(ctx, tb.db, admin, identity.DepartmentListParams{})
	require.NoError(t, err)
	require.Equal(t, []string{"Finance", "Operations"}, departmentNames(res.Departments))
	require.Equal(t, 2, res.Total)
	require.Empty(t, res.Next)
	fin, ops := res.Departments[0], res.Departments[1]
	require.Equal(t, 0, fin.MemberCount)
	require.Equal(t, 2, ops.MemberCount, "max and ada")
	require.Equal(t, f.max, *ops.ManagerID)
	require.Equal(t, "Max Manager", *ops.ManagerName)
	require.Nil(t, fin.ManagerName)

	all, err := identity.DepartmentList(ctx, tb.db, admin, identity.DepartmentListParams{IncludeDeleted: true})
	require.NoError(t, err)
	require.Equal(t, []string{"Archive", "Finance", "Operations"}, departmentNames(all.Departments))
	require.NotNil(t, all.Departments[0].DeletedAt)

	// Keyset pages of one.
	var names []string
	after := ""
	for i := range 4 {
		page, err := identity.DepartmentList(ctx, tb.db, admin, identity.DepartmentListParams{IncludeDeleted: true, Limit: 1, After: after})
		require.NoError(t, err)
		require.Equal(t, 3, page.Total)
		require.Equal(t, i+1, page.Start)
		names = append(names, departmentNames(page.Departments)...)
		after = page.Next
		if after == "" {
			break
		}
	}
	require.Equal(t, []string{"Archive", "Finance", "Operations"}, names)
	_, err = identity.DepartmentList(ctx, tb.db, admin, identity.DepartmentListParams{After: "not-a-cursor"})
	requireCode(t, store.Invalid, err)

	// Each tenant sees its own departments only; other roles may not list them.
	globex, err := identity.DepartmentList(ctx, tb.db, scopeOf(f.globex, f.gus), identity.DepartmentListParams{IncludeDeleted: true})
	require.NoError(t, err)
	require.Equal(t, []string{"Stores"}, departmentNames(globex.Departments))
	_, err = identity.DepartmentList(ctx, tb.db, scopeOf(f.acme, f.max), identity.DepartmentListParams{})
	requireCode(t, store.Forbidden, err)
	_, err = identity.DepartmentList(ctx, tb.db, scopeOf(f.acme, f.gus), identity.DepartmentListParams{})
	requireCode(t, store.Forbidden, err)
}

func TestDepartmentGet(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)

	d, err := identity.DepartmentGet(ctx, tb.db, scopeOf(f.acme, f.ada), f.ops)
	require.NoError(t, err)
	require.Equal(t, "Operations", d.Name)
	require.Equal(t, 2, d.MemberCount)

	_, err = identity.DepartmentGet(ctx, tb.db, scopeOf(f.globex, f.gus), f.ops)
	requireCode(t, store.NotFound, err)
	_, err = identity.DepartmentGet(ctx, tb.db, scopeOf(f.acme, f.ada), store.NewID())
	requireCode(t, store.NotFound, err)
	_, err = identity.DepartmentGet(ctx, tb.db, scopeOf(f.acme, f.eli), f.ops)
	requireCode(t, store.Forbidden, err)

	// API clients go by their token's scopes.
	_, err = identity.DepartmentGet(ctx, tb.db, store.Scope{TenantID: f.acme, ClientID: store.NewID(),
		ClientScopes: []string{string(identity.InventoryRead)}}, f.ops)
	requireCode(t, store.Forbidden, err)
	_, err = identity.DepartmentGet(ctx, tb.db, store.Scope{TenantID: f.acme, ClientID: store.NewID(),
		ClientScopes: []string{string(identity.AdminUsers)}}, f.ops)
	require.NoError(t, err)
}

func TestDepartmentCreateChecksPermission(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)

	_, err := identity.DepartmentCreate(ctx, tb.db, scopeOf(f.acme, f.max), "Sales")
	requireCode(t, store.Forbidden, err)
	// Globex's admin acting in acme is no member there.
	_, err = identity.DepartmentCreate(ctx, tb.db, scopeOf(f.acme, f.gus), "Sales")
	requireCode(t, store.Forbidden, err)
	d, err := identity.DepartmentCreate(ctx, tb.db, scopeOf(f.acme, f.ada), "Sales")
	require.NoError(t, err)
	events := tb.events(ctx, t, f.acme, "department.create")
	last := events[len(events)-1]
	require.Equal(t, d.ID.String(), last.EntityID)
	require.Equal(t, f.ada, *last.ActorID)
	require.Equal(t, "Sales", auditState(t, last.After).Name)
}

func TestDepartmentRename(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	d, err := identity.DepartmentRename(ctx, tb.db, admin, identity.DepartmentRenameParams{ID: f.ops, Name: " Production ", Version: 1})
	require.NoError(t, err)
	require.Equal(t, "Production", d.Name)
	require.Equal(t, 2, d.Version)
	events := tb.events(ctx, t, f.acme, "department.rename")
	require.Len(t, events, 1)
	require.Equal(t, "Operations", auditState(t, events[0].Before).Name)
	require.Equal(t, "Production", auditState(t, events[0].After).Name)
	require.Equal(t, "req-people", events[0].RequestID)

	// The same name again changes nothing and records nothing.
	same, err := identity.DepartmentRename(ctx, tb.db, admin, identity.DepartmentRenameParams{ID: f.ops, Name: "Production", Version: 2})
	require.NoError(t, err)
	require.Equal(t, 2, same.Version)
	require.Len(t, tb.events(ctx, t, f.acme, "department.rename"), 1)

	t.Run("StaleVersion", func(t *testing.T) {
		_, err := identity.DepartmentRename(ctx, tb.db, admin, identity.DepartmentRenameParams{ID: f.ops, Name: "Ops", Version: 1})
		requireCode(t, store.Conflict, err)
		require.Contains(t, store.ErrorMessage(err), "changed by someone else")
	})
	t.Run("NameTaken", func(t *testing.T) {
		_, err := identity.DepartmentRename(ctx, tb.db, admin, identity.DepartmentRenameParams{ID: f.ops, Name: "FINANCE", Version: 2})
		requireCode(t, store.Conflict, err)
		var appErr *store.Error
		require.ErrorAs(t, err, &appErr)
		require.Contains(t, appErr.Fields["name"], "Choose another name")
	})
	t.Run("Invalid", func(t *testing.T) {
		_, err := identity.DepartmentRename(ctx, tb.db, admin, identity.DepartmentRenameParams{ID: f.ops, Name: " ", Version: 2})
		requireFields(t, err, "name")
	})
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := identity.DepartmentRename(ctx, tb.db, scopeOf(f.globex, f.gus), identity.DepartmentRenameParams{ID: f.ops, Name: "Mine", Version: 2})
		requireCode(t, store.NotFound, err)
	})
	t.Run("NotAdmin", func(t *testing.T) {
		_, err := identity.DepartmentRename(ctx, tb.db, scopeOf(f.acme, f.fay), identity.DepartmentRenameParams{ID: f.ops, Name: "Mine", Version: 2})
		requireCode(t, store.Forbidden, err)
	})
	got, err := identity.DepartmentGet(ctx, tb.db, admin, f.ops)
	require.NoError(t, err)
	require.Equal(t, "Production", got.Name)
	require.Equal(t, 2, got.Version)
}

func TestDepartmentManagerUpdate(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	d, err := identity.DepartmentManagerUpdate(ctx, tb.db, admin, identity.DepartmentManagerUpdateParams{ID: f.fin, ManagerID: &f.fay, Version: 1})
	require.NoError(t, err)
	require.Equal(t, f.fay, *d.ManagerID)
	require.Equal(t, 2, d.Version)
	events := tb.events(ctx, t, f.acme, "department.manager_set")
	require.Len(t, events, 1)
	require.Nil(t, auditState(t, events[0].Before).ManagerID)
	require.Equal(t, f.fay, *auditState(t, events[0].After).ManagerID)

	t.Run("StaleVersion", func(t *testing.T) {
		_, err := identity.DepartmentManagerUpdate(ctx, tb.db, admin, identity.DepartmentManagerUpdateParams{ID: f.fin, ManagerID: &f.max, Version: 1})
		requireCode(t, store.Conflict, err)
	})
	t.Run("MemberOfAnotherTenant", func(t *testing.T) {
		_, err := identity.DepartmentManagerUpdate(ctx, tb.db, admin, identity.DepartmentManagerUpdateParams{ID: f.fin, ManagerID: &f.gwen, Version: 2})
		requireFields(t, err, "manager_id")
	})
	t.Run("DeactivatedMember", func(t *testing.T) {
		_, err := identity.MemberDeactivate(ctx, tb.db, admin, f.eli)
		require.NoError(t, err)
		_, err = identity.DepartmentManagerUpdate(ctx, tb.db, admin, identity.DepartmentManagerUpdateParams{ID: f.fin, ManagerID: &f.eli, Version: 2})
		requireFields(t, err, "manager_id")
		choices, err := identity.DepartmentManagerChoices(ctx, tb.db, admin)
		require.NoError(t, err)
		var ids []store.ID
		for _, c := range choices {
			ids = append(ids, c.UserID)
		}
		require.Equal(t, []store.ID{f.ada, f.fay, f.max}, ids, "active members by name")
	})
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := identity.DepartmentManagerUpdate(ctx, tb.db, scopeOf(f.globex, f.gus), identity.DepartmentManagerUpdateParams{ID: f.fin, ManagerID: &f.gus, Version: 2})
		requireCode(t, store.NotFound, err)
		_, err = identity.DepartmentManagerChoices(ctx, tb.db, scopeOf(f.acme, f.gus))
		requireCode(t, store.Forbidden, err)
	})
	t.Run("NotAdmin", func(t *testing.T) {
		_, err := identity.DepartmentManagerUpdate(ctx, tb.db, scopeOf(f.acme, f.max), identity.DepartmentManagerUpdateParams{ID: f.fin, ManagerID: &f.max, Version: 2})
		requireCode(t, store.Forbidden, err)
	})

	cleared, err := identity.DepartmentManagerUpdate(ctx, tb.db, admin, identity.DepartmentManagerUpdateParams{ID: f.fin, Version: 2})
	require.NoError(t, err)
	require.Nil(t, cleared.ManagerID)
	require.Equal(t, 3, cleared.Version)
}

func TestDepartmentDelete(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	// Operations has Max and Ada.
	_, err := identity.DepartmentDelete(ctx, tb.db, admin, f.ops, 1)
	requireCode(t, store.Invalid, err)
	require.Contains(t, store.ErrorMessage(err), "Operations cannot be deleted: 2 people still belong to it")

	// A deactivated member still belongs: reactivating them would put them back in a deleted department.
	_, err = identity.MemberDeactivate(ctx, tb.db, admin, f.fay)
	require.NoError(t, err)
	_, err = identity.DepartmentDelete(ctx, tb.db, admin, f.fin, 1)
	require.Contains(t, store.ErrorMessage(err), "1 person still belongs")

	empty := tb.departmentCreate(ctx, t, admin, "Archive")
	_, err = identity.DepartmentDelete(ctx, tb.db, admin, empty.ID, 7)
	requireCode(t, store.Conflict, err)
	_, err = identity.DepartmentDelete(ctx, tb.db, scopeOf(f.globex, f.gus), empty.ID, 1)
	requireCode(t, store.NotFound, err)
	_, err = identity.DepartmentDelete(ctx, tb.db, scopeOf(f.acme, f.max), empty.ID, 1)
	requireCode(t, store.Forbidden, err)

	d, err := identity.DepartmentDelete(ctx, tb.db, admin, empty.ID, 1)
	require.NoError(t, err)
	require.NotNil(t, d.DeletedAt)
	require.Equal(t, 2, d.Version)
	events := tb.events(ctx, t, f.acme, "department.delete")
	require.Len(t, events, 1)
	require.Nil(t, auditState(t, events[0].Before).DeletedAt)
	require.NotNil(t, auditState(t, events[0].After).DeletedAt)

	_, err = identity.DepartmentDelete(ctx, tb.db, admin, empty.ID, 2)
	requireCode(t, store.Invalid, err)
	_, err = identity.DepartmentManagerUpdate(ctx, tb.db, admin, identity.DepartmentManagerUpdateParams{ID: empty.ID, ManagerID: &f.ada, Version: 2})
	requireCode(t, store.Invalid, err)

	// The name is free again for a new department.
	tb.departmentCreate(ctx, t, admin, "archive")
}

func TestDepartmentRestore(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	f := tb.peopleFixtureCreate(ctx, t)
	admin := scopeOf(f.acme, f.ada)

	old := tb.departmentCreate(ctx, t, admin, "Archive")
	_, err := identity.DepartmentDelete(ctx, tb.db, admin, old.ID, 1)
	require.NoError(t, err)
	_, err = identity.DepartmentRestore(ctx, tb.db, admin, f.ops, 1)
	requireCode(t, store.Invalid, err)
	require.Contains(t, store.ErrorMessage(err), "is not deleted")

	// Someone took the name meanwhile.
	tb.departmentCreate(ctx, t, admin, "ARCHIVE")
	_, err = identity.DepartmentRestore(ctx, tb.db, admin, old.ID, 2)
	requireCode(t, store.Conflict, err)
	require.Contains(t, store.ErrorMessage(err), "Another department is called Archive")

	_, err = identity.DepartmentRestore(ctx, tb.db, admin, old.ID, 1)
	requireCode(t, store.Conflict, err)
	_, err = identity.DepartmentRestore(ctx, tb.db, scopeOf(f.globex, f.gus), old.ID, 2)
	requireCode(t, store.NotFound, err)
	_, err = identity.DepartmentRestore(ctx, tb.db, scopeOf(f.acme, f.eli), old.ID, 2)
	requireCode(t, store.Forbidden, err)

	// Renaming the deleted one clears the way.
	renamed, err := identity.DepartmentRename(ctx, tb.db, admin, identity.DepartmentRenameParams{ID: old.ID, Name: "Archive 2019", Version: 2})
	require.NoError(t, err)
	d, err := identity.DepartmentRestore(ctx, tb.db, admin, old.ID, renamed.Version)
	require.NoError(t, err)
	require.Nil(t, d.DeletedAt)
	require.Equal(t, 4, d.Version)
	events := tb.events(ctx, t, f.acme, "department.restore")
	require.Len(t, events, 1)
	require.NotNil(t, auditState(t, events[0].Before).DeletedAt)
	require.Nil(t, auditState(t, events[0].After).DeletedAt)

	list, err := identity.DepartmentList(ctx, tb.db, admin, identity.DepartmentListParams{})
	require.NoError(t, err)
	require.Equal(t, []string{"ARCHIVE", "Archive 2019", "Finance", "Operations"}, departmentNames(list.Departments))
}
