package handlers_test

// Security and accessibility probes built from the router, not from a hand list: every GET route Echo knows
// is a starting point of a crawler that follows the links of every page as every role, so the pages of a
// module added later are probed without changing this file.

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/handlers"
	"ledgerline/store"
	"ledgerline/store/approvals"
	"ledgerline/store/billing"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
)

// probeRoles are the roles every probe runs as, in tenant A (and the same role in tenant B for the
// cross-tenant probe).
var probeRoles = []identity.Role{identity.RoleAdmin, identity.RoleManager, identity.RoleFinance,
	identity.RoleEmployee, identity.RoleAuditor}

// crawlSkip are GET routes the crawler does not open: machine endpoints (no HTML page), the job monitor
// (River UI, a single-page app with its own tests in admin_jobs_test.go) and the API (bearer tokens).
func crawlSkip(path string) bool {
	for _, p := range []string{"/static/", "/api/", "/admin/jobs", "/metrics", "/healthz", "/readyz"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

var uuidInPath = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// crawledPage is one page the crawler fetched.
type crawledPage struct {
	url   string // path and query
	route string // the Echo route it matched
	res   *response
}

// crawler walks the site as one client.
type crawler struct {
	t     *testing.T
	b     *testBundle
	c     *client
	seen  map[string]bool
	byKey map[string]int // route + query parameter names → pages fetched, so filters and pages do not explode
	pages []crawledPage
}

const (
	crawlMaxPages    = 400
	crawlMaxPerShape = 2
)

// routeOf returns the Echo route pattern that serves a GET of path.
func (b *testBundle) routeOf(path string) string {
	ctx := b.echo.NewContext(httptest.NewRequest(http.MethodGet, path, nil), httptest.NewRecorder())
	b.echo.Router().Find(http.MethodGet, path, ctx)
	return ctx.Path()
}

// startPaths are the GET routes without parameters: where the crawl begins.
func (b *testBundle) startPaths() []string {
	var paths []string
	for _, r := range b.echo.Routes() {
		if r.Method != http.MethodGet || strings.ContainsAny(r.Path, ":*") || crawlSkip(r.Path) {
			continue
		}
		paths = append(paths, r.Path)
	}
	sort.Strings(paths)
	return slices.Compact(paths)
}

// crawl fetches every page reachable from the router's GET routes through links, and checks each response
// with check. Signing out and other unsafe actions are forms (POST), never links, so the walk changes nothing.
func (b *testBundle) crawl(t *testing.T, c *client, check func(crawledPage)) []crawledPage {
	t.Helper()
	cr := &crawler{t: t, b: b, c: c, seen: map[string]bool{}, byKey: map[string]int{}}
	queue := b.startPaths()
	for len(queue) > 0 && len(cr.pages) < crawlMaxPages {
		u := queue[0]
		queue = queue[1:]
		if cr.seen[u] {
			continue
		}
		cr.seen[u] = true
		parsed, err := url.Parse(u)
		require.NoError(t, err)
		route := b.routeOf(parsed.Path)
		if route == "" || crawlSkip(parsed.Path) {
			continue
		}
		var names []string
		for k := range parsed.Query() {
			names = append(names, k)
		}
		sort.Strings(names)
		shape := route + "?" + strings.Join(names, "&")
		if cr.byKey[shape] >= crawlMaxPerShape {
			continue
		}
		cr.byKey[shape]++
		res := c.get(u)
		p := crawledPage{url: u, route: route, res: res}
		cr.pages = append(cr.pages, p)
		check(p)
		if res.doc == nil {
			continue
		}
		for _, a := range elements(res.doc, "a") {
			href := attr(a, "href")
			ref, err := url.Parse(href)
			if err != nil || href == "" || strings.HasPrefix(href, "#") {
				continue
			}
			next := parsed.ResolveReference(ref)
			if next.Host != "" && next.Host != b.baseURL.Host {
				continue
			}
			next.Fragment = ""
			if n := next.RequestURI(); !cr.seen[n] {
				queue = append(queue, n)
			}
		}
	}
	return cr.pages
}

// requirePageSound checks what every HTML page owes: no server error, the security headers, scripts only
// with the CSP nonce, CSRF tokens in unsafe forms, and the accessibility basics a machine can check
// (language, title, landmarks, one h1, a name for every control, alt text).
func requirePageSound(t *testing.T, p crawledPage) {
	t.Helper()
	res := p.res
	require.Less(t, res.status, 500, "GET %s: server error\n%s", p.url, res.body)
	if res.status >= 300 && res.status < 400 {
		return
	}
	csp := res.header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'self'", "GET %s: CSP", p.url)
	require.Contains(t, csp, "frame-ancestors 'none'", "GET %s: CSP", p.url)
	require.NotContains(t, csp, "unsafe-inline", "GET %s: CSP", p.url)
	require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), "GET %s", p.url)
	require.Equal(t, "DENY", res.header.Get("X-Frame-Options"), "GET %s", p.url)
	require.NotEmpty(t, res.header.Get("Referrer-Policy"), "GET %s", p.url)
	if res.doc == nil {
		return
	}
	m := nonceInCSP.FindStringSubmatch(csp)
	require.NotNil(t, m, "GET %s: no script nonce in the CSP %q", p.url, csp)
	for _, s := range elements(res.doc, "script") {
		if attr(s, "src") == "" {
			require.Equal(t, m[1], attr(s, "nonce"), "GET %s: an inline script without the request's nonce", p.url)
		} else {
			src, err := url.Parse(attr(s, "src"))
			require.NoError(t, err)
			require.Empty(t, src.Host, "GET %s: a script from another origin: %s", p.url, attr(s, "src"))
		}
	}
	for _, f := range elements(res.doc, "form") {
		if strings.EqualFold(attr(f, "method"), "post") {
			require.NotEmpty(t, findAll(f, func(n *html.Node) bool {
				return n.Data == "input" && attr(n, "name") == "_csrf" && attr(n, "value") != ""
			}),
				"GET %s: a POST form to %q without a CSRF token", p.url, attr(f, "action"))
		}
	}
	requireAccessibleBasics(t, p)
}

