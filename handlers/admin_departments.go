package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/admin"
	"ledgerline/views/ui"
)

// Departments: the list with its create form, and one department's page (rename, manager, delete with
// confirmation, restore). Every operation checks the permission again in the store.

const departmentsPath = "/admin/departments"

// hxTargets reports whether an HTMX request asked for the element id only (not a history restore, which
// needs the whole page).
func hxTargets(c echo.Context, id string) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-History-Restore-Request") != "true" && h.Get("HX-Target") == id
}

// formVersion reads the version a form was rendered with. A missing or malformed one is not something a
// person typed: the page is stale or was tampered with.
func formVersion(c echo.Context) (int, error) {
	v, err := strconv.Atoi(c.FormValue("version"))
	if err != nil || v < 1 {
		return 0, store.Errorf(store.Conflict, "This form is out of date. Reload the page and try again.")
	}
	return v, nil
}

// formStatus is the status of a refused form: 422 when the problems sit next to fields the person can fix
// (a name already taken included), otherwise the error's own status.
func formStatus(err error) int {
	if len(fieldErrors(err, "name", "manager_id")) > 0 {
		return http.StatusUnprocessableEntity
	}
	return statusOf(err)
}

func (h *Handler) departmentList(c echo.Context) error {
	return h.departmentListRender(c, http.StatusOK, admin.DepartmentCreateForm{})
}

// departmentListRender renders the departments screen (or only its results, for the filter) around the
// create form as typed.
func (h *Handler) departmentListRender(c echo.Context, status int, form admin.DepartmentCreateForm) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	q := c.QueryParams()
	v := admin.DepartmentListView{IncludeDeleted: q.Get("deleted") == "1"}
	after := q.Get("after")
	res, err := identity.DepartmentList(ctx, h.db, scope(c), identity.DepartmentListParams{IncludeDeleted: v.IncludeDeleted, After: after})
	if err != nil {
		return err
	}
	for _, d := range res.Departments {
		row := admin.DepartmentRow{
			Href: departmentsPath + "/" + d.ID.String(), Name: d.Name, Manager: "None", Members: d.MemberCount,
			StatusLabel: "Active", StatusBadge: ui.BadgeApproved,
		}
		if d.ManagerName != nil {
			row.Manager = *d.ManagerName
		}
		if d.DeletedAt != nil {
			row.StatusLabel, row.StatusBadge = "Deleted", ui.BadgeDraft
		}
		v.Rows = append(v.Rows, row)
	}
	if n := len(res.Departments); n > 0 {
		v.Showing = fmt.Sprintf("Showing %d–%d of %d", res.Start, res.Start+n-1, res.Total)
	}
	filters := url.Values{}
	if v.IncludeDeleted {
		filters.Set("deleted", "1")
	}
	if res.Next != "" {
		next := url.Values{"after": {res.Next}}
		if v.IncludeDeleted {
			next.Set("deleted", "1")
		}
		v.NextURL = departmentsPath + "?" + next.Encode()
	}
	if after != "" {
		v.FirstURL = departmentsPath
		if len(filters) > 0 {
			v.FirstURL += "?" + filters.Encode()
		}
	}
	form.CSRFToken = csrfToken(c)
	v.Create = form
	if hxTargets(c, admin.DepartmentResultsID) {
		return render(c, status, admin.DepartmentResults(v))
	}
	return render(c, status, admin.DepartmentList(h.shell(c, "Departments"), v))
}

func (h *Handler) departmentCreate(c echo.Context) error {
	ctx := c.Request().Context()
	form := admin.DepartmentCreateForm{Name: c.FormValue("name")}
	d, err := identity.DepartmentCreate(ctx, h.db, scope(c), form.Name)
	if err != nil {
		form.Errors = fieldErrors(err, "name")
		if len(form.Errors) == 0 {
			return err
		}
		form.CSRFToken = csrfToken(c)
		if hxTargets(c, admin.DepartmentCreateFormID) {
			return render(c, http.StatusUnprocessableEntity, admin.DepartmentCreate(form))
		}
		return h.departmentListRender(c, http.StatusUnprocessableEntity, form)
	}
	h.flash(ctx, "Created the department "+d.Name+".")
	return redirect(c, departmentsPath+"/"+d.ID.String())
}

