package handlers

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/exports"
	"ledgerline/store/files"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	apview "ledgerline/views/approvals"
	"ledgerline/views/layout"
	"ledgerline/views/ui"
)

// Approval pages: my requests, waiting for me, all requests, a request's page and its actions, the request
// forms and receipts (approvals.go); delegations, reimbursements, policies and settings
// (approvals_admin.go). Each calls one store operation, which checks the actor's right again.

// requestLineSlots is how many purchase lines the form offers.
const requestLineSlots = 8

// approvalsNavCount is the count of the inbox tab: the requests waiting for the actor, as in the sidebar.
func (h *Handler) approvalsNavCount(c echo.Context) int {
	ctx := c.Request().Context()
	a := actorFrom(ctx)
	if a == nil || !a.Can(identity.ApprovalsDecide) {
		return 0
	}
	return h.approvalsWaiting(ctx, c, a.Scope(requestIDFrom(ctx), c.RealIP()), a)
}

// approvalsWaitingKey holds a request's count of approvals waiting once read (echo.Context), so the tabs
// and the sidebar of one page share one read.
const approvalsWaitingKey = "approvals.waiting"

// approvalsWaiting returns how many requests wait for the decision of a, who may decide (at most
// approvals.InboxCountMax): the sidebar's and the inbox tab's count. It is cached per person and day:
// every approvals change of the tenant (a decision, a submission, a withdrawal, a delegation, an escalation:
// each writes an approvals.* audit event) moves the cache version, so the next read recomputes, and the day
// is in the key because delegations start and end by date. A failure only hides the badge.
func (h *Handler) approvalsWaiting(ctx context.Context, c echo.Context, sc store.Scope, a *identity.Actor) int {
	if n, ok := c.Get(approvalsWaitingKey).(int); ok {
		return n
	}
	n := 0
	day := time.Now().In(a.Tenant.Location()).Format(time.DateOnly)
	if err := h.dashboardCached(ctx, sc, "approvals.", "inbox-count:"+a.UserID.String()+":"+day, &n,
		func() (any, error) { return approvals.InboxCount(ctx, h.db, sc) }); err != nil {
		return 0
	}
	c.Set(approvalsWaitingKey, n)
	return n
}

// approvalsNav builds the approvals sub-navigation for the actor, with the inbox count.
func (h *Handler) approvalsNav(c echo.Context, current string) apview.Nav {
	a := actorFrom(c.Request().Context())
	n := apview.Nav{Current: current}
	if a.Can(identity.ApprovalsSubmit) {
		n.Tabs = append(n.Tabs, apview.Tab{Label: "My requests", Href: "/approvals", Key: "mine"})
	}
	if a.Can(identity.ApprovalsDecide) {
		n.Tabs = append(n.Tabs, apview.Tab{Label: "Waiting for me", Href: "/approvals/inbox", Key: "inbox", Count: h.approvalsNavCount(c)})
	}
	if a.Can(identity.ApprovalsRead) {
		n.Tabs = append(n.Tabs, apview.Tab{Label: "All requests", Href: "/approvals/all", Key: "all"})
	}
	if a.Can(identity.ApprovalsDecide) {
		n.Tabs = append(n.Tabs, apview.Tab{Label: "Delegations", Href: "/approvals/delegations", Key: "delegations"})
	}
	if a.Can(identity.BillingWrite) {
		n.Tabs = append(n.Tabs, apview.Tab{Label: "To reimburse", Href: "/approvals/reimburse", Key: "reimburse"})
	}
	if a.Can(identity.AdminSettings) {
		n.Tabs = append(n.Tabs, apview.Tab{Label: "Policies", Href: "/approvals/policies", Key: "policies"})
	}
	return n
}

// requestBadge is the badge kind of a request status: one colour per state across the app.
func requestBadge(s approvals.Status) string {
	switch s {
	case approvals.StatusPending:
		return ui.BadgePending
	case approvals.StatusApproved:
		return ui.BadgeApproved
	case approvals.StatusRejected:
		return ui.BadgeRejected
	case approvals.StatusReturned:
		return ui.BadgeInProgress
	}
	return ui.BadgeDraft
}

func stepBadge(status string) (string, string) {
	switch status {
	case "active":
		return ui.BadgePending, "Waiting"
	case "approved":
		return ui.BadgeApproved, "Approved"
	case "rejected":
		return ui.BadgeRejected, "Rejected"
	case "returned":
		return ui.BadgeInProgress, "Sent back"
	case "cancelled":
		return ui.BadgeDraft, "Not needed"
	}
	return ui.BadgeDraft, "Not yet"
}

