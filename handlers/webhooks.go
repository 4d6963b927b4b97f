package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/events"
	"ledgerline/store/webhooks"
	"ledgerline/views/ui"
	whviews "ledgerline/views/webhooks"
)

// webhooksList shows the tenant's endpoints with the register form.
func (h *Handler) webhooksList(c echo.Context) error {
	return h.webhooksListPage(c, http.StatusOK, h.endpointForm(c, webhooks.EndpointParams{}, true, 0), nil, "")
}

// webhooksCreate registers an endpoint and shows its signing secret once.
func (h *Handler) webhooksCreate(c echo.Context) error {
	p, err := endpointParamsFrom(c)
	if err != nil {
		return err
	}
	res, err := webhooks.EndpointCreate(c.Request().Context(), h.db, scope(c), h.webhooks, p)
	if store.ErrorCode(err) == store.Invalid {
		f := h.endpointForm(c, p, true, 0)
		f.Errors = fieldErrors(err, "url", "description", "event_types")
		return h.webhooksListPage(c, http.StatusUnprocessableEntity, f, nil, "")
	}
	if err != nil {
		return err
	}
	return h.webhooksListPage(c, http.StatusCreated, h.endpointForm(c, webhooks.EndpointParams{}, true, 0), res.Endpoint, res.Secret)
}

func endpointParamsFrom(c echo.Context) (webhooks.EndpointParams, error) {
	if err := c.Request().ParseForm(); err != nil {
		return webhooks.EndpointParams{}, store.Errorf(store.Invalid, "The form could not be read.")
	}
	form := c.Request().PostForm
	p := webhooks.EndpointParams{URL: form.Get("url"), Description: form.Get("description")}
	for _, t := range form["event_types"] {
		p.EventTypes = append(p.EventTypes, events.Type(t))
	}
	return p, nil
}

func (h *Handler) endpointForm(c echo.Context, p webhooks.EndpointParams, enabled bool, version int) whviews.EndpointForm {
	f := whviews.EndpointForm{CSRFToken: csrfToken(c), URL: p.URL, Description: p.Description, Enabled: enabled, Version: version}
	for _, t := range events.Types {
		f.Events = append(f.Events, whviews.EventChoice{Name: string(t), Checked: slices.Contains(p.EventTypes, t)})
	}
	return f
}

func endpointStatus(ep *webhooks.Endpoint) (string, string) {
	switch {
	case ep.DeletedAt != nil:
		return "Deleted", ui.BadgeDraft
	case !ep.Enabled:
		return "Disabled", ui.BadgeRejected
	case ep.ConsecutiveFailures > 0:
		return fmt.Sprintf("Failing (%d)", ep.ConsecutiveFailures), ui.BadgePending
	}
	return "Enabled", ui.BadgeApproved
}

func (h *Handler) webhooksListPage(c echo.Context, status int, form whviews.EndpointForm, created *webhooks.Endpoint, secret string) error {
	ctx := c.Request().Context()
	eps, err := webhooks.EndpointList(ctx, h.db, scope(c), false)
	if err != nil {
		return err
	}
	loc := actorFrom(ctx).Tenant.Location()
	v := whviews.ListView{Form: form}
	if created != nil {
		v.NewID, v.NewURL, v.NewSecret = created.ID.String(), created.URL, secret
	}
	for i := range eps {
		ep := &eps[i]
		st, kind := endpointStatus(ep)
		v.Endpoints = append(v.Endpoints, whviews.EndpointRow{
			ID: ep.ID.String(), URL: ep.URL, Description: ep.Description, Events: ep.EventTypes,
			Status: st, StatusKind: kind, Created: ep.CreatedAt.In(loc).Format("2 Jan 2006"),
		})
	}
	return render(c, status, whviews.List(h.shell(c, "Webhooks"), v))
}

// webhookShow is an endpoint's page with its delivery log.
func (h *Handler) webhookShow(c echo.Context) error {
	return h.webhookPage(c, http.StatusOK, nil, "", "")
}

