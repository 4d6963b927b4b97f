package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/billing"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	bview "ledgerline/views/billing"
	"ledgerline/views/layout"
	"ledgerline/views/ui"
)

// Billing pages: the invoice list, the invoice page with its editor (lines added and removed in place,
// totals computed by the server), issue, void, credit notes, PDF and e-mail. Customers, payments, reports
// and settings are in billing_*.go. Every page calls store/billing, which checks the permission again.
//
// Item-linked lines: billing must not import inventory, so this handler (which may use both) looks the
// item up by SKU with inventory.ItemList and passes its id, name and price to billing.InvoiceLineAdd.
// Inventory keeps no sales price; the price defaults to the item's moving average cost, which the person
// overrides by typing a price.

// billingStatusBadge colours invoice statuses: draft grey, issued blue, partially paid amber, paid green,
// void red.
func billingStatusBadge(s billing.Status) bview.Status {
	return bview.Status{Kind: billingStatusKinds[s], Label: s.Label()}
}

var billingStatusKinds = map[billing.Status]string{
	billing.StatusDraft: ui.BadgeDraft, billing.StatusIssued: ui.BadgeIssued, billing.StatusPartiallyPaid: ui.BadgePending,
	billing.StatusPaid: ui.BadgePaid, billing.StatusVoid: ui.BadgeRejected,
}

func dateText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format("2 Jan 2006")
}

func invoiceRowOf(i billing.Invoice) bview.InvoiceRow {
	row := bview.InvoiceRow{Href: "/billing/invoices/" + i.ID.String(), Number: i.Title(), Customer: i.CustomerName,
		IssueDate: dateText(i.IssueDate), DueDate: dateText(i.DueDate), Total: money(i.Total, i.Currency),
		Balance: money(i.Balance, i.Currency), Status: billingStatusBadge(i.Status), Overdue: i.Overdue}
	if i.Status == billing.StatusVoid {
		row.Balance = "—" // nothing is owed on a void invoice
	}
	return row
}

// customerOptions lists the first live customers by name for a select (billing.CustomerChoicesMax), and
// the selected one too when it is not among them, so that a filter or form keeps showing its choice.
func (h *Handler) customerOptions(c echo.Context, none, selected string) ([]bview.Option, error) {
	ctx := c.Request().Context()
	customers, err := billing.CustomerChoices(ctx, h.db, scope(c))
	if err != nil {
		return nil, err
	}
	out := make([]bview.Option, 0, len(customers)+2)
	if none != "" {
		out = append(out, bview.Option{Value: "", Label: none, Selected: selected == ""})
	}
	found := false
	for _, cu := range customers {
		found = found || cu.ID.String() == selected
		out = append(out, bview.Option{Value: cu.ID.String(), Label: cu.Name + " (" + cu.Currency + ")", Selected: cu.ID.String() == selected})
	}
	if id, err := store.ParseID(selected); err == nil && !found {
		if cu, err := billing.CustomerGet(ctx, h.db, scope(c), id); err == nil && cu.DeletedAt == nil {
			at := 0
			if none != "" {
				at = 1
			}
			out = slices.Insert(out, at, bview.Option{Value: cu.ID.String(), Label: cu.Name + " (" + cu.Currency + ")", Selected: true})
		}
	}
	return out, nil
}

// customerLabel is how pickers name a customer: the name and the currency.
func customerLabel(cu *billing.CustomerChoice) string { return cu.Name + " (" + cu.Currency + ")" }

// billingCustomerChoices is the invoice list's customer picker's suggestions for what was typed (q): the
// first billing.CustomerMatchesMax live customers by name whose name or e-mail contains it.
func (h *Handler) billingCustomerChoices(c echo.Context) error {
	if c.Request().Header.Get("HX-Request") != "true" {
		// Opened directly (not by the picker): the customer list with the same search is the page for that.
		q := url.Values{}
		if s := strings.TrimSpace(c.QueryParam("q")); s != "" {
			q.Set("q", s)
		}
		return c.Redirect(http.StatusSeeOther, strings.TrimSuffix("/billing/customers?"+q.Encode(), "?"))
	}
	matches, err := billing.CustomerMatches(c.Request().Context(), h.db, scope(c), c.QueryParam("q"))
	if err != nil {
		return err
	}
	opts := make([]bview.Option, 0, len(matches))
	for i := range matches {
		opts = append(opts, bview.Option{Value: matches[i].ID.String(), Label: customerLabel(&matches[i])})
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, bview.CustomerChoices(opts))
}

