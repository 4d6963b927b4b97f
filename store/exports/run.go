package exports

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/files"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
)

// Source gives the rows of one list. Columns are the header. Count estimates how many rows Each will give
// (for the progress bar). Each calls emit once per row, in the list's order, for the list's filter and
// sort decoded from filter; it runs in tx, which is scoped to the requester, so row-level security and
// the domain's own checks apply. emit must not use tx.
type Source struct {
	Columns []string
	Count   func(ctx context.Context, tx *store.Tx, filter json.RawMessage) (int64, error)
	Each    func(ctx context.Context, tx *store.Tx, filter json.RawMessage, emit func(cells []any) error) error
}

// Catalog maps each kind to its source. jobs builds it; Run looks sources up in it.
type Catalog map[Kind]Source

// RunOpts tunes Run. BaseURL makes the links in e-mails absolute. LongAfter is how long an export must
// take for its requester to get an e-mail (in-app notifications are always written); zero means 30 s.
type RunOpts struct {
	BaseURL   string
	LongAfter time.Duration
	// ProgressEvery is how often progress is saved (also when the export checks for cancellation);
	// zero means every 500 ms.
	ProgressEvery time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RetryAt is when the job is tried again if this attempt fails (the worker knows its back-off); the
	// export then shows "waiting" with that time. Zero means the time is not known.
	RetryAt time.Time
}

// errCancelled stops a run whose export was cancelled.
var errCancelled = errors.New("export cancelled")

// Run works an export: it streams the source's rows through the format's writer into a new file, saves
// progress as it goes and stops when the export is cancelled. The file is linked to the export only when
// complete, so a partial file is never offered; a failed or cancelled run removes its partial file. A run
// of an export that is no longer active does nothing, so a retried or rescued job never writes twice.
func Run(ctx context.Context, db *store.DB, catalog Catalog, args RunArgs, attempt int, opts RunOpts) error {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 500 * time.Millisecond
	}
	if opts.LongAfter <= 0 {
		opts.LongAfter = 30 * time.Second
	}
	sys := store.Scope{TenantID: args.TenantID}
	var (
		x        *Export
		settings Settings
	)
	err := db.InTenant(ctx, sys, func(tx *store.Tx) error {
		var err error
		if x, err = getTx(ctx, tx, args.ExportID); err != nil {
			return err
		}
		if !x.State.Active() {
			return nil
		}
		if settings, err = settingsTx(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `
			UPDATE exports SET state = 'running', started_at = coalesce(started_at, now()), attempt = $3, rows_done = 0,
				next_attempt_at = NULL
			WHERE tenant_id = $1 AND id = $2`, args.TenantID, args.ExportID, attempt)
		return err
	})
	if err != nil {
		if !errors.As(err, new(*store.Error)) {
			markWaiting(ctx, db, sys, args.ExportID, err, opts)
		}
		return fmt.Errorf("error starting export %s: %w", args.ExportID, err)
	}
	if !x.State.Active() {
		return nil
	}
	info, okKind := KindLookup(x.Kind)
	src, okSrc := catalog[x.Kind]
	if !okKind || !okSrc {
		return finish(ctx, db, sys, x, nil, 0, "This kind of export is not available any more.", opts.BaseURL, true)
	}
	requester := store.Scope{TenantID: args.TenantID, ActorID: x.RequestedBy}
	started := now()
	expires := started.Add(time.Duration(settings.RetentionDays) * 24 * time.Hour)
	name := info.FileBase + "-" + started.UTC().Format("20060102-150405") + "." + string(x.Format)
	fw, err := files.WriterOpen(ctx, db, sys, files.CreateParams{Name: name, ContentType: x.Format.ContentType(),
		OwnerID: &x.RequestedBy, ExpiresAt: &expires})
	if err != nil {
		return err
	}
	rows, err := stream(ctx, db, requester, sys, x, info, src, fw, opts.ProgressEvery)
	var file *files.File
	if err == nil {
		file, err = fw.Close()
	}
	if err != nil {
		if aerr := fw.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		if errors.Is(err, errCancelled) {
			return nil
		}
		var se *store.Error
		if errors.As(err, &se) && se.Code != store.Internal {
			// The requester may not (any more) see this list, or its filter is wrong: retrying cannot help.
			return finish(ctx, db, sys, x, nil, 0, se.Message, opts.BaseURL, true)
		}
		markWaiting(ctx, db, sys, args.ExportID, err, opts)
		return fmt.Errorf("error running export %s: %w", args.ExportID, err)
	}
	x.RowsDone = rows
	long := now().Sub(started) >= opts.LongAfter
	return finish(ctx, db, sys, x, file, rows, "", opts.BaseURL, long)
}

