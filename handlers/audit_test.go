package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	auditview "ledgerline/views/audit"
)

// auditRowActions returns the action of every row of the audit table, in order.
func auditRowActions(r *response) []string {
	var actions []string
	for _, row := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-row" }) {
		actions = append(actions, textOf(elements(row, "code")[0]))
	}
	return actions
}

// auditEventLinks returns the event page links of the audit table, in order.
func auditEventLinks(r *response) []string {
	var links []string
	for _, a := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-event-link" }) {
		links = append(links, attr(a, "href"))
	}
	return links
}

// auditDiffRows returns the rows of the first difference table as "field: before → after".
func auditDiffRows(r *response) []string {
	var rows []string
	tables := findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-diff" })
	if len(tables) == 0 {
		return nil
	}
	for _, tr := range findAll(tables[0], func(n *html.Node) bool { return attr(n, "data-testid") == "audit-diff-row" }) {
		field := textOf(elements(tr, "code")[0])
		cells := elements(tr, "td")
		rows = append(rows, field+": "+textOf(cells[0])+" → "+textOf(cells[1]))
	}
	return rows
}

func TestAuditFiltersAndDiff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	adminA := b.usersA[identity.RoleAdmin]
	admin := b.signedIn(t, adminA)
	res := admin.post("/admin/departments", url.Values{"name": {"Sales"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	sales := b.deptByName(t, b.tenantA.ID, "Sales")
	require.Equal(t, http.StatusSeeOther, admin.post(res.location()+"/rename", url.Values{"name": {"Sales & Marketing"}, "version": {"1"}}).status)

	auditor := b.signedIn(t, b.usersA[identity.RoleAuditor])
	res = auditor.get("/audit?action=department")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, []string{"department.rename", "department.create", "department.create"}, auditRowActions(res),
		"newest first; the setup created Operations")
	nav := findAll(res.doc, func(n *html.Node) bool {
		return n.Data == "a" && attr(n, "href") == "/audit" && attr(n, "class") == "nav__link"
	})
	require.Equal(t, "page", attr(nav[0], "aria-current"))

	// The difference, field by field: a row opened in place fetches its table (HTMX, on the first toggle);
	// the list itself carries only the count and a link to the event.
	require.Empty(t, auditDiffRows(res), "the list does not carry the tables")
	changes := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-changes" })
	require.Len(t, changes, 3)
	require.Contains(t, textOf(changes[0]), "2 fields")
	require.Equal(t, "toggle once", attr(changes[0], "hx-trigger"))
	part := auditor.do(http.MethodGet, attr(changes[0], "hx-get"), nil, http.Header{"HX-Request": {"true"}})
	require.Equal(t, http.StatusOK, part.status)
	require.NotContains(t, part.body, "<html")
	require.Equal(t, []string{"name: Sales → Sales & Marketing", "version: 1 → 2"}, auditDiffRows(part))
	// Another tenant's auditor cannot fetch it.
	other := b.signedIn(t, b.usersB[identity.RoleAuditor]).do(http.MethodGet, attr(changes[0], "hx-get"), nil, http.Header{"HX-Request": {"true"}})
	require.Equal(t, http.StatusNotFound, other.status)

	t.Run("Entity", func(t *testing.T) {
		res := auditor.get("/audit?" + url.Values{"entity_type": {"department"}, "entity_id": {sales.ID.String()}}.Encode())
		require.Equal(t, []string{"department.rename", "department.create"}, auditRowActions(res))
	})
	t.Run("Actor", func(t *testing.T) {
		res := auditor.get("/audit?" + url.Values{"actor": {adminA.ID.String()}, "action": {"department"}}.Encode())
		require.Equal(t, []string{"department.rename", "department.create"}, auditRowActions(res), "the setup's department was made by the system")
		// The select offers the tenant's people and keeps the choice.
		var selected []string
		for _, o := range findAll(res.doc, func(n *html.Node) bool { return n.Data == "option" }) {
			if _, ok := attrOK(o, "selected"); ok {
				selected = append(selected, attr(o, "value"))
			}
		}
		require.Contains(t, selected, adminA.ID.String())
		require.NotContains(t, res.body, b.usersB[identity.RoleAdmin].Email, "no one of another tenant is offered")
	})
	t.Run("DateRangeInTenantZone", func(t *testing.T) {
		today := time.Now().In(b.tenantA.Location()).Format(time.DateOnly)
		res := auditor.get("/audit?" + url.Values{"action": {"department.rename"}, "from": {today}, "to": {today}}.Encode())
		require.Equal(t, []string{"department.rename"}, auditRowActions(res))
		tomorrow := time.Now().In(b.tenantA.Location()).AddDate(0, 0, 1).Format(time.DateOnly)
		res = auditor.get("/audit?" + url.Values{"action": {"department.rename"}, "from": {tomorrow}}.Encode())
		require.Empty(t, auditRowActions(res))
		testID(t, res, "audit-empty")
	})
	t.Run("InvalidFilters", func(t *testing.T) {
		res := auditor.get("/audit?from=31.12.2026&entity_id=x")
		require.Equal(t, http.StatusUnprocessableEntity, res.status)
		summary := testID(t, res, "error-summary")
		require.Contains(t, summary, "Enter a date like 2026-03-31")
		require.Contains(t, summary, "Enter the entity type too")
		require.Equal(t, "31.12.2026", inputValue(res.doc, "from"))
	})
	t.Run("HTMXGetsTheTableOnly", func(t *testing.T) {
		res := auditor.do(http.MethodGet, "/audit?action=department.rename", nil, http.Header{"HX-Request": {"true"}, "HX-Target": {auditview.TableID}})
		require.Equal(t, http.StatusOK, res.status)
		require.NotContains(t, res.body, "<html")
		require.Equal(t, []string{"department.rename"}, auditRowActions(res))
	})
	t.Run("Pages", func(t *testing.T) {
		require.NoError(t, b.db.InTenant(context.Background(), store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
			for range 55 {
				if err := audit.Record(context.Background(), tx, audit.RecordParams{Action: "bulk.test", EntityType: "thing"}); err != nil {
					return err
				}
			}
			return nil
		}))
		first := auditor.get("/audit?action=bulk")
		require.Len(t, auditRowActions(first), 50)
		next, ok := byTestID(first.doc, "audit-next")
		require.True(t, ok)
		require.Equal(t, "Older events", next)
		href := ""
		for _, a := range findAll(first.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-next" }) {
			href = attr(a, "href")
		}
		require.Contains(t, href, "action=bulk", "the filter travels with the page")
		second := auditor.get(href)
		require.Len(t, auditRowActions(second), 5)
		_, more := byTestID(second.doc, "audit-next")
		require.False(t, more)
		testID(t, second, "audit-first")
	})
	t.Run("EventPage", func(t *testing.T) {
		res := auditor.get("/audit?action=department.rename")
		links := auditEventLinks(res)
		require.Len(t, links, 1)
		res = auditor.get(links[0])
		require.Equal(t, http.StatusOK, res.status)
		require.Contains(t, testID(t, res, "audit-detail-actor"), adminA.Name)
		require.Contains(t, testID(t, res, "audit-detail-seal"), "Not sealed yet")
		require.Equal(t, []string{"name: Sales → Sales & Marketing", "version: 1 → 2"}, auditDiffRows(res))
		require.Contains(t, testID(t, res, "audit-raw-after"), `"Sales & Marketing"`)

		// Another tenant's auditor, and a manager, cannot open it.
		require.Equal(t, http.StatusNotFound, b.signedIn(t, b.usersB[identity.RoleAuditor]).get(links[0]).status)
		require.Equal(t, http.StatusForbidden, b.signedIn(t, b.usersA[identity.RoleManager]).get(links[0]).status)
		require.Equal(t, http.StatusNotFound, auditor.get("/audit/"+store.NewID().String()).status)
	})
	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		res := b.signedIn(t, b.usersB[identity.RoleAuditor]).get("/audit?entity_type=department&entity_id=" + sales.ID.String())
		require.Empty(t, auditRowActions(res))
	})
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// auditVerifyPanel fetches the verification panel the way its polling does.
func auditVerifyPanel(c *client) *response {
	c.t.Helper()
	res := c.do(http.MethodGet, "/audit/verify", nil, http.Header{"HX-Request": {"true"}, "HX-Target": {auditview.VerifyPanelID}})
	require.Equal(c.t, http.StatusOK, res.status)
	return res
}

