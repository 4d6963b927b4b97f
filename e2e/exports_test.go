package e2e

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestExportBrowser: a manager filters and sorts the item list, exports it as CSV, watches the export's
// page until the job is done, downloads the file and finds exactly the list's rows in it.
func TestExportBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tb := newTab(t, browser, 1280, 900)
	ctx := tb.ctx

	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, ctx, "manager@acme.example", demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	do(t, ctx, "see the dashboard", chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard-low-stock"]`)))
	screenshot(t, ctx, "exports-01-dashboard")

	// Filter: search as you type, then sort by name, descending.
	navigateBy(t, ctx, "open Inventory", chromedp.Navigate(srv.url+"/inventory"))
	do(t, ctx, "type a search", chromedp.SendKeys(chromedp.CSS(`#inventory-q`), "FAS"))
	inviteWaitFor(t, ctx, "the search to reach the URL", `location.search.includes('q=FAS')`)
	for _, dir := range []string{"ascending", "descending"} {
		do(t, ctx, "sort by name "+dir, chromedp.Click(chromedp.CSS(`[data-testid="inventory-sort-Name"]`)))
		inviteWaitFor(t, ctx, "the name column sorted "+dir, `(() => {
			const b = document.querySelector('[data-testid="inventory-sort-Name"]'), th = b && b.closest('th');
			return !!th && th.getAttribute('aria-sort') === '`+dir+`';
		})()`)
	}
	inviteWaitFor(t, ctx, "the export form to follow the filter", `(() => {
		const q = document.querySelector('[data-testid="export-form"] input[name="query"]');
		return !!q && q.value.includes('q=FAS') && q.value.includes('sort=name') && q.value.includes('dir=desc');
	})()`)
	want := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="inventory-row-sku"]')].map(e => e.innerText.trim())`)
	if len(want) == 0 {
		t.Fatalf("the filtered list is empty%s", pageHint(ctx))
	}
	screenshot(t, ctx, "exports-02-filtered")

	// Export as CSV: the export's page opens and its progress panel polls itself until done.
	do(t, ctx, "choose CSV", chromedp.SetValue(chromedp.CSS(`[data-testid="export-format"]`), "csv"))
	navigateBy(t, ctx, "export", chromedp.Click(chromedp.CSS(`[data-testid="export-submit"]`)))
	inviteWaitFor(t, ctx, "the export's page", `location.pathname.startsWith('/exports/') && !!document.querySelector('[data-testid="export-panel"]')`)
	screenshot(t, ctx, "exports-03-started")
	inviteWaitFor(t, ctx, "the export to be done", `document.querySelector('[data-testid="export-panel"]').dataset.state === 'done'`)
	do(t, ctx, "see the download link", chromedp.WaitVisible(chromedp.CSS(`[data-testid="export-download"]`)))
	if rows := text(t, ctx, `[data-testid="export-rows"]`); !strings.Contains(rows, " rows, ") {
		t.Fatalf("the finished export reads %q", rows)
	}
	screenshot(t, ctx, "exports-04-done")
	tb.requireNoConsoleErrors(t, "on the export's page")

	// Download it with the browser's session and read the rows.
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('[data-testid="export-download"]').href).then(r => {
		if (!r.ok || !r.headers.get('content-disposition').includes('attachment')) throw new Error('download: HTTP ' + r.status);
		return r.text();
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download the file: %v", err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("read the CSV: %v\n%s", err, body)
	}
	if len(recs) < 2 || recs[0][0] != "SKU" {
		t.Fatalf("the CSV starts %q", recs[:min(len(recs), 2)])
	}
	for i, sku := range want {
		if i+1 >= len(recs) || recs[i+1][0] != sku {
			t.Fatalf("row %d of the export is %v, want SKU %s as on the list page (list: %v)", i+1, recs[min(i+1, len(recs)-1)], sku, want)
		}
	}

	// The export center lists it as ready.
	navigateBy(t, ctx, "open the export center", chromedp.Navigate(srv.url+"/exports"))
	requireAttr(t, ctx, `[data-testid="export-row"]`, "data-state", "done")
	screenshot(t, ctx, "exports-05-center")
	tb.requireNoConsoleErrors(t, "on the export center")
}