// stream runs the source in one read-only transaction of the requester, on the read replica when there is
// one, and writes every row; it returns the count.
func stream(ctx context.Context, db *store.DB, requester, sys store.Scope, x *Export, info KindInfo, src Source,
	fw *files.Writer, every time.Duration) (int64, error) {
	rw, err := NewRowWriter(x.Format, fw)
	if err != nil {
		return 0, err
	}
	// The rights are checked on the primary first, so a role taken away a moment ago is never missed because
	// the replica lags; the rows are then read from the replica (InTenantRead), where a long export costs
	// the primary nothing and a few milliseconds of lag are acceptable. Progress and the export's own
	// record are written on the primary, in transactions of their own.
	err = db.InTenant(ctx, requester, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.ExportsRun); err != nil {
			return err
		}
		return identity.Permit(ctx, tx, info.Permission)
	})
	if err != nil {
		return 0, err
	}
	var rows int64
	began := false
	err = db.InTenantRead(ctx, requester, func(tx *store.Tx) error {
		// InTenant retries fn on a serialization failure, but rows already went to the file: fail the run
		// instead, and River retries the whole export with a new file.
		if began {
			return errors.New("the export's read was interrupted; retrying the whole export")
		}
		began = true
		if err := identity.Permit(ctx, tx, identity.ExportsRun); err != nil {
			return err
		}
		if err := identity.Permit(ctx, tx, info.Permission); err != nil {
			return err
		}
		total := int64(0)
		if src.Count != nil {
			var err error
			if total, err = src.Count(ctx, tx, x.Filter); err != nil {
				return err
			}
		}
		if err := progress(ctx, db, sys, x.ID, 0, total); err != nil {
			return err
		}
		if err := rw.Header(src.Columns); err != nil {
			return err
		}
		last := time.Now()
		err := src.Each(ctx, tx, x.Filter, func(cells []any) error {
			if err := rw.Row(cells); err != nil {
				return err
			}
			rows++
			if rows%1000 == 0 && time.Since(last) >= every {
				last = time.Now()
				return progress(ctx, db, sys, x.ID, rows, max(total, rows))
			}
			return nil
		})
		if err != nil {
			return err
		}
		return progress(ctx, db, sys, x.ID, rows, rows)
	})
	if err != nil {
		return rows, err
	}
	return rows, rw.Close()
}

// progress saves rows done (and the estimated total when known) and reports errCancelled when the export
// was cancelled meanwhile.
func progress(ctx context.Context, db *store.DB, sys store.Scope, id store.ID, done, total int64) error {
	var state State
	err := db.InTenant(ctx, sys, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &state, `
			UPDATE exports SET rows_done = $3, rows_total = $4, error = ''
			WHERE tenant_id = $1 AND id = $2 RETURNING state`, sys.TenantID, id, done, total)
	})
	if err != nil {
		return fmt.Errorf("error saving progress of export %s: %w", id, err)
	}
	if !state.Active() {
		return errCancelled
	}
	return nil
}