func panelState(t *testing.T, r *response) string {
	t.Helper()
	for _, n := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "audit-verify" }) {
		return attr(n, "data-state")
	}
	require.FailNow(t, "no verification panel in:\n"+r.body)
	return ""
}

// TestAuditVerifyEndToEnd asks for a verification, sees it wait with polling, starts real River workers
// and polls until the result arrives.
func TestAuditVerifyEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAuditor])

	res := c.get("/audit")
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.Equal(t, "", panelState(t, res))
	testID(t, res, "audit-verify-start")

	// No worker runs yet: the request waits in the queue, and the panel polls.
	res = c.do(http.MethodPost, "/audit/verify", url.Values{}, http.Header{
		"HX-Request": {"true"}, "HX-Target": {auditview.VerifyPanelID}, "X-CSRF-Token": {c.token}})
	require.Equal(t, http.StatusOK, res.status)
	require.NotContains(t, res.body, "<html")
	require.Equal(t, "queued", panelState(t, res))
	panel := findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == auditview.VerifyPanelID })[0]
	require.Equal(t, "every 2s", attr(panel, "hx-trigger"))
	require.Equal(t, "/audit/verify", attr(panel, "hx-get"))
	_, canStart := byTestID(res.doc, "audit-verify-start")
	require.False(t, canStart, "no second request while one is open")
	require.Equal(t, "queued", panelState(t, auditVerifyPanel(c)))

	// Without HTMX, the same request joins the open one and comes back to the page.
	res = c.post("/audit/verify", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/audit", res.location())

	client, err := jobs.NewClient(jobs.Deps{DB: b.db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		jobs.ClientOpts{Workers: 2, AuditSealEvery: time.Hour})
	require.NoError(t, err)
	b.db.UseJobs(client)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
		cancel()
	})

	deadline := time.Now().Add(15 * time.Second)
	res = auditVerifyPanel(c)
	for panelState(t, res) != "done" {
		require.True(t, time.Now().Before(deadline), "verification did not finish:\n%s", res.body)
		time.Sleep(100 * time.Millisecond)
		res = auditVerifyPanel(c)
	}
	panel = findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == auditview.VerifyPanelID })[0]
	require.Empty(t, attr(panel, "hx-trigger"), "polling stops with the result")
	result := testID(t, res, "audit-verify-result")
	require.Contains(t, result, "Intact")
	// The periodic sealing ran once at start, before the verification; the verification request's own
	// event may or may not have been sealed by then, so only the wording is fixed.
	require.Regexp(t, `\d+ sealed events? checked`, result)
	testID(t, res, "audit-verify-start")

	// A new request while the workers run goes through to a result too, and other tenants see none of it.
	res = c.do(http.MethodPost, "/audit/verify", url.Values{}, http.Header{
		"HX-Request": {"true"}, "HX-Target": {auditview.VerifyPanelID}, "X-CSRF-Token": {c.token}})
	require.Equal(t, http.StatusOK, res.status)
	for panelState(t, res) != "done" {
		require.True(t, time.Now().Before(deadline), "second verification did not finish")
		time.Sleep(100 * time.Millisecond)
		res = auditVerifyPanel(c)
	}
	require.Equal(t, "", panelState(t, auditVerifyPanel(b.signedIn(t, b.usersB[identity.RoleAuditor]))))
	require.Equal(t, http.StatusForbidden, b.signedIn(t, b.usersA[identity.RoleFinance]).post("/audit/verify", nil).status)
}

