package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/exports"
	auditview "ledgerline/views/audit"
)

// The audit log: filtered list, one event, and the chain verification that runs as a job. Every route
// needs AuditRead (routes.go); the audit store sits below identity and cannot check roles itself.

// auditFilterFields are the filter form's fields in page order, for the error summary.
var auditFilterFields = []string{"actor", "action", "entity_type", "entity_id", "from", "to"}

// auditListParams reads the audit log's filter from its query string: the page and its export use it
// both. Dates are read in the tenant's zone, which the caller sets (Location).
func auditListParams(q url.Values) audit.ListParams {
	return audit.ListParams{Actor: q.Get("actor"), Action: q.Get("action"), EntityType: q.Get("entity_type"),
		EntityID: q.Get("entity_id"), From: q.Get("from"), To: q.Get("to")}
}

func (h *Handler) auditList(c echo.Context) error {
	var page templ.Component
	var status int
	if err := h.readShared(c, func(context.Context) error {
		var err error
		page, status, err = h.auditListPage(c)
		return err
	}); err != nil {
		return err
	}
	return render(c, status, page)
}

// auditListPage reads the page's data (in readShared's transaction) and returns what to render.
func (h *Handler) auditListPage(c echo.Context) (templ.Component, int, error) {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	a := actorFrom(ctx)
	q := c.QueryParams()
	f := auditview.Filters{
		Actor: q.Get("actor"), Action: q.Get("action"), EntityType: q.Get("entity_type"),
		EntityID: q.Get("entity_id"), From: q.Get("from"), To: q.Get("to"),
	}
	loc := a.Tenant.Location()
	after := q.Get("after")
	view := auditview.ListView{Filters: f, Zone: a.Tenant.TimeZone}
	filters := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "entity_type": f.EntityType,
		"entity_id": f.EntityID, "from": f.From, "to": f.To} {
		if v != "" {
			filters.Set(k, v)
		}
	}
	view.Filtered = len(filters) > 0

	status := http.StatusOK
	params := auditListParams(q)
	params.Location, params.After = loc, after
	res, err := audit.List(ctx, h.db, scope(c), params)
	if err != nil {
		view.Errors = fieldErrors(err, auditFilterFields...)
		if len(view.Errors) == 0 {
			return nil, 0, err
		}
		status = http.StatusUnprocessableEntity
		res = &audit.ListResult{}
	}
	for _, e := range res.Events {
		view.Rows = append(view.Rows, auditRow(e, loc))
	}
	if res.Next != "" {
		next := url.Values{"after": {res.Next}}
		for k, v := range filters {
			next[k] = v
		}
		view.NextURL = "/audit?" + next.Encode()
	}
	if after != "" {
		view.FirstURL = "/audit"
		if len(filters) > 0 {
			view.FirstURL += "?" + filters.Encode()
		}
	}
	view.Export = h.exportButton(c, exports.KindAuditEvents, filters)
	if hxTargets(c, auditview.TableID) {
		return auditview.Results(view), status, nil
	}

	actors, err := audit.ActorChoices(ctx, h.db, scope(c))
	if err != nil {
		return nil, 0, err
	}
	view.Actors = []auditview.Option{{Value: "", Label: "Everyone", Selected: f.Actor == ""}}
	for _, p := range actors {
		view.Actors = append(view.Actors, auditview.Option{Value: p.ID.String(), Label: p.Name + " (" + p.Email + ")", Selected: p.ID.String() == f.Actor})
	}
	if view.Verify, err = h.auditVerifyPanel(c); err != nil {
		return nil, 0, err
	}
	return auditview.List(h.shell(c, "Audit log"), view), status, nil
}

// auditEntityHref lists the events of one entity.
func auditEntityHref(entityType, entityID string) string {
	if entityType == "" || entityID == "" {
		return ""
	}
	return "/audit?" + url.Values{"entity_type": {entityType}, "entity_id": {entityID}}.Encode()
}

func auditActorName(e audit.ListedEvent) string {
	if e.ActorName != nil {
		return *e.ActorName
	}
	if e.ActorID != nil {
		return "Unknown user"
	}
	return "System"
}

func auditChanges(before, after []byte) ([]auditview.Change, error) {
	diff, err := audit.Diff(before, after)
	if err != nil {
		return nil, err
	}
	out := make([]auditview.Change, len(diff))
	for i, d := range diff {
		out[i] = auditview.Change{Field: d.Field, Kind: string(d.Kind), Before: d.Before, After: d.After}
	}
	return out, nil
}