func (h *Handler) requestRow(c echo.Context, r approvals.Request) apview.RequestRow {
	loc := actorFrom(c.Request().Context()).Tenant.Location()
	created, exact := whenIn(r.CreatedAt, loc)
	row := apview.RequestRow{ID: r.ID.String(), Href: "/approvals/" + r.ID.String(), Ref: r.Ref(), Title: r.Title, Type: r.Type.Label(),
		Requester: r.RequesterName, Amount: money(r.Amount, r.Currency), Status: r.Status.Label(), StatusKind: requestBadge(r.Status),
		Created: created, CreatedExact: exact}
	if r.Status == approvals.StatusPending && r.CurrentStep != nil {
		row.Step = "step " + strconv.Itoa(*r.CurrentStep)
	}
	return row
}

func optionsOf(values, labels []string, selected string, none string) []apview.Option {
	var out []apview.Option
	if none != "" {
		out = append(out, apview.Option{Value: "", Label: none, Selected: selected == ""})
	}
	for i, v := range values {
		out = append(out, apview.Option{Value: v, Label: labels[i], Selected: v == selected})
	}
	return out
}

// requestListParams reads a request list's filter from its query string (the list page and its export
// use it both). A status or type that is not in the lists is refused.
func requestListParams(q url.Values, mine bool) (approvals.RequestListParams, error) {
	p := approvals.RequestListParams{Mine: mine, Status: approvals.Status(q.Get("status")), Type: approvals.RequestType(q.Get("type")),
		After: q.Get("after")}
	return p, p.Check()
}

// requestList renders my requests (mine) or all requests. The page's reads (the list, the inbox count of
// the tabs, the frame's counts) share one transaction (readShared).
func (h *Handler) requestList(c echo.Context, mine bool) error {
	var v apview.ListView
	var frame layout.Shell
	if err := h.readSharedGeneric(c, func(context.Context) error {
		var err error
		if v, err = h.requestListView(c, mine); err != nil {
			return err
		}
		frame = h.shell(c, v.Title+" — Approvals")
		return nil
	}); err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.List(frame, v))
}

// requestListView builds my requests (mine) or all requests.
func (h *Handler) requestListView(c echo.Context, mine bool) (apview.ListView, error) {
	q := c.QueryParams()
	p, err := requestListParams(q, mine)
	if err != nil {
		return apview.ListView{}, err
	}
	res, err := approvals.RequestList(c.Request().Context(), h.db, scope(c), p)
	if err != nil {
		return apview.ListView{}, err
	}
	base := "/approvals"
	v := apview.ListView{Title: "My requests", Subtitle: "Your purchase requests, expense claims and general requests, newest first.",
		Empty: "You have no requests here. Start one with the buttons above.", CanCreate: true, ShowFilter: true}
	key := "mine"
	if !mine {
		base, key = "/approvals/all", "all"
		v = apview.ListView{Title: "All requests", Subtitle: "Every request of the organization, newest first.",
			Empty: "No request matches these filters.", ShowFilter: true}
	}
	v.Nav, v.Action, v.ClearHref = h.approvalsNav(c, key), base, base
	statuses := []string{"draft", "pending", "approved", "rejected", "returned", "withdrawn"}
	var statusLabels []string
	for _, s := range statuses {
		statusLabels = append(statusLabels, approvals.Status(s).Label())
	}
	v.Statuses = optionsOf(statuses, statusLabels, string(p.Status), "Any status")
	var types, typeLabels []string
	for _, t := range approvals.RequestTypes {
		types, typeLabels = append(types, string(t)), append(typeLabels, t.Label())
	}
	v.Types = optionsOf(types, typeLabels, string(p.Type), "Any type")
	v.Filtered = p.Status != "" || p.Type != ""
	for _, r := range res.Requests {
		v.Rows = append(v.Rows, h.requestRow(c, r))
	}
	keep := url.Values{}
	if p.Status != "" {
		keep.Set("status", string(p.Status))
	}
	if p.Type != "" {
		keep.Set("type", string(p.Type))
	}
	if res.Next != "" {
		next := url.Values{}
		for k, vs := range keep {
			next[k] = vs
		}
		next.Set("after", res.Next)
		v.NextHref = base + "?" + next.Encode()
	}
	if p.After != "" {
		v.FirstHref = base + "?" + keep.Encode()
	}
	kind := exports.KindApprovalsMine
	if !mine {
		kind = exports.KindApprovalRequests
	}
	v.Export = h.exportButton(c, kind, keep)
	return v, nil
}

func (h *Handler) approvalsMine(c echo.Context) error { return h.requestList(c, true) }
func (h *Handler) approvalsAll(c echo.Context) error  { return h.requestList(c, false) }

