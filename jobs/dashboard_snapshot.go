package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/dashboard"
	"ledgerline/store/inventory"
)

// DashboardSnapshotEvery is how often today's figures of the dashboard's trends are recorded; the last
// run of a day stays as that day's value.
const DashboardSnapshotEvery = time.Hour

// DashboardSnapshotArgs is the periodic job that records every tenant's stock value for the trend chart.
type DashboardSnapshotArgs struct{}

// Kind names the job in River's tables.
func (DashboardSnapshotArgs) Kind() string { return "dashboard_snapshot" }

// InsertOpts makes the job unique per period.
func (DashboardSnapshotArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: DashboardSnapshotEvery}}
}

// DashboardSnapshotWorker works DashboardSnapshotArgs: it values each tenant's stock (as the system) and
// saves it as today's point, today being the tenant's local date.
type DashboardSnapshotWorker struct {
	river.WorkerDefaults[DashboardSnapshotArgs]
	DB *store.DB
}

// Work visits every tenant.
func (w *DashboardSnapshotWorker) Work(ctx context.Context, job *river.Job[DashboardSnapshotArgs]) error {
	var tenants []store.ID
	if err := w.DB.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return fmt.Errorf("error listing tenants: %w", err)
	}
	for _, t := range tenants {
		if err := DashboardSnapshotTenant(ctx, w.DB, t, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// DashboardSnapshotTenant records one tenant's stock value as of now.
func DashboardSnapshotTenant(ctx context.Context, db *store.DB, tenant store.ID, now time.Time) error {
	sys := store.Scope{TenantID: tenant}
	v, err := inventory.StockValue(ctx, db, sys)
	if err != nil {
		return err
	}
	var loc *time.Location
	if err := db.InTenant(ctx, sys, func(tx *store.Tx) error {
		loc, err = tenantZone(ctx, tx)
		return err
	}); err != nil {
		return err
	}
	return dashboard.SnapshotSave(ctx, db, sys, dashboard.SeriesStockValue, now.In(loc), v.Currency, v.Total)
}
