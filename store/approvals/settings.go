package approvals

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Settings are a tenant's approval settings: the amount thresholds the default policies use, the business
// hours SLAs count in (minutes after midnight, in the tenant's time zone, on the Workdays) and the SLA a
// step gets when its policy names none. Amounts are minor units of Currency, the tenant's currency.
type Settings struct {
	ManagerLimit    int64     `db:"manager_limit" json:"manager_limit"`
	FinanceLimit    int64     `db:"finance_limit" json:"finance_limit"`
	Currency        string    `db:"currency" json:"currency"`
	WorkStart       int       `db:"work_start" json:"work_start"`
	WorkEnd         int       `db:"work_end" json:"work_end"`
	Workdays        Weekdays  `db:"workdays" json:"workdays"`
	DefaultSLAHours int       `db:"default_sla_hours" json:"default_sla_hours"`
	UpdatedAt       time.Time `db:"updated_at" json:"updated_at"`
	Version         int       `db:"version" json:"version"`
}

// Weekdays is a set of days of the week, bit 0 = Sunday.
type Weekdays int

// Has reports whether d is in the set.
func (w Weekdays) Has(d time.Weekday) bool { return w&(1<<d) != 0 }

// MondayToFriday is the usual working week.
const MondayToFriday Weekdays = 0b0111110

const settingsColumns = `manager_limit, finance_limit, currency, work_start, work_end, workdays, default_sla_hours, updated_at, version`

// settingsTx returns the tenant's approval settings, creating them from the tenant's approval limits the
// first time they are needed.
func settingsTx(ctx context.Context, tx *store.Tx) (*Settings, error) {
	var s Settings
	err := tx.GetContext(ctx, &s, `SELECT `+settingsColumns+` FROM approval_settings WHERE tenant_id = $1`, tx.Scope.TenantID)
	if errors.Is(err, sql.ErrNoRows) {
		err = tx.GetContext(ctx, &s, `
			INSERT INTO approval_settings (manager_limit, finance_limit, currency)
			SELECT approval_manager_limit, greatest(approval_finance_limit, approval_manager_limit), currency
			FROM tenants WHERE id = $1
			ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id
			RETURNING `+settingsColumns, tx.Scope.TenantID)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading approval settings: %w", err)
	}
	return &s, nil
}

