package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// `ledgerline seed --scale large` fills a database for the benchmarks (make bench): one large tenant with
// 1,000,000 items, 5,000,000 stock movements (and the stock levels and item totals they add up to) and a
// year of audit events, plus 50 ordinary tenants, so that every query plan meets a realistic neighbourhood.
//
// Tenants, users, memberships and locations go through the store like any other seed: they are few and
// must be exactly what the app makes. The bulk rows go in with COPY as the schema owner (COPY FROM is not
// allowed for roles under row-level security), one transaction per tenant, computed by the same rules the
// store applies (levels are the sums of the ledger, item totals the sums of the levels, moving average cost
// and stock value by inventory.MovingAverageCost and inventory.StockValueOf). Audit events are then sealed
// into the tenant's hash chain by audit.SealAll, so audit-verify passes on the result.
//
// Every value comes from a PCG generator with a fixed seed per item, so two runs produce the same data
// (only the ids of tenants, users and locations, made by the store, differ between databases). A tenant
// that already has items is left alone: a second run reuses the data and finishes in seconds.

// LargeSeed is the fixed seed of the bench data generator.
const largeSeed = 20261126

// Sizes of the bench data.
const (
	largeItems        = 1_000_000
	smallTenants      = 50
	smallTenantItems  = 1_000
	largeAuditEvery   = 20 // one audit event per this many movements, besides the real ones
	largeAuditPerDay  = 600
	benchTenantDomain = "large.example"
)

// LargeTenantSlug is the slug of the large bench tenant; bench/loadgen signs in as its users.
const largeTenantSlug = "large"

// largeUsers are the people of the large tenant: the load generator signs in as them (password
// DemoPassword). Several employees and managers, so that concurrent clients are different people.
var largeUsers = func() []demoUser {
	u := []demoUser{
		{"admin@" + benchTenantDomain, "Lara Admin", identity.RoleAdmin, "Operations"},
		{"auditor@" + benchTenantDomain, "Ari Auditor", identity.RoleAuditor, "Finance"},
		{"finance@" + benchTenantDomain, "Fay Finance", identity.RoleFinance, "Finance"},
	}
	for i := 1; i <= 4; i++ {
		u = append(u, demoUser{fmt.Sprintf("manager%d@%s", i, benchTenantDomain), fmt.Sprintf("Manager %d", i), identity.RoleManager, "Warehouse"})
	}
	for i := 1; i <= 16; i++ {
		u = append(u, demoUser{fmt.Sprintf("employee%d@%s", i, benchTenantDomain), fmt.Sprintf("Employee %d", i), identity.RoleEmployee, "Warehouse"})
	}
	return u
}()

// benchTenantSpec says what one bench tenant gets.
type benchTenantSpec struct {
	tenant     demoTenant
	items      int
	movesBase  int // item i gets movesBase + i%5 movements (large) or movesBase + i%3 (small)
	movesSpan  int
	warehouses int
	bins       int // per warehouse
	skuPrefix  string
}

func benchTenantSpecs() []benchTenantSpec {
	specs := []benchTenantSpec{{
		tenant: demoTenant{
			params:      identity.TenantCreateParams{Name: "Large Co (benchmark)", Slug: largeTenantSlug, TimeZone: "Europe/Berlin", Currency: "EUR"},
			departments: []string{"Operations", "Finance", "Warehouse"},
			users:       largeUsers,
		},
		items: largeItems, movesBase: 3, movesSpan: 5, warehouses: 4, bins: 5, skuPrefix: "LG",
	}}
	for n := 1; n <= smallTenants; n++ {
		slug := fmt.Sprintf("bench-t%02d", n)
		specs = append(specs, benchTenantSpec{
			tenant: demoTenant{
				params:      identity.TenantCreateParams{Name: fmt.Sprintf("Bench Tenant %02d", n), Slug: slug, TimeZone: "UTC", Currency: "USD"},
				departments: []string{"Operations"},
				users:       []demoUser{{"admin@" + slug + ".example", fmt.Sprintf("Admin %02d", n), identity.RoleAdmin, "Operations"}},
			},
			items: smallTenantItems, movesBase: 2, movesSpan: 3, warehouses: 1, bins: 2, skuPrefix: fmt.Sprintf("T%02d", n),
		})
	}
	return specs
}

