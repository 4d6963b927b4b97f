package inventory_test

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/inventory"
)

// TestConcurrentIssuesNeverOversell: 50 issues of one unit race for 10 on hand. Exactly 10 succeed, the
// others are told "Insufficient stock", and the ledger explains the level.
func TestConcurrentIssuesNeverOversell(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 10, 250)

	const n = 50
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = inventory.Issue(ctx, tb.db, tb.as["employee"], inventory.IssueParams{ItemID: tb.item.ID,
				LocationID: tb.bin1.ID, Quantity: inventory.Units(1)})
		})
	}
	wg.Wait()
	t.Logf("%d concurrent issues took %s", n, time.Since(start))

	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		requireCode(t, err, store.Invalid, "Insufficient stock: 0 ea on hand, 0 reserved at WH1-A1")
		require.True(t, inventory.IsInsufficientStock(err), "callers can tell the refusal from other invalid input")
	}
	require.Equal(t, 10, ok)
	require.Equal(t, inventory.Qty(0), tb.onHand(ctx, t, tb.sys, tb.item.ID, tb.bin1.ID))
	item, err := inventory.ItemGet(ctx, tb.db, tb.sys, tb.item.ID)
	require.NoError(t, err)
	require.Equal(t, inventory.Qty(0), item.OnHand)
	require.Zero(t, item.StockValue)
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

// TestConcurrentTransfersBothWays: 40 transfers race in both directions between two bins while reserves
// and issues run too. Callers see no error but "Insufficient stock" (deadlocks are avoided or retried
// inside), and the stock is conserved.
func TestConcurrentTransfersBothWays(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	tb.receive(ctx, t, tb.item.ID, tb.bin1.ID, 20, 100)
	tb.receive(ctx, t, tb.item.ID, tb.bin2.ID, 20, 100)

	const n = 40
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		from, to := tb.bin1.ID, tb.bin2.ID
		if i%2 == 1 {
			from, to = to, from
		}
		wg.Go(func() {
			_, errs[i] = inventory.Transfer(ctx, tb.db, tb.sys, inventory.TransferParams{ItemID: tb.item.ID,
				FromLocationID: from, ToLocationID: to, Quantity: inventory.Units(int64(3 + i%5))})
		})
	}
	wg.Wait()
	t.Logf("%d concurrent transfers took %s", n, time.Since(start))
	succeeded := 0
	for _, err := range errs {
		if err != nil {
			requireCode(t, err, store.Invalid, "Insufficient stock")
			continue
		}
		succeeded++
	}
	require.Positive(t, succeeded)
	total := tb.onHand(ctx, t, tb.sys, tb.item.ID, tb.bin1.ID) + tb.onHand(ctx, t, tb.sys, tb.item.ID, tb.bin2.ID)
	require.Equal(t, inventory.Units(40), total, "transfers conserve stock")
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

// TestConcurrentMixedItems: transfers, stocktakes and issues over two items and three locations at once;
// stocktakes lock many levels, so lock order matters. Nothing but insufficient stock reaches callers.
func TestConcurrentMixedItems(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	other := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "NUT-10", Name: "Nut M10", Unit: "ea"})
	locs := []store.ID{tb.wh.ID, tb.bin1.ID, tb.bin2.ID}
	items := []store.ID{tb.item.ID, other.ID}
	for _, it := range items {
		for _, l := range locs {
			tb.receive(ctx, t, it, l, 30, 100)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		wg.Go(func() {
			var err error
			switch i % 3 {
			case 0:
				from, to := locs[r.IntN(3)], locs[r.IntN(3)]
				if from == to {
					return
				}
				_, err = inventory.Transfer(ctx, tb.db, tb.sys, inventory.TransferParams{ItemID: items[r.IntN(2)],
					FromLocationID: from, ToLocationID: to, Quantity: inventory.Units(int64(1 + r.IntN(10)))})
			case 1:
				_, err = inventory.Stocktake(ctx, tb.db, tb.sys, inventory.StocktakeParams{LocationID: locs[r.IntN(3)],
					Lines: []inventory.StocktakeLine{{ItemID: items[1], Counted: inventory.Units(int64(r.IntN(40)))},
						{ItemID: items[0], Counted: inventory.Units(int64(r.IntN(40)))}}})
			case 2:
				_, err = inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: items[r.IntN(2)],
					LocationID: locs[r.IntN(3)], Quantity: inventory.Units(int64(1 + r.IntN(5)))})
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		requireCode(t, err, store.Invalid, "Insufficient stock")
	}
	require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a))
}

