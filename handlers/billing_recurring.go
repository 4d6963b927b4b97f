package handlers

import (
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
)

// Recurring invoices: the list with its "stop" buttons and the form that adds one (one line; the API
// takes several).

var recurringFormFields = []string{"name", "customer_id", "schedule", "start_date", "end_date", "description", "quantity", "unit_price", "tax_rate_id", "notes"}

func (h *Handler) recurringView(c echo.Context, v *bview.RecurringView, customerID, schedule, rateID string) error {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	v.CSRFToken, v.CanWrite, v.CanIssue = csrfToken(c), a.Can(identity.BillingWrite), a.Can(identity.BillingIssue)
	list, err := billing.RecurringList(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	v.Rows = nil
	for _, r := range list {
		var net int64
		cur := ""
		for _, l := range r.Lines {
			n, _, _, err := billing.LineAmounts(l.Quantity, l.UnitPrice, 0, false)
			if err == nil {
				net += n
			}
		}
		if cu, err := billing.CustomerGet(ctx, h.db, scope(c), r.CustomerID); err == nil {
			cur = cu.Currency
		}
		row := bview.RecurringRow{Name: r.Name, Customer: r.CustomerName, Schedule: strings.ToUpper(string(r.Schedule[:1])) + string(r.Schedule[1:]),
			Occurrences: strconv.Itoa(r.Occurrences), Amount: money(net, cur), StopPath: "/billing/recurring/" + r.ID.String() + "/stop",
			AutoIssue: r.AutoIssue, Ended: r.NextDate == nil}
		if r.NextDate != nil {
			row.Next = r.NextDate.Format("2 Jan 2006")
		}
		v.Rows = append(v.Rows, row)
	}
	if !v.CanWrite {
		return nil
	}
	if v.Customers, err = h.customerOptions(c, "Choose a customer", customerID); err != nil {
		return err
	}
	v.Schedules = nil
	for _, s := range billing.Schedules {
		v.Schedules = append(v.Schedules, bview.Option{Value: string(s), Label: strings.ToUpper(string(s[:1])) + string(s[1:]), Selected: string(s) == schedule})
	}
	rates, err := billing.TaxRateList(ctx, h.db, scope(c))
	if err != nil {
		return err
	}
	v.Rates = nil
	for _, r := range rates {
		v.Rates = append(v.Rates, bview.Option{Value: r.ID.String(), Label: r.Name + " (" + billing.RateText(r.RateBP) + ")", Selected: r.ID.String() == rateID})
	}
	return nil
}

func (h *Handler) billingRecurringList(c echo.Context) error {
	v := bview.RecurringView{Quantity: "1", Start: time.Now().In(actorFrom(c.Request().Context()).Tenant.Location()).Format("2006-01-02")}
	if err := h.recurringView(c, &v, "", string(billing.Monthly), ""); err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.RecurringList(h.shell(c, "Recurring invoices — Billing"), v))
}

func (h *Handler) billingRecurringCreate(c echo.Context) error {
	ctx := c.Request().Context()
	v := bview.RecurringView{Name: c.FormValue("name"), Start: c.FormValue("start_date"), End: c.FormValue("end_date"),
		Description: c.FormValue("description"), Quantity: strings.TrimSpace(c.FormValue("quantity")),
		UnitPrice: strings.TrimSpace(c.FormValue("unit_price")), Notes: c.FormValue("notes"), AutoIssue: c.FormValue("auto_issue") == "1"}
	custText, schedule, rateText := c.FormValue("customer_id"), c.FormValue("schedule"), c.FormValue("tax_rate_id")
	p := billing.RecurringParams{Name: v.Name, Schedule: billing.Schedule(schedule), AutoIssue: v.AutoIssue, Notes: v.Notes}
	var parse store.FieldErrors
	line := billing.RecurringLine{Description: strings.TrimSpace(v.Description)}
	digits := 2
	if id, err := store.ParseID(custText); err != nil {
		parse.Add("customer_id", "Choose a customer from the list.")
	} else {
		p.CustomerID = id
		if cu, err := billing.CustomerGet(ctx, h.db, scope(c), id); err == nil {
			digits = store.CurrencyDigits(cu.Currency)
		}
	}
	if d, err := time.Parse("2006-01-02", v.Start); err != nil {
		parse.Add("start_date", "Enter the date of the first invoice.")
	} else {
		p.StartDate = d
	}
	if v.End != "" {
		if d, err := time.Parse("2006-01-02", v.End); err != nil {
			parse.Add("end_date", "Enter the end date as a date, or leave it empty.")
		} else {
			p.EndDate = &d
		}
	}
	if q, err := billing.ParseQty(v.Quantity); err != nil {
		parse.Add("quantity", store.ErrorMessage(err))
	} else {
		line.Quantity = q
	}
	if amt, err := store.ParseMinorUnits(v.UnitPrice, digits); err != nil {
		parse.Add("unit_price", store.ErrorMessage(err))
	} else {
		line.UnitPrice = amt
	}
	if id, err := store.ParseID(rateText); err != nil {
		parse.Add("tax_rate_id", "Choose a tax rate from the list.")
	} else {
		line.TaxRateID = id
	}
	p.Lines = []billing.RecurringLine{line}
	err := parse.Err()
	if err == nil {
		_, err = billing.RecurringCreate(ctx, h.db, scope(c), p)
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		v.Errors = fieldErrors(err, recurringFormFields...)
		if verr := h.recurringView(c, &v, custText, schedule, rateText); verr != nil {
			return verr
		}
		return render(c, http.StatusUnprocessableEntity, bview.RecurringList(h.shell(c, "Recurring invoices — Billing"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Created the recurring invoice "+strings.TrimSpace(p.Name)+". Its invoices appear on their dates.")
	return redirect(c, "/billing/recurring")
}

func (h *Handler) billingRecurringStop(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r, err := billing.RecurringStop(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	h.flash(c.Request().Context(), r.Name+" is stopped: no more invoices will be made from it.")
	return redirect(c, "/billing/recurring")
}
