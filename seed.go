package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
)

// DemoPassword is the password of every demo user. The README lists the users.
const DemoPassword = "ledgerline-demo"

type demoUser struct {
	email, name string
	role        identity.Role
	department  string
}

type demoTenant struct {
	params      identity.TenantCreateParams
	departments []string
	managerOf   map[string]string // department -> manager e-mail
	users       []demoUser
}

var demoTenants = []demoTenant{
	{
		params:      identity.TenantCreateParams{Name: "Acme Manufacturing", Slug: "acme", TimeZone: "Europe/Berlin", Currency: "EUR"},
		departments: []string{"Operations", "Finance", "Warehouse"},
		managerOf:   map[string]string{"Operations": "manager@acme.example"},
		users: []demoUser{
			{"admin@acme.example", "Ada Admin", identity.RoleAdmin, "Operations"},
			{"manager@acme.example", "Max Manager", identity.RoleManager, "Operations"},
			{"finance@acme.example", "Fiona Finance", identity.RoleFinance, "Finance"},
			{"employee@acme.example", "Eli Employee", identity.RoleEmployee, "Operations"},
			{"auditor@acme.example", "Aude Auditor", identity.RoleAuditor, "Finance"},
		},
	},
	{
		params:      identity.TenantCreateParams{Name: "Globex Retail", Slug: "globex", TimeZone: "America/New_York", Currency: "USD"},
		departments: []string{"Stores", "Accounting"},
		managerOf:   map[string]string{"Stores": "manager@globex.example"},
		users: []demoUser{
			{"admin@globex.example", "Gus Admin", identity.RoleAdmin, "Stores"},
			{"manager@globex.example", "Mia Manager", identity.RoleManager, "Stores"},
			{"finance@globex.example", "Finn Finance", identity.RoleFinance, "Accounting"},
			{"employee@globex.example", "Eve Employee", identity.RoleEmployee, "Stores"},
			{"auditor@globex.example", "Art Auditor", identity.RoleAuditor, "Accounting"},
			// Acme's admin also audits Globex: the demo of the tenant switcher.
			{"admin@acme.example", "Ada Admin", identity.RoleAuditor, "Accounting"},
		},
	},
}

// seed creates the demo tenants, departments and users. A tenant that exists already is left as it is,
// so running it again changes nothing.
func seed(ctx context.Context, db *store.DB, stdout io.Writer) error {
	for _, dt := range demoTenants {
		if id, err := identity.TenantIDBySlug(ctx, db, dt.params.Slug); err == nil {
			fmt.Fprintf(stdout, "seed: %s exists, left as it is\n", dt.params.Name)
			// Inventory came later than the tenants: a tenant without items still gets the demo stock.
			if err := seedModules(ctx, db, store.Scope{TenantID: id}, dt, stdout); err != nil {
				return err
			}
			continue
		} else if store.ErrorCode(err) != store.NotFound {
			return err
		}
		tenant, err := identity.TenantCreate(ctx, db, store.Scope{}, dt.params)
		if err != nil {
			return fmt.Errorf("error seeding tenant %s: %w", dt.params.Slug, err)
		}
		scope := store.Scope{TenantID: tenant.ID}
		departments := map[string]store.ID{}
		for _, name := range dt.departments {
			d, err := identity.DepartmentCreate(ctx, db, scope, name)
			if err != nil {
				return fmt.Errorf("error seeding department %s: %w", name, err)
			}
			departments[name] = d.ID
		}
		members := map[string]store.ID{}
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
				return fmt.Errorf("error seeding user %s: %w", du.email, err)
			}
			dept := departments[du.department]
			if err := identity.MemberAdd(ctx, db, scope, identity.MemberAddParams{UserID: id, Role: du.role, DepartmentID: &dept}); err != nil {
				return fmt.Errorf("error seeding membership of %s: %w", du.email, err)
			}
			members[du.email] = id
		}
		for dept, email := range dt.managerOf {
			if err := identity.DepartmentManagerSet(ctx, db, scope, departments[dept], members[email]); err != nil {
				return fmt.Errorf("error seeding manager of %s: %w", dept, err)
			}
		}
		fmt.Fprintf(stdout, "seed: created %s with %d users\n", tenant.Name, len(dt.users))
		if err := seedModules(ctx, db, scope, dt, stdout); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nDemo users (password %q for all):\n", DemoPassword)
	for _, dt := range demoTenants {
		for _, du := range dt.users {
			fmt.Fprintf(stdout, "  %-26s %-9s %s\n", du.email, du.role, dt.params.Name)
		}
	}
	return nil
}

