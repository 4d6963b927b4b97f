package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"ledgerline/store/audit"
	auditview "ledgerline/views/audit"
)

func (h *Handler) auditList(c echo.Context) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	params := audit.ListParams{Action: c.QueryParam("action"), After: c.QueryParam("after")}
	res, err := audit.List(ctx, h.db, scope(c), params)
	if err != nil {
		return err
	}
	loc := a.Tenant.Location()
	view := auditview.ListView{Action: params.Action, Zone: a.Tenant.TimeZone}
	for _, e := range res.Events {
		actor := "System"
		if e.ActorName != nil {
			actor = *e.ActorName
		}
		when := e.OccurredAt.In(loc)
		view.Rows = append(view.Rows, auditview.Row{
			When: when.Format("2 Jan 2006 15:04"), WhenExact: when.Format("2006-01-02 15:04:05.000 MST"),
			Actor: actor, Action: e.Action, Entity: e.EntityType + " " + e.EntityID,
			ClientIP: e.ClientIP, RequestID: e.RequestID,
			Before: prettyJSON(e.Before), After: prettyJSON(e.After),
		})
	}
	if res.Next != "" {
		q := url.Values{"after": {res.Next}}
		if params.Action != "" {
			q.Set("action", params.Action)
		}
		view.NextURL = "/audit?" + q.Encode()
	}
	return render(c, http.StatusOK, auditview.List(h.shell(c, "Audit log"), view))
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
