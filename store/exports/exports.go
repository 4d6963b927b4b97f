// Package exports owns exports of lists to CSV or XLSX: the export records (who asked, which list with
// which filter and sort, where the job is, the file), the per-user limit of concurrent exports, the
// per-tenant retention of export files, scheduled reports, and the engine that streams a list's rows from
// its domain's source into a file in store/files.
//
// It imports no business domain: sources (the rows of inventory items, audit events, ...) are given to
// Run as a Catalog built in jobs/, where modules meet. Each source runs under the requester's scope, so
// row-level security and the domain's own permission checks decide what an export may contain.
package exports

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/files"
	"ledgerline/store/identity"
)

// State is where an export is.
type State string

// The states. Waiting means the last attempt failed and the job will try again.
const (
	StateQueued    State = "queued"
	StateRunning   State = "running"
	StateWaiting   State = "waiting"
	StateDone      State = "done"
	StateFailed    State = "failed"
	StateCancelled State = "cancelled"
)

// Active reports whether the export still runs or will.
func (s State) Active() bool { return s == StateQueued || s == StateRunning || s == StateWaiting }

// Export is one export with the requester's name.
type Export struct {
	ID            store.ID        `db:"id" json:"id"`
	RequestedBy   store.ID        `db:"requested_by" json:"requested_by"`
	RequesterName string          `db:"requester_name" json:"requester_name"`
	Kind          Kind            `db:"kind" json:"kind"`
	Format        Format          `db:"format" json:"format"`
	Filter        json.RawMessage `db:"filter" json:"filter"`
	FilterText    string          `db:"filter_text" json:"filter_text"`
	State         State           `db:"state" json:"state"`
	RowsDone      int64           `db:"rows_done" json:"rows_done"`
	RowsTotal     int64           `db:"rows_total" json:"rows_total"`
	FileID        *store.ID       `db:"file_id" json:"-"`
	FileName      string          `db:"file_name" json:"file_name,omitempty"`
	FileSize      int64           `db:"file_size" json:"file_size"`
	Error         string          `db:"error" json:"error,omitempty"`
	ScheduleID    *store.ID       `db:"schedule_id" json:"schedule_id,omitempty"`
	Attempt       int             `db:"attempt" json:"attempt"`
	CreatedAt     time.Time       `db:"created_at" json:"created_at"`
	StartedAt     *time.Time      `db:"started_at" json:"started_at,omitempty"`
	FinishedAt    *time.Time      `db:"finished_at" json:"finished_at,omitempty"`
	ExpiresAt     *time.Time      `db:"expires_at" json:"expires_at,omitempty"`
	// NextAttemptAt is when River tries a waiting export again (nil when not known or not waiting).
	NextAttemptAt *time.Time `db:"next_attempt_at" json:"next_attempt_at,omitempty"`
}

// Expired reports whether the export's file is gone (or about to be) at now.
func (e Export) Expired(now time.Time) bool { return e.ExpiresAt != nil && !now.Before(*e.ExpiresAt) }

// Downloadable reports whether the export's file can be downloaded at now.
func (e Export) Downloadable(now time.Time) bool {
	return e.State == StateDone && e.FileID != nil && !e.Expired(now)
}

// Percent is the progress in whole percent (0 to 100).
func (e Export) Percent() int {
	if e.State == StateDone {
		return 100
	}
	if e.RowsTotal <= 0 {
		return 0
	}
	return int(min(99, e.RowsDone*100/e.RowsTotal))
}

// Title is the exported list's name.
func (e Export) Title() string {
	if k, ok := KindLookup(e.Kind); ok {
		return k.Title
	}
	return string(e.Kind)
}

const exportSelect = `
	SELECT x.id, x.requested_by, u.name AS requester_name, x.kind, x.format, x.filter, x.filter_text, x.state,
	       x.rows_done, x.rows_total, x.file_id, x.file_name, x.file_size, x.error, x.schedule_id, x.attempt,
	       x.created_at, x.started_at, x.finished_at, x.expires_at, x.next_attempt_at
	FROM exports x JOIN users u ON u.id = x.requested_by`

// RunArgs is the job that runs an export.
type RunArgs struct {
	TenantID store.ID `json:"tenant_id"`
	ExportID store.ID `json:"export_id"`
}

