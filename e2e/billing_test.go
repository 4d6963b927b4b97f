package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// agingEUR reads the EUR total of the receivables aging.
func agingEUR(t *testing.T, srv *server, tb *tab) string {
	t.Helper()
	navigateBy(t, tb.ctx, "open the receivables report", chromedp.Navigate(srv.url+"/billing/reports"))
	return eval[string](t, tb.ctx, `(() => {
		const row = [...document.querySelectorAll('[data-testid="aging-currency-total"]')].find(r => r.innerText.includes('EUR'));
		return row ? row.querySelector('[data-testid="aging-total"]').innerText.trim() : '';
	})()`)
}

// TestBillingBrowser: the demo admin creates a customer, starts a draft, adds lines in place (totals from
// the server), issues it through the confirmation dialog, records a partial payment and then the rest,
// and sees the balance, the status and the aging report follow.
func TestBillingBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tb := newTab(t, browser, 1280, 900)
	ctx := tb.ctx

	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, ctx, demoEmail, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	navigateBy(t, ctx, "open Billing", chromedp.Click(chromedp.CSS(`nav.sidebar a.nav__link[href="/billing"]`)))
	requirePath(t, ctx, "/billing")
	do(t, ctx, "see the seeded invoices", chromedp.WaitVisible(chromedp.CSS(`[data-testid="billing-invoice-table"]`)))
	screenshot(t, ctx, "billing-01-list")
	agingBefore := agingEUR(t, srv, tb)
	if agingBefore == "" {
		t.Fatalf("the seeded aging report has no EUR total")
	}

	// A customer.
	navigateBy(t, ctx, "open the new-customer form", chromedp.Navigate(srv.url+"/billing/customers/new"))
	do(t, ctx, "fill the customer",
		chromedp.SendKeys(chromedp.CSS(`#field-name`), "E2E Trading GmbH"),
		chromedp.SendKeys(chromedp.CSS(`#field-email`), "ap@e2e-trading.example"),
		chromedp.SetValue(chromedp.CSS(`#field-terms_days`), "14"),
		chromedp.SendKeys(chromedp.CSS(`#field-tax_id`), "DE111222333"),
	)
	do(t, ctx, "save the customer", chromedp.Click(chromedp.CSS(`[data-testid="customer-save"]`)))
	inviteWaitFor(t, ctx, "the customer page", `location.pathname.startsWith('/billing/customers/') && !!document.querySelector('[data-testid="customer-taxid"]')`)
	if got := text(t, ctx, `[data-testid="customer-taxid"]`); got != "•••• 2333" {
		t.Fatalf("the tax id shows %q, want it masked as •••• 2333", got)
	}

	// A draft with two lines added in place.
	navigateBy(t, ctx, "start a draft", chromedp.Click(chromedp.CSS(`[data-testid="customer-new-invoice"]`)))
	inviteWaitFor(t, ctx, "the draft", `!!document.querySelector('[data-testid="line-form"]')`)
	addLine := func(desc, qty, price, wantTotal string) {
		t.Helper()
		do(t, ctx, "type the line "+desc,
			chromedp.SetValue(chromedp.CSS(`#field-description`), desc),
			chromedp.SetValue(chromedp.CSS(`#field-quantity`), qty),
			chromedp.SetValue(chromedp.CSS(`#field-unit_price`), price),
			chromedp.Click(chromedp.CSS(`[data-testid="line-add"]`)),
		)
		inviteWaitFor(t, ctx, "the total "+wantTotal, `(() => {
			const el = document.querySelector('[data-testid="editor-total"]');
			return !!el && el.innerText.trim() === '`+wantTotal+`';
		})()`)
	}
	addLine("Consulting", "2", "150.00", "EUR 357.00")
	addLine("Travel", "1", "43.70", "EUR 409.00") // 300 + 43.70 net, 19 % tax 65.303 → 65.30
	screenshot(t, ctx, "billing-02-draft")
	tb.requireNoConsoleErrors(t, "after editing the draft")

	// Issue through the dialog.
	do(t, ctx, "open the issue dialog", chromedp.Click(chromedp.CSS(`[data-testid="invoice-issue"]`)))
	do(t, ctx, "see the dialog", chromedp.WaitVisible(chromedp.CSS(`[data-testid="issue-dialog"]`)))
	navigateBy(t, ctx, "confirm the issue", chromedp.Click(chromedp.CSS(`[data-testid="issue-confirm"]`)))
	inviteWaitFor(t, ctx, "the issued invoice", `document.querySelector('[data-testid="invoice-status"]')?.innerText.includes('Issued')`)
	title := text(t, ctx, `h1`)
	if !strings.HasPrefix(title, "INV-") {
		t.Fatalf("the issued invoice is titled %q, want its number", title)
	}
	invoiceURL := eval[string](t, ctx, `location.pathname`)
	if agingAfter := agingEUR(t, srv, tb); agingAfter == agingBefore {
		t.Fatalf("the aging EUR total stayed %s after issuing", agingAfter)
	}
	navigateBy(t, ctx, "back to the invoice", chromedp.Navigate(srv.url+invoiceURL))

	// A partial payment, then the rest.
	pay := func(amount, wantBalance, wantStatus string) {
		t.Helper()
		navigateBy(t, ctx, "open the payment form", chromedp.Click(chromedp.CSS(`[data-testid="invoice-pay"]`)))
		do(t, ctx, "see the payment form", chromedp.WaitVisible(chromedp.CSS(`[data-testid="payment-form"]`)))
		do(t, ctx, "enter "+amount,
			chromedp.SetValue(chromedp.CSS(`#field-amount`), amount),
			chromedp.SetValue(chromedp.CSS(`input[id^="field-alloc_"]`), amount),
			chromedp.SendKeys(chromedp.CSS(`#field-reference`), "E2E "+amount),
		)
		navigateBy(t, ctx, "record the payment", chromedp.Click(chromedp.CSS(`[data-testid="payment-save"]`)))
		inviteWaitFor(t, ctx, "the balance "+wantBalance, `document.querySelector('[data-testid="invoice-balance"]')?.innerText.trim() === '`+wantBalance+`'`)
		requireText(t, ctx, `[data-testid="invoice-status"]`, wantStatus)
	}
	pay("100.00", "EUR 309.00", "Partially paid")
	screenshot(t, ctx, "billing-03-partial")
	pay("309.00", "EUR 0.00", "Paid")
	screenshot(t, ctx, "billing-04-paid")
	if got := agingEUR(t, srv, tb); got != agingBefore {
		t.Fatalf("the aging EUR total is %s after payment in full, want it back at %s", got, agingBefore)
	}
	screenshot(t, ctx, "billing-05-reports")

	// The list searched for the customer shows its rows at once and loads their totals right after.
	navigateBy(t, ctx, "search the invoice list", chromedp.Navigate(srv.url+"/billing?q=E2E+Trading"))
	inviteWaitFor(t, ctx, "the search's totals", `(document.querySelector('[data-testid="billing-totals"]')?.innerText || '').includes('EUR · 1 invoices')`)
	if got := text(t, ctx, `[data-testid="billing-totals"]`); !strings.Contains(got, "Total EUR 409.00 · open EUR 0.00") {
		t.Fatalf("the search's totals read %q, want the paid invoice's EUR 409.00 and nothing open", got)
	}

	// The customer filter suggests customers as someone types; the keyboard chooses one, which filters
	// the list and goes into the URL; emptying the picker shows every customer's invoices again.
	navigateBy(t, ctx, "open the invoice list", chromedp.Navigate(srv.url+"/billing"))
	do(t, ctx, "type part of the customer's name",
		chromedp.Click(chromedp.CSS(`#billing-customer-q`)),
		chromedp.SendKeys(chromedp.CSS(`#billing-customer-q`), "e2e trad"))
	inviteWaitFor(t, ctx, "the suggestions", `!document.getElementById('billing-customer-options').hidden &&
		[...document.querySelectorAll('#billing-customer-options [role="option"]')].some(o => o.innerText.includes('E2E Trading'))`)
	if got := eval[string](t, ctx, `document.getElementById('billing-customer-q').getAttribute('aria-expanded')`); got != "true" {
		t.Fatalf("the open picker says aria-expanded=%q", got)
	}
	do(t, ctx, "choose the customer with the keyboard", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[string](t, ctx, `document.getElementById(document.getElementById('billing-customer-q').getAttribute('aria-activedescendant') || 'none')?.innerText || ''`); !strings.Contains(got, "E2E Trading") {
		t.Fatalf("the active suggestion is %q, want E2E Trading", got)
	}
	do(t, ctx, "press Enter", chromedp.KeyEvent(kb.Enter))
	inviteWaitFor(t, ctx, "the list filtered by the customer", `/customer=[^&]/.test(location.search) &&
		document.querySelectorAll('[data-testid="billing-invoice-table"] tbody tr').length === 1`)
	if got := eval[string](t, ctx, `document.getElementById('billing-customer-q').value`); !strings.HasPrefix(got, "E2E Trading") {
		t.Fatalf("the picker reads %q after choosing", got)
	}
	navigateBy(t, ctx, "reload the filtered list", chromedp.Reload())
	if got := eval[string](t, ctx, `document.getElementById('billing-customer-q').value`); !strings.HasPrefix(got, "E2E Trading") {
		t.Fatalf("the reloaded list's picker reads %q, want the chosen customer", got)
	}
	do(t, ctx, "click into the picker", chromedp.Click(chromedp.CSS(`#billing-customer-q`)))
	eval[bool](t, ctx, `document.getElementById('billing-customer-q').select(), true`)
	do(t, ctx, "empty the picker and leave it", chromedp.KeyEvent(kb.Backspace), chromedp.KeyEvent(kb.Tab))
	inviteWaitFor(t, ctx, "every customer's invoices again", `!/customer=[^&]/.test(location.search) &&
		document.querySelectorAll('[data-testid="billing-invoice-table"] tbody tr').length > 1`)
	tb.requireNoConsoleErrors(t, "at the end")
}