// seedLarge creates the bench data; ownerURL is the schema owner's connection (MIGRATE_DATABASE_URL).
func seedLarge(ctx context.Context, db *store.DB, ownerURL string, stdout io.Writer) error {
	start := time.Now()
	owner, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("error connecting as the schema owner (MIGRATE_DATABASE_URL %s): %w", store.RedactURL(ownerURL), err)
	}
	defer owner.Close(context.WithoutCancel(ctx))
	// Fixed "now" per calendar day, so that a rerun on the same day produces the same timestamps.
	now := time.Now().UTC().Truncate(24 * time.Hour)
	loaded := false
	for n, spec := range benchTenantSpecs() {
		tenantID, created, err := benchTenantEnsure(ctx, db, spec.tenant)
		if err != nil {
			return err
		}
		if created {
			fmt.Fprintf(stdout, "seed large: created %s with %d users\n", spec.tenant.params.Name, len(spec.tenant.users))
		}
		var has bool
		if err := owner.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inventory_items WHERE tenant_id = $1)`, tenantID).Scan(&has); err != nil {
			return fmt.Errorf("error checking bench items of %s: %w", spec.tenant.params.Slug, err)
		}
		actors, err := benchActors(ctx, owner, tenantID)
		if err != nil {
			return err
		}
		bt := benchTenant{ID: tenantID, Slug: spec.tenant.params.Slug, Large: n == 0, Actors: actors, Now: now, Seed: largeSeed + uint64(n)}
		for _, load := range benchModules {
			if err := load(ctx, db, owner, bt, stdout); err != nil {
				return fmt.Errorf("error loading bench data of %s: %w", spec.tenant.params.Slug, err)
			}
		}
		if has {
			continue
		}
		bins, err := benchLocations(ctx, db, tenantID, spec)
		if err != nil {
			return err
		}
		t0 := time.Now()
		g := benchGen{spec: spec, tenantID: tenantID, bins: bins, actors: actors, now: now, seed: largeSeed + uint64(n)}
		counts, err := g.load(ctx, owner)
		if err != nil {
			return fmt.Errorf("error loading bench data of %s: %w", spec.tenant.params.Slug, err)
		}
		loaded = true
		if n == 0 || n == smallTenants {
			fmt.Fprintf(stdout, "seed large: %s: %d items, %d stock movements, %d audit events in %s\n",
				spec.tenant.params.Name, counts.items, counts.movements, counts.audit, time.Since(t0).Round(time.Second))
		}
	}
	if loaded {
		t0 := time.Now()
		// Fresh statistics for the planner and a visibility map for index-only scans.
		for _, table := range []string{"inventory_items", "inventory_locations", "stock_levels", "stock_movements", "audit_events"} {
			if _, err := owner.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
				return fmt.Errorf("error vacuuming %s: %w", table, err)
			}
		}
		fmt.Fprintf(stdout, "seed large: vacuum and analyze in %s\n", time.Since(t0).Round(time.Second))
	}
	t0 := time.Now()
	sealed, err := audit.SealAll(ctx, db)
	if err != nil {
		return fmt.Errorf("error sealing bench audit events: %w", err)
	}
	if sealed > 0 {
		fmt.Fprintf(stdout, "seed large: sealed %d audit events in %s\n", sealed, time.Since(t0).Round(time.Second))
	}
	fmt.Fprintf(stdout, "seed large: ready in %s (sign in as admin@%s, manager1@…, employee1@… with password %q)\n",
		time.Since(start).Round(time.Second), benchTenantDomain, DemoPassword)
	return nil
}

// benchTenant is what a module's bench loader gets for each bench tenant.
type benchTenant struct {
	ID     store.ID
	Slug   string
	Large  bool       // the large tenant (1,000,000 items); the others are the 50 ordinary ones
	Actors []store.ID // the tenant's members, in a stable order
	Now    time.Time  // "now" of the data, fixed per calendar day
	Seed   uint64     // the tenant's fixed random seed
}

// benchModules load each module's bench data into each bench tenant, after its people exist. A loader
// makes its own rows with COPY as the owner (like benchGen.load, in one transaction per tenant, from
// generators seeded with Seed) and must be idempotent: it checks whether the tenant has its rows already
// and returns at once if so. Billing (200,000 invoices with 1,000,000 lines in the large tenant) and
// approvals (100,000 requests) add theirs here, e.g. seedLargeBilling in seed_large_billing.go.
var benchModules = []func(ctx context.Context, db *store.DB, owner *pgx.Conn, t benchTenant, stdout io.Writer) error{}

// benchTenantEnsure creates the tenant with its departments and users unless its slug exists.
func benchTenantEnsure(ctx context.Context, db *store.DB, dt demoTenant) (store.ID, bool, error) {
	if id, err := identity.TenantIDBySlug(ctx, db, dt.params.Slug); err == nil {
		return id, false, nil
	} else if store.ErrorCode(err) != store.NotFound {
		return store.ID{}, false, err
	}
	tenant, err := identity.TenantCreate(ctx, db, store.Scope{}, dt.params)
	if err != nil {
		return store.ID{}, false, fmt.Errorf("error creating bench tenant %s: %w", dt.params.Slug, err)
	}
	scope := store.Scope{TenantID: tenant.ID}
	departments := map[string]store.ID{}
	for _, name := range dt.departments {
		d, err := identity.DepartmentCreate(ctx, db, scope, name)
		if err != nil {
			return store.ID{}, false, fmt.Errorf("error creating bench department %s: %w", name, err)
		}
		departments[name] = d.ID
	}
	for _, du := range dt.users {
		id, err := identity.UserIDByEmail(ctx, db, du.email)
		if store.ErrorCode(err) == store.NotFound {
			var u *identity.User
			u, err = identity.UserCreate(ctx, db, scope, identity.UserCreateParams{Email: du.email, Name: du.name, Password: DemoPassword})
			if u != nil {
				id = u.ID
			}
		}
		if err != nil {
			return store.ID{}, false, fmt.Errorf("error creating bench user %s: %w", du.email, err)
		}
		dept := departments[du.department]
		if err := identity.MemberAdd(ctx, db, scope, identity.MemberAddParams{UserID: id, Role: du.role, DepartmentID: &dept}); err != nil {
			return store.ID{}, false, fmt.Errorf("error adding bench member %s: %w", du.email, err)
		}
	}
	return tenant.ID, true, nil
}

// benchLocations creates the tenant's warehouses and bins through the store, or returns the bins that a
// previous, interrupted run created.
func benchLocations(ctx context.Context, db *store.DB, tenantID store.ID, spec benchTenantSpec) ([]store.ID, error) {
	scope := store.Scope{TenantID: tenantID}
	existing, err := inventory.LocationList(ctx, db, scope, false)
	if err != nil {
		return nil, fmt.Errorf("error listing bench locations: %w", err)
	}
	var bins []store.ID
	for _, l := range existing {
		if l.Kind == inventory.KindBin {
			bins = append(bins, l.ID)
		}
	}
	if len(bins) > 0 {
		return bins, nil
	}
	for w := 1; w <= spec.warehouses; w++ {
		code := fmt.Sprintf("WH%d", w)
		wh, err := inventory.LocationCreate(ctx, db, scope, inventory.LocationCreateParams{Code: code, Name: fmt.Sprintf("Warehouse %d", w)})
		if err != nil {
			return nil, fmt.Errorf("error creating bench warehouse %s: %w", code, err)
		}
		for b := 1; b <= spec.bins; b++ {
			bc := fmt.Sprintf("%s-B%02d", code, b)
			bin, err := inventory.LocationCreate(ctx, db, scope, inventory.LocationCreateParams{WarehouseID: &wh.ID, Code: bc, Name: "Bin " + bc})
			if err != nil {
				return nil, fmt.Errorf("error creating bench bin %s: %w", bc, err)
			}
			bins = append(bins, bin.ID)
		}
	}
	return bins, nil
}

// benchActors returns the ids of the tenant's members, in a stable order: movements name them as actors.
func benchActors(ctx context.Context, owner *pgx.Conn, tenantID store.ID) ([]store.ID, error) {
	rows, err := owner.Query(ctx, `SELECT user_id FROM memberships WHERE tenant_id = $1 ORDER BY user_id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("error listing bench members: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[store.ID])
	if err != nil {
		return nil, fmt.Errorf("error listing bench members: %w", err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("bench tenant %s has no members", tenantID)
	}
	return ids, nil
}

// benchGen generates one tenant's bulk rows. Each item's history comes from its own generator seeded by
// (seed, item number), so the items, levels, movements and audit passes see the same history.
type benchGen struct {
	spec     benchTenantSpec
	tenantID store.ID
	bins     []store.ID
	actors   []store.ID
	now      time.Time
	seed     uint64
}

type benchCounts struct{ items, movements, audit int }

type benchMove struct {
	id, movementID store.ID
	at             time.Time
	kind           inventory.MovementKind
	bin            int
	qty            inventory.Qty
	unitCost       int64 // receipts only
	actor          store.ID
	reference      string
}

type benchItem struct {
	id                     store.ID
	sku, name, category    string
	unit                   inventory.Unit
	barcode                string
	reorderPoint, reorder  inventory.Qty
	createdAt              time.Time
	onHand                 inventory.Qty
	avgCost, value         int64
	levels                 map[int]inventory.Qty // bin index → on hand
	moves                  []benchMove
	tracking, status, desc string
}

// uuidAt makes a UUIDv7 for time t from r: ids sort by time like the store's, and are reproducible.
func uuidAt(t time.Time, r *rand.Rand) store.ID {
	var u uuid.UUID
	ms := uint64(t.UnixMilli()) // #nosec G115 -- times after 1970: the millisecond count is positive
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms) // #nosec G115 -- the bytes of the millisecond count, big-endian
	rnd := r.Uint32()
	u[6] = 0x70 | byte(rnd&0x0f) // #nosec G115 -- the low bits on purpose
	u[7] = byte(rnd >> 8)        // #nosec G115 -- the low bits on purpose
	u[8] = 0x80 | (u[8] & 0x3f)
	return u
}