func requireAccessibleBasics(t *testing.T, p crawledPage) {
	t.Helper()
	doc := p.res.doc
	htmlEl := elements(doc, "html")
	require.Len(t, htmlEl, 1)
	require.NotEmpty(t, attr(htmlEl[0], "lang"), "GET %s: <html> without lang", p.url)
	// The document's title (SVG charts carry <title> tooltips of their own, which are not it).
	titles := findAll(doc, func(n *html.Node) bool {
		return n.Type == html.ElementNode && n.Data == "title" && n.Parent != nil && n.Parent.Data == "head"
	})
	require.Len(t, titles, 1, "GET %s: <title>", p.url)
	require.Contains(t, textOf(titles[0]), "Ledgerline", "GET %s: the title names the product", p.url)
	require.Len(t, elements(doc, "main"), 1, "GET %s: one <main> landmark", p.url)
	require.Len(t, elements(doc, "h1"), 1, "GET %s: one <h1>", p.url)
	// Labels: a control is named by <label for>, an enclosing <label>, aria-label(ledby) or title.
	labelled := map[string]bool{}
	for _, l := range elements(doc, "label") {
		labelled[attr(l, "for")] = true
	}
	insideLabel := func(n *html.Node) bool {
		for a := n.Parent; a != nil; a = a.Parent {
			if a.Type == html.ElementNode && a.Data == "label" {
				return true
			}
		}
		return false
	}
	for _, n := range findAll(doc, func(n *html.Node) bool {
		return n.Data == "select" || n.Data == "textarea" || n.Data == "input"
	}) {
		switch attr(n, "type") {
		case "hidden", "submit", "button", "reset", "image":
			continue
		}
		named := (attr(n, "id") != "" && labelled[attr(n, "id")]) || insideLabel(n) ||
			attr(n, "aria-label") != "" || attr(n, "aria-labelledby") != "" || attr(n, "title") != ""
		require.True(t, named, "GET %s: <%s name=%q> has no label", p.url, n.Data, attr(n, "name"))
	}
	for _, img := range elements(doc, "img") {
		_, hasAlt := attrOK(img, "alt")
		require.True(t, hasAlt, "GET %s: <img src=%q> without alt", p.url, attr(img, "src"))
	}
	for _, b := range elements(doc, "button") {
		require.True(t, textOf(b) != "" || attr(b, "aria-label") != "" || attr(b, "title") != "",
			"GET %s: a button without a name", p.url)
	}
}