// approvalsInboxView builds "Waiting for me".
func (h *Handler) approvalsInboxView(c echo.Context) (apview.InboxView, error) {
	ctx := c.Request().Context()
	after := c.QueryParam("after")
	res, err := approvals.Inbox(ctx, h.db, scope(c), approvals.InboxParams{After: after})
	if err != nil {
		return apview.InboxView{}, err
	}
	a := actorFrom(ctx)
	loc := a.Tenant.Location()
	v := apview.InboxView{Nav: h.approvalsNav(c, "inbox"), CSRFToken: csrfToken(c)}
	now := time.Now()
	for _, it := range res.Items {
		row := h.requestRow(c, it.Request)
		row.Step = strconv.Itoa(it.Position) + ". " + it.StepName
		// The checkbox names the step on screen, so a bulk approval never lands on a step that moved on.
		row.ID = it.ID.String() + ":" + strconv.Itoa(it.Round) + ":" + strconv.Itoa(it.Position)
		if it.Delegated(a.UserID) {
			row.For = "on behalf of " + it.ForName
		}
		if it.DueAt != nil {
			row.Due, row.DueExact = whenIn(*it.DueAt, loc)
			row.Overdue = it.DueAt.Before(now)
		}
		v.Rows = append(v.Rows, row)
	}
	if res.Next != "" {
		v.NextHref = "/approvals/inbox?after=" + url.QueryEscape(res.Next)
	}
	if after != "" {
		v.FirstHref = "/approvals/inbox"
	}
	v.Export = h.exportButton(c, exports.KindApprovalsInbox, url.Values{})
	return v, nil
}

func (h *Handler) approvalsInbox(c echo.Context) error {
	var v apview.InboxView
	var frame layout.Shell
	if err := h.readSharedGeneric(c, func(context.Context) error { // the page's reads in one transaction
		var err error
		if v, err = h.approvalsInboxView(c); err != nil {
			return err
		}
		frame = h.shell(c, "Waiting for me — Approvals")
		return nil
	}); err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.Inbox(frame, v))
}

// approvalsBulkApprove approves each selected request with one comment. Each decision is its own
// transaction: one that moved on meanwhile is reported, the others still count.
func (h *Handler) approvalsBulkApprove(c echo.Context) error {
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	comment := strings.TrimSpace(form.Get("comment"))
	type shown struct {
		id              store.ID
		round, position int
	}
	var ids []shown
	for _, raw := range form["id"] {
		parts := strings.Split(raw, ":")
		id, err := store.ParseID(parts[0])
		if err != nil {
			continue
		}
		s := shown{id: id}
		if len(parts) == 3 {
			s.round, _ = strconv.Atoi(parts[1])
			s.position, _ = strconv.Atoi(parts[2])
		}
		ids = append(ids, s)
	}
	if len(ids) == 0 || len(ids) > 200 || len([]rune(comment)) > 2000 {
		v, err := h.approvalsInboxView(c)
		if err != nil {
			return err
		}
		v.Comment = comment
		v.Errors = []ui.FieldError{{Message: "Select the requests to approve (at most 200 at a time)."}}
		if len([]rune(comment)) > 2000 {
			v.Errors = []ui.FieldError{{Field: "comment", Message: "Keep the comment under 2,000 characters."}}
		}
		return render(c, http.StatusUnprocessableEntity, apview.Inbox(h.shell(c, "Waiting for me — Approvals"), v))
	}
	var done int
	var problems []string
	for _, x := range ids {
		_, err := approvals.StepDecide(ctx, h.db, scope(c), approvals.DecideParams{RequestID: x.id, Round: x.round, Position: x.position,
			Decision: approvals.DecisionApprove, Comment: comment})
		if err != nil {
			if store.ErrorCode(err) == store.Internal {
				return err
			}
			problems = append(problems, store.ErrorMessage(err))
			continue
		}
		done++
	}
	msg := fmt.Sprintf("Approved %d of %d selected requests.", done, len(ids))
	if len(problems) > 0 {
		msg += " Not approved: " + strings.Join(problems, " ")
	}
	h.flash(ctx, msg)
	return redirect(c, "/approvals/inbox")
}

// requestFormFill completes a request form with its choices and hints.
func (h *Handler) requestFormFill(c echo.Context, f *apview.RequestForm) error {
	s, err := approvals.SettingsGet(c.Request().Context(), h.db, scope(c))
	if err != nil {
		return err
	}
	f.CSRFToken, f.Currency = csrfToken(c), s.Currency
	f.TypeLabel = approvals.RequestType(f.Type).Label()
	f.Categories = optionsOf(approvals.ExpenseCategories, approvals.ExpenseCategories, f.Category, "Choose a category")
	for len(f.Lines) < requestLineSlots {
		f.Lines = append(f.Lines, apview.LineForm{})
	}
	f.Thresholds = fmt.Sprintf("Up to %s the department manager approves; from %s finance too; from %s an administrator as well (unless an administrator has set another policy).",
		money(s.ManagerLimit, s.Currency), money(s.ManagerLimit, s.Currency), money(s.FinanceLimit, s.Currency))
	if f.Editing {
		f.Submit = "Save"
	}
	return nil
}

