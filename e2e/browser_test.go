// Package e2e drives the real binary with a real browser: headless Chromium through chromedp, against
// `ledgerline serve` on a free port with its own database cloned from the migrated test template.
//
// `make test` installs Chromium, starts the services, migrates the template and sets LEDGERLINE_BIN.
// Screenshots of every step land in e2e/screenshots/ (git-ignored), one PNG per step.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"ledgerline/store/storetest"
)

const (
	demoEmail    = "admin@acme.example"
	demoPassword = "ledgerline-demo" // seed.go DemoPassword

	shutdownTimeout = 10 * time.Second // SHUTDOWN_TIMEOUT given to the server
	browserBudget   = 90 * time.Second // the whole browser lives at most this long
	stepBudget      = 30 * time.Second // each subtest's browser actions
	screenshotDir   = "screenshots"
)

// TestBrowser signs in, switches tenant and signs out in Chromium, then checks a failed sign-in and the
// phone layout. One server and one browser serve the subtests; each subtest has its own browser context
// (its own cookie jar), so their sessions do not mix.
func TestBrowser(t *testing.T) {
	// Screenshots of an earlier run's failures would mislead.
	if old, _ := filepath.Glob(filepath.Join(screenshotDir, "*-FAILED.png")); len(old) > 0 {
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	srv := startServer(t)
	browser := startBrowser(t)

	t.Run("SignInSwitchTenantSignOut", func(t *testing.T) {
		tab := newTab(t, browser, 1280, 800)
		ctx := tab.ctx

		do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
		do(t, ctx, "wait for the sign-in form", chromedp.WaitVisible(chromedp.CSS(`[data-testid="sign-in"]`)))
		tab.requireNoConsoleErrors(t, "on the sign-in page")

		resp := signIn(t, ctx, demoEmail, demoPassword)
		if resp.Status != http.StatusOK {
			t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
		}
		requirePath(t, ctx, "/")
		requireText(t, ctx, `[data-testid="current-tenant"]`, "Acme Manufacturing")
		if who := text(t, ctx, `[data-testid="whoami"]`); !strings.Contains(who, "Ada Admin") {
			t.Fatalf(`whoami is %q, want it to contain "Ada Admin"`, who)
		}
		do(t, ctx, "see the main navigation", chromedp.WaitVisible(chromedp.CSS(`nav.sidebar[aria-label="Main"] .nav__link`)))
		if n := eval[int](t, ctx, `document.querySelectorAll('nav.sidebar[aria-label="Main"] a.nav__link').length`); n == 0 {
			t.Fatal("the sidebar navigation has no links")
		}
		tab.requireNoConsoleErrors(t, "on the home page (Acme)")
		screenshot(t, ctx, "signin-01-home-acme")

		// Switch to Globex through the tenant switcher. The switcher auto-submits when its select carries
		// data-autosubmit (app.js); otherwise the Switch button submits it.
		do(t, ctx, "see the tenant switcher", chromedp.WaitVisible(chromedp.CSS(`[data-testid="tenant-switcher"] select`)))
		autosubmit := eval[bool](t, ctx, `document.querySelector('[data-testid="tenant-switcher"] select').hasAttribute('data-autosubmit')`)
		choose := chromedp.Evaluate[chromedp.Void](`(() => {
			const sel = document.querySelector('[data-testid="tenant-switcher"] select');
			const opt = Array.from(sel.options).find(o => o.textContent.trim().startsWith('Globex Retail'));
			if (!opt) throw new Error('no "Globex Retail" option in the tenant switcher: ' +
				Array.from(sel.options).map(o => o.textContent.trim()).join(', '));
			sel.value = opt.value;
			sel.dispatchEvent(new Event('input', {bubbles: true}));
			sel.dispatchEvent(new Event('change', {bubbles: true}));
		})()`)
		steps := []chromedp.Action[chromedp.Void]{choose}
		if !autosubmit {
			steps = append(steps, chromedp.Click(chromedp.CSS(`[data-testid="tenant-switcher"] button[type="submit"]`)))
		}
		resp = navigateBy(t, ctx, "switch tenant to Globex Retail", steps...)
		if resp.Status != http.StatusOK {
			t.Fatalf("page after the tenant switch: HTTP %d, want 200", resp.Status)
		}
		requirePath(t, ctx, "/")
		requireText(t, ctx, `[data-testid="current-tenant"]`, "Globex Retail")
		if who := text(t, ctx, `[data-testid="whoami"]`); !strings.Contains(who, "Ada Admin") {
			t.Fatalf(`whoami after the switch is %q, want it to contain "Ada Admin"`, who)
		}
		tab.requireNoConsoleErrors(t, "on the home page (Globex)")
		screenshot(t, ctx, "signin-02-home-globex")

		// Sign out.
		resp = navigateBy(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`[data-testid="sign-out"]`)))
		if resp.Status != http.StatusOK {
			t.Fatalf("page after sign-out: HTTP %d, want 200", resp.Status)
		}
		requirePath(t, ctx, "/login")
		do(t, ctx, "see the sign-in form after sign-out", chromedp.WaitVisible(chromedp.CSS(`[data-testid="sign-in"]`)))
		if msg := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(msg, "You have signed out") {
			t.Fatalf("the page after sign-out does not say \"You have signed out\"; it reads:\n%s", msg)
		}
		tab.requireNoConsoleErrors(t, "on the signed-out page")
		screenshot(t, ctx, "signin-03-signed-out")

		// The session is gone: the home page sends us back to sign in.
		do(t, ctx, "open / after sign-out", chromedp.Navigate(srv.url+"/"))
		requirePath(t, ctx, "/login")
		do(t, ctx, "see the sign-in form", chromedp.WaitVisible(chromedp.CSS(`[data-testid="sign-in"]`)))
		tab.requireNoConsoleErrors(t, "on the sign-in page after sign-out")

		// The console check must be able to fail: an inline script without the nonce breaks the CSP.
		do(t, ctx, "inject an inline script", chromedp.Evaluate[chromedp.Void](`(() => {
			const s = document.createElement('script');
			s.textContent = 'window.__inlineRan = true';
			document.body.appendChild(s);
		})()`))
		if eval[bool](t, ctx, `window.__inlineRan === true`) {
			t.Fatal("an inline script without the nonce ran: the Content-Security-Policy does not block it")
		}
		tab.waitForConsoleError(t, "CSP violation")
	})

	t.Run("FailedSignIn", func(t *testing.T) {
		tab := newTab(t, browser, 1280, 800)
		ctx := tab.ctx

		do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
		resp := signIn(t, ctx, demoEmail, "not-the-password")
		if resp.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password: HTTP %d, want 401", resp.Status)
		}
		requirePath(t, ctx, "/login")
		requireText(t, ctx, `[data-testid="login-error"]`, "The e-mail address or password is incorrect.")
		if v := value(t, ctx, `#field-email`); v != demoEmail {
			t.Fatalf("the e-mail field holds %q after the failed sign-in, want %q", v, demoEmail)
		}
		if v := value(t, ctx, `#field-password`); v != "" {
			t.Fatal("the password field was filled in again after the failed sign-in")
		}
		// The browser logs the 401 of the document itself; anything else is a fault.
		tab.requireNoConsoleErrors(t, "on the failed sign-in page",
			regexp.MustCompile(`^browser log \(network\): Failed to load resource: the server responded with a status of 401 \(Unauthorized\) \[http://[^/]+/login\]$`))
		screenshot(t, ctx, "failed-01-wrong-password")

		// The form works again after the error (this also clears the account's failure counter).
		do(t, ctx, "clear the e-mail field", chromedp.Clear(chromedp.CSS(`#field-email`)))
		resp = signIn(t, ctx, demoEmail, demoPassword)
		if resp.Status != http.StatusOK {
			t.Fatalf("sign-in after a failed one: HTTP %d, want 200", resp.Status)
		}
		requireText(t, ctx, `[data-testid="current-tenant"]`, "Acme Manufacturing")
		tab.requireNoConsoleErrors(t, "on the home page after a failed sign-in")
	})

	t.Run("Phone", func(t *testing.T) {
		tab := newTab(t, browser, 360, 740)
		ctx := tab.ctx

		do(t, ctx, "open the sign-in page", chromedp.Navigate(srv.url+"/login"))
		requireNoHorizontalOverflow(t, ctx, 360, "sign-in page")
		screenshot(t, ctx, "phone-01-sign-in")

		resp := signIn(t, ctx, demoEmail, demoPassword)
		if resp.Status != http.StatusOK {
			t.Fatalf("home page after sign-in: HTTP %d, want 200", resp.Status)
		}
		requireText(t, ctx, `[data-testid="current-tenant"]`, "Acme Manufacturing")
		requireNoHorizontalOverflow(t, ctx, 360, "home page")
		tab.requireNoConsoleErrors(t, "on the phone home page")

		// The navigation hides behind the menu button and the button toggles it.
		menu := chromedp.CSS(`button[data-nav-toggle]`)
		navLink := chromedp.CSS(`nav.sidebar[aria-label="Main"] a.nav__link`)
		do(t, ctx, "see the menu button", chromedp.WaitVisible(menu))
		requireAttr(t, ctx, `button[data-nav-toggle]`, "aria-expanded", "false")
		do(t, ctx, "the navigation is hidden", chromedp.WaitNotVisible(navLink))
		screenshot(t, ctx, "phone-02-home-menu-closed")

		do(t, ctx, "open the menu", chromedp.Click(menu))
		requireAttr(t, ctx, `button[data-nav-toggle]`, "aria-expanded", "true")
		do(t, ctx, "the navigation shows", chromedp.WaitVisible(navLink))
		requireNoHorizontalOverflow(t, ctx, 360, "home page with the menu open")
		screenshot(t, ctx, "phone-03-home-menu-open")

		do(t, ctx, "close the menu", chromedp.Click(menu))
		requireAttr(t, ctx, `button[data-nav-toggle]`, "aria-expanded", "false")
		do(t, ctx, "the navigation hides again", chromedp.WaitNotVisible(navLink))
		tab.requireNoConsoleErrors(t, "after toggling the phone menu")
	})
}