// Kind is the River job kind.
func (RunArgs) Kind() string { return "export_run" }

// InsertOpts: an export is worked once per id; a failure is retried a few times with back-off (the
// export shows "waiting" meanwhile) before it is reported failed.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Settings are a tenant's export settings.
type Settings struct {
	RetentionDays int `db:"retention_days" json:"retention_days"`
	MaxConcurrent int `db:"max_concurrent" json:"max_concurrent"`
	// The retention policy (see archive.go): months of audit events and of stock movements kept in the
	// live tables, and days after which soft-deleted records are purged. Zero in SettingsUpdate keeps the
	// current value.
	AuditOnlineMonths     int `db:"audit_online_months" json:"audit_online_months"`
	MovementsOnlineMonths int `db:"movements_online_months" json:"movements_online_months"`
	PurgeDeletedDays      int `db:"purge_deleted_days" json:"purge_deleted_days"`
	Version               int `db:"version" json:"version"`
}

// DefaultSettings apply to a tenant that never changed them.
var DefaultSettings = Settings{RetentionDays: 7, MaxConcurrent: 3, AuditOnlineMonths: 36, MovementsOnlineMonths: 36, PurgeDeletedDays: 90}

func settingsTx(ctx context.Context, tx *store.Tx) (Settings, error) {
	s := DefaultSettings
	err := tx.GetContext(ctx, &s, `
		SELECT retention_days, max_concurrent, audit_online_months, movements_online_months, purge_deleted_days, version
		FROM export_settings WHERE tenant_id = $1`, tx.Scope.TenantID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("error loading export settings: %w", err)
	}
	return s, nil
}

// SettingsGet returns scope's tenant's export settings. The actor needs AdminSettings.
func SettingsGet(ctx context.Context, db *store.DB, scope store.Scope) (Settings, error) {
	var s Settings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		var err error
		s, err = settingsTx(ctx, tx)
		return err
	})
	return s, err
}

