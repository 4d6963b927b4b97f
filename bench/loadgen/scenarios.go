package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
)

// A scenario is one kind of work a signed-in client repeats as fast as the app answers. Role says whose
// session runs it; op is one request (or one user action). Routes are the app routes it exercises, for the
// statements-per-request column.
//
// Adding a module's scenarios (billing, approvals, ...): write a func in a file of this package that
// returns []scenario (see inventoryScenarios) and append its result in scenarioList. If the scenario needs
// ids from the data, collect them in a fixture step like collectInventory, called from prepare.
type scenario struct {
	name   string
	title  string
	role   string
	list   bool // a list or detail page: the p99 < 50 ms at 16 clients target applies
	op     func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error
	weight int // share in the mixed profile (0: not in it)
}

// fixture is what the scenarios pick from: ids and page links of the bench data, collected once.
type fixture struct {
	itemIDs   []string
	activeIDs []string // items that accept movements (inactive ones refuse receipts, rightly)
	deepPages []string
	bins      []string
	mod       *moduleFixture // billing and approvals (modules.go)
}

// Search terms of the items-list scenario: words of the generated item names (see seed_large.go), each
// with a category filter and a sort, as a user narrowing a list would combine them.
var searchQueries = []url.Values{
	{"q": {"galvanised"}, "category": {"Fasteners"}, "sort": {"name"}},
	{"q": {"brass"}, "category": {"Tools"}, "sort": {"on_hand"}, "dir": {"desc"}},
	{"q": {"stainless"}, "category": {"Electrical"}, "sort": {"value"}, "dir": {"desc"}},
	{"q": {"LG-00042"}, "sort": {"sku"}},
	{"q": {"premium"}, "category": {"Safety"}, "sort": {"name"}},
	{"q": {"titanium"}, "category": {"Paint"}, "sort": {"on_hand"}},
	{"q": {"copper"}, "sort": {"name"}},
	{"q": {"heavy duty"}, "category": {"Packaging"}, "sort": {"sku"}, "dir": {"desc"}},
}

func scenarioList() []scenario {
	return append(inventoryScenarios(), moduleScenarios()...)
}

func inventoryScenarios() []scenario {
	return []scenario{
		{name: "home", title: "Dashboard (home)", role: "employee", list: true, weight: 5,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/")
				return err
			}},
		{name: "items-search", title: "Items list: search + filter + sort", role: "employee", list: true, weight: 25,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/inventory?"+searchQueries[r.IntN(len(searchQueries))].Encode())
				return err
			}},
		{name: "items-first", title: "Items list: first page", role: "employee", list: true, weight: 10,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/inventory")
				return err
			}},
		{name: "items-deep", title: "Items list: deep keyset pages", role: "employee", list: true, weight: 10,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, fx.deepPages[r.IntN(len(fx.deepPages))])
				return err
			}},
		{name: "item", title: "Item page", role: "employee", list: true, weight: 20,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/inventory/items/"+fx.itemIDs[r.IntN(len(fx.itemIDs))])
				return err
			}},
		{name: "ledger", title: "Stock ledger", role: "manager", list: true, weight: 10,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				path := "/inventory/ledger"
				if r.IntN(2) == 0 {
					path += "?kind=issue"
				}
				_, err := s.get(ctx, path)
				return err
			}},
		{name: "audit", title: "Audit log", role: "auditor", list: true,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/audit")
				return err
			}},
		{name: "people", title: "People", role: "admin", list: true,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				_, err := s.get(ctx, "/admin/users")
				return err
			}},
		{name: "movement-post", title: "Post stock movements (receipt, then issue, via the form)", role: "employee", weight: 10,
			op: func(ctx context.Context, s *session, r *rand.Rand, fx *fixture) error {
				item := fx.activeIDs[r.IntN(len(fx.activeIDs))]
				bin := fx.bins[r.IntN(len(fx.bins))]
				ref := "BENCH-" + strconv.Itoa(r.IntN(1_000_000))
				if err := s.post(ctx, "/inventory/movements", url.Values{"kind": {"receipt"}, "item_id": {item},
					"location_id": {bin}, "quantity": {"2"}, "unit_cost": {"3.50"}, "reference": {ref}}); err != nil {
					return err
				}
				return s.post(ctx, "/inventory/movements", url.Values{"kind": {"issue"}, "item_id": {item},
					"location_id": {bin}, "quantity": {"1"}, "reference": {ref}})
			}},
	}
}

// collectInventory walks the items list as an employee: the first pages give item ids, and following
// "Next" deep into the list gives the cursors of the deep-page scenario. The movement form gives the bins.
func collectInventory(ctx context.Context, s *session, depth int) (*fixture, error) {
	fx := &fixture{}
	seen := map[string]bool{}
	path := "/inventory?sort=name"
	for page := 0; page < depth; page++ {
		body, err := s.get(ctx, path)
		if err != nil {
			return nil, err
		}
		for _, row := range reItemRow.FindAllString(body, -1) {
			m := reItemHref.FindStringSubmatch(row)
			if m == nil || seen[m[1]] {
				continue
			}
			seen[m[1]] = true
			fx.itemIDs = append(fx.itemIDs, m[1])
			if !strings.Contains(row, ">Inactive<") {
				fx.activeIDs = append(fx.activeIDs, m[1])
			}
		}
		next := reNextHref.FindStringSubmatch(body)
		if next == nil {
			break
		}
		path = htmlUnescape(next[1])
		if page >= depth/2 {
			fx.deepPages = append(fx.deepPages, path)
		}
	}
	body, err := s.get(ctx, "/inventory/movements/new?kind=receipt")
	if err != nil {
		return nil, err
	}
	for _, m := range reOption.FindAllStringSubmatch(body, -1) {
		fx.bins = append(fx.bins, m[1])
	}
	if len(fx.itemIDs) == 0 || len(fx.deepPages) == 0 || len(fx.bins) == 0 {
		return nil, fmt.Errorf("the bench data looks empty: %d items, %d deep pages, %d locations (run ledgerline seed --scale large)",
			len(fx.itemIDs), len(fx.deepPages), len(fx.bins))
	}
	return fx, nil
}
