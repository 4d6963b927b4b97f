package exports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
)

// Frequency is how often a scheduled report runs.
type Frequency string

// The frequencies.
const (
	Daily   Frequency = "daily"
	Weekly  Frequency = "weekly"
	Monthly Frequency = "monthly"
)

// Schedule is a scheduled report: an export run at Hour (local time of the tenant) every day, every week
// on Day (0 Sunday to 6 Saturday) or every month on Day (1 to 28), sent as a link to Recipients.
type Schedule struct {
	ID           store.ID        `db:"id" json:"id"`
	OwnerID      store.ID        `db:"owner_id" json:"owner_id"`
	OwnerName    string          `db:"owner_name" json:"owner_name"`
	Name         string          `db:"name" json:"name"`
	Kind         Kind            `db:"kind" json:"kind"`
	Format       Format          `db:"format" json:"format"`
	Filter       json.RawMessage `db:"filter" json:"filter"`
	Frequency    Frequency       `db:"frequency" json:"frequency"`
	Day          int             `db:"day" json:"day"`
	Hour         int             `db:"hour" json:"hour"`
	Recipients   []store.ID      `db:"-" json:"recipients"`
	NextRunAt    time.Time       `db:"next_run_at" json:"next_run_at"`
	LastRunAt    *time.Time      `db:"last_run_at" json:"last_run_at,omitempty"`
	LastExportID *store.ID       `db:"last_export_id" json:"last_export_id,omitempty"`
	Version      int             `db:"version" json:"version"`
}

// NextRun is the first run time strictly after after, at hour:00 local time in loc.
func NextRun(f Frequency, day, hour int, loc *time.Location, after time.Time) time.Time {
	a := after.In(loc)
	switch f {
	case Weekly:
		t := time.Date(a.Year(), a.Month(), a.Day(), hour, 0, 0, 0, loc)
		for int(t.Weekday()) != day || !t.After(after) {
			t = time.Date(t.Year(), t.Month(), t.Day()+1, hour, 0, 0, 0, loc)
		}
		return t
	case Monthly:
		t := time.Date(a.Year(), a.Month(), day, hour, 0, 0, 0, loc)
		if !t.After(after) {
			t = time.Date(a.Year(), a.Month()+1, day, hour, 0, 0, 0, loc)
		}
		return t
	}
	t := time.Date(a.Year(), a.Month(), a.Day(), hour, 0, 0, 0, loc)
	if !t.After(after) {
		t = time.Date(a.Year(), a.Month(), a.Day()+1, hour, 0, 0, 0, loc)
	}
	return t
}

// ScheduleCreateParams describes a new scheduled report.
type ScheduleCreateParams struct {
	Name       string
	Kind       Kind
	Format     Format
	Filter     json.RawMessage
	Frequency  Frequency
	Day        int
	Hour       int
	Recipients []store.ID
	// Now is the clock (time.Now when zero).
	Now time.Time
}

func tenantLocation(ctx context.Context, tx *store.Tx) (*time.Location, error) {
	var tz string
	if err := tx.GetContext(ctx, &tz, `SELECT time_zone FROM tenants WHERE id = $1`, tx.Scope.TenantID); err != nil {
		return nil, fmt.Errorf("error loading time zone: %w", err)
	}
	loc, err := store.LoadLocation(tz)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// ScheduleCreate adds a scheduled report owned by the actor, who needs AdminSettings and the exported
// list's permission. Recipients must be active members of the tenant.
func ScheduleCreate(ctx context.Context, db *store.DB, scope store.Scope, p ScheduleCreateParams) (*Schedule, error) {
	var f store.FieldErrors
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len([]rune(p.Name)) > 200 {
		f.Add("name", "Enter a name of up to 200 characters, like Weekly stock value.")
	}
	info, ok := KindLookup(p.Kind)
	if !ok {
		f.Add("kind", "Choose a list to export.")
	}
	if !p.Format.Valid() {
		f.Add("format", "Choose CSV or Excel (XLSX).")
	}
	switch p.Frequency {
	case Daily:
		p.Day = 0
	case Weekly:
		if p.Day < 0 || p.Day > 6 {
			f.Add("day", "Choose a day of the week.")
		}
	case Monthly:
		if p.Day < 1 || p.Day > 28 {
			f.Add("day", "Choose a day of the month from 1 to 28.")
		}
	default:
		f.Add("frequency", "Choose daily, weekly or monthly.")
	}
	if p.Hour < 0 || p.Hour > 23 {
		f.Add("hour", "Choose an hour from 0 to 23.")
	}
	if len(p.Recipients) == 0 || len(p.Recipients) > 50 {
		f.Add("recipients", "Choose from 1 to 50 people to receive the report.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if len(p.Filter) == 0 {
		p.Filter = json.RawMessage(`{}`)
	}
	if p.Now.IsZero() {
		p.Now = time.Now()
	}
	var out *Schedule
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		if err := identity.Permit(ctx, tx, info.Permission); err != nil {
			return err
		}
		var active int
		if err := tx.GetContext(ctx, &active, `
			SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.tenant_id = $1 AND m.user_id = ANY ($2) AND m.deactivated_at IS NULL AND u.disabled_at IS NULL`,
			tx.Scope.TenantID, p.Recipients); err != nil {
			return fmt.Errorf("error checking recipients: %w", err)
		}
		if active != len(p.Recipients) {
			return (store.FieldErrors{"recipients": "Choose recipients among the active members of the organization."}).Err()
		}
		loc, err := tenantLocation(ctx, tx)
		if err != nil {
			return err
		}
		id := store.NewID()
		next := NextRun(p.Frequency, p.Day, p.Hour, loc, p.Now)
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO export_schedules (id, owner_id, name, kind, format, filter, frequency, day, hour, recipients, next_run_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			id, tx.Scope.ActorID, p.Name, p.Kind, p.Format, []byte(p.Filter), p.Frequency, p.Day, p.Hour, p.Recipients, next); err != nil {
			return fmt.Errorf("error creating scheduled report: %w", err)
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "export.schedule_created", EntityType: "export_schedule", EntityID: id.String(),
			After: map[string]any{"name": p.Name, "kind": p.Kind, "format": p.Format, "frequency": p.Frequency, "day": p.Day, "hour": p.Hour, "recipients": p.Recipients}}); err != nil {
			return err
		}
		out, err = scheduleGetTx(ctx, tx, id)
		return err
	})
	return out, err
}