// SettingsUpdate changes the export settings. Version is the version the editor saw (a stale one is a
// Conflict). The actor needs AdminSettings.
func SettingsUpdate(ctx context.Context, db *store.DB, scope store.Scope, p Settings) (Settings, error) {
	var f store.FieldErrors
	if p.RetentionDays < 1 || p.RetentionDays > 90 {
		f.Add("retention_days", "Enter a number of days from 1 to 90.")
	}
	if p.MaxConcurrent < 1 || p.MaxConcurrent > 20 {
		f.Add("max_concurrent", "Enter a number of exports from 1 to 20.")
	}
	if p.AuditOnlineMonths != 0 && (p.AuditOnlineMonths < 3 || p.AuditOnlineMonths > 240) {
		f.Add("audit_online_months", "Enter a number of months from 3 to 240.")
	}
	if p.MovementsOnlineMonths != 0 && (p.MovementsOnlineMonths < 3 || p.MovementsOnlineMonths > 240) {
		f.Add("movements_online_months", "Enter a number of months from 3 to 240.")
	}
	if p.PurgeDeletedDays != 0 && (p.PurgeDeletedDays < 7 || p.PurgeDeletedDays > 3650) {
		f.Add("purge_deleted_days", "Enter a number of days from 7 to 3,650.")
	}
	if err := f.Err(); err != nil {
		return Settings{}, err
	}
	var after Settings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('export_settings:' || $1::text))`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error locking export settings: %w", err)
		}
		before, err := settingsTx(ctx, tx)
		if err != nil {
			return err
		}
		if before.Version != p.Version && !(before.Version == 0 && p.Version <= 1) {
			return store.Errorf(store.Conflict, "These settings were changed by someone else. Reload the page to see their changes, then try again.")
		}
		keep := func(v, cur int) int {
			if v == 0 {
				return cur
			}
			return v
		}
		p.AuditOnlineMonths = keep(p.AuditOnlineMonths, before.AuditOnlineMonths)
		p.MovementsOnlineMonths = keep(p.MovementsOnlineMonths, before.MovementsOnlineMonths)
		p.PurgeDeletedDays = keep(p.PurgeDeletedDays, before.PurgeDeletedDays)
		if err := tx.GetContext(ctx, &after, `
			INSERT INTO export_settings (retention_days, max_concurrent, audit_online_months, movements_online_months,
				purge_deleted_days, version) VALUES ($1, $2, $3, $4, $5, 2)
			ON CONFLICT (tenant_id) DO UPDATE SET retention_days = $1, max_concurrent = $2, audit_online_months = $3,
				movements_online_months = $4, purge_deleted_days = $5, updated_at = now(), version = export_settings.version + 1
			RETURNING retention_days, max_concurrent, audit_online_months, movements_online_months, purge_deleted_days, version`,
			p.RetentionDays, p.MaxConcurrent, p.AuditOnlineMonths, p.MovementsOnlineMonths, p.PurgeDeletedDays); err != nil {
			return fmt.Errorf("error saving export settings: %w", err)
		}
		before.Version = 0
		return audit.Record(ctx, tx, audit.RecordParams{Action: "export.settings_changed", EntityType: "export_settings",
			EntityID: tx.Scope.TenantID.String(), Before: before, After: Settings{RetentionDays: after.RetentionDays, MaxConcurrent: after.MaxConcurrent,
				AuditOnlineMonths: after.AuditOnlineMonths, MovementsOnlineMonths: after.MovementsOnlineMonths,
				PurgeDeletedDays: after.PurgeDeletedDays}})
	})
	return after, err
}

// CreateParams asks for an export of a list. Filter is the list's own filter and sort parameters as
// JSON (what its source decodes); FilterText describes them for people ("Search: bolt · Sort: name").
type CreateParams struct {
	Kind       Kind
	Format     Format
	Filter     json.RawMessage
	FilterText string
	// ScheduleID is set when a scheduled report runs the export.
	ScheduleID *store.ID
}

// LimitMessage is the error of a requester who already has as many exports running as the tenant allows.
func LimitMessage(n int) string {
	unit := "exports"
	if n == 1 {
		unit = "export"
	}
	return "You already have " + strconv.Itoa(n) + " " + unit + " running, the most at once. Wait until one finishes, or cancel one in the export center, then try again."
}

// Create records an export and queues its job. The actor needs ExportsRun and the permission of the
// exported list; an unknown list or format is Invalid; a requester who has as many exports running as the
// tenant allows gets a Conflict with LimitMessage.
func Create(ctx context.Context, db *store.DB, scope store.Scope, p CreateParams) (*Export, error) {
	var x *Export
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		x, err = CreateTx(ctx, tx, p)
		return err
	})
	return x, err
}

// CreateTx is Create in the caller's transaction.
func CreateTx(ctx context.Context, tx *store.Tx, p CreateParams) (*Export, error) {
	var f store.FieldErrors
	info, ok := KindLookup(p.Kind)
	if !ok {
		f.Add("kind", "Choose a list to export.")
	}
	if !p.Format.Valid() {
		f.Add("format", "Choose CSV or Excel (XLSX).")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if tx.Scope.ActorID == (store.ID{}) {
		return nil, store.Errorf(store.Forbidden, "Exports are made for a person: sign in as a member of the organization.")
	}
	if len(p.Filter) == 0 {
		p.Filter = json.RawMessage(`{}`)
	}
	if !json.Valid(p.Filter) {
		return nil, store.Errorf(store.Invalid, "The filter of the export is not valid.")
	}
	if r := []rune(p.FilterText); len(r) > 2000 {
		p.FilterText = string(r[:2000])
	}
	if err := identity.Permit(ctx, tx, identity.ExportsRun); err != nil {
		return nil, err
	}
	if err := identity.Permit(ctx, tx, info.Permission); err != nil {
		return nil, err
	}
	// One requester's creates run one after the other, so two at once cannot both pass the limit.
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('exports:' || $1::text || ':' || $2::text))`,
		tx.Scope.TenantID, tx.Scope.ActorID); err != nil {
		return nil, fmt.Errorf("error locking exports of user %s: %w", tx.Scope.ActorID, err)
	}
	settings, err := settingsTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	var running int
	if err := tx.GetContext(ctx, &running, `
		SELECT count(*) FROM exports WHERE tenant_id = $1 AND requested_by = $2 AND state IN ('queued', 'running', 'waiting')`,
		tx.Scope.TenantID, tx.Scope.ActorID); err != nil {
		return nil, fmt.Errorf("error counting running exports: %w", err)
	}
	if running >= settings.MaxConcurrent {
		return nil, store.Errorf(store.Conflict, "%s", LimitMessage(settings.MaxConcurrent))
	}
	id := store.NewID()
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO exports (id, requested_by, kind, format, filter, filter_text, schedule_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, tx.Scope.ActorID, p.Kind, p.Format, []byte(p.Filter), p.FilterText, p.ScheduleID); err != nil {
		return nil, fmt.Errorf("error creating export: %w", err)
	}
	if err := audit.Record(ctx, tx, audit.RecordParams{Action: "export.requested", EntityType: "export", EntityID: id.String(),
		After: map[string]any{"kind": p.Kind, "format": p.Format, "filter": p.Filter, "filter_text": p.FilterText}}); err != nil {
		return nil, err
	}
	if err := tx.Enqueue(ctx, RunArgs{TenantID: tx.Scope.TenantID, ExportID: id}, nil); err != nil {
		return nil, err
	}
	return getTx(ctx, tx, id)
}

