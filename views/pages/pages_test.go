package pages

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/a-h/templ"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"

	"ledgerline/views/layout"
	"ledgerline/views/ui"
)

// render renders c the way handlers do (into a buffer first) and parses the result.
func render(t *testing.T, c templ.Component) (string, *html.Node) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, c.Render(context.Background(), &buf))
	doc, err := html.Parse(strings.NewReader(buf.String()))
	require.NoError(t, err)
	return buf.String(), doc
}

// findAll returns the elements for which match is true, in document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var found []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			found = append(found, c)
		}
	}
	return found
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func byTestID(doc *html.Node, id string) []*html.Node {
	return findAll(doc, func(n *html.Node) bool {
		v, ok := attr(n, "data-testid")
		return ok && v == id
	})
}

func byID(doc *html.Node, id string) *html.Node {
	found := findAll(doc, func(n *html.Node) bool {
		v, ok := attr(n, "id")
		return ok && v == id
	})
	if len(found) == 0 {
		return nil
	}
	return found[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestLogin(t *testing.T) {
	t.Parallel()

	s := layout.Shell{Nonce: "n0nce", CSRFToken: `tok"en<`}
	out, doc := render(t, Login(s, LoginForm{Email: "ana@example.com", Next: "/billing", Error: "Email or password is wrong"}))

	errBox := byTestID(doc, "login-error")
	require.Len(t, errBox, 1)
	require.Equal(t, "Email or password is wrong", text(errBox[0]))

	email := byID(doc, "field-email")
	require.NotNil(t, email)
	v, _ := attr(email, "value")
	require.Equal(t, "ana@example.com", v)
	ac, _ := attr(email, "autocomplete")
	require.Equal(t, "username", ac)

	pw := byID(doc, "field-password")
	require.NotNil(t, pw)
	_, hasValue := attr(pw, "value")
	require.False(t, hasValue, "a password input must not carry a value")

	next := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "name"); return v == "next" })
	require.Len(t, next, 1)
	v, _ = attr(next[0], "value")
	require.Equal(t, "/billing", v)

	csrf := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "name"); return v == "_csrf" })
	require.Len(t, csrf, 1)
	v, _ = attr(csrf[0], "value")
	require.Equal(t, `tok"en<`, v)

	// The token reaches htmx as valid JSON, whatever characters it holds.
	body := findAll(doc, func(n *html.Node) bool { return n.Data == "body" })
	require.Len(t, body, 1)
	headers, _ := attr(body[0], "hx-headers")
	require.JSONEq(t, `{"X-CSRF-Token":"tok\"en<"}`, headers)

	require.Contains(t, out, "<title>Sign in — Ledgerline</title>")
	require.NotContains(t, out, "style=", "the CSP forbids inline styles")
	for _, script := range findAll(doc, func(n *html.Node) bool { return n.Data == "script" }) {
		nonce, _ := attr(script, "nonce")
		require.Equal(t, "n0nce", nonce)
		src, _ := attr(script, "src")
		require.NotEmpty(t, src, "the CSP forbids inline scripts")
	}
}

func TestFieldNeverRendersPassword(t *testing.T) {
	t.Parallel()

	out, doc := render(t, ui.Field(ui.FieldProps{Name: "password", Label: "Password", Type: "password", Value: "hunter2-secret", Error: "Enter your password"}))
	require.NotContains(t, out, "hunter2-secret")

	input := byID(doc, "field-password")
	require.NotNil(t, input)
	invalid, _ := attr(input, "aria-invalid")
	require.Equal(t, "true", invalid)
	describedBy, _ := attr(input, "aria-describedby")
	require.Equal(t, "field-password-error", describedBy)
	require.Contains(t, text(byID(doc, "field-password-error")), "Enter your password")
}

func TestFieldKeepsValueAndLinksHintAndError(t *testing.T) {
	t.Parallel()

	_, doc := render(t, ui.Field(ui.FieldProps{Name: "quantity", Label: "Quantity", Type: "number", Value: "-3", Hint: "In stock units", Error: "Enter a quantity greater than 0"}))

	input := byID(doc, "field-quantity")
	require.NotNil(t, input)
	v, _ := attr(input, "value")
	require.Equal(t, "-3", v)
	describedBy, _ := attr(input, "aria-describedby")
	require.Equal(t, "field-quantity-hint field-quantity-error", describedBy)
	require.NotNil(t, byID(doc, "field-quantity-hint"))
}

