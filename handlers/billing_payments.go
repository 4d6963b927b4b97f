package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	bview "ledgerline/views/billing"
	"ledgerline/views/ui"
)

// Payments: the list, the form (customer first, then an amount per open invoice and "keep the rest as
// credit"), a payment's page and its reversal.

// paymentListParams reads the payment list's query string into the list's parameters, as the list page
// and its export both do. The list has no filter: all payments, newest first, paged by after.
func paymentListParams(q url.Values) billing.PaymentListParams {
	return billing.PaymentListParams{After: q.Get("after")}
}

func (h *Handler) billingPaymentList(c echo.Context) error {
	ctx := c.Request().Context()
	after := c.QueryParam("after")
	res, err := billing.PaymentList(ctx, h.db, scope(c), paymentListParams(c.QueryParams()))
	if err != nil {
		return err
	}
	v := bview.PaymentListView{CanCreate: actorFrom(ctx).Can(identity.BillingWrite),
		Export: h.exportButton(c, exports.KindBillingPayments, url.Values{})}
	for _, p := range res.Payments {
		v.Rows = append(v.Rows, bview.PaymentRow{Href: "/billing/payments/" + p.ID.String(), Customer: p.CustomerName,
			Date: p.ReceivedOn.Format("2 Jan 2006"), Method: p.Method.Label(), Reference: p.Reference,
			Amount: money(p.Amount, p.Currency), Unallocated: money(p.Unallocated(), p.Currency), Reversed: p.ReversedAt != nil})
	}
	if res.Next != "" {
		v.NextURL = "/billing/payments?" + url.Values{"after": {res.Next}}.Encode()
	}
	if after != "" {
		v.FirstURL = "/billing/payments"
	}
	return render(c, http.StatusOK, bview.PaymentList(h.shell(c, "Payments — Billing"), v))
}

// paymentFormFill completes the form for customer cust (nil: the customer choice), with the open
// invoices and, for prefill, the invoice whose balance to propose.
func (h *Handler) paymentFormFill(c echo.Context, f *bview.PaymentForm, cust *billing.Customer, typed map[string]string) error {
	ctx := c.Request().Context()
	f.CSRFToken = csrfToken(c)
	if cust == nil {
		opts, err := h.customerOptions(c, "Choose a customer", "")
		if err != nil {
			return err
		}
		f.Customers = opts
		return nil
	}
	f.CustomerID, f.CustomerName, f.Currency = cust.ID.String(), cust.Name, cust.Currency
	if f.Method == "" {
		f.Method = string(billing.MethodBankTransfer)
	}
	f.Methods = nil
	for _, m := range billing.Methods {
		f.Methods = append(f.Methods, bview.Option{Value: string(m), Label: m.Label(), Selected: string(m) == f.Method})
	}
	open, err := billing.OpenInvoices(ctx, h.db, scope(c), cust.ID)
	if err != nil {
		return err
	}
	f.Open = nil
	for _, i := range open {
		field := "alloc_" + i.ID.String()
		f.Open = append(f.Open, bview.PaymentAlloc{Field: field, Number: i.Title(), Due: dateText(i.DueDate),
			Balance: money(i.Balance, i.Currency), Amount: typed[field]})
	}
	return nil
}

func (h *Handler) billingPaymentNew(c echo.Context) error {
	ctx := c.Request().Context()
	f := bview.PaymentForm{ReceivedOn: time.Now().In(actorFrom(ctx).Tenant.Location()).Format("2006-01-02")}
	var cust *billing.Customer
	if s := c.QueryParam("customer"); s != "" {
		id, err := store.ParseID(s)
		if err != nil {
			return echo.NewHTTPError(http.StatusNotFound)
		}
		if cust, err = billing.CustomerGet(ctx, h.db, scope(c), id); err != nil {
			return err
		}
	}
	typed := map[string]string{}
	if s := c.QueryParam("invoice"); s != "" && cust != nil {
		if id, err := store.ParseID(s); err == nil {
			if d, err := billing.InvoiceGet(ctx, h.db, scope(c), id); err == nil && d.CustomerID == cust.ID && d.Status.Open() {
				amount := store.FormatMinorUnits(d.Balance, store.CurrencyDigits(d.Currency))
				typed["alloc_"+id.String()] = amount
				f.Amount = amount
			}
		}
	}
	if err := h.paymentFormFill(c, &f, cust, typed); err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.PaymentNew(h.shell(c, "Record payment — Billing"), f))
}

var paymentFormFields = []string{"customer_id", "currency", "amount", "received_on", "method", "reference", "allocations", "keep_credit"}

