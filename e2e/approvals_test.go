package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestApprovalsBrowser: an employee submits a purchase request above the manager limit, the department
// manager approves it from their inbox, finance approves it, and the employee sees it approved.
func TestApprovalsBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tb := newTab(t, browser, 1280, 900)
	ctx := tb.ctx

	as := func(email string) {
		t.Helper()
		// Whoever was signed in signs out first (the form sits in the user menu).
		do(t, ctx, "go home", chromedp.Navigate(srv.url+"/"))
		if eval[bool](t, ctx, `!!document.querySelector('form.usermenu__signout')`) {
			navigateBy(t, ctx, "sign out", chromedp.Evaluate[chromedp.Void](`document.querySelector('form.usermenu__signout').submit()`))
		}
		do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
		if resp := signIn(t, ctx, email, demoPassword); resp.Status != http.StatusOK {
			t.Fatalf("home page after signing in as %s: HTTP %d, want 200", email, resp.Status)
		}
	}

	// The employee asks for ten hex bolt boxes at 150.00 each: 1,500.00, above the manager limit.
	as("employee@acme.example")
	navigateBy(t, ctx, "open Approvals", chromedp.Click(chromedp.CSS(`nav.sidebar a.nav__link[href="/approvals"]`)))
	requirePath(t, ctx, "/approvals")
	navigateBy(t, ctx, "start a purchase request", chromedp.Click(chromedp.CSS(`[data-testid="approvals-new-purchase"]`)))
	do(t, ctx, "fill the request",
		chromedp.SendKeys(chromedp.CSS(`#field-title`), "Bolts for the new line"),
		chromedp.SendKeys(chromedp.CSS(`#field-line0_sku`), "FAS-1000"),
		chromedp.SendKeys(chromedp.CSS(`#field-line0_quantity`), "10"),
		chromedp.SendKeys(chromedp.CSS(`#field-line0_unit_cost`), "150.00"),
		chromedp.SendKeys(chromedp.CSS(`#field-line0_supplier`), "Bolt & Co"),
	)
	screenshot(t, ctx, "approvals-01-new")
	do(t, ctx, "save and submit", chromedp.Click(chromedp.CSS(`[data-testid="request-submit"]`)))
	inviteWaitFor(t, ctx, "the request page", `!!document.querySelector('[data-testid="request-status"]')`)
	requireText(t, ctx, `[data-testid="request-status"]`, "Pending")
	requireText(t, ctx, `[data-testid="request-amount"]`, "EUR 1,500.00")
	title := text(t, ctx, `h1`)
	ref := strings.Fields(title)[0]
	if !strings.HasPrefix(ref, "AR-") {
		t.Fatalf("the request page's title is %q, want it to start with the request number", title)
	}
	if route := text(t, ctx, `[data-testid="request-route"]`); !strings.Contains(route, "Department manager") || !strings.Contains(route, "Finance") {
		t.Fatalf("the route reads %q, want the manager's and finance's steps", route)
	}
	tb.requireNoConsoleErrors(t, "after submitting")
	screenshot(t, ctx, "approvals-02-submitted")

	// The manager opens the request from the home page's "Waiting for me" card, finance from the inbox.
	decide := func(who, wantStatus string, fromHome bool) {
		t.Helper()
		as(who)
		if n := text(t, ctx, `nav.sidebar a.nav__link[href="/approvals"] .nav__count`); n == "" || n == "0" {
			t.Fatalf("%s's sidebar shows no approvals waiting", who)
		}
		if fromHome {
			inviteWaitFor(t, ctx, ref+" on the home page's Waiting for me card",
				`[...document.querySelectorAll('[data-testid="dashboard-approvals-inbox-item"] a')].some(a => a.innerText === '`+ref+`')`)
			if n := text(t, ctx, `[data-testid="dashboard-approvals-inbox-value"]`); n == "" || n == "0" {
				t.Fatalf("%s's Waiting for me card counts %q", who, n)
			}
			screenshot(t, ctx, "approvals-02b-dashboard-waiting")
			navigateBy(t, ctx, "open "+ref+" from the card",
				chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="dashboard-approvals-inbox-item"] a')].find(a => a.innerText === '`+ref+`').click()`))
		} else {
			do(t, ctx, "open the inbox", chromedp.Navigate(srv.url+"/approvals/inbox"))
			inviteWaitFor(t, ctx, ref+" in the inbox", `[...document.querySelectorAll('[data-testid="inbox-row-link"]')].some(a => a.innerText === '`+ref+`')`)
			navigateBy(t, ctx, "open "+ref, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="inbox-row-link"]')].find(a => a.innerText === '`+ref+`').click()`))
		}
		do(t, ctx, "write a comment", chromedp.SendKeys(chromedp.CSS(`#field-comment`), "OK from "+who))
		do(t, ctx, "approve", chromedp.Click(chromedp.CSS(`[data-testid="decide-approve"]`)))
		inviteWaitFor(t, ctx, "the decision to be recorded", `(() => {
			const s = document.querySelector('[data-testid="request-status"]');
			return !!s && s.innerText.includes('`+wantStatus+`') && !document.querySelector('[data-testid="decide-form"]');
		})()`)
		tb.requireNoConsoleErrors(t, "after "+who+" decided")
	}
	decide("manager@acme.example", "Pending", true)
	screenshot(t, ctx, "approvals-03-manager-approved")
	decide("finance@acme.example", "Approved", false)
	screenshot(t, ctx, "approvals-04-finance-approved")

	as("employee@acme.example")
	do(t, ctx, "open my requests", chromedp.Navigate(srv.url+"/approvals"))
	inviteWaitFor(t, ctx, ref+" approved in my requests", `[...document.querySelectorAll('[data-testid="approvals-row"]')].some(r => r.innerText.includes('`+ref+`') && r.innerText.includes('Approved'))`)
	navigateBy(t, ctx, "open "+ref, chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('[data-testid="approvals-row-link"]')].find(a => a.innerText === '`+ref+`').click()`))
	requireText(t, ctx, `[data-testid="request-status"]`, "Approved")
	timeline := text(t, ctx, `[data-testid="request-timeline"]`)
	for _, want := range []string{"Submitted for approval", "Approved (Max Manager)", "Approved (Fiona Finance)"} {
		if !strings.Contains(timeline, want) {
			t.Fatalf("the timeline reads %q, want %q", timeline, want)
		}
	}
	// The approval handed the goods to inventory through a job: the page shows them as expected.
	url := eval[string](t, ctx, `location.href`)
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](t, ctx, `!!document.querySelector('[data-testid="expected-row"]')`) {
		if time.Now().After(deadline) {
			t.Fatalf("the approved request shows no goods expected in inventory after 20 s%s", pageHint(ctx))
		}
		time.Sleep(500 * time.Millisecond)
		do(t, ctx, "reload the request", chromedp.Navigate(url))
	}
	if row := text(t, ctx, `[data-testid="expected-row"]`); !strings.Contains(row, "FAS-1000") || !strings.Contains(row, "10") || !strings.Contains(row, "Expected") {
		t.Fatalf("the expected goods read %q, want 10 of FAS-1000 expected", row)
	}
	screenshot(t, ctx, "approvals-05-requester-sees-approved")
}