// ---------------------------------------------------------------------------------------------- server

type server struct {
	url string
}

// syncBuffer collects a process's output from its copying goroutine while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer seeds a fresh database and runs `ledgerline serve` on a free port until the test ends, then
// stops it with SIGTERM and checks that it shuts down gracefully in time.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := ledgerlineBinary(t)
	b := storetest.New(t)

	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		redisURL = "redis://127.0.0.1:56379/1"
	}
	port := freePort(t)
	baseURL := "http://127.0.0.1:" + strconv.Itoa(port)
	env := append(os.Environ(),
		"DATABASE_URL="+b.AppURL,
		"MIGRATE_DATABASE_URL="+b.OwnerURL,
		"REDIS_URL="+redisURL,
		// Its own key prefix: sign-in throttles and sessions of earlier runs do not leak into this one.
		"REDIS_KEY_PREFIX=e2e:"+b.Name+":",
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(port),
		"BASE_URL="+baseURL,
		"RIVER_WORKERS=2",
		"SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
		"LOG_LEVEL=info",
	)

	seedCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seed := exec.CommandContext(seedCtx, bin, "seed")
	seed.Env = env
	if out, err := seed.CombinedOutput(); err != nil {
		t.Fatalf("ledgerline seed: %v\n%s", err, out)
	}

	stderr := &syncBuffer{}
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ledgerline serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	t.Cleanup(func() {
		stopped := false
		defer func() {
			if t.Failed() || !stopped {
				t.Logf("ledgerline serve output:\n%s", stderr.String())
			}
		}()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM to ledgerline serve: %v", err)
		}
		start := time.Now()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("ledgerline serve exited with %v after SIGTERM, want a clean exit", err)
				return
			}
			if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
				t.Errorf("ledgerline serve exited after SIGTERM without logging \"stopped\"")
				return
			}
			stopped = true
			t.Logf("ledgerline serve stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
		case <-time.After(shutdownTimeout):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("ledgerline serve did not exit within SHUTDOWN_TIMEOUT=%v of SIGTERM; killed it", shutdownTimeout)
		}
	})

	// Wait for /healthz, or fail early if the process dies.
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("ledgerline serve exited before it was healthy: %v\n%s", err, stderr.String())
		default:
		}
		resp, err := client.Get(baseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("ledgerline serve was not healthy at %s/healthz within 20s (last: %v)\n%s", baseURL, err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &server{url: baseURL}
}

// ledgerlineBinary returns LEDGERLINE_BIN, or builds the binary into a temporary folder.
func ledgerlineBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("LEDGERLINE_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("LEDGERLINE_BIN: %v", err)
		}
		return bin
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "ledgerline")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build (LEDGERLINE_BIN is unset; `make build` prepares the assets and templates): %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ---------------------------------------------------------------------------------------------- browser