// TestProbeCrawlEveryRoleBothTenants crawls the site as every role of tenant A, checks every page, then
// asks for every page whose path names a record of tenant A as the same role of tenant B: nothing of
// another tenant may show (404, or 403 where the role lacks the right), and nothing may fail.
func TestProbeCrawlEveryRoleBothTenants(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.inventoryA(t)
	b.inventoryB(t)
	// A record of every module in both tenants, so their pages are crawled and probed across tenants.
	b.modulesA(t)
	b.billingB(t)
	b.approvalB(t)
	b.exportRun(t, b.tenantB.ID, b.exportB(t))

	var ownRecords int
	for _, role := range probeRoles {
		t.Run(string(role), func(t *testing.T) {
			t.Parallel()
			own := b.signedIn(t, b.usersA[role])
			pages := b.crawl(t, own, func(p crawledPage) { requirePageSound(t, p) })
			require.Greater(t, len(pages), 5, "the crawl as %s reached too few pages", role)

			other := b.signedIn(t, b.usersB[role])
			probed := 0
			for _, p := range pages {
				path := strings.SplitN(p.url, "?", 2)[0]
				// The admin of A is also a member of B (as auditor): their person page rightly opens in both.
				if p.res.status != http.StatusOK || !uuidInPath.MatchString(path) || strings.Contains(path, b.both.ID.String()) {
					continue
				}
				res := other.get(p.url)
				require.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, res.status,
					"%s of tenant B opened %s (route %s) of tenant A", role, p.url, p.route)
				requirePageSound(t, crawledPage{url: p.url, route: p.route, res: res})
				probed++
			}
			t.Logf("%s: %d pages crawled, %d records of tenant A probed from tenant B", role, len(pages), probed)
			if role == identity.RoleAdmin {
				ownRecords = probed
				// The crawl reaches every module's pages, lists and records alike, and they answer 200.
				reached := map[string]bool{}
				for _, p := range pages {
					if p.res.status == http.StatusOK {
						reached[p.route] = true
					}
				}
				for _, route := range []string{"/billing", "/billing/invoices/:id", "/billing/customers/:id", "/billing/payments/:id",
					"/billing/reports", "/approvals", "/approvals/all", "/approvals/:id", "/exports", "/exports/:id",
					"/admin/webhooks", "/admin/sso"} {
					require.True(t, reached[route], "the admin's crawl never opened %s", route)
				}
			}
		})
	}
	t.Cleanup(func() {
		if !t.Failed() {
			require.Positive(t, ownRecords, "the admin's crawl found no record pages to probe across tenants")
		}
	})
}

// unsafeRoutes are the routes with an unsafe method outside the API (which takes no cookies).
func (b *testBundle) unsafeRoutes() []*echo.Route {
	var out []*echo.Route
	for _, r := range b.echo.Routes() {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			continue
		}
		if strings.HasPrefix(r.Path, "/api/") {
			continue
		}
		out = append(out, r)
	}
	return out
}

// TestProbeCSRFEveryUnsafeRoute sends every unsafe route, as a signed-in admin and as a visitor, without
// a CSRF token and again as a cross-site browser with the token: each must be refused with 403 before the
// handler runs.
func TestProbeCSRFEveryUnsafeRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ids := b.matrixIDs(t)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	anon := b.newClient(t)
	anon.get("/login")
	routes := b.unsafeRoutes()
	require.NotEmpty(t, routes)
	for _, r := range routes {
		path, form, _ := b.matrixRequest(ids, r.Method, r.Path)
		path = strings.Replace(path, "*", "queues", 1)
		if form == nil {
			form = url.Values{}
		}
		for _, c := range []*client{admin, anon} {
			res := c.do(r.Method, path, form, nil)
			require.Equal(t, http.StatusForbidden, res.status, "%s %s without a CSRF token", r.Method, path)

			withToken := url.Values{"_csrf": {c.token}}
			for k, v := range form {
				withToken[k] = v
			}
			res = c.do(r.Method, path, withToken, http.Header{"Sec-Fetch-Site": {"cross-site"}})
			require.Equal(t, http.StatusForbidden, res.status, "%s %s from another site", r.Method, path)
		}
	}
	// The refusals changed nothing: the admin is still signed in.
	require.Equal(t, http.StatusOK, admin.get("/").status)
	t.Logf("%d unsafe routes refused without a token and from another site", len(routes))
}