const scheduleSelect = `
	SELECT s.id, s.owner_id, u.name AS owner_name, s.name, s.kind, s.format, s.filter, s.frequency, s.day, s.hour,
	       s.recipients::text AS recipients_text, s.next_run_at, s.last_run_at, s.last_export_id, s.version
	FROM export_schedules s JOIN users u ON u.id = s.owner_id`

type scheduleRow struct {
	Schedule
	RecipientsText string `db:"recipients_text"`
}

func (r scheduleRow) schedule() Schedule {
	s := r.Schedule
	for _, part := range strings.Split(strings.Trim(r.RecipientsText, "{}"), ",") {
		if id, err := store.ParseID(strings.TrimSpace(part)); err == nil {
			s.Recipients = append(s.Recipients, id)
		}
	}
	return s
}

func scheduleGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*Schedule, error) {
	var r scheduleRow
	if err := store.Get(ctx, tx, &r, "No such scheduled report.", scheduleSelect+` WHERE s.tenant_id = $1 AND s.id = $2 AND s.deleted_at IS NULL`,
		tx.Scope.TenantID, id); err != nil {
		return nil, err
	}
	s := r.schedule()
	return &s, nil
}

// ScheduleList returns the tenant's scheduled reports by name. The actor needs AdminSettings.
func ScheduleList(ctx context.Context, db *store.DB, scope store.Scope) ([]Schedule, error) {
	var out []Schedule
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		var rows []scheduleRow
		if err := tx.SelectContext(ctx, &rows, scheduleSelect+` WHERE s.tenant_id = $1 AND s.deleted_at IS NULL ORDER BY lower(s.name), s.id LIMIT 500`,
			tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error listing scheduled reports: %w", err)
		}
		for _, r := range rows {
			out = append(out, r.schedule())
		}
		return nil
	})
	return out, err
}

// ScheduleDelete stops a scheduled report (soft delete). The actor needs AdminSettings.
func ScheduleDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		before, err := scheduleGetTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE export_schedules SET deleted_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error deleting scheduled report %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "export.schedule_deleted", EntityType: "export_schedule", EntityID: id.String(),
			Before: map[string]any{"name": before.Name, "kind": before.Kind}})
	})
}