// startBrowser starts headless Chromium for the whole test. The browser is killed when the test ends or
// when browserBudget runs out, so a hang fails the test instead of blocking it.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	execPath := "/usr/bin/chromium"
	if _, err := os.Stat(execPath); err != nil {
		p, lerr := exec.LookPath("chromium")
		if lerr != nil {
			t.Fatal("Chromium not found at /usr/bin/chromium or on PATH: run `make test`, which installs it " +
				"(scripts/services.sh install-chromium, i.e. apt-get install chromium)")
		}
		execPath = p
	}

	output := &syncBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
		chromedp.CombinedOutput(output),
	)
	budget, cancelBudget := context.WithTimeout(context.Background(), browserBudget)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(budget, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelBudget()
		if t.Failed() && output.String() != "" {
			t.Logf("chromium output:\n%s", output.String())
		}
	})
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium (%s): %v\n%s", execPath, err, output.String())
	}
	return browserCtx
}

// tab is one browser tab in its own browser context, with a record of its console errors.
type tab struct {
	ctx context.Context

	mu     sync.Mutex
	errors []string
}

// cspReporter runs in every document before the page's own scripts. Scripts added through DevTools are
// exempt from the page's Content-Security-Policy, so it can report every violation as a console error.
const cspReporter = `document.addEventListener('securitypolicyviolation', function (e) {
	console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code') +
		' at ' + e.sourceFile + ':' + e.lineNumber);
});`

