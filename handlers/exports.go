package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/files"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/notify"
	exportsview "ledgerline/views/exports"
	"ledgerline/views/ui"
)

// Exports: the Export button of lists, the export center with polled progress, one export's page, the
// download, cancel and re-run; the export settings and scheduled reports of admins; notifications.
//
// An export stores the list's own parameters: the handler reads the list's query string with the same
// function as the list page (itemListParams, ledgerParams, ...) and keeps the result as JSON, which the
// export's source in jobs/ decodes. So an export has exactly the rows of the list, on every page.

// exportQueryKeys are the query parameters that are not part of a list's filter or sort.
var exportQueryKeys = map[string]bool{"after": true, "_csrf": true}

// exportQuery is a list's query string without paging.
func exportQuery(q url.Values) string {
	out := url.Values{}
	for k, v := range q {
		if !exportQueryKeys[k] {
			out[k] = v
		}
	}
	return out.Encode()
}

// exportButton is the Export button of a list for the current actor (nil when they may not export it).
func (h *Handler) exportButton(c echo.Context, kind exports.Kind, q url.Values) *ui.ExportProps {
	a := actorFrom(c.Request().Context())
	info, ok := exports.KindLookup(kind)
	if !ok || !a.Can(identity.ExportsRun) || !a.Can(info.Permission) {
		return nil
	}
	return &ui.ExportProps{Kind: string(kind), Query: exportQuery(q), CSRFToken: csrfToken(c)}
}

// exportFilterText describes a list query for people: "q: bolt · sort: name, descending".
func exportFilterText(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if !exportQueryKeys[k] && q.Get(k) != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+strings.Join(q[k], ", "))
	}
	return strings.Join(parts, " · ")
}

// exportFilter reads a list's query string into the list's parameters, as the list page does, and returns
// them as the export's filter with a description. A filter the list page would refuse is refused here.
func (h *Handler) exportFilter(ctx context.Context, sc store.Scope, tz *time.Location, kind exports.Kind, q url.Values) (json.RawMessage, string, error) {
	q.Del("after")
	var params any
	switch kind {
	case exports.KindInventoryItems:
		p, err := itemListParams(q)
		if err != nil {
			return nil, "", err
		}
		p.After, p.Limit = "", 0
		params = p
	case exports.KindInventoryMovements:
		p, problems, err := h.ledgerParams(ctx, sc, q, tz)
		if err != nil {
			return nil, "", err
		}
		if len(problems) > 0 {
			return nil, "", store.Errorf(store.Invalid, "%s", problems[0].Message)
		}
		p.After, p.Limit = "", 0
		params = p
	case exports.KindInventoryLevels:
		p := inventory.StockLevelParams{IncludeEmpty: q.Get("empty") == "1"}
		for key, into := range map[string]**store.ID{"item": &p.ItemID, "location": &p.LocationID} {
			if v := q.Get(key); v != "" {
				id, err := store.ParseID(v)
				if err != nil {
					return nil, "", store.Errorf(store.Invalid, "Choose the %s from the list.", key)
				}
				*into = &id
			}
		}
		params = p
	case exports.KindAuditEvents:
		p := auditListParams(q)
		params = p
	case exports.KindPeople:
		p, err := peopleListParams(q)
		if err != nil {
			return nil, "", err
		}
		p.After, p.Limit = "", 0
		params = p
	case exports.KindApprovalRequests, exports.KindApprovalsMine:
		p, err := requestListParams(q, kind == exports.KindApprovalsMine)
		if err != nil {
			return nil, "", err
		}
		p.After, p.Limit = "", 0
		params = p
	case exports.KindApprovalsInbox:
		// "Waiting for me" has no filter: the export holds what waits for the requester when it runs.
		params = struct{}{}
	case exports.KindBillingInvoices:
		p, problems := invoiceListParams(q)
		for _, field := range []string{"customer", "from", "to", "status"} {
			if msg, bad := problems[field]; bad {
				return nil, "", store.Errorf(store.Invalid, "%s", msg)
			}
		}
		p.After, p.Limit = "", 0
		params = p
	case exports.KindBillingCustomers:
		p := customerListParams(q)
		p.After, p.Limit = "", 0
		params = p
	case exports.KindBillingPayments:
		p := paymentListParams(q)
		p.After, p.Limit = "", 0
		params = p
	default:
		return nil, "", (store.FieldErrors{"kind": "Choose a list to export."}).Err()
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, "", err
	}
	return b, exportFilterText(q), nil
}