var errNotFound = store.Errorf(store.NotFound, "No such export.")

func getTx(ctx context.Context, tx *store.Tx, id store.ID) (*Export, error) {
	var x Export
	if err := store.Get(ctx, tx, &x, errNotFound.Message, exportSelect+` WHERE x.tenant_id = $1 AND x.id = $2`, tx.Scope.TenantID, id); err != nil {
		return nil, err
	}
	return &x, nil
}

// isAdmin reports whether tx's actor is an active admin of the tenant.
func isAdmin(ctx context.Context, tx *store.Tx) (bool, error) {
	err := identity.Permit(ctx, tx, identity.AdminSettings)
	if store.ErrorCode(err) == store.Forbidden {
		return false, nil
	}
	return err == nil, err
}

// visibleTx returns export id when tx's actor may see it: its requester, an admin, or a recipient of the
// scheduled report that made it. Anyone else gets NotFound, as for another tenant's export.
func visibleTx(ctx context.Context, tx *store.Tx, id store.ID) (*Export, error) {
	x, err := getTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if x.RequestedBy == tx.Scope.ActorID && tx.Scope.ActorID != (store.ID{}) {
		if err := identity.Permit(ctx, tx, identity.ExportsRun); err != nil {
			return nil, err
		}
		return x, nil
	}
	if admin, err := isAdmin(ctx, tx); err != nil || admin {
		return x, err
	}
	if x.ScheduleID != nil && tx.Scope.ActorID != (store.ID{}) {
		var ok bool
		if err := tx.GetContext(ctx, &ok, `
			SELECT EXISTS (SELECT 1 FROM export_schedules s JOIN memberships m ON m.tenant_id = s.tenant_id AND m.user_id = $3
				WHERE s.tenant_id = $1 AND s.id = $2 AND $3 = ANY (s.recipients) AND m.deactivated_at IS NULL)`,
			tx.Scope.TenantID, *x.ScheduleID, tx.Scope.ActorID); err != nil {
			return nil, fmt.Errorf("error checking recipients of export %s: %w", id, err)
		}
		if ok {
			return x, nil
		}
	}
	return nil, errNotFound
}

// Get returns an export its requester (who needs ExportsRun), an admin or a recipient of its scheduled
// report may see. Anyone else, and another tenant, gets NotFound.
func Get(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Export, error) {
	var x *Export
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		x, err = visibleTx(ctx, tx, id)
		return err
	})
	return x, err
}

// ListParams pages the export center: the actor's own exports, or with All (admins only) everyone's.
// After is the previous page's cursor; Limit defaults to 25 (at most 100).
type ListParams struct {
	All   bool
	After string
	Limit int
}

// ListResult is one page of exports, newest first.
type ListResult struct {
	Exports []Export
	Next    string
}