var benchMaterials = []string{"steel", "brass", "nylon", "zinc", "copper", "oak", "PVC", "aluminium", "rubber", "ceramic", "carbon", "titanium"}

// item builds item i with its whole history.
func (g *benchGen) item(i int) benchItem {
	r := rand.New(rand.NewPCG(g.seed, uint64(i))) // #nosec G404 G115 -- bench data, deliberately repeatable; i >= 0
	cat := demoCategories[i%len(demoCategories)]
	noun := cat.nouns[r.IntN(len(cat.nouns))]
	variant := demoVariants[r.IntN(len(demoVariants))]
	material := benchMaterials[r.IntN(len(benchMaterials))]
	yearAgo := g.now.AddDate(-1, 0, 0)
	created := yearAgo.Add(time.Duration(r.Int64N(int64(300 * 24 * time.Hour))))
	it := benchItem{
		sku:          fmt.Sprintf("%s-%07d", g.spec.skuPrefix, i),
		name:         fmt.Sprintf("%s, %s %s %d", noun, variant, material, 1+r.IntN(400)),
		category:     cat.name,
		unit:         cat.unit,
		barcode:      fmt.Sprintf("40%011d", (int64(i)*7919+int64(g.seed%1000))%100_000_000_000),
		reorderPoint: inventory.Units(int64(5 + r.IntN(96))),
		createdAt:    created,
		levels:       map[int]inventory.Qty{},
		tracking:     "none",
		status:       "active",
	}
	it.id = uuidAt(created, r)
	it.reorder = it.reorderPoint * 3
	if r.IntN(50) == 0 {
		it.status = "inactive"
	}
	if r.IntN(4) == 0 {
		it.desc = fmt.Sprintf("%s made of %s, sold per %s.", noun, material, cat.unit.Label())
	}
	home := r.IntN(len(g.bins))
	second := r.IntN(len(g.bins))
	n := g.spec.movesBase + i%g.spec.movesSpan
	span := g.now.Sub(created)
	at := created
	baseCost := int64(50 + r.IntN(20000))
	for m := range n {
		at = at.Add(time.Duration(r.Int64N(int64(span) / int64(n+1))))
		mv := benchMove{at: at, actor: g.actors[r.IntN(len(g.actors))]}
		// The first movement receives; later ones receive or issue, never more than the bin holds.
		issuable := []int{}
		for b, q := range it.levels {
			if q > 0 {
				issuable = append(issuable, b)
			}
		}
		if len(issuable) > 1 && issuable[0] > issuable[1] {
			issuable[0], issuable[1] = issuable[1], issuable[0] // map order is random; keep runs identical
		}
		if m == 0 || len(issuable) == 0 || r.IntN(100) < 45 {
			mv.kind = inventory.KindReceipt
			mv.bin = home
			if m > 0 && r.IntN(3) == 0 {
				mv.bin = second
			}
			mv.qty = inventory.Units(int64(10 + r.IntN(490)))
			mv.unitCost = max(1, baseCost+int64(r.IntN(2001))-1000)
			mv.reference = fmt.Sprintf("PO-%06d", r.IntN(1_000_000))
			it.avgCost = inventory.MovingAverageCost(it.onHand, it.avgCost, mv.qty, mv.unitCost)
		} else {
			mv.kind = inventory.KindIssue
			mv.bin = issuable[r.IntN(len(issuable))]
			have := int64(it.levels[mv.bin] / inventory.QtyScale)
			mv.qty = -inventory.Units(1 + r.Int64N(max(1, have/2)))
			mv.reference = fmt.Sprintf("SO-%06d", r.IntN(1_000_000))
		}
		it.levels[mv.bin] += mv.qty
		it.onHand += mv.qty
		mv.id = uuidAt(at, r)
		mv.movementID = uuidAt(at, r)
		it.moves = append(it.moves, mv)
	}
	it.value, _ = inventory.StockValueOf(it.onHand, it.avgCost)
	return it
}