// TestProbeSessionCookieFlags checks the cookies a sign-in sets, over plain HTTP (development) and with
// COOKIE_SECURE (behind TLS): HttpOnly, SameSite=Lax, host-only, session-scoped, and Secure with the
// __Host- prefix when secure.
func TestProbeSessionCookieFlags(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleEmployee]

	check := func(t *testing.T, base string, secure bool) {
		c := b.newClient(t)
		c.base, _ = url.Parse(base)
		page := c.get("/login")
		require.Equal(t, http.StatusOK, page.status)
		res := c.post("/login", url.Values{"email": {u.Email}, "password": {u.Password}})
		require.Equal(t, http.StatusSeeOther, res.status)
		var session *http.Cookie
		for _, raw := range res.header.Values("Set-Cookie") {
			ck, err := http.ParseSetCookie(raw)
			require.NoError(t, err)
			if strings.HasSuffix(ck.Name, "ledgerline_session") {
				session = ck
			}
		}
		require.NotNil(t, session, "sign-in set no session cookie: %v", res.header.Values("Set-Cookie"))
		require.True(t, session.HttpOnly, "HttpOnly")
		require.Equal(t, http.SameSiteLaxMode, session.SameSite)
		require.Equal(t, "/", session.Path)
		require.Empty(t, session.Domain, "host-only")
		require.True(t, session.Expires.IsZero() && session.MaxAge == 0, "a browser-session cookie")
		require.Equal(t, secure, session.Secure, "Secure")
		if secure {
			require.Equal(t, "__Host-ledgerline_session", session.Name)
			require.NotEmpty(t, res.header.Get("Strict-Transport-Security"))
		} else {
			require.Equal(t, sessionCookie, session.Name)
		}
		// The CSRF cookie, when set, is HttpOnly too.
		for _, raw := range page.header.Values("Set-Cookie") {
			ck, err := http.ParseSetCookie(raw)
			require.NoError(t, err)
			if strings.Contains(ck.Name, "csrf") {
				require.True(t, ck.HttpOnly)
				require.Equal(t, secure, ck.Secure)
			}
		}
	}
	t.Run("Development", func(t *testing.T) { check(t, b.baseURL.String(), false) })
	t.Run("Secure", func(t *testing.T) {
		// A second server on the same database and Redis, configured as behind TLS. Go's cookie jar keeps
		// Secure cookies for http://127.0.0.1 too, so the flow works over the test's plain HTTP.
		srv := httptest.NewUnstartedServer(nil)
		base, err := url.Parse("http://" + srv.Listener.Addr().String())
		require.NoError(t, err)
		e, err := handlers.New(handlers.Deps{
			DB: b.db, Redis: b.redis, RedisPrefix: b.prefix, BaseURL: base, CookieSecure: true,
			Logger: slog.New(slog.NewTextHandler(b.logs, nil)),
		})
		require.NoError(t, err)
		srv.Config.Handler = e
		srv.Start()
		t.Cleanup(srv.Close)
		check(t, base.String(), true)
	})
}

// TestProbeNextCannotLeaveTheSite tries the usual open-redirect tricks on the sign-in's next= parameter.
func TestProbeNextCannotLeaveTheSite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	u := b.usersA[identity.RoleEmployee]
	for _, next := range []string{
		"//evil.example/", "https://evil.example/", "http:evil.example", "/\\evil.example", "\\\\evil.example",
		"/%2F%2Fevil.example", "javascript:alert(1)", "%2F%2Fevil.example", " //evil.example", "/\t/evil.example",
		"https:/\\evil.example", "data:text/html,hi", "///evil.example", "/./\\evil.example",
	} {
		c := b.newClient(t)
		page := c.get("/login?next=" + url.QueryEscape(next))
		require.Equal(t, http.StatusOK, page.status)
		res := c.post("/login", url.Values{"email": {u.Email}, "password": {u.Password}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, res.status, "next=%q", next)
		loc, err := url.Parse(res.location())
		require.NoError(t, err, "next=%q", next)
		require.Empty(t, loc.Scheme, "next=%q sent the browser to %q", next, res.location())
		require.Empty(t, loc.Host, "next=%q sent the browser to %q", next, res.location())
		require.True(t, strings.HasPrefix(res.location(), "/"), "next=%q → %q", next, res.location())
		require.False(t, strings.HasPrefix(res.location(), "//") || strings.HasPrefix(res.location(), "/\\"),
			"next=%q → %q (a browser reads it as another host)", next, res.location())
	}
}

