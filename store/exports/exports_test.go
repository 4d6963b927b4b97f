package exports_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"ledgerline/store"
	"ledgerline/store/exports"
	"ledgerline/store/identity"
	"ledgerline/store/notify"
	"ledgerline/store/storetest"
)

// testBundle is a fresh database with two tenants; tenant A has a member of every role and a second
// manager, tenant B an admin.
type testBundle struct {
	db       *store.DB
	a, b     store.ID
	as       map[identity.Role]store.Scope
	manager2 store.Scope
	adminB   store.Scope
	ownerURL string // the owner role's URL of the database, for tests that set up rows behind the app's back
}

func setup(t testing.TB) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	sb := storetest.New(t)
	tb := &testBundle{db: sb.DB, ownerURL: sb.OwnerURL, as: map[identity.Role]store.Scope{}}
	tenant := func(slug string) store.ID {
		ten, err := identity.TenantCreate(ctx, tb.db, store.Scope{}, identity.TenantCreateParams{
			Name: "Tenant " + slug, Slug: slug, TimeZone: "Europe/Berlin", Currency: "EUR"})
		require.NoError(t, err)
		return ten.ID
	}
	tb.a, tb.b = tenant("exp-a"), tenant("exp-b")
	member := func(tenant store.ID, role identity.Role, email string) store.Scope {
		id := store.NewID()
		_, err := tb.db.X.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, 'x')`, id, email, email)
		require.NoError(t, err)
		require.NoError(t, identity.MemberAdd(ctx, tb.db, store.Scope{TenantID: tenant}, identity.MemberAddParams{UserID: id, Role: role}))
		return store.Scope{TenantID: tenant, ActorID: id}
	}
	for _, role := range identity.Roles {
		tb.as[role] = member(tb.a, role, string(role)+"@exp-a.example")
	}
	tb.manager2 = member(tb.a, identity.RoleManager, "manager2@exp-a.example")
	tb.adminB = member(tb.b, identity.RoleAdmin, "admin@exp-b.example")
	return tb, ctx
}

// fakeCatalog gives the item and people lists n synthetic rows, one of them a formula.
func fakeCatalog(n int) exports.Catalog {
	src := exports.Source{
		Columns: []string{"Name", "Amount", "Note"},
		Count:   func(context.Context, *store.Tx, json.RawMessage) (int64, error) { return int64(n), nil },
		Each: func(ctx context.Context, tx *store.Tx, _ json.RawMessage, emit func([]any) error) error {
			for i := range n {
				note := "plain"
				if i == 0 {
					note = "=HYPERLINK(\"http://evil\")"
				}
				if err := emit([]any{"Person " + strconv.Itoa(i), exports.Number("-" + strconv.Itoa(i) + ".50"), note}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	return exports.Catalog{exports.KindInventoryItems: src, exports.KindPeople: src}
}

func (tb *testBundle) create(ctx context.Context, t *testing.T, sc store.Scope, f exports.Format) *exports.Export {
	t.Helper()
	x, err := exports.Create(ctx, tb.db, sc, exports.CreateParams{Kind: exports.KindInventoryItems, Format: f, Filter: json.RawMessage(`{"Search":"x"}`), FilterText: "Search: x"})
	require.NoError(t, err)
	return x
}

func (tb *testBundle) run(ctx context.Context, t *testing.T, x *exports.Export, n int) *exports.Export {
	t.Helper()
	require.NoError(t, exports.Run(ctx, tb.db, fakeCatalog(n), exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 1, exports.RunOpts{BaseURL: "http://app.test"}))
	got, err := exports.Get(ctx, tb.db, store.Scope{TenantID: tb.a, ActorID: x.RequestedBy}, x.ID)
	require.NoError(t, err)
	return got
}

func readAll(ctx context.Context, t *testing.T, db *store.DB, sc store.Scope, id store.ID) ([]byte, *exports.Export) {
	t.Helper()
	x, r, err := exports.Download(ctx, db, sc, id)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b, x
}

func requireCode(t *testing.T, err error, code store.Code, msg string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, store.ErrorCode(err), "%v", err)
	if msg != "" {
		require.Contains(t, store.ErrorMessage(err), msg)
	}
}

func TestNeutralise(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-2+3", "'-2+3"},
		{"@cmd", "'@cmd"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"plain", "plain"},
		{"a=b", "a=b"},
		{"", ""},
		{" =x", " =x"},
		{"'quoted", "'quoted"},
	} {
		require.Equal(t, tc.want, exports.Neutralise(tc.in), "input %q", tc.in)
	}
}

func TestCSVAndXLSXWriters(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := exports.NewRowWriter(exports.FormatCSV, &buf)
	require.NoError(t, err)
	require.NoError(t, w.Header([]string{"A", "B", "C"}))
	require.NoError(t, w.Row([]any{"=cmd", exports.Number("-1.5"), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}))
	require.NoError(t, w.Close())
	require.True(t, strings.HasPrefix(buf.String(), "\ufeff"))
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{{"A", "B", "C"}, {"'=cmd", "-1.5", "2026-01-02T03:04:05Z"}}, recs)

	// An empty export is a file with the header only.
	buf.Reset()
	w, err = exports.NewRowWriter(exports.FormatXLSX, &buf)
	require.NoError(t, err)
	require.NoError(t, w.Header([]string{"A", "B"}))
	require.NoError(t, w.Close())
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rows, err := f.GetRows("Export")
	require.NoError(t, err)
	require.Equal(t, [][]string{{"A", "B"}}, rows)
}

func TestXLSXContinuesOnNewSheet(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := exports.NewXLSXWriterForTest(&buf, 3)
	require.NoError(t, w.Header([]string{"N"}))
	for i := range 7 {
		require.NoError(t, w.Row([]any{"row " + strconv.Itoa(i)}))
	}
	require.NoError(t, w.Close())
	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Equal(t, []string{"Export", "Export 2", "Export 3"}, f.GetSheetList())
	var all []string
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		require.NoError(t, err)
		require.Equal(t, []string{"N"}, rows[0], "each sheet repeats the header")
		for _, r := range rows[1:] {
			all = append(all, r[0])
		}
	}
	require.Equal(t, []string{"row 0", "row 1", "row 2", "row 3", "row 4", "row 5", "row 6"}, all)
}

func TestExportRunCSVAndXLSX(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as[identity.RoleAdmin]

	x := tb.run(ctx, t, tb.create(ctx, t, admin, exports.FormatCSV), 2500)
	require.Equal(t, exports.StateDone, x.State)
	require.EqualValues(t, 2500, x.RowsDone)
	require.Equal(t, 100, x.Percent())
	b, _ := readAll(ctx, t, tb.db, admin, x.ID)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 2501)
	require.Equal(t, []string{"Person 0", "-0.50", "'=HYPERLINK(\"http://evil\")"}, recs[1])
	require.Equal(t, []string{"Person 2499", "-2499.50", "plain"}, recs[2500])

	x = tb.run(ctx, t, tb.create(ctx, t, admin, exports.FormatXLSX), 10)
	b, _ = readAll(ctx, t, tb.db, admin, x.ID)
	f, err := excelize.OpenReader(bytes.NewReader(b))
	require.NoError(t, err)
	rows, err := f.GetRows("Export")
	require.NoError(t, err)
	require.Len(t, rows, 11)
	require.Equal(t, "'=HYPERLINK(\"http://evil\")", rows[1][2])
	require.Equal(t, "-9.5", rows[10][1])

	// Each export is audited with its filter and its row count; the requester is told in the app.
	var actions []string
	require.NoError(t, tb.db.InTenant(ctx, admin, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &actions, `SELECT action || ':' || coalesce(after->>'rows', after->>'filter_text', '') FROM audit_events
			WHERE entity_id = $1 ORDER BY occurred_at, id`, x.ID.String())
	}))
	require.Equal(t, []string{"export.requested:Search: x", "export.completed:10", "export.downloaded:10"}, actions)
	list, err := notify.ListUnread(ctx, tb.db, admin, 0)
	require.NoError(t, err)
	require.NotEmpty(t, list)
	require.Equal(t, "Inventory items export is ready", list[0].Title)

	// A run of a finished export does nothing (a retried or rescued job).
	require.NoError(t, exports.Run(ctx, tb.db, fakeCatalog(3), exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 2, exports.RunOpts{}))
	again, err := exports.Get(ctx, tb.db, admin, x.ID)
	require.NoError(t, err)
	require.Equal(t, x.FileID, again.FileID)
	require.EqualValues(t, 10, again.RowsDone)
}

func TestExportLimit(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	mgr := tb.as[identity.RoleManager]
	for range 3 {
		tb.create(ctx, t, tb.as[identity.RoleAdmin], exports.FormatCSV) // another person's exports do not count
	}
	var first *exports.Export
	for i := range 3 {
		x := tb.create(ctx, t, mgr, exports.FormatCSV)
		if i == 0 {
			first = x
		}
	}
	_, err := exports.Create(ctx, tb.db, mgr, exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	requireCode(t, err, store.Conflict, "You already have 3 exports running, the most at once. Wait until one finishes, or cancel one in the export center")
	// Cancelling one frees a place.
	_, err = exports.Cancel(ctx, tb.db, mgr, first.ID)
	require.NoError(t, err)
	tb.create(ctx, t, mgr, exports.FormatCSV)

	// The admin lowers the limit to 1.
	_, err = exports.SettingsUpdate(ctx, tb.db, tb.as[identity.RoleAdmin], exports.Settings{RetentionDays: 7, MaxConcurrent: 1, Version: 1})
	require.NoError(t, err)
	_, err = exports.Create(ctx, tb.db, tb.manager2, exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	require.NoError(t, err)
	_, err = exports.Create(ctx, tb.db, tb.manager2, exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	requireCode(t, err, store.Conflict, "You already have 1 export running")
	require.Equal(t, "You already have 1 export running, the most at once. Wait until one finishes, or cancel one in the export center, then try again.", exports.LimitMessage(1))
}

func TestExportPermissions(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	// An employee may not export; a manager may not export people (their page needs AdminUsers).
	_, err := exports.Create(ctx, tb.db, tb.as[identity.RoleEmployee], exports.CreateParams{Kind: exports.KindInventoryItems, Format: exports.FormatCSV})
	requireCode(t, err, store.Forbidden, "")
	_, err = exports.Create(ctx, tb.db, tb.as[identity.RoleAuditor], exports.CreateParams{Kind: exports.KindPeople, Format: exports.FormatCSV})
	requireCode(t, err, store.Forbidden, "")
	_, err = exports.Create(ctx, tb.db, tb.as[identity.RoleAdmin], exports.CreateParams{Kind: "billing.nothing", Format: "pdf"})
	requireCode(t, err, store.Invalid, "")

	// The admin's finished export: the requester and other admins may download it; another manager, and
	// tenant B's admin with the id, find nothing.
	adminA := tb.as[identity.RoleAdmin]
	x := tb.run(ctx, t, tb.create(ctx, t, adminA, exports.FormatCSV), 5)
	_, _ = readAll(ctx, t, tb.db, adminA, x.ID)
	_, _, err = exports.Download(ctx, tb.db, tb.as[identity.RoleManager], x.ID)
	requireCode(t, err, store.NotFound, "")
	_, _, err = exports.Download(ctx, tb.db, store.Scope{TenantID: tb.b, ActorID: tb.adminB.ActorID}, x.ID)
	requireCode(t, err, store.NotFound, "")
	_, err = exports.Get(ctx, tb.db, tb.adminB, x.ID)
	requireCode(t, err, store.NotFound, "")
	_, err = exports.Cancel(ctx, tb.db, tb.as[identity.RoleManager], x.ID)
	requireCode(t, err, store.NotFound, "")

	// A manager's export: an admin may download it; the manager's list shows only their own.
	mgr := tb.as[identity.RoleManager]
	y := tb.create(ctx, t, mgr, exports.FormatCSV)
	_, _, err = exports.Download(ctx, tb.db, mgr, y.ID)
	requireCode(t, err, store.NotFound, "no file yet")
	tb.run(ctx, t, y, 3)
	_, _ = readAll(ctx, t, tb.db, adminA, y.ID)
	mine, err := exports.List(ctx, tb.db, mgr, exports.ListParams{})
	require.NoError(t, err)
	require.Len(t, mine.Exports, 1)
	_, err = exports.List(ctx, tb.db, mgr, exports.ListParams{All: true})
	requireCode(t, err, store.Forbidden, "")
	all, err := exports.List(ctx, tb.db, adminA, exports.ListParams{All: true})
	require.NoError(t, err)
	require.Len(t, all.Exports, 2)
	other, err := exports.List(ctx, tb.db, tb.adminB, exports.ListParams{All: true})
	require.NoError(t, err)
	require.Empty(t, other.Exports)
}

func TestExportCancel(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	mgr := tb.as[identity.RoleManager]
	x := tb.create(ctx, t, mgr, exports.FormatCSV)
	// Cancelled while running: the source sees the cancellation at the next progress save, the run stops
	// and leaves no file.
	catalog := exports.Catalog{exports.KindInventoryItems: {
		Columns: []string{"N"},
		Each: func(ctx context.Context, tx *store.Tx, _ json.RawMessage, emit func([]any) error) error {
			for i := range 100_000 {
				if i == 1500 {
					if _, err := exports.Cancel(ctx, tb.db, mgr, x.ID); err != nil {
						return err
					}
				}
				if err := emit([]any{i}); err != nil {
					return err
				}
			}
			return nil
		},
	}}
	require.NoError(t, exports.Run(ctx, tb.db, catalog, exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 1, exports.RunOpts{ProgressEvery: time.Nanosecond}))
	got, err := exports.Get(ctx, tb.db, mgr, x.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateCancelled, got.State)
	require.Nil(t, got.FileID)
	var files int
	require.NoError(t, tb.db.InTenant(ctx, mgr, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &files, `SELECT count(*) FROM files`)
	}))
	require.Zero(t, files, "the partial file was removed")
	_, err = exports.Cancel(ctx, tb.db, mgr, x.ID)
	requireCode(t, err, store.Conflict, "already finished")

	// Re-run makes a new export of the same list and filter.
	again, err := exports.Rerun(ctx, tb.db, mgr, x.ID)
	require.NoError(t, err)
	require.NotEqual(t, x.ID, again.ID)
	require.Equal(t, exports.StateQueued, again.State)
	require.JSONEq(t, string(x.Filter), string(again.Filter))
}

func TestExportFailureRetriesThenFails(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	mgr := tb.as[identity.RoleManager]
	x := tb.create(ctx, t, mgr, exports.FormatCSV)
	broken := exports.Catalog{exports.KindInventoryItems: {Columns: []string{"N"},
		Each: func(context.Context, *store.Tx, json.RawMessage, func([]any) error) error {
			return fmt.Errorf("connection reset")
		}}}
	err := exports.Run(ctx, tb.db, broken, exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 1, exports.RunOpts{})
	require.Error(t, err)
	got, err := exports.Get(ctx, tb.db, mgr, x.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateWaiting, got.State, "shown as waiting while River retries")
	require.NoError(t, exports.Fail(ctx, tb.db, exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, "It failed.", exports.RunOpts{}))
	got, err = exports.Get(ctx, tb.db, mgr, x.ID)
	require.NoError(t, err)
	require.Equal(t, exports.StateFailed, got.State)
	require.Equal(t, "It failed.", got.Error)
}

func TestExpiryCleanup(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as[identity.RoleAdmin]
	x := tb.run(ctx, t, tb.create(ctx, t, admin, exports.FormatCSV), 5)
	require.NotNil(t, x.ExpiresAt)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), *x.ExpiresAt, time.Minute, "default retention 7 days")

	n, err := exports.Cleanup(ctx, tb.db, time.Now())
	require.NoError(t, err)
	require.Zero(t, n, "nothing expired yet")
	_, _ = readAll(ctx, t, tb.db, admin, x.ID)

	n, err = exports.Cleanup(ctx, tb.db, x.ExpiresAt.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, _, err = exports.Download(ctx, tb.db, admin, x.ID)
	requireCode(t, err, store.NotFound, "expired")
	var chunks int
	require.NoError(t, tb.db.InTenant(ctx, admin, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &chunks, `SELECT count(*) FROM file_chunks`)
	}))
	require.Zero(t, chunks)

	// A retention of 1 day applies to the next export.
	_, err = exports.SettingsUpdate(ctx, tb.db, admin, exports.Settings{RetentionDays: 1, MaxConcurrent: 3, Version: 1})
	require.NoError(t, err)
	y := tb.run(ctx, t, tb.create(ctx, t, admin, exports.FormatCSV), 1)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), *y.ExpiresAt, time.Minute)
	_, err = exports.SettingsUpdate(ctx, tb.db, admin, exports.Settings{RetentionDays: 3, MaxConcurrent: 3, Version: 1})
	requireCode(t, err, store.Conflict, "changed by someone else")
	_, err = exports.SettingsUpdate(ctx, tb.db, tb.as[identity.RoleManager], exports.Settings{RetentionDays: 3, MaxConcurrent: 3, Version: 2})
	requireCode(t, err, store.Forbidden, "")
	_, err = exports.SettingsUpdate(ctx, tb.db, admin, exports.Settings{RetentionDays: 91, MaxConcurrent: 0, Version: 2})
	requireCode(t, err, store.Invalid, "")
}

func TestNextRun(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, berlin)
		require.NoError(t, err)
		return v
	}
	for _, tc := range []struct {
		f         exports.Frequency
		day, hour int
		after     string
		want      string
	}{
		{exports.Daily, 0, 7, "2026-03-10 06:59", "2026-03-10 07:00"},
		{exports.Daily, 0, 7, "2026-03-10 07:00", "2026-03-11 07:00"},
		{exports.Daily, 0, 2, "2026-03-28 03:00", "2026-03-29 02:00"},  // the DST night: 02:00 does not exist, Go normalises to 03:00
		{exports.Weekly, 1, 8, "2026-03-10 09:00", "2026-03-16 08:00"}, // Tuesday → next Monday
		{exports.Weekly, 2, 8, "2026-03-10 07:00", "2026-03-10 08:00"},
		{exports.Monthly, 1, 6, "2026-01-31 12:00", "2026-02-01 06:00"},
		{exports.Monthly, 28, 6, "2026-12-28 06:00", "2027-01-28 06:00"},
	} {
		got := exports.NextRun(tc.f, tc.day, tc.hour, berlin, at(tc.after))
		want := at(tc.want)
		require.True(t, want.Equal(got), "%s day %d hour %d after %s: got %s want %s", tc.f, tc.day, tc.hour, tc.after, got.In(berlin), want)
	}
}

func TestScheduledReport(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	admin := tb.as[identity.RoleAdmin]
	// Created on Tuesday 2026-03-10 at 09:00 Berlin time, weekly on Wednesdays at 07:00 local time.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, berlin)
	s, err := exports.ScheduleCreate(ctx, tb.db, admin, exports.ScheduleCreateParams{Name: "Weekly people", Kind: exports.KindPeople,
		Format: exports.FormatCSV, Frequency: exports.Weekly, Day: 3, Hour: 7,
		Recipients: []store.ID{tb.as[identity.RoleEmployee].ActorID, admin.ActorID}, Now: now})
	require.NoError(t, err)
	require.True(t, time.Date(2026, 3, 11, 7, 0, 0, 0, berlin).Equal(s.NextRunAt), "%s", s.NextRunAt)
	_, err = exports.ScheduleCreate(ctx, tb.db, admin, exports.ScheduleCreateParams{Name: "Bad", Kind: exports.KindPeople,
		Format: exports.FormatCSV, Frequency: exports.Daily, Hour: 7, Recipients: []store.ID{tb.adminB.ActorID}, Now: now})
	requireCode(t, err, store.Invalid, "")
	_, err = exports.ScheduleCreate(ctx, tb.db, tb.as[identity.RoleManager], exports.ScheduleCreateParams{Name: "M", Kind: exports.KindInventoryItems,
		Format: exports.FormatCSV, Frequency: exports.Daily, Hour: 7, Recipients: []store.ID{admin.ActorID}, Now: now})
	requireCode(t, err, store.Forbidden, "")

	// At 06:59 nothing is due; at 07:00 one export starts, once, however often the job runs.
	n, err := exports.SchedulesRunDue(ctx, tb.db, tb.a, time.Date(2026, 3, 11, 6, 59, 0, 0, berlin))
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = exports.SchedulesRunDue(ctx, tb.db, tb.a, time.Date(2026, 3, 11, 7, 0, 0, 0, berlin))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = exports.SchedulesRunDue(ctx, tb.db, tb.a, time.Date(2026, 3, 11, 7, 3, 0, 0, berlin))
	require.NoError(t, err)
	require.Zero(t, n)
	list, err := exports.ScheduleList(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, time.Date(2026, 3, 18, 7, 0, 0, 0, berlin).Equal(list[0].NextRunAt))
	require.NotNil(t, list[0].LastExportID)

	// The export runs as the owner; the recipients get the link, and the employee may download it.
	x := tb.run(ctx, t, &exports.Export{ID: *list[0].LastExportID, RequestedBy: admin.ActorID}, 4)
	require.Equal(t, exports.StateDone, x.State)
	emp := tb.as[identity.RoleEmployee]
	notes, err := notify.ListUnread(ctx, tb.db, emp, 0)
	require.NoError(t, err)
	require.Len(t, notes, 1)
	require.Equal(t, "Report ready: Weekly people", notes[0].Title)
	require.Equal(t, "/exports/"+x.ID.String()+"/download", notes[0].Link)
	_, _ = readAll(ctx, t, tb.db, emp, x.ID)
	_, _, err = exports.Download(ctx, tb.db, tb.as[identity.RoleManager], x.ID)
	requireCode(t, err, store.NotFound, "")
	var to []string
	require.NoError(t, tb.db.X.SelectContext(ctx, &to, `SELECT args->>'to' FROM river_job WHERE kind = 'email_send' ORDER BY 1`))
	require.Contains(t, to, "employee@exp-a.example")

	// A failed run is reported to the owner after the last attempt.
	require.NoError(t, exports.ScheduleDelete(ctx, tb.db, admin, s.ID))
	list, err = exports.ScheduleList(ctx, tb.db, admin)
	require.NoError(t, err)
	require.Empty(t, list)
}

// TestExportKilledMidwayFinishesOnce: a run cut off mid-export (its context cancelled, as when the worker
// is stopped) offers no file; the rescued job's run writes the whole file once, and a further run of the
// finished export changes nothing.
func TestExportKilledMidwayFinishesOnce(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	mgr := tb.as[identity.RoleManager]
	x := tb.create(ctx, t, mgr, exports.FormatCSV)
	killCtx, kill := context.WithCancel(ctx)
	catalog := exports.Catalog{exports.KindInventoryItems: {
		Columns: []string{"N"},
		Each: func(ctx context.Context, tx *store.Tx, _ json.RawMessage, emit func([]any) error) error {
			for i := range 5000 {
				if i == 2500 {
					kill()
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := emit([]any{i}); err != nil {
					return err
				}
			}
			return nil
		},
	}}
	require.Error(t, exports.Run(killCtx, tb.db, catalog, exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 1, exports.RunOpts{}))
	got, err := exports.Get(ctx, tb.db, mgr, x.ID)
	require.NoError(t, err)
	require.True(t, got.State.Active(), "still to be done: %s", got.State)
	require.Nil(t, got.FileID)
	_, _, err = exports.Download(ctx, tb.db, mgr, x.ID)
	requireCode(t, err, store.NotFound, "no file yet")

	require.NoError(t, exports.Run(ctx, tb.db, catalog, exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 2, exports.RunOpts{}))
	require.NoError(t, exports.Run(ctx, tb.db, catalog, exports.RunArgs{TenantID: tb.a, ExportID: x.ID}, 3, exports.RunOpts{}))
	b, done := readAll(ctx, t, tb.db, mgr, x.ID)
	require.Equal(t, exports.StateDone, done.State)
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 5001, "every row once")
	var linked int
	require.NoError(t, tb.db.InTenant(ctx, mgr, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &linked, `SELECT count(*) FROM exports WHERE file_id IS NOT NULL`)
	}))
	require.Equal(t, 1, linked)
	var events int
	require.NoError(t, tb.db.InTenant(ctx, mgr, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &events, `SELECT count(*) FROM audit_events WHERE action = 'export.completed' AND entity_id = $1`, x.ID.String())
	}))
	require.Equal(t, 1, events, "completed once")

	// An empty list is a file with the header only.
	y := tb.run(ctx, t, tb.create(ctx, t, mgr, exports.FormatCSV), 0)
	b, _ = readAll(ctx, t, tb.db, mgr, y.ID)
	require.Equal(t, "\ufeffName,Amount,Note\n", string(b))
}

// The workbook the writer builds itself: numbers stay numbers, text is escaped (and what XML cannot hold is
// replaced), booleans and blanks keep their place, columns past Z are named AA …, the header stays frozen.
func TestXLSXCellsAndEscaping(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w, err := exports.NewRowWriter(exports.FormatXLSX, &buf)
	require.NoError(t, err)
	header := make([]string, 28)
	for i := range header {
		header[i] = "C" + strconv.Itoa(i)
	}
	require.NoError(t, w.Header(header))
	row := make([]any, 28)
	row[0], row[1], row[2], row[3] = exports.Number("12.50"), int64(-3), true, nil
	row[4], row[5], row[27] = `<b>"Fish & Chips"</b>`, "bell\x07ring", "+SUM(A1)"
	require.NoError(t, w.Row(row))
	require.NoError(t, w.Close())

	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	rows, err := f.GetRows("Export")
	require.NoError(t, err)
	require.Equal(t, header, rows[0])
	require.Equal(t, "12.5", rows[1][0])
	require.Equal(t, "-3", rows[1][1])
	require.Equal(t, "TRUE", rows[1][2])
	require.Equal(t, "", rows[1][3])
	require.Equal(t, `<b>"Fish & Chips"</b>`, rows[1][4])
	require.Equal(t, "bell\uFFFDring", rows[1][5])
	require.Equal(t, "'+SUM(A1)", rows[1][27], "column AB, neutralised")
	typ, err := f.GetCellType("Export", "A2")
	require.NoError(t, err)
	require.NotEqual(t, excelize.CellTypeInlineString, typ, "a number, not text")
	panes, err := f.GetPanes("Export")
	require.NoError(t, err)
	require.True(t, panes.Freeze)
	require.Equal(t, 1, panes.YSplit)
}
