package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

// The bench generator is deterministic and its histories obey the store's rules: levels are the sums of
// the movements, no level goes negative at any point, the item's on hand is the sum of its levels, and its
// average cost and value follow the valuation functions.
func TestBenchGeneratorIsReproducibleAndConsistent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	bins := []store.ID{store.NewID(), store.NewID(), store.NewID()}
	actors := []store.ID{store.NewID(), store.NewID()}
	spec := benchTenantSpecs()[0]
	g := benchGen{spec: spec, bins: bins, actors: actors, now: now, seed: largeSeed}
	total := 0
	for i := range 2000 {
		a, b := g.item(i), g.item(i)
		require.Equal(t, a, b, "item %d differs between runs", i)
		require.Len(t, a.moves, spec.movesBase+i%spec.movesSpan)
		total += len(a.moves)
		levels := map[int]inventory.Qty{}
		var onHand inventory.Qty
		var avg int64
		for k, mv := range a.moves {
			if k == 0 {
				require.Equal(t, inventory.KindReceipt, mv.kind)
			} else {
				require.False(t, mv.at.Before(a.moves[k-1].at), "movements in time order")
			}
			require.False(t, mv.at.Before(a.createdAt))
			require.True(t, mv.at.Before(now))
			if mv.kind == inventory.KindReceipt {
				require.Positive(t, mv.qty)
				avg = inventory.MovingAverageCost(onHand, avg, mv.qty, mv.unitCost)
			} else {
				require.Negative(t, mv.qty)
			}
			levels[mv.bin] += mv.qty
			onHand += mv.qty
			require.GreaterOrEqual(t, levels[mv.bin], inventory.Qty(0), "item %d: a level went negative", i)
		}
		require.Equal(t, levels, a.levels)
		require.Equal(t, onHand, a.onHand)
		require.Equal(t, avg, a.avgCost)
		value, err := inventory.StockValueOf(onHand, avg)
		require.NoError(t, err)
		require.Equal(t, value, a.value)
	}
	require.Equal(t, 2000*5, total, "five movements per item on average: 5,000,000 for 1,000,000 items")
}

func TestSeedArgs(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{"": "demo", "--scale large": "large", "--scale=large": "large", "-scale demo": "demo"} {
		got, err := seedArgs(splitArgs(args))
		require.NoError(t, err, args)
		require.Equal(t, want, got, args)
	}
	for _, args := range []string{"--scale", "--scale huge", "--bogus"} {
		_, err := seedArgs(splitArgs(args))
		require.Error(t, err, args)
	}
}

func splitArgs(s string) []string { return strings.Fields(s) }
