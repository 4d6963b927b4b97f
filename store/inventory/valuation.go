package inventory

import (
	"context"
	"fmt"
	"math/big"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// Valuation is by moving average cost per item, in integer minor units of the item's currency per unit.
//
// A receipt of qty at unitCost onto onHand at avg gives
//
//	avg' = (onHand·avg + qty·unitCost) / (onHand + qty)
//
// rounded half to even to a whole minor unit (banker's rounding: no drift up or down over many receipts).
// When nothing (or less than nothing) is on hand before the receipt, the old average means nothing and
// avg' = unitCost. Issues, transfers, adjustments, stocktakes and reversals leave the average as it is;
// a reversed receipt keeps the average it produced (the usual limit of a moving average).
//
// The value of a quantity is onHand·avg, again rounded half to even to a minor unit, once per figure:
// an item's value, a location's value (the exact sum over its levels, rounded once) and the total.

// MovingAverageCost returns the average cost per unit after receiving qty at unitCost onto onHand held at
// avg (see the rule above).
func MovingAverageCost(onHand Qty, avg int64, qty Qty, unitCost int64) int64 {
	if onHand <= 0 {
		return unitCost
	}
	num := new(big.Int).Mul(big.NewInt(int64(onHand)), big.NewInt(avg))
	num.Add(num, new(big.Int).Mul(big.NewInt(int64(qty)), big.NewInt(unitCost)))
	den := big.NewInt(int64(onHand + qty))
	return divRoundHalfEven(num, den).Int64()
}

// StockValueOf returns onHand·avg in minor units, rounded half to even. It fails when the value does not
// fit an int64.
func StockValueOf(onHand Qty, avg int64) (int64, error) {
	num := new(big.Int).Mul(big.NewInt(int64(onHand)), big.NewInt(avg))
	v := divRoundHalfEven(num, big.NewInt(QtyScale))
	if !v.IsInt64() {
		return 0, store.Errorf(store.Invalid, "The stock value would be too large.")
	}
	return v.Int64(), nil
}

// divRoundHalfEven returns num/den rounded to the nearest integer, ties to even. den must be positive.
func divRoundHalfEven(num, den *big.Int) *big.Int {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int)) // truncates toward zero
	twice := new(big.Int).Abs(r)
	twice.Lsh(twice, 1)
	switch twice.Cmp(den) {
	case 1:
		return q.Add(q, big.NewInt(int64(num.Sign())))
	case 0:
		if q.Bit(0) == 1 {
			return q.Add(q, big.NewInt(int64(num.Sign())))
		}
	}
	return q
}

// LocationValue is the value of the stock at one location.
type LocationValue struct {
	LocationID store.ID `db:"location_id" json:"location_id"`
	Code       string   `db:"code" json:"code"`
	Name       string   `db:"name" json:"name"`
	Value      int64    `json:"value"`
}

// StockValueResult is the tenant's stock value by location and in total, in minor units of Currency.
type StockValueResult struct {
	Currency  string
	Total     int64
	Locations []LocationValue
}

// StockValue values the tenant's stock at each item's moving average cost: per location (every location
// that holds stock, by code) and in total. Each figure is rounded once (see the valuation rule), so the
// locations may add up to the total give or take a minor unit each. The actor needs InventoryRead. A report:
// it reads from the read replica when there is one, so it may lag the primary by the replication delay.
func StockValue(ctx context.Context, db *store.DB, scope store.Scope) (*StockValueResult, error) {
	res := &StockValueResult{}
	err := db.InTenantRead(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryRead); err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &res.Currency, `SELECT currency FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error loading tenant currency: %w", err)
		}
		// on_hand has three decimals and avg_cost none, so the sums are exact thousandths of a minor unit.
		var rows []struct {
			LocationValue
			Milli string `db:"milli"`
		}
		if err := tx.SelectContext(ctx, &rows, `
			SELECT l.id AS location_id, l.code, l.name, sum(s.on_hand * i.avg_cost)::text AS milli
			FROM stock_levels s
			JOIN inventory_items i ON i.tenant_id = s.tenant_id AND i.id = s.item_id
			JOIN inventory_locations l ON l.tenant_id = s.tenant_id AND l.id = s.location_id
			WHERE s.tenant_id = $1 AND s.on_hand <> 0
			GROUP BY l.id, l.code, l.name
			ORDER BY lower(l.code), l.id`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error valuing stock: %w", err)
		}
		total := new(big.Int)
		for _, r := range rows {
			milli, ok := new(big.Int).SetString(trimDecimals(r.Milli), 10)
			if !ok {
				return fmt.Errorf("error reading stock value %q", r.Milli)
			}
			total.Add(total, milli)
			v := divRoundHalfEven(milli, big.NewInt(QtyScale))
			r.Value = v.Int64()
			res.Locations = append(res.Locations, r.LocationValue)
		}
		res.Total = divRoundHalfEven(total, big.NewInt(QtyScale)).Int64()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// trimDecimals turns a numeric with three decimals ("12.345", "-0.500") into thousandths ("12345", "-0500").
func trimDecimals(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			frac := s[i+1:]
			for len(frac) < 3 {
				frac += "0"
			}
			return s[:i] + frac[:3]
		}
	}
	return s + "000"
}
