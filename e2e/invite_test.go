package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestInviteBrowser: the demo admin invites a new person, the invitation e-mail arrives in the local SMTP
// server (mailpit), the person opens its link, chooses a password and lands signed in on the home page.
// Then the admin finds them with search-as-you-type and deactivates them through the confirmation dialog.
func TestInviteBrowser(t *testing.T) {
	srv := startServer(t)
	browser := startBrowser(t)
	suffix := make([]byte, 5)
	_, _ = rand.Read(suffix)
	email := "e2e-invitee-" + hex.EncodeToString(suffix) + "@example.com"
	const (
		name     = "Ingrid Invitee"
		password = "ingrid-chooses-a-long-passphrase"
	)

	// The admin sends the invitation.
	adminTab := newTab(t, browser, 1280, 800)
	actx := adminTab.ctx
	do(t, actx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
	if resp := signIn(t, actx, demoEmail, demoPassword); resp.Status != http.StatusOK {
		t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
	}
	do(t, actx, "see People in the sidebar", chromedp.WaitVisible(chromedp.CSS(`nav.sidebar a.nav__link[href="/admin/users"]`)))
	navigateBy(t, actx, "open People", chromedp.Click(chromedp.CSS(`nav.sidebar a.nav__link[href="/admin/users"]`)))
	requirePath(t, actx, "/admin/users")
	do(t, actx, "see the people table", chromedp.WaitVisible(chromedp.CSS(`[data-testid="people-table"]`)))
	navigateBy(t, actx, "open the invitation page", chromedp.Click(chromedp.CSS(`[data-testid="people-invite"]`)))
	requirePath(t, actx, "/admin/invitations/new")
	do(t, actx, "fill the invitation form",
		chromedp.WaitVisible(chromedp.CSS(`#field-email`)),
		chromedp.SendKeys(chromedp.CSS(`#field-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#field-name`), name),
		chromedp.SetValue(chromedp.CSS(`#field-role`), "finance"),
	)
	screenshot(t, actx, "invite-01-form")
	// htmx posts the form and follows HX-Redirect back to this page, which then lists the invitation.
	do(t, actx, "send the invitation",
		chromedp.Click(chromedp.CSS(`[data-testid="invite-send"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="invitation-row"]`)),
	)
	if row := text(t, actx, `[data-testid="invitation-row"]`); !strings.Contains(row, email) {
		t.Fatalf("the open invitation reads %q, want it to name %s", row, email)
	}
	adminTab.requireNoConsoleErrors(t, "after sending the invitation")
	screenshot(t, actx, "invite-02-sent")

	// The e-mail arrives in mailpit with the link.
	body := inviteMailText(t, email)
	link := regexp.MustCompile(`https?://\S+/invite/accept\?token=[A-Za-z0-9_-]+`).FindString(body)
	if link == "" {
		t.Fatalf("no invitation link in the e-mail:\n%s", body)
	}
	if !strings.HasPrefix(link, srv.url+"/") {
		t.Fatalf("the link %s does not point at the server %s", link, srv.url)
	}

	// The invitee opens it in their own browser, chooses a password and lands signed in.
	inviteeTab := newTab(t, browser, 1280, 800)
	ictx := inviteeTab.ctx
	if resp := navigateBy(t, ictx, "open the invitation link", chromedp.Navigate(link)); resp.Status != http.StatusOK {
		t.Fatalf("invitation page: HTTP %d, want 200", resp.Status)
	}
	if s := text(t, ictx, `[data-testid="invite-summary"]`); !strings.Contains(s, "Acme Manufacturing as Finance") {
		t.Fatalf("the invitation page says %q", s)
	}
	if v := value(t, ictx, `#field-name`); v != name {
		t.Fatalf("the name field holds %q, want the invited name %q", v, name)
	}
	screenshot(t, ictx, "invite-03-accept-form")
	do(t, ictx, "choose a password",
		chromedp.SendKeys(chromedp.CSS(`#field-password`), password),
		chromedp.SendKeys(chromedp.CSS(`#field-password_confirm`), password),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="whoami"]`)),
	)
	requirePath(t, ictx, "/")
	if who := text(t, ictx, `[data-testid="whoami"]`); !strings.Contains(who, name) {
		t.Fatalf("whoami is %q, want %q", who, name)
	}
	requireText(t, ictx, `[data-testid="current-tenant"]`, "Acme Manufacturing")
	inviteeTab.requireNoConsoleErrors(t, "after accepting the invitation")
	screenshot(t, ictx, "invite-04-signed-in")

	// The admin finds Ingrid by typing part of her name: the table filters itself and the URL follows.
	do(t, actx, "open People", chromedp.Navigate(srv.url+"/admin/users"))
	do(t, actx, "type in the search", chromedp.WaitVisible(chromedp.CSS(`#people-q`)), chromedp.SendKeys(chromedp.CSS(`#people-q`), "ingrid"))
	inviteWaitFor(t, actx, "the table to show only Ingrid", `(() => {
		const rows = document.querySelectorAll('[data-testid="person-row"]');
		return rows.length === 1 && rows[0].innerText.includes('Ingrid Invitee');
	})()`)
	inviteWaitFor(t, actx, "the search to reach the URL", `location.search.includes('q=ingrid')`)
	screenshot(t, actx, "invite-05-search")
	navigateBy(t, actx, "open Ingrid's page", chromedp.Click(chromedp.CSS(`[data-testid="person-row"] a`)))

	// Deactivation asks in our own dialog first.
	do(t, actx, "open the confirmation dialog",
		chromedp.Click(chromedp.CSS(`[data-testid="member-deactivate"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="member-deactivate-dialog"]`)),
	)
	if !eval[bool](t, actx, `document.querySelector('[data-testid="member-deactivate-dialog"]').open`) {
		t.Fatal("the deactivation dialog is not open")
	}
	screenshot(t, actx, "invite-06-confirm-deactivate")
	navigateBy(t, actx, "confirm the deactivation", chromedp.Click(chromedp.CSS(`[data-testid="member-deactivate-confirm"]`)))
	requireText(t, actx, `[data-testid="member-status"]`, "Deactivated")
	adminTab.requireNoConsoleErrors(t, "after deactivating")

	// Ingrid's session has ended: her next page is the sign-in page.
	do(t, ictx, "reload the home page", chromedp.Navigate(srv.url+"/"))
	requirePath(t, ictx, "/login")
}

// inviteWaitFor polls a JavaScript condition for up to 10 s.
func inviteWaitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !eval[bool](t, ctx, js) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s%s", what, pageHint(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inviteMailText waits up to 20 s for the one message to addr in mailpit and returns its text body.
func inviteMailText(t *testing.T, addr string) string {
	t.Helper()
	api := os.Getenv("MAILPIT_URL")
	if api == "" {
		api = "http://127.0.0.1:58025"
	}
	api = strings.TrimSuffix(api, "/") + "/api/v1"
	client := &http.Client{Timeout: 5 * time.Second}
	getJSON := func(u string, v any) {
		t.Helper()
		res, err := client.Get(u)
		if err != nil {
			t.Fatalf("mailpit at %s: %v (is it running? make services)", api, err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("mailpit %s: HTTP %d", u, res.StatusCode)
		}
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("mailpit %s: %v", u, err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var found struct {
			Messages []struct{ ID string } `json:"messages"`
		}
		getJSON(api+"/search?query="+url.QueryEscape("to:"+addr), &found)
		if len(found.Messages) > 1 {
			t.Fatalf("%d messages to %s, want one", len(found.Messages), addr)
		}
		if len(found.Messages) == 1 {
			var msg struct{ Subject, Text string }
			getJSON(api+"/message/"+url.PathEscape(found.Messages[0].ID), &msg)
			if want := "You are invited to join Acme Manufacturing on Ledgerline"; msg.Subject != want {
				t.Fatalf("the e-mail's subject is %q, want %q", msg.Subject, want)
			}
			return msg.Text
		}
		if time.Now().After(deadline) {
			t.Fatalf("no e-mail to %s arrived in mailpit within 20 s", addr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
