package handlers

import (
	"context"
	"encoding/json"
	"github.com/a-h/templ"
	"net/http"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/dashboard"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/views/pages"
)

// The home page: a dashboard by role above the member's own details.
//
// Aggregates that cost a scan at scale (the stock value, the low-stock count) are cached in Redis per
// tenant under the id of the domain's latest audit event: every change writes one in its transaction, so a
// change makes a new key and the next view recomputes, while repeated views between changes read Redis.
// Keys also expire after dashboardCacheTTL, so nothing outlives a quiet day.
//
// Other modules add their cards as dashboardPanels (below): billing (receivables by currency and aging
// bucket, revenue by month as an SVG bar chart) and approvals (waiting for me, my open requests). Each is
// one function returning a pages.Panel (nil when the actor may not see it), cached the same way with
// dashboardCached and the module's action prefix ("billing.", "approvals.").

// dashboardCacheTTL bounds how long a cached aggregate lives even when nothing changes.
const dashboardCacheTTL = 10 * time.Minute

// dashboardPanel builds one module's card for the actor, or nil.
type dashboardPanel func(h *Handler, c echo.Context) (*pages.Panel, error)

// dashboardPanels are the modules' cards, in order. Billing and approvals add theirs here.
var dashboardPanels = []dashboardPanel{
	approvalsInboxPanel,
	approvalsMinePanel,
	dashboardReceivables, // billing
	dashboardRevenue,     // billing
}

// dashboardCached returns the aggregate named name of the domain whose audit actions start with prefix,
// from Redis when nothing changed since it was computed, else from compute (then stored). After a change,
// one request per tenant and aggregate recomputes (a short Redis lock) while the others are served the last
// value computed, so a burst of views after a write at scale costs one computation, not one each. A Redis
// outage only costs the cache.
func (h *Handler) dashboardCached(ctx context.Context, sc store.Scope, prefix, name string, into any, compute func() (any, error)) error {
	return h.dashboardCache(ctx, sc, prefix, name, into, func(context.Context) (any, error) { return compute() }, false)
}

// dashboardAggregate is dashboardCached for the tenant-wide aggregates that take seconds at scale (stock
// value, receivables): the request that recomputes waits for the new value at most dashboardFreshWait, then
// shows the last value computed while the computation finishes on its own, so that no page waits for a scan
// of the tenant. compute gets the context to read with (the request's, or one that outlives it).
func (h *Handler) dashboardAggregate(ctx context.Context, sc store.Scope, prefix, name string, into any, compute func(context.Context) (any, error)) error {
	return h.dashboardCache(ctx, sc, prefix, name, into, compute, true)
}

// dashboardFreshWait is how long a view after a change waits for a recomputed aggregate before it shows the
// last one (small tenants recompute well within it, so they see the change at once).
const dashboardFreshWait = 2 * time.Second

