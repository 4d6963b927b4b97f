package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
	apview "ledgerline/views/approvals"
	"ledgerline/views/ui"
)

// Delegations, the reimbursement list, and the approval policy and settings admin pages.

// policyBandSlots and policyStepSlots are the band and step slots of the policy form.
const (
	policyBandSlots = 4
	policyStepSlots = 3
)

func (h *Handler) approvalsReimburseList(c echo.Context) error {
	list, err := approvals.ReimburseList(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	v := apview.ListView{Title: "To reimburse", Subtitle: "Approved expense claims not yet paid back, oldest approval first.",
		Empty: "Every approved expense claim has been reimbursed.", Reimburse: true, CSRFToken: csrfToken(c), Nav: h.approvalsNav(c, "reimburse")}
	for _, r := range list {
		v.Rows = append(v.Rows, h.requestRow(c, r))
	}
	return render(c, http.StatusOK, apview.List(h.shell(c, "To reimburse — Approvals"), v))
}

func (h *Handler) approvalsReimburse(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	r, err := approvals.ReimburseMark(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	h.flash(ctx, "Marked "+r.Ref()+" reimbursed.")
	return redirect(c, "/approvals/reimburse")
}

// delegationsView builds the delegations page around the form as typed.
func (h *Handler) delegationsView(c echo.Context, delegate, startsOn, endsOn, note string) (apview.DelegationsView, error) {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	list, err := approvals.DelegationList(ctx, h.db, scope(c))
	if err != nil {
		return apview.DelegationsView{}, err
	}
	choices, err := approvals.ApproverChoices(ctx, h.db, scope(c))
	if err != nil {
		return apview.DelegationsView{}, err
	}
	loc := a.Tenant.Location()
	today := time.Now().In(loc).Format(time.DateOnly)
	v := apview.DelegationsView{Nav: h.approvalsNav(c, "delegations"), CSRFToken: csrfToken(c), StartsOn: startsOn, EndsOn: endsOn, Note: note}
	if v.StartsOn == "" {
		v.StartsOn = today
	}
	v.Delegates = append(v.Delegates, apview.Option{Value: "", Label: "Choose a person", Selected: delegate == ""})
	for _, ch := range choices {
		if ch.ID == a.UserID {
			continue
		}
		v.Delegates = append(v.Delegates, apview.Option{Value: ch.ID.String(), Label: ch.Name + " (" + ch.Role.Label() + ")",
			Selected: ch.ID.String() == delegate})
	}
	for _, d := range list {
		row := apview.DelegationRow{From: d.DelegatorName, To: d.DelegateName,
			Window: d.StartsOn.Format("2 Jan 2006") + " – " + d.EndsOn.Format("2 Jan 2006"), Note: d.Note,
			RevokeAction: "/approvals/delegations/" + d.ID.String() + "/revoke"}
		switch {
		case d.RevokedAt != nil:
			row.State, row.StateKind = "Revoked", ui.BadgeDraft
		case d.EndsOn.Format(time.DateOnly) < today:
			row.State, row.StateKind = "Ended", ui.BadgeDraft
		case d.StartsOn.Format(time.DateOnly) > today:
			row.State, row.StateKind, row.CanRevoke = "Planned", ui.BadgeIssued, true
		default:
			row.State, row.StateKind, row.CanRevoke = "In force", ui.BadgeApproved, true
		}
		if d.DelegatorID != a.UserID && !a.Can(identity.AdminUsers) {
			row.CanRevoke = false
		}
		v.Rows = append(v.Rows, row)
	}
	return v, nil
}

func (h *Handler) approvalsDelegations(c echo.Context) error {
	v, err := h.delegationsView(c, "", "", "", "")
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.Delegations(h.shell(c, "Delegations — Approvals"), v))
}

func (h *Handler) approvalsDelegationCreate(c echo.Context) error {
	ctx := c.Request().Context()
	delegate, startsOn, endsOn, note := c.FormValue("delegate_id"), c.FormValue("starts_on"), c.FormValue("ends_on"), c.FormValue("note")
	var fields store.FieldErrors
	p := approvals.DelegationCreateParams{Note: note}
	p.DelegateID = parseOptionalID(&fields, "delegate_id", delegate, "Choose who approves in your place.")
	for _, d := range []struct {
		field, raw string
		dst        *time.Time
	}{{"starts_on", startsOn, &p.StartsOn}, {"ends_on", endsOn, &p.EndsOn}} {
		if d.raw == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, d.raw)
		if err != nil {
			fields.Add(d.field, "Enter a date like 2026-12-24.")
			continue
		}
		*d.dst = t
	}
	// Parse problems are reported on their own: the store is not asked, so nothing can be written.
	err := fields.Err()
	if err == nil {
		_, err = approvals.DelegationCreate(ctx, h.db, scope(c), p)
	}
	if store.ErrorCode(err) == store.Invalid {
		v, verr := h.delegationsView(c, delegate, startsOn, endsOn, note)
		if verr != nil {
			return verr
		}
		v.Errors = fieldErrors(err, "delegate_id", "starts_on", "ends_on", "note")
		if len(v.Errors) == 0 {
			v.Errors = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		}
		return render(c, http.StatusUnprocessableEntity, apview.Delegations(h.shell(c, "Delegations — Approvals"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Your approvals are delegated for those days.")
	return redirect(c, "/approvals/delegations")
}

func (h *Handler) approvalsDelegationRevoke(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	d, err := approvals.DelegationRevoke(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	h.flash(ctx, "Revoked the delegation to "+d.DelegateName+".")
	return redirect(c, "/approvals/delegations")
}

// bandRange describes a band's amounts for reading.
func bandRange(b approvals.Band, currency string) string {
	if b.To == nil {
		return money(b.From, currency) + " and above"
	}
	return money(b.From, currency) + " up to " + money(*b.To, currency)
}

func stepSummary(st approvals.Step, names map[store.ID]string) string {
	who := "the requester's department manager"
	switch st.Approver {
	case approvals.ApproverRole:
		who = "everyone with the role " + st.Role.Label()
	case approvals.ApproverUsers:
		var ns []string
		for _, id := range st.UserIDs {
			ns = append(ns, names[id])
		}
		who = strings.Join(ns, ", ")
	}
	mode := "any one"
	switch st.Mode {
	case approvals.ModeAll:
		mode = "all"
	case approvals.ModeQuorum:
		mode = strconv.Itoa(st.Quorum) + " of them"
	}
	sla := "default SLA"
	if st.SLAHours > 0 {
		sla = "SLA " + strconv.Itoa(st.SLAHours) + " business hours"
	}
	return fmt.Sprintf("%s: %s, %s (%s)", st.Name, who, mode, sla)
}

func (h *Handler) approvalsPolicies(c echo.Context) error {
	ctx := c.Request().Context()
	s, err := approvals.SettingsGet(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	choices, err := approvals.ApproverChoices(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	names := map[store.ID]string{}
	for _, ch := range choices {
		names[ch.ID] = ch.Name
	}
	v := apview.PoliciesView{Nav: h.approvalsNav(c, "policies")}
	for _, t := range approvals.RequestTypes {
		p, err := approvals.PolicyGet(ctx, h.db, scope(c), t)
		if err != nil {
			return err
		}
		ps := apview.PolicySummary{Type: string(t), Label: t.Label(), Href: "/approvals/policies/" + string(t),
			Source: "Default policy from the approval settings."}
		if !p.Default && p.UpdatedAt != nil {
			at, _ := whenIn(*p.UpdatedAt, actorFrom(ctx).Tenant.Location())
			ps.Source = "Saved " + at + " (version " + strconv.Itoa(p.Version) + ")."
		}
		for _, b := range p.Bands {
			bs := apview.BandSummary{Range: bandRange(b, s.Currency)}
			for _, st := range b.Steps {
				bs.Steps = append(bs.Steps, stepSummary(st, names))
			}
			ps.Bands = append(ps.Bands, bs)
		}
		v.Policies = append(v.Policies, ps)
	}
	return render(c, http.StatusOK, apview.Policies(h.shell(c, "Policies — Approvals"), v))
}

// policyFormOf fills the policy form from a policy.
func policyFormOf(p *approvals.Policy, digits int) [][]map[string]string {
	var bands [][]map[string]string
	for _, b := range p.Bands {
		band := []map[string]string{{"from": store.FormatMinorUnits(b.From, digits)}}
		if b.To != nil {
			band[0]["to"] = store.FormatMinorUnits(*b.To, digits)
		}
		for _, st := range b.Steps {
			m := map[string]string{"name": st.Name, "approver": string(st.Approver), "role": string(st.Role), "mode": string(st.Mode)}
			if st.Quorum > 0 {
				m["quorum"] = strconv.Itoa(st.Quorum)
			}
			if st.SLAHours > 0 {
				m["sla_hours"] = strconv.Itoa(st.SLAHours)
			}
			var users []string
			for _, u := range st.UserIDs {
				users = append(users, u.String())
			}
			m["users"] = strings.Join(users, ",")
			band = append(band, m)
		}
		bands = append(bands, band)
	}
	return bands
}

// policyForm builds the policy form from values keyed like the form's fields.
func (h *Handler) policyForm(c echo.Context, t approvals.RequestType, get func(string) string, getAll func(string) []string,
	version int, isDefault bool) (apview.PolicyForm, error) {
	ctx := c.Request().Context()
	s, err := approvals.SettingsGet(ctx, h.db, scope(c))
	if err != nil {
		return apview.PolicyForm{}, err
	}
	choices, err := approvals.ApproverChoices(ctx, h.db, scope(c))
	if err != nil {
		return apview.PolicyForm{}, err
	}
	f := apview.PolicyForm{Nav: h.approvalsNav(c, "policies"), Type: string(t), Label: t.Label(), Action: "/approvals/policies/" + string(t),
		CSRFToken: csrfToken(c), Currency: s.Currency, Version: version, Default: isDefault}
	for i := range policyBandSlots {
		bp := fmt.Sprintf("band%d_", i)
		b := apview.BandForm{Prefix: bp, Index: i, From: get(bp + "from"), To: get(bp + "to")}
		for j := range policyStepSlots {
			sp := fmt.Sprintf("%sstep%d_", bp, j)
			st := apview.StepForm{Prefix: sp, Name: get(sp + "name"), Quorum: get(sp + "quorum"), SLAHours: get(sp + "sla_hours")}
			st.Approvers = optionsOf([]string{"manager", "role", "users"},
				[]string{"The requester's department manager", "Everyone with a role", "Named people"}, get(sp+"approver"), "")
			st.Roles = optionsOf([]string{"", "manager", "finance", "admin"}, []string{"—", "Department manager", "Finance", "Administrator"}, get(sp+"role"), "")
			st.Modes = optionsOf([]string{"any", "all", "quorum"}, []string{"Any one", "All", "N of them"}, get(sp+"mode"), "")
			selected := getAll(sp + "users")
			for _, ch := range choices {
				st.Users = append(st.Users, apview.Option{Value: ch.ID.String(), Label: ch.Name + " (" + ch.Role.Label() + ")",
					Selected: containsString(selected, ch.ID.String())})
			}
			b.Steps = append(b.Steps, st)
		}
		f.Bands = append(f.Bands, b)
	}
	return f, nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func policyType(c echo.Context) (approvals.RequestType, error) {
	t := approvals.RequestType(c.Param("type"))
	if !t.Valid() {
		return t, echo.NewHTTPError(http.StatusNotFound)
	}
	return t, nil
}

func (h *Handler) approvalsPolicyEdit(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := policyType(c)
	if err != nil {
		return err
	}
	p, err := approvals.PolicyGet(ctx, h.db, scope(c), t)
	if err != nil {
		return err
	}
	vals := map[string]string{}
	for i, band := range policyFormOf(p, store.CurrencyDigits(actorFrom(ctx).Tenant.Currency)) {
		if i >= policyBandSlots {
			break
		}
		bp := fmt.Sprintf("band%d_", i)
		vals[bp+"from"], vals[bp+"to"] = band[0]["from"], band[0]["to"]
		for j, st := range band[1:] {
			if j >= policyStepSlots {
				break
			}
			for k, v := range st {
				vals[fmt.Sprintf("%sstep%d_%s", bp, j, k)] = v
			}
		}
	}
	f, err := h.policyForm(c, t, func(k string) string { return vals[k] },
		func(k string) []string {
			if vals[k] == "" {
				return nil
			}
			return strings.Split(vals[k], ",")
		}, p.Version, p.Default)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.PolicyEdit(h.shell(c, t.Label()+" policy — Approvals"), f))
}

func (h *Handler) approvalsPolicySave(c echo.Context) error {
	ctx := c.Request().Context()
	t, err := policyType(c)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	version, verr := strconv.Atoi(form.Get("version"))
	if verr != nil || version < 0 {
		return store.Errorf(store.Conflict, "This form is out of date. Reload the page and try again.")
	}
	digits := store.CurrencyDigits(actorFrom(ctx).Tenant.Currency)
	var fields store.FieldErrors
	var bands []approvals.Band
	var slots []int // the form slot of each kept band, so errors land on it
	for i := range policyBandSlots {
		bp := fmt.Sprintf("band%d_", i)
		from, to := strings.TrimSpace(form.Get(bp+"from")), strings.TrimSpace(form.Get(bp+"to"))
		var steps []approvals.Step
		for j := range policyStepSlots {
			sp := fmt.Sprintf("%sstep%d_", bp, j)
			name := strings.TrimSpace(form.Get(sp + "name"))
			if name == "" {
				continue
			}
			st := approvals.Step{Name: name, Approver: approvals.ApproverKind(form.Get(sp + "approver")),
				Role: identity.Role(form.Get(sp + "role")), Mode: approvals.Mode(form.Get(sp + "mode"))}
			for _, raw := range form[sp+"users"] {
				if id, err := store.ParseID(raw); err == nil {
					st.UserIDs = append(st.UserIDs, id)
				}
			}
			if q := strings.TrimSpace(form.Get(sp + "quorum")); q != "" {
				n, err := strconv.Atoi(q)
				if err != nil {
					fields.Add(sp+"quorum", "Enter a whole number.")
				}
				st.Quorum = n
			}
			if q := strings.TrimSpace(form.Get(sp + "sla_hours")); q != "" {
				n, err := strconv.Atoi(q)
				if err != nil || n < 1 {
					fields.Add(sp+"sla_hours", "Enter a whole number of business hours, or leave it empty.")
				}
				st.SLAHours = n
			}
			steps = append(steps, st)
		}
		if from == "" && to == "" && len(steps) == 0 {
			continue
		}
		b := approvals.Band{Steps: steps}
		if v, err := store.ParseMinorUnits(from, digits); err != nil || from == "" {
			fields.Add(bp+"from", "Enter the band's lower amount, like 0 or 1,000.00.")
		} else {
			b.From = v
		}
		if to != "" {
			if v, err := store.ParseMinorUnits(to, digits); err != nil {
				fields.Add(bp+"to", "Enter an amount like 5,000.00, or leave it empty for \"and above\".")
			} else {
				b.To = &v
			}
		}
		bands = append(bands, b)
		slots = append(slots, i)
	}
	err = fields.Err()
	if err == nil {
		_, err = approvals.PolicySave(ctx, h.db, scope(c), approvals.PolicySaveParams{Type: t, Bands: bands, Version: version})
	}
	if store.ErrorCode(err) == store.Invalid {
		f, ferr := h.policyForm(c, t, form.Get, func(k string) []string { return form[k] }, version, false)
		if ferr != nil {
			return ferr
		}
		var order []string
		order = append(order, "bands")
		for i := range policyBandSlots {
			bp := fmt.Sprintf("band%d_", i)
			order = append(order, bp+"from", bp+"to", bp+"steps")
			for j := range policyStepSlots {
				for _, k := range []string{"name", "approver", "role", "users", "mode", "quorum", "sla_hours"} {
					order = append(order, fmt.Sprintf("%sstep%d_%s", bp, j, k))
				}
			}
		}
		// The store numbers bands as sorted and kept; the form's slots may differ when some were left empty.
		f.Errors = fieldErrors(remapBandErrors(err, slots), order...)
		if len(f.Errors) == 0 {
			f.Errors = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		}
		if hxTargets(c, apview.PolicyFormID) {
			return render(c, http.StatusUnprocessableEntity, apview.PolicyFormView(f))
		}
		return render(c, http.StatusUnprocessableEntity, apview.PolicyEdit(h.shell(c, t.Label()+" policy — Approvals"), f))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Saved the "+strings.ToLower(t.Label())+" policy. Requests already submitted keep their route.")
	return redirect(c, "/approvals/policies")
}

// remapBandErrors moves "band<k>_…" errors of the k-th kept band to its form slot.
func remapBandErrors(err error, slots []int) error {
	se, ok := err.(*store.Error)
	if !ok || len(se.Fields) == 0 {
		return err
	}
	out := map[string]string{}
	for k, v := range se.Fields {
		var n int
		var rest string
		if _, serr := fmt.Sscanf(k, "band%d_%s", &n, &rest); serr == nil && n < len(slots) {
			k = fmt.Sprintf("band%d_%s", slots[n], rest)
		}
		out[k] = v
	}
	return &store.Error{Code: se.Code, Message: se.Message, Fields: out}
}

var weekdayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func minutesText(m int) string {
	if m >= 1440 {
		return "00:00"
	}
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

func parseMinutes(s string, end bool) (int, bool) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, false
	}
	m := t.Hour()*60 + t.Minute()
	if end && m == 0 {
		m = 1440
	}
	return m, true
}

func (h *Handler) settingsForm(c echo.Context, s *approvals.Settings) apview.SettingsForm {
	a := actorFrom(c.Request().Context())
	digits := store.CurrencyDigits(s.Currency)
	f := apview.SettingsForm{Nav: h.approvalsNav(c, "policies"), Action: "/approvals/settings", CSRFToken: csrfToken(c), Currency: s.Currency,
		ManagerLimit: store.FormatMinorUnits(s.ManagerLimit, digits), FinanceLimit: store.FormatMinorUnits(s.FinanceLimit, digits),
		WorkStart: minutesText(s.WorkStart), WorkEnd: minutesText(s.WorkEnd), SLA: strconv.Itoa(s.DefaultSLAHours),
		TimeZone: a.Tenant.TimeZone, Version: s.Version}
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		f.Days = append(f.Days, apview.Option{Value: strconv.Itoa(int(d)), Label: weekdayNames[d], Selected: s.Workdays.Has(d)})
	}
	return f
}

func (h *Handler) approvalsSettings(c echo.Context) error {
	s, err := approvals.SettingsGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.Settings(h.shell(c, "Settings — Approvals"), h.settingsForm(c, s)))
}

func (h *Handler) approvalsSettingsSave(c echo.Context) error {
	ctx := c.Request().Context()
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	current, err := approvals.SettingsGet(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	digits := store.CurrencyDigits(current.Currency)
	var fields store.FieldErrors
	p := approvals.SettingsUpdateParams{Version: version}
	if p.ManagerLimit, err = store.ParseMinorUnits(form.Get("manager_limit"), digits); err != nil {
		fields.Add("manager_limit", store.ErrorMessage(err))
	}
	if p.FinanceLimit, err = store.ParseMinorUnits(form.Get("finance_limit"), digits); err != nil {
		fields.Add("finance_limit", store.ErrorMessage(err))
	}
	var ok bool
	if p.WorkStart, ok = parseMinutes(form.Get("work_start"), false); !ok {
		fields.Add("work_start", "Enter a time like 09:00.")
	}
	if p.WorkEnd, ok = parseMinutes(form.Get("work_end"), true); !ok {
		fields.Add("work_end", "Enter a time like 17:30.")
	}
	for _, d := range form["workdays"] {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n <= 6 {
			p.Workdays |= 1 << n
		}
	}
	if p.DefaultSLAHours, err = strconv.Atoi(strings.TrimSpace(form.Get("default_sla_hours"))); err != nil {
		fields.Add("default_sla_hours", "Enter a whole number of business hours, like 16.")
	}
	if err = fields.Err(); err == nil {
		_, err = approvals.SettingsUpdate(ctx, h.db, scope(c), p)
	}
	if store.ErrorCode(err) == store.Invalid {
		f := h.settingsForm(c, current)
		f.ManagerLimit, f.FinanceLimit, f.WorkStart, f.WorkEnd, f.SLA = form.Get("manager_limit"), form.Get("finance_limit"),
			form.Get("work_start"), form.Get("work_end"), form.Get("default_sla_hours")
		for i := range f.Days {
			f.Days[i].Selected = containsString(form["workdays"], f.Days[i].Value)
		}
		f.Version = version
		f.Errors = fieldErrors(err, "manager_limit", "finance_limit", "work_start", "work_end", "workdays", "default_sla_hours")
		if hxTargets(c, apview.SettingsFormID) {
			return render(c, http.StatusUnprocessableEntity, apview.SettingsFormView(f))
		}
		return render(c, http.StatusUnprocessableEntity, apview.Settings(h.shell(c, "Settings — Approvals"), f))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Saved the approval settings.")
	return redirect(c, "/approvals/settings")
}