// newTab opens a tab with a fresh cookie jar and a width x height viewport (a phone's when width < 600).
func newTab(t *testing.T, browser context.Context, width, height int64) *tab {
	t.Helper()
	return newTabWithin(t, browser, width, height, stepBudget)
}

// newTabWithin is newTab for a test whose browser actions may take up to budget in all (a crawl of every
// page does more than a scenario).
func newTabWithin(t *testing.T, browser context.Context, width, height int64, budget time.Duration) *tab {
	t.Helper()
	tabCtx, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tabCtx, budget)
	t.Cleanup(func() {
		cancel()
		cancelTab()
	})
	tb := &tab{ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
			if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
				if os.MkdirAll(screenshotDir, 0o755) == nil && os.WriteFile(filepath.Join(screenshotDir, name+"-FAILED.png"), buf, 0o644) == nil {
					t.Logf("screenshot of the failure: e2e/%s/%s-FAILED.png", screenshotDir, name)
				}
			}
		}
	})
	if err := chromedp.Listen(ctx, tb.record); err != nil {
		t.Fatalf("listen to the console: %v", err)
	}
	viewport := chromedp.EmulateViewport(width, height)
	if width < 600 {
		viewport = chromedp.EmulateViewport(width, height, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	do(t, ctx, "set up the tab",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: cspReporter})
			return err
		}),
		viewport,
	)
	return tb
}

// record runs in the tab's event loop: it must be quick and must not call the browser.
func (tb *tab) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			parts = append(parts, remoteText(a))
		}
		msg = "console." + string(ev.Type) + ": " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught exception: " + d.Text
		if d.Exception != nil {
			msg += " " + remoteText(d.Exception)
		}
		msg += fmt.Sprintf(" at %s:%d:%d", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e == nil || e.Level != cdplog.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("browser log (%s): %s", e.Source, e.Text)
		if e.URL != "" {
			msg += " [" + e.URL + "]"
		}
	default:
		return
	}
	tb.mu.Lock()
	tb.errors = append(tb.errors, msg)
	tb.mu.Unlock()
}

func remoteText(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Type == runtime.RemoteObjectTypeString {
		if s, err := strconv.Unquote(string(o.Value)); err == nil {
			return s
		}
	}
	if o.Description != "" {
		return o.Description
	}
	if len(o.Value) > 0 {
		return string(o.Value)
	}
	return string(o.Type)
}

// takeErrors returns the errors recorded since the last call.
func (tb *tab) takeErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	errs := tb.errors
	tb.errors = nil
	return errs
}