func exportHref(id store.ID) string { return "/exports/" + id.String() }

func exportStateLabel(s exports.State) (label, badge string) {
	switch s {
	case exports.StateQueued:
		return "Queued", ui.BadgePending
	case exports.StateRunning:
		return "Running", ui.BadgeInProgress
	case exports.StateWaiting:
		return "Waiting", ui.BadgePending
	case exports.StateDone:
		return "Ready", ui.BadgeApproved
	case exports.StateFailed:
		return "Failed", ui.BadgeRejected
	case exports.StateCancelled:
		return "Cancelled", ui.BadgeDraft
	}
	return string(s), ui.BadgeDraft
}

func exportRow(x exports.Export, me store.ID, admin bool, loc *time.Location, now time.Time) exportsview.Row {
	label, badge := exportStateLabel(x.State)
	when := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format("2 Jan 2006 15:04")
	}
	r := exportsview.Row{ID: x.ID.String(), Href: exportHref(x.ID), Title: x.Title(), Format: strings.ToUpper(string(x.Format)),
		FilterText: x.FilterText, Requester: x.RequesterName, State: string(x.State), StateLabel: label, Badge: badge,
		Created: when(&x.CreatedAt), Finished: when(x.FinishedAt), RowsDone: x.RowsDone, RowsTotal: x.RowsTotal,
		Percent: x.Percent(), Active: x.State.Active(), Expired: x.Expired(now), Error: x.Error,
		FileName: x.FileName, FileSize: files.SizeText(x.FileSize)}
	if x.State == exports.StateDone {
		r.Expires = when(x.ExpiresAt)
	}
	if x.State == exports.StateWaiting && x.NextAttemptAt != nil {
		r.NextAttempt = x.NextAttemptAt.In(loc).Format("15:04:05")
	}
	r.CanCancel = r.Active && (x.RequestedBy == me || admin)
	r.CanDownload = x.Downloadable(now)
	r.DownloadHref = r.Href + "/download"
	return r
}

// exportCreate starts an export of a list with the filter and sort it was showing, then opens the
// export's page. The limit of concurrent exports comes back as a 409 with its message (a toast on HTMX).
func (h *Handler) exportCreate(c echo.Context) error {
	ctx := c.Request().Context()
	kind := exports.Kind(c.FormValue("kind"))
	q, err := url.ParseQuery(c.FormValue("query"))
	if err != nil {
		return store.Errorf(store.Invalid, "The list's filter could not be read. Reload the list and export again.")
	}
	filter, text, err := h.exportFilter(ctx, scope(c), actorFrom(ctx).Tenant.Location(), kind, q)
	if err != nil {
		return err
	}
	x, err := exports.Create(ctx, h.db, scope(c), exports.CreateParams{Kind: kind, Format: exports.Format(c.FormValue("format")),
		Filter: filter, FilterText: text})
	if err != nil {
		return err
	}
	h.flash(ctx, "Export started: "+x.Title()+". It keeps running if you leave this page.")
	return redirect(c, exportHref(x.ID))
}

// exportCenter lists the actor's exports (everyone's with ?all=1, for admins).
func (h *Handler) exportCenter(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	a := actorFrom(ctx)
	admin := a.Can(identity.AdminSettings)
	v := exportsview.CenterView{CSRFToken: csrfToken(c), All: admin && c.QueryParam("all") == "1", CanSeeAll: admin, IsAdmin: admin}
	res, err := exports.List(ctx, h.db, scope(c), exports.ListParams{All: v.All, After: c.QueryParam("after")})
	if err != nil {
		return err
	}
	self := url.Values{}
	if v.All {
		self.Set("all", "1")
	}
	v.SelfURL = "/exports"
	if len(self) > 0 {
		v.SelfURL += "?" + self.Encode()
	}
	now, loc := time.Now(), a.Tenant.Location()
	for _, x := range res.Exports {
		r := exportRow(x, a.UserID, admin, loc, now)
		v.Polling = v.Polling || r.Active
		v.Rows = append(v.Rows, r)
	}
	if res.Next != "" {
		self.Set("after", res.Next)
		v.NextURL = "/exports?" + self.Encode()
	}
	if hxTargets(c, exportsview.ListID) {
		return render(c, http.StatusOK, exportsview.CenterTable(v))
	}
	return render(c, http.StatusOK, exportsview.Center(h.shell(c, "Exports"), v))
}

