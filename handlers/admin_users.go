package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/views/admin"
	"ledgerline/views/ui"
)

// People: the member list with its filters, one person's page (role, department, deactivation) and
// invitations. Deactivating someone or changing their role also ends their sessions, on every instance,
// once the change has committed.

// peopleStatusAll is the status filter's value for "everyone"; an empty status means active members.
const peopleStatusAll = "all"

// peopleFragment reports whether an HTMX request asked for the element id only (not a history restore,
// which needs the whole page).
func peopleFragment(c echo.Context, id string) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-History-Restore-Request") != "true" && h.Get("HX-Target") == id
}

// peopleListParams reads the People list's filter from its query string: the page and its export use it
// both. No status means the active members.
func peopleListParams(q url.Values) (identity.MemberListParams, error) {
	p := identity.MemberListParams{Search: strings.TrimSpace(q.Get("q")), Role: identity.Role(q.Get("role")), After: q.Get("after")}
	switch st := q.Get("status"); st {
	case "":
		p.Status = identity.MemberActive
	case peopleStatusAll:
	default:
		p.Status = identity.MemberStatus(st)
	}
	if d := q.Get("department"); d != "" {
		id, err := store.ParseID(d)
		if err != nil {
			return p, store.Errorf(store.Invalid, "Choose a department from the list.")
		}
		p.DepartmentID = &id
	}
	return p, nil
}

func (h *Handler) peopleList(c echo.Context) error {
	var page templ.Component
	var status int
	if err := h.readSharedGeneric(c, func(context.Context) error {
		var err error
		page, status, err = h.peopleListPage(c)
		return err
	}); err != nil {
		return err
	}
	return render(c, status, page)
}

// peopleListPage reads the page's data (in readShared's transaction) and returns what to render.
func (h *Handler) peopleListPage(c echo.Context) (templ.Component, int, error) {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	q := c.QueryParams()
	v := admin.PeopleListView{
		Search: strings.TrimSpace(q.Get("q")), Role: q.Get("role"), DepartmentID: q.Get("department"), Status: q.Get("status"),
	}
	if v.Status == "" {
		v.Status = string(identity.MemberActive)
	}
	params, err := peopleListParams(q)
	if err != nil {
		return nil, 0, err
	}
	res, err := identity.MemberList(ctx, h.db, scope(c), params)
	if err != nil {
		return nil, 0, err
	}
	departments, err := identity.DepartmentChoices(ctx, h.db, scope(c))
	if err != nil {
		return nil, 0, err
	}
	v.Filtered = v.Search != "" || v.Role != "" || v.DepartmentID != "" || v.Status != string(identity.MemberActive)
	v.Roles = roleOptions("All roles", v.Role)
	v.Departments = departmentOptions(departments, "All departments", v.DepartmentID)
	for _, s := range []struct{ value, label string }{
		{string(identity.MemberActive), "Active"}, {string(identity.MemberDeactivated), "Deactivated"}, {peopleStatusAll, "All"},
	} {
		v.Statuses = append(v.Statuses, admin.Option{Value: s.value, Label: s.label, Selected: s.value == v.Status})
	}
	for _, m := range res.Members {
		v.Rows = append(v.Rows, admin.PersonRow{
			Href: "/admin/users/" + m.UserID.String(), Name: m.Name, Email: m.Email, Role: m.Role.Label(),
			Department: departmentLabel(m.DepartmentName), StatusLabel: m.Status().Label(), StatusBadge: statusBadge(m.Status()),
		})
	}
	if n := len(res.Members); n > 0 {
		v.Showing = fmt.Sprintf("Showing %d–%d of %d", res.Start, res.Start+n-1, res.Total)
	}
	filters := url.Values{}
	for k, val := range map[string]string{"q": v.Search, "role": v.Role, "department": v.DepartmentID} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if v.Status != string(identity.MemberActive) {
		filters.Set("status", v.Status)
	}
	if res.Next != "" {
		next := url.Values{}
		for k, vals := range filters {
			next[k] = vals
		}
		next.Set("after", res.Next)
		v.NextURL = "/admin/users?" + next.Encode()
	}
	if params.After != "" {
		v.FirstURL = "/admin/users"
		if len(filters) > 0 {
			v.FirstURL += "?" + filters.Encode()
		}
	}
	v.Export = h.exportButton(c, exports.KindPeople, filters)
	if peopleFragment(c, admin.PeopleResultsID) {
		return admin.PeopleResults(v), http.StatusOK, nil
	}
	return admin.PeopleList(h.shell(c, "People"), v), http.StatusOK, nil
}

func roleOptions(none, selected string) []admin.Option {
	var out []admin.Option
	if none != "" {
		out = append(out, admin.Option{Value: "", Label: none, Selected: selected == ""})
	}
	for _, r := range identity.Roles {
		out = append(out, admin.Option{Value: string(r), Label: r.Label(), Selected: string(r) == selected})
	}
	return out
}

