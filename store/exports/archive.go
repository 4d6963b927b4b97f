package exports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// Archival and retention. audit_events and stock_movements are partitioned by month, and a partition holds
// that month for every tenant, so a month can leave the live tables only when it is older than every
// tenant's policy: the month archived is decided by the tenant that keeps the most months online. An
// archived month is detached from the live table and attached to the same-shaped parent in the archive
// schema (no row is copied); the audit log, audit-verify and the stock ledger read the *_all views, which
// include it, with row-level security as before. Soft-deleted records are purged per tenant after that
// tenant's own retention.

// ArchivedLedgers are the partitioned ledgers that archival moves, by table name.
var ArchivedLedgers = []string{"audit_events", "stock_movements"}

// archiveLockKey serializes archival across instances (pg_advisory_xact_lock; any other key is fine).
const archiveLockKey = 0x6c6c5f61726368 // "ll_arch"

var partitionMonth = regexp.MustCompile(`_(\d{4})_(\d{2})$`)

// ArchiveCutoffs returns, per ledger, the first month that must stay online at now: the start of the
// month now falls in, minus the largest number of months any tenant keeps online.
func ArchiveCutoffs(ctx context.Context, db *store.DB, now time.Time) (map[string]time.Time, error) {
	var tenants []store.ID
	if err := db.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return nil, fmt.Errorf("error listing tenants: %w", err)
	}
	audit, moves := DefaultSettings.AuditOnlineMonths, DefaultSettings.MovementsOnlineMonths
	if len(tenants) > 0 {
		audit, moves = 0, 0
	}
	for _, t := range tenants {
		err := db.InTenant(ctx, store.Scope{TenantID: t}, func(tx *store.Tx) error {
			s, err := settingsTx(ctx, tx)
			audit, moves = max(audit, s.AuditOnlineMonths), max(moves, s.MovementsOnlineMonths)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	return map[string]time.Time{
		"audit_events":    month.AddDate(0, -audit, 0),
		"stock_movements": month.AddDate(0, -moves, 0),
	}, nil
}

// Archive moves every monthly partition that ends on or before its ledger's cutoff (ArchiveCutoffs) to
// the archive schema, one month per short transaction under an advisory lock (so two instances never
// move the same month, and a re-run finds it gone). DETACH locks the live table briefly; lock_timeout
// keeps a long-running reader from making every writer queue behind it (the month is retried next run).
// It returns the partitions moved.
func Archive(ctx context.Context, db *store.DB, now time.Time) ([]string, error) {
	cutoffs, err := ArchiveCutoffs(ctx, db, now)
	if err != nil {
		return nil, err
	}
	var moved []string
	for _, table := range ArchivedLedgers {
		var parts []string
		if err := db.X.SelectContext(ctx, &parts, `
			SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = ('public.' || $1)::regclass ORDER BY c.relname`, table); err != nil {
			return moved, fmt.Errorf("error listing partitions of %s: %w", table, err)
		}
		for _, part := range parts {
			m := partitionMonth.FindStringSubmatch(part)
			if m == nil {
				continue // the DEFAULT partition
			}
			start, err := time.Parse("2006-01", m[1]+"-"+m[2])
			if err != nil || start.AddDate(0, 1, 0).After(cutoffs[table]) {
				continue
			}
			ok, err := archiveMonth(ctx, db, table, start)
			if err != nil {
				return moved, err
			}
			if ok {
				moved = append(moved, "archive."+part)
			}
		}
	}
	return moved, nil
}

func archiveMonth(ctx context.Context, db *store.DB, table string, month time.Time) (bool, error) {
	tx, err := db.X.BeginTxx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("error starting archival: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, archiveLockKey); err != nil {
		return false, fmt.Errorf("error taking archival lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
		return false, err
	}
	var ok bool
	if err := tx.GetContext(ctx, &ok, `SELECT ledger_partition_archive($1, $2::date)`, table, month.Format("2006-01-02")); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" {
			slog.WarnContext(ctx, "archival of a month waited too long for its table; it is tried again next run",
				"table", table, "month", month.Format("2006-01"))
			return false, nil
		}
		return false, fmt.Errorf("error archiving %s of %s: %w", table, month.Format("2006-01"), err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("error committing archival: %w", err)
	}
	return ok, nil
}

// PurgedTables are the tables with soft delete whose rows Purge removes after the tenant's retention.
// webhook_endpoints is not among them: the app role may not delete endpoints (their delivery history
// refers to them).
var PurgedTables = []string{"departments", "inventory_items", "inventory_locations", "billing_tax_rates",
	"billing_customers", "export_schedules"}

// PurgeResult counts, per table, the rows purged and the rows kept because other rows still refer to them
// (an item with stock movements, a customer with invoices…): those stay soft-deleted, and are retried at
// every run.
type PurgeResult struct {
	Purged     map[string]int `json:"purged"`
	Referenced map[string]int `json:"referenced"`
}

// purgeBatch bounds the rows of one table purged per tenant and run.
const purgeBatch = 500

// Purge deletes the records of the tenant that were soft-deleted more than the tenant's PurgeDeletedDays
// before now. Each row is deleted under a savepoint: a row that is still referenced (foreign key
// violation) is left alone and counted. Each purge is an audit event "retention.purged" with the row as
// it was, in the same transaction.
func Purge(ctx context.Context, db *store.DB, tenantID store.ID, now time.Time) (PurgeResult, error) {
	res := PurgeResult{Purged: map[string]int{}, Referenced: map[string]int{}}
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		s, err := settingsTx(ctx, tx)
		if err != nil {
			return err
		}
		before := now.Add(-time.Duration(s.PurgeDeletedDays) * 24 * time.Hour)
		for _, table := range PurgedTables {
			var ids []store.ID
			if err := tx.SelectContext(ctx, &ids, `SELECT id FROM `+table+`
				WHERE tenant_id = $1 AND deleted_at IS NOT NULL AND deleted_at < $2 ORDER BY deleted_at LIMIT $3`,
				tenantID, before, purgeBatch); err != nil {
				return fmt.Errorf("error listing purgeable %s: %w", table, err)
			}
			for _, id := range ids {
				if _, err := tx.ExecContext(ctx, `SAVEPOINT purge_row`); err != nil {
					return err
				}
				var row []byte
				err := tx.GetContext(ctx, &row, `DELETE FROM `+table+` t WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NOT NULL
					RETURNING to_jsonb(t)`, tenantID, id)
				var pe *pgconn.PgError
				if errors.As(err, &pe) && pe.Code == "23503" {
					res.Referenced[table]++
					if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT purge_row`); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					return fmt.Errorf("error purging %s %s: %w", table, id, err)
				}
				if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT purge_row`); err != nil {
					return err
				}
				if err := audit.Record(ctx, tx, audit.RecordParams{Action: "retention.purged", EntityType: table,
					EntityID: id.String(), Before: json.RawMessage(row),
					After: map[string]any{"purge_deleted_days": s.PurgeDeletedDays}}); err != nil {
					return err
				}
				res.Purged[table]++
			}
		}
		return nil
	})
	return res, err
}

// PurgeAll runs Purge for every tenant and adds up the counts.
func PurgeAll(ctx context.Context, db *store.DB, now time.Time) (PurgeResult, error) {
	total := PurgeResult{Purged: map[string]int{}, Referenced: map[string]int{}}
	var tenants []store.ID
	if err := db.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return total, fmt.Errorf("error listing tenants: %w", err)
	}
	for _, t := range tenants {
		r, err := Purge(ctx, db, t, now)
		if err != nil {
			return total, err
		}
		for k, v := range r.Purged {
			total.Purged[k] += v
		}
		for k, v := range r.Referenced {
			total.Referenced[k] += v
		}
	}
	return total, nil
}