// finish records the outcome: done with the file, or failed with msg. It audits the export with its row
// count and tells the requester in the app, and by e-mail when email is set (a long export, or a failure).
// An export cancelled meanwhile stays cancelled and its file is removed.
func finish(ctx context.Context, db *store.DB, sys store.Scope, x *Export, file *files.File, rows int64, msg, baseURL string, email bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return db.InTenant(ctx, store.Scope{TenantID: sys.TenantID, ActorID: x.RequestedBy}, func(tx *store.Tx) error {
		var res string
		var err error
		if file != nil {
			err = tx.GetContext(ctx, &res, `
				UPDATE exports SET state = 'done', file_id = $3, file_name = $4, file_size = $5, rows_done = $6,
					rows_total = $6, finished_at = now(), expires_at = $7, error = ''
				WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running', 'waiting') RETURNING state`,
				sys.TenantID, x.ID, file.ID, file.Name, file.Size, rows, file.ExpiresAt)
		} else {
			err = tx.GetContext(ctx, &res, `
				UPDATE exports SET state = 'failed', error = $3, finished_at = now()
				WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'running', 'waiting') RETURNING state`,
				sys.TenantID, x.ID, truncate(msg, 2000))
		}
		if errors.Is(err, sql.ErrNoRows) {
			if file != nil {
				return files.Delete(ctx, tx, file.ID)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("error finishing export %s: %w", x.ID, err)
		}
		action, after := "export.completed", map[string]any{"kind": x.Kind, "format": x.Format, "rows": rows, "filter": x.Filter}
		title := x.Title() + " export is ready"
		body := strconv.FormatInt(rows, 10) + " rows, " + string(x.Format) + "."
		if file == nil {
			action, after["error"] = "export.failed", msg
			title, body = x.Title()+" export failed", msg
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: action, EntityType: "export", EntityID: x.ID.String(), After: after}); err != nil {
			return err
		}
		if file != nil && x.ScheduleID != nil {
			if err := recipientsTell(ctx, tx, x, rows, baseURL); err != nil {
				return err
			}
		}
		link := "/exports/" + x.ID.String()
		if err := notify.InApp(ctx, tx, notify.InAppParams{UserID: x.RequestedBy, Kind: "exports." + map[bool]string{true: "ready", false: "failed"}[file != nil],
			Title: truncate(title, 200), Body: truncate(body, 4000), Link: link}); err != nil {
			return err
		}
		if !email {
			return nil // a quick export: the person is still looking at the export center
		}
		var to string
		if err := tx.GetContext(ctx, &to, `SELECT email FROM users WHERE id = $1`, x.RequestedBy); err != nil {
			return fmt.Errorf("error loading requester of export %s: %w", x.ID, err)
		}
		return notify.Email(ctx, tx, notify.EmailParams{To: to, Subject: title,
			Text: title + ".\n\n" + body + "\n\n" + baseURL + link + "\n"})
	})
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// Fail marks an export failed after its last attempt, with msg for the requester.
func Fail(ctx context.Context, db *store.DB, args RunArgs, msg string, opts RunOpts) error {
	sys := store.Scope{TenantID: args.TenantID}
	var x *Export
	err := db.InTenant(ctx, sys, func(tx *store.Tx) error {
		var err error
		x, err = getTx(ctx, tx, args.ExportID)
		return err
	})
	if err != nil {
		return err
	}
	return finish(ctx, db, sys, x, nil, 0, msg, opts.BaseURL, true)
}

// Cleanup removes the bytes of every tenant's expired files (exports, import uploads and reports) and
// returns how many files it purged.
func Cleanup(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	var tenants []store.ID
	if err := db.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return 0, fmt.Errorf("error listing tenants: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := files.PurgeExpired(ctx, db, t, now)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// SchedulesRunAllDue runs SchedulesRunDue for every tenant.
func SchedulesRunAllDue(ctx context.Context, db *store.DB, now time.Time) (int, error) {
	var tenants []store.ID
	if err := db.X.SelectContext(ctx, &tenants, `SELECT all_tenant_ids()`); err != nil {
		return 0, fmt.Errorf("error listing tenants: %w", err)
	}
	total := 0
	for _, t := range tenants {
		n, err := SchedulesRunDue(ctx, db, t, now)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// markWaiting shows the export as waiting for its next attempt after cause made this one fail. The
// database may itself be what failed, so the update is tried again every second for up to 20 s (never
// past the next attempt); if it still cannot be written the export shows "running" until that attempt
// starts, which sets it again. Best effort: the job's own error is what River acts on.
func markWaiting(ctx context.Context, db *store.DB, sys store.Scope, id store.ID, cause error, opts RunOpts) {
	msg := "The last attempt failed; it is tried again shortly."
	if Transient(cause) {
		msg = "The database could not be reached; the export is tried again shortly."
	}
	var next *time.Time
	deadline := 20 * time.Second
	if !opts.RetryAt.IsZero() {
		at := opts.RetryAt
		if now := time.Now(); at.Before(now) {
			at = now // an attempt that ran longer than its back-off is retried as soon as it failed
		}
		next = &at
		deadline = min(deadline, max(time.Until(opts.RetryAt)-time.Second, time.Second))
	}
	waitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deadline)
	defer cancel()
	for {
		err := db.InTenant(waitCtx, sys, func(tx *store.Tx) error {
			_, err := tx.ExecContext(waitCtx, `
				UPDATE exports SET state = 'waiting', error = $3, next_attempt_at = $4
				WHERE tenant_id = $1 AND id = $2 AND state IN ('running', 'queued', 'waiting')`, sys.TenantID, id, msg, next)
			return err
		})
		if err == nil {
			return
		}
		select {
		case <-waitCtx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Transient reports whether err is the kind of failure that goes away by itself: the database could not
// be reached or dropped the connection, was shutting down or over its connection limit, a network
// error, a timeout, or a serialization failure or deadlock.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, cannot connect now
			pe.Code == "53300",                     // too many connections
			pe.Code == "40001", pe.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, context.DeadlineExceeded)
}
