package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"ledgerline/handlers/ssotest"
)

// TestSSOBrowser: the demo admin points Acme's single sign-on at a real OpenID provider (zitadel's op
// package, started by the test), then a manager signs in through it from the sign-in page: Ledgerline
// sends the browser to the provider with PKCE, state and nonce, the provider signs them in and sends them
// back, and they land on the home page.
func TestSSOBrowser(t *testing.T) {
	srv := startServer(t)
	provider := ssotest.Start(t, srv.url+"/sso/callback")
	browser := startBrowser(t)

	admin := newTab(t, browser, 1280, 800)
	actx := admin.ctx
	do(t, actx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, actx, demoEmail, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	do(t, actx, "open single sign-on settings", chromedp.Navigate(srv.url+"/admin/sso"))
	do(t, actx, "fill the provider settings",
		chromedp.WaitVisible(chromedp.CSS(`#field-issuer_url`)),
		chromedp.SendKeys(chromedp.CSS(`#field-issuer_url`), provider.Issuer),
		chromedp.SendKeys(chromedp.CSS(`#field-client_id`), provider.ClientID),
		chromedp.SendKeys(chromedp.CSS(`#field-client_secret`), provider.ClientSecret),
		chromedp.SendKeys(chromedp.CSS(`#field-allowed_domains`), "acme.example"),
		chromedp.SetValue(chromedp.CSS(`#field-default_role`), "employee"),
	)
	screenshot(t, actx, "sso-01-settings")
	navigateBy(t, actx, "save the settings", chromedp.Click(chromedp.CSS(`[data-testid="sso-save"]`)))
	requirePath(t, actx, "/admin/sso")
	admin.requireNoConsoleErrors(t, "on the SSO settings page")

	provider.SignInAs(ssotest.User{Subject: "max", Email: "manager@acme.example", EmailVerified: true, Name: "Max Manager"})
	tab := newTab(t, browser, 1280, 800)
	ctx := tab.ctx
	do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	navigateBy(t, ctx, "choose single sign-on", chromedp.Click(chromedp.CSS(`[data-testid="sso-link"]`)))
	requirePath(t, ctx, "/sso")
	do(t, ctx, "enter the work e-mail",
		chromedp.WaitVisible(chromedp.CSS(`#field-identifier`)),
		chromedp.SendKeys(chromedp.CSS(`#field-identifier`), "manager@acme.example"),
	)
	screenshot(t, ctx, "sso-02-start")
	resp := navigateBy(t, ctx, "continue to the provider and back", chromedp.Click(chromedp.CSS(`[data-testid="sso-continue"]`)))
	if resp.Status != http.StatusOK {
		t.Fatalf("after single sign-on: HTTP %d, want 200%s", resp.Status, pageHint(ctx))
	}
	do(t, ctx, "see the home page", chromedp.WaitVisible(chromedp.CSS(`[data-testid="whoami"]`)))
	requirePath(t, ctx, "/")
	if who := text(t, ctx, `[data-testid="whoami"]`); !strings.Contains(who, "Max Manager") {
		t.Fatalf(`whoami is %q, want it to contain "Max Manager"`, who)
	}
	requireText(t, ctx, `[data-testid="current-tenant"]`, "Acme Manufacturing")
	tab.requireNoConsoleErrors(t, "after single sign-on")
	screenshot(t, ctx, "sso-03-home")
}
