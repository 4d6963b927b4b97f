package inventory_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

// preparedStatement is a row of pg_prepared_statements: what a connection prepared and how often it ran it
// on a generic plan (kept) and on a custom plan (planned for the execution).
type preparedStatement struct {
	Statement string `db:"statement"`
	Generic   int64  `db:"generic_plans"`
	Custom    int64  `db:"custom_plans"`
}

// The ledger page, the item page (its history, and its item, levels, reservations and locations), the
// stock levels and the plain item list are fixed statements per combination of filters with a literal
// LIMIT, so PostgreSQL reuses one generic plan for each instead of planning every execution (over the 37 monthly partitions of stock_movements that planning cost
// 1.5–4 ms at benchmark scale, against 0.2 ms for running the plan; see store.Limit). The ledger reads its
// recent months first (LedgerOlder: the rest, when they fall short), an item its months since its first
// movement (ItemHistory). Eight reads in one
// transaction (one connection) must have run on a generic plan, with no catch-all filter left in them.
func TestPageQueriesReuseAGenericPlan(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 5, 120)
	issue := inventory.KindIssue
	tests := []struct {
		name string
		read func(ctx context.Context) error
		// like selects the statement in pg_prepared_statements; wantLimit is how it ends: its literal limit
		// (the item page's limits are literals inside its subqueries).
		like, wantLimit string
		// bounded statements read a range of months, which PostgreSQL prunes the partitions to when it plans
		// them for their values: a custom plan each time is cheap and right for them.
		bounded bool
	}{
		{"Ledger", func(ctx context.Context) error {
			_, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{})
			return err
		}, "%FROM stock_movements_all m WHERE m.tenant_id = $1 AND m.occurred_at >= $2 AND m.occurred_at < $3 ORDER BY%", "LIMIT 51", true},
		{"LedgerOlder", func(ctx context.Context) error {
			_, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{})
			return err
		}, "%FROM stock_movements_all m WHERE m.tenant_id = $1 AND m.occurred_at < $2 ORDER BY%", "LIMIT 51", true},
		{"LedgerPage", func(ctx context.Context) error {
			_, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{WithSKU: true})
			return err
		}, "%AS item_sku FROM stock_movements_all m WHERE m.tenant_id = $1 AND m.occurred_at >= $2 AND m.occurred_at < $3 ORDER BY%", "LIMIT 51", true},
		{"LedgerByKind", func(ctx context.Context) error {
			_, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{Kind: issue})
			return err
		}, "%FROM stock_movements_all m WHERE m.tenant_id = $1 AND m.kind = $2 AND m.occurred_at >= $3 AND m.occurred_at < $4 ORDER BY%", "LIMIT 51", true},
		{"ItemHistory", func(ctx context.Context) error {
			_, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{ItemID: &tb.item.ID, Limit: 20})
			return err
		}, "%FROM stock_movements_all m WHERE m.tenant_id = $1 AND m.item_id = $2 ORDER BY%", "LIMIT 21", false},
		{"ItemLevels", func(ctx context.Context) error {
			_, err := inventory.StockLevels(ctx, tb.db, tb.sys, inventory.StockLevelParams{ItemID: &tb.item.ID})
			return err
		}, "%FROM stock_levels s%WHERE s.tenant_id = $1 AND s.item_id = $2 AND (s.on_hand%", "LIMIT 1000", false},
		{"ItemPage", func(ctx context.Context) error {
			_, err := inventory.ItemPageGet(ctx, tb.db, tb.sys, tb.item.ID)
			return err
		}, "%AS locations%FROM inventory_items i WHERE i.tenant_id = $1 AND i.id = $2", "i.id = $2", false},
		{"ItemList", func(ctx context.Context) error {
			_, err := inventory.ItemList(ctx, tb.db, tb.sys, inventory.ItemListParams{Category: "Parts"})
			return err
		}, "%FROM inventory_items i WHERE i.tenant_id = $1 AND i.deleted_at IS NULL AND i.category_key = $2 ORDER BY%", "LIMIT 51", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stmts []preparedStatement
			err := tb.db.InTenantShared(ctx, tb.sys, func(ctx context.Context) error {
				for range 8 {
					if err := tt.read(ctx); err != nil {
						return err
					}
				}
				return tb.db.InTenant(ctx, tb.sys, func(tx *store.Tx) error {
					return tx.SelectContext(ctx, &stmts, `
						SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
						WHERE statement LIKE $1 AND statement NOT LIKE '%pg_prepared_statements%'`, tt.like)
				})
			})
			require.NoError(t, err)
			require.Len(t, stmts, 1, "one statement, prepared once on this connection")
			require.True(t, strings.HasSuffix(strings.TrimSpace(stmts[0].Statement), tt.wantLimit),
				"a literal limit, not a parameter: %s", stmts[0].Statement)
			require.NotContains(t, stmts[0].Statement, "IS NULL OR", "no catch-all filter that only a custom plan can use")
			if !tt.bounded {
				require.Positive(t, stmts[0].Generic, "planned afresh every time (%d custom plans)", stmts[0].Custom)
			}
		})
	}
}

// Keyset pages of the ledger spell the cursor out (time bound, then id), and a page cut by a larger
// store.Limit step still returns exactly Limit lines and the right next cursor.
func TestMovementListPagesWithOddLimits(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	for i := range 7 {
		tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, int64(i+1), 100)
	}
	all, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{ItemID: &tb.item.ID})
	require.NoError(t, err)
	require.Len(t, all.Lines, 7)
	require.Empty(t, all.Next)
	// The ledger page reads each line's SKU in the same query.
	withSKU, err := inventory.MovementList(ctx, tb.db, tb.sys, inventory.MovementListParams{WithSKU: true, Limit: 3})
	require.NoError(t, err)
	require.Len(t, withSKU.Lines, 3)
	for _, l := range withSKU.Lines {
		require.Equal(t, tb.item.SKU, l.ItemSKU)
	}
	require.Empty(t, all.Lines[0].ItemSKU, "only asked for")
	for _, limit := range []int{1, 2, 3, 6, 7} {
		var got []store.ID
		p := inventory.MovementListParams{ItemID: &tb.item.ID, Limit: limit}
		for {
			res, err := inventory.MovementList(ctx, tb.db, tb.sys, p)
			require.NoError(t, err)
			require.LessOrEqual(t, len(res.Lines), limit)
			for _, l := range res.Lines {
				got = append(got, l.ID)
			}
			if res.Next == "" {
				break
			}
			p.After = res.Next
		}
		want := []store.ID{}
		for _, l := range all.Lines {
			want = append(want, l.ID)
		}
		require.Equal(t, want, got, "limit %d", limit)
	}
}

// The trigram indexes of the item search keep a short pending list (migration 00022): every stock
// movement gives its items a new row version, and a search reads the whole pending list.
func TestItemSearchIndexesKeepAShortPendingList(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	conn, err := pgx.Connect(ctx, tb.ownerURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT c.relname, coalesce(c.reloptions, '{}') FROM pg_class c
		WHERE c.relname IN ('inventory_items_sku_key_trgm', 'inventory_items_name_key_trgm') ORDER BY c.relname`)
	require.NoError(t, err)
	type index struct {
		name string
		opts []string
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		return i, r.Scan(&i.name, &i.opts)
	})
	require.NoError(t, err)
	require.Len(t, got, 2)
	for _, i := range got {
		require.True(t, slices.Contains(i.opts, "gin_pending_list_limit=1024"), "%s: %v", i.name, i.opts)
	}
}