func TestErrorSummaryLinksToFields(t *testing.T) {
	t.Parallel()

	_, doc := render(t, ResetPassword(layout.Shell{}, ResetForm{Token: "t", Errors: []ui.FieldError{
		{Field: "password", Message: "Enter a new password"},
		{Field: "password_confirm", Message: "Type the same password twice"},
	}}))
	summary := byTestID(doc, "error-summary")
	require.Len(t, summary, 1)
	role, _ := attr(summary[0], "role")
	require.Equal(t, "alert", role)

	links := findAll(summary[0], func(n *html.Node) bool { return n.Data == "a" })
	require.Len(t, links, 2)
	for i, want := range []string{"#field-password", "#field-password_confirm"} {
		href, _ := attr(links[i], "href")
		require.Equal(t, want, href)
		require.NotNil(t, byID(doc, strings.TrimPrefix(want, "#")), "the summary links to a field that exists")
	}

	_, doc = render(t, ResetPassword(layout.Shell{}, ResetForm{}))
	require.Empty(t, byTestID(doc, "error-summary"))
}

func TestAppTenantSwitcher(t *testing.T) {
	t.Parallel()

	shell := func(tenants ...layout.TenantChoice) layout.Shell {
		return layout.Shell{
			Title:     "Invoices",
			CSRFToken: "csrf-1",
			Actor:     &layout.Actor{UserName: "Ana", Role: "Admin", TenantName: "Acme", TenantID: "t1", Tenants: tenants},
			Nav:       []layout.NavItem{{Label: "Home", Href: "/", Icon: "home"}, {Label: "Approvals", Href: "/approvals", Icon: "approvals", Active: true, Count: 3}},
		}
	}

	tests := []struct {
		name     string
		tenants  []layout.TenantChoice
		switcher bool
	}{
		{name: "NoMemberships", tenants: nil, switcher: false},
		{name: "OneMembership", tenants: []layout.TenantChoice{{ID: "t1", Name: "Acme", Current: true}}, switcher: false},
		{name: "TwoMemberships", tenants: []layout.TenantChoice{{ID: "t1", Name: "Acme", Current: true}, {ID: "t2", Name: "Globex", Role: "Viewer"}}, switcher: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			out, doc := render(t, Home(shell(tt.tenants...), HomeView{UserName: "Ana", TenantName: "Acme"}))
			require.Contains(t, out, "<title>Invoices — Ledgerline</title>")
			require.Len(t, byTestID(doc, "sign-out"), 1)

			switchers := byTestID(doc, "tenant-switcher")
			if !tt.switcher {
				require.Empty(t, switchers)
				require.Equal(t, "Acme", text(byTestID(doc, "shell-tenant")[0]))
				return
			}
			require.Len(t, switchers, 1)
			action, _ := attr(switchers[0], "action")
			require.Equal(t, "/tenant/switch", action)
			selected := findAll(switchers[0], func(n *html.Node) bool { _, ok := attr(n, "selected"); return n.Data == "option" && ok })
			require.Len(t, selected, 1)
			v, _ := attr(selected[0], "value")
			require.Equal(t, "t1", v)
		})
	}
}

func TestAppNavigation(t *testing.T) {
	t.Parallel()

	s := layout.Shell{
		Actor: &layout.Actor{UserName: "Ana"},
		Nav:   []layout.NavItem{{Label: "Home", Href: "/", Icon: "home"}, {Label: "Approvals", Href: "/approvals", Icon: "approvals", Active: true, Count: 3}},
		Toasts: []layout.Toast{
			{Kind: layout.ToastSuccess, Message: "Invoice issued"},
			{Kind: layout.ToastError, Message: "Could not send the email"},
		},
	}
	_, doc := render(t, Home(s, HomeView{UserName: "Ana"}))

	current := findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "aria-current"); return v == "page" })
	require.Len(t, current, 1)
	require.Equal(t, "Approvals 3", text(current[0]))

	toasts := byID(doc, layout.ToastRegionID)
	require.NotNil(t, toasts)
	alerts := findAll(toasts, func(n *html.Node) bool { v, _ := attr(n, "role"); return v == "alert" })
	require.Len(t, alerts, 1, "only the error toast is an alert")
	require.Contains(t, text(alerts[0]), "Could not send the email")

	main := byID(doc, layout.MainID)
	require.NotNil(t, main)
	require.Equal(t, "main", main.Data)
	require.Len(t, byTestID(doc, "whoami"), 1)
}

func TestError(t *testing.T) {
	t.Parallel()

	_, doc := render(t, Error(layout.Shell{}, ErrorView{Status: 404, RequestID: "req-42"}))
	page := byTestID(doc, "error-page")
	require.Len(t, page, 1)
	require.Contains(t, text(page[0]), "Error 404")
	require.Contains(t, text(page[0]), "Page not found")
	require.Equal(t, "req-42", text(byTestID(doc, "request-id")[0]))
	require.Empty(t, byTestID(doc, "sign-out"), "signed-out error pages use the public frame")

	_, doc = render(t, Error(layout.Shell{Actor: &layout.Actor{UserName: "Ana"}}, ErrorView{Status: 403, SignedIn: true}))
	require.Len(t, byTestID(doc, "sign-out"), 1)
	require.Empty(t, byTestID(doc, "request-id"))
}
