package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/identity"
)

// approvalB creates a submitted request in tenant B, by B's employee, and returns its id.
func (b *testBundle) approvalB(t *testing.T) store.ID {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantB.ID, ActorID: b.usersB[identity.RoleEmployee].ID}
	r, err := approvals.RequestCreate(ctx, b.db, sc, approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Globex request", Amount: 100})
	require.NoError(t, err)
	_, err = approvals.RequestSubmit(ctx, b.db, sc, r.ID, r.Version)
	require.NoError(t, err)
	return r.ID
}

// approvalsManagerSet makes A's manager the manager of A's department (everyone's department).
func (b *testBundle) approvalsManagerSet(t *testing.T) {
	t.Helper()
	require.NoError(t, identity.DepartmentManagerSet(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID},
		b.deptA.ID, b.usersA[identity.RoleManager].ID))
}

func TestApprovalsRequestFormErrors(t *testing.T) {
	t.Parallel()
	b := setup(t)
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	page := emp.get("/approvals/new?type=purchase")
	require.Equal(t, http.StatusOK, page.status)
	res := emp.post("/approvals", url.Values{"type": {"purchase"}, "version": {"0"}, "title": {"Paper"},
		"line2_description": {"Copy paper"}, "line2_quantity": {"ten"}, "line2_unit_cost": {"4.50"}, "line2_supplier": {"Acme Paper"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, res.body)
	summary := testID(t, res, "error-summary")
	require.Contains(t, summary, "Enter a quantity above zero")
	require.Equal(t, "Acme Paper", inputValue(res.doc, "line2_supplier"), "typed values are kept, on their own row")
	require.Equal(t, "ten", inputValue(res.doc, "line2_quantity"))
	require.Contains(t, res.body, `id="field-line2_quantity"`)
	require.Contains(t, res.body, `aria-invalid="true"`)

	// No line at all: the message is about the lines; nothing was saved.
	res = emp.post("/approvals", url.Values{"type": {"purchase"}, "title": {"Paper"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Add at least one line")
	mine := emp.get("/approvals")
	_, found := byTestID(mine.doc, "approvals-row")
	require.False(t, found)

	// An expense claim without an amount, category or date.
	res = emp.post("/approvals", url.Values{"type": {"expense"}, "title": {"Taxi"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	summary = testID(t, res, "error-summary")
	require.Contains(t, summary, "amount spent")
	require.Contains(t, summary, "Choose a category")
	require.Contains(t, summary, "date of the expense")
}

func TestApprovalsPagesFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.approvalsManagerSet(t)
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	emp.get("/approvals/new?type=general")
	res := emp.post("/approvals", url.Values{"type": {"general"}, "title": {"Conference ticket"}, "amount": {"250.00"}, "then": {"submit"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	reqPath := res.location()
	page := emp.get(reqPath)
	require.Equal(t, "Pending", testID(t, page, "request-status"))
	_, canDecide := byTestID(page.doc, "decide-form")
	require.False(t, canDecide, "the requester never gets the decision form")

	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	inbox := mgr.get("/approvals/inbox")
	require.Equal(t, "1", testID(t, inbox, "approvals-count-inbox"))
	require.Contains(t, testID(t, inbox, "inbox-table"), "Conference ticket")
	detail := mgr.get(reqPath)
	round, position := inputValue(detail.doc, "round"), inputValue(detail.doc, "position")
	require.Equal(t, "1", round)

	// Reject without a comment: 422, the form says why.
	res = mgr.post(reqPath+"/decide", url.Values{"decision": {"reject"}, "round": {round}, "position": {position}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Say why")

	res = mgr.post(reqPath+"/decide", url.Values{"decision": {"approve"}, "round": {round}, "position": {position}, "comment": {"Fine"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	// The same page, submitted again (a second tab): refused with who decided.
	res = mgr.post(reqPath+"/decide", url.Values{"decision": {"approve"}, "round": {round}, "position": {position}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Already decided by Max Manager")

	page = emp.get(reqPath)
	require.Equal(t, "Approved", testID(t, page, "request-status"))
	require.Contains(t, testID(t, page, "request-timeline"), "Approved (Max Manager)")
	mine := emp.get("/approvals")
	require.Contains(t, testID(t, mine, "approvals-row-status"), "Approved")
	require.Equal(t, http.StatusNotFound, b.signedIn(t, b.usersB[identity.RoleAdmin]).get(reqPath).status)
}

func TestApprovalsAdminPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	page := admin.get("/approvals/policies/general")
	require.Equal(t, http.StatusOK, page.status)
	// Overlapping bands: 422 with the problem; nothing saved.
	form := url.Values{"version": {"0"},
		"band0_from": {"0"}, "band0_to": {"500.00"}, "band0_step0_name": {"Manager"}, "band0_step0_approver": {"manager"}, "band0_step0_mode": {"any"},
		"band1_from": {"400.00"}, "band1_step0_name": {"Finance"}, "band1_step0_approver": {"role"}, "band1_step0_role": {"finance"}, "band1_step0_mode": {"any"},
	}
	res := admin.post("/approvals/policies/general", form)
	require.Equal(t, http.StatusUnprocessableEntity, res.status, res.body)
	require.Contains(t, testID(t, res, "error-summary"), "overlap")
	require.Equal(t, "400.00", inputValue(res.doc, "band1_from"))
	form.Set("band1_from", "500.00")
	res = admin.post("/approvals/policies/general", form)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page = admin.get("/approvals/policies")
	require.Contains(t, testID(t, page, "policy-general"), "EUR 500.00 and above")

	page = admin.get("/approvals/settings")
	version := inputValue(page.doc, "version")
	res = admin.post("/approvals/settings", url.Values{"version": {version}, "manager_limit": {"2,000.00"}, "finance_limit": {"1,000.00"},
		"work_start": {"09:00"}, "work_end": {"17:00"}, "workdays": {"1", "2", "3", "4", "5"}, "default_sla_hours": {"16"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "at least as large as the manager limit")
	res = admin.post("/approvals/settings", url.Values{"version": {version}, "manager_limit": {"2,000.00"}, "finance_limit": {"20,000.00"},
		"work_start": {"08:00"}, "work_end": {"16:30"}, "workdays": {"1", "2", "3", "4"}, "default_sla_hours": {"12"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	s, err := approvals.SettingsGet(context.Background(), b.db, store.Scope{TenantID: b.tenantA.ID})
	require.NoError(t, err)
	require.Equal(t, int64(200000), s.ManagerLimit)
	require.Equal(t, 990, s.WorkEnd)
	require.False(t, s.Workdays.Has(5), "Friday off")

	// Delegations: to oneself is refused next to the field.
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	mgr.get("/approvals/delegations")
	res = mgr.post("/approvals/delegations", url.Values{"delegate_id": {b.usersA[identity.RoleEmployee].ID.String()},
		"starts_on": {"2026-01-01"}, "ends_on": {"2099-01-01"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.True(t, strings.Contains(testID(t, res, "error-summary"), "may approve") ||
		strings.Contains(testID(t, res, "error-summary"), "at most a year"), testID(t, res, "error-summary"))
}

func TestApprovalsAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.approvalsManagerSet(t)
	emp := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleEmployee], identity.ApprovalsSubmit)
	mgr := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleManager], identity.ApprovalsDecide, identity.ApprovalsRead)
	res := b.api(t, http.MethodPost, "/approval-requests", emp, map[string]any{"type": "general", "title": "Chair", "amount": 9900, "submit": true})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	id := res.json["id"].(string)
	require.Equal(t, "pending", res.json["status"])

	// The requester cannot decide, even with a token that could.
	res = b.api(t, http.MethodPost, "/approval-requests/"+id+"/decisions", emp, map[string]any{"decision": "approve"})
	require.Equal(t, http.StatusForbidden, res.status)

	res = b.api(t, http.MethodGet, "/approval-inbox", mgr, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Len(t, res.json["data"], 1)
	res = b.api(t, http.MethodPost, "/approval-requests/"+id+"/decisions", mgr, map[string]any{"decision": "return"})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	res = b.api(t, http.MethodPost, "/approval-requests/"+id+"/decisions", mgr, map[string]any{"decision": "approve", "round": 1, "position": 1})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.Equal(t, "approved", res.json["status"])
	res = b.api(t, http.MethodPost, "/approval-requests/"+id+"/decisions", mgr, map[string]any{"decision": "approve", "round": 1, "position": 1})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, string(res.body), "Already decided by Max Manager")

	res = b.api(t, http.MethodGet, "/approval-requests/"+id, emp, nil)
	require.Equal(t, http.StatusOK, res.status)
	route := res.json["route"].([]any)
	require.Len(t, route, 1)

	// Tenant B sees none of it.
	bAdmin := b.pat(t, b.tenantB.ID, b.usersB[identity.RoleAdmin], identity.ApprovalsRead, identity.ApprovalsDecide)
	require.Equal(t, http.StatusNotFound, b.api(t, http.MethodGet, "/approval-requests/"+id, bAdmin, nil).status)
	res = b.api(t, http.MethodGet, "/approval-requests", bAdmin, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Empty(t, res.json["data"])

	res = b.api(t, http.MethodGet, "/approval-policies/purchase", mgr, nil)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, true, res.json["default"])
	admin := b.pat(t, b.tenantA.ID, b.usersA[identity.RoleAdmin], identity.AdminSettings, identity.ApprovalsDecide)
	step := map[string]any{"name": "Manager", "approver": "manager", "mode": "any"}
	res = b.api(t, http.MethodPut, "/approval-policies/purchase", admin, map[string]any{"version": 0, "bands": []any{
		map[string]any{"from": 0, "to": 50000, "steps": []any{step}}, map[string]any{"from": 60000, "steps": []any{step}}}})
	requireProblem(t, res, http.StatusUnprocessableEntity, "validation")
	require.Contains(t, string(res.body), "have no band")
	res = b.api(t, http.MethodPut, "/approval-policies/purchase", admin, map[string]any{"version": 0, "bands": []any{
		map[string]any{"from": 0, "steps": []any{step}}}})
	require.Equal(t, http.StatusOK, res.status, string(res.body))
	require.EqualValues(t, 1, res.json["version"])

	res = b.api(t, http.MethodPost, "/approval-delegations", mgr, map[string]any{"delegate_id": b.usersA[identity.RoleManager].ID.String(),
		"starts_on": "2026-01-01", "ends_on": "2099-01-01"})
	require.Equal(t, http.StatusUnprocessableEntity, res.status, string(res.body))
	res = b.api(t, http.MethodPost, "/approval-delegations", mgr, map[string]any{"delegate_id": b.usersA[identity.RoleFinance].ID.String(),
		"starts_on": time.Now().Format(time.DateOnly), "ends_on": time.Now().AddDate(0, 0, 7).Format(time.DateOnly)})
	require.Equal(t, http.StatusCreated, res.status, string(res.body))
	res = b.api(t, http.MethodGet, "/approval-delegations", mgr, nil)
	require.Len(t, res.json["data"], 1)
}

func TestApprovalsExpenseClaimReceipts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.approvalsManagerSet(t)
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	emp.get("/approvals/new?type=expense")
	res := emp.post("/approvals", url.Values{"type": {"expense"}, "title": {"Taxi"}, "amount": {"42.50"}, "category": {"Travel"},
		"expense_date": {"2026-01-15"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	claim := res.location()
	page := emp.get(claim)
	require.Equal(t, "EUR 42.50", testID(t, page, "request-amount"))

	// Submitting without a receipt is refused with the reason; the claim stays a draft.
	res = emp.post(claim+"/submit", url.Values{"version": {inputValue(page.doc, "version")}})
	require.Equal(t, http.StatusSeeOther, res.status)
	page = emp.get(claim)
	require.Equal(t, "Draft", testID(t, page, "request-status"))

	// Not a PDF or an image: 422 next to the file field.
	res = emp.upload(claim+"/receipts", "notes.txt", []byte("just text"), false)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "PDF or an image")
	res = emp.upload(claim+"/receipts", "taxi.pdf", []byte("%PDF-1.4 taxi receipt"), false)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page = emp.get(claim)
	receipts := testID(t, page, "receipts")
	require.Contains(t, receipts, "taxi.pdf")

	// The manager may download it; another tenant may not.
	var href string
	for _, a := range elements(page.doc, "a") {
		if strings.Contains(attr(a, "href"), "/receipts/") {
			href = attr(a, "href")
		}
	}
	require.NotEmpty(t, href)
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	dl := mgr.get(href)
	require.Equal(t, http.StatusOK, dl.status)
	require.Equal(t, "application/pdf", dl.header.Get("Content-Type"))
	require.Equal(t, "%PDF-1.4 taxi receipt", dl.body)
	require.Equal(t, http.StatusNotFound, b.signedIn(t, b.usersB[identity.RoleAdmin]).get(href).status)

	page = emp.get(claim)
	res = emp.post(claim+"/submit", url.Values{"version": {inputValue(page.doc, "version")}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "Pending", testID(t, emp.get(claim), "request-status"))
	// Submitted: no more receipts.
	res = emp.upload(claim+"/receipts", "late.pdf", []byte("%PDF-1.4"), false)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "receipts cannot be added")

	// Approved by the manager (below half the manager limit), it waits in finance's "To reimburse" list.
	detail := mgr.get(claim)
	res = mgr.post(claim+"/decide", url.Values{"decision": {"approve"}, "round": {inputValue(detail.doc, "round")},
		"position": {inputValue(detail.doc, "position")}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	fin := b.signedIn(t, b.usersA[identity.RoleFinance])
	list := fin.get("/approvals/reimburse")
	require.Contains(t, testID(t, list, "approvals-table"), "Taxi")
	res = fin.post(claim+"/reimburse", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	_, found := byTestID(fin.get("/approvals/reimburse").doc, "approvals-row")
	require.False(t, found)
}

func TestApprovalsBulkApprove(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.approvalsManagerSet(t)
	ctx := context.Background()
	emp := store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleEmployee].ID}
	var ids []string
	for _, title := range []string{"Desk lamp", "Keyboard", "Mouse"} {
		r, err := approvals.RequestCreate(ctx, b.db, emp, approvals.RequestFields{Type: approvals.TypeGeneral, Title: title, Amount: 2000})
		require.NoError(t, err)
		_, err = approvals.RequestSubmit(ctx, b.db, emp, r.ID, r.Version)
		require.NoError(t, err)
		ids = append(ids, r.ID.String())
	}
	mgr := b.signedIn(t, b.usersA[identity.RoleManager])
	inbox := mgr.get("/approvals/inbox")
	require.Equal(t, "3", testID(t, inbox, "approvals-count-inbox"))
	var boxes []string
	for _, in := range elements(inbox.doc, "input") {
		if attr(in, "name") == "id" && (strings.HasPrefix(attr(in, "value"), ids[0]+":") || strings.HasPrefix(attr(in, "value"), ids[2]+":")) {
			boxes = append(boxes, attr(in, "value"))
		}
	}
	require.Len(t, boxes, 2)
	require.Equal(t, ids[0]+":1:1", boxes[0], "each box names the step shown")
	res := mgr.post("/approvals/inbox/approve", url.Values{"id": boxes, "comment": {"Approved in bulk"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	inbox = mgr.get("/approvals/inbox")
	require.Equal(t, "1", testID(t, inbox, "approvals-count-inbox"))
	require.Contains(t, testID(t, inbox, "inbox-table"), "Keyboard")
	d, err := approvals.RequestGet(ctx, b.db, emp, mustID(t, ids[2]))
	require.NoError(t, err)
	require.Equal(t, approvals.StatusApproved, d.Status)
	require.Equal(t, "Approved in bulk", d.Route[0].Decisions[0].Comment)
	// Nothing selected: 422 with the reason.
	res = mgr.post("/approvals/inbox/approve", url.Values{"comment": {"x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Select the requests")
}

func mustID(t *testing.T, s string) store.ID {
	t.Helper()
	id, err := store.ParseID(s)
	require.NoError(t, err)
	return id
}

func TestApprovalsEditDraft(t *testing.T) {
	t.Parallel()
	b := setup(t)
	emp := b.signedIn(t, b.usersA[identity.RoleEmployee])
	emp.get("/approvals/new?type=purchase")
	res := emp.post("/approvals", url.Values{"type": {"purchase"}, "title": {"Paper"},
		"line0_description": {"Copy paper"}, "line0_quantity": {"10"}, "line0_unit_cost": {"4.50"},
		"line3_description": {"Toner"}, "line3_quantity": {"2"}, "line3_unit_cost": {"60.00"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	draft := res.location()
	require.Equal(t, "EUR 165.00", testID(t, emp.get(draft), "request-amount"))

	edit := emp.get(draft + "/edit")
	require.Equal(t, http.StatusOK, edit.status)
	require.Equal(t, "Toner", inputValue(edit.doc, "line1_description"), "saved lines come back in order, without gaps")
	version := inputValue(edit.doc, "version")
	form := url.Values{"version": {version}, "title": {"Paper and toner"},
		"line0_description": {"Copy paper"}, "line0_quantity": {"20"}, "line0_unit_cost": {"4.50"},
		"line1_description": {"Toner"}, "line1_quantity": {"2"}, "line1_unit_cost": {"60.00"}}
	res = emp.post(draft, form)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "EUR 210.00", testID(t, emp.get(draft), "request-amount"))
	// The same form again carries a stale version: refused, nothing changed.
	res = emp.post(draft, form)
	require.Equal(t, http.StatusConflict, res.status)
	// A reader may see the draft, not edit it; another tenant finds nothing.
	other := b.signedIn(t, b.usersA[identity.RoleManager])
	res = other.get(draft + "/edit")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, draft, res.location())
	form.Del("_csrf") // the employee's token, added to form by their post
	other.get(draft)
	res = other.post(draft, form)
	require.Equal(t, http.StatusNotFound, res.status, "only the requester may change it: %s", textOf(res.doc))
	require.Equal(t, http.StatusNotFound, b.signedIn(t, b.usersB[identity.RoleAdmin]).get(draft+"/edit").status)
}