// TestLedgerProperty runs thousands of random operations (receipts, issues, transfers, adjustments,
// stocktakes, reservations, releases, reserved issues, reversals) with a fixed seed, in short sequences.
// After each sequence the levels equal the sums of the ledger, no level is negative, reserved equals what
// open reservations hold, and the model kept in the test agrees with the database.
func TestLedgerProperty(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	batchItem := tb.itemCreate(ctx, t, tb.sys, inventory.ItemFields{SKU: "OIL-5", Name: "Oil", Unit: "l", Tracking: inventory.TrackBatch})
	items := []*inventory.Item{tb.item, batchItem}
	locs := []store.ID{tb.wh.ID, tb.bin1.ID, tb.bin2.ID}
	batchOf := func(r *rand.Rand, it *inventory.Item) string {
		if it.Tracking == inventory.TrackBatch {
			return []string{"L1", "L2"}[r.IntN(2)]
		}
		return ""
	}
	qty := func(r *rand.Rand, it *inventory.Item) inventory.Qty {
		if it.Unit == "l" {
			return inventory.Qty(1 + r.IntN(8000)) // thousandths: up to 8 litres
		}
		return inventory.Units(int64(1 + r.IntN(8)))
	}

	r := rand.New(rand.NewPCG(20261126, 4))
	const sequences, perSequence = 150, 20
	var movements []store.ID
	var reservations []store.ID
	counts := map[string]int{}
	start := time.Now()
	for seq := range sequences {
		for range perSequence {
			it := items[r.IntN(len(items))]
			loc := locs[r.IntN(len(locs))]
			batch := batchOf(r, it)
			var (
				m   *inventory.Movement
				err error
				op  string
			)
			switch k := r.IntN(100); {
			case k < 25:
				op = "receive"
				m, err = inventory.Receive(ctx, tb.db, tb.sys, inventory.ReceiveParams{ItemID: it.ID, LocationID: loc, Batch: batch,
					Quantity: qty(r, it), UnitCost: int64(r.IntN(5000)), Currency: "EUR"})
			case k < 45:
				op = "issue"
				m, err = inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: it.ID, LocationID: loc, Batch: batch, Quantity: qty(r, it)})
			case k < 60:
				op = "transfer"
				to := locs[(r.IntN(2)+1+indexOf(locs, loc))%len(locs)]
				m, err = inventory.Transfer(ctx, tb.db, tb.sys, inventory.TransferParams{ItemID: it.ID, FromLocationID: loc, ToLocationID: to,
					Batch: batch, Quantity: qty(r, it)})
			case k < 67:
				op = "adjust"
				d := qty(r, it)
				if r.IntN(2) == 0 {
					d = -d
				}
				m, err = inventory.Adjust(ctx, tb.db, tb.sys, inventory.AdjustParams{ItemID: it.ID, LocationID: loc, Batch: batch, Quantity: d, Reason: "Random"})
			case k < 72:
				op = "stocktake"
				m, err = inventory.Stocktake(ctx, tb.db, tb.sys, inventory.StocktakeParams{LocationID: loc, Full: r.IntN(3) == 0,
					Lines: []inventory.StocktakeLine{{ItemID: it.ID, Batch: batch, Counted: qty(r, it)}}})
			case k < 82:
				op = "reserve"
				var res *inventory.Reservation
				res, err = inventory.Reserve(ctx, tb.db, tb.sys, inventory.ReserveParams{ItemID: it.ID, LocationID: loc, Batch: batch,
					Quantity: qty(r, it), Reference: "SO-1"})
				if err == nil {
					reservations = append(reservations, res.ID)
				}
			case k < 87 && len(reservations) > 0:
				op = "release"
				_, err = inventory.ReservationRelease(ctx, tb.db, tb.sys, reservations[r.IntN(len(reservations))])
			case k < 93 && len(reservations) > 0:
				op = "reserved issue"
				id := reservations[r.IntN(len(reservations))]
				res, gerr := inventory.ReservationGet(ctx, tb.db, tb.sys, id)
				require.NoError(t, gerr)
				n := res.Remaining()
				if half := n / 2; r.IntN(2) == 0 {
					if res.ItemID == tb.item.ID { // counted in whole units
						half -= half % inventory.QtyScale
					}
					if half > 0 {
						n = half
					}
				}
				if n == 0 {
					n = inventory.Units(1)
				}
				m, err = inventory.Issue(ctx, tb.db, tb.sys, inventory.IssueParams{ItemID: res.ItemID, ReservationID: &id, Quantity: n})
			case len(movements) > 0:
				op = "reverse"
				m, err = inventory.MovementReverse(ctx, tb.db, tb.sys, inventory.MovementReverseParams{MovementID: movements[r.IntN(len(movements))]})
			default:
				continue
			}
			if err != nil {
				// Refusals are expected (not enough stock, a closed reservation, a second reversal); anything
				// else is a bug.
				require.Equal(t, store.Invalid, store.ErrorCode(err), "%s: %v", op, err)
				msg := err.Error()
				require.True(t, strings.Contains(msg, "Insufficient stock") || strings.Contains(msg, "already") ||
					strings.Contains(msg, "reservation holds only") || strings.Contains(msg, "cannot be reversed") ||
					strings.Contains(msg, "Nothing to count"), "%s: %v", op, err)
				counts[op+" refused"]++
				continue
			}
			counts[op]++
			if m != nil {
				movements = append(movements, m.ID)
			}
		}
		require.Empty(t, ledgerInvariants(ctx, t, tb.db, tb.a), "after sequence %d", seq)
	}
	t.Logf("%d operations in %s: %v", sequences*perSequence, time.Since(start), counts)
	for _, op := range []string{"receive", "issue", "transfer", "adjust", "stocktake", "reserve", "release", "reserved issue", "reverse"} {
		require.Positive(t, counts[op], "operation %s never succeeded", op)
	}
	require.Positive(t, counts["issue refused"], "the property test should also hit insufficient stock")
}

func indexOf(ids []store.ID, id store.ID) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}
