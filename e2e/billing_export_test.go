package e2e

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// TestBillingExportBrowser: the demo admin filters the invoice list by status, exports it as XLSX,
// watches the export's page until the job is done, downloads the file, opens it and finds exactly the
// list's invoices in it, in the list's order; the dashboard shows the billing cards.
func TestBillingExportBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tb := newTab(t, browser, 1280, 900)
	ctx := tb.ctx

	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, ctx, demoEmail, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	do(t, ctx, "see the receivables card", chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard-receivables-table"]`)))
	do(t, ctx, "see the revenue chart", chromedp.WaitVisible(chromedp.CSS(`[data-testid="dashboard-revenue"] svg[data-testid="revenue-chart"]`)))
	screenshot(t, ctx, "billing-export-01-dashboard")

	navigateBy(t, ctx, "open Billing", chromedp.Navigate(srv.url+"/billing"))
	do(t, ctx, "choose the status Issued", chromedp.SetValue(chromedp.CSS(`#billing-status`), "issued"))
	eval[bool](t, ctx, `document.querySelector('#billing-status').dispatchEvent(new Event('change', {bubbles: true}))`)
	inviteWaitFor(t, ctx, "the filter to reach the URL", `location.search.includes('status=issued')`)
	inviteWaitFor(t, ctx, "the export form to follow the filter", `(() => {
		const q = document.querySelector('[data-testid="export-form"] input[name="query"]');
		return !!q && q.value.includes('status=issued');
	})()`)
	want := eval[[]string](t, ctx, `[...document.querySelectorAll('[data-testid="invoice-row-number"]')].map(e => e.innerText.trim())`)
	if len(want) == 0 {
		t.Fatalf("no issued invoice in the demo data%s", pageHint(ctx))
	}
	screenshot(t, ctx, "billing-export-02-filtered")

	do(t, ctx, "choose XLSX", chromedp.SetValue(chromedp.CSS(`[data-testid="export-format"]`), "xlsx"))
	navigateBy(t, ctx, "export", chromedp.Click(chromedp.CSS(`[data-testid="export-submit"]`)))
	inviteWaitFor(t, ctx, "the export's page", `location.pathname.startsWith('/exports/') && !!document.querySelector('[data-testid="export-panel"]')`)
	inviteWaitFor(t, ctx, "the export to be done", `document.querySelector('[data-testid="export-panel"]').dataset.state === 'done'`)
	do(t, ctx, "see the download link", chromedp.WaitVisible(chromedp.CSS(`[data-testid="export-download"]`)))
	screenshot(t, ctx, "billing-export-03-done")
	tb.requireNoConsoleErrors(t, "on the export's page")

	encoded, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector('[data-testid="export-download"]').href).then(async r => {
		if (!r.ok || !r.headers.get('content-disposition').includes('attachment')) throw new Error('download: HTTP ' + r.status);
		const bytes = new Uint8Array(await r.arrayBuffer());
		let s = '';
		for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
		return btoa(s);
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("download the file: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("decode the download: %v", err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("open the XLSX: %v", err)
	}
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatalf("read the sheet: %v", err)
	}
	if len(rows) != len(want)+1 || rows[0][0] != "Number" || rows[0][6] != "Currency" {
		t.Fatalf("the XLSX has %d rows starting %q, want a header and the %d listed invoices", len(rows), rows[:min(len(rows), 2)], len(want))
	}
	for i, number := range want {
		if rows[i+1][0] != number || rows[i+1][1] != "Issued" {
			t.Fatalf("row %d of the export is %v, want invoice %s as on the list page (list: %v)", i+1, rows[i+1], number, want)
		}
	}
}
