package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestInventoryBrowser: the demo admin finds a seeded item with search-as-you-type, receives stock into a
// bin, transfers part of it to another warehouse's bin, and sees the levels and the history follow.
func TestInventoryBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tb := newTab(t, browser, 1280, 900)
	ctx := tb.ctx
	const sku = "FAS-1000" // the seed's first item: Hex bolt, counted in pieces

	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, ctx, demoEmail, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	navigateBy(t, ctx, "open Inventory", chromedp.Click(chromedp.CSS(`nav.sidebar a.nav__link[href="/inventory"]`)))
	requirePath(t, ctx, "/inventory")
	requireAttr(t, ctx, `nav.sidebar a.nav__link[href="/inventory"]`, "aria-current", "page")
	do(t, ctx, "see the item table", chromedp.WaitVisible(chromedp.CSS(`[data-testid="inventory-table"]`)))
	screenshot(t, ctx, "inventory-01-list")

	// Search as you type: the table filters itself and the URL follows.
	do(t, ctx, "type the SKU", chromedp.SendKeys(chromedp.CSS(`#inventory-q`), sku))
	inviteWaitFor(t, ctx, "the table to show only "+sku, `(() => {
		const rows = document.querySelectorAll('[data-testid="inventory-row"]');
		return rows.length === 1 && rows[0].innerText.includes('`+sku+`');
	})()`)
	inviteWaitFor(t, ctx, "the search to reach the URL", `location.search.includes('q=`+sku+`')`)
	screenshot(t, ctx, "inventory-02-search")
	tb.requireNoConsoleErrors(t, "after searching")

	navigateBy(t, ctx, "open the item", chromedp.Click(chromedp.CSS(`[data-testid="inventory-row-sku"]`)))
	before := onHand(t, ctx)

	// Receive 7 into bin MAIN-A1 at 2.50 each.
	navigateBy(t, ctx, "open the receipt form", chromedp.Click(chromedp.CSS(`[data-testid="item-receipt"]`)))
	requirePath(t, ctx, "/inventory/movements/new")
	selectByText(t, ctx, "#field-location_id", "MAIN-A1")
	do(t, ctx, "fill the receipt",
		chromedp.SendKeys(chromedp.CSS(`#field-quantity`), "7"),
		chromedp.SendKeys(chromedp.CSS(`#field-unit_cost`), "2.50"),
		chromedp.SendKeys(chromedp.CSS(`#field-reference`), "PO-E2E-1"),
	)
	screenshot(t, ctx, "inventory-03-receive")
	do(t, ctx, "post the receipt", chromedp.Click(chromedp.CSS(`[data-testid="movement-submit"]`)))
	inviteWaitFor(t, ctx, "the item page after the receipt", `location.pathname.startsWith('/inventory/items/') && !!document.querySelector('[data-testid="item-onhand"]')`)
	if got := onHand(t, ctx); got != before+7 {
		t.Fatalf("on hand after receiving 7 is %d, want %d", got, before+7)
	}
	if row := text(t, ctx, `[data-testid="history-row"]`); !strings.Contains(row, "receipt") || !strings.Contains(row, "+7") {
		t.Fatalf("the newest movement reads %q, want the receipt of +7", row)
	}
	tb.requireNoConsoleErrors(t, "after receiving")
	screenshot(t, ctx, "inventory-04-received")

	// Transfer 3 from MAIN-A1 to EAST-01.
	navigateBy(t, ctx, "open the transfer form", chromedp.Click(chromedp.CSS(`[data-testid="item-transfer"]`)))
	selectByText(t, ctx, "#field-from_location_id", "MAIN-A1")
	selectByText(t, ctx, "#field-to_location_id", "EAST-01")
	do(t, ctx, "fill the transfer", chromedp.SendKeys(chromedp.CSS(`#field-quantity`), "3"))
	do(t, ctx, "post the transfer", chromedp.Click(chromedp.CSS(`[data-testid="movement-submit"]`)))
	inviteWaitFor(t, ctx, "the item page after the transfer", `location.pathname.startsWith('/inventory/items/') && !!document.querySelector('[data-testid="item-levels"]')`)
	if got := onHand(t, ctx); got != before+7 {
		t.Fatalf("on hand after the transfer is %d, want it unchanged at %d", got, before+7)
	}
	levels := text(t, ctx, `[data-testid="item-levels"]`)
	if !strings.Contains(levels, "EAST-01") || !strings.Contains(levels, "MAIN-A1") {
		t.Fatalf("the levels read %q, want MAIN-A1 and EAST-01", levels)
	}
	history := text(t, ctx, `[data-testid="history-table"]`)
	if !strings.Contains(history, "transfer") || !strings.Contains(history, "-3") || !strings.Contains(history, "+3") {
		t.Fatalf("the history reads %q, want both legs of the transfer", history)
	}
	tb.requireNoConsoleErrors(t, "after transferring")
	screenshot(t, ctx, "inventory-05-transferred")

	// Issuing more than is on hand is refused next to the quantity, with the input kept.
	navigateBy(t, ctx, "open the issue form", chromedp.Click(chromedp.CSS(`[data-testid="item-issue"]`)))
	selectByText(t, ctx, "#field-location_id", "EAST-01")
	do(t, ctx, "ask for too much", chromedp.SendKeys(chromedp.CSS(`#field-quantity`), "999999"),
		chromedp.Click(chromedp.CSS(`[data-testid="movement-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#field-quantity-error`)))
	if msg := text(t, ctx, `#field-quantity-error`); !strings.Contains(msg, "Insufficient stock") {
		t.Fatalf("the quantity's error reads %q", msg)
	}
	if v := value(t, ctx, `#field-quantity`); v != "999999" {
		t.Fatalf("the quantity field holds %q after the refusal, want the typed value", v)
	}
	screenshot(t, ctx, "inventory-06-insufficient")
	// htmx reports the 422 it swapped in as a failed resource load; nothing else may appear.
	tb.requireNoConsoleErrors(t, "after the refused issue", allow422...)

	// The ledger and the locations pages render.
	navigateBy(t, ctx, "open the ledger", chromedp.Navigate(srv.url+"/inventory/ledger?sku="+sku))
	do(t, ctx, "see the ledger", chromedp.WaitVisible(chromedp.CSS(`[data-testid="history-table"]`)))
	screenshot(t, ctx, "inventory-07-ledger")
	navigateBy(t, ctx, "open the locations", chromedp.Navigate(srv.url+"/inventory/locations"))
	do(t, ctx, "see the locations", chromedp.WaitVisible(chromedp.CSS(`[data-testid="locations-table"]`)))
	screenshot(t, ctx, "inventory-08-locations")
	tb.requireNoConsoleErrors(t, "on the ledger and locations")

	// The inventory pages fit a phone: wide tables scroll inside their frame.
	phone := newTab(t, browser, 360, 740)
	do(t, phone.ctx, "open the sign-in page on a phone", chromedp.Navigate(srv.url+"/login"))
	signIn(t, phone.ctx, "manager@acme.example", demoPassword)
	for _, path := range []string{"/inventory", "/inventory/locations", "/inventory/ledger", "/inventory/low-stock",
		"/inventory/movements/new?kind=transfer"} {
		do(t, phone.ctx, "open "+path+" on a phone", chromedp.Navigate(srv.url+path), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		requireNoHorizontalOverflow(t, phone.ctx, 360, path)
	}
	screenshot(t, phone.ctx, "inventory-09-phone-transfer")
	phone.requireNoConsoleErrors(t, "on a phone")
}

// onHand reads the whole units on hand from an item's page ("123 pcs").
func onHand(t *testing.T, ctx context.Context) int {
	t.Helper()
	s := text(t, ctx, `[data-testid="item-onhand"]`)
	n, err := strconv.Atoi(strings.Fields(s)[0])
	if err != nil {
		t.Fatalf("on hand reads %q", s)
	}
	return n
}

// selectByText chooses the option of a select whose label contains label.
func selectByText(t *testing.T, ctx context.Context, css, label string) {
	t.Helper()
	do(t, ctx, "wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
	ok := eval[bool](t, ctx, `(() => {
		const s = document.querySelector('`+css+`');
		const o = [...s.options].find(o => o.text.includes('`+label+`'));
		if (!o) return false;
		s.value = o.value;
		s.dispatchEvent(new Event('change', {bubbles: true}));
		return true;
	})()`)
	if !ok {
		t.Fatalf("no option %q in %s", label, css)
	}
}

// allow422 lets the browser's report of the 422 that carried the form with its errors pass.
var allow422 = []*regexp.Regexp{regexp.MustCompile(`status of 422`)}
