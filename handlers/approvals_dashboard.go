package handlers

import (
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store/approvals"
	"ledgerline/store/identity"
	apview "ledgerline/views/approvals"
	"ledgerline/views/pages"
)

// The approvals cards of the home page. Both are the member's own figures, so they are cached per member
// (dashboardCached, invalidated by any approvals change). "Waiting for me" also depends on the delegations
// in force today, so its key carries the tenant's date.

// dashboardPanelItems is how many requests a card lists.
const dashboardPanelItems = 3

// whenShort formats t in the tenant's zone for a card, "26 Nov 09:27" (with the year when it is not this
// year's), and the exact time for the hover.
func whenShort(t time.Time, loc *time.Location) (string, string) {
	t = t.In(loc)
	short := "2 Jan 15:04"
	if t.Year() != time.Now().In(loc).Year() {
		short = "2 Jan 2006 15:04"
	}
	return t.Format(short), t.Format("2006-01-02 15:04:05 MST")
}

// approvalsInboxPanel is "Waiting for me" for those who decide: the count and the requests waiting longest.
func approvalsInboxPanel(h *Handler, c echo.Context) (*pages.Panel, error) {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if !a.Can(identity.ApprovalsDecide) {
		return nil, nil
	}
	sc := scope(c)
	loc := a.Tenant.Location()
	now := time.Now()
	key := "approvals.inbox:" + a.UserID.String() + ":" + now.In(loc).Format(time.DateOnly)
	var head approvals.InboxHeadResult
	err := h.dashboardCached(ctx, sc, "approvals.", key, &head, func() (any, error) {
		return approvals.InboxHead(ctx, h.db, sc, dashboardPanelItems)
	})
	if err != nil {
		return nil, err
	}
	v := apview.InboxPanel{Count: strconv.Itoa(head.Count)}
	if head.Count >= approvals.InboxCountMax {
		v.Count = strconv.Itoa(approvals.InboxCountMax) + "+"
	}
	for _, it := range head.Items {
		item := apview.PanelItem{Href: "/approvals/" + it.ID.String(), Ref: it.Ref(), Title: it.Title,
			Meta:      it.RequesterName + " · " + money(it.Amount, it.Currency) + " · " + it.StepName + " (step " + strconv.Itoa(it.Position) + ")",
			WhenLabel: "waiting since"}
		item.When, item.WhenExact = whenShort(it.ActivatedAt, loc)
		if it.Delegated(a.UserID) {
			item.For = "on behalf of " + it.ForName
		}
		if it.DueAt != nil {
			item.Due, item.DueExact = whenShort(*it.DueAt, loc)
			item.Overdue = it.DueAt.Before(now)
		}
		v.Items = append(v.Items, item)
	}
	return &pages.Panel{ID: "dashboard-approvals-inbox", Title: "Waiting for me", Body: apview.DashboardInbox(v)}, nil
}

// approvalsMinePanel is "My open requests" for everyone who may submit: drafts, pending and sent back,
// with the ones to act on first.
func approvalsMinePanel(h *Handler, c echo.Context) (*pages.Panel, error) {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if !a.Can(identity.ApprovalsSubmit) {
		return nil, nil
	}
	sc := scope(c)
	var open approvals.OpenRequestsResult
	err := h.dashboardCached(ctx, sc, "approvals.", "approvals.mine:"+a.UserID.String(), &open, func() (any, error) {
		return approvals.OpenRequests(ctx, h.db, sc, dashboardPanelItems)
	})
	if err != nil {
		return nil, err
	}
	v := apview.MinePanel{Total: strconv.Itoa(open.Total())}
	for _, x := range []struct {
		n             int
		status        approvals.Status
		one, many, id string
	}{
		{open.Returned, approvals.StatusReturned, "sent back for changes", "sent back for changes", "returned"},
		{open.Pending, approvals.StatusPending, "waiting for approval", "waiting for approval", "pending"},
		{open.Draft, approvals.StatusDraft, "draft", "drafts", "draft"},
	} {
		if x.n == 0 {
			continue
		}
		label := x.many
		if x.n == 1 {
			label = x.one
		}
		v.Counts = append(v.Counts, apview.PanelCount{Value: strconv.Itoa(x.n), Label: label, Href: "/approvals?status=" + string(x.status),
			TestID: "dashboard-approvals-mine-" + x.id})
	}
	loc := a.Tenant.Location()
	for _, r := range open.Requests {
		item := apview.PanelItem{Href: "/approvals/" + r.ID.String(), Ref: r.Ref(), Title: r.Title,
			Meta: r.Type.Label() + " · " + money(r.Amount, r.Currency), Status: r.Status.Label(), StatusKind: requestBadge(r.Status),
			WhenLabel: "changed"}
		item.When, item.WhenExact = whenShort(r.UpdatedAt, loc)
		if r.Status == approvals.StatusPending && r.CurrentStep != nil {
			item.Meta += " · at step " + strconv.Itoa(*r.CurrentStep)
		}
		v.Items = append(v.Items, item)
	}
	return &pages.Panel{ID: "dashboard-approvals-mine", Title: "My open requests", Body: apview.DashboardMine(v)}, nil
}