func auditRow(e audit.ListedEvent, loc *time.Location) auditview.Row {
	when := e.OccurredAt.In(loc)
	r := auditview.Row{
		Href: "/audit/" + e.ID.String(), When: when.Format("2 Jan 2006 15:04"), WhenExact: when.Format("2006-01-02 15:04:05.000 MST"),
		Actor: auditActorName(e), Action: e.Action, EntityType: e.EntityType, EntityID: e.EntityID,
		EntityHref: auditEntityHref(e.EntityType, e.EntityID), ClientIP: e.ClientIP,
	}
	// States that are not JSON objects show no difference here; the event's page shows them as recorded.
	r.Changes, _ = auditChanges(e.Before, e.After)
	return r
}

func (h *Handler) auditShow(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	e, err := audit.Get(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	a := actorFrom(ctx)
	loc := a.Tenant.Location()
	when := e.OccurredAt.In(loc)
	v := auditview.DetailView{
		ID: e.ID.String(), When: when.Format("2 Jan 2006 15:04"), WhenExact: when.Format("2006-01-02 15:04:05.000000 MST"),
		Zone: a.Tenant.TimeZone, Actor: auditActorName(e.ListedEvent), Action: e.Action,
		EntityType: e.EntityType, EntityID: e.EntityID, EntityHref: auditEntityHref(e.EntityType, e.EntityID),
		ClientIP: e.ClientIP, RequestID: e.RequestID, Before: prettyJSON(e.Before), After: prettyJSON(e.After),
		Sealed: "Not sealed yet: events are sealed into the hash chain every minute.",
	}
	if e.ActorEmail != nil {
		v.ActorEmail = *e.ActorEmail
	}
	if e.SealSeq != nil && e.SealedAt != nil {
		v.Sealed = "Link " + strconv.FormatInt(*e.SealSeq, 10) + " of the chain, sealed " + e.SealedAt.In(loc).Format("2 Jan 2006 15:04:05") + "."
	}
	if v.Changes, err = auditChanges(e.Before, e.After); err != nil {
		v.DiffError = true
	}
	// A row of the log opened in place asks for its table of changes only.
	if c.QueryParam("changes") == "1" && c.Request().Header.Get("HX-Request") == "true" {
		return render(c, http.StatusOK, auditview.Changes(v))
	}
	return render(c, http.StatusOK, auditview.Detail(h.shell(c, e.Action+" — Audit log"), v))
}

// auditVerifyPanel builds the verification panel from the tenant's latest verification.
func (h *Handler) auditVerifyPanel(c echo.Context) (auditview.VerifyPanel, error) {
	ctx := c.Request().Context()
	v, err := audit.VerificationLatest(ctx, h.db, scope(c))
	if err != nil {
		return auditview.VerifyPanel{}, err
	}
	p := auditview.VerifyPanel{CSRFToken: csrfToken(c)}
	if v == nil {
		return p, nil
	}
	loc := actorFrom(ctx).Tenant.Location()
	p.State, p.Polling = string(v.State), v.State.Open()
	p.Checked, p.Unsealed, p.Reason = v.Checked, v.Unsealed, v.Reason
	p.RequestedAt = v.CreatedAt.In(loc).Format("2 Jan 2006 15:04")
	p.RequestedBy = "the system"
	if v.RequestedByName != nil {
		p.RequestedBy = *v.RequestedByName
	}
	if v.FinishedAt != nil {
		p.Finished = v.FinishedAt.In(loc).Format("2 Jan 2006 15:04")
	}
	if v.OK != nil {
		p.OK = *v.OK
	}
	if v.FirstBadSeq != nil {
		p.FirstBadSeq = strconv.FormatInt(*v.FirstBadSeq, 10)
	}
	if v.FirstBadEvent != nil && v.Reason != "" && !strings.HasPrefix(v.Reason, audit.ReasonEventMissing) {
		p.FirstBadHref = "/audit/" + v.FirstBadEvent.String()
	}
	return p, nil
}

// auditVerifyStatus answers the panel's polling with the panel as it is now. Outside HTMX there is no
// fragment to show, so the audit log page it belongs to is the answer.
func (h *Handler) auditVerifyStatus(c echo.Context) error {
	if c.Request().Header.Get("HX-Request") != "true" {
		return redirect(c, "/audit")
	}
	p, err := h.auditVerifyPanel(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, auditview.Verify(p))
}

// auditVerifyStart asks for a verification of the tenant's chain (or joins the one already running).
func (h *Handler) auditVerifyStart(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := audit.VerificationRequest(ctx, h.db, scope(c)); err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") != "true" {
		h.flash(ctx, "The tamper check has started. Its result appears on this page.")
		return redirect(c, "/audit")
	}
	p, err := h.auditVerifyPanel(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, auditview.Verify(p))
}

func prettyJSON(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
