package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Billing and approvals scenarios, on the bench data of seed_large_billing.go and seed_large_approvals.go.

var (
	reInvoiceHref  = regexp.MustCompile(`href="/billing/invoices/([0-9a-f-]{36})"`)
	reBillingNext  = regexp.MustCompile(`href="(/billing\?[^"]*after=[^"]*)"`)
	reRequestHref  = regexp.MustCompile(`href="/approvals/([0-9a-f-]{36})"`)
	reApprovalNext = regexp.MustCompile(`href="(/approvals/(?:all|inbox)\?[^"]*after=[^"]*)"`)
	reVersion      = regexp.MustCompile(`name="version" value="(\d+)"`)
	reTaxRate      = regexp.MustCompile(`(?s)<select[^>]*name="tax_rate_id"[^>]*>.*?<option value="([0-9a-f-]{36})"`)
	reInvoicePath  = regexp.MustCompile(`^/billing/invoices/([0-9a-f-]{36})$`)
	reRequestPath  = regexp.MustCompile(`^/approvals/([0-9a-f-]{36})$`)
)

// moduleFixture is what the billing and approvals scenarios pick from.
type moduleFixture struct {
	invoiceIDs, invoiceDeep []string
	customerIDs             []string
	requestIDs, requestDeep []string

	mu      sync.Mutex
	decide  []string // pending requests whose current step the admin approves, each decided once
	decided int
}

// nextDecision hands out the next pending request of the admin's inbox, or "" when every one is decided.
func (m *moduleFixture) nextDecision() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.decided == len(m.decide) {
		return ""
	}
	m.decided++
	return m.decide[m.decided-1]
}

// undecided is how many requests of the admin's inbox the decide scenario has not handed out yet.
func (m *moduleFixture) undecided() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.decide) - m.decided
}

var errInboxEmpty = errors.New("the admin's inbox is empty: the top-up before the step was too small for the decisions it made")

// topUpApprovals makes sure the admin's inbox holds at least need requests the decide scenario has not
// handed out: employees create and submit general requests through the app's form ("Save and submit",
// no amount), as many as are missing. The large tenant's departments have no manager, so the first
// (and, without an amount, only) step of the route goes to the administrators standing in (planRoute), and
// the admin can approve each at once. Repeated runs thus never run dry: every decision the bench makes
// was first asked for by a bench request. It returns how many requests it added.
func topUpApprovals(ctx context.Context, m *moduleFixture, employees []*session, need int) (int, error) {
	missing := need - m.undecided()
	if missing <= 0 {
		return 0, nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added []string
		first error
	)
	work := make(chan int)
	for _, s := range employees[:min(16, len(employees))] {
		wg.Go(func() {
			for n := range work {
				id, err := requestSubmit(ctx, s, n)
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				if err == nil {
					added = append(added, id)
				}
				mu.Unlock()
			}
		})
	}
	for n := range missing {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		work <- n
	}
	close(work)
	wg.Wait()
	m.mu.Lock()
	m.decide = append(m.decide, added...)
	m.mu.Unlock()
	if first != nil {
		return len(added), fmt.Errorf("topping up the admin's inbox (%d of %d added): %w", len(added), missing, first)
	}
	return len(added), ctx.Err()
}

// requestSubmit creates and submits one general request as s, through the new-request form.
func requestSubmit(ctx context.Context, s *session, n int) (string, error) {
	if err := s.post(ctx, "/approvals", url.Values{"type": {"general"}, "title": {fmt.Sprintf("Bench request %d", n)},
		"description": {"Created by the benchmark for the admin to decide."}, "then": {"submit"}}); err != nil {
		return "", err
	}
	m := reRequestPath.FindStringSubmatch(s.location)
	if m == nil {
		return "", fmt.Errorf("submitting a request redirected to %q", s.location)
	}
	return m[1], nil
}

// Invoice list filters, as a finance clerk narrows the list.
var invoiceQueries = []url.Values{
	{"status": {"issued"}}, {"status": {"paid"}}, {"status": {"partially_paid"}}, {"overdue": {"1"}},
	{"q": {"INV-2026-0012"}}, {"q": {"Tools GmbH"}}, {"status": {"draft"}},
	{"from": {"2026-06-01"}, "to": {"2026-06-30"}}, {"status": {"paid"}, "from": {"2026-03-01"}, "to": {"2026-03-31"}},
}