// seedModules gives a demo tenant each module's demo data, where the module has none yet: modules came
// later than the tenants, so a second run fills in what an older seed lacked.
func seedModules(ctx context.Context, db *store.DB, scope store.Scope, dt demoTenant, stdout io.Writer) error {
	for _, fill := range []func(context.Context, *store.DB, store.Scope, demoTenant, io.Writer) error{
		seedInventoryIfEmpty, seedBillingIfEmpty, seedApprovalsIfEmpty,
	} {
		if err := fill(ctx, db, scope, dt, stdout); err != nil {
			return err
		}
	}
	return nil
}

// demoStock describes a tenant's demo inventory: its warehouses with their bins and the words item names
// are made of.
type demoStock struct {
	warehouses []demoWarehouse
	items      int
}

type demoWarehouse struct {
	code, name string
	bins       []string
}

var demoStocks = map[string]demoStock{
	"acme": {items: 240, warehouses: []demoWarehouse{
		{"MAIN", "Main warehouse", []string{"MAIN-A1", "MAIN-A2", "MAIN-B1", "MAIN-B2"}},
		{"EAST", "East depot", []string{"EAST-01", "EAST-02"}},
	}},
	"globex": {items: 200, warehouses: []demoWarehouse{
		{"DC1", "Distribution centre", []string{"DC1-R1", "DC1-R2", "DC1-R3"}},
		{"STORE", "Store backroom", []string{"STORE-S1"}},
	}},
}

// demoCategories gives each category its unit and the nouns of its items.
var demoCategories = []struct {
	name  string
	unit  inventory.Unit
	nouns []string
}{
	{"Fasteners", "pcs", []string{"Hex bolt", "Wood screw", "Wall plug", "Washer", "Lock nut", "Rivet"}},
	{"Electrical", "m", []string{"Cable", "Conduit", "Earth wire", "Speaker wire"}},
	{"Tools", "ea", []string{"Hammer", "Screwdriver", "Spanner", "Pliers", "Utility knife", "Tape measure"}},
	{"Safety", "pair", []string{"Work gloves", "Safety goggles", "Ear defenders", "Safety boots"}},
	{"Packaging", "roll", []string{"Stretch film", "Packing tape", "Bubble wrap", "Kraft paper"}},
	{"Paint", "l", []string{"Primer", "Wall paint", "Wood stain", "Varnish"}},
	{"Office", "box", []string{"Copy paper", "Ballpoint pens", "Staples", "Envelopes"}},
}

var demoVariants = []string{"small", "medium", "large", "heavy duty", "grey", "black", "white", "stainless", "galvanised", "premium"}

