package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
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

// Customers: list with search as you type, the new-customer form, a customer's page with the edit form
// (tax id and bank details write-only, shown masked), delete and restore.

var customerFormFields = []string{"name", "email", "address", "currency", "terms_days", "tax_id", "bank", "notes"}

// customerListParams reads the customer list's query string (q, deleted, after) into the list's
// parameters, as the list page and its export both do.
func customerListParams(q url.Values) billing.CustomerListParams {
	return billing.CustomerListParams{Search: strings.TrimSpace(q.Get("q")), Deleted: q.Get("deleted") == "1", After: q.Get("after")}
}

func (h *Handler) billingCustomerList(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	v := bview.CustomerListView{Search: strings.TrimSpace(c.QueryParam("q")), Deleted: c.QueryParam("deleted") == "1",
		CanCreate: actorFrom(ctx).Can(identity.BillingWrite)}
	after := c.QueryParam("after")
	res, err := billing.CustomerList(ctx, h.db, scope(c), customerListParams(c.QueryParams()))
	if err != nil {
		return err
	}
	for _, cu := range res.Customers {
		v.Rows = append(v.Rows, bview.CustomerRow{Href: "/billing/customers/" + cu.ID.String(), Name: cu.Name, Email: cu.Email,
			Currency: cu.Currency, Terms: strconv.Itoa(cu.TermsDays) + " days"})
	}
	filters := url.Values{}
	if v.Search != "" {
		filters.Set("q", v.Search)
	}
	if v.Deleted {
		filters.Set("deleted", "1")
	}
	v.Export = h.exportButton(c, exports.KindBillingCustomers, filters)
	if res.Next != "" {
		next := url.Values{}
		for k, x := range filters {
			next[k] = x
		}
		next.Set("after", res.Next)
		v.NextURL = "/billing/customers?" + next.Encode()
	}
	if after != "" {
		v.FirstURL = "/billing/customers?" + filters.Encode()
	}
	return render(c, http.StatusOK, bview.CustomerList(h.shell(c, "Customers — Billing"), v))
}