// SchedulesRunDue starts an export for every scheduled report of the tenant that is due at now, as its
// owner, and moves its next run on. A schedule whose owner may no longer export is skipped until fixed;
// the owner is told. It returns how many exports it started.
func SchedulesRunDue(ctx context.Context, db *store.DB, tenantID store.ID, now time.Time) (int, error) {
	var due []scheduleRow
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &due, scheduleSelect+`
			WHERE s.tenant_id = $1 AND s.deleted_at IS NULL AND s.next_run_at <= $2 ORDER BY s.next_run_at LIMIT 100`, tenantID, now)
	})
	if err != nil {
		return 0, fmt.Errorf("error finding due scheduled reports: %w", err)
	}
	started := 0
	for _, r := range due {
		s := r.schedule()
		owner := store.Scope{TenantID: tenantID, ActorID: s.OwnerID}
		err := db.InTenant(ctx, owner, func(tx *store.Tx) error {
			// Claim the run: only the transaction that moves next_run_at on starts the export.
			loc, err := tenantLocation(ctx, tx)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, `
				UPDATE export_schedules SET next_run_at = $3, last_run_at = $4
				WHERE tenant_id = $1 AND id = $2 AND next_run_at = $5 AND deleted_at IS NULL`,
				tenantID, s.ID, NextRun(s.Frequency, s.Day, s.Hour, loc, now), now, s.NextRunAt)
			if err != nil {
				return fmt.Errorf("error advancing scheduled report %s: %w", s.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
			x, err := CreateTx(ctx, tx, CreateParams{Kind: s.Kind, Format: s.Format, Filter: s.Filter,
				FilterText: "Scheduled report: " + s.Name, ScheduleID: &s.ID})
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE export_schedules SET last_export_id = $3 WHERE tenant_id = $1 AND id = $2`,
				tenantID, s.ID, x.ID); err != nil {
				return err
			}
			started++
			return nil
		})
		var se *store.Error
		if errors.As(err, &se) {
			// The owner lost the right or hit the limit: tell them, move on to the next schedule.
			msg := "The scheduled report " + s.Name + " could not start: " + se.Message
			if nerr := scheduleSkipped(ctx, db, tenantID, s, now, msg); nerr != nil {
				return started, nerr
			}
			continue
		}
		if err != nil {
			return started, err
		}
	}
	return started, nil
}

// scheduleSkipped moves a schedule that could not start to its next run and tells its owner why.
func scheduleSkipped(ctx context.Context, db *store.DB, tenantID store.ID, s Schedule, now time.Time, msg string) error {
	return db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		loc, err := tenantLocation(ctx, tx)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE export_schedules SET next_run_at = $3, last_run_at = $4 WHERE tenant_id = $1 AND id = $2 AND next_run_at = $5`,
			tenantID, s.ID, NextRun(s.Frequency, s.Day, s.Hour, loc, now), now, s.NextRunAt)
		if err != nil {
			return fmt.Errorf("error advancing scheduled report %s: %w", s.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if err := notify.InApp(ctx, tx, notify.InAppParams{UserID: s.OwnerID, Kind: "exports.schedule_failed",
			Title: truncate("Scheduled report "+s.Name+" did not run", 200), Body: truncate(msg, 4000), Link: "/exports/schedules"}); err != nil {
			return err
		}
		var to string
		if err := tx.GetContext(ctx, &to, `SELECT email FROM users WHERE id = $1`, s.OwnerID); err != nil {
			return fmt.Errorf("error loading owner of scheduled report %s: %w", s.ID, err)
		}
		return notify.Email(ctx, tx, notify.EmailParams{To: to, Subject: "Scheduled report " + s.Name + " did not run", Text: msg + "\n"})
	})
}

// recipientsTell gives the recipients of a scheduled report's export its link, in the app and by e-mail.
func recipientsTell(ctx context.Context, tx *store.Tx, x *Export, rows int64, baseURL string) error {
	var s scheduleRow
	if err := tx.GetContext(ctx, &s, scheduleSelect+` WHERE s.tenant_id = $1 AND s.id = $2`, tx.Scope.TenantID, *x.ScheduleID); err != nil {
		return fmt.Errorf("error loading scheduled report of export %s: %w", x.ID, err)
	}
	sch := s.schedule()
	var people []struct {
		ID    store.ID `db:"id"`
		Email string   `db:"email"`
	}
	if err := tx.SelectContext(ctx, &people, `
		SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1 AND m.user_id = ANY ($2) AND m.deactivated_at IS NULL AND u.disabled_at IS NULL`,
		tx.Scope.TenantID, sch.Recipients); err != nil {
		return fmt.Errorf("error loading recipients of scheduled report %s: %w", sch.ID, err)
	}
	link := "/exports/" + x.ID.String() + "/download"
	title := truncate("Report ready: "+sch.Name, 200)
	body := fmt.Sprintf("%d rows, %s. The link works until the file expires.", rows, x.Format)
	for _, p := range people {
		if err := notify.InApp(ctx, tx, notify.InAppParams{UserID: p.ID, Kind: "exports.report_ready", Title: title, Body: body, Link: link}); err != nil {
			return err
		}
		if err := notify.Email(ctx, tx, notify.EmailParams{To: p.Email, Subject: title,
			Text: title + ".\n\n" + body + "\n\n" + baseURL + link + "\n"}); err != nil {
			return err
		}
	}
	return nil
}