// jobsRequest sends a request to River UI's API as its page does: JSON, and the browser's Sec-Fetch-Site.
func (c *client) jobsRequest(method, path string, body any, secFetchSite string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base.String()+path, r)
	require.NoError(c.t, err)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secFetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", secFetchSite)
	}
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res.StatusCode, out
}

func TestJobMonitor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])

	res := admin.get("/admin/jobs")
	require.Equal(t, http.StatusMovedPermanently, res.status)
	require.Equal(t, "/admin/jobs/", res.location())
	res = admin.get("/admin/jobs/")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, "<title>River</title>")
	require.Contains(t, res.body, `"/admin/jobs/api"`, "the UI calls its API under our prefix")
	csp := res.header.Get("Content-Security-Policy")
	require.Contains(t, csp, "style-src 'self' 'unsafe-inline'")
	require.Contains(t, csp, "script-src 'self';")
	require.NotContains(t, csp, "unsafe-eval")
	require.Contains(t, csp, "frame-ancestors 'none'")
	// Our own pages keep the strict policy.
	require.NotContains(t, admin.get("/admin/departments").header.Get("Content-Security-Policy"), "unsafe-inline")

	// A queued job to look at and act on.
	require.NoError(t, b.db.InTenant(context.Background(), store.Scope{TenantID: b.tenantA.ID}, func(tx *store.Tx) error {
		return tx.Enqueue(context.Background(), jobs.AuditSealArgs{}, nil)
	}))
	status, body := admin.jobsRequest(http.MethodGet, "/admin/jobs/api/jobs?state=available", nil, "same-origin")
	require.Equal(t, http.StatusOK, status, string(body))
	var list struct {
		Data []struct {
			ID   int64  `json:"id"`
			Kind string `json:"kind"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.NotEmpty(t, list.Data)
	require.Equal(t, "audit_seal", list.Data[0].Kind)
	jobID := list.Data[0].ID

	// Changes need the browser's word that they come from the monitor's own page.
	cancelBody := map[string]any{"ids": []string{jsonInt(jobID)}}
	for _, site := range []string{"", "cross-site", "same-site", "none"} {
		status, _ := admin.jobsRequest(http.MethodPost, "/admin/jobs/api/jobs/cancel", cancelBody, site)
		require.Equal(t, http.StatusForbidden, status, "Sec-Fetch-Site %q", site)
	}
	status, body = admin.jobsRequest(http.MethodPost, "/admin/jobs/api/jobs/cancel", cancelBody, "same-origin")
	require.Equal(t, http.StatusOK, status, string(body))
	var state string
	require.NoError(t, b.db.X.GetContext(context.Background(), &state, `SELECT state FROM river_job WHERE id = $1`, jobID))
	require.Equal(t, "cancelled", state)

	// Only admins reach it; the signed-out are sent to sign in.
	for _, r := range []identity.Role{identity.RoleAuditor, identity.RoleManager, identity.RoleFinance, identity.RoleEmployee} {
		c := b.signedIn(t, b.usersA[r])
		require.Equal(t, http.StatusForbidden, c.get("/admin/jobs/").status, r)
		status, _ := c.jobsRequest(http.MethodGet, "/admin/jobs/api/jobs", nil, "same-origin")
		require.Equal(t, http.StatusForbidden, status, r)
		status, _ = c.jobsRequest(http.MethodPost, "/admin/jobs/api/jobs/retry", cancelBody, "same-origin")
		require.Equal(t, http.StatusForbidden, status, r)
	}
	anon := b.newClient(t)
	res = anon.get("/admin/jobs/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.True(t, strings.HasPrefix(res.location(), "/login?next="), res.location())
}

// jsonInt writes a job id the way River UI's API takes it: as a string.
func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