// requireNoConsoleErrors fails on any error-level console entry, uncaught exception or CSP violation
// since the last check, except those matching allow.
func (tb *tab) requireNoConsoleErrors(t *testing.T, where string, allow ...*regexp.Regexp) {
	t.Helper()
	var bad []string
next:
	for _, e := range tb.takeErrors() {
		for _, re := range allow {
			if re.MatchString(e) {
				continue next
			}
		}
		bad = append(bad, e)
	}
	if len(bad) > 0 {
		t.Fatalf("console errors %s:\n  %s", where, strings.Join(bad, "\n  "))
	}
}

// waitForConsoleError waits up to 3 s for an error containing substr.
func (tb *tab) waitForConsoleError(t *testing.T, substr string) {
	t.Helper()
	var seen []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		seen = append(seen, tb.takeErrors()...)
		for _, e := range seen {
			if strings.Contains(e, substr) {
				return
			}
		}
	}
	t.Fatalf("the console check saw no %q error (it saw %q): it would miss real ones", substr, seen)
}

// ---------------------------------------------------------------------------------------------- steps

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v%s", what, err, pageHint(ctx))
	}
}

// navigateBy runs steps that cause a navigation and returns the final document's response.
func navigateBy(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) *networkResponse {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v%s", what, err, pageHint(ctx))
	}
	return &networkResponse{Status: int(resp.Status), URL: resp.URL}
}

type networkResponse struct {
	Status int
	URL    string
}

// signIn fills the sign-in form of the current page and submits it.
func signIn(t *testing.T, ctx context.Context, email, password string) *networkResponse {
	t.Helper()
	do(t, ctx, "fill the sign-in form",
		chromedp.WaitVisible(chromedp.CSS(`#field-email`)),
		chromedp.SendKeys(chromedp.CSS(`#field-email`), email),
		chromedp.SendKeys(chromedp.CSS(`#field-password`), password),
	)
	resp := navigateBy(t, ctx, "submit the sign-in form", chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)))
	if resp.Status == http.StatusTooManyRequests {
		// Each server has its own Redis key prefix, so only this run's failures count.
		t.Fatalf("sign-in throttled (HTTP 429): more failed sign-ins in this run than the limit allows%s", pageHint(ctx))
	}
	return resp
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v%s", js, err, pageHint(ctx))
	}
	return v
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	do(t, ctx, "wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
	return strings.TrimSpace(eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).innerText`, css)))
}

func value(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	do(t, ctx, "wait for "+css, chromedp.WaitReady(chromedp.CSS(css)))
	return eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).value`, css))
}

func requireText(t *testing.T, ctx context.Context, css, want string) {
	t.Helper()
	if got := text(t, ctx, css); got != want {
		html := eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).outerHTML`, css))
		t.Fatalf("%s reads %q, want %q\n(element: %s)%s", css, got, want, html, pageHint(ctx))
	}
}

func requireAttr(t *testing.T, ctx context.Context, css, name, want string) {
	t.Helper()
	got := eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).getAttribute(%q) || ''`, css, name))
	if got != want {
		t.Fatalf("%s has %s=%q, want %q", css, name, got, want)
	}
}

func requirePath(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if got := eval[string](t, ctx, `location.pathname`); got != want {
		t.Fatalf("the browser is at %s, want %s", got, want)
	}
}

func requireNoHorizontalOverflow(t *testing.T, ctx context.Context, width int, where string) {
	t.Helper()
	sw := eval[int](t, ctx, `document.documentElement.scrollWidth`)
	if sw > width {
		wide := eval[string](t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll('body *'))
			.filter(e => e.getBoundingClientRect().right > %d)
			.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).trim().replace(/\s+/g, '.') : '') +
				' (right edge ' + Math.round(e.getBoundingClientRect().right) + ')').join(', ')`, width))
		t.Fatalf("%s overflows a %d px wide screen: scrollWidth %d (widest: %s)", where, width, sw, wide)
	}
}

// pageHint describes where the browser is, for error messages.
func pageHint(ctx context.Context) string {
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(hctx, chromedp.Location())
	if err != nil {
		return ""
	}
	body, _ := chromedp.Run(hctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ''`))
	return fmt.Sprintf("\n(the browser is at %s; the page reads:\n%s)", loc, body)
}

// screenshot saves a full-page PNG as screenshots/<name>.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(screenshotDir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: e2e/%s", path)
}