// seedInventoryIfEmpty gives a demo tenant warehouses, bins, a few hundred items and months of stock
// history (receipts, issues, transfers, an adjustment now and then), leaving some items below their
// reorder point. A tenant that has items already is left as it is.
func seedInventoryIfEmpty(ctx context.Context, db *store.DB, scope store.Scope, dt demoTenant, stdout io.Writer) error {
	spec, ok := demoStocks[dt.params.Slug]
	if !ok {
		return nil
	}
	existing, err := inventory.ItemList(ctx, db, scope, inventory.ItemListParams{Limit: 1})
	if err != nil {
		return fmt.Errorf("error checking demo items of %s: %w", dt.params.Slug, err)
	}
	deleted, err := inventory.ItemList(ctx, db, scope, inventory.ItemListParams{Limit: 1, Deleted: true})
	if err != nil {
		return fmt.Errorf("error checking demo items of %s: %w", dt.params.Slug, err)
	}
	if len(existing.Items) > 0 || len(deleted.Items) > 0 {
		return nil
	}
	var bins []store.ID
	for _, w := range spec.warehouses {
		wh, err := inventory.LocationCreate(ctx, db, scope, inventory.LocationCreateParams{Code: w.code, Name: w.name})
		if err != nil {
			return fmt.Errorf("error seeding warehouse %s: %w", w.code, err)
		}
		for _, code := range w.bins {
			b, err := inventory.LocationCreate(ctx, db, scope, inventory.LocationCreateParams{WarehouseID: &wh.ID, Code: code, Name: "Bin " + code})
			if err != nil {
				return fmt.Errorf("error seeding bin %s: %w", code, err)
			}
			bins = append(bins, b.ID)
		}
	}

	// A fixed seed: every run makes the same demo data.
	r := rand.New(rand.NewPCG(uint64(len(dt.params.Slug)), 2026)) // #nosec G404 -- demo data, deliberately repeatable; nothing secret
	now := time.Now().UTC()
	daysAgo := func(d int) time.Time {
		return now.Add(-time.Duration(d)*24*time.Hour - time.Duration(r.IntN(8*60))*time.Minute)
	}
	movements := 0
	for i := range spec.items {
		cat := demoCategories[i%len(demoCategories)]
		noun := cat.nouns[(i/len(demoCategories))%len(cat.nouns)]
		variant := demoVariants[(i/(len(demoCategories)*2))%len(demoVariants)]
		reorder := int64(10 + r.IntN(40))
		it, err := inventory.ItemCreate(ctx, db, scope, inventory.ItemFields{
			SKU:          fmt.Sprintf("%s-%04d", strings.ToUpper(cat.name[:3]), 1000+i),
			Name:         fmt.Sprintf("%s, %s", noun, variant),
			Category:     cat.name,
			Unit:         cat.unit,
			Barcode:      fmt.Sprintf("40%011d", 1000000+i*7919%9000000),
			ReorderPoint: inventory.Units(reorder),
			ReorderQty:   inventory.Units(reorder * 3),
		})
		if err != nil {
			return fmt.Errorf("error seeding item %d: %w", i, err)
		}
		home := bins[r.IntN(len(bins))]
		// Two receipts months ago at slightly different costs, then issues; every ninth item is run down
		// below its reorder point.
		cost := int64(50 + r.IntN(5000))
		first := reorder * int64(2+r.IntN(4))
		for _, rc := range []struct {
			days int
			qty  int64
			cost int64
		}{{150 + r.IntN(20), first, cost}, {70 + r.IntN(30), reorder * 2, cost + int64(r.IntN(200)) - 100}} {
			if _, err := inventory.Receive(ctx, db, scope, inventory.ReceiveParams{ItemID: it.ID, LocationID: home,
				Quantity: inventory.Units(rc.qty), UnitCost: max(rc.cost, 1), Currency: dt.params.Currency,
				MovementInfo: inventory.MovementInfo{OccurredAt: daysAgo(rc.days), Reference: fmt.Sprintf("PO-%05d", 20000+i)}}); err != nil {
				return fmt.Errorf("error seeding receipt of %s: %w", it.SKU, err)
			}
			movements++
		}
		onHand := first + reorder*2
		issue := onHand / 4
		if i%9 == 0 {
			issue = onHand - reorder/2 // below the reorder point
		}
		if _, err := inventory.Issue(ctx, db, scope, inventory.IssueParams{ItemID: it.ID, LocationID: home,
			Quantity: inventory.Units(issue), MovementInfo: inventory.MovementInfo{OccurredAt: daysAgo(10 + r.IntN(50)),
				Reference: fmt.Sprintf("WO-%05d", 30000+i)}}); err != nil {
			return fmt.Errorf("error seeding issue of %s: %w", it.SKU, err)
		}
		movements++
		onHand -= issue
		if i%4 == 1 && onHand > 4 {
			to := bins[(indexOfID(bins, home)+1)%len(bins)]
			if _, err := inventory.Transfer(ctx, db, scope, inventory.TransferParams{ItemID: it.ID, FromLocationID: home, ToLocationID: to,
				Quantity: inventory.Units(onHand / 3), MovementInfo: inventory.MovementInfo{OccurredAt: daysAgo(5 + r.IntN(5)), Note: "Rebalance"}}); err != nil {
				return fmt.Errorf("error seeding transfer of %s: %w", it.SKU, err)
			}
			movements++
		}
		if i%15 == 7 && onHand > 1 {
			if _, err := inventory.Adjust(ctx, db, scope, inventory.AdjustParams{ItemID: it.ID, LocationID: home, Quantity: inventory.Units(-1),
				Reason: "Damaged", MovementInfo: inventory.MovementInfo{OccurredAt: daysAgo(2 + r.IntN(3))}}); err != nil {
				return fmt.Errorf("error seeding adjustment of %s: %w", it.SKU, err)
			}
			movements++
		}
	}
	fmt.Fprintf(stdout, "seed: %s inventory: %d items, %d locations, %d movements\n", dt.params.Name, spec.items, len(bins)+len(spec.warehouses), movements)
	return nil
}

func indexOfID(ids []store.ID, id store.ID) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return 0
}
