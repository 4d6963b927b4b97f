package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store/identity"
)

func smtpURL(t *testing.T) *url.URL {
	raw := os.Getenv("SMTP_URL")
	if raw == "" {
		raw = "smtp://127.0.0.1:51025"
	}
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u
}

func mailpitAPI() string {
	if u := os.Getenv("MAILPIT_URL"); u != "" {
		return strings.TrimSuffix(u, "/") + "/api/v1"
	}
	return "http://127.0.0.1:58025/api/v1"
}

// startWorkers replaces the bundle's insert-only River client with one that works jobs and sends mail
// through the test SMTP server.
func (b *testBundle) startWorkers(t *testing.T) {
	t.Helper()
	client, err := jobs.NewClient(jobs.Deps{
		DB:     b.db,
		Mailer: &jobs.Mailer{URL: smtpURL(t), From: "Ledgerline <noreply@ledgerline.test>"},
		Logger: slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, jobs.ClientOpts{Workers: 2})
	require.NoError(t, err)
	b.db.UseJobs(client)
	require.NoError(t, client.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := client.Stop(ctx); err != nil {
			t.Logf("stop River: %v", err)
		}
	})
}

type mailpitSearch struct {
	MessagesCount int `json:"messages_count"`
	Messages      []struct {
		ID string `json:"ID"`
	} `json:"messages"`
}

// mailsTo returns the IDs of the messages to addr in mailpit.
func mailsTo(t *testing.T, addr string) []string {
	t.Helper()
	res, err := http.Get(mailpitAPI() + "/search?query=" + url.QueryEscape("to:"+addr))
	require.NoError(t, err, "is mailpit running? (make services)")
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var s mailpitSearch
	require.NoError(t, json.NewDecoder(res.Body).Decode(&s))
	ids := make([]string, 0, len(s.Messages))
	for _, m := range s.Messages {
		ids = append(ids, m.ID)
	}
	return ids
}

// waitForMail polls mailpit until a message to addr arrives (up to 15 s) and returns its text body.
func waitForMail(t *testing.T, addr string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ids := mailsTo(t, addr); len(ids) > 0 {
			require.Len(t, ids, 1, "more than one message to %s", addr)
			res, err := http.Get(mailpitAPI() + "/message/" + url.PathEscape(ids[0]))
			require.NoError(t, err)
			defer res.Body.Close()
			var m struct {
				Text    string `json:"Text"`
				Subject string `json:"Subject"`
			}
			require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
			require.Equal(t, "Reset your Ledgerline password", m.Subject)
			return m.Text
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "no mail", "no message to %s arrived in mailpit within 15 s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var resetLink = regexp.MustCompile(`https?://\S+/password/reset\?token=[A-Za-z0-9_-]+`)

func TestPasswordResetEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorkers(t)
	u := b.usersB[identity.RoleManager]
	unknown := fmt.Sprintf("nobody-%s@nowhere.example", randomHex(6))
	const newPassword = "a-brand-new-passphrase-2"

	// The unknown address first: by the time the real user's mail has arrived, a mail to it would have too.
	c := b.newClient(t)
	res := c.get("/password/forgot")
	require.Equal(t, http.StatusOK, res.status)
	res = c.post("/password/forgot", url.Values{"email": {unknown}})
	require.Equal(t, http.StatusOK, res.status)
	sentUnknown := testID(t, res, "forgot-sent")

	require.Equal(t, http.StatusOK, c.get("/password/forgot").status)
	res = c.post("/password/forgot", url.Values{"email": {u.Email}})
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, sentUnknown, testID(t, res, "forgot-sent"), "the answer tells whether the account exists")

	text := waitForMail(t, u.Email)
	link := resetLink.FindString(text)
	require.NotEmpty(t, link, "no reset link in the mail:\n%s", text)
	require.Contains(t, text, u.Name)
	linkURL, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, b.baseURL.Host, linkURL.Host, "the link points at BaseURL")
	path := linkURL.RequestURI()
	require.Empty(t, mailsTo(t, unknown), "a reset mail went to an address with no account")

	// The link opens the form; the token never leaks as a referrer.
	res = c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"))
	require.Equal(t, linkURL.Query().Get("token"), inputValue(res.doc, "token"))

	// Mismatched passwords are sent back with an error and do not use up the link.
	res = c.post("/password/reset", url.Values{"token": {inputValue(res.doc, "token")}, "password": {newPassword}, "password_confirm": {newPassword + "x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	res = c.post("/password/reset", url.Values{"token": {inputValue(res.doc, "token")}, "password": {newPassword}, "password_confirm": {newPassword}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	res = c.get("/login")
	require.Contains(t, textOf(res.doc), "Your password has been changed.")

	res = b.newClient(t).signIn(u.Email, u.Password)
	require.Equal(t, http.StatusUnauthorized, res.status, "the old password still works")
	u.Password = newPassword
	signedIn := b.signedIn(t, u)
	require.Equal(t, u.Name, testID(t, signedIn.get("/"), "whoami"))

	// The link works once.
	res = c.get(path)
	require.Equal(t, http.StatusNotFound, res.status)
	require.Contains(t, textOf(res.doc), "expired or was already used")
	testID(t, res, "reset-invalid")
	res = c.post("/password/reset", url.Values{"token": {linkURL.Query().Get("token")}, "password": {"yet-another-passphrase"}, "password_confirm": {"yet-another-passphrase"}})
	require.Equal(t, http.StatusNotFound, res.status)
	require.Contains(t, textOf(res.doc), "expired or was already used")
	res = b.newClient(t).signIn(u.Email, "yet-another-passphrase")
	require.Equal(t, http.StatusUnauthorized, res.status)

	require.Len(t, b.auditEvents(t, b.tenantB.ID, "auth.password_reset"), 1)
	require.Empty(t, mailsTo(t, unknown))
}