func numeric(q inventory.Qty) pgtype.Numeric {
	return pgtype.Numeric{Int: big.NewInt(int64(q)), Exp: -3, Valid: true}
}

// copyRows streams rows produced by next (nil row: done) into table with COPY.
func copyRows(ctx context.Context, tx pgx.Tx, table string, cols []string, next func() ([]any, error)) (int64, error) {
	var row []any
	src := pgx.CopyFromFunc(func() ([]any, error) {
		var err error
		row, err = next()
		return row, err
	})
	n, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, src)
	if err != nil {
		return n, fmt.Errorf("error copying into %s: %w", table, err)
	}
	return n, nil
}

// load writes the tenant's items, levels, movements and audit events in one transaction.
func (g *benchGen) load(ctx context.Context, owner *pgx.Conn) (benchCounts, error) {
	var c benchCounts
	tx, err := owner.Begin(ctx)
	if err != nil {
		return c, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
		return c, err
	}
	var currency string
	if err := tx.QueryRow(ctx, `SELECT currency FROM tenants WHERE id = $1`, g.tenantID).Scan(&currency); err != nil {
		return c, fmt.Errorf("error reading tenant currency: %w", err)
	}

	i := 0
	n, err := copyRows(ctx, tx, "inventory_items", []string{"tenant_id", "id", "sku", "name", "description", "category", "unit",
		"barcode", "reorder_point", "reorder_qty", "tracking", "status", "on_hand", "currency", "avg_cost", "stock_value",
		"low_notified", "created_at", "updated_at", "first_movement_at"}, func() ([]any, error) {
		if i == g.spec.items {
			return nil, nil
		}
		it := g.item(i)
		i++
		updated := it.createdAt
		var first *time.Time
		if len(it.moves) > 0 {
			updated = it.moves[len(it.moves)-1].at
			first = &it.moves[0].at
		}
		// Items already at or below their reorder point count as notified, as the low-stock job would have left them.
		low := it.reorderPoint > 0 && it.onHand <= it.reorderPoint
		return []any{g.tenantID, it.id, it.sku, it.name, it.desc, it.category, string(it.unit), it.barcode,
			numeric(it.reorderPoint), numeric(it.reorder), it.tracking, it.status, numeric(it.onHand), currency,
			it.avgCost, it.value, low, it.createdAt, updated, first}, nil
	})
	if err != nil {
		return c, err
	}
	c.items = int(n)

	i = 0
	var pending [][]any
	if _, err := copyRows(ctx, tx, "stock_levels", []string{"tenant_id", "item_id", "location_id", "batch", "on_hand",
		"reserved", "allow_negative", "updated_at"}, func() ([]any, error) {
		for len(pending) == 0 {
			if i == g.spec.items {
				return nil, nil
			}
			it := g.item(i)
			i++
			last := map[int]time.Time{}
			for _, mv := range it.moves {
				last[mv.bin] = mv.at
			}
			for b := range g.bins { // bin order, not map order: reproducible
				if at, ok := last[b]; ok {
					pending = append(pending, []any{g.tenantID, it.id, g.bins[b], "", numeric(it.levels[b]), numeric(0), false, at})
				}
			}
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	}); err != nil {
		return c, err
	}

	i = 0
	n, err = copyRows(ctx, tx, "stock_movements", []string{"tenant_id", "id", "movement_id", "occurred_at", "recorded_at",
		"kind", "item_id", "location_id", "batch", "quantity", "unit_cost", "currency", "reference", "actor_id"}, func() ([]any, error) {
		for len(pending) == 0 {
			if i == g.spec.items {
				return nil, nil
			}
			it := g.item(i)
			i++
			for _, mv := range it.moves {
				var cost, cur any
				if mv.kind == inventory.KindReceipt {
					cost, cur = mv.unitCost, currency
				}
				pending = append(pending, []any{g.tenantID, mv.id, mv.movementID, mv.at, mv.at, string(mv.kind), it.id,
					g.bins[mv.bin], "", numeric(mv.qty), cost, cur, mv.reference, mv.actor})
			}
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	})
	if err != nil {
		return c, err
	}
	c.movements = int(n)

	// The audit trail: every item's creation and every largeAuditEvery-th movement, plus a steady stream of
	// sign-ins over the year, in time order per source.
	i, seq := 0, 0
	days := 0
	ar := rand.New(rand.NewPCG(g.seed, 1<<62)) // #nosec G404 -- bench data, deliberately repeatable
	n, err = copyRows(ctx, tx, "audit_events", []string{"tenant_id", "id", "occurred_at", "actor_id", "action", "entity_type",
		"entity_id", "before", "after", "request_id", "client_ip"}, func() ([]any, error) {
		for len(pending) == 0 {
			if i == g.spec.items {
				if days >= 365 {
					return nil, nil
				}
				day := g.now.AddDate(0, 0, -365+days)
				days++
				for range largeAuditPerDay * g.spec.items / largeItems {
					at := day.Add(time.Duration(ar.Int64N(int64(24 * time.Hour))))
					actor := g.actors[ar.IntN(len(g.actors))]
					pending = append(pending, []any{g.tenantID, uuidAt(at, ar), at, actor, "auth.sign_in", "user", actor.String(),
						nil, `{"method":"password"}`, fmt.Sprintf("bench%08d", ar.IntN(1e8)), fmt.Sprintf("10.0.%d.%d", ar.IntN(256), ar.IntN(256))})
				}
				continue
			}
			it := g.item(i)
			i++
			if i%10 == 0 {
				pending = append(pending, []any{g.tenantID, uuidAt(it.createdAt, ar), it.createdAt, it.moves[0].actor,
					"inventory.item_create", "inventory_item", it.id.String(), nil,
					fmt.Sprintf(`{"sku":%q,"name":%q,"unit":%q}`, it.sku, it.name, it.unit), "", "10.0.0.1"})
			}
			for _, mv := range it.moves {
				seq++
				if seq%largeAuditEvery != 0 {
					continue
				}
				pending = append(pending, []any{g.tenantID, uuidAt(mv.at, ar), mv.at, mv.actor, "inventory." + string(mv.kind),
					"stock_movement", mv.movementID.String(), nil,
					fmt.Sprintf(`{"item_id":%q,"quantity":%q,"reference":%q}`, it.id, mv.qty.String(), mv.reference), "", "10.0.0.2"})
			}
		}
		row := pending[0]
		pending = pending[1:]
		return row, nil
	})
	if err != nil {
		return c, err
	}
	c.audit = int(n)
	if err := tx.Commit(ctx); err != nil {
		return c, fmt.Errorf("error committing bench data: %w", err)
	}
	return c, nil
}

// seedArgs parses the seed command's flags: --scale demo (the default) or --scale large.
func seedArgs(args []string) (string, error) {
	scale := "demo"
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--scale" || a == "-scale":
			if i+1 == len(args) {
				return "", fmt.Errorf("seed: %s needs a value (demo or large)", a)
			}
			scale = args[i+1]
			i++
		case strings.HasPrefix(a, "--scale=") || strings.HasPrefix(a, "-scale="):
			scale = a[strings.IndexByte(a, '=')+1:]
		default:
			return "", fmt.Errorf("seed: unknown argument %q (usage: ledgerline seed [--scale demo|large])", a)
		}
	}
	if scale != "demo" && scale != "large" {
		return "", fmt.Errorf("seed: unknown scale %q (demo or large)", scale)
	}
	return scale, nil
}