func departmentOptions(departments []identity.DepartmentChoice, none, selected string) []admin.Option {
	out := []admin.Option{{Value: "", Label: none, Selected: selected == ""}}
	for _, d := range departments {
		out = append(out, admin.Option{Value: d.ID.String(), Label: d.Name, Selected: d.ID.String() == selected})
	}
	return out
}

func departmentLabel(name *string) string {
	if name == nil {
		return "None"
	}
	return *name
}

func statusBadge(s identity.MemberStatus) string {
	if s == identity.MemberActive {
		return ui.BadgeApproved
	}
	return ui.BadgeDraft
}

// memberView builds a person's page from the member and the form as typed (form values "" take the
// member's).
func (h *Handler) memberView(c echo.Context, m *identity.Member, form admin.MemberForm) (admin.MemberView, error) {
	ctx := c.Request().Context()
	departments, err := identity.DepartmentChoices(ctx, h.db, scope(c))
	if err != nil {
		return admin.MemberView{}, err
	}
	a := actorFrom(ctx)
	path := "/admin/users/" + m.UserID.String()
	since := m.CreatedAt.In(a.Tenant.Location())
	if form.Version == 0 {
		form.Version = m.Version
		form.Role = string(m.Role)
		if m.DepartmentID != nil {
			form.DepartmentID = m.DepartmentID.String()
		}
	}
	form.Action, form.CSRFToken = path, csrfToken(c)
	form.Roles = roleOptions("", form.Role)
	form.Departments = departmentOptions(departments, "No department", form.DepartmentID)
	form.RoleHint = "Changing the role signs " + m.Name + " out on every device, so the new role applies at once."
	return admin.MemberView{
		Name: m.Name, Email: m.Email, Role: m.Role.Label(), Department: departmentLabel(m.DepartmentName),
		MemberSince: since.Format("2 Jan 2006"), MemberSinceExact: since.Format("2006-01-02 15:04 MST"),
		StatusLabel: m.Status().Label(), StatusBadge: statusBadge(m.Status()), Active: m.Status() == identity.MemberActive,
		Self: m.UserID == a.UserID, Form: form,
		DeactivatePath: path + "/deactivate", ReactivatePath: path + "/reactivate",
	}, nil
}

func (h *Handler) personShow(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	m, err := identity.MemberGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	v, err := h.memberView(c, m, admin.MemberForm{})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.MemberDetail(h.shell(c, m.Name+" — People"), v))
}

func (h *Handler) personUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	form := admin.MemberForm{Role: c.FormValue("role"), DepartmentID: c.FormValue("department_id")}
	var fields store.FieldErrors
	version, verr := strconv.Atoi(c.FormValue("version"))
	if verr != nil || version < 1 {
		// Not something a person typed: the page is stale or was tampered with.
		return store.Errorf(store.Conflict, "This form is out of date. Reload the page and try again.")
	}
	form.Version = version
	params := identity.MemberUpdateParams{UserID: id, Role: identity.Role(form.Role), Version: version}
	if form.DepartmentID != "" {
		dept, err := store.ParseID(form.DepartmentID)
		if err != nil {
			fields.Add("department_id", "Choose a department from the list.")
		}
		params.DepartmentID = &dept
	}
	err = fields.Err()
	var res *identity.MemberUpdateResult
	if err == nil {
		res, err = identity.MemberUpdate(ctx, h.db, scope(c), params)
	}
	if store.ErrorCode(err) == store.Invalid {
		m, gerr := identity.MemberGet(ctx, h.db, scope(c), id)
		if gerr != nil {
			return gerr
		}
		form.Errors = fieldErrors(err, "role", "department_id")
		v, verr := h.memberView(c, m, form)
		if verr != nil {
			return verr
		}
		if peopleFragment(c, admin.MemberFormID) {
			return render(c, http.StatusUnprocessableEntity, admin.MemberEditForm(v.Form))
		}
		return render(c, http.StatusUnprocessableEntity, admin.MemberDetail(h.shell(c, m.Name+" — People"), v))
	}
	if err != nil {
		return err
	}
	msg := "Saved the changes to " + res.Member.Name + "."
	if res.RoleChanged {
		// The role is read again on every request anyway; ending the sessions makes the person sign in
		// afresh under the new role, everywhere at once.
		if err := h.sessionsEndAll(ctx, id, ""); err != nil {
			return err
		}
		msg = res.Member.Name + " is now " + articled(res.Member.Role.Label()) + ". They have been signed out everywhere."
	}
	h.flash(ctx, msg)
	return redirect(c, "/admin/users/"+id.String())
}

// articled puts "a" or "an" before a role label.
func articled(label string) string {
	if label != "" && strings.ContainsRune("AEIOU", rune(label[0])) {
		return "an " + label
	}
	return "a " + label
}

func (h *Handler) personDeactivate(c echo.Context) error {
	return h.personAccess(c, true)
}

func (h *Handler) personReactivate(c echo.Context) error {
	return h.personAccess(c, false)
}