func (h *Handler) dashboardCache(ctx context.Context, sc store.Scope, prefix, name string, into any,
	compute func(context.Context) (any, error), background bool) error {
	version, err := audit.LatestChange(ctx, h.db, sc, prefix)
	if err != nil {
		return err
	}
	base := h.prefix + "dash:" + sc.TenantID.String() + ":" + name
	key, latest, lock := base+":"+version, base+":latest", base+":lock"
	if b, ok := h.versioned.get(key); ok && json.Unmarshal(b, into) == nil {
		return nil
	}
	conn, err := h.redis.GetContext(ctx)
	if err != nil {
		return dashboardCompute(into, func() (any, error) { return compute(ctx) })
	}
	defer conn.Close()
	if b, err := redis.Bytes(conn.Do("GET", key)); err == nil && json.Unmarshal(b, into) == nil {
		h.versioned.put(key, b)
		return nil
	}
	rest := base + ":rest"
	if background {
		if resting, _ := redis.Bool(conn.Do("EXISTS", rest)); resting {
			if last, err := redis.Bytes(conn.Do("GET", latest)); err == nil && json.Unmarshal(last, into) == nil {
				return nil // a slow aggregate rests after each computation (dashboardRest)
			}
		}
	}
	locked, _ := redis.String(conn.Do("SET", lock, version, "NX", "EX", int(dashboardRecomputeLock.Seconds())))
	var last []byte // the last value computed, read only where it may be served
	if locked != "OK" || background {
		last, _ = redis.Bytes(conn.Do("GET", latest))
	}
	if locked != "OK" && last != nil && json.Unmarshal(last, into) == nil {
		return nil // another request is recomputing: the last value is at most one change old
	}
	save := func(conn redis.Conn, v any) ([]byte, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		ttl := int(dashboardCacheTTL.Seconds())
		_, _ = conn.Do("SET", key, b, "EX", ttl)
		_, _ = conn.Do("SET", latest, b, "EX", ttl)
		h.versioned.put(key, b)
		return b, nil
	}
	if !background || last == nil {
		v, err := compute(ctx)
		if err == nil {
			var b []byte
			if b, err = save(conn, v); err == nil {
				err = json.Unmarshal(b, into)
			}
		}
		_, _ = conn.Do("DEL", lock)
		return err
	}
	// The computation outlives this request if it must: its own context (no shared transaction, not
	// cancelled with the request, bounded by the lock's time) and its own Redis connection.
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	bg, cancel := context.WithTimeout(store.WithoutShared(context.WithoutCancel(ctx)), dashboardRecomputeLock)
	go func() {
		defer cancel()
		var r result
		defer func() { done <- r }()
		start := time.Now()
		v, err := compute(bg)
		took := time.Since(start)
		rc, cerr := h.redis.GetContext(bg)
		if cerr != nil {
			r.err = cerr
			return
		}
		defer rc.Close()
		if err == nil {
			r.b, err = save(rc, v)
			if pause := dashboardRest(took); err == nil && pause > 0 {
				_, _ = rc.Do("SET", rest, 1, "PX", pause.Milliseconds())
			}
		} else {
			h.logger.Error("dashboard aggregate failed", "name", name, "tenant_id", sc.TenantID.String(), "error", err)
		}
		r.err = err
		_, _ = rc.Do("DEL", lock)
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return r.err
		}
		return json.Unmarshal(r.b, into)
	case <-time.After(dashboardFreshWait):
		return json.Unmarshal(last, into)
	}
}

// dashboardRest is how long a tenant-wide aggregate that took took to compute is not recomputed again,
// whatever changes meanwhile (views show the value just computed): ten times its cost, from a quarter of a
// second on, at most five minutes. At scale a stock value takes 1-2 s, and a tenant that moves stock all
// day would otherwise keep one core computing it for every view after every change; small tenants compute
// in milliseconds and never rest.
func dashboardRest(took time.Duration) time.Duration {
	if took < 250*time.Millisecond {
		return 0
	}
	return min(10*took, 5*time.Minute)
}

// dashboardRecomputeLock bounds how long one request may hold the right to recompute an aggregate.
const dashboardRecomputeLock = 30 * time.Second