func (h *Handler) billingPaymentCreate(c echo.Context) error {
	ctx := c.Request().Context()
	custID, err := store.ParseID(c.FormValue("customer_id"))
	if err != nil {
		return store.Errorf(store.Invalid, "Choose the customer first.")
	}
	cust, err := billing.CustomerGet(ctx, h.db, scope(c), custID)
	if err != nil {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	f := bview.PaymentForm{Amount: strings.TrimSpace(form.Get("amount")), ReceivedOn: form.Get("received_on"), Method: form.Get("method"),
		Reference: form.Get("reference"), KeepCredit: form.Get("keep_credit") == "1"}
	digits := store.CurrencyDigits(cust.Currency)
	p := billing.PaymentParams{CustomerID: cust.ID, Currency: cust.Currency, Method: billing.Method(f.Method), Reference: f.Reference, KeepCredit: f.KeepCredit}
	var parse store.FieldErrors
	if v, err := store.ParseMinorUnits(f.Amount, digits); err != nil {
		parse.Add("amount", store.ErrorMessage(err))
	} else {
		p.Amount = v
	}
	if d, err := time.Parse("2006-01-02", f.ReceivedOn); err != nil {
		parse.Add("received_on", "Enter the date the money arrived.")
	} else {
		p.ReceivedOn = d
	}
	typed := map[string]string{}
	for k, vals := range form {
		if !strings.HasPrefix(k, "alloc_") || len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			continue
		}
		typed[k] = strings.TrimSpace(vals[0])
		id, err := store.ParseID(strings.TrimPrefix(k, "alloc_"))
		if err != nil {
			parse.Add("allocations", "Choose invoices from the list.")
			continue
		}
		amt, err := store.ParseMinorUnits(typed[k], digits)
		if err != nil {
			parse.Add(k, store.ErrorMessage(err))
			continue
		}
		if amt > 0 {
			p.Allocations = append(p.Allocations, billing.Allocation{InvoiceID: id, Amount: amt})
		}
	}
	var pay *billing.PaymentDetail
	if err = parse.Err(); err == nil {
		pay, err = billing.PaymentRecord(ctx, h.db, scope(c), p)
	}
	var se *store.Error
	if errors.As(err, &se) && (len(se.Fields) > 0 || se.Code == store.Invalid) {
		fields := append([]string{}, paymentFormFields...)
		for k := range typed {
			fields = append(fields, k)
		}
		f.Errors = problemsOf(err, fields...)
		if ferr := h.paymentFormFill(c, &f, cust, typed); ferr != nil {
			return ferr
		}
		return render(c, http.StatusUnprocessableEntity, bview.PaymentNew(h.shell(c, "Record payment — Billing"), f))
	}
	if err != nil {
		return err
	}
	msg := "Recorded the payment of " + money(pay.Amount, pay.Currency) + "."
	if u := pay.Unallocated(); u > 0 {
		msg += " " + money(u, pay.Currency) + " is kept as customer credit."
	}
	h.flash(ctx, msg)
	if len(pay.Allocations) == 1 {
		return redirect(c, "/billing/invoices/"+pay.Allocations[0].InvoiceID.String())
	}
	return redirect(c, "/billing/payments/"+pay.ID.String())
}

func (h *Handler) paymentView(c echo.Context, p *billing.PaymentDetail) bview.PaymentView {
	a := actorFrom(c.Request().Context())
	v := bview.PaymentView{ID: p.ID.String(), Customer: p.CustomerName, CustomerHref: "/billing/customers/" + p.CustomerID.String(),
		Date: p.ReceivedOn.Format("2 Jan 2006"), Method: p.Method.Label(), Reference: p.Reference,
		Amount: money(p.Amount, p.Currency), Allocated: money(p.Allocated, p.Currency), Unallocated: money(p.Unallocated(), p.Currency),
		Reversed: p.ReversedAt != nil, ReversalReason: p.ReversalReason, CanReverse: a.Can(identity.BillingIssue),
		CSRFToken: csrfToken(c), ReversePath: "/billing/payments/" + p.ID.String() + "/reverse"}
	if p.ReversedAt != nil {
		v.ReversedAt, _ = whenIn(*p.ReversedAt, a.Tenant.Location())
	}
	for _, al := range p.Allocations {
		n := ""
		if al.Number != nil {
			n = *al.Number
		}
		v.Allocations = append(v.Allocations, bview.PaymentAllocRow{Number: n, Href: "/billing/invoices/" + al.InvoiceID.String(),
			Amount: money(al.Amount, p.Currency), Reversed: al.ReversedAt != nil})
	}
	return v
}

func (h *Handler) billingPaymentShow(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	p, err := billing.PaymentGet(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.PaymentDetail(h.shell(c, "Payment — Billing"), h.paymentView(c, p)))
}

func (h *Handler) billingPaymentReverse(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	_, err = billing.PaymentReverse(ctx, h.db, scope(c), billing.PaymentReverseParams{ID: id, Reason: c.FormValue("reason")})
	if store.ErrorCode(err) == store.Invalid {
		p, gerr := billing.PaymentGet(ctx, h.db, scope(c), id)
		if gerr != nil {
			return gerr
		}
		v := h.paymentView(c, p)
		v.Problems = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		if fe := fieldErrors(err, "reason"); len(fe) > 0 {
			v.Problems = fe
		}
		return render(c, http.StatusUnprocessableEntity, bview.PaymentDetail(h.shell(c, "Payment — Billing"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "The payment is reversed; its invoices are open again.")
	return redirect(c, "/billing/payments/"+id.String())
}