var lineKey = regexp.MustCompile(`^line(\d+)_(.+)$`)

// requestFormRead reads a request form: the form as typed, the store's fields, the parse problems, and for
// each kept purchase line the form slot it came from (so the store's line errors land on the right row).
func (h *Handler) requestFormRead(c echo.Context, typ approvals.RequestType, digits int) (apview.RequestForm, approvals.RequestFields, store.FieldErrors, []int, error) {
	f := apview.RequestForm{Type: string(typ), Title: c.FormValue("title"), Description: c.FormValue("description"),
		Amount: strings.TrimSpace(c.FormValue("amount")), Category: c.FormValue("category"), ExpenseDate: c.FormValue("expense_date")}
	p := approvals.RequestFields{Type: typ, Title: f.Title, Description: f.Description, Category: f.Category}
	var fields store.FieldErrors
	var slots []int
	if typ != approvals.TypePurchase && f.Amount != "" {
		v, err := store.ParseMinorUnits(f.Amount, digits)
		if err != nil {
			fields.Add("amount", store.ErrorMessage(err))
		}
		p.Amount = v
	} else if typ == approvals.TypeExpense {
		fields.Add("amount", "Enter the amount spent, above zero.")
	}
	if f.ExpenseDate != "" {
		d, err := time.Parse(time.DateOnly, f.ExpenseDate)
		if err != nil {
			fields.Add("expense_date", "Enter a date like 2026-11-25.")
		} else {
			p.ExpenseDate = &d
		}
	}
	if typ == approvals.TypePurchase {
		for i := range requestLineSlots {
			key := func(s string) string { return "line" + strconv.Itoa(i) + "_" + s }
			lf := apview.LineForm{SKU: strings.TrimSpace(c.FormValue(key("sku"))), Description: c.FormValue(key("description")),
				Quantity: strings.TrimSpace(c.FormValue(key("quantity"))), UnitCost: strings.TrimSpace(c.FormValue(key("unit_cost"))),
				Supplier: c.FormValue(key("supplier")), NeededBy: c.FormValue(key("needed_by"))}
			f.Lines = append(f.Lines, lf)
			if lf == (apview.LineForm{}) {
				continue
			}
			l := approvals.Line{Description: lf.Description, Supplier: lf.Supplier}
			if lf.SKU != "" {
				it, err := h.itemBySKU(c, lf.SKU)
				if err != nil {
					return f, p, fields, nil, err
				}
				if it == nil {
					fields.Add(key("sku"), "No item has the SKU "+lf.SKU+". Check it, or leave it empty for goods not kept in stock.")
				} else {
					l.ItemID = &it.ID
					if l.Description == "" {
						l.Description = it.Name
					}
				}
			}
			if q, err := approvals.ParseQuantity(lf.Quantity); err != nil {
				fields.Add(key("quantity"), store.ErrorMessage(err))
			} else {
				l.Quantity = q
			}
			if v, err := store.ParseMinorUnits(lf.UnitCost, digits); err != nil || lf.UnitCost == "" {
				fields.Add(key("unit_cost"), "Enter the estimated unit cost, like 12.50.")
			} else {
				l.UnitCost = v
			}
			if lf.NeededBy != "" {
				d, err := time.Parse(time.DateOnly, lf.NeededBy)
				if err != nil {
					fields.Add(key("needed_by"), "Enter a date like 2026-12-01.")
				} else {
					l.NeededBy = &d
				}
			}
			p.Lines = append(p.Lines, l)
			slots = append(slots, i)
		}
	}
	return f, p, fields, slots, nil
}

// slotFields moves the store's line errors ("line<k>_…" of the k-th kept line) to the form slot each line
// came from; a nil slots leaves them.
func slotFields(fields map[string]string, slots []int) map[string]string {
	moved := map[string]string{}
	for k, v := range fields {
		if m := lineKey.FindStringSubmatch(k); m != nil && slots != nil {
			if n, _ := strconv.Atoi(m[1]); n < len(slots) {
				k = "line" + strconv.Itoa(slots[n]) + "_" + m[2]
			}
		}
		moved[k] = v
	}
	return moved
}

// checkedFields adds to the handler's parse problems everything the store would also refuse, so the form
// lists every problem at once.
func checkedFields(c echo.Context, parse store.FieldErrors, p approvals.RequestFields, slots []int) error {
	a := actorFrom(c.Request().Context())
	for k, v := range slotFields(p.Check(a.Tenant.Currency, time.Now().In(a.Tenant.Location())), slots) {
		parse.Add(k, v)
	}
	return parse.Err()
}

