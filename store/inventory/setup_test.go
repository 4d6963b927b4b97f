package inventory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/identity"
	"ledgerline/store/inventory"
	"ledgerline/store/storetest"
)

// testBundle is a fresh database with two tenants. Tenant A has a member of every role, a warehouse with
// two bins and an item; tenant B has its own warehouse and item.
type testBundle struct {
	db       *store.DB
	ownerURL string
	a, b     store.ID
	sys      store.Scope // the system in tenant A
	sysB     store.Scope
	as       map[identity.Role]store.Scope // members of A by role
	wh       *inventory.Location           // A's warehouse
	bin1     *inventory.Location
	bin2     *inventory.Location
	item     *inventory.Item // A's untracked item, unit ea
	whB      *inventory.Location
	itemB    *inventory.Item
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	b := storetest.New(t)
	tb := &testBundle{db: b.DB, ownerURL: b.OwnerURL, as: map[identity.Role]store.Scope{}}
	tenant := func(slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
			Name: "Tenant " + slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	tb.a, tb.b = tenant("inv-a"), tenant("inv-b")
	tb.sys, tb.sysB = store.Scope{TenantID: tb.a}, store.Scope{TenantID: tb.b}
	for _, role := range identity.Roles {
		id := store.NewID()
		_, err := tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`,
			id, string(role)+"@inv.example", strings.ToUpper(string(role[:1]))+string(role[1:]))
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, tb.db, tb.sys, identity.MemberAddParams{UserID: id, Role: role}))
		tb.as[role] = store.Scope{TenantID: tb.a, ActorID: id}
	}
	tb.wh = tb.location(ctx, t, tb.sys, nil, "WH1")
	tb.bin1 = tb.location(ctx, t, tb.sys, &tb.wh.ID, "WH1-A1")
	tb.bin2 = tb.location(ctx, t, tb.sys, &tb.wh.ID, "WH1-A2")
	tb.item = tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "BOLT-10", Name: "Bolt M10", Unit: "ea"})
	tb.whB = tb.location(ctx, t, tb.sysB, nil, "WHB")
	tb.itemB = tb.itemCreate(ctx, t, tb.sysB, inventory.ItemFields{SKU: "BOLT-10", Name: "Bolt M10 (B)", Unit: "ea"})
	return tb, ctx
}

func (tb *testBundle) location(ctx context.Context, t *testing.T, sc store.Scope, wh *store.ID, code string) *inventory.Location {
	t.Helper()
	l, err := inventory.LocationCreate(ctx, tb.db, sc, inventory.LocationCreateParams{WarehouseID: wh, Code: code, Name: "Location " + code})
	require.NoError(t, err)
	return l
}

func (tb *testBundle) itemCreate(ctx context.Context, t *testing.T, sc store.Scope, f inventory.ItemFields) *inventory.Item {
	t.Helper()
	it, err := inventory.ItemCreate(ctx, tb.db, sc, f)
	require.NoError(t, err)
	return it
}

func (tb *testBundle) receive(ctx context.Context, t *testing.T, item, loc store.ID, qty int64, cost int64) *inventory.Movement {
	t.Helper()
	m, err := inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: item, LocationID: loc,
		Quantity: inventory.Units(qty), UnitCost: cost, Currency: "EUR"})
	require.NoError(t, err)
	return m
}

// onHand returns the on hand of a level ("" batch), zero when it does not exist.
func (tb *testBundle) onHand(ctx context.Context, t *testing.T, sc store.Scope, item, loc store.ID) inventory.Qty {
	t.Helper()
	levels, err := inventory.StockLevels(ctx, tb.db, sc, inventory.StockLevelParams{ItemID: &item, IncludeEmpty: true})
	require.NoError(t, err)
	for _, l := range levels {
		if l.LocationID == loc && l.Batch == "" {
			return l.OnHand
		}
	}
	return 0
}

// requireCode checks the store error code of err and, when msg is not empty, that its message or a
// field message contains msg.
func requireCode(t *testing.T, err error, code store.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), "%v", err)
	if msg != "" {
		require.Contains(t, err.Error(), msg)
	}
}

// ledgerInvariants checks, inside tenant, that every level equals the sum of its ledger lines, that no
// level is below zero where that is not allowed, that reserved equals what open reservations hold, and
// that each item's on hand is the sum of its levels. It returns the violations found.
func ledgerInvariants(ctx context.Context, t *testing.T, db *store.DB, tenant store.ID) []string {
	t.Helper()
	var bad []string
	require.NoError(t, db.InTenant(ctx, store.Scope{TenantID: tenant}, func(tx *store.Tx) error {
		var rows []string
		if err := tx.SelectContext(ctx, &rows, `
			SELECT 'level ' || item_id || '/' || location_id || '/' || batch || ': on hand ' || coalesce(l.on_hand, 0)
			       || ' but ledger sums to ' || coalesce(m.q, 0)
			FROM stock_levels l
			FULL JOIN (SELECT item_id, location_id, batch, sum(quantity) AS q FROM stock_movements GROUP BY 1, 2, 3) m
			USING (item_id, location_id, batch)
			WHERE coalesce(l.on_hand, 0) <> coalesce(m.q, 0)
			UNION ALL
			SELECT 'level ' || item_id || '/' || location_id || ': negative ' || on_hand || ' / ' || reserved
			FROM stock_levels WHERE NOT allow_negative AND (on_hand < 0 OR reserved < 0 OR reserved > on_hand)
			UNION ALL
			SELECT 'level ' || item_id || '/' || location_id || ': reserved ' || coalesce(l.reserved, 0)
			       || ' but open reservations hold ' || coalesce(r.q, 0)
			FROM stock_levels l
			FULL JOIN (SELECT item_id, location_id, batch, sum(quantity - consumed) AS q FROM stock_reservations
			           WHERE status = 'open' GROUP BY 1, 2, 3) r USING (item_id, location_id, batch)
			WHERE coalesce(l.reserved, 0) <> coalesce(r.q, 0)
			UNION ALL
			SELECT 'item ' || i.sku || ': on hand ' || i.on_hand || ' but levels sum to ' || coalesce(s.q, 0)
			FROM inventory_items i LEFT JOIN (SELECT item_id, sum(on_hand) AS q FROM stock_levels GROUP BY 1) s
			ON s.item_id = i.id
			WHERE i.on_hand <> coalesce(s.q, 0)`); err != nil {
			return err
		}
		bad = rows
		return nil
	}))
	return bad
}

func q(s string) inventory.Qty {
	v, err := inventory.ParseQty(s)
	if err != nil {
		panic(fmt.Sprintf("bad test quantity %q: %v", s, err))
	}
	return v
}