func moduleScenarios() []scenario {
	return []scenario{
		{name: "invoices-first", title: "Invoice list: first page", role: "finance", list: true, weight: 4,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/billing")
				return err
			}},
		{name: "invoices-filter", title: "Invoice list: status, overdue, date and search filters", role: "finance", list: true, weight: 4,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/billing?"+invoiceQueries[r.IntN(len(invoiceQueries))].Encode())
				return err
			}},
		{name: "invoices-deep", title: "Invoice list: deep keyset pages", role: "finance", list: true, weight: 2,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, fx.mod.invoiceDeep[r.IntN(len(fx.mod.invoiceDeep))])
				return err
			}},
		{name: "invoice", title: "Invoice page", role: "finance", list: true, weight: 5,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/billing/invoices/"+fx.mod.invoiceIDs[r.IntN(len(fx.mod.invoiceIDs))])
				return err
			}},
		{name: "invoice-issue", title: "Issue an invoice (create draft, add a line, issue, via the forms; pages in between)", role: "finance", weight: 1,
			op: issueInvoice},
		{name: "approvals-inbox", title: "Approvals: waiting for me", role: "admin", list: true, weight: 3,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/approvals/inbox")
				return err
			}},
		{name: "approvals-all", title: "Approvals: all requests (first and deep pages, status filter)", role: "manager", list: true, weight: 3,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				path := "/approvals/all"
				switch r.IntN(3) {
				case 0:
					path = fx.mod.requestDeep[r.IntN(len(fx.mod.requestDeep))]
				case 1:
					path += "?status=" + []string{"pending", "approved", "rejected", "returned"}[r.IntN(4)]
				}
				_, err := s.get(ctx, path)
				return err
			}},
		{name: "request", title: "Approval request page", role: "manager", list: true, weight: 4,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/approvals/"+fx.mod.requestIDs[r.IntN(len(fx.mod.requestIDs))])
				return err
			}},
		{name: "approval-decide", title: "Decide an approval (request page, then approve via the form)", role: "admin", weight: 1,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				id := fx.mod.nextDecision()
				if id == "" {
					// Counted as an error; the pause keeps an empty inbox from spinning the step.
					time.Sleep(100 * time.Millisecond)
					return errInboxEmpty
				}
				body, err := s.get(ctx, "/approvals/"+id)
				if err != nil {
					return err
				}
				round, position := reHidden("round").FindStringSubmatch(body), reHidden("position").FindStringSubmatch(body)
				if round == nil || position == nil {
					return fmt.Errorf("request %s shows no decision form", id)
				}
				return s.post(ctx, "/approvals/"+id+"/decide", url.Values{"round": {round[1]}, "position": {position[1]},
					"decision": {"approve"}, "comment": {"Bench approval"}})
			}},
	}
}

func reHidden(name string) *regexp.Regexp {
	return regexp.MustCompile(`name="` + name + `" value="(\d+)"`)
}

// issueInvoice does what a clerk does: start a draft for a customer, add a line on the draft's page, issue it.
func issueInvoice(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
	if err := s.post(ctx, "/billing/invoices", url.Values{"customer_id": {fx.mod.customerIDs[r.IntN(len(fx.mod.customerIDs))]}}); err != nil {
		return err
	}
	m := reInvoicePath.FindStringSubmatch(s.location)
	if m == nil {
		return fmt.Errorf("creating a draft redirected to %q", s.location)
	}
	page := "/billing/invoices/" + m[1]
	body, err := s.get(ctx, page)
	if err != nil {
		return err
	}
	v, rate := reVersion.FindStringSubmatch(body), reTaxRate.FindStringSubmatch(body)
	if v == nil || rate == nil {
		return fmt.Errorf("the draft page %s has no line form", page)
	}
	if err := s.post(ctx, page+"/lines", url.Values{"version": {v[1]}, "description": {"Bench consulting"},
		"quantity": {strconv.Itoa(1 + r.IntN(9))}, "unit_price": {"120.00"}, "tax_rate_id": {rate[1]}}); err != nil {
		return err
	}
	if body, err = s.get(ctx, page); err != nil {
		return err
	}
	if v = reVersion.FindStringSubmatch(body); v == nil {
		return fmt.Errorf("the draft page %s has no issue form", page)
	}
	return s.post(ctx, page+"/issue", url.Values{"version": {v[1]}})
}

// collectModules walks the invoice list and the request list for ids and deep cursors, the new-invoice
// form for customers, and the admin's whole inbox for the requests the decide scenario approves.
func collectModules(ctx context.Context, finance, manager, admin *session, depth int) (*moduleFixture, error) {
	m := &moduleFixture{}
	walk := func(s *session, start string, next *regexp.Regexp, href *regexp.Regexp, pages int, ids, deep *[]string) error {
		seen := map[string]bool{}
		path := start
		for page := 0; page < pages; page++ {
			body, err := s.get(ctx, path)
			if err != nil {
				return err
			}
			for _, h := range href.FindAllStringSubmatch(body, -1) {
				if !seen[h[1]] {
					seen[h[1]] = true
					*ids = append(*ids, h[1])
				}
			}
			n := next.FindStringSubmatch(body)
			if n == nil {
				break
			}
			path = htmlUnescape(n[1])
			if deep != nil && page >= pages/2 {
				*deep = append(*deep, path)
			}
		}
		return nil
	}
	if err := walk(finance, "/billing", reBillingNext, reInvoiceHref, depth, &m.invoiceIDs, &m.invoiceDeep); err != nil {
		return nil, err
	}
	if err := walk(manager, "/approvals/all", reApprovalNext, reRequestHref, depth, &m.requestIDs, &m.requestDeep); err != nil {
		return nil, err
	}
	if err := walk(admin, "/approvals/inbox", reApprovalNext, reRequestHref, 200, &m.decide, nil); err != nil {
		return nil, err
	}
	body, err := finance.get(ctx, "/billing/invoices/new")
	if err != nil {
		return nil, err
	}
	for _, o := range reOption.FindAllStringSubmatch(body, -1) {
		m.customerIDs = append(m.customerIDs, o[1])
	}
	if len(m.invoiceIDs) == 0 || len(m.invoiceDeep) == 0 || len(m.customerIDs) == 0 || len(m.requestIDs) == 0 || len(m.requestDeep) == 0 {
		return nil, fmt.Errorf("the billing and approvals bench data looks empty: %d invoices, %d deep pages, %d customers, %d requests, %d deep pages (run ledgerline seed --scale large)",
			len(m.invoiceIDs), len(m.invoiceDeep), len(m.customerIDs), len(m.requestIDs), len(m.requestDeep))
	}
	// Decide in a random order, so that concurrent clients do not queue on neighbouring rows.
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(m.decide), func(i, j int) { m.decide[i], m.decide[j] = m.decide[j], m.decide[i] }) // #nosec G404 -- bench order
	return m, nil
}