// requestErrors lists a refused request form's problems in the form's order, with the store's line
// errors moved to the form slot each line came from (slots nil: already moved).
func requestErrors(err error, slots []int) []ui.FieldError {
	var se *store.Error
	if errors.As(err, &se) && len(se.Fields) > 0 {
		se = &store.Error{Code: se.Code, Message: se.Message, Fields: slotFields(se.Fields, slots)}
		order := []string{"type", "title", "description", "amount", "currency", "category", "expense_date", "lines"}
		for i := range requestLineSlots {
			for _, f := range []string{"sku", "item_id", "description", "quantity", "unit_cost", "supplier", "needed_by"} {
				order = append(order, "line"+strconv.Itoa(i)+"_"+f)
			}
		}
		return fieldErrors(se, order...)
	}
	return []ui.FieldError{{Message: store.ErrorMessage(err)}}
}

func (h *Handler) approvalsNew(c echo.Context) error {
	typ := approvals.RequestType(c.QueryParam("type"))
	if !typ.Valid() {
		typ = approvals.TypePurchase
	}
	f := apview.RequestForm{Type: string(typ), Action: "/approvals"}
	if err := h.requestFormFill(c, &f); err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.RequestNew(h.shell(c, "New "+strings.ToLower(typ.Label())+" — Approvals"), f))
}

// requestFormFail re-renders a refused request form with the typed values and its errors (422).
func (h *Handler) requestFormFail(c echo.Context, f apview.RequestForm, err error, slots []int) error {
	f.Errors = requestErrors(err, slots)
	if ferr := h.requestFormFill(c, &f); ferr != nil {
		return ferr
	}
	if hxTargets(c, apview.RequestFormID) {
		return render(c, http.StatusUnprocessableEntity, apview.RequestFormView(f))
	}
	return render(c, http.StatusUnprocessableEntity, apview.RequestNew(h.shell(c, f.TypeLabel+" — Approvals"), f))
}

