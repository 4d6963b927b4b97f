package inventory

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// ExpectedReceipt is goods the tenant expects to receive: an approved purchase line (Reference and
// LineNo) of an item, optionally at a location. A receipt of the item carrying the same reference fulfils
// it, in part or in full.
type ExpectedReceipt struct {
	ID          store.ID   `db:"id" json:"id"`
	Reference   string     `db:"reference" json:"reference"`
	LineNo      int        `db:"line_no" json:"line_no"`
	ItemID      store.ID   `db:"item_id" json:"item_id"`
	SKU         string     `db:"sku" json:"sku"`
	ItemName    string     `db:"item_name" json:"item_name"`
	LocationID  *store.ID  `db:"location_id" json:"location_id,omitempty"`
	Quantity    Qty        `db:"quantity" json:"quantity"`
	Received    Qty        `db:"received" json:"received"`
	Status      string     `db:"status" json:"status"`
	Note        string     `db:"note" json:"note,omitempty"`
	CreatedAt   time.Time  `db:"created_at" json:"created_at"`
	FulfilledAt *time.Time `db:"fulfilled_at" json:"fulfilled_at,omitempty"`
}

const expectedColumns = `e.id, e.reference, e.line_no, e.item_id, i.sku, i.name AS item_name, e.location_id, e.quantity,
	e.received, e.status, e.note, e.created_at, e.fulfilled_at`

const expectedFrom = ` FROM inventory_expected_receipts e JOIN inventory_items i ON i.tenant_id = e.tenant_id AND i.id = e.item_id`

// ExpectedLine is one line of goods to expect.
type ExpectedLine struct {
	LineNo     int
	ItemID     store.ID
	LocationID *store.ID
	Quantity   Qty
}

// ExpectGoodsParams are the goods of one reference (a purchase request's number) to expect.
type ExpectGoodsParams struct {
	Reference string
	Note      string
	Lines     []ExpectedLine
}

// ExpectGoods records goods to expect. It is idempotent per reference and line: a hand-off retried after
// a crash expects nothing twice, and the lines already recorded are returned as they are. Every item (and
// location) must be the tenant's. The actor needs InventoryWrite (the system, working a job, may).
func ExpectGoods(ctx context.Context, db *store.DB, scope store.Scope, p ExpectGoodsParams) ([]ExpectedReceipt, error) {
	var f store.FieldErrors
	p.Reference = textField(&f, "reference", p.Reference, 1, 200, "Enter the reference the goods will arrive with.")
	p.Note = textField(&f, "note", p.Note, 0, 500, "Keep the note under 500 characters.")
	if len(p.Lines) == 0 {
		f.Add("lines", "Name at least one item to expect.")
	}
	for i, l := range p.Lines {
		if l.LineNo < 1 {
			f.Add(fmt.Sprintf("line%d_line_no", i), "Number the lines from 1.")
		}
		required(&f, fmt.Sprintf("line%d_item_id", i), l.ItemID, "Choose an item.")
		if l.Quantity <= 0 || l.Quantity > QtyMax {
			f.Add(fmt.Sprintf("line%d_quantity", i), "Enter a quantity above zero.")
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out []ExpectedReceipt
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryWrite); err != nil {
			return err
		}
		var inserted []store.ID
		for _, l := range p.Lines {
			if _, err := itemGetTx(ctx, tx, l.ItemID, false); err != nil {
				return err
			}
			if l.LocationID != nil {
				if _, err := locationGetTx(ctx, tx, *l.LocationID, false); err != nil {
					return err
				}
			}
			var ids []store.ID
			if err := tx.SelectContext(ctx, &ids, `
				INSERT INTO inventory_expected_receipts (id, reference, line_no, item_id, location_id, quantity, note)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT ON CONSTRAINT inventory_expected_receipts_line_key DO NOTHING RETURNING id`,
				store.NewID(), p.Reference, l.LineNo, l.ItemID, l.LocationID, l.Quantity, p.Note); err != nil {
				return fmt.Errorf("error expecting line %d of %s: %w", l.LineNo, p.Reference, err)
			}
			inserted = append(inserted, ids...)
		}
		if err := tx.SelectContext(ctx, &out, `SELECT `+expectedColumns+expectedFrom+`
			WHERE e.tenant_id = $1 AND e.reference = $2 ORDER BY e.line_no`, tx.Scope.TenantID, p.Reference); err != nil {
			return fmt.Errorf("error loading expected receipts of %s: %w", p.Reference, err)
		}
		if len(inserted) == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.expect_goods", EntityType: "inventory_expected_receipt",
			EntityID: p.Reference, After: out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ExpectedListParams filters the expected receipts: OpenOnly hides fulfilled ones; Reference, when set,
// selects one reference.
type ExpectedListParams struct {
	OpenOnly  bool
	Reference string
}

// ExpectedListMax bounds ExpectedList.
const ExpectedListMax = 500

// ExpectedList returns expected receipts, newest first, at most ExpectedListMax. The actor needs InventoryRead.
func ExpectedList(ctx context.Context, db *store.DB, scope store.Scope, p ExpectedListParams) ([]ExpectedReceipt, error) {
	var out []ExpectedReceipt
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `SELECT `+expectedColumns+expectedFrom+`
			WHERE e.tenant_id = $1 AND (NOT $2 OR e.status = 'open') AND ($3 = '' OR e.reference = $3)
			ORDER BY e.created_at DESC, e.id DESC, e.line_no LIMIT $4`, tx.Scope.TenantID, p.OpenOnly, p.Reference, ExpectedListMax)
	})
	return out, err
}

// expectedFulfil applies a receipt of qty of an item with reference to the open expected receipts of that
// reference and item, lowest line first: each takes what it still lacks, and is fulfilled when complete.
func expectedFulfil(ctx context.Context, tx *store.Tx, itemID store.ID, qty Qty, reference string) error {
	if reference == "" {
		return nil
	}
	var open []struct {
		ID       store.ID `db:"id"`
		Quantity Qty      `db:"quantity"`
		Received Qty      `db:"received"`
	}
	if err := tx.SelectContext(ctx, &open, `
		SELECT id, quantity, received FROM inventory_expected_receipts
		WHERE tenant_id = $1 AND reference = $2 AND item_id = $3 AND status = 'open' ORDER BY line_no FOR UPDATE`,
		tx.Scope.TenantID, reference, itemID); err != nil {
		return fmt.Errorf("error loading expected receipts of %s: %w", reference, err)
	}
	for _, e := range open {
		if qty <= 0 {
			break
		}
		take := min(qty, e.Quantity-e.Received)
		qty -= take
		if _, err := tx.ExecContext(ctx, `
			UPDATE inventory_expected_receipts SET received = received + $3,
				status = CASE WHEN received + $3 >= quantity THEN 'fulfilled' ELSE 'open' END,
				fulfilled_at = CASE WHEN received + $3 >= quantity THEN now() END
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, e.ID, take); err != nil {
			return fmt.Errorf("error fulfilling expected receipt %s: %w", e.ID, err)
		}
	}
	return nil
}