func parseDateParam(s string) (*time.Time, bool) {
	if s == "" {
		return nil, true
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, false
	}
	return &t, true
}

// invoiceListParams reads the invoice list's query string (q, status, customer, from, to, overdue, after)
// into the list's parameters, as the list page and its export both do. An invalid status is dropped and
// reported among the problems.
func invoiceListParams(q url.Values) (billing.InvoiceListParams, store.FieldErrors) {
	p := billing.InvoiceListParams{Search: strings.TrimSpace(q.Get("q")), Status: billing.Status(q.Get("status")),
		Overdue: q.Get("overdue") == "1", After: q.Get("after")}
	var problems store.FieldErrors
	if v := q.Get("customer"); v != "" {
		id, err := store.ParseID(v)
		if err != nil {
			problems.Add("customer", "Choose a customer from the list.")
		} else {
			p.CustomerID = &id
		}
	}
	var ok bool
	if p.From, ok = parseDateParam(q.Get("from")); !ok {
		problems.Add("from", "Enter the first issue date as a date.")
	}
	if p.To, ok = parseDateParam(q.Get("to")); !ok {
		problems.Add("to", "Enter the last issue date as a date.")
	}
	if p.Status != "" && !p.Status.Valid() {
		problems.Add("status", "Choose a status from the list.")
		p.Status = ""
	}
	return p, problems
}

func (h *Handler) billingInvoiceList(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Add("Vary", "HX-Request, HX-Target")
	q := c.QueryParams()
	v := bview.InvoiceListView{Search: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), CustomerID: q.Get("customer"),
		From: q.Get("from"), To: q.Get("to"), Overdue: q.Get("overdue") == "1", CanCreate: actorFrom(ctx).Can(identity.BillingWrite)}
	p, problems := invoiceListParams(q)
	// Totals that sum the filtered invoices come in a second request (billingInvoiceTotals) unless asked
	// for (totals=1: the link for browsers without JavaScript), so that the list shows at once.
	p.WithTotals = q.Get("totals") == "1"
	// The page's reads (the list and its totals, the customer filter, the frame's counts) share one
	// transaction (readShared).
	var res *billing.InvoiceListResult
	var frame layout.Shell
	results := hxTargets(c, bview.InvoiceResultsID)
	if err := h.readShared(c, func(ctx context.Context) error {
		var err error
		res, err = billing.InvoiceList(ctx, h.db, scope(c), p)
		if store.ErrorCode(err) == store.Invalid { // refused before any statement: a bad cursor
			problems.Add("", store.ErrorMessage(err))
			p.After = ""
			res, err = billing.InvoiceList(ctx, h.db, scope(c), p)
		}
		if err != nil {
			return err
		}
		if results { // the filter form stays on the page: no customer options, no frame
			return nil
		}
		// The customer picker names the chosen customer only; it suggests others as someone types
		// (billingCustomerChoices).
		if p.CustomerID != nil {
			cu, err := billing.CustomerChoiceGet(ctx, h.db, scope(c), *p.CustomerID)
			switch {
			case store.ErrorCode(err) == store.NotFound: // another tenant's or a made-up id: the list is empty
			case err != nil:
				return err
			default:
				v.CustomerLabel = customerLabel(cu)
			}
		}
		frame = h.shell(c, "Invoices — Billing")
		return nil
	}); err != nil {
		return err
	}
	for k, msg := range problems {
		v.Problems = append(v.Problems, ui.FieldError{Field: k, Message: msg})
	}
	v.Statuses = []bview.Option{{Value: "", Label: "Any status", Selected: v.Status == ""}}
	for _, s := range billing.Statuses {
		v.Statuses = append(v.Statuses, bview.Option{Value: string(s), Label: s.Label(), Selected: string(s) == v.Status})
	}
	v.Filtered = v.Search != "" || v.Status != "" || v.CustomerID != "" || v.From != "" || v.To != "" || v.Overdue
	for _, i := range res.Invoices {
		v.Rows = append(v.Rows, invoiceRowOf(i))
	}
	v.Totals = totalRows(res.Totals)
	filters := url.Values{}
	for k, val := range map[string]string{"q": v.Search, "status": v.Status, "customer": v.CustomerID, "from": v.From, "to": v.To} {
		if val != "" {
			filters.Set(k, val)
		}
	}
	if v.Overdue {
		filters.Set("overdue", "1")
	}
	if len(problems) == 0 {
		v.Export = h.exportButton(c, exports.KindBillingInvoices, filters)
	}
	if res.TotalsDeferred { // the totals request reports nothing for a filter the list refused
		v.TotalsURL = "/billing/totals?" + filters.Encode()
		withTotals := url.Values{"totals": {"1"}}
		for k, x := range filters {
			withTotals[k] = x
		}
		if p.After != "" {
			withTotals.Set("after", p.After)
		}
		v.TotalsPageURL = "/billing?" + withTotals.Encode()
	}
	if res.Next != "" {
		next := url.Values{}
		for k, x := range filters {
			next[k] = x
		}
		next.Set("after", res.Next)
		v.NextURL = "/billing?" + next.Encode()
	}
	if p.After != "" {
		v.FirstURL = "/billing"
		if len(filters) > 0 {
			v.FirstURL += "?" + filters.Encode()
		}
	}
	if results {
		return render(c, http.StatusOK, bview.InvoiceResults(v))
	}
	return render(c, http.StatusOK, bview.InvoiceList(frame, v))
}