// currencyOptions lists the currencies, the tenant's first.
func currencyOptions(tenantCurrency, selected string) []bview.Option {
	if selected == "" {
		selected = tenantCurrency
	}
	codes := []string{}
	for _, code := range []string{"EUR", "USD", "GBP", "CHF", "JPY", "KWD", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "CNY", "INR"} {
		if code != tenantCurrency {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	if selected != tenantCurrency && store.CurrencyKnown(selected) && !contains(codes, selected) {
		codes = append(codes, selected)
	}
	codes = append([]string{tenantCurrency}, codes...)
	out := make([]bview.Option, 0, len(codes))
	for _, code := range codes {
		out = append(out, bview.Option{Value: code, Label: code, Selected: code == selected})
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (h *Handler) customerFormFill(c echo.Context, f *bview.CustomerForm, action, submit string) {
	f.Action, f.Submit, f.CSRFToken = action, submit, csrfToken(c)
	f.Currencies = currencyOptions(actorFrom(c.Request().Context()).Tenant.Currency, f.Currency)
	if f.Terms == "" {
		f.Terms = "30"
	}
}

// customerFormRead reads the form as typed and the store's fields from it.
func customerFormRead(c echo.Context) (bview.CustomerForm, billing.CustomerFields, store.FieldErrors) {
	f := bview.CustomerForm{Name: c.FormValue("name"), Email: c.FormValue("email"), Address: c.FormValue("address"),
		Currency: c.FormValue("currency"), Terms: strings.TrimSpace(c.FormValue("terms_days")), Notes: c.FormValue("notes"),
		TaxID: c.FormValue("tax_id"), Bank: c.FormValue("bank"), ClearTaxID: c.FormValue("clear_tax_id") == "1",
		ClearBank: c.FormValue("clear_bank") == "1"}
	p := billing.CustomerFields{Name: f.Name, Email: f.Email, Address: f.Address, Currency: f.Currency, Notes: f.Notes}
	var parse store.FieldErrors
	if n, err := strconv.Atoi(f.Terms); err != nil {
		parse.Add("terms_days", "Enter the payment terms as a whole number of days, like 30.")
	} else {
		p.TermsDays = n
	}
	empty := ""
	if strings.TrimSpace(f.TaxID) != "" {
		p.TaxID = &f.TaxID
	} else if f.ClearTaxID {
		p.TaxID = &empty
	}
	if strings.TrimSpace(f.Bank) != "" {
		p.Bank = &f.Bank
	} else if f.ClearBank {
		p.Bank = &empty
	}
	return f, p, parse
}

func (h *Handler) billingCustomerNew(c echo.Context) error {
	f := bview.CustomerForm{}
	h.customerFormFill(c, &f, "/billing/customers", "Create customer")
	return render(c, http.StatusOK, bview.CustomerNew(h.shell(c, "New customer — Billing"), f))
}

func (h *Handler) billingCustomerCreate(c echo.Context) error {
	ctx := c.Request().Context()
	f, p, parse := customerFormRead(c)
	var cu *billing.Customer
	err := parse.Err()
	if err == nil {
		cu, err = billing.CustomerCreate(ctx, h.db, scope(c), p)
	} else {
		p.TermsDays = 0
		_, serr := billing.CustomerCreate(ctx, h.db, scope(c), billing.CustomerFields{Name: p.Name, Email: p.Email, Address: p.Address,
			Currency: p.Currency, Notes: p.Notes, TermsDays: -1})
		err = mergeFieldErrors(parse, serr)
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		f.Errors = fieldErrors(err, customerFormFields...)
		f.TaxID, f.Bank = "", "" // secrets never travel back to the browser
		h.customerFormFill(c, &f, "/billing/customers", "Create customer")
		if hxTargets(c, bview.CustomerFormID) {
			return render(c, http.StatusUnprocessableEntity, bview.CustomerFormView(f))
		}
		return render(c, http.StatusUnprocessableEntity, bview.CustomerNew(h.shell(c, "New customer — Billing"), f))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Created "+cu.Name+".")
	return redirect(c, "/billing/customers/"+cu.ID.String())
}

func (h *Handler) customerView(c echo.Context, cu *billing.Customer, form *bview.CustomerForm) (bview.CustomerView, error) {
	ctx := c.Request().Context()
	path := "/billing/customers/" + cu.ID.String()
	v := bview.CustomerView{ID: cu.ID.String(), Name: cu.Name, Email: cu.Email, Address: cu.Address, Currency: cu.Currency,
		Terms: strconv.Itoa(cu.TermsDays) + " days", Notes: cu.Notes, TaxID: cu.TaxIDMasked(), Bank: cu.BankMasked(),
		Deleted: cu.DeletedAt != nil, CanWrite: actorFrom(ctx).Can(identity.BillingWrite), CSRFToken: csrfToken(c),
		DeletePath: path + "/delete", RestorePath: path + "/restore", PayHref: "/billing/payments/new?customer=" + cu.ID.String(),
		Version: cu.Version}
	credit, err := billing.CustomerCredit(ctx, h.db, scope(c), cu.ID)
	if err != nil {
		return v, err
	}
	v.Credit = money(credit, cu.Currency)
	res, err := billing.InvoiceList(ctx, h.db, scope(c), billing.InvoiceListParams{CustomerID: &cu.ID, Limit: 20})
	if err != nil {
		return v, err
	}
	for _, i := range res.Invoices {
		v.Invoices = append(v.Invoices, invoiceRowOf(i))
	}
	if form == nil {
		form = &bview.CustomerForm{Name: cu.Name, Email: cu.Email, Address: cu.Address, Currency: cu.Currency,
			Terms: strconv.Itoa(cu.TermsDays), Notes: cu.Notes, Version: cu.Version}
	}
	form.TaxIDMasked, form.BankMasked = cu.TaxIDMasked(), cu.BankMasked()
	h.customerFormFill(c, form, path, "Save changes")
	v.Form = *form
	return v, nil
}

func (h *Handler) billingCustomerShow(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	cu, err := billing.CustomerGet(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	v, err := h.customerView(c, cu, nil)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.CustomerDetail(h.shell(c, cu.Name+" — Billing"), v))
}

func (h *Handler) billingCustomerUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f, p, parse := customerFormRead(c)
	f.Version = version
	err = parse.Err()
	if err == nil {
		_, err = billing.CustomerUpdate(ctx, h.db, scope(c), billing.CustomerUpdateParams{ID: id, Version: version, CustomerFields: p})
	}
	code := store.ErrorCode(err)
	var se *store.Error
	hasFields := errors.As(err, &se) && len(se.Fields) > 0
	if hasFields || code == store.Conflict || code == store.Invalid {
		cu, gerr := billing.CustomerGet(ctx, h.db, scope(c), id)
		if gerr != nil {
			return gerr
		}
		f.Errors = fieldErrors(err, customerFormFields...)
		if !hasFields {
			f.Conflict = store.ErrorMessage(err)
		}
		f.TaxID, f.Bank = "", ""
		v, verr := h.customerView(c, cu, &f)
		if verr != nil {
			return verr
		}
		status := http.StatusUnprocessableEntity
		if code == store.Conflict && !hasFields {
			status = http.StatusConflict
		}
		if hxTargets(c, bview.CustomerFormID) {
			if status == http.StatusConflict {
				c.Response().Header().Set("HX-Trigger", toastTrigger("error", f.Conflict))
			}
			return render(c, status, bview.CustomerFormView(v.Form))
		}
		return render(c, status, bview.CustomerDetail(h.shell(c, cu.Name+" — Billing"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Saved the changes to "+strings.TrimSpace(p.Name)+".")
	return redirect(c, "/billing/customers/"+id.String())
}

func (h *Handler) billingCustomerDelete(c echo.Context) error {
	return h.customerDeleteOrRestore(c, true)
}
func (h *Handler) billingCustomerRestore(c echo.Context) error {
	return h.customerDeleteOrRestore(c, false)
}

func (h *Handler) customerDeleteOrRestore(c echo.Context, del bool) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	var cu *billing.Customer
	if del {
		cu, err = billing.CustomerDelete(ctx, h.db, scope(c), id, version)
	} else {
		cu, err = billing.CustomerRestore(ctx, h.db, scope(c), id, version)
	}
	if code := store.ErrorCode(err); code == store.Conflict || code == store.Invalid {
		cur, gerr := billing.CustomerGet(ctx, h.db, scope(c), id)
		if gerr != nil {
			return gerr
		}
		v, verr := h.customerView(c, cur, nil)
		if verr != nil {
			return verr
		}
		v.Problems = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		return render(c, statusOf(err), bview.CustomerDetail(h.shell(c, cur.Name+" — Billing"), v))
	}
	if err != nil {
		return err
	}
	if del {
		h.flash(ctx, cu.Name+" is deleted. You can restore the customer from the deleted customers.")
	} else {
		h.flash(ctx, cu.Name+" is restored.")
	}
	return redirect(c, "/billing/customers/"+id.String())
}

var statementKinds = map[string]string{"invoice": "Invoice", "credit_note": "Credit note", "payment": "Payment", "payment_reversal": "Payment reversed"}

func (h *Handler) billingCustomerStatement(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	cu, err := billing.CustomerGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	p := billing.StatementParams{CustomerID: id}
	var problems []ui.FieldError
	for _, x := range []struct {
		name string
		into *time.Time
	}{{"from", &p.From}, {"to", &p.To}} {
		if d, ok := parseDateParam(c.QueryParam(x.name)); !ok {
			problems = append(problems, ui.FieldError{Message: "Enter the dates as dates; the default period is shown."})
		} else if d != nil {
			*x.into = *d
		}
	}
	st, err := billing.CustomerStatement(ctx, h.db, scope(c), p)
	if store.ErrorCode(err) == store.Invalid {
		problems = append(problems, ui.FieldError{Message: store.ErrorMessage(err)})
		st, err = billing.CustomerStatement(ctx, h.db, scope(c), billing.StatementParams{CustomerID: id})
	}
	if err != nil {
		return err
	}
	digits := store.CurrencyDigits(st.Currency)
	v := bview.StatementView{CustomerName: cu.Name, CustomerHref: "/billing/customers/" + id.String(),
		Path: "/billing/customers/" + id.String() + "/statement", Currency: st.Currency,
		From: st.From.Format("2006-01-02"), To: st.To.Format("2006-01-02"),
		Opening: store.FormatMinorUnits(st.Opening, digits), Closing: store.FormatMinorUnits(st.Closing, digits), Problems: problems}
	for _, l := range st.Lines {
		v.Lines = append(v.Lines, bview.StatementRow{Date: l.Date.Format("2006-01-02"), Kind: statementKinds[l.Kind], Reference: l.Reference,
			Amount: store.FormatMinorUnits(l.Amount, digits), Balance: store.FormatMinorUnits(l.Balance, digits)})
	}
	return render(c, http.StatusOK, bview.Statement(h.shell(c, "Statement of "+cu.Name+" — Billing"), v))
}