// Payloads saved into text fields: markup that would run or inject if printed unescaped, and SQL
// metacharacters that would break or alter a query built from input.
const (
	xssPayload = `<script>alert(1)</script>"'><img src=x onerror=alert(2) data-xss=1>`
	sqlPayload = `O'Brien"; DROP TABLE items;-- 100% _x_ \ $1`
)

// formAction is how TestProbeStoredPayloadsEscaped decides whether it may submit a form: forms that sign
// out, delete, deactivate, revoke, switch tenant, reverse or change credentials are left alone, because
// they would end the crawl or hold no text.
var destructiveAction = regexp.MustCompile(`logout|/delete|deactivate|reactivate|revoke|/end|switch|two-factor|password|reverse|release|restore|recovery|/import|/verify|/jobs`)

// fillForm fills a form as a person would: text fields get text(field), everything else keeps what the
// page put there (selected options, checked boxes, hidden values), and a selection with nothing chosen
// gets its first real option.
func fillForm(f *html.Node, tickBoxes bool, text func(name, typ, orig string) string) url.Values {
	v := url.Values{}
	ticked := map[string]bool{}
	if tickBoxes {
		for _, n := range findAll(f, func(n *html.Node) bool { return n.Data == "input" && attr(n, "type") == "checkbox" }) {
			if _, on := attrOK(n, "checked"); on {
				ticked[attr(n, "name")] = true
			}
		}
	}
	for _, n := range findAll(f, func(n *html.Node) bool {
		return n.Data == "input" || n.Data == "select" || n.Data == "textarea"
	}) {
		name := attr(n, "name")
		if name == "" {
			continue
		}
		_, disabled := attrOK(n, "disabled")
		if disabled {
			continue
		}
		switch n.Data {
		case "textarea":
			v.Add(name, text(name, "textarea", textOf(n)))
		case "select":
			var chosen, first string
			for _, o := range elements(n, "option") {
				val, ok := attrOK(o, "value")
				if !ok {
					val = textOf(o)
				}
				if first == "" && val != "" {
					first = val
				}
				if _, sel := attrOK(o, "selected"); sel {
					chosen = val
				}
			}
			if chosen == "" {
				chosen = first
			}
			v.Add(name, chosen)
		default:
			typ := attr(n, "type")
			switch typ {
			case "", "text", "search":
				v.Add(name, text(name, typ, attr(n, "value")))
			case "checkbox", "radio":
				if _, on := attrOK(n, "checked"); on {
					v.Add(name, attr(n, "value"))
				} else if typ == "checkbox" && tickBoxes && !ticked[name] {
					// A group with nothing ticked (e.g. a token's scopes) gets its first box.
					ticked[name] = true
					v.Add(name, attr(n, "value"))
				}
			case "submit", "button", "file", "image", "reset":
			case "number":
				if attr(n, "value") != "" {
					v.Add(name, attr(n, "value"))
				} else {
					v.Add(name, "1")
				}
			case "date":
				if attr(n, "value") != "" {
					v.Add(name, attr(n, "value"))
				} else {
					v.Add(name, time.Now().Format("2006-01-02"))
				}
			default: // hidden, email, url, tel, password, …: what the page holds
				v.Add(name, attr(n, "value"))
			}
		}
	}
	return v
}

// requireNoInjectedMarkup fails when the payload became markup anywhere in a page.
func requireNoInjectedMarkup(t *testing.T, where string, res *response) {
	t.Helper()
	if res.doc == nil {
		return
	}
	injected := findAll(res.doc, func(n *html.Node) bool {
		if _, ok := attrOK(n, "data-xss"); ok {
			return true
		}
		if _, ok := attrOK(n, "onerror"); ok {
			return true
		}
		return n.Data == "script" && strings.Contains(textOf(n), "alert(")
	})
	require.Empty(t, injected, "%s: the stored payload became markup", where)
}