// personAccess deactivates or reactivates a member. A refusal (yourself, the last admin) shows the
// person's page again with the reason.
func (h *Handler) personAccess(c echo.Context, deactivate bool) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	var m *identity.Member
	if deactivate {
		m, err = identity.MemberDeactivate(ctx, h.db, scope(c), id)
	} else {
		m, err = identity.MemberReactivate(ctx, h.db, scope(c), id)
	}
	if code := store.ErrorCode(err); code == store.Conflict || code == store.Invalid {
		cur, gerr := identity.MemberGet(ctx, h.db, scope(c), id)
		if gerr != nil {
			return gerr
		}
		v, verr := h.memberView(c, cur, admin.MemberForm{})
		if verr != nil {
			return verr
		}
		v.Problems = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		return render(c, statusOf(err), admin.MemberDetail(h.shell(c, cur.Name+" — People"), v))
	}
	if err != nil {
		return err
	}
	if deactivate {
		if err := h.sessionsEndAll(ctx, id, ""); err != nil {
			return err
		}
		h.flash(ctx, m.Name+" is deactivated and has been signed out everywhere.")
	} else {
		h.flash(ctx, m.Name+" is active again and can sign in.")
	}
	return redirect(c, "/admin/users/"+id.String())
}

// invitationsView builds the invitation screen around the form as typed.
func (h *Handler) invitationsView(c echo.Context, form admin.InviteForm) (admin.InvitationsView, error) {
	ctx := c.Request().Context()
	departments, err := identity.DepartmentChoices(ctx, h.db, scope(c))
	if err != nil {
		return admin.InvitationsView{}, err
	}
	if form.Role == "" {
		form.Role = string(identity.RoleEmployee)
	}
	form.CSRFToken = csrfToken(c)
	form.Roles = roleOptions("", form.Role)
	form.Departments = departmentOptions(departments, "No department", form.DepartmentID)
	res, err := identity.InvitationList(ctx, h.db, scope(c), identity.InvitationListParams{After: c.QueryParam("after")})
	if err != nil {
		return admin.InvitationsView{}, err
	}
	loc := actorFrom(ctx).Tenant.Location()
	v := admin.InvitationsView{Form: form}
	now := time.Now()
	for _, inv := range res.Invitations {
		sent, expires := inv.CreatedAt.In(loc), inv.ExpiresAt.In(loc)
		by := "an administrator"
		if inv.InvitedByName != nil {
			by = *inv.InvitedByName
		}
		v.Rows = append(v.Rows, admin.InvitationRow{
			ID: inv.ID.String(), Email: inv.Email, Name: inv.Name, Role: inv.Role.Label(),
			Department: departmentLabel(inv.DepartmentName), InvitedBy: by,
			Sent: sent.Format("2 Jan 2006"), SentExact: sent.Format("2006-01-02 15:04 MST"),
			Expires: expires.Format("2 Jan 15:04"), ExpiresExact: expires.Format("2006-01-02 15:04 MST"),
			Expired: inv.Expired(now), RevokePath: "/admin/invitations/" + inv.ID.String() + "/revoke",
		})
	}
	if res.Next != "" {
		v.NextURL = "/admin/invitations/new?" + url.Values{"after": {res.Next}}.Encode()
	}
	return v, nil
}

func (h *Handler) invitationsPage(c echo.Context) error {
	v, err := h.invitationsView(c, admin.InviteForm{})
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, admin.Invitations(h.shell(c, "Invite people — People"), v))
}

func (h *Handler) invitationCreate(c echo.Context) error {
	ctx := c.Request().Context()
	form := admin.InviteForm{
		Email: strings.TrimSpace(c.FormValue("email")), Name: c.FormValue("name"),
		Role: c.FormValue("role"), DepartmentID: c.FormValue("department_id"),
	}
	params := identity.InvitationCreateParams{
		Email: form.Email, Name: form.Name, Role: identity.Role(form.Role),
		LinkPrefix: h.baseURL.String() + "/invite/accept?token=",
	}
	var fields store.FieldErrors
	if form.DepartmentID != "" {
		dept, err := store.ParseID(form.DepartmentID)
		if err != nil {
			fields.Add("department_id", "Choose a department from the list.")
		}
		params.DepartmentID = &dept
	}
	err := fields.Err()
	if err == nil {
		_, err = identity.InvitationCreate(ctx, h.db, scope(c), params)
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		// A refused address (already a member, an open invitation) is a problem with the input too.
		form.Errors = fieldErrors(err, "email", "name", "role", "department_id")
		v, verr := h.invitationsView(c, form)
		if verr != nil {
			return verr
		}
		if peopleFragment(c, admin.InviteFormID) {
			return render(c, http.StatusUnprocessableEntity, admin.InviteFormView(v.Form))
		}
		return render(c, http.StatusUnprocessableEntity, admin.Invitations(h.shell(c, "Invite people — People"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Invitation sent to "+form.Email+".")
	return redirect(c, "/admin/invitations/new")
}

func (h *Handler) invitationRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := identity.InvitationRevoke(ctx, h.db, scope(c), id); err != nil {
		return err
	}
	h.flash(ctx, "The invitation is revoked; its link no longer works.")
	return redirect(c, "/admin/invitations/new")
}
