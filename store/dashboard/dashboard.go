// Package dashboard owns the daily snapshots behind the home page's trend charts: one value per series,
// day and currency ("inventory.stock_value" at the end of each day, ...). Jobs write them from the domains'
// own figures; the package reads no domain's tables and imports no domain.
package dashboard

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
)

// The series the dashboard charts.
const (
	SeriesStockValue = "inventory.stock_value"
)

// Point is one day's value of a series.
type Point struct {
	Day      time.Time `db:"day"`
	Currency string    `db:"currency"`
	Value    int64     `db:"value"`
}

// SnapshotSave records the value of series on day (the tenant's local date) in the tenant of scope,
// replacing a value recorded earlier that day.
func SnapshotSave(ctx context.Context, db *store.DB, scope store.Scope, series string, day time.Time, currency string, value int64) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO dashboard_snapshots (series, day, currency, value) VALUES ($1, $2::date, $3, $4)
			ON CONFLICT (tenant_id, series, day, currency) DO UPDATE SET value = $4, recorded_at = now()`,
			series, day.Format(time.DateOnly), currency, value); err != nil {
			return fmt.Errorf("error saving %s snapshot: %w", series, err)
		}
		return nil
	})
}

// Trend returns the values of series from the last days days, oldest first.
func Trend(ctx context.Context, db *store.DB, scope store.Scope, series string, since time.Time) ([]Point, error) {
	var out []Point
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &out, `
			SELECT day, currency, value FROM dashboard_snapshots
			WHERE tenant_id = $1 AND series = $2 AND day >= $3::date ORDER BY day, currency`,
			scope.TenantID, series, since.Format(time.DateOnly))
	})
	if err != nil {
		return nil, fmt.Errorf("error loading %s trend: %w", series, err)
	}
	return out, nil
}