// TestProbeStoredPayloadsEscaped saves an XSS payload and SQL metacharacters into every text field of every
// form the crawler finds (as the admin of tenant A, who may use every form), then crawls the site as every
// role: the payloads must appear as text, never as markup, and nothing may fail. A field that refuses the
// payload (a code, an e-mail address) gets a plain value so the record is still saved.
func TestProbeStoredPayloadsEscaped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.inventoryA(t)
	b.modulesA(t)
	// Every role signs in first: a form the probe submits (a sign-in policy, say) must not lock them out.
	clients := map[identity.Role]*client{}
	for _, role := range probeRoles {
		clients[role] = b.signedIn(t, b.usersA[role])
	}
	admin := clients[identity.RoleAdmin]

	submitted := map[string]bool{}
	saved := 0
	n := 0
	submitForms := func(pages []crawledPage) {
		for _, p := range pages {
			if p.res.doc == nil || p.res.status != http.StatusOK {
				continue
			}
			for _, f := range elements(p.res.doc, "form") {
				if !strings.EqualFold(attr(f, "method"), "post") || strings.Contains(attr(f, "enctype"), "multipart") {
					continue
				}
				ref, err := url.Parse(attr(f, "action"))
				require.NoError(t, err)
				action := must(url.Parse(p.url)).ResolveReference(ref)
				route := b.routeOf(action.Path)
				if route == "" || destructiveAction.MatchString(action.Path) || submitted[route] {
					continue
				}
				submitted[route] = true
				bad := map[string]int{}
				tick := false
				for attempt := 0; attempt < 4; attempt++ {
					n++
					form := fillForm(f, tick, func(name, typ, orig string) string {
						switch {
						case name == "q" || name == "search" || typ == "search":
							return xssPayload
						case bad[name] == 1:
							return fmt.Sprintf("Probe %d", n)
						case bad[name] > 1 && orig != "":
							return orig
						case bad[name] > 1:
							return "1"
						case n%2 == 0:
							return sqlPayload + fmt.Sprint(n)
						default:
							return xssPayload + fmt.Sprint(n)
						}
					})
					res := admin.do(http.MethodPost, action.RequestURI(), form, nil)
					where := fmt.Sprintf("POST %s (from %s)", action.Path, p.url)
					require.Less(t, res.status, 500, "%s: %s", where, res.body)
					requireNoInjectedMarkup(t, where, res)
					if res.status != http.StatusUnprocessableEntity || attempt == 3 {
						t.Logf("%s: %d after %d attempt(s) %v", where, res.status, attempt+1, bad)
						if res.status < 400 {
							saved++
						}
						break
					}
					// Plain text where the form said the payload is not acceptable.
					// The fields marked invalid, and those the error summary links to.
					invalid := map[string]bool{}
					for _, inv := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "aria-invalid") == "true" }) {
						invalid[attr(inv, "name")] = true
					}
					for _, a := range findAll(res.doc, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "#") }) {
						id := strings.TrimPrefix(attr(a, "href"), "#")
						for _, field := range findAll(res.doc, func(n *html.Node) bool { return attr(n, "id") == id && attr(n, "name") != "" }) {
							invalid[attr(field, "name")] = true
						}
					}
					for name := range invalid {
						bad[name]++
					}
					// Nothing named: perhaps a required choice; tick a box per group as a person would.
					tick = tick || len(invalid) == 0
				}
			}
		}
	}
	// Round one: the forms of the pages the routes name (lists, "new" pages, settings). Round two: the
	// forms of the records they created (edit forms on detail pages).
	submitForms(b.crawl(t, admin, func(p crawledPage) { requirePageSound(t, p) }))
	submitForms(b.crawl(t, admin, func(p crawledPage) { requirePageSound(t, p) }))
	require.Greater(t, saved, 3, "too few forms accepted the payloads: %v", submitted)
	t.Logf("%d forms submitted with payloads, %d saved", len(submitted), saved)

	for _, role := range probeRoles {
		c := clients[role]
		shown := 0
		b.crawl(t, c, func(p crawledPage) {
			requirePageSound(t, p)
			requireNoInjectedMarkup(t, "GET "+p.url+" as "+string(role), p.res)
			text := textOf(p.res.doc)
			if strings.Contains(text, "onerror=alert(2)") || strings.Contains(text, "DROP TABLE items;--") {
				shown++
			}
		})
		if role == identity.RoleAdmin {
			require.Positive(t, shown, "no page shows the stored payloads as text")
		}
		t.Logf("%s: %d pages show a stored payload, escaped", role, shown)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestProbeUploadsRefused finds every upload form the crawler reaches (as the admin) and sends it a file of
// the wrong type and a file over any limit: each must be refused with a 4xx, never stored, never a 5xx.
func TestProbeUploadsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := b.signedIn(t, b.usersA[identity.RoleAdmin])
	actions := map[string]bool{}
	for _, p := range b.crawl(t, admin, func(p crawledPage) { requirePageSound(t, p) }) {
		for _, f := range elements(p.res.doc, "form") {
			if strings.Contains(attr(f, "enctype"), "multipart/form-data") {
				ref, err := url.Parse(attr(f, "action"))
				require.NoError(t, err)
				actions[must(url.Parse(p.url)).ResolveReference(ref).RequestURI()] = true
			}
		}
	}
	require.NotEmpty(t, actions, "no upload form found")
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 512)...)
	huge := bytes.Repeat([]byte("a,b,c\n"), (33<<20)/6) // over every upload limit of the app (20 MB today)
	for action := range actions {
		for _, tt := range []struct {
			name, file string
			content    []byte
		}{
			{"wrong type", "picture.png", png},
			{"too large", "huge.csv", huge},
		} {
			admin.get("/") // a fresh token
			res := admin.upload(action, tt.file, tt.content, false)
			require.True(t, res.status >= 400 && res.status < 500, "%s to %s: %d\n%s", tt.name, action, res.status, res.body)
		}
	}
	t.Logf("%d upload forms refuse the wrong type and an oversized file", len(actions))
}