func (h *Handler) approvalsCreate(c echo.Context) error {
	ctx := c.Request().Context()
	typ := approvals.RequestType(c.FormValue("type"))
	if !typ.Valid() {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	digits := store.CurrencyDigits(actorFrom(ctx).Tenant.Currency)
	f, p, fields, slots, err := h.requestFormRead(c, typ, digits)
	if err != nil {
		return err
	}
	f.Action = "/approvals"
	if len(fields) > 0 {
		return h.requestFormFail(c, f, checkedFields(c, fields, p, slots), nil)
	}
	r, err := approvals.RequestCreate(ctx, h.db, scope(c), p)
	if store.ErrorCode(err) == store.Invalid {
		return h.requestFormFail(c, f, err, slots)
	}
	if err != nil {
		return err
	}
	return h.afterSave(c, r, "Saved "+r.Ref()+" as a draft.")
}

// afterSave submits the request when the "Save and submit" button was used, and goes to its page.
func (h *Handler) afterSave(c echo.Context, r *approvals.Request, saved string) error {
	ctx := c.Request().Context()
	if c.FormValue("then") == "submit" {
		sub, err := approvals.RequestSubmit(ctx, h.db, scope(c), r.ID, r.Version)
		if err != nil {
			if store.ErrorCode(err) == store.Internal {
				return err
			}
			h.flash(ctx, saved+" It was not submitted: "+store.ErrorMessage(err))
			return redirect(c, "/approvals/"+r.ID.String())
		}
		h.flash(ctx, "Submitted "+sub.Ref()+" for approval.")
		return redirect(c, "/approvals/"+r.ID.String())
	}
	h.flash(ctx, saved)
	return redirect(c, "/approvals/"+r.ID.String())
}

func requestID(c echo.Context) (store.ID, error) {
	id, err := store.ParseID(c.Param("id"))
	if err != nil {
		return id, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func (h *Handler) approvalsEdit(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	d, err := approvals.RequestGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	if !d.Mine || !d.Status.Editable() {
		h.flash(ctx, d.Ref()+" cannot be changed: only your own drafts and requests sent back to you can.")
		return redirect(c, "/approvals/"+id.String())
	}
	digits := store.CurrencyDigits(d.Currency)
	f := apview.RequestForm{Type: string(d.Type), Action: "/approvals/" + id.String(), Title: d.Title, Description: d.Description,
		Category: d.Category, Version: d.Version, Editing: true}
	if d.Type != approvals.TypePurchase && d.Amount > 0 {
		f.Amount = store.FormatMinorUnits(d.Amount, digits)
	}
	if d.ExpenseDate != nil {
		f.ExpenseDate = d.ExpenseDate.Format(time.DateOnly)
	}
	skus := h.lineSKUs(c, d.Lines)
	for _, l := range d.Lines {
		lf := apview.LineForm{Description: l.Description, Quantity: l.Quantity.String(), UnitCost: store.FormatMinorUnits(l.UnitCost, digits),
			Supplier: l.Supplier}
		if l.NeededBy != nil {
			lf.NeededBy = l.NeededBy.Format(time.DateOnly)
		}
		if l.ItemID != nil {
			lf.SKU = skus[*l.ItemID]
		}
		f.Lines = append(f.Lines, lf)
	}
	if err := h.requestFormFill(c, &f); err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.RequestNew(h.shell(c, "Edit "+d.Ref()+" — Approvals"), f))
}

func (h *Handler) approvalsUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	d, err := approvals.RequestGet(ctx, h.db, scope(c), id)
	if err != nil {
		return err
	}
	f, p, fields, slots, err := h.requestFormRead(c, d.Type, store.CurrencyDigits(d.Currency))
	if err != nil {
		return err
	}
	f.Action, f.Version, f.Editing = "/approvals/"+id.String(), version, true
	if len(fields) > 0 {
		return h.requestFormFail(c, f, checkedFields(c, fields, p, slots), nil)
	}
	r, err := approvals.RequestUpdate(ctx, h.db, scope(c), approvals.RequestUpdateParams{ID: id, Version: version, RequestFields: p})
	if store.ErrorCode(err) == store.Invalid {
		return h.requestFormFail(c, f, err, slots)
	}
	if err != nil {
		return err
	}
	return h.afterSave(c, r, "Saved "+r.Ref()+".")
}

func (h *Handler) approvalsShow(c echo.Context) error {
	id, err := requestID(c)
	if err != nil {
		return err
	}
	var v apview.DetailView
	var frame layout.Shell
	if err := h.readSharedGeneric(c, func(context.Context) error { // the page's reads in one transaction
		var err error
		if v, err = h.requestDetailView(c, id); err != nil {
			return err
		}
		frame = h.shell(c, v.Ref+" — Approvals")
		return nil
	}); err != nil {
		return err
	}
	return render(c, http.StatusOK, apview.Detail(frame, v))
}

// requestDetailView builds a request's page for the actor.
func (h *Handler) requestDetailView(c echo.Context, id store.ID) (apview.DetailView, error) {
	ctx := c.Request().Context()
	d, err := approvals.RequestGet(ctx, h.db, scope(c), id)
	if err != nil {
		return apview.DetailView{}, err
	}
	a := actorFrom(ctx)
	loc := a.Tenant.Location()
	when := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		s, _ := whenIn(*t, loc)
		return s
	}
	digits := store.CurrencyDigits(d.Currency)
	v := apview.DetailView{ID: id.String(), Ref: d.Ref(), Title: d.Title, Type: d.Type.Label(), Status: d.Status.Label(),
		StatusKind: requestBadge(d.Status), Requester: d.RequesterName, Amount: money(d.Amount, d.Currency),
		Submitted: when(d.SubmittedAt), Decided: when(d.DecidedAt), Reimbursed: when(d.ReimbursedAt),
		Description: d.Description, Category: d.Category, CSRFToken: csrfToken(c), Version: d.Version,
		CanEdit: d.Mine && d.Status.Editable(), CanReceipts: d.Mine && d.Status.Editable() && d.Type == approvals.TypeExpense,
		CanSubmit:    d.Mine && d.Status.Editable(),
		CanWithdraw:  d.Mine && (d.Status.Editable() || d.Status == approvals.StatusPending),
		CanDecide:    d.CanDecide,
		CanReimburse: d.Type == approvals.TypeExpense && d.Status == approvals.StatusApproved && d.ReimbursedAt == nil && a.Can(identity.BillingWrite),
		Back:         apview.Crumb{Label: "My requests", Href: "/approvals"}}
	if !d.Mine {
		v.Back = apview.Crumb{Label: "Waiting for me", Href: "/approvals/inbox"}
		if a.Can(identity.ApprovalsRead) && !d.CanDecide {
			v.Back = apview.Crumb{Label: "All requests", Href: "/approvals/all"}
		}
	}
	if d.ExpenseDate != nil {
		v.ExpenseDate = d.ExpenseDate.Format("2 Jan 2006")
	}
	if d.Round > 1 {
		v.Round = "(submission " + strconv.Itoa(d.Round) + ")"
	}
	if d.CanDecide && d.ActingFor != nil && *d.ActingFor != a.UserID {
		v.ActingFor = d.ActingName
	}
	if d.CurrentStep != nil {
		v.DecideRound, v.DecidePosition = d.Round, *d.CurrentStep
	}
	skus := h.lineSKUs(c, d.Lines)
	for _, l := range d.Lines {
		row := apview.LineRow{No: strconv.Itoa(l.LineNo), Description: l.Description, Quantity: l.Quantity.String(),
			UnitCost: store.FormatMinorUnits(l.UnitCost, digits), Amount: store.FormatMinorUnits(l.Amount(), digits), Supplier: l.Supplier}
		if l.ItemID != nil {
			row.Item = skus[*l.ItemID]
		}
		if l.NeededBy != nil {
			row.NeededBy = l.NeededBy.Format("2 Jan 2006")
		}
		v.Lines = append(v.Lines, row)
	}
	if d.Type == approvals.TypePurchase && d.Status == approvals.StatusApproved && a.Can(identity.InventoryRead) {
		expected, err := inventory.ExpectedList(ctx, h.db, scope(c), inventory.ExpectedListParams{Reference: d.Ref()})
		if err != nil {
			return v, err
		}
		for _, e := range expected {
			row := apview.ExpectedRow{Line: strconv.Itoa(e.LineNo), Item: e.SKU + " " + e.ItemName, ItemHref: "/inventory/items/" + e.ItemID.String(),
				Quantity: e.Quantity.String(), Received: e.Received.String(), State: "Expected", StateKind: ui.BadgePending}
			if e.Status == "fulfilled" {
				row.State, row.StateKind = "Received", ui.BadgeApproved
			}
			v.Expected = append(v.Expected, row)
		}
	}
	for _, r := range d.Receipts {
		v.Receipts = append(v.Receipts, apview.ReceiptRow{Name: r.Name, Size: files.SizeText(r.Size),
			Href:         "/approvals/" + id.String() + "/receipts/" + r.FileID.String(),
			DeleteAction: "/approvals/" + id.String() + "/receipts/" + r.FileID.String() + "/delete"})
	}
	for _, st := range d.Route {
		kind, label := stepBadge(st.Status)
		row := apview.StepRow{Position: strconv.Itoa(st.Position), Name: st.Name, Status: label, StatusKind: kind,
			Current:  d.CurrentStep != nil && *d.CurrentStep == st.Position && d.Status == approvals.StatusPending,
			Reminded: when(st.RemindedAt), Escalated: when(st.EscalatedAt)}
		switch st.Mode {
		case approvals.ModeAny:
			row.Rule = "Any one approver"
		case approvals.ModeAll:
			row.Rule = "All " + strconv.Itoa(st.Needed) + " approvers"
		default:
			row.Rule = strconv.Itoa(st.Needed) + " of " + strconv.Itoa(len(st.Approvers)) + " approvers"
		}
		row.Rule += " · SLA " + strconv.Itoa(st.SLAHours) + " business hours"
		for _, ap := range st.Approvers {
			name := ap.Name
			if ap.Escalated {
				name += " (escalation)"
			}
			row.Approvers = append(row.Approvers, name)
		}
		if st.DueAt != nil && st.Status == "active" {
			row.Due, row.DueExact = whenIn(*st.DueAt, loc)
		}
		for _, dec := range st.Decisions {
			at, exact := whenIn(dec.CreatedAt, loc)
			kind := ui.BadgeApproved
			switch dec.Decision {
			case approvals.DecisionReject:
				kind = ui.BadgeRejected
			case approvals.DecisionReturn:
				kind = ui.BadgeInProgress
			}
			row.Decisions = append(row.Decisions, apview.DecisionRow{Who: dec.Who(), Decision: strings.ToUpper(dec.Decision.Label()[:1]) + dec.Decision.Label()[1:],
				DecisionKind: kind, Comment: dec.Comment, At: at, AtExact: exact})
		}
		v.Steps = append(v.Steps, row)
	}
	for _, e := range d.Timeline {
		at, exact := whenIn(e.At, loc)
		who := e.ActorName
		if who == "" {
			who = "Ledgerline"
		}
		v.Timeline = append(v.Timeline, apview.TimelineRow{At: at, AtExact: exact, Who: who, What: e.Label()})
	}
	return v, nil
}