// List returns the actor's exports (or all, for admins), newest first. The actor needs ExportsRun.
func List(ctx context.Context, db *store.DB, scope store.Scope, p ListParams) (*ListResult, error) {
	if p.Limit <= 0 || p.Limit > 100 {
		p.Limit = 25
	}
	var afterAt *time.Time
	var afterID *store.ID
	if p.After != "" {
		at, id, err := cursorDecode(p.After)
		if err != nil {
			return nil, store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")
		}
		afterAt, afterID = &at, &id
	}
	res := &ListResult{}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.ExportsRun); err != nil {
			return err
		}
		if p.All {
			admin, err := isAdmin(ctx, tx)
			if err != nil {
				return err
			}
			if !admin {
				return store.Errorf(store.Forbidden, "Only administrators see everyone's exports.")
			}
		}
		return tx.SelectContext(ctx, &res.Exports, exportSelect+`
			WHERE x.tenant_id = $1 AND ($2 OR x.requested_by = $3)
			  AND ($4::timestamptz IS NULL OR (x.created_at, x.id) < ($4, $5::uuid))
			ORDER BY x.created_at DESC, x.id DESC LIMIT $6`,
			tx.Scope.TenantID, p.All, tx.Scope.ActorID, afterAt, afterID, p.Limit+1)
	})
	if err != nil {
		return nil, err
	}
	if len(res.Exports) > p.Limit {
		last := res.Exports[p.Limit-1]
		res.Exports = res.Exports[:p.Limit]
		res.Next = cursorEncode(last.CreatedAt, last.ID)
	}
	return res, nil
}

// Cancel stops an export that is queued or running; its partial file is removed by the job. Only its
// requester or an admin may cancel it. An export that already finished is a Conflict.
func Cancel(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Export, error) {
	var x *Export
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		before, err := visibleTx(ctx, tx, id)
		if err != nil {
			return err
		}
		if before.RequestedBy != tx.Scope.ActorID {
			if admin, err := isAdmin(ctx, tx); err != nil || !admin {
				return errors.Join(err, errNotFound)
			}
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE exports SET state = 'cancelled', finished_at = now(), error = ''
			WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running', 'waiting')`, tx.Scope.TenantID, id)
		if err != nil {
			return fmt.Errorf("error cancelling export %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.Errorf(store.Conflict, "This export has already finished; there is nothing to cancel.")
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "export.cancelled", EntityType: "export", EntityID: id.String(),
			Before: map[string]any{"state": before.State, "rows_done": before.RowsDone}}); err != nil {
			return err
		}
		x, err = getTx(ctx, tx, id)
		return err
	})
	return x, err
}

// Rerun starts a new export of the same list, filter, sort and format (with the data as it is now).
// The limit of concurrent exports applies.
func Rerun(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Export, error) {
	var x *Export
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		before, err := visibleTx(ctx, tx, id)
		if err != nil {
			return err
		}
		x, err = CreateTx(ctx, tx, CreateParams{Kind: before.Kind, Format: before.Format, Filter: before.Filter, FilterText: before.FilterText})
		return err
	})
	return x, err
}

// Download opens the file of a finished export for its requester, an admin or a recipient of its
// scheduled report; anyone else gets NotFound. An export that is not done, or whose file expired, is
// NotFound with a message saying so. Each download is an audit event.
func Download(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Export, *files.Reader, error) {
	var x *Export
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		if x, err = visibleTx(ctx, tx, id); err != nil {
			return err
		}
		if x.State != StateDone || x.FileID == nil {
			return store.Errorf(store.NotFound, "This export has no file yet: it is %s.", x.State)
		}
		if x.Expired(time.Now()) {
			return store.Errorf(store.NotFound, "This export's file has expired and was deleted. Run the export again.")
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "export.downloaded", EntityType: "export", EntityID: id.String(),
			After: map[string]any{"file": x.FileName, "rows": x.RowsDone}})
	})
	if err != nil {
		return nil, nil, err
	}
	r, err := files.Open(ctx, db, scope, *x.FileID)
	if err != nil {
		if store.ErrorCode(err) == store.NotFound {
			return nil, nil, store.Errorf(store.NotFound, "This export's file has expired and was deleted. Run the export again.")
		}
		return nil, nil, err
	}
	return x, r, nil
}

func cursorEncode(t time.Time, id store.ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

func cursorDecode(s string) (time.Time, store.ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	at, rest, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, store.ID{}, errors.New("malformed cursor")
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return time.Time{}, store.ID{}, err
	}
	id, err := store.ParseID(rest)
	return t, id, err
}