// modulesA gives tenant A a record of each business module: an issued, part-paid invoice (with its tax rate
// and customer), a submitted approval request and a finished export.
func (b *testBundle) modulesA(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	sc := store.Scope{TenantID: b.tenantA.ID}
	rate, err := billing.TaxRateCreate(ctx, b.db, sc, billing.TaxRateCreateParams{Name: "Standard", RateBP: 1900})
	require.NoError(t, err)
	cust, err := billing.CustomerCreate(ctx, b.db, sc, billing.CustomerFields{Name: "Initech", Email: "ap@initech.example", Currency: "EUR"})
	require.NoError(t, err)
	inv, err := billing.InvoiceCreate(ctx, b.db, sc, billing.InvoiceCreateParams{CustomerID: cust.ID})
	require.NoError(t, err)
	_, err = billing.InvoiceLineAdd(ctx, b.db, sc, inv.ID, 0, billing.LineParams{Description: "A work", Quantity: billing.Units(2), UnitPrice: 5000, TaxRateID: rate.ID})
	require.NoError(t, err)
	_, err = billing.InvoiceIssue(ctx, b.db, sc, billing.InvoiceIssueParams{ID: inv.ID})
	require.NoError(t, err)
	_, err = billing.PaymentRecord(ctx, b.db, sc, billing.PaymentParams{CustomerID: cust.ID, Amount: 1000, ReceivedOn: time.Now(),
		Method: billing.MethodCash, Allocations: []billing.Allocation{{InvoiceID: inv.ID, Amount: 1000}}})
	require.NoError(t, err)
	emp := store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleEmployee].ID}
	r, err := approvals.RequestCreate(ctx, b.db, emp, approvals.RequestFields{Type: approvals.TypeGeneral, Title: "Acme request", Amount: 100})
	require.NoError(t, err)
	_, err = approvals.RequestSubmit(ctx, b.db, emp, r.ID, r.Version)
	require.NoError(t, err)
	x, err := exports.Create(ctx, b.db, store.Scope{TenantID: b.tenantA.ID, ActorID: b.usersA[identity.RoleAdmin].ID},
		exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	require.NoError(t, err)
	b.exportRun(t, b.tenantA.ID, x.ID)
}
