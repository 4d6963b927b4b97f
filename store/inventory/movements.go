package inventory

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// MovementKind is what a movement does.
type MovementKind string

// The movement kinds. A reversal undoes another movement.
const (
	KindReceipt    MovementKind = "receipt"
	KindIssue      MovementKind = "issue"
	KindTransfer   MovementKind = "transfer"
	KindAdjustment MovementKind = "adjustment"
	KindStocktake  MovementKind = "stocktake"
	KindReversal   MovementKind = "reversal"
)

// Valid reports whether k is one of the kinds.
func (k MovementKind) Valid() bool {
	switch k {
	case KindReceipt, KindIssue, KindTransfer, KindAdjustment, KindStocktake, KindReversal:
		return true
	}
	return false
}

// MovementLine is one row of the ledger: a signed change of on hand at one item, location and batch
// (or serial number), with the movement it belongs to.
type MovementLine struct {
	ID            store.ID     `db:"id" json:"id"`
	MovementID    store.ID     `db:"movement_id" json:"movement_id"`
	OccurredAt    time.Time    `db:"occurred_at" json:"occurred_at"`
	RecordedAt    time.Time    `db:"recorded_at" json:"recorded_at"`
	Kind          MovementKind `db:"kind" json:"kind"`
	ItemID        store.ID     `db:"item_id" json:"item_id"`
	LocationID    store.ID     `db:"location_id" json:"location_id"`
	Batch         string       `db:"batch" json:"batch,omitempty"`
	Quantity      Qty          `db:"quantity" json:"quantity"`
	UnitCost      *int64       `db:"unit_cost" json:"unit_cost,omitempty"`
	Currency      *string      `db:"currency" json:"currency,omitempty"`
	Reason        string       `db:"reason" json:"reason,omitempty"`
	Reference     string       `db:"reference" json:"reference,omitempty"`
	Note          string       `db:"note" json:"note,omitempty"`
	ReservationID *store.ID    `db:"reservation_id" json:"reservation_id,omitempty"`
	ReversesID    *store.ID    `db:"reverses_id" json:"reverses_id,omitempty"`
	ActorID       *store.ID    `db:"actor_id" json:"actor_id,omitempty"`
	// ItemSKU is the item's SKU, read only when MovementListParams.WithSKU asks for it (the ledger page).
	ItemSKU string `db:"item_sku" json:"-"`
}

// Movement is one posted business event: a receipt, an issue, a transfer (two lines), an adjustment, a
// stocktake (a line per difference) or a reversal. It is never edited.
type Movement struct {
	ID         store.ID       `json:"id"`
	Kind       MovementKind   `json:"kind"`
	OccurredAt time.Time      `json:"occurred_at"`
	Reason     string         `json:"reason,omitempty"`
	Reference  string         `json:"reference,omitempty"`
	Note       string         `json:"note,omitempty"`
	ReversesID *store.ID      `json:"reverses_id,omitempty"`
	ActorID    *store.ID      `json:"actor_id,omitempty"`
	Lines      []MovementLine `json:"lines"`
}

const movementLineColumns = `m.id, m.movement_id, m.occurred_at, m.recorded_at, m.kind, m.item_id, m.location_id, m.batch,
	m.quantity, m.unit_cost, m.currency, m.reason, m.reference, m.note, m.reservation_id, m.reverses_id, m.actor_id`

var errMovementNotFound = store.Errorf(store.NotFound, "No such stock movement.")

// MovementInfo is what every movement may carry: when it happened (zero means now; history can be
// entered with an earlier time), a reference (a purchase request, an order) and a note.
type MovementInfo struct {
	OccurredAt time.Time
	Reference  string
	Note       string
}

// futureSlack is how far ahead of the server's clock a movement's time may be (clocks differ a little).
const futureSlack = 5 * time.Minute

func (m *MovementInfo) validate(f *store.FieldErrors) {
	if m.OccurredAt.IsZero() {
		m.OccurredAt = time.Now()
	}
	m.OccurredAt = m.OccurredAt.UTC().Truncate(time.Microsecond)
	if m.OccurredAt.After(time.Now().Add(futureSlack)) {
		f.Add("occurred_at", "A movement cannot happen in the future.")
	}
	if m.OccurredAt.Year() < 2000 {
		f.Add("occurred_at", "Enter a date from 2000 on.")
	}
	m.Reference = textField(f, "reference", m.Reference, 0, 200, "Keep the reference under 200 characters.")
	m.Note = textField(f, "note", m.Note, 0, 2000, "Keep the note under 2,000 characters.")
}