// dashboardCompute computes an aggregate without the cache.
func dashboardCompute(into any, compute func() (any, error)) error {
	v, err := compute()
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// inventoryFigures are the cached inventory aggregates of the dashboard.
type inventoryFigures struct {
	LowStock int64             `json:"low_stock"`
	Currency string            `json:"currency"`
	Value    int64             `json:"value"`
	Trend    []dashboard.Point `json:"trend"`
}

func (h *Handler) dashboardInventory(c echo.Context, d *pages.Dashboard) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if !a.Can(identity.InventoryRead) {
		return nil
	}
	sc := scope(c)
	loc := a.Tenant.Location()
	var f inventoryFigures
	err := h.dashboardAggregate(ctx, sc, "inventory.", "inventory", &f, func(ctx context.Context) (any, error) {
		var out inventoryFigures
		var err error
		if out.LowStock, err = inventory.LowStockCount(ctx, h.db, sc); err != nil {
			return nil, err
		}
		v, err := inventory.StockValue(ctx, h.db, sc)
		if err != nil {
			return nil, err
		}
		out.Currency, out.Value = v.Currency, v.Total
		if out.Trend, err = dashboard.Trend(ctx, h.db, sc, dashboard.SeriesStockValue, time.Now().In(loc).AddDate(0, 0, -30)); err != nil {
			return nil, err
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	low := &pages.Figure{Title: "Low stock", Value: strconv.FormatInt(f.LowStock, 10), Href: "/inventory/low-stock", LinkLabel: "See the items",
		Hint: "Items at or below their reorder point.", Warn: f.LowStock > 0}
	if f.LowStock == 1 {
		low.Hint = "Item at or below its reorder point."
	}
	d.LowStock = low
	digits := store.CurrencyDigits(f.Currency)
	trend := &pages.Trend{Title: "Stock value", Unit: f.Currency, Current: money(f.Value, f.Currency),
		Empty: "The trend appears after a second day of figures: the value is recorded every hour."}
	today := time.Now().In(loc).Format(time.DateOnly)
	scale := 1.0
	for range digits {
		scale *= 10
	}
	for _, p := range f.Trend {
		if p.Currency != f.Currency {
			continue
		}
		day := p.Day.Format(time.DateOnly)
		if day == today {
			continue // today's point is the live value, added below
		}
		trend.Points = append(trend.Points, pages.TrendPoint{Day: day, Value: store.FormatMinorUnits(p.Value, digits), Y: float64(p.Value) / scale})
	}
	trend.Points = append(trend.Points, pages.TrendPoint{Day: today, Value: store.FormatMinorUnits(f.Value, digits), Y: float64(f.Value) / scale})
	d.StockValue = trend
	return nil
}

// dashboardActivity is the latest events: the organization's for those who may read the audit log, the
// member's own for everyone else.
func (h *Handler) dashboardActivity(c echo.Context, d *pages.Dashboard) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	act := &pages.Activity{Title: "Recent activity", Href: "/audit"}
	var only *store.ID
	if !a.Can(identity.AuditRead) {
		only = &a.UserID
		act.Title, act.Href = "Your recent activity", ""
	}
	events, err := audit.Recent(ctx, h.db, scope(c), only, 8)
	if err != nil {
		return err
	}
	loc := a.Tenant.Location()
	for _, e := range events {
		row := pages.ActivityRow{When: e.OccurredAt.In(loc).Format("2 Jan 15:04"), WhenExact: e.OccurredAt.In(loc).Format("2006-01-02 15:04:05 MST"),
			Who: auditActorName(e), Action: e.Action}
		if a.Can(identity.AuditRead) {
			row.Href = "/audit/" + e.ID.String()
		}
		act.Rows = append(act.Rows, row)
	}
	d.Activity = act
	return nil
}

// home is the dashboard. Its reads (the cached aggregates' versions, the panels, recent activity and the
// page frame) share one transaction (readShared), so the page costs a handful of statements, not one
// transaction per figure.
func (h *Handler) home(c echo.Context) error {
	var page templ.Component
	if err := h.readShared(c, func(context.Context) error {
		var err error
		page, err = h.homePage(c)
		return err
	}); err != nil {
		return err
	}
	return render(c, http.StatusOK, page)
}

// homePage reads the dashboard's data (in readShared's transaction) and returns what to render.
func (h *Handler) homePage(c echo.Context) (templ.Component, error) {
	a := actorFrom(c.Request().Context())
	view := pages.HomeView{
		UserName: a.Name, Email: a.Email, Role: string(a.Role), RoleLabel: a.Role.Label(),
		TenantName: a.Tenant.Name, TimeZone: a.Tenant.TimeZone, Currency: a.Tenant.Currency,
		Department: a.DepartmentName,
	}
	for _, p := range a.Role.Permissions() {
		view.Permissions = append(view.Permissions, p.Label())
	}
	if err := h.dashboardInventory(c, &view.Dashboard); err != nil {
		return nil, err
	}
	for _, panel := range dashboardPanels {
		p, err := panel(h, c)
		if err != nil {
			return nil, err
		}
		if p != nil {
			view.Dashboard.Panels = append(view.Dashboard.Panels, *p)
		}
	}
	if err := h.dashboardActivity(c, &view.Dashboard); err != nil {
		return nil, err
	}
	return pages.Home(h.shell(c, "Home"), view), nil
}
