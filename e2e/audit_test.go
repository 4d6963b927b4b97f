package e2e

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAuditBrowser opens a row of the audit log in place: its table of changes arrives on the first
// toggle (the list carries only the count), without console errors.
func TestAuditBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tb := newTab(t, browser, 1280, 900)
	ctx := tb.ctx

	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, ctx, demoEmail, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	navigateBy(t, ctx, "open the audit log", chromedp.Navigate(srv.url+"/audit"))
	do(t, ctx, "see a row with changes", chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-changes"] summary`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="audit-diff"]').length`); n != 0 {
		t.Fatalf("the list carries %d tables of changes before any row is opened, want 0", n)
	}
	do(t, ctx, "open the first row's changes", chromedp.Click(chromedp.CSS(`[data-testid="audit-changes"] summary`)))
	inviteWaitFor(t, ctx, "the table of changes in the opened row",
		`!!document.querySelector('[data-testid="audit-changes"][open] [data-testid="audit-diff-row"]')`)
	screenshot(t, ctx, "audit-01-changes")
	tb.requireNoConsoleErrors(t, "after opening a row of the audit log")
}
