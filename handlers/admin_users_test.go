package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/handlers"
	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/views/admin"
)

// peopleRows returns the names in the people table, in order.
func peopleRows(r *response) []string {
	var names []string
	for _, row := range findAll(r.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "person-row" }) {
		names = append(names, textOf(elements(row, "a")[0]))
	}
	return names
}

// peoplePostHX posts a form the way htmx does: with the CSRF header and the target's id.
func (c *client) peoplePostHX(path string, form url.Values, target string) *response {
	c.t.Helper()
	return c.do(http.MethodPost, path, form, http.Header{
		"HX-Request": {"true"}, "HX-Target": {target}, "X-CSRF-Token": {c.token},
	})
}

// peopleSessionIndexLen counts the user's live sessions in the Redis session index.
func (b *testBundle) peopleSessionIndexLen(t *testing.T, userID store.ID) int {
	t.Helper()
	conn := b.redis.Get()
	defer conn.Close()
	n, err := redis.Int(conn.Do("HLEN", b.prefix+"user_sessions:"+userID.String()))
	require.NoError(t, err)
	return n
}

// peopleBulkMembers adds n members named "Bulk Person 001"... to the tenant, straight through SQL (no
// password hashing), for paging tests.
func (b *testBundle) peopleBulkMembers(t *testing.T, tenantID store.ID, n int) {
	t.Helper()
	ctx := context.Background()
	suffix := randomHex(4)
	require.NoError(t, b.db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		for i := 1; i <= n; i++ {
			id := store.NewID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
				id, fmt.Sprintf("bulk%03d-%s@example.com", i, suffix), fmt.Sprintf("Bulk Person %03d", i)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (user_id, role) VALUES ($1, 'employee')`, id); err != nil {
				return err
			}
		}
		return nil
	}))
}

func TestPeopleListSearchAndFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])

	res := c.get("/admin/users")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, []string{"Ada Admin", "Aude Auditor", "Eli Employee", "Fiona Finance", "Max Manager"}, peopleRows(res))
	require.Equal(t, "Showing 1–5 of 5", testID(t, res, "people-showing"))
	// The sidebar entry is there and marked current.
	var current []string
	for _, a := range findAll(res.doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "aria-current") == "page" }) {
		current = append(current, attr(a, "href"))
	}
	require.Contains(t, current, "/admin/users")

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"q=max", []string{"Max Manager"}},
		{"q=" + url.QueryEscape("EMPLOYEE-"), []string{"Eli Employee"}}, // e-mail addresses are employee-<suffix>@acme.example
		{"role=finance", []string{"Fiona Finance"}},
		{"role=admin&q=ada", []string{"Ada Admin"}},
		{"status=deactivated", nil},
		{"status=all", []string{"Ada Admin", "Aude Auditor", "Eli Employee", "Fiona Finance", "Max Manager"}},
		{"q=gus", nil}, // tenant B's admin
	} {
		res := c.get("/admin/users?" + tt.query)
		require.Equal(t, http.StatusOK, res.status, tt.query)
		require.Equal(t, tt.want, peopleRows(res), tt.query)
		if tt.want == nil {
			require.Contains(t, testID(t, res, "people-empty"), "No one matches these filters", tt.query)
		}
	}

	// The filters are kept in the form, so the URL is the whole state of the page.
	dept := selectOption(t, res, "department", "Operations")
	res = c.get("/admin/users?q=a&role=manager&department=" + dept)
	require.Equal(t, []string{"Max Manager"}, peopleRows(res))
	require.Equal(t, "a", inputValue(res.doc, "q"))
	require.Equal(t, "manager", peopleSelected(res, "role"))
	require.Equal(t, dept, peopleSelected(res, "department"))

	// Search as you type: htmx asks for the results only.
	res = c.do(http.MethodGet, "/admin/users?q=fio", nil, http.Header{"HX-Request": {"true"}, "HX-Target": {admin.PeopleResultsID}})
	require.Equal(t, http.StatusOK, res.status)
	require.NotContains(t, res.body, "<html")
	require.Contains(t, res.body, `id="`+admin.PeopleResultsID+`"`)
	require.Equal(t, []string{"Fiona Finance"}, peopleRows(res))

	// Nonsense in the URL is refused, not ignored.
	require.Equal(t, http.StatusUnprocessableEntity, c.get("/admin/users?role=boss").status)
	require.Equal(t, http.StatusUnprocessableEntity, c.get("/admin/users?after=garbage").status)
}

// peopleSelected returns the value of the selected option of select name.
func peopleSelected(r *response, name string) string {
	for _, sel := range elements(r.doc, "select") {
		if attr(sel, "name") != name {
			continue
		}
		for _, o := range elements(sel, "option") {
			for _, a := range o.Attr {
				if a.Key == "selected" {
					return attr(o, "value")
				}
			}
		}
	}
	return ""
}

func TestPeopleListPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.peopleBulkMembers(t, b.tenantA.ID, 60)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])

	res := c.get("/admin/users?q=bulk")
	require.Equal(t, http.StatusOK, res.status)
	rows := peopleRows(res)
	require.Len(t, rows, 50)
	require.Equal(t, "Bulk Person 001", rows[0])
	require.Equal(t, "Showing 1–50 of 60", testID(t, res, "people-showing"))
	next := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "people-next" })
	require.Len(t, next, 1)
	href := attr(next[0], "href")
	require.Contains(t, href, "q=bulk")
	require.Equal(t, href, attr(next[0], "hx-get"))

	res = c.get(href)
	require.Equal(t, http.StatusOK, res.status)
	rows = peopleRows(res)
	require.Len(t, rows, 10)
	require.Equal(t, "Bulk Person 051", rows[0])
	require.Equal(t, "Showing 51–60 of 60", testID(t, res, "people-showing"))
	_, hasNext := byTestID(res.doc, "people-next")
	require.False(t, hasNext)
	first := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "people-first" })
	require.Len(t, first, 1)
	require.Equal(t, "/admin/users?q=bulk", attr(first[0], "href"))
}

func TestPersonUpdate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])
	fiona := b.usersA[identity.RoleFinance]
	path := "/admin/users/" + fiona.ID.String()

	res := c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "Finance", testID(t, res, "member-role"))
	require.Equal(t, "1", inputValue(res.doc, "version"))
	dept := peopleSelected(res, "department_id")
	require.NotEmpty(t, dept)

	// Bad input: 422, the error summary, the input kept.
	res = c.post(path, url.Values{"role": {"boss"}, "department_id": {""}, "version": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Choose a role")
	require.Equal(t, "", peopleSelected(res, "department_id"), "the typed department is kept")
	// The same through htmx: only the form comes back.
	res = c.peoplePostHX(path, url.Values{"role": {"boss"}, "department_id": {dept}, "version": {"1"}}, admin.MemberFormID)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.NotContains(t, res.body, "<html")
	require.Contains(t, res.body, `id="`+admin.MemberFormID+`"`)
	require.Contains(t, testID(t, res, "error-summary"), "Choose a role")

	// A good change redirects to the page, which says so.
	res = c.post(path, url.Values{"role": {"manager"}, "department_id": {dept}, "version": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, path, res.location())
	res = c.get(path)
	require.Equal(t, "Department manager", testID(t, res, "member-role"))
	require.Contains(t, textOf(res.doc), "Fiona Finance is now a Department manager.")
	require.Equal(t, "2", inputValue(res.doc, "version"))

	// The form someone else still has open is stale now: 409 and the reason.
	res = c.post(path, url.Values{"role": {"employee"}, "department_id": {dept}, "version": {"1"}})
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, textOf(res.doc), "changed by someone else")
	res = c.peoplePostHX(path, url.Values{"role": {"employee"}, "department_id": {dept}, "version": {"1"}}, admin.MemberFormID)
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, res.header.Get("HX-Trigger"), "changed by someone else")
	require.Equal(t, "Department manager", testID(t, c.get(path), "member-role"))
}

func TestPersonLastAdmin(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ada := b.usersA[identity.RoleAdmin]
	c := b.signedIn(t, ada)
	path := "/admin/users/" + ada.ID.String()

	res := c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	dept := peopleSelected(res, "department_id")
	_, canDeactivate := byTestID(res.doc, "member-deactivate")
	require.False(t, canDeactivate, "no deactivate button on one's own page")

	res = c.post(path, url.Values{"role": {"employee"}, "department_id": {dept}, "version": {"1"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Ada Admin is the last active administrator of this organization. Make someone else an administrator first.")

	res = c.post(path+"/deactivate", nil)
	require.Equal(t, http.StatusConflict, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "You cannot deactivate yourself")
	require.Equal(t, http.StatusOK, c.get("/").status, "still signed in and still an admin")
	require.Equal(t, http.StatusOK, c.get("/admin/users").status)
}

func TestPersonDeactivateEndsSessionsEverywhere(t *testing.T) {
	t.Parallel()
	b := setup(t)
	adminClient := b.signedIn(t, b.usersA[identity.RoleAdmin])
	max := b.usersA[identity.RoleManager]

	// Max is signed in twice: here, and on a second instance sharing the database and Redis.
	here := b.signedIn(t, max)
	e2, err := handlers.New(handlers.Deps{
		DB: b.db, Redis: b.redis, RedisPrefix: b.prefix, BaseURL: b.baseURL,
		Logger: slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	require.NoError(t, err)
	srv2 := httptest.NewServer(e2)
	t.Cleanup(srv2.Close)
	there := b.newClient(t)
	there.base, err = url.Parse(srv2.URL)
	require.NoError(t, err)
	res := there.signIn(max.Email, max.Password)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusOK, here.get("/").status)
	require.Equal(t, http.StatusOK, there.get("/").status)
	require.Equal(t, 2, b.peopleSessionIndexLen(t, max.ID))

	path := "/admin/users/" + max.ID.String()
	res = adminClient.get(path)
	require.Equal(t, http.StatusOK, res.status)
	dialog := findAll(res.doc, func(n *html.Node) bool { return n.Data == "dialog" })
	require.Len(t, dialog, 1, "deactivation asks in our own dialog")
	require.Equal(t, admin.MemberDeactivateDialogID, attr(dialog[0], "id"))
	trigger := findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "member-deactivate" })
	require.Equal(t, admin.MemberDeactivateDialogID, attr(trigger[0], "commandfor"))
	require.Equal(t, "show-modal", attr(trigger[0], "command"))

	res = adminClient.post(path+"/deactivate", nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, path, res.location())
	require.Equal(t, 0, b.peopleSessionIndexLen(t, max.ID))

	// The very next request of each of Max's sessions is signed out, on either instance.
	for name, cl := range map[string]*client{"same instance": here, "other instance": there} {
		res = cl.get("/")
		require.Equal(t, http.StatusSeeOther, res.status, name)
		require.Equal(t, "/login", res.location(), name)
	}
	res = b.newClient(t).signIn(max.Email, max.Password)
	require.Equal(t, http.StatusUnauthorized, res.status, "a deactivated member cannot sign in again")

	res = adminClient.get(path)
	require.Contains(t, textOf(res.doc), "Max Manager is deactivated and has been signed out everywhere.")
	require.Equal(t, "Deactivated", testID(t, res, "member-status"))
	require.Equal(t, []string{"Max Manager"}, peopleRows(adminClient.get("/admin/users?status=deactivated")))

	// Reactivated, Max signs in again with the same role.
	res = adminClient.post(path+"/reactivate", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "Active", testID(t, adminClient.get(path), "member-status"))
	b.signedIn(t, max)
}

func TestPersonRoleChangeEndsSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	adminClient := b.signedIn(t, b.usersA[identity.RoleAdmin])
	eli := b.usersA[identity.RoleEmployee]
	eliClient := b.signedIn(t, eli)
	require.Equal(t, http.StatusOK, eliClient.get("/").status)
	path := "/admin/users/" + eli.ID.String()
	res := adminClient.get(path)
	dept := peopleSelected(res, "department_id")

	// Changing only the department leaves the session alone.
	res = adminClient.post(path, url.Values{"role": {"employee"}, "department_id": {""}, "version": {"1"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusOK, eliClient.get("/").status)

	res = adminClient.post(path, url.Values{"role": {"auditor"}, "department_id": {dept}, "version": {"2"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = eliClient.get("/")
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/login", res.location())
	c := b.signedIn(t, eli)
	require.Equal(t, "Auditor", testID(t, c.get("/"), "role"))
}

func TestPeopleCrossTenant(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.signedIn(t, b.usersA[identity.RoleAdmin])
	eve := b.usersB[identity.RoleEmployee]
	path := "/admin/users/" + eve.ID.String()

	require.Equal(t, http.StatusNotFound, c.get(path).status)
	res := c.get("/admin/users") // a page with a form, for the CSRF token
	require.NotContains(t, peopleRows(res), eve.Name)
	require.Equal(t, http.StatusNotFound, c.post(path, url.Values{"role": {"admin"}, "version": {"1"}}).status)
	require.Equal(t, http.StatusNotFound, c.post(path+"/deactivate", nil).status)
	require.Equal(t, http.StatusNotFound, c.post(path+"/reactivate", nil).status)
	require.Equal(t, http.StatusNotFound, c.get("/admin/users/not-an-id").status)

	// Tenant B's invitation cannot be revoked from tenant A.
	inv, err := identity.InvitationCreate(context.Background(), b.db, store.Scope{TenantID: b.tenantB.ID, ActorID: b.usersB[identity.RoleAdmin].ID},
		identity.InvitationCreateParams{Email: "cross-" + randomHex(4) + "@example.com", Name: "Cross", Role: identity.RoleEmployee, LinkPrefix: "x"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, c.post("/admin/invitations/"+inv.ID.String()+"/revoke", nil).status)

	// Eve is untouched.
	res = b.signedIn(t, b.usersB[identity.RoleAdmin]).get(path)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "Employee", testID(t, res, "member-role"))
	require.Equal(t, "Active", testID(t, res, "member-status"))

	// Ada is only an auditor in B: after switching there, People is closed to her.
	c.get("/")
	res = c.post("/tenant/switch", url.Values{"tenant_id": {b.tenantB.ID.String()}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, http.StatusForbidden, c.get("/admin/users").status)
	require.Equal(t, http.StatusForbidden, c.get(path).status)
}

// peopleMail waits for the one message to addr in mailpit and returns its subject and text.
func peopleMail(t *testing.T, addr string) (subject, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ids := mailsTo(t, addr); len(ids) > 0 {
			require.Len(t, ids, 1, "more than one message to %s", addr)
			res, err := http.Get(mailpitAPI() + "/message/" + url.PathEscape(ids[0]))
			require.NoError(t, err)
			defer res.Body.Close()
			var m struct{ Subject, Text string }
			require.NoError(t, json.NewDecoder(res.Body).Decode(&m))
			return m.Subject, m.Text
		}
		if time.Now().After(deadline) {
			require.FailNow(t, "no mail", "no message to %s arrived in mailpit within 15 s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var inviteLink = regexp.MustCompile(`https?://\S+/invite/accept\?token=[A-Za-z0-9_-]+`)

func TestInvitationEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.startWorkers(t)
	adminClient := b.signedIn(t, b.usersA[identity.RoleAdmin])
	email := "invitee-" + randomHex(6) + "@example.com"
	const password = "an-invited-passphrase-1"

	res := adminClient.get("/admin/invitations/new")
	require.Equal(t, http.StatusOK, res.status)
	testID(t, res, "invitations-empty")
	dept := selectOption(t, res, "department_id", "Operations")

	// Bad input comes back with the errors and the input kept.
	res = adminClient.post("/admin/invitations", url.Values{"email": {"not-an-address"}, "name": {"Ivy Invitee"}, "role": {"finance"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Enter an e-mail address in the correct format")
	require.Equal(t, "Ivy Invitee", inputValue(res.doc, "name"))
	require.Equal(t, "finance", peopleSelected(res, "role"))
	// A member's address is refused the same way.
	res = adminClient.peoplePostHX("/admin/invitations", url.Values{"email": {b.usersA[identity.RoleManager].Email}, "name": {"Max"}, "role": {"employee"}}, admin.InviteFormID)
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.NotContains(t, res.body, "<html")
	require.Contains(t, testID(t, res, "error-summary"), "already a member")

	res = adminClient.post("/admin/invitations", url.Values{"email": {email}, "name": {"Ivy Invitee"}, "role": {"finance"}, "department_id": {dept}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/admin/invitations/new", res.location())
	res = adminClient.get("/admin/invitations/new")
	require.Contains(t, textOf(res.doc), "Invitation sent to "+email)
	require.Len(t, findAll(res.doc, func(n *html.Node) bool { return attr(n, "data-testid") == "invitation-row" }), 1)
	require.Contains(t, testID(t, res, "invitations"), email)

	subject, text := peopleMail(t, email)
	require.Equal(t, "You are invited to join Acme Manufacturing on Ledgerline", subject)
	require.Contains(t, text, "Ada Admin invited you to join Acme Manufacturing on Ledgerline as Finance")
	link := inviteLink.FindString(text)
	require.NotEmpty(t, link, "no invitation link in the mail:\n%s", text)
	linkURL, err := url.Parse(link)
	require.NoError(t, err)
	require.Equal(t, b.baseURL.Host, linkURL.Host)
	token := linkURL.Query().Get("token")

	invitee := b.newClient(t)
	res = invitee.get(linkURL.RequestURI())
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"))
	require.Contains(t, testID(t, res, "invite-summary"), "Acme Manufacturing as Finance")
	require.Equal(t, "Ivy Invitee", inputValue(res.doc, "name"))

	res = invitee.post("/invite/accept", url.Values{"token": {token}, "name": {"Ivy I."}, "password": {password}, "password_confirm": {password + "x"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, testID(t, res, "error-summary"), "Enter the same password twice")
	require.Equal(t, "Ivy I.", inputValue(res.doc, "name"))

	res = invitee.post("/invite/accept", url.Values{"token": {token}, "name": {"Ivy I."}, "password": {password}, "password_confirm": {password}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/", res.location())
	res = invitee.get("/")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "Ivy I.", testID(t, res, "whoami"))
	require.Equal(t, "Finance", testID(t, res, "role"))
	require.Contains(t, textOf(res.doc), "Welcome to Acme Manufacturing")

	// The link works once.
	res = b.newClient(t).get(linkURL.RequestURI())
	require.Equal(t, http.StatusNotFound, res.status)
	testID(t, res, "invite-invalid")
	other := b.newClient(t)
	other.get("/login")
	res = other.post("/invite/accept", url.Values{"token": {token}, "name": {"Mallory"}, "password": {password}, "password_confirm": {password}})
	require.Equal(t, http.StatusNotFound, res.status)

	// The admin sees Ivy among the people and no open invitation.
	require.Contains(t, peopleRows(adminClient.get("/admin/users?q=ivy")), "Ivy I.")
	testID(t, adminClient.get("/admin/invitations/new"), "invitations-empty")
}

func TestInvitationExistingAccountSignsInFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	eve := b.usersB[identity.RoleEmployee] // has an account (in tenant B)
	inv, err := identity.InvitationCreate(context.Background(), b.db,
		store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID},
		identity.InvitationCreateParams{Email: eve.Email, Name: "Eve", Role: identity.RoleAuditor, LinkPrefix: "http://unused.example/invite/accept?token="})
	require.NoError(t, err)
	// The token only exists in the sealed e-mail; read it back from the queued job.
	token := b.peopleQueuedInviteToken(t, eve.Email)
	_ = inv
	path := "/invite/accept?token=" + url.QueryEscape(token)

	c := b.newClient(t)
	res := c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, testID(t, res, "invite-sign-in"), "You already have a Ledgerline account")
	_, hasPassword := byTestID(res.doc, "invite-accept-form")
	require.False(t, hasPassword, "no password form for an existing account")
	// Posting anyway, with a password, is refused.
	res = c.post("/invite/accept", url.Values{"token": {token}, "password": {"take-over-attempt-1"}, "password_confirm": {"take-over-attempt-1"}})
	require.Equal(t, http.StatusUnauthorized, res.status)

	// Sign in through the page's link, which comes back here.
	signInURL := ""
	for _, a := range elements(res.doc, "a") {
		if strings.HasPrefix(attr(a, "href"), "/login?next=") {
			signInURL = attr(a, "href")
		}
	}
	require.NotEmpty(t, signInURL)
	next, err := url.Parse(signInURL)
	require.NoError(t, err)
	require.Equal(t, path, next.Query().Get("next"))
	c.get(signInURL)
	res = c.post("/login", url.Values{"email": {eve.Email}, "password": {eve.Password}, "next": {next.Query().Get("next")}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, path, res.location())

	res = c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	testID(t, res, "invite-accept-form")
	res = c.post("/invite/accept", url.Values{"token": {token}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = c.get("/")
	require.Equal(t, b.tenantA.Name, testID(t, res, "current-tenant"), "working in the tenant just joined")
	require.Equal(t, "Auditor", testID(t, res, "role"))
	require.Contains(t, textOf(res.doc), "You have joined Acme Manufacturing.")
	res = b.newClient(t).signIn(eve.Email, eve.Password)
	require.Equal(t, http.StatusSeeOther, res.status, "the password is unchanged")
}

// peopleQueuedInviteToken reads the invitation token out of the (sealed) e-mail job queued to addr.
func (b *testBundle) peopleQueuedInviteToken(t *testing.T, addr string) string {
	t.Helper()
	var raw []byte
	require.NoError(t, b.db.X.GetContext(context.Background(), &raw,
		`SELECT args FROM river_job WHERE kind = 'email_send' AND args->>'to' = $1 ORDER BY id DESC LIMIT 1`, addr))
	var args struct {
		To         string `json:"to"`
		SealedText []byte `json:"sealed_text"`
	}
	require.NoError(t, json.Unmarshal(raw, &args))
	text, err := b.db.Secrets.Open(args.SealedText, []byte(args.To))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(text), "token=")
	require.True(t, ok)
	return strings.Fields(rest)[0]
}