// billingInvoiceTotals is the totals fragment of the invoice list for a filter whose totals sum the
// matching invoices (date range, customer, overdue, search): the list page loads it after itself.
func (h *Handler) billingInvoiceTotals(c echo.Context) error {
	if c.Request().Header.Get("HX-Request") != "true" {
		// Opened directly (a bookmark, a copied link): the list with its totals is the page for that.
		q := c.QueryParams()
		q.Set("totals", "1")
		return c.Redirect(http.StatusSeeOther, "/billing?"+q.Encode())
	}
	p, problems := invoiceListParams(c.QueryParams())
	if len(problems) > 0 {
		return render(c, http.StatusOK, bview.InvoiceTotals(nil)) // the list itself reports the problem
	}
	totals, err := billing.InvoiceTotals(c.Request().Context(), h.db, scope(c), p)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.InvoiceTotals(totalRows(totals)))
}

// totalRows formats totals per currency for the list's summary.
func totalRows(totals []billing.CurrencyTotal) []bview.TotalRow {
	var out []bview.TotalRow
	for _, t := range totals {
		out = append(out, bview.TotalRow{Currency: t.Currency, Count: bview.Itoa(int(t.Count)),
			Total: money(t.Total, t.Currency), Balance: money(t.Balance, t.Currency)})
	}
	return out
}