// departmentPage loads the department named in the URL and builds its page. rename and manager are the
// forms as typed (zero values take the department's).
func (h *Handler) departmentPage(c echo.Context, rename admin.DepartmentRenameForm, manager admin.DepartmentManagerForm, selectedManager string) (admin.DepartmentView, error) {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return admin.DepartmentView{}, err
	}
	d, err := identity.DepartmentGet(ctx, h.db, scope(c), id)
	if err != nil {
		return admin.DepartmentView{}, err
	}
	choices, err := identity.DepartmentManagerChoices(ctx, h.db, scope(c))
	if err != nil {
		return admin.DepartmentView{}, err
	}
	a := actorFrom(ctx)
	path := departmentsPath + "/" + d.ID.String()
	token := csrfToken(c)
	v := admin.DepartmentView{
		ID: d.ID.String(), Name: d.Name, Manager: "None", Members: d.MemberCount,
		MembersHref: "/admin/users?" + url.Values{"department": {d.ID.String()}, "status": {"all"}}.Encode(),
		Version:     d.Version, CSRFToken: token, StatusLabel: "Active", StatusBadge: ui.BadgeApproved,
		DeletePath: path + "/delete", RestorePath: path + "/restore", CanBeDeleted: d.MemberCount == 0,
	}
	if a.Can(identity.AuditRead) {
		v.HistoryHref = "/audit?" + url.Values{"entity_type": {"department"}, "entity_id": {d.ID.String()}}.Encode()
	}
	if d.ManagerName != nil {
		v.Manager = *d.ManagerName
	}
	if d.DeletedAt != nil {
		when := d.DeletedAt.In(a.Tenant.Location())
		v.Deleted, v.StatusLabel, v.StatusBadge = true, "Deleted", ui.BadgeDraft
		v.DeletedOn, v.DeletedExact = when.Format("2 Jan 2006"), when.Format("2006-01-02 15:04 MST")
	}
	if !v.CanBeDeleted {
		who := fmt.Sprintf("%d active members", d.MemberCount)
		if d.MemberCount == 1 {
			who = "1 active member"
		}
		v.DeleteBlocker = d.Name + " has " + who + ". Move them to another department on the People page before deleting it."
	}

	if rename.Version == 0 {
		rename.Name, rename.Version = d.Name, d.Version
	}
	rename.Action, rename.CSRFToken = path+"/rename", token
	v.Rename = rename

	if manager.Version == 0 {
		manager.Version = d.Version
		if d.ManagerID != nil {
			selectedManager = d.ManagerID.String()
		}
	}
	manager.Action, manager.CSRFToken, manager.Disabled = path+"/manager", token, d.DeletedAt != nil
	manager.Options = []admin.Option{{Value: "", Label: "No manager", Selected: selectedManager == ""}}
	listed := false
	for _, m := range choices {
		sel := m.UserID.String() == selectedManager
		listed = listed || sel
		manager.Options = append(manager.Options, admin.Option{Value: m.UserID.String(), Label: m.Name + " (" + m.Email + ")", Selected: sel})
	}
	// A manager who is no longer active stays visible, so saving the form does not drop them unnoticed.
	if !listed && selectedManager != "" && d.ManagerID != nil && d.ManagerID.String() == selectedManager && d.ManagerName != nil {
		manager.Options = append(manager.Options, admin.Option{Value: selectedManager, Label: *d.ManagerName + " (no longer active)", Selected: true})
	}
	v.ManagerForm = manager
	return v, nil
}

func (h *Handler) departmentShow(c echo.Context) error {
	v, err := h.departmentPage(c, admin.DepartmentRenameForm{}, admin.DepartmentManagerForm{}, "")
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.DepartmentDetail(h.shell(c, v.Name+" — Departments"), v))
}

func (h *Handler) departmentRename(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	form := admin.DepartmentRenameForm{Name: c.FormValue("name"), Version: version}
	d, err := identity.DepartmentRename(ctx, h.db, scope(c), identity.DepartmentRenameParams{ID: id, Name: form.Name, Version: version})
	if err != nil {
		form.Errors = fieldErrors(err, "name")
		if len(form.Errors) == 0 {
			return err
		}
		v, perr := h.departmentPage(c, form, admin.DepartmentManagerForm{}, "")
		if perr != nil {
			return perr
		}
		if hxTargets(c, admin.DepartmentRenameFormID) {
			return render(c, formStatus(err), admin.DepartmentRename(v.Rename))
		}
		return render(c, formStatus(err), admin.DepartmentDetail(h.shell(c, v.Name+" — Departments"), v))
	}
	h.flash(ctx, "Saved the name "+d.Name+".")
	return redirect(c, departmentsPath+"/"+id.String())
}

func (h *Handler) departmentManager(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	selected := c.FormValue("manager_id")
	params := identity.DepartmentManagerUpdateParams{ID: id, Version: version}
	if selected != "" {
		managerID, perr := store.ParseID(selected)
		if perr != nil {
			err = (store.FieldErrors{"manager_id": "Choose a manager from the list."}).Err()
		}
		params.ManagerID = &managerID
	}
	if err == nil {
		_, err = identity.DepartmentManagerUpdate(ctx, h.db, scope(c), params)
	}
	if err != nil {
		form := admin.DepartmentManagerForm{Version: version, Errors: fieldErrors(err, "manager_id")}
		if len(form.Errors) == 0 {
			return err
		}
		v, perr := h.departmentPage(c, admin.DepartmentRenameForm{}, form, selected)
		if perr != nil {
			return perr
		}
		if hxTargets(c, admin.DepartmentManagerFormID) {
			return render(c, formStatus(err), admin.DepartmentManager(v.ManagerForm))
		}
		return render(c, formStatus(err), admin.DepartmentDetail(h.shell(c, v.Name+" — Departments"), v))
	}
	h.flash(ctx, "Saved the manager.")
	return redirect(c, departmentsPath+"/"+id.String())
}

func (h *Handler) departmentDelete(c echo.Context) error {
	return h.departmentState(c, true)
}

func (h *Handler) departmentRestore(c echo.Context) error {
	return h.departmentState(c, false)
}

// departmentState deletes or restores a department. A refusal (members remain, the name is taken, someone
// else changed it first) shows the department's page again, as it is now, with the reason.
func (h *Handler) departmentState(c echo.Context, del bool) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	var d *identity.Department
	if del {
		d, err = identity.DepartmentDelete(ctx, h.db, scope(c), id, version)
	} else {
		d, err = identity.DepartmentRestore(ctx, h.db, scope(c), id, version)
	}
	if code := store.ErrorCode(err); code == store.Invalid || code == store.Conflict {
		v, perr := h.departmentPage(c, admin.DepartmentRenameForm{}, admin.DepartmentManagerForm{}, "")
		if perr != nil {
			return perr
		}
		v.Problems = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		return render(c, statusOf(err), admin.DepartmentDetail(h.shell(c, v.Name+" — Departments"), v))
	}
	if err != nil {
		return err
	}
	if del {
		h.flash(ctx, "Deleted the department "+d.Name+". You can restore it from this page.")
	} else {
		h.flash(ctx, "Restored the department "+d.Name+".")
	}
	return redirect(c, departmentsPath+"/"+id.String())
}