func (h *Handler) webhookPage(c echo.Context, status int, form *whviews.EndpointForm, newSecret, rotateErr string) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	ep, err := webhooks.EndpointGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	log, err := webhooks.DeliveryList(ctx, h.db, scope(c), webhooks.DeliveryListParams{EndpointID: id, After: c.QueryParam("after")})
	if store.ErrorCode(err) == store.Invalid {
		log, err = webhooks.DeliveryList(ctx, h.db, scope(c), webhooks.DeliveryListParams{EndpointID: id})
	}
	if err != nil {
		return err
	}
	loc := actorFrom(ctx).Tenant.Location()
	st, kind := endpointStatus(ep)
	v := whviews.EndpointView{
		ID: ep.ID.String(), URL: ep.URL, Status: st, StatusKind: kind, DisabledReason: ep.DisabledReason,
		Deleted: ep.DeletedAt != nil, NewSecret: newSecret, RotateError: rotateErr,
	}
	if ep.PreviousExpiresAt != nil && ep.PreviousExpiresAt.After(time.Now()) {
		v.PreviousExpires = ep.PreviousExpiresAt.In(loc).Format("2 Jan 2006 15:04")
	}
	if form != nil {
		v.Form = *form
	} else {
		types := make([]events.Type, len(ep.EventTypes))
		for i, t := range ep.EventTypes {
			types[i] = events.Type(t)
		}
		v.Form = h.endpointForm(c, webhooks.EndpointParams{URL: ep.URL, Description: ep.Description, EventTypes: types}, ep.Enabled, ep.Version)
	}
	for _, d := range log.Deliveries {
		r := whviews.DeliveryRow{
			ID: d.ID.String(), EventID: d.EventID.String(), EventType: d.EventType, Resend: d.ResendOf != nil,
			Attempts: d.Attempts, Created: d.CreatedAt.In(loc).Format("2 Jan 2006 15:04:05"), LastAttempt: "—",
			RequestBody: d.RequestBody, ResponseBody: d.ResponseBody, Response: d.Error,
		}
		switch d.State {
		case webhooks.StateSucceeded:
			r.State, r.StateKind = "Delivered", ui.BadgeApproved
		case webhooks.StateFailed:
			r.State, r.StateKind = "Failed", ui.BadgeRejected
		case webhooks.StateRetrying:
			r.State, r.StateKind = "Retrying", ui.BadgePending
		default:
			r.State, r.StateKind = "Pending", ui.BadgeIssued
		}
		if d.LastAttemptAt != nil {
			r.LastAttempt = d.LastAttemptAt.In(loc).Format("2 Jan 2006 15:04:05")
		}
		if d.NextAttemptAt != nil && d.State == webhooks.StateRetrying {
			r.NextAttempt = d.NextAttemptAt.In(loc).Format("2 Jan 15:04")
		}
		if d.ResponseStatus != nil {
			ms := 0
			if d.ResponseMS != nil {
				ms = *d.ResponseMS
			}
			resp := fmt.Sprintf("%d in %d ms", *d.ResponseStatus, ms)
			if r.Response != "" {
				resp += ": " + r.Response
			}
			r.Response = resp
		}
		v.Deliveries = append(v.Deliveries, r)
	}
	if log.Next != "" {
		v.NextPage = "/admin/webhooks/" + ep.ID.String() + "?after=" + url.QueryEscape(log.Next)
	}
	return render(c, status, whviews.Endpoint(h.shell(c, "Webhook endpoint"), v))
}

// webhookUpdate saves an endpoint's settings.
func (h *Handler) webhookUpdate(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	p, err := endpointParamsFrom(c)
	if err != nil {
		return err
	}
	enabled := c.FormValue("enabled") == "true"
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	_, err = webhooks.EndpointUpdate(c.Request().Context(), h.db, scope(c), h.webhooks, id,
		webhooks.EndpointUpdateParams{EndpointParams: p, Enabled: enabled, Version: version})
	if store.ErrorCode(err) == store.Invalid {
		f := h.endpointForm(c, p, enabled, version)
		f.Errors = fieldErrors(err, "url", "description", "event_types")
		return h.webhookPage(c, http.StatusUnprocessableEntity, &f, "", "")
	}
	if err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The endpoint is saved.")
	return redirect(c, "/admin/webhooks/"+id.String())
}

// webhookRotate gives the endpoint a new secret and shows it once.
func (h *Handler) webhookRotate(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	overlap, perr := time.ParseDuration(c.FormValue("overlap"))
	if c.FormValue("overlap") == "0" {
		overlap, perr = 0, nil
	}
	if perr != nil {
		return h.webhookPage(c, http.StatusUnprocessableEntity, nil, "", "Choose an overlap from the list.")
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	secret, err := webhooks.SecretRotate(c.Request().Context(), h.db, scope(c), id,
		webhooks.SecretRotateParams{Overlap: overlap, Version: version})
	var se *store.Error
	if errors.As(err, &se) && se.Code == store.Invalid {
		return h.webhookPage(c, http.StatusUnprocessableEntity, nil, "", se.Fields["overlap"])
	}
	if err != nil {
		return err
	}
	return h.webhookPage(c, http.StatusOK, nil, secret, "")
}

// webhookDelete soft-deletes an endpoint.
func (h *Handler) webhookDelete(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	if err := webhooks.EndpointDelete(c.Request().Context(), h.db, scope(c), id, version); err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The endpoint is deleted; it gets no more events. You can restore it from its page.")
	return redirect(c, "/admin/webhooks/"+id.String())
}

// webhookRestore restores a deleted endpoint.
func (h *Handler) webhookRestore(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	if err := webhooks.EndpointRestore(c.Request().Context(), h.db, scope(c), id, version); err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The endpoint is restored.")
	return redirect(c, "/admin/webhooks/"+id.String())
}

// webhookResend delivers a delivery's event again.
func (h *Handler) webhookResend(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return err
	}
	d, err := webhooks.Resend(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The event is sent again; the new delivery is at the top of the log.")
	return redirect(c, "/admin/webhooks/"+d.EndpointID.String())
}