func (h *Handler) billingInvoiceNew(c echo.Context) error {
	opts, err := h.customerOptions(c, "Choose a customer", c.QueryParam("customer"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, bview.NewInvoice(h.shell(c, "New invoice — Billing"), bview.NewInvoiceView{CSRFToken: csrfToken(c), Customers: opts}))
}

func (h *Handler) billingInvoiceCreate(c echo.Context) error {
	ctx := c.Request().Context()
	custText := c.FormValue("customer_id")
	var inv *billing.Invoice
	custID, err := store.ParseID(custText)
	if err != nil {
		err = (store.FieldErrors{"customer_id": "Choose a customer from the list."}).Err()
	} else {
		inv, err = billing.InvoiceCreate(ctx, h.db, scope(c), billing.InvoiceCreateParams{CustomerID: custID, Notes: c.FormValue("notes")})
	}
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		opts, oerr := h.customerOptions(c, "Choose a customer", custText)
		if oerr != nil {
			return oerr
		}
		return render(c, http.StatusUnprocessableEntity, bview.NewInvoice(h.shell(c, "New invoice — Billing"),
			bview.NewInvoiceView{CSRFToken: csrfToken(c), Customers: opts, Errors: fieldErrors(err, "customer_id", "notes")}))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Draft started. Add its lines, then issue it.")
	return redirect(c, "/billing/invoices/"+inv.ID.String())
}

// lineFormFields are the add-line form's fields in summary order.
var lineFormFields = []string{"item_id", "description", "quantity", "unit_price", "tax_rate_id"}

// invoiceView builds an invoice's page; form is the add-line form as typed (nil: empty).
func (h *Handler) invoiceView(c echo.Context, d *billing.InvoiceDetail, form *bview.LineForm) (bview.InvoiceView, error) {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	loc := a.Tenant.Location()
	path := "/billing/invoices/" + d.ID.String()
	cur := d.Currency
	v := bview.InvoiceView{
		ID: d.ID.String(), Title: d.Title(), Customer: d.CustomerName, CustomerHref: "/billing/customers/" + d.CustomerID.String(),
		Currency: cur, Status: billingStatusBadge(d.Status), Overdue: d.Overdue, Draft: d.Status == billing.StatusDraft,
		Void: d.Status == billing.StatusVoid, IssueDate: dateText(d.IssueDate), DueDate: dateText(d.DueDate),
		Terms: bview.Itoa(d.TermsDays) + " days", Notes: d.Notes, VoidReason: d.VoidReason,
		Total: money(d.Total, cur), Paid: money(d.Paid, cur), Credited: money(d.Credited, cur), Balance: money(d.Balance, cur),
		CanWrite: a.Can(identity.BillingWrite), CanIssue: a.Can(identity.BillingIssue), CSRFToken: csrfToken(c),
		IssuePath: path + "/issue", VoidPath: path + "/void", CreditPath: path + "/credit-notes", SendPath: path + "/send",
		PayHref: "/billing/payments/new?" + url.Values{"customer": {d.CustomerID.String()}, "invoice": {d.ID.String()}}.Encode(),
		Version: d.Version,
	}
	open := d.Status.Open()
	v.CanVoid = v.CanIssue && d.Status == billing.StatusIssued
	v.CanCredit = v.CanIssue && open
	v.CanPay = v.CanWrite && open
	v.CanSend = v.CanWrite && !v.Draft && !v.Void
	if !v.Draft {
		switch {
		case d.PDFFileID != nil:
			v.PDFHref = path + "/pdf"
		case d.PDFError != "":
			v.PDFState = "Rendering failed, retrying"
		default:
			v.PDFState = "Being prepared"
		}
	}
	if v.CanSend {
		v.CustomerEmail = d.CustomerEmail
	}
	ed, err := h.editorView(c, d, form)
	if err != nil {
		return v, err
	}
	v.Editor = ed
	for _, al := range d.Allocations {
		v.Payments = append(v.Payments, bview.AllocRow{Date: al.ReceivedOn.Format("2 Jan 2006"), Method: billing.Method(al.Method).Label(),
			Reference: al.Reference, Amount: money(al.Amount, cur), PaymentHref: "/billing/payments/" + al.PaymentID.String(),
			Reversed: al.ReversedAt != nil})
	}
	for _, n := range d.CreditNotes {
		v.CreditNotes = append(v.CreditNotes, bview.CreditNoteRow{Number: n.Number, Date: n.IssueDate.Format("2 Jan 2006"),
			Amount: money(n.Amount, cur), Reason: n.Reason})
	}
	for _, s := range d.Sends {
		when, _ := whenIn(s.RequestedAt, loc)
		row := bview.SendRow{To: s.Recipient, Requested: when, State: "Queued", Kind: ui.BadgePending}
		switch {
		case s.SentAt != nil:
			row.State, row.Kind = "Sent", ui.BadgePaid
		case s.Retrying():
			row.State, row.Kind = "Sending failed, retrying", ui.BadgeOverdue
		}
		v.Sends = append(v.Sends, row)
	}
	v.Timeline = invoiceTimeline(d, loc)
	return v, nil
}

// invoiceTimeline is the invoice's life from its own records: created, issued, sent, paid (each payment),
// credited, voided, oldest first.
func invoiceTimeline(d *billing.InvoiceDetail, loc *time.Location) []bview.TimelineRow {
	type ev struct {
		at   time.Time
		what string
	}
	cur := d.Currency
	evs := []ev{{d.CreatedAt, "Draft created"}}
	if d.IssuedAt != nil {
		evs = append(evs, ev{*d.IssuedAt, "Issued as " + d.Title()})
	}
	for _, s := range d.Sends {
		evs = append(evs, ev{s.RequestedAt, "E-mail to " + s.Recipient + " requested"})
		if s.SentAt != nil {
			evs = append(evs, ev{*s.SentAt, "Sent to " + s.Recipient})
		}
	}
	for _, a := range d.Allocations {
		evs = append(evs, ev{a.CreatedAt, "Payment of " + money(a.Amount, cur) + " applied"})
		if a.ReversedAt != nil {
			evs = append(evs, ev{*a.ReversedAt, "Payment of " + money(a.Amount, cur) + " reversed"})
		}
	}
	for _, n := range d.CreditNotes {
		evs = append(evs, ev{n.CreatedAt, "Credited " + money(n.Amount, cur) + " by " + n.Number})
	}
	for _, r := range d.Reminders {
		if r.Sent {
			evs = append(evs, ev{r.CreatedAt, "Reminded " + r.Recipient + " (" + bview.Itoa(r.Days) + " days overdue)"})
		}
	}
	if d.PaidAt != nil {
		evs = append(evs, ev{*d.PaidAt, "Paid in full"})
	}
	if d.VoidedAt != nil {
		evs = append(evs, ev{*d.VoidedAt, "Voided: " + d.VoidReason})
	}
	// Stable insertion sort: a handful of events.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].at.Before(evs[j-1].at); j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	out := make([]bview.TimelineRow, 0, len(evs))
	for _, e := range evs {
		when, _ := whenIn(e.at, loc)
		out = append(out, bview.TimelineRow{When: when, What: e.what})
	}
	return out
}

func (h *Handler) editorView(c echo.Context, d *billing.InvoiceDetail, form *bview.LineForm) (bview.EditorView, error) {
	cur := d.Currency
	digits := store.CurrencyDigits(cur)
	path := "/billing/invoices/" + d.ID.String()
	ed := bview.EditorView{InvoiceID: d.ID.String(), Action: path + "/lines", CSRFToken: csrfToken(c), Currency: cur,
		Editable:         d.Status == billing.StatusDraft && actorFrom(c.Request().Context()).Can(identity.BillingWrite),
		PricesIncludeTax: d.PricesIncludeTax, Version: d.Version, IssuePath: path + "/issue",
		CanIssue: actorFrom(c.Request().Context()).Can(identity.BillingIssue),
		Subtotal: money(d.Subtotal, cur), TaxTotal: money(d.TaxTotal, cur), Total: money(d.Total, cur)}
	for _, l := range d.Lines {
		amount := l.Net
		if d.PricesIncludeTax {
			amount = l.Gross
		}
		ed.Lines = append(ed.Lines, bview.LineRow{Description: l.Description, Quantity: l.Quantity.String(),
			UnitPrice: store.FormatMinorUnits(l.UnitPrice, digits), Tax: billing.RateText(l.TaxRateBP),
			Amount: store.FormatMinorUnits(amount, digits), RemovePath: path + "/lines/" + l.ID.String() + "/delete"})
	}
	for _, t := range d.Taxes {
		ed.Taxes = append(ed.Taxes, bview.TaxRow{Label: t.Name + " " + billing.RateText(t.RateBP), Net: money(t.Net, cur), Tax: money(t.Tax, cur)})
	}
	if !ed.Editable {
		return ed, nil
	}
	if form == nil {
		form = &bview.LineForm{Quantity: "1"}
	}
	rates, err := billing.TaxRateList(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return ed, err
	}
	form.Rates = nil
	for i, r := range rates {
		sel := r.ID.String() == form.TaxRateID || (form.TaxRateID == "" && i == 0)
		form.Rates = append(form.Rates, bview.Option{Value: r.ID.String(), Label: r.Name + " (" + billing.RateText(r.RateBP) + ")", Selected: sel})
	}
	ed.Form = *form
	return ed, nil
}

func (h *Handler) billingInvoiceShow(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	var v bview.InvoiceView
	var frame layout.Shell
	editor := hxTargets(c, bview.EditorID)
	if err := h.readShared(c, func(ctx context.Context) error { // the page's reads in one transaction
		d, err := billing.InvoiceGet(ctx, h.db, scope(c), id)
		if err != nil {
			return err
		}
		if v, err = h.invoiceView(c, d, nil); err != nil {
			return err
		}
		if !editor {
			frame = h.shell(c, d.Title()+" — Billing")
		}
		return nil
	}); err != nil {
		return err
	}
	if editor {
		return render(c, http.StatusOK, bview.Editor(v.Editor))
	}
	return render(c, http.StatusOK, bview.InvoiceDetail(frame, v))
}

// renderInvoice answers an invoice action: the editor fragment for HTMX editor requests, else the page,
// with problems (and status) when the action was refused.
func (h *Handler) renderInvoice(c echo.Context, id store.ID, status int, form *bview.LineForm, problems []ui.FieldError) error {
	d, err := billing.InvoiceGet(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	v, err := h.invoiceView(c, d, form)
	if err != nil {
		return err
	}
	v.Problems = problems
	if hxTargets(c, bview.EditorID) {
		return render(c, status, bview.Editor(v.Editor))
	}
	return render(c, status, bview.InvoiceDetail(h.shell(c, d.Title()+" — Billing"), v))
}

// problemsOf lists a refused action's messages for the page's error summary.
func problemsOf(err error, order ...string) []ui.FieldError {
	if fe := fieldErrors(err, order...); len(fe) > 0 {
		return fe
	}
	return []ui.FieldError{{Message: store.ErrorMessage(err)}}
}

func (h *Handler) billingLineAdd(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	f := bview.LineForm{Description: c.FormValue("description"), Quantity: strings.TrimSpace(c.FormValue("quantity")),
		UnitPrice: strings.TrimSpace(c.FormValue("unit_price")), TaxRateID: c.FormValue("tax_rate_id"), ItemSKU: strings.TrimSpace(c.FormValue("item_sku"))}
	d, err := billing.InvoiceGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	p := billing.LineParams{Description: f.Description}
	var parse store.FieldErrors
	if f.ItemSKU != "" {
		it, err := h.itemBySKU(c, f.ItemSKU)
		if err != nil {
			return err
		}
		if it == nil {
			parse.Add("item_id", "No inventory item has the SKU "+f.ItemSKU+". Check it, or leave it empty.")
		} else {
			p.ItemID = &it.ID
			if strings.TrimSpace(p.Description) == "" {
				p.Description, f.Description = it.Name, it.Name
			}
			if f.UnitPrice == "" && it.Currency == d.Currency {
				f.UnitPrice = store.FormatMinorUnits(it.AvgCost, store.CurrencyDigits(d.Currency))
			}
		}
	}
	if q, err := billing.ParseQty(f.Quantity); err != nil {
		parse.Add("quantity", store.ErrorMessage(err))
	} else {
		p.Quantity = q
	}
	if f.UnitPrice == "" {
		parse.Add("unit_price", "Enter the unit price.")
	} else if v, err := store.ParseMinorUnits(f.UnitPrice, store.CurrencyDigits(d.Currency)); err != nil {
		parse.Add("unit_price", store.ErrorMessage(err))
	} else {
		p.UnitPrice = v
	}
	if rid, err := store.ParseID(f.TaxRateID); err != nil {
		parse.Add("tax_rate_id", "Choose a tax rate from the list.")
	} else {
		p.TaxRateID = rid
	}
	if err = parse.Err(); err == nil {
		_, err = billing.InvoiceLineAdd(ctx, h.db, scope(c), id, version, p)
	}
	var se *store.Error
	if errors.As(err, &se) && (len(se.Fields) > 0 || se.Code == store.Invalid || se.Code == store.Conflict) {
		f.Errors = problemsOf(err, lineFormFields...)
		status := http.StatusUnprocessableEntity
		if se.Code == store.Conflict {
			status = http.StatusConflict
			c.Response().Header().Set("HX-Trigger", toastTrigger("error", se.Message))
		}
		return h.renderInvoice(c, id, status, &f, nil)
	}
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		return h.renderInvoice(c, id, http.StatusOK, nil, nil)
	}
	return redirect(c, "/billing/invoices/"+id.String())
}

func (h *Handler) billingLineRemove(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	lineID, err := store.ParseID(c.Param("line"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	_, err = billing.InvoiceLineRemove(c.Request().Context(), h.db, scope(c), id, version, lineID)
	if code := store.ErrorCode(err); code == store.Invalid || code == store.Conflict {
		c.Response().Header().Set("HX-Trigger", toastTrigger("error", store.ErrorMessage(err)))
		return h.renderInvoice(c, id, statusOf(err), nil, problemsOf(err))
	}
	if err != nil {
		return err
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		return h.renderInvoice(c, id, http.StatusOK, nil, nil)
	}
	return redirect(c, "/billing/invoices/"+id.String())
}

// invoiceAction runs one action on an invoice: success flashes msg and reloads the page; a refusal the
// person can act on re-renders the page with the problem (422/409).
func (h *Handler) invoiceAction(c echo.Context, run func(id store.ID) (string, error)) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	msg, err := run(id)
	if code := store.ErrorCode(err); code == store.Invalid || code == store.Conflict {
		return h.renderInvoice(c, id, statusOf(err), nil, problemsOf(err, "amount", "reason", "to"))
	}
	if err != nil {
		return err
	}
	h.flash(c.Request().Context(), msg)
	return redirect(c, "/billing/invoices/"+id.String())
}

func (h *Handler) billingInvoiceIssue(c echo.Context) error {
	return h.invoiceAction(c, func(id store.ID) (string, error) {
		version, err := formVersion(c)
		if err != nil {
			return "", err
		}
		inv, err := billing.InvoiceIssue(c.Request().Context(), h.db, scope(c), billing.InvoiceIssueParams{ID: id, Version: version})
		if err != nil {
			return "", err
		}
		return "Issued " + inv.Title() + ". Its PDF is being prepared.", nil
	})
}

func (h *Handler) billingInvoiceVoid(c echo.Context) error {
	return h.invoiceAction(c, func(id store.ID) (string, error) {
		version, err := formVersion(c)
		if err != nil {
			return "", err
		}
		inv, err := billing.InvoiceVoid(c.Request().Context(), h.db, scope(c), billing.InvoiceVoidParams{ID: id, Version: version, Reason: c.FormValue("reason")})
		if err != nil {
			return "", err
		}
		return inv.Title() + " is void. Its number stays used.", nil
	})
}

func (h *Handler) billingCreditNote(c echo.Context) error {
	return h.invoiceAction(c, func(id store.ID) (string, error) {
		ctx := c.Request().Context()
		p := billing.CreditNoteParams{InvoiceID: id, Reason: c.FormValue("reason")}
		if s := strings.TrimSpace(c.FormValue("amount")); s != "" {
			d, err := billing.InvoiceGet(ctx, h.db, scope(c), id)
			if err != nil {
				return "", err
			}
			v, err := store.ParseMinorUnits(s, store.CurrencyDigits(d.Currency))
			if err != nil {
				return "", (store.FieldErrors{"amount": store.ErrorMessage(err)}).Err()
			}
			p.Amount = &v
		}
		cn, err := billing.CreditNoteIssue(ctx, h.db, scope(c), p)
		if err != nil {
			return "", err
		}
		return "Issued credit note " + cn.Number + ".", nil
	})
}

func (h *Handler) billingInvoiceSend(c echo.Context) error {
	return h.invoiceAction(c, func(id store.ID) (string, error) {
		s, err := billing.InvoiceSendRequest(c.Request().Context(), h.db, scope(c), billing.InvoiceSendParams{InvoiceID: id, To: c.FormValue("to")})
		if err != nil {
			return "", err
		}
		return "The invoice is on its way to " + s.Recipient + ".", nil
	})
}

func (h *Handler) billingInvoicePDF(c echo.Context) error {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	r, err := billing.InvoicePDFOpen(c.Request().Context(), h.db, scope(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+r.Name+`"`)
	c.Response().Header().Set("Cache-Control", "private, no-store")
	return c.Stream(http.StatusOK, "application/pdf", r)
}
