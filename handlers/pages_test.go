package handlers_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/store/identity"
)

// TestPages checks what every page shares: the shell with the user, the error pages and the security
// headers. The subtests share one bundle (each setup hashes ten passwords).
func TestPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t.Run("HomeShowsUserAndTenant", func(t *testing.T) {
		t.Parallel()
		testHomeShowsUserAndTenant(t, b)
	})
	t.Run("NotFoundSignedInRendersShell", func(t *testing.T) {
		t.Parallel()
		testNotFoundSignedInRendersShell(t, b)
	})
	t.Run("SecurityHeaders", func(t *testing.T) {
		t.Parallel()
		testSecurityHeaders(t, b)
	})
}

func testHomeShowsUserAndTenant(t *testing.T, b *testBundle) {
	u := b.usersA[identity.RoleFinance]
	c := b.signedIn(t, u)

	res := c.get("/")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, u.Name, testID(t, res, "whoami"))
	require.Equal(t, u.Name, testID(t, res, "shell-user"))
	require.Equal(t, b.tenantA.Name, testID(t, res, "current-tenant"))
	require.Equal(t, "Finance", testID(t, res, "role"))
	require.Equal(t, "no-store", res.header.Get("Cache-Control"))
}

func testNotFoundSignedInRendersShell(t *testing.T, b *testBundle) {
	u := b.usersA[identity.RoleEmployee]
	c := b.signedIn(t, u)

	res := c.get("/no-such-page")
	require.Equal(t, http.StatusNotFound, res.status)
	require.Contains(t, testID(t, res, "error-page"), "Page not found")
	// The app frame: the user menu with the name and the sidebar navigation.
	require.Equal(t, u.Name, testID(t, res, "shell-user"))
	require.NotEmpty(t, findAll(res.doc, func(n *html.Node) bool { return n.Data == "nav" && attr(n, "id") == "sidebar" }))
	require.NotEmpty(t, testID(t, res, "request-id"))
	require.Equal(t, res.header.Get("X-Request-Id"), testID(t, res, "request-id"))

	// Signed out, the same path is a 404 in the public frame.
	anon := b.newClient(t)
	res = anon.get("/no-such-page")
	require.Equal(t, http.StatusNotFound, res.status)
	testID(t, res, "error-page")
	_, signedIn := byTestID(res.doc, "shell-user")
	require.False(t, signedIn)
}

var nonceInCSP = regexp.MustCompile(`script-src 'self' 'nonce-([A-Za-z0-9_-]+)'`)

func testSecurityHeaders(t *testing.T, b *testBundle) {
	anon := b.newClient(t)
	signedIn := b.signedIn(t, b.usersA[identity.RoleAdmin])

	seen := map[string]bool{}
	for _, tt := range []struct {
		name string
		c    *client
		path string
	}{
		{"sign-in page", anon, "/login"},
		{"home page", signedIn, "/"},
		{"error page", signedIn, "/no-such-page"},
	} {
		res := tt.c.get(tt.path)
		require.Contains(t, []int{http.StatusOK, http.StatusNotFound}, res.status, tt.name)
		csp := res.header.Get("Content-Security-Policy")
		m := nonceInCSP.FindStringSubmatch(csp)
		require.NotNil(t, m, "%s: no script nonce in CSP %q", tt.name, csp)
		nonce := m[1]
		require.GreaterOrEqual(t, len(nonce), 16, tt.name)
		require.False(t, seen[nonce], "%s: nonce %q reused", tt.name, nonce)
		seen[nonce] = true
		require.Contains(t, csp, "frame-ancestors 'none'", tt.name)
		require.Contains(t, csp, "object-src 'none'", tt.name)
		require.Equal(t, "DENY", res.header.Get("X-Frame-Options"), tt.name)
		require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), tt.name)

		scripts := elements(res.doc, "script")
		require.NotEmpty(t, scripts, tt.name)
		for _, s := range scripts {
			require.Equal(t, nonce, attr(s, "nonce"), "%s: <script src=%q> does not carry the CSP nonce", tt.name, attr(s, "src"))
		}
	}

	// Every asset the page links to is served with a year-long immutable cache.
	page := anon.get("/login")
	var assets []string
	for _, s := range elements(page.doc, "script") {
		assets = append(assets, attr(s, "src"))
	}
	for _, l := range elements(page.doc, "link") {
		assets = append(assets, attr(l, "href"))
	}
	require.GreaterOrEqual(t, len(assets), 3)
	for _, a := range assets {
		require.Regexp(t, `^/static/`, a)
		res := anon.get(a)
		require.Equal(t, http.StatusOK, res.status, a)
		require.Equal(t, "public, max-age=31536000, immutable", res.header.Get("Cache-Control"), a)
		require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"), a)
		require.NotEmpty(t, res.body, a)
	}
	res := anon.get("/static/app.00000000.css")
	require.Equal(t, http.StatusNotFound, res.status)
	require.NotContains(t, res.header.Get("Cache-Control"), "immutable")
}