// lineSKUs returns the SKUs of the inventory items of purchase lines, read in one statement, for a viewer
// who may read inventory (others see the lines' descriptions only).
func (h *Handler) lineSKUs(c echo.Context, lines []approvals.Line) map[store.ID]string {
	var ids []store.ID
	for _, l := range lines {
		if l.ItemID != nil {
			ids = append(ids, *l.ItemID)
		}
	}
	out := map[store.ID]string{}
	ctx := c.Request().Context()
	if len(ids) == 0 || !actorFrom(ctx).Can(identity.InventoryRead) {
		return out
	}
	items, err := inventory.ItemsGet(ctx, h.db, scope(c), ids)
	if err != nil {
		return out
	}
	for id, it := range items {
		out[id] = it.SKU
	}
	return out
}

func (h *Handler) approvalsSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	r, err := approvals.RequestSubmit(ctx, h.db, scope(c), id, version)
	if store.ErrorCode(err) == store.Invalid {
		h.flash(ctx, store.ErrorMessage(err))
		return redirect(c, "/approvals/"+id.String())
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Submitted "+r.Ref()+" for approval.")
	return redirect(c, "/approvals/"+id.String())
}

func (h *Handler) approvalsWithdraw(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return err
	}
	r, err := approvals.RequestWithdraw(ctx, h.db, scope(c), id, version)
	if err != nil {
		return err
	}
	h.flash(ctx, "Withdrew "+r.Ref()+".")
	return redirect(c, "/approvals/"+id.String())
}

