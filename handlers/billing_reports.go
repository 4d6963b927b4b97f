package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/identity"
	bview "ledgerline/views/billing"
	"ledgerline/views/pages"
)

// Receivables reports (aging and revenue by month, server-rendered SVG) and the billing settings page
// with the tax rates.

func (h *Handler) billingReports(c echo.Context) error {
	ctx := c.Request().Context()
	aging, err := billing.ReceivablesAging(ctx, h.db, scope(c), billing.AgingParams{})
	if err != nil {
		return err
	}
	months, err := billing.RevenueByMonth(ctx, h.db, scope(c), billing.RevenueParams{})
	if err != nil {
		return err
	}
	v := bview.ReportsView{AsOf: aging.AsOf.Format("2 Jan 2006")}
	for _, r := range aging.Rows {
		v.Aging = append(v.Aging, agingRowOf(r))
	}
	for _, r := range aging.Totals {
		v.Totals = append(v.Totals, agingRowOf(r))
	}
	v.Charts = revenueCharts(months)
	return render(c, http.StatusOK, bview.Reports(h.shell(c, "Receivables — Billing"), v))
}

// agingRowOf is one line of an aging table, in the row's currency.
func agingRowOf(r billing.AgingRow) bview.AgingRow {
	m := func(x int64) string { return store.FormatMinorUnits(x, store.CurrencyDigits(r.Currency)) }
	out := bview.AgingRow{Customer: r.CustomerName, Currency: r.Currency, Current: m(r.Current), D1: m(r.Days1To30),
		D31: m(r.Days31To60), D61: m(r.Days61To90), D90: m(r.Over90), Total: m(r.Total)}
	if r.CustomerID != nil {
		out.Href = "/billing/customers/" + r.CustomerID.String()
	}
	return out
}

// billingFigures are the cached billing aggregates of the dashboard: the aging totals per currency and
// the revenue of the last twelve months.
type billingFigures struct {
	Aging   []billing.AgingRow     `json:"aging"`
	Revenue []billing.RevenueMonth `json:"revenue"`
}

// dashboardBillingKey is where one request keeps its billing figures, so both billing cards cost one
// cache look-up.
const dashboardBillingKey = "dashboard.billing"

