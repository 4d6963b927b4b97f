package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/admin"
)

// deptByName finds a department of the tenant by name, as the system sees it.
func (b *testBundle) deptByName(t *testing.T, tenantID store.ID, name string) identity.DepartmentSummary {
	t.Helper()
	res, err := identity.DepartmentList(context.Background(), b.db, store.Scope{TenantID: tenantID},
		identity.DepartmentListParams{IncludeDeleted: true, Limit: 200})
	require.NoError(t, err)
	for _, d := range res.Departments {
		if d.Name == name {
			return d
		}
	}
	require.FailNow(t, "no department "+name)
	return identity.DepartmentSummary{}
}

// deptRows returns the names in the departments table, in order.
func deptRows(r *response) []string {
	var names []string
	for _, row := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "department-row" }) {
		names = append(names, textOf(elements(row, "a")[0]))
	}
	return names
}

// deptFormVersion reads the version hidden in the form with the given data-testid.
func deptFormVersion(t *testing.T, r *response, testID string) int {
	t.Helper()
	for _, form := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == testID }) {
		v, err := strconv.Atoi(inputValue(form, "version"))
		require.NoError(t, err)
		return v
	}
	require.FailNow(t, "no form "+testID)
	return 0
}

// postHX posts a form the way htmx does: the CSRF header and the id of the element it targets.
func (c *client) postHX(path string, form url.Values, target string) *response {
	c.t.Helper()
	return c.do(http.MethodPost, path, form, http.Header{
		"HX-Request": {"true"}, "HX-Target": {target}, "X-CSRF-Token": {c.token},
	})
}

func TestDepartmentCreateAndList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])

	res := c.get("/admin/departments")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, []string{"Operations"}, deptRows(res))
	// The sidebar has the entry, marked as the current page.
	nav := findAll(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/admin/departments" })
	require.Len(t, nav, 1)
	require.Equal(t, "page", attr(nav[0], "aria-current"))

	res = c.post("/admin/departments", url.Values{"name": {"  Sales  "}})
	require.Equal(t, http.StatusSeeOther, res.status)
	sales := b.deptByName(t, b.tenantA.ID, "Sales")
	require.Equal(t, "/admin/departments/"+sales.ID.String(), res.location())
	res = c.get(res.location())
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, "Created the department Sales.")
	// A sub-page highlights its sidebar entry too.
	nav = findAll(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "/admin/departments" })
	require.Equal(t, "page", attr(nav[0], "aria-current"))

	res = c.get("/admin/departments")
	require.Equal(t, []string{"Operations", "Sales"}, deptRows(res))
	require.Contains(t, testID(t, res, "departments-showing"), "Showing 1–2 of 2")

	t.Run("InvalidKeepsInput", func(t *testing.T) {
		long := strings.Repeat("x", 201)
		res := c.post("/admin/departments", url.Values{"name": {long}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "error-summary"), "Enter the department's name")
		require.Equal(t, long, inputValue(res.doc, "name"))
		require.Equal(t, []string{"Operations", "Sales"}, deptRows(res), "the list is shown under the form")
	})
	t.Run("NameTakenKeepsInput", func(t *testing.T) {
		res := c.post("/admin/departments", url.Values{"name": {"operations"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "error-summary"), "a department called operations exists")
		require.Equal(t, "operations", inputValue(res.doc, "name"))
	})
	t.Run("HTMXGetsTheFormOnly", func(t *testing.T) {
		res := c.postHX("/admin/departments", url.Values{"name": {""}}, admin.DepartmentCreateFormID)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.NotContains(t, res.body, "<html")
		testID(t, res, "department-create-form")
		testID(t, res, "error-summary")
	})
	t.Run("DeletedOnRequest", func(t *testing.T) {
		page := c.get("/admin/departments/" + sales.ID.String())
		res := c.post("/admin/departments/"+sales.ID.String()+"/delete", url.Values{"version": {strconv.Itoa(deptFormVersion(t, page, "department-rename-form"))}})
		require.Equal(t, http.StatusSeeOther, res.status)
		require.Equal(t, []string{"Operations"}, deptRows(c.get("/admin/departments")))
		res = c.get("/admin/departments?deleted=1")
		require.Equal(t, []string{"Operations", "Sales"}, deptRows(res))
		require.Contains(t, testID(t, res, "department-results"), "Deleted")
	})
}