func (h *Handler) approvalsDecide(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	round, _ := strconv.Atoi(c.FormValue("round"))
	position, _ := strconv.Atoi(c.FormValue("position"))
	decision := approvals.DecisionKind(c.FormValue("decision"))
	comment := c.FormValue("comment")
	r, err := approvals.StepDecide(ctx, h.db, scope(c), approvals.DecideParams{RequestID: id, Round: round, Position: position,
		Decision: decision, Comment: comment})
	switch store.ErrorCode(err) {
	case "":
		h.flash(ctx, r.Ref()+": you "+decision.Label()+" it. It is "+strings.ToLower(r.Status.Label())+" now.")
		return redirect(c, "/approvals/"+id.String())
	case store.Invalid, store.Conflict:
		v, verr := h.requestDetailView(c, id)
		if verr != nil {
			return verr
		}
		v.Comment = comment
		v.DecideErrors = fieldErrors(err, "decision", "comment")
		if len(v.DecideErrors) == 0 {
			v.DecideErrors = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		}
		// Someone else decided meanwhile: the form stays visible with the message, which says who.
		v.CanDecide = true
		v.DecideRound, v.DecidePosition = round, position
		status := http.StatusUnprocessableEntity
		if store.ErrorCode(err) == store.Conflict {
			status = http.StatusConflict
		}
		if hxTargets(c, apview.DecideFormID) {
			// 409 would not be swapped by htmx; the form with the message is what the person needs to see.
			return render(c, http.StatusUnprocessableEntity, apview.Detail(h.shell(c, v.Ref+" — Approvals"), v))
		}
		return render(c, status, apview.Detail(h.shell(c, v.Ref+" — Approvals"), v))
	}
	return err
}

func (h *Handler) approvalsReceiptUpload(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	fh, ferr := c.FormFile("file")
	if ferr == nil && fh.Size > approvals.ReceiptMaxSize {
		err = files.TooLarge(approvals.ReceiptMaxSize)
	} else if ferr != nil {
		err = (store.FieldErrors{"file": "Choose a receipt to upload: a PDF or a photo."}).Err()
	} else {
		src, oerr := fh.Open()
		if oerr != nil {
			return oerr
		}
		defer src.Close()
		_, err = approvals.ReceiptAdd(ctx, h.db, scope(c), id, fh.Filename, src)
	}
	if store.ErrorCode(err) == store.Invalid {
		v, verr := h.requestDetailView(c, id)
		if verr != nil {
			return verr
		}
		v.ReceiptErrors = fieldErrors(err, "file")
		if len(v.ReceiptErrors) == 0 {
			v.ReceiptErrors = []ui.FieldError{{Message: store.ErrorMessage(err)}}
		}
		return render(c, http.StatusUnprocessableEntity, apview.Detail(h.shell(c, v.Ref+" — Approvals"), v))
	}
	if err != nil {
		return err
	}
	h.flash(ctx, "Added the receipt "+fh.Filename+".")
	return redirect(c, "/approvals/"+id.String())
}

func (h *Handler) approvalsReceiptDownload(c echo.Context) error {
	id, err := requestID(c)
	if err != nil {
		return err
	}
	fileID, err := store.ParseID(c.Param("file"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	rc, rd, err := approvals.ReceiptOpen(c.Request().Context(), h.db, scope(c), id, fileID)
	if err != nil {
		return err
	}
	hdr := c.Response().Header()
	hdr.Set("Cache-Control", "private, no-store")
	hdr.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": rc.Name}))
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.FormatInt(rc.Size, 10))
	return c.Stream(http.StatusOK, rc.ContentType, rd)
}

func (h *Handler) approvalsReceiptRemove(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := requestID(c)
	if err != nil {
		return err
	}
	fileID, err := store.ParseID(c.Param("file"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	if err := approvals.ReceiptRemove(ctx, h.db, scope(c), id, fileID); err != nil {
		return err
	}
	h.flash(ctx, "Removed the receipt.")
	return redirect(c, "/approvals/"+id.String())
}