// dashboardBilling returns the billing figures for the dashboard, cached per tenant until billing changes
// (every billing change records a "billing." audit event) or the tenant's day changes (aging buckets
// move with the date), and nil when the actor may not read billing.
func (h *Handler) dashboardBilling(c echo.Context) (*billingFigures, error) {
	if f, ok := c.Get(dashboardBillingKey).(*billingFigures); ok {
		return f, nil
	}
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if !a.Can(identity.BillingRead) {
		return nil, nil
	}
	sc := scope(c)
	// The tenant's date, known from the actor: the reports need not look it up.
	now := time.Now().In(a.Tenant.Location())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	f := &billingFigures{}
	err := h.dashboardAggregate(ctx, sc, "billing.", "billing:"+today.Format(time.DateOnly), f, func(ctx context.Context) (any, error) {
		var out billingFigures
		aging, err := billing.ReceivablesAging(ctx, h.db, sc, billing.AgingParams{AsOf: today})
		if err != nil {
			return nil, err
		}
		out.Aging = aging.Totals
		if out.Revenue, err = billing.RevenueByMonth(ctx, h.db, sc, billing.RevenueParams{To: today}); err != nil {
			return nil, err
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	c.Set(dashboardBillingKey, f)
	return f, nil
}

// dashboardReceivables is the "Receivables" card: open balances per currency and aging bucket.
func dashboardReceivables(h *Handler, c echo.Context) (*pages.Panel, error) {
	f, err := h.dashboardBilling(c)
	if f == nil || err != nil {
		return nil, err
	}
	var rows []bview.AgingRow
	for _, r := range f.Aging {
		rows = append(rows, agingRowOf(r))
	}
	return &pages.Panel{ID: "dashboard-receivables", Title: "Receivables", Body: bview.DashboardReceivables(rows)}, nil
}

// dashboardRevenue is the "Revenue by month" card: a bar chart per currency with its numbers.
func dashboardRevenue(h *Handler, c echo.Context) (*pages.Panel, error) {
	f, err := h.dashboardBilling(c)
	if f == nil || err != nil {
		return nil, err
	}
	return &pages.Panel{ID: "dashboard-revenue", Title: "Revenue by month", Body: bview.DashboardRevenue(revenueCharts(f.Revenue))}, nil
}

// revenueCharts draws one bar chart per currency (viewBox 600×240: plot from x 40 to 590, y 20 to 200).
func revenueCharts(months []billing.RevenueMonth) []bview.RevenueChart {
	var out []bview.RevenueChart
	for i := 0; i < len(months); {
		cur := months[i].Currency
		j := i
		var maxV int64
		for j < len(months) && months[j].Currency == cur {
			maxV = max(maxV, months[j].Invoiced)
			j++
		}
		digits := store.CurrencyDigits(cur)
		ch := bview.RevenueChart{Currency: cur, Max: store.FormatMinorUnits(maxV, digits)}
		n := j - i
		slot := 550 / max(n, 1)
		for k, m := range months[i:j] {
			hgt := 0
			if maxV > 0 {
				hgt = int(m.Invoiced * 180 / maxV)
			}
			ch.Bars = append(ch.Bars, bview.RevenueBar{Label: m.Month.Format("Jan 06"), Invoiced: store.FormatMinorUnits(m.Invoiced, digits),
				Credited: store.FormatMinorUnits(m.Credited, digits), Collected: store.FormatMinorUnits(m.Collected, digits),
				X: 40 + k*slot + slot/8, Y: 200 - hgt, W: slot * 3 / 4, H: hgt})
		}
		out = append(out, ch)
		i = j
	}
	return out
}

var settingsFormFields = []string{"invoice_series", "credit_note_series", "default_terms_days", "reminder_days", "sender_address", "payment_instructions"}

func (h *Handler) settingsViewOf(c echo.Context, s billing.Settings) (bview.SettingsView, error) {
	v := bview.SettingsView{CSRFToken: csrfToken(c), PricesIncludeTax: s.PricesIncludeTax, StockHandoff: s.StockHandoff, InvoiceSeries: s.InvoiceSeries,
		CreditNoteSeries: s.CreditNoteSeries, Terms: strconv.Itoa(s.DefaultTermsDays), PaymentInstructions: s.PaymentInstructions,
		SenderAddress: s.SenderAddress, ReminderDays: s.ReminderDays.String(), Version: s.Version}
	rates, err := billing.TaxRateList(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return v, err
	}
	for _, r := range rates {
		v.Rates = append(v.Rates, bview.RateRow{Name: r.Name, Rate: billing.RateText(r.RateBP), DeletePath: "/billing/tax-rates/" + r.ID.String() + "/delete"})
	}
	return v, nil
}

func (h *Handler) billingSettingsPage(c echo.Context) error {
	s, err := billing.SettingsGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	v, err := h.settingsViewOf(c, s)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.Settings(h.shell(c, "Settings — Billing"), v))
}

func (h *Handler) billingSettingsUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	version, err := strconv.Atoi(c.FormValue("version"))
	if err != nil || version < 0 {
		return store.Errorf(store.Conflict, "This form is out of date. Reload the page and try again.")
	}
	p := billing.SettingsUpdateParams{PricesIncludeTax: c.FormValue("prices_include_tax") == "1", StockHandoff: c.FormValue("stock_handoff") == "1",
		InvoiceSeries: strings.ToUpper(strings.TrimSpace(c.FormValue("invoice_series"))), CreditNoteSeries: strings.ToUpper(strings.TrimSpace(c.FormValue("credit_note_series"))),
		PaymentInstructions: c.FormValue("payment_instructions"), SenderAddress: c.FormValue("sender_address"), Version: version}
	terms := strings.TrimSpace(c.FormValue("default_terms_days"))
	reminders := c.FormValue("reminder_days")
	var parse store.FieldErrors
	if days, err := billing.ParseDays(reminders); err != nil {
		parse.Add("reminder_days", store.ErrorMessage(err))
	} else {
		p.ReminderDays = days
	}
	if n, err := strconv.Atoi(terms); err != nil {
		parse.Add("default_terms_days", "Enter the payment terms as a whole number of days, like 30.")
	} else {
		p.DefaultTermsDays = n
	}
	if err = parse.Err(); err == nil {
		_, err = billing.SettingsUpdate(ctx, h.db, scope(c), p)
	}
	var se *store.Error
	if errors.As(err, &se) && (len(se.Fields) > 0 || se.Code == store.Conflict) {
		v, verr := h.settingsViewOf(c, billing.Settings{PricesIncludeTax: p.PricesIncludeTax, StockHandoff: p.StockHandoff, InvoiceSeries: p.InvoiceSeries,
			CreditNoteSeries: p.CreditNoteSeries, PaymentInstructions: p.PaymentInstructions, SenderAddress: p.SenderAddress, Version: version})
		if verr != nil {
			return verr
		}
		v.Terms, v.ReminderDays = terms, reminders
		v.Errors = fieldErrors(err, settingsFormFields...)
		status := http.StatusUnprocessableEntity
		if len(se.Fields) == 0 {
			v.Conflict, status = se.Message, http.StatusConflict
		}
		return render(c, status, bview.Settings(h.shell(c, "Settings — Billing"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Saved the billing settings.")
	return redirect(c, "/billing/settings")
}

func (h *Handler) billingTaxRateCreate(c echo.Context) error {
	ctx := c.Request().Context()
	name, rateText := c.FormValue("name"), strings.TrimSpace(c.FormValue("rate"))
	bp, err := billing.ParseRate(rateText)
	if err != nil {
		err = mergeFieldErrors(store.FieldErrors{"rate": store.ErrorMessage(err)}, func() error {
			_, e := billing.TaxRateCreate(ctx, h.db, scope(c), billing.TaxRateCreateParams{Name: name, RateBP: -1})
			return e
		}())
	} else {
		_, err = billing.TaxRateCreate(ctx, h.db, scope(c), billing.TaxRateCreateParams{Name: name, RateBP: bp})
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		s, gerr := billing.SettingsGet(ctx, h.db, scope(c))
		if gerr != nil {
			return gerr
		}
		v, verr := h.settingsViewOf(c, s)
		if verr != nil {
			return verr
		}
		v.RateName, v.RateValue, v.RateErrors = name, rateText, fieldErrors(err, "name", "rate")
		return render(c, http.StatusUnprocessableEntity, bview.Settings(h.shell(c, "Settings — Billing"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Added the tax rate "+strings.TrimSpace(name)+".")
	return redirect(c, "/billing/settings")
}

func (h *Handler) billingTaxRateDelete(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := billing.TaxRateDelete(c.Request().Context(), h.db, scope(c), id); err != nil {
		return err
	}
	h.flash(c.Request().Context(), "The tax rate is retired. Lines that use it keep it.")
	return redirect(c, "/billing/settings")
}