func TestDepartmentDetail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])
	ops := b.deptByName(t, b.tenantA.ID, "Operations")
	path := "/admin/departments/" + ops.ID.String()

	res := c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "None", testID(t, res, "department-manager"))
	require.Equal(t, "5 active members", testID(t, res, "department-members"), "one of every role")
	// Operations has members: no delete button, the reason instead.
	require.Contains(t, testID(t, res, "department-delete-blocked"), "Move them to another department")
	_, hasDelete := byTestID(res.doc, "department-delete")
	require.False(t, hasDelete)
	version := deptFormVersion(t, res, "department-rename-form")
	require.Equal(t, 1, version)

	t.Run("Rename", func(t *testing.T) {
		res := c.post(path+"/rename", url.Values{"name": {"Production"}, "version": {"1"}})
		require.Equal(t, http.StatusSeeOther, res.status)
		res = c.get(path)
		require.Contains(t, res.body, "Saved the name Production.")
		require.Equal(t, "Production", inputValue(res.doc, "name"))
		require.Equal(t, 2, deptFormVersion(t, res, "department-rename-form"))

		// The same stale form again: someone else changed it first.
		res = c.post(path+"/rename", url.Values{"name": {"Ops"}, "version": {"1"}})
		require.Equal(t, http.StatusConflict, res.status)
		require.Contains(t, testID(t, res, "error-page"), "changed by someone else")
		res = c.postHX(path+"/rename", url.Values{"name": {"Ops"}, "version": {"1"}}, admin.DepartmentRenameFormID)
		require.Equal(t, http.StatusConflict, res.status)
		require.Contains(t, res.header.Get("HX-Trigger"), "changed by someone else")

		res = c.post(path+"/rename", url.Values{"name": {"  "}, "version": {"2"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "error-summary"), "Enter the department's name")

		res = c.post(path+"/rename", url.Values{"name": {"Ops"}})
		require.Equal(t, http.StatusConflict, res.status, "a form without its version is stale")
	})

	t.Run("Manager", func(t *testing.T) {
		res := c.get(path)
		version := deptFormVersion(t, res, "department-manager-form")
		manager := b.usersA[identity.RoleManager]
		require.Contains(t, res.body, manager.Email, "the active members are offered")

		res = c.post(path+"/manager", url.Values{"manager_id": {b.usersB[identity.RoleManager].ID.String()}, "version": {strconv.Itoa(version)}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "error-summary"), "Choose an active member")
		res = c.postHX(path+"/manager", url.Values{"manager_id": {"nobody"}, "version": {strconv.Itoa(version)}}, admin.DepartmentManagerFormID)
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.NotContains(t, res.body, "<html")
		require.Contains(t, testID(t, res, "error-summary"), "Choose a manager from the list")

		res = c.post(path+"/manager", url.Values{"manager_id": {manager.ID.String()}, "version": {strconv.Itoa(version)}})
		require.Equal(t, http.StatusSeeOther, res.status)
		res = c.get(path)
		require.Equal(t, manager.Name, testID(t, res, "department-manager"))

		res = c.post(path+"/manager", url.Values{"manager_id": {""}, "version": {strconv.Itoa(version)}})
		require.Equal(t, http.StatusConflict, res.status)
	})

	t.Run("DeleteRefusedWithMembers", func(t *testing.T) {
		res := c.get(path)
		version := deptFormVersion(t, res, "department-rename-form")
		res = c.post(path+"/delete", url.Values{"version": {strconv.Itoa(version)}})
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		require.Contains(t, testID(t, res, "error-summary"), "cannot be deleted: 5 people still belong to it")
	})

	t.Run("OtherTenantAndRoles", func(t *testing.T) {
		other := b.signedIn(t, b.usersB[identity.RoleAdmin])
		require.Equal(t, http.StatusNotFound, other.get(path).status)
		require.Equal(t, http.StatusNotFound, other.post(path+"/rename", url.Values{"name": {"Mine"}, "version": {"1"}}).status)
		require.Equal(t, http.StatusNotFound, other.post(path+"/delete", url.Values{"version": {"1"}}).status)
		manager := b.signedIn(t, b.usersA[identity.RoleManager])
		require.Equal(t, http.StatusForbidden, manager.get(path).status)
		require.Equal(t, http.StatusForbidden, manager.post(path+"/rename", url.Values{"name": {"Mine"}, "version": {"1"}}).status)
		require.Equal(t, http.StatusNotFound, c.get("/admin/departments/not-an-id").status)
	})
}

func TestDepartmentDeleteAndRestore(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])

	res := c.post("/admin/departments", url.Values{"name": {"Archive"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	path := res.location()

	res = c.get(path)
	testID(t, res, "department-delete")
	dialog := testID(t, res, "department-delete-dialog")
	require.Contains(t, dialog, "Delete Archive?")
	require.Contains(t, dialog, "you can restore it later")
	// The button opens our own dialog, without script of ours and without the browser's confirm().
	for _, n := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "department-delete" }) {
		require.Equal(t, admin.DepartmentDeleteDialogID, attr(n, "commandfor"))
		require.Equal(t, "show-modal", attr(n, "command"))
	}

	res = c.post(path+"/delete", url.Values{"version": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = c.get(path)
	require.Contains(t, testID(t, res, "department-status"), "Deleted")
	testID(t, res, "department-restore")
	require.Equal(t, 2, deptFormVersion(t, res, "department-rename-form"))

	// Someone creates a new Archive meanwhile: restoring is refused with the reason.
	require.Equal(t, http.StatusSeeOther, c.post("/admin/departments", url.Values{"name": {"archive"}}).status)
	res = c.post(path+"/restore", url.Values{"version": {"2"}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Another department is called Archive")

	res = c.post(path+"/rename", url.Values{"name": {"Archive (old)"}, "version": {"2"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = c.post(path+"/restore", url.Values{"version": {"3"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = c.get(path)
	require.Contains(t, res.body, "Restored the department Archive (old).")
	require.Contains(t, testID(t, res, "department-status"), "Active")
}
