package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// session is one signed-in browser: its own cookie jar (session and CSRF cookies) and the CSRF token of
// the last form it saw. It sends what a browser without Sec-Fetch-Site sends, so every unsafe request
// goes through the token check.
type session struct {
	base  string
	email string
	role  string
	http  *http.Client
	csrf  string
	// location is the Location header of the last response (where a POST redirected to).
	location string
}

var (
	reCSRF       = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	reItemHref   = regexp.MustCompile(`href="/inventory/items/([0-9a-f-]{36})"`)
	reItemRow    = regexp.MustCompile(`(?s)<tr data-testid="inventory-row">.*?</tr>`)
	reNextHref   = regexp.MustCompile(`href="(/inventory\?[^"]*after=[^"]*)"`)
	reOption     = regexp.MustCompile(`<option value="([0-9a-f-]{36})"`)
	reFieldError = regexp.MustCompile(`(?s)class="error-summary__list">(.*?)</ul>`)
	reTags       = regexp.MustCompile(`<[^>]+>`)
)

func newTransport() *http.Transport {
	return &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute, DisableCompression: false}
}

func newSession(base string, tr *http.Transport) *session {
	jar, _ := cookiejar.New(nil)
	return &session{base: base, http: &http.Client{
		Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends one request and reads the whole body; it returns the status and body.
func (s *session) do(ctx context.Context, method, path string, form url.Values) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "ledgerline-loadgen/1 (Linux)")
	res, err := s.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	s.location = res.Header.Get("Location")
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, "", err
	}
	text := string(b)
	if m := reCSRF.FindStringSubmatch(text); m != nil {
		s.csrf = html.UnescapeString(m[1])
	}
	return res.StatusCode, text, nil
}

// get fetches path and requires a 200.
func (s *session) get(ctx context.Context, path string) (string, error) {
	status, body, err := s.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return body, fmt.Errorf("GET %s: status %d", path, status)
	}
	return body, nil
}

// post submits form with the session's CSRF token and requires a redirect (POST-redirect-GET) or a 2xx.
func (s *session) post(ctx context.Context, path string, form url.Values) error {
	form.Set("_csrf", s.csrf)
	status, body, err := s.do(ctx, http.MethodPost, path, form)
	if err != nil {
		return err
	}
	if status >= 400 {
		msg := body
		if m := reFieldError.FindStringSubmatch(body); m != nil {
			msg = html.UnescapeString(strings.TrimSpace(reTags.ReplaceAllString(m[1], "")))
		}
		return fmt.Errorf("POST %s: status %d: %.200s", path, status, msg)
	}
	return nil
}

// signIn goes through the real sign-in form.
func (s *session) signIn(ctx context.Context, email, password, role string) error {
	if _, err := s.get(ctx, "/login"); err != nil {
		return err
	}
	if s.csrf == "" {
		return fmt.Errorf("no CSRF token on /login")
	}
	status, _, err := s.do(ctx, http.MethodPost, "/login", url.Values{"email": {email}, "password": {password}, "_csrf": {s.csrf}})
	if err != nil {
		return err
	}
	if status != http.StatusSeeOther {
		return fmt.Errorf("sign-in as %s: status %d", email, status)
	}
	s.email, s.role = email, role
	// The home page gives the signed-in session its CSRF token for later forms.
	_, err = s.get(ctx, "/")
	return err
}