func batchValid(f *store.FieldErrors, b string) string {
	return textField(f, "batch", b, 0, 64, "Keep the batch or serial number under 64 characters.")
}

func positive(f *store.FieldErrors, q Qty) {
	if q <= 0 || q > QtyMax {
		f.Add("quantity", "Enter a quantity above zero.")
	}
}

func required(f *store.FieldErrors, field string, id store.ID, msg string) {
	if id == (store.ID{}) {
		f.Add(field, msg)
	}
}

// postIn runs a posting in its own transaction after checking permission p; then, if given, runs after
// the posting in the same transaction.
func postIn(ctx context.Context, db *store.DB, scope store.Scope, p identity.Permission, build func(tx *store.Tx) (posting, error),
	then ...func(tx *store.Tx, m *Movement) error) (*Movement, error) {
	var m *Movement
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, p); err != nil {
			return err
		}
		ps, err := build(tx)
		if err != nil {
			return err
		}
		if m, err = post(ctx, tx, ps); err != nil {
			return err
		}
		for _, fn := range then {
			if err := fn(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ReceiveParams receives Quantity of an item into a location at UnitCost (minor units of Currency per
// unit, which must be the item's currency). Batch is the batch or serial number of a tracked item.
type ReceiveParams struct {
	ItemID     store.ID
	LocationID store.ID
	Batch      string
	Quantity   Qty
	UnitCost   int64
	Currency   string
	MovementInfo
}

// Receive posts a receipt and updates the item's moving average cost. A receipt whose reference matches
// open expected receipts of the item fulfils them (see ExpectGoods). An inactive item cannot be received.
// The actor needs InventoryWrite.
func Receive(ctx context.Context, db *store.DB, scope store.Scope, p ReceiveParams) (*Movement, error) {
	var f store.FieldErrors
	required(&f, "item_id", p.ItemID, "Choose an item.")
	required(&f, "location_id", p.LocationID, "Choose a location.")
	positive(&f, p.Quantity)
	p.Batch = batchValid(&f, p.Batch)
	if p.UnitCost < 0 {
		f.Add("unit_cost", "Enter a unit cost of zero or more.")
	}
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if !store.CurrencyKnown(p.Currency) {
		f.Add("currency", "Choose a currency.")
	}
	p.MovementInfo.validate(&f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return postIn(ctx, db, scope, identity.InventoryWrite, func(tx *store.Tx) (posting, error) {
		it, err := itemGetTx(ctx, tx, p.ItemID, false)
		if err != nil {
			return posting{}, err
		}
		if it.Status == ItemInactive {
			return posting{}, store.Errorf(store.Invalid, "%s is inactive. Activate it before receiving stock.", it.SKU)
		}
		if it.Currency != p.Currency {
			return posting{}, fieldErr("currency", "Enter the cost in "+it.Currency+", the currency "+it.SKU+" is valued in.")
		}
		cost, cur := p.UnitCost, p.Currency
		return posting{kind: KindReceipt, occurredAt: p.OccurredAt, reference: p.Reference, note: p.Note,
			checkTracking: true, valueReceipts: true,
			legs: []leg{{itemID: p.ItemID, locationID: p.LocationID, batch: p.Batch, qty: p.Quantity, unitCost: &cost, currency: &cur}},
		}, nil
	}, func(tx *store.Tx, _ *Movement) error {
		return expectedFulfil(ctx, tx, p.ItemID, p.Quantity, p.Reference)
	})
}

// IssueParams issues Quantity of an item from a location. With ReservationID, the issue consumes that
// reservation (up to what remains of it); LocationID and Batch may then be left empty and are taken from it.
type IssueParams struct {
	ItemID        store.ID
	LocationID    store.ID
	Batch         string
	Quantity      Qty
	ReservationID *store.ID
	MovementInfo
}

// Issue posts an issue. Without a reservation it can take only what is on hand and not reserved;
// otherwise the result is an Invalid "Insufficient stock" error and nothing changes. The actor needs
// InventoryWrite.
func Issue(ctx context.Context, db *store.DB, scope store.Scope, p IssueParams) (*Movement, error) {
	var f store.FieldErrors
	required(&f, "item_id", p.ItemID, "Choose an item.")
	if p.ReservationID == nil {
		required(&f, "location_id", p.LocationID, "Choose a location.")
	}
	positive(&f, p.Quantity)
	p.Batch = batchValid(&f, p.Batch)
	p.MovementInfo.validate(&f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return postIn(ctx, db, scope, identity.InventoryWrite, func(tx *store.Tx) (posting, error) {
		l := leg{itemID: p.ItemID, locationID: p.LocationID, batch: p.Batch, qty: -p.Quantity}
		if p.ReservationID != nil {
			r, err := reservationConsume(ctx, tx, *p.ReservationID, p.Quantity)
			if err != nil {
				return posting{}, err
			}
			if r.ItemID != p.ItemID || (p.LocationID != (store.ID{}) && r.LocationID != p.LocationID) ||
				(p.Batch != "" && r.Batch != p.Batch) {
				return posting{}, fieldErr("reservation_id", "That reservation is for another item, location or batch.")
			}
			l.locationID, l.batch, l.reserved, l.reservID = r.LocationID, r.Batch, -p.Quantity, &r.ID
		}
		return posting{kind: KindIssue, occurredAt: p.OccurredAt, reference: p.Reference, note: p.Note,
			checkTracking: true, legs: []leg{l}}, nil
	})
}

// TransferParams moves Quantity of an item (of one batch) from one location to another.
type TransferParams struct {
	ItemID         store.ID
	FromLocationID store.ID
	ToLocationID   store.ID
	Batch          string
	Quantity       Qty
	MovementInfo
}

// Transfer posts both legs of a transfer in one transaction: reserved stock stays where it is. The
// actor needs InventoryWrite.
func Transfer(ctx context.Context, db *store.DB, scope store.Scope, p TransferParams) (*Movement, error) {
	var f store.FieldErrors
	required(&f, "item_id", p.ItemID, "Choose an item.")
	required(&f, "from_location_id", p.FromLocationID, "Choose where the stock comes from.")
	required(&f, "to_location_id", p.ToLocationID, "Choose where the stock goes.")
	if p.FromLocationID == p.ToLocationID && p.FromLocationID != (store.ID{}) {
		f.Add("to_location_id", "Choose another location than the one the stock comes from.")
	}
	positive(&f, p.Quantity)
	p.Batch = batchValid(&f, p.Batch)
	p.MovementInfo.validate(&f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return postIn(ctx, db, scope, identity.InventoryWrite, func(tx *store.Tx) (posting, error) {
		return posting{kind: KindTransfer, occurredAt: p.OccurredAt, reference: p.Reference, note: p.Note,
			checkTracking: true, legs: []leg{
				{itemID: p.ItemID, locationID: p.FromLocationID, batch: p.Batch, qty: -p.Quantity},
				{itemID: p.ItemID, locationID: p.ToLocationID, batch: p.Batch, qty: p.Quantity},
			}}, nil
	})
}

// AdjustParams corrects the stock of an item at a location by Quantity (positive adds, negative removes),
// for a Reason (damage, loss, found, ...).
type AdjustParams struct {
	ItemID     store.ID
	LocationID store.ID
	Batch      string
	Quantity   Qty
	Reason     string
	MovementInfo
}

// Adjust posts an adjustment. The actor needs InventoryAdjust.
func Adjust(ctx context.Context, db *store.DB, scope store.Scope, p AdjustParams) (*Movement, error) {
	var f store.FieldErrors
	required(&f, "item_id", p.ItemID, "Choose an item.")
	required(&f, "location_id", p.LocationID, "Choose a location.")
	if p.Quantity == 0 || p.Quantity > QtyMax || p.Quantity < -QtyMax {
		f.Add("quantity", "Enter the change: a positive quantity adds stock, a negative one removes it.")
	}
	p.Batch = batchValid(&f, p.Batch)
	p.Reason = textField(&f, "reason", p.Reason, 1, 200, "Say why the stock is adjusted (up to 200 characters).")
	p.MovementInfo.validate(&f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return postIn(ctx, db, scope, identity.InventoryAdjust, func(tx *store.Tx) (posting, error) {
		return posting{kind: KindAdjustment, occurredAt: p.OccurredAt, reason: p.Reason, reference: p.Reference,
			note: p.Note, checkTracking: true,
			legs: []leg{{itemID: p.ItemID, locationID: p.LocationID, batch: p.Batch, qty: p.Quantity}}}, nil
	})
}

// StocktakeLine is the counted quantity of an item (and batch or serial number) at the location.
type StocktakeLine struct {
	ItemID  store.ID
	Batch   string
	Counted Qty
}

// StocktakeParams counts a location. With Full, every level at the location that is not in Lines counts
// as zero (the whole location was counted); otherwise only the listed lines are counted.
type StocktakeParams struct {
	LocationID store.ID
	Lines      []StocktakeLine
	Full       bool
	Reason     string
	MovementInfo
}

// StocktakeMaxLines bounds one stocktake.
const StocktakeMaxLines = 10000

// Stocktake posts the differences between the counted and the recorded quantities as one movement, a
// line per difference, under the locks of all the counted levels: stock moved by others during the
// count waits for it. Lines that match leave no ledger row. The actor needs InventoryAdjust.
func Stocktake(ctx context.Context, db *store.DB, scope store.Scope, p StocktakeParams) (*Movement, error) {
	var f store.FieldErrors
	required(&f, "location_id", p.LocationID, "Choose the location you counted.")
	if len(p.Lines) == 0 && !p.Full {
		f.Add("lines", "Enter at least one counted item.")
	}
	if len(p.Lines) > StocktakeMaxLines {
		f.Add("lines", fmt.Sprintf("Count at most %d lines at once.", StocktakeMaxLines))
	}
	seen := map[levelKey]bool{}
	for i, l := range p.Lines {
		field := "lines." + strconv.Itoa(i)
		if l.ItemID == (store.ID{}) {
			f.Add(field+".item_id", "Choose an item.")
		}
		if l.Counted < 0 || l.Counted > QtyMax {
			f.Add(field+".counted", "Enter the counted quantity: zero or more.")
		}
		p.Lines[i].Batch = batchValid(&f, l.Batch)
		k := levelKey{item: l.ItemID, batch: p.Lines[i].Batch}
		if seen[k] {
			f.Add(field+".item_id", "This item and batch is counted twice.")
		}
		seen[k] = true
	}
	if p.Reason == "" {
		p.Reason = "Stocktake"
	}
	p.Reason = textField(&f, "reason", p.Reason, 1, 200, "Keep the reason under 200 characters.")
	p.MovementInfo.validate(&f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	return postIn(ctx, db, scope, identity.InventoryAdjust, func(tx *store.Tx) (posting, error) {
		if _, err := locationGetTx(ctx, tx, p.LocationID, false); err != nil {
			return posting{}, err
		}
		legs := make([]leg, 0, len(p.Lines))
		for _, l := range p.Lines {
			counted := l.Counted
			legs = append(legs, leg{itemID: l.ItemID, locationID: p.LocationID, batch: l.Batch, counted: &counted})
		}
		if p.Full {
			var held []struct {
				ItemID store.ID `db:"item_id"`
				Batch  string   `db:"batch"`
			}
			if err := tx.SelectContext(ctx, &held, `
				SELECT item_id, batch FROM stock_levels WHERE tenant_id = $1 AND location_id = $2 AND on_hand <> 0`,
				tx.Scope.TenantID, p.LocationID); err != nil {
				return posting{}, fmt.Errorf("error listing stock at location %s: %w", p.LocationID, err)
			}
			for _, h := range held {
				if !seen[levelKey{item: h.ItemID, batch: h.Batch}] {
					zero := Qty(0)
					legs = append(legs, leg{itemID: h.ItemID, locationID: p.LocationID, batch: h.Batch, counted: &zero})
				}
			}
		}
		if len(legs) == 0 {
			return posting{}, fieldErr("lines", "Nothing to count: the location holds no stock.")
		}
		return posting{kind: KindStocktake, occurredAt: p.OccurredAt, reason: p.Reason, reference: p.Reference,
			note: p.Note, checkTracking: true, legs: legs}, nil
	})
}

// MovementReverseParams reverses a movement; Note says why.
type MovementReverseParams struct {
	MovementID store.ID
	Note       string
}

// MovementReverse posts the opposite of a movement (every line negated, now), referring to it. A
// movement can be reversed once, and a reversal cannot itself be reversed (post the movement again
// instead). Reversing an issue that consumed a reservation returns the stock unreserved. The reversal
// fails like any movement when the stock it takes back is no longer there. The actor needs InventoryAdjust.
func MovementReverse(ctx context.Context, db *store.DB, scope store.Scope, p MovementReverseParams) (*Movement, error) {
	var f store.FieldErrors
	p.Note = textField(&f, "note", p.Note, 0, 2000, "Keep the note under 2,000 characters.")
	if err := f.Err(); err != nil {
		return nil, err
	}
	return postIn(ctx, db, scope, identity.InventoryAdjust, func(tx *store.Tx) (posting, error) {
		orig, err := movementGetTx(ctx, tx, p.MovementID)
		if err != nil {
			return posting{}, err
		}
		if orig.Kind == KindReversal {
			return posting{}, store.Errorf(store.Invalid, "A reversal cannot be reversed. Post the original movement again instead.")
		}
		// The primary key of stock_movement_reversals admits one reversal; a racing second one waits here
		// for the first to commit, then fails.
		reversalID := store.NewID()
		_, err = tx.ExecContext(ctx, `INSERT INTO stock_movement_reversals (movement_id, reversal_id) VALUES ($1, $2)`,
			orig.ID, reversalID)
		if store.IsUniqueViolation(err, "") {
			return posting{}, store.Errorf(store.Invalid, "This movement has already been reversed.")
		}
		if err != nil {
			return posting{}, fmt.Errorf("error recording reversal of %s: %w", orig.ID, err)
		}
		ps := posting{kind: KindReversal, occurredAt: time.Now().UTC().Truncate(time.Microsecond), reason: "Reversal of " + string(orig.Kind),
			reference: orig.Reference, note: p.Note, reversesID: &orig.ID}
		for _, l := range orig.Lines {
			ps.legs = append(ps.legs, leg{itemID: l.ItemID, locationID: l.LocationID, batch: l.Batch, qty: -l.Quantity,
				unitCost: l.UnitCost, currency: l.Currency})
		}
		return ps, nil
	})
}

func movementGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*Movement, error) {
	var lines []MovementLine
	if err := tx.SelectContext(ctx, &lines, `SELECT `+movementLineColumns+` FROM stock_movements_all m
		WHERE m.tenant_id = $1 AND m.movement_id = $2 ORDER BY m.id`, tx.Scope.TenantID, id); err != nil {
		return nil, fmt.Errorf("error loading movement %s: %w", id, err)
	}
	if len(lines) == 0 {
		return nil, errMovementNotFound
	}
	l := lines[0]
	return &Movement{ID: l.MovementID, Kind: l.Kind, OccurredAt: l.OccurredAt, Reason: l.Reason, Reference: l.Reference,
		Note: l.Note, ReversesID: l.ReversesID, ActorID: l.ActorID, Lines: lines}, nil
}

// MovementGet returns one movement with its lines. The actor needs InventoryRead.
func MovementGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Movement, error) {
	var m *Movement
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var err error
		m, err = movementGetTx(ctx, tx, id)
		return err
	})
	return m, err
}

// MovementListParams filters the ledger: by item, location, kind and time (From inclusive, To exclusive).
// After is the previous page's cursor; Limit defaults to 50 (at most 500). WithSKU also reads each line's
// ItemSKU (in the same query: a page naming its items needs no second one).
type MovementListParams struct {
	ItemID     *store.ID
	LocationID *store.ID
	Kind       MovementKind
	From, To   time.Time
	After      string
	Limit      int
	WithSKU    bool
}

// MovementListResult is one page of ledger lines, newest first; Next is the next page's cursor.
type MovementListResult struct {
	Lines []MovementLine
	Next  string
	// Count is set only by MovementsCount.
	Count int64
}

// MovementList pages the ledger newest first with keyset pagination on (occurred_at, id). The actor
// needs InventoryRead.
//
// Pages of the whole ledger (no item filter) are planned for their values (store.WithCustomPlans; callers
// that share a transaction set it on theirs): a generic plan made while a small tenant was in scope sorts
// every line of a large tenant's months, and bounded to the recent months (movementPageTx) they plan in
// 0.3 ms.
func MovementList(ctx context.Context, db *store.DB, scope store.Scope, p MovementListParams) (*MovementListResult, error) {
	if p.Limit <= 0 || p.Limit > 500 {
		p.Limit = 50
	}
	if p.ItemID == nil {
		ctx = store.WithCustomPlans(ctx)
	}
	var res *MovementListResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		var err error
		res, err = movementPageTx(ctx, tx, p, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ItemHistory pages the ledger lines of it newest first, from the cursor after, like MovementList with
// an item filter: it is the item as read in scope (ItemGet, ItemPageGet), which has checked InventoryRead.
// The lines are read between its FirstMovementAt and now, so PostgreSQL looks only into the ledger's
// months in between; an item without movements has no history to read.
func ItemHistory(ctx context.Context, db *store.DB, scope store.Scope, it *Item, after string, limit int) (*MovementListResult, error) {
	if it.FirstMovementAt == nil {
		return &MovementListResult{}, nil
	}
	return MovementList(ctx, db, scope, MovementListParams{ItemID: &it.ID, After: after, Limit: limit,
		From: *it.FirstMovementAt, To: time.Now().Add(historyHorizon)})
}

// historyHorizon bounds an item's history after now: beyond futureSlack with room for the clocks of
// several instances to disagree.
const historyHorizon = 24 * time.Hour

// movementPageTx reads one page of the ledger in tx (or with count, sets Count to the number of lines
// the filter matches); the caller has checked the permission and p.Limit.
//
// A page that is not an item's reads the current and the previous month first and goes further back only
// when they hold too few lines: PostgreSQL plans a statement bounded to a few months for those partitions
// only (0.3 ms), where planning it for all of the ledger's monthly partitions took 1.2 ms, more than
// reading the page. The first read ends historyHorizon from now, as posting never dates a line later.
func movementPageTx(ctx context.Context, tx *store.Tx, p MovementListParams, count bool) (*MovementListResult, error) {
	from, split := recentFrom(p)
	if count || p.ItemID != nil || !split {
		res, err := movementPageRead(ctx, tx, p, count)
		if err != nil {
			return nil, err
		}
		res.cut(p.Limit)
		return res, nil
	}
	recent := p
	recent.From = from
	if recent.To.IsZero() {
		recent.To = time.Now().Add(historyHorizon)
	}
	res, err := movementPageRead(ctx, tx, recent, false)
	if err != nil {
		return nil, err
	}
	if len(res.Lines) <= p.Limit {
		older := p
		older.To = from
		older.Limit = p.Limit - len(res.Lines) // 0 reads one line: whether there is a next page
		more, err := movementPageRead(ctx, tx, older, false)
		if err != nil {
			return nil, err
		}
		res.Lines = append(res.Lines, more.Lines...)
	}
	res.cut(p.Limit)
	return res, nil
}

// recentFrom returns the start of the month before the newest line p can return (at its To, its cursor or
// now, in UTC as the partitions are), and whether p reaches back further than that.
func recentFrom(p MovementListParams) (time.Time, bool) {
	upper := time.Now()
	if !p.To.IsZero() && p.To.Before(upper) {
		upper = p.To
	}
	if p.After != "" {
		if at, _, err := movementCursorDecode(p.After); err == nil && at.Before(upper) {
			upper = at
		}
	}
	u := upper.UTC()
	from := time.Date(u.Year(), u.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	return from, p.From.Before(from)
}

// movementPageRead is one statement of movementPageTx: p.Limit lines and one more, uncut.
func movementPageRead(ctx context.Context, tx *store.Tx, p MovementListParams, count bool) (*MovementListResult, error) {
	q, args, err := movementPageQuery(p, tx.Scope.TenantID, count)
	if err != nil {
		return nil, err
	}
	res := &MovementListResult{}
	if count {
		if err := tx.GetContext(ctx, &res.Count, q, args...); err != nil {
			return nil, fmt.Errorf("error counting stock movements: %w", err)
		}
		return res, nil
	}
	if err := tx.SelectContext(ctx, &res.Lines, q, args...); err != nil {
		return nil, fmt.Errorf("error listing stock movements: %w", err)
	}
	return res, nil
}

// cut keeps the first limit lines of a page read with one line more, and sets Next when there was more.
func (res *MovementListResult) cut(limit int) {
	if len(res.Lines) > limit {
		last := res.Lines[limit-1]
		res.Lines = res.Lines[:limit]
		res.Next = base64.RawURLEncoding.EncodeToString([]byte(last.OccurredAt.Format(time.RFC3339Nano) + "|" + last.ID.String()))
	}
}

// movementPageQuery is the statement of a ledger page (p.Limit lines and one more, to know whether there
// is a next page) or of its count, with its arguments: $1 is the tenant, then the filters in the order of
// MovementListParams (an item filter is $2).
func movementPageQuery(p MovementListParams, tenantID store.ID, count bool) (string, []any, error) {
	if p.Kind != "" && !p.Kind.Valid() {
		return "", nil, fieldErr("kind", "Choose a kind of movement from the list.")
	}
	args := []any{tenantID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var q strings.Builder
	if count {
		q.WriteString(`SELECT count(*) FROM stock_movements_all m WHERE m.tenant_id = $1`)
	} else if p.WithSKU {
		// A subquery per line shown rather than a join: PostgreSQL keeps a generic plan for it (with the join
		// its cost estimate lost to a custom plan, planned afresh every time at 2–3 ms). Archived lines may
		// outlive their item once archival purges it ("" then).
		q.WriteString(`SELECT ` + movementLineColumns + `, coalesce((SELECT i.sku FROM inventory_items i
			WHERE i.tenant_id = m.tenant_id AND i.id = m.item_id), '') AS item_sku FROM stock_movements_all m WHERE m.tenant_id = $1`)
	} else {
		q.WriteString(`SELECT ` + movementLineColumns + ` FROM stock_movements_all m WHERE m.tenant_id = $1`)
	}
	if p.ItemID != nil {
		q.WriteString(` AND m.item_id = ` + arg(*p.ItemID))
	}
	if p.LocationID != nil {
		q.WriteString(` AND m.location_id = ` + arg(*p.LocationID))
	}
	if p.Kind != "" {
		q.WriteString(` AND m.kind = ` + arg(string(p.Kind)))
	}
	if !p.From.IsZero() {
		q.WriteString(` AND m.occurred_at >= ` + arg(p.From))
	}
	if !p.To.IsZero() {
		q.WriteString(` AND m.occurred_at < ` + arg(p.To))
	}
	if count {
		return q.String(), args, nil
	}
	if p.After != "" {
		at, id, err := movementCursorDecode(p.After)
		if err != nil {
			return "", nil, errBadCursor
		}
		// Spelled out rather than as a row comparison, so that the time bound prunes the newer partitions.
		t, n := arg(at), arg(id)
		q.WriteString(` AND m.occurred_at <= ` + t + ` AND (m.occurred_at < ` + t + ` OR m.id < ` + n + `)`)
	}
	// A literal limit, so the statement's generic plan is reused (see store.Limit). The trade-off, for the
	// item filter: the generic plan is made for an item's average number of lines, and depending on the
	// statistics it either merges the partitions' index scans (0.25 ms for an item of 50,000 lines in a
	// scratch test) or reads all of the item's lines and sorts them (on the bench data, at most 64 lines
	// an item; 25–35 ms for 50,000), where a custom plan would know a very busy item from the statistics.
	// The planning it saves costs 1.5–4 ms on every page.
	q.WriteString(` ORDER BY m.occurred_at DESC, m.id DESC` + store.Limit(p.Limit+1))
	return q.String(), args, nil
}

func movementCursorDecode(s string) (time.Time, store.ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	ts, idText, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, store.ID{}, errors.New("malformed cursor")
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	id, err := store.ParseID(idText)
	return at, id, err
}
