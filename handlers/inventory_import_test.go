package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/jobs"
	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/views/inventoryimport"
)

// upload posts a multipart form with the file as HTMX does (CSRF token in the header), or as a browser
// without JavaScript does (token as a form field) when htmx is false.
func (c *client) upload(path, fileName string, content []byte, htmx bool) *response {
	c.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	header := http.Header{}
	if htmx {
		header.Set("HX-Request", "true")
		header.Set("X-CSRF-Token", c.token)
	} else {
		require.NoError(c.t, w.WriteField("_csrf", c.token))
	}
	if fileName != "" {
		fw, err := w.CreateFormFile("file", fileName)
		require.NoError(c.t, err)
		_, err = fw.Write(content)
		require.NoError(c.t, err)
	}
	require.NoError(c.t, w.Close())
	req, err := http.NewRequest(http.MethodPost, c.base.String()+path, &body)
	require.NoError(c.t, err)
	req.Header = header
	req.Header.Set("Content-Type", w.FormDataContentType())
	res, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	r := &response{status: res.StatusCode, header: res.Header, body: string(b)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		r.doc, err = html.Parse(bytes.NewReader(b))
		require.NoError(c.t, err)
	}
	return r
}

func importPanel(c *client, href string) *response {
	c.t.Helper()
	res := c.do(http.MethodGet, href, nil, http.Header{"HX-Request": {"true"}, "HX-Target": {inventoryimport.StatusPanelID}})
	require.Equal(c.t, http.StatusOK, res.status, res.body)
	require.NotContains(c.t, res.body, "<html")
	return res
}

func importState(t *testing.T, r *response) string {
	t.Helper()
	for _, n := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "import-status" }) {
		return attr(n, "data-state")
	}
	require.FailNow(t, "no import status in:\n"+r.body)
	return ""
}

func TestInventoryImportEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	sys := store.Scope{TenantID: b.tenantA.ID}
	_, err := inventory.LocationCreate(ctx, b.db, sys, inventory.LocationCreateParams{Code: "WH1", Name: "Main warehouse"})
	require.NoError(t, err)
	c := b.signedIn(t, b.usersA[identity.RoleManager])

	res := c.get("/inventory/import")
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.Contains(t, testID(t, res, "import-format"), "sku,name,description,category,unit")

	// Refused uploads come back as the form with the problem: no file, and a file beyond the limit.
	res = c.upload("/inventory/import", "", nil, true)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Choose a CSV file to import.")
	require.NotContains(t, res.body, "<html")
	res = c.upload("/inventory/import", "huge.csv", bytes.Repeat([]byte("x"), inventory.ImportMaxSize+1), true)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "larger than 20 MB")

	// A valid file: the job is queued, the page polls every second.
	good := "sku,name,unit,location,quantity,unit_cost\nIMP-1,Imported one,ea,WH1,10,2.50\nIMP-2,Imported two,kg,,,\n"
	res = c.upload("/inventory/import", "good.csv", []byte(good), true)
	require.Equal(t, http.StatusNoContent, res.status, res.body)
	goodHref := res.header.Get("HX-Redirect")
	require.True(t, strings.HasPrefix(goodHref, "/inventory/imports/"), goodHref)
	res = c.get(goodHref)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "queued", importState(t, res))
	panel := findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == inventoryimport.StatusPanelID })[0]
	require.Equal(t, "every 1s", attr(panel, "hx-trigger"))
	require.Equal(t, goodHref, attr(panel, "hx-get"))
	require.NotEmpty(t, elements(res.doc, "progress"), "a progress bar while it waits")

	// A bad file, posted without JavaScript: the form field carries the token.
	bad := "sku,name,unit\nIMP-3,Three,ea\nIMP-4,Four,crates\n"
	res = c.upload("/inventory/import", "bad.csv", []byte(bad), false)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	badHref := res.location()

	// Start the workers and poll as the page does.
	client, err := jobs.NewClient(jobs.Deps{DB: b.db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		jobs.ClientOpts{Workers: 2, AuditSealEvery: time.Hour})
	require.NoError(t, err)
	b.db.UseJobs(client)
	runCtx, cancel := context.WithCancel(context.Background())
	require.NoError(t, client.Start(runCtx))
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = client.Stop(stopCtx)
		cancel()
	})
	waitFor := func(href, state string) *response {
		deadline := time.Now().Add(20 * time.Second)
		res := importPanel(c, href)
		for importState(t, res) != state {
			require.True(t, time.Now().Before(deadline), "import did not reach %s:\n%s", state, res.body)
			time.Sleep(100 * time.Millisecond)
			res = importPanel(c, href)
		}
		return res
	}

	res = waitFor(goodHref, "done")
	panel = findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == inventoryimport.StatusPanelID })[0]
	require.Empty(t, attr(panel, "hx-trigger"), "polling stops with the outcome")
	require.Contains(t, testID(t, res, "import-result"), "2 items imported")
	items, err := inventory.ItemList(ctx, b.db, sys, inventory.ItemListParams{Search: "IMP-"})
	require.NoError(t, err)
	require.Len(t, items.Items, 2)

	res = waitFor(badHref, "rejected")
	require.Contains(t, testID(t, res, "import-result"), `Unknown unit "crates"`)
	links := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "import-errors-link" })
	require.Len(t, links, 1)
	errorsHref := attr(links[0], "href")
	require.Equal(t, badHref+"/errors.csv", errorsHref)
	report := c.get(errorsHref)
	require.Equal(t, http.StatusOK, report.status)
	require.Equal(t, "text/csv; charset=utf-8", report.header.Get("Content-Type"))
	require.Contains(t, report.header.Get("Content-Disposition"), "attachment")
	require.Contains(t, report.body, "row,column,message\n3,unit,")
	items, err = inventory.ItemList(ctx, b.db, sys, inventory.ItemListParams{Search: "IMP-3"})
	require.NoError(t, err)
	require.Empty(t, items.Items, "a rejected file imports nothing")

	// The upload page lists both.
	require.Len(t, findAll(c.get("/inventory/import").doc, func(n *html.Node) bool {
		return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/inventory/imports/")
	}), 2)

	// Another tenant's admin finds neither the import nor its report; an employee may not import.
	other := b.signedIn(t, b.usersB[identity.RoleAdmin])
	require.Equal(t, http.StatusNotFound, other.get(badHref).status)
	require.Equal(t, http.StatusNotFound, other.get(errorsHref).status)
	require.Equal(t, http.StatusForbidden, b.signedIn(t, b.usersA[identity.RoleEmployee]).get(goodHref).status)
}
