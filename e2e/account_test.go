package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// TestBrowserAccount walks the own-account pages in Chromium: the Account link, a refused password change
// (swapped in place by htmx), two-factor enrolment with the QR code and the recovery codes, and signing in
// again with a code from the authenticator app. The pages must fit a phone and break no CSP rule.
func TestBrowserAccount(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	tab := newTab(t, browser, 1280, 800)
	ctx := tab.ctx
	// htmx reports its 422 answers (a form with errors) like any failed request.
	xhr422 := regexp.MustCompile(`^browser log \(network\): Failed to load resource: the server responded with a status of 422`)

	const email = "employee@acme.example"
	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, ctx, email, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}

	resp := navigateBy(t, ctx, "open the account page", chromedp.Click(chromedp.CSS(`[data-testid="account-link"]`)))
	if resp.Status != http.StatusOK {
		t.Fatalf("account page: HTTP %d, want 200", resp.Status)
	}
	requirePath(t, ctx, "/account")
	requireText(t, ctx, `[data-testid="account-email"]`, email)
	tab.requireNoConsoleErrors(t, "on the account page")
	screenshot(t, ctx, "account-01-profile")

	// A wrong current password comes back in place, with the error summary focused.
	do(t, ctx, "open the password page", chromedp.Navigate(srv.url+"/account/password"))
	do(t, ctx, "fill the password form",
		chromedp.WaitVisible(chromedp.CSS(`#field-current_password`)),
		chromedp.SendKeys(chromedp.CSS(`#field-current_password`), "not-my-password"),
		chromedp.SendKeys(chromedp.CSS(`#field-password`), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS(`#field-password_confirm`), "a brand new passphrase"),
		chromedp.Click(chromedp.CSS(`[data-testid="password-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	requirePath(t, ctx, "/account/password")
	if msg := text(t, ctx, `[data-testid="error-summary"]`); !strings.Contains(msg, "current password is incorrect") {
		t.Fatalf("the error summary reads %q", msg)
	}
	time.Sleep(300 * time.Millisecond) // htmx moves focus when the swap settles, a moment after it shows
	if focused := eval[bool](t, ctx, `document.activeElement && document.activeElement.matches('[data-error-summary]')`); !focused {
		t.Fatal("the error summary does not have the focus after the refused change")
	}
	tab.requireNoConsoleErrors(t, "after a refused password change", xhr422)
	screenshot(t, ctx, "account-02-password-refused")

	// Two-factor enrolment.
	if left := 30 - time.Now().Unix()%30; left < 8 {
		time.Sleep(time.Duration(left)*time.Second + 100*time.Millisecond)
	}
	do(t, ctx, "open the two-factor page", chromedp.Navigate(srv.url+"/account/two-factor"))
	do(t, ctx, "start the set-up",
		chromedp.Click(chromedp.CSS(`[data-testid="two-factor-setup"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="totp-secret"]`)),
	)
	if w := eval[int](t, ctx, `document.querySelector('[data-testid="totp-qr"]').naturalWidth`); w != 200 {
		t.Fatalf("the QR code image did not load (naturalWidth %d)", w)
	}
	secret := strings.ReplaceAll(text(t, ctx, `[data-testid="totp-secret"]`), " ", "")
	tab.requireNoConsoleErrors(t, "on the two-factor set-up")
	screenshot(t, ctx, "account-03-two-factor-setup")

	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "confirm with a code",
		chromedp.SendKeys(chromedp.CSS(`#field-code`), code),
		chromedp.Click(chromedp.CSS(`[data-testid="two-factor-enable"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="recovery-codes"]`)),
	)
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-testid="recovery-codes"] li').length`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	tab.requireNoConsoleErrors(t, "with the recovery codes")
	screenshot(t, ctx, "account-04-recovery-codes")

	// Signing in again needs a code.
	navigateBy(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid="sign-out"]`)))
	signIn(t, ctx, email, demoPassword)
	requirePath(t, ctx, "/login/two-factor")
	tab.requireNoConsoleErrors(t, "on the code page")
	screenshot(t, ctx, "account-05-sign-in-code")
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "enter the code", chromedp.SendKeys(chromedp.CSS(`#field-code`), next))
	resp = navigateBy(t, ctx, "submit the code", chromedp.Click(chromedp.CSS(`[data-testid="sign-in-code"]`)))
	if resp.Status != http.StatusOK {
		t.Fatalf("home page after the code: HTTP %d, want 200", resp.Status)
	}
	requirePath(t, ctx, "/")
	requireText(t, ctx, `[data-testid="whoami"]`, "Eli Employee")

	// The account pages fit a phone.
	phone := newTab(t, browser, 360, 740)
	do(t, phone.ctx, "open the sign-in page on a phone", chromedp.Navigate(srv.url+"/login"))
	signIn(t, phone.ctx, "manager@acme.example", demoPassword)
	for _, path := range []string{"/account", "/account/password", "/account/sessions", "/account/two-factor"} {
		do(t, phone.ctx, "open "+path+" on a phone", chromedp.Navigate(srv.url+path), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
		requireNoHorizontalOverflow(t, phone.ctx, 360, path)
	}
	do(t, phone.ctx, "start the set-up on a phone",
		chromedp.Click(chromedp.CSS(`[data-testid="two-factor-setup"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="totp-secret"]`)),
	)
	requireNoHorizontalOverflow(t, phone.ctx, 360, "two-factor set-up")
	screenshot(t, phone.ctx, "account-06-phone-two-factor-setup")
	do(t, phone.ctx, "open the sessions on a phone", chromedp.Navigate(srv.url+"/account/sessions"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	screenshot(t, phone.ctx, "account-07-phone-sessions")
	phone.requireNoConsoleErrors(t, "on the phone's account pages")
}