// exportShow is one export's page; its panel polls it while the export runs.
func (h *Handler) exportShow(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	x, err := exports.Get(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	a := actorFrom(ctx)
	v := exportsview.DetailView{CSRFToken: csrfToken(c), SelfURL: exportHref(x.ID),
		Row: exportRow(*x, a.UserID, a.Can(identity.AdminSettings), a.Tenant.Location(), time.Now())}
	if hxTargets(c, exportsview.PanelID) {
		return render(c, http.StatusOK, exportsview.DetailPanel(v))
	}
	return render(c, http.StatusOK, exportsview.Detail(h.shell(c, x.Title()+" export — Exports"), v))
}

// exportDownload streams a finished export's file to its requester, an admin or a recipient of its
// scheduled report, a chunk at a time. The link works until the file expires.
func (h *Handler) exportDownload(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	x, r, err := exports.Download(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "private, no-store")
	hdr.Set("Content-Disposition", `attachment; filename="`+r.Name+`"`)
	hdr.Set("Content-Length", strconv.FormatInt(r.Size, 10))
	hdr.Set("X-Content-Type-Options", "nosniff")
	return c.Stream(http.StatusOK, x.Format.ContentType(), r)
}

// exportCancel stops a running export.
func (h *Handler) exportCancel(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	x, err := exports.Cancel(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	h.flash(ctx, "Export cancelled: "+x.Title()+".")
	back := c.FormValue("back")
	if back != "/exports" && back != "/exports?all=1" {
		back = exportHref(x.ID)
	}
	return redirect(c, back)
}

// exportRerun starts the same export again.
func (h *Handler) exportRerun(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	x, err := exports.Rerun(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	h.flash(ctx, "Export started again: "+x.Title()+".")
	return redirect(c, exportHref(x.ID))
}

// Export settings (admins).

func (h *Handler) exportSettingsPage(c echo.Context) error {
	s, err := exports.SettingsGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	v := exportsview.SettingsView{CSRFToken: csrfToken(c), RetentionDays: strconv.Itoa(s.RetentionDays),
		MaxConcurrent: strconv.Itoa(s.MaxConcurrent), AuditMonths: strconv.Itoa(s.AuditOnlineMonths),
		MovementsMonths: strconv.Itoa(s.MovementsOnlineMonths), PurgeDays: strconv.Itoa(s.PurgeDeletedDays), Version: s.Version}
	return render(c, http.StatusOK, exportsview.Settings(h.shell(c, "Export settings — Exports"), v))
}

func (h *Handler) exportSettingsSave(c echo.Context) error {
	ctx := c.Request().Context()
	v := exportsview.SettingsView{CSRFToken: csrfToken(c), RetentionDays: strings.TrimSpace(c.FormValue("retention_days")),
		MaxConcurrent: strings.TrimSpace(c.FormValue("max_concurrent")), AuditMonths: strings.TrimSpace(c.FormValue("audit_online_months")),
		MovementsMonths: strings.TrimSpace(c.FormValue("movements_online_months")), PurgeDays: strings.TrimSpace(c.FormValue("purge_deleted_days"))}
	v.Version, _ = strconv.Atoi(c.FormValue("version"))
	var f store.FieldErrors
	days, err := strconv.Atoi(v.RetentionDays)
	if err != nil {
		f.Add("retention_days", "Enter a whole number of days from 1 to 90.")
	}
	most, err := strconv.Atoi(v.MaxConcurrent)
	if err != nil {
		f.Add("max_concurrent", "Enter a whole number of exports from 1 to 20.")
	}
	// The retention policy's fields: a field left out keeps its current value.
	optional := func(field, val, msg string) int {
		if val == "" {
			return 0
		}
		n, err := strconv.Atoi(val)
		if err != nil || n == 0 {
			f.Add(field, msg)
		}
		return n
	}
	auditMonths := optional("audit_online_months", v.AuditMonths, "Enter a whole number of months from 3 to 240.")
	moveMonths := optional("movements_online_months", v.MovementsMonths, "Enter a whole number of months from 3 to 240.")
	purgeDays := optional("purge_deleted_days", v.PurgeDays, "Enter a whole number of days from 7 to 3,650.")
	err = f.Err()
	if err == nil {
		_, err = exports.SettingsUpdate(ctx, h.db, scope(c), exports.Settings{RetentionDays: days, MaxConcurrent: most,
			AuditOnlineMonths: auditMonths, MovementsOnlineMonths: moveMonths, PurgeDeletedDays: purgeDays, Version: v.Version})
	}
	if err != nil {
		v.Errors = fieldErrors(err, "retention_days", "max_concurrent", "audit_online_months", "movements_online_months", "purge_deleted_days")
		if len(v.Errors) == 0 {
			return err
		}
		return render(c, http.StatusUnprocessableEntity, exportsview.Settings(h.shell(c, "Export settings — Exports"), v))
	}
	h.flash(ctx, "Export settings saved.")
	return redirect(c, "/exports/settings")
}

// Scheduled reports (admins).

var weekdays = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func (h *Handler) schedulesView(c echo.Context, form exportsview.SchedulesView, chosen map[string]bool) (exportsview.SchedulesView, error) {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	form.CSRFToken, form.Zone = csrfToken(c), a.Tenant.TimeZone
	list, err := exports.ScheduleList(ctx, h.db, scope(c))
	if err != nil {
		return form, err
	}
	members, err := identity.MemberList(ctx, h.db, scope(c), identity.MemberListParams{Status: identity.MemberActive, Limit: 200})
	if err != nil {
		return form, err
	}
	names := map[store.ID]string{}
	for _, m := range members.Members {
		names[m.UserID] = m.Name
		form.People = append(form.People, exportsview.PersonOption{ID: m.UserID.String(), Label: m.Name + " (" + m.Email + ")", Checked: chosen[m.UserID.String()]})
	}
	loc := a.Tenant.Location()
	for _, s := range list {
		when := strings.ToUpper(string(s.Frequency[:1])) + string(s.Frequency[1:])
		switch s.Frequency {
		case exports.Weekly:
			when += " on " + weekdays[s.Day]
		case exports.Monthly:
			when += " on day " + strconv.Itoa(s.Day)
		}
		when += " at " + strconv.Itoa(s.Hour) + ":00"
		var who []string
		for _, r := range s.Recipients {
			if n, ok := names[r]; ok {
				who = append(who, n)
			}
		}
		row := exportsview.ScheduleRow{ID: s.ID.String(), Name: s.Name, Format: strings.ToUpper(string(s.Format)), When: when,
			Next: s.NextRunAt.In(loc).Format("Mon 2 Jan 2006 15:04"), Owner: s.OwnerName, Recipients: strings.Join(who, ", ")}
		if info, ok := exports.KindLookup(s.Kind); ok {
			row.List = info.Title
		}
		if s.LastExportID != nil {
			row.LastHref = exportHref(*s.LastExportID)
		}
		form.Rows = append(form.Rows, row)
	}
	for _, k := range exports.Kinds() {
		form.Kinds = append(form.Kinds, exportsview.Option{Value: string(k.Kind), Label: k.Title, Selected: c.FormValue("kind") == string(k.Kind)})
	}
	for _, f := range []struct{ v, l string }{{"csv", "CSV"}, {"xlsx", "Excel (XLSX)"}} {
		form.Formats = append(form.Formats, exportsview.Option{Value: f.v, Label: f.l, Selected: c.FormValue("format") == f.v})
	}
	for _, f := range []struct{ v, l string }{{"daily", "Daily"}, {"weekly", "Weekly"}, {"monthly", "Monthly"}} {
		form.Frequencies = append(form.Frequencies, exportsview.Option{Value: f.v, Label: f.l, Selected: c.FormValue("frequency") == f.v})
	}
	return form, nil
}

func (h *Handler) schedulesPage(c echo.Context) error {
	v, err := h.schedulesView(c, exportsview.SchedulesView{Hour: "7"}, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, exportsview.Schedules(h.shell(c, "Scheduled reports — Exports"), v))
}

func (h *Handler) scheduleCreate(c echo.Context) error {
	ctx := c.Request().Context()
	form, _ := c.FormParams()
	v := exportsview.SchedulesView{Name: c.FormValue("name"), Query: c.FormValue("query"), Hour: c.FormValue("hour"), Day: c.FormValue("day")}
	chosen := map[string]bool{}
	var f store.FieldErrors
	p := exports.ScheduleCreateParams{Name: v.Name, Kind: exports.Kind(c.FormValue("kind")), Format: exports.Format(c.FormValue("format")),
		Frequency: exports.Frequency(c.FormValue("frequency"))}
	for _, r := range form["recipients"] {
		chosen[r] = true
		id, err := store.ParseID(r)
		if err != nil {
			f.Add("recipients", "Choose recipients from the list.")
			continue
		}
		p.Recipients = append(p.Recipients, id)
	}
	var err error
	if p.Hour, err = strconv.Atoi(strings.TrimSpace(v.Hour)); err != nil {
		f.Add("hour", "Enter an hour from 0 to 23.")
	}
	if d := strings.TrimSpace(v.Day); d != "" {
		if p.Day, err = strconv.Atoi(d); err != nil {
			f.Add("day", "Enter the day as a number.")
		}
	}
	q, qerr := url.ParseQuery(strings.TrimPrefix(strings.TrimSpace(v.Query), "?"))
	if qerr != nil {
		f.Add("query", "Enter the filter as it appears after ? in the list's address, like q=bolt&sort=name.")
	}
	err = f.Err()
	if err == nil {
		if _, ok := exports.KindLookup(p.Kind); ok {
			p.Filter, _, err = h.exportFilter(ctx, scope(c), actorFrom(ctx).Tenant.Location(), p.Kind, q)
			if err != nil && store.ErrorCode(err) == store.Invalid && len(fieldErrors(err, "kind")) == 0 {
				err = (store.FieldErrors{"query": store.ErrorMessage(err)}).Err()
			}
		}
	}
	if err == nil {
		_, err = exports.ScheduleCreate(ctx, h.db, scope(c), p)
	}
	if err != nil {
		v.Errors = fieldErrors(err, "name", "kind", "query", "format", "frequency", "day", "hour", "recipients")
		if len(v.Errors) == 0 {
			return err
		}
		vv, verr := h.schedulesView(c, v, chosen)
		if verr != nil {
			return verr
		}
		return render(c, http.StatusUnprocessableEntity, exportsview.Schedules(h.shell(c, "Scheduled reports — Exports"), vv))
	}
	h.flash(ctx, "Report scheduled: "+p.Name+".")
	return redirect(c, "/exports/schedules")
}

func (h *Handler) scheduleDelete(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := exports.ScheduleDelete(ctx, h.db, scope(c), id); err != nil {
		return err
	}
	h.flash(ctx, "The scheduled report was stopped.")
	return redirect(c, "/exports/schedules")
}

// Notifications: every signed-in member, for themselves only.

func (h *Handler) notificationsPage(c echo.Context) error {
	ctx := c.Request().Context()
	v := exportsview.NotificationsView{CSRFToken: csrfToken(c), ShowRead: c.QueryParam("read") == "1"}
	list, err := notify.List(ctx, h.db, scope(c), v.ShowRead, 100)
	if err != nil {
		return err
	}
	loc := actorFrom(ctx).Tenant.Location()
	for _, n := range list {
		v.Rows = append(v.Rows, exportsview.NotificationRow{ID: n.ID.String(), Title: n.Title, Body: n.Body, Href: n.Link,
			When: n.CreatedAt.In(loc).Format("2 Jan 2006 15:04"), Unread: n.ReadAt == nil})
	}
	return render(c, http.StatusOK, exportsview.Notifications(h.shell(c, "Notifications"), v))
}

func (h *Handler) notificationRead(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	if err := notify.MarkRead(ctx, h.db, scope(c), id); err != nil {
		return err
	}
	return redirect(c, "/notifications")
}

func (h *Handler) notificationsReadAll(c echo.Context) error {
	if err := notify.MarkAllRead(c.Request().Context(), h.db, scope(c)); err != nil {
		return err
	}
	h.flash(c.Request().Context(), "All notifications marked read.")
	return redirect(c, "/notifications")
}