// settingsLocationTx returns the tenant's approval settings and time zone, in one statement once the
// settings exist (settingsTx creates them the first time).
func settingsLocationTx(ctx context.Context, tx *store.Tx) (*Settings, *time.Location, error) {
	var row struct {
		Settings
		TimeZone string `db:"time_zone"`
	}
	err := tx.GetContext(ctx, &row, `SELECT `+settingsColumns+`, (SELECT time_zone FROM tenants WHERE id = $1) AS time_zone
		FROM approval_settings WHERE tenant_id = $1`, tx.Scope.TenantID)
	if errors.Is(err, sql.ErrNoRows) {
		s, err := settingsTx(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		loc, err := tenantLocation(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		return s, loc, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("error loading approval settings: %w", err)
	}
	loc, err := store.LoadLocation(row.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	return &row.Settings, loc, nil
}

// SettingsGet returns the approval settings of scope's tenant. Anyone who may submit requests may read them
// (the forms show the thresholds).
func SettingsGet(ctx context.Context, db *store.DB, scope store.Scope) (*Settings, error) {
	var s *Settings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		var err error
		s, err = settingsTx(ctx, tx)
		return err
	})
	return s, err
}

// SettingsUpdateParams are new approval settings; Version is the version the editor saw.
type SettingsUpdateParams struct {
	ManagerLimit    int64
	FinanceLimit    int64
	WorkStart       int
	WorkEnd         int
	Workdays        Weekdays
	DefaultSLAHours int
	Version         int
}

func (p SettingsUpdateParams) validate() error {
	var f store.FieldErrors
	if p.ManagerLimit < 0 {
		f.Add("manager_limit", "Enter an amount of zero or more.")
	}
	if p.FinanceLimit < p.ManagerLimit {
		f.Add("finance_limit", "Enter an amount at least as large as the manager limit.")
	}
	if p.WorkStart < 0 || p.WorkStart > 1439 {
		f.Add("work_start", "Enter a time like 09:00.")
	}
	if p.WorkEnd <= p.WorkStart || p.WorkEnd > 1440 {
		f.Add("work_end", "Enter a time after the start of the working day.")
	}
	if p.Workdays <= 0 || p.Workdays > 127 {
		f.Add("workdays", "Choose at least one working day.")
	}
	if p.DefaultSLAHours < 1 || p.DefaultSLAHours > 1000 {
		f.Add("default_sla_hours", "Enter a number of business hours from 1 to 1000.")
	}
	return f.Err()
}

// SettingsUpdate changes the approval settings. A stale Version is a Conflict. The actor needs AdminSettings.
func SettingsUpdate(ctx context.Context, db *store.DB, scope store.Scope, p SettingsUpdateParams) (*Settings, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var after Settings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		before, err := settingsTx(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM approval_settings WHERE tenant_id = $1 FOR UPDATE`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error locking approval settings: %w", err)
		}
		if before.Version != p.Version {
			return store.Errorf(store.Conflict,
				"The approval settings were changed by someone else while you were editing. Reload the page, then try again.")
		}
		if err := tx.GetContext(ctx, &after, `
			UPDATE approval_settings SET manager_limit = $2, finance_limit = $3, work_start = $4, work_end = $5,
				workdays = $6, default_sla_hours = $7, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND version = $8 RETURNING `+settingsColumns,
			tx.Scope.TenantID, p.ManagerLimit, p.FinanceLimit, p.WorkStart, p.WorkEnd, p.Workdays, p.DefaultSLAHours, p.Version); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return store.Errorf(store.Conflict, "The approval settings were changed by someone else. Reload the page, then try again.")
			}
			return fmt.Errorf("error updating approval settings: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.settings_update", EntityType: "approval_settings",
			EntityID: tx.Scope.TenantID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// Calendar says when business hours run: from Start to End (minutes after midnight) on the Workdays, in Loc.
type Calendar struct {
	Loc        *time.Location
	Start, End int
	Workdays   Weekdays
}

// Calendar returns the business-hours calendar of the settings in loc.
func (s Settings) Calendar(loc *time.Location) Calendar {
	return Calendar{Loc: loc, Start: s.WorkStart, End: s.WorkEnd, Workdays: s.Workdays}
}

// AddBusinessHours returns the moment d of business time after from. Time outside business hours does not
// count: a step activated on Friday evening with an 8-hour SLA falls due at Monday's end of day. Days are
// walked on the calendar in its time zone, so a change of daylight saving time moves nothing.
func (c Calendar) AddBusinessHours(from time.Time, d time.Duration) time.Time {
	if c.Workdays&127 == 0 || c.End <= c.Start {
		return from.Add(d)
	}
	t := from.In(c.Loc)
	for range 3700 { // more days than any SLA can span (1000 hours at one working hour a week)
		y, m, day := t.Date()
		open := time.Date(y, m, day, c.Start/60, c.Start%60, 0, 0, c.Loc)
		closeAt := time.Date(y, m, day, c.End/60, c.End%60, 0, 0, c.Loc)
		if c.End == 1440 {
			closeAt = time.Date(y, m, day+1, 0, 0, 0, 0, c.Loc)
		}
		next := time.Date(y, m, day+1, 0, 0, 0, 0, c.Loc)
		if !c.Workdays.Has(t.Weekday()) || !t.Before(closeAt) {
			t = next
			continue
		}
		if t.Before(open) {
			t = open
		}
		if left := closeAt.Sub(t); d <= left {
			return t.Add(d)
		} else {
			d -= left
		}
		t = next
	}
	return t.Add(d)
}
