package inventory

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/files"
	"ledgerline/store/identity"
)

// Bulk import of items and their opening stock from a CSV file.
//
// The format (the import page shows it too): UTF-8 text, commas between columns, a header row naming the
// columns (in any order, any letter case). sku, name and unit are required; the others may be left out:
//
//	sku,name,description,category,unit,barcode,reorder_point,reorder_quantity,tracking,location,quantity,unit_cost
//	BOLT-10,Bolt M10,,Fasteners,ea,4006381333931,100,500,none,WH1-A1,250,0.12
//
// unit is a unit code (ea, kg, m, ...); tracking is none, batch or serial (empty: none); location is the
// code of a warehouse or bin and quantity the opening stock there, received at unit_cost (in the tenant's
// currency, like 12.50; empty: 0). Items tracked by batch or serial number get no opening stock here (the
// file has no batch column): receive theirs with batches. Quantities and numbers use a point for decimals.
//
// ImportCreate stores the upload (store/files) and queues an ImportArgs job; ImportRun (the job) reads
// the file twice: once to count its rows, once to check every row, reporting progress. A file with any
// problem is rejected whole, with an error report (row, column, message) stored as a CSV file; otherwise
// every row is committed in one transaction, set-based, and the import is done.

// ImportMaxSize is the largest file an import accepts.
const ImportMaxSize = files.MaxSize

// ImportMaxErrors bounds the problems an import records; a file with more gets the first ones and a count.
const ImportMaxErrors = 10_000

// ImportColumns are the columns of an import file, in the documented order.
var ImportColumns = []string{"sku", "name", "description", "category", "unit", "barcode", "reorder_point",
	"reorder_quantity", "tracking", "location", "quantity", "unit_cost"}

// importRequired are the columns a header must name.
var importRequired = []string{"sku", "name", "unit"}

// ImportState is where an import is in its life.
type ImportState string

// The import states.
const (
	ImportQueued     ImportState = "queued"     // waiting for a worker
	ImportValidating ImportState = "validating" // checking every row
	ImportImporting  ImportState = "importing"  // writing every row, in one transaction
	ImportDone       ImportState = "done"       // every row committed
	ImportRejected   ImportState = "rejected"   // nothing committed: the error report says why
	ImportFailed     ImportState = "failed"     // could not be completed; nothing committed
)

// Open reports whether the import has not finished yet.
func (s ImportState) Open() bool {
	return s == ImportQueued || s == ImportValidating || s == ImportImporting
}

// Import is one uploaded CSV file and what became of it.
type Import struct {
	ID              store.ID    `db:"id"`
	FileID          store.ID    `db:"file_id"`
	FileName        string      `db:"file_name"`
	FileSize        int64       `db:"file_size"`
	RequestedBy     *store.ID   `db:"requested_by"`
	RequestedByName *string     `db:"requested_by_name"`
	State           ImportState `db:"state"`
	// RowsTotal is the number of data rows; RowsDone how many the current phase has handled.
	RowsTotal    int64 `db:"rows_total"`
	RowsDone     int64 `db:"rows_done"`
	ItemsCreated int64 `db:"items_created"`
	StockLines   int64 `db:"stock_lines"`
	// ErrorCount is how many problems were found; ErrorFileID the report listing them.
	ErrorCount  int64      `db:"error_count"`
	ErrorFileID *store.ID  `db:"error_file_id"`
	Message     string     `db:"message"`
	CreatedAt   time.Time  `db:"created_at"`
	StartedAt   *time.Time `db:"started_at"`
	FinishedAt  *time.Time `db:"finished_at"`
}

const importSelect = `
	SELECT m.id, m.file_id, m.file_name, f.size AS file_size, m.requested_by, u.name AS requested_by_name, m.state,
	       m.rows_total, m.rows_done, m.items_created, m.stock_lines, m.error_count, m.error_file_id, m.message,
	       m.created_at, m.started_at, m.finished_at
	FROM inventory_imports m
	JOIN files f ON f.tenant_id = m.tenant_id AND f.id = m.file_id
	LEFT JOIN users u ON u.id = m.requested_by`

var errImportNotFound = store.Errorf(store.NotFound, "No such import.")

// ImportArgs is the job that checks and commits one import. The tenant's transaction is opened from
// TenantID, on behalf of ActorID (who uploaded the file), under row-level security.
type ImportArgs struct {
	TenantID store.ID `json:"tenant_id"`
	ImportID store.ID `json:"import_id"`
	ActorID  store.ID `json:"actor_id"`
}

// Kind names the job in River's tables.
func (ImportArgs) Kind() string { return "inventory_import" }

// InsertOpts gives the job a few attempts: a file that cannot be imported three times in a row is
// reported as failed rather than retried for days.
func (ImportArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3}
}

// ImportError is one problem of an import file. Row counts the header as row 1, like a spreadsheet;
// Row 0 is the file as a whole. Column is "" when the problem is not in one column.
type ImportError struct {
	Row     int
	Column  string
	Message string
}

// ImportCreateParams is an uploaded file to import.
type ImportCreateParams struct {
	FileName    string
	ContentType string
	Body        io.Reader
}

// ImportCreate stores an uploaded CSV file and queues its import, in one transaction: the job exists
// exactly when the file does. A file beyond ImportMaxSize is an Invalid error on the file field. The
// actor needs InventoryAdjust.
func ImportCreate(ctx context.Context, db *store.DB, scope store.Scope, p ImportCreateParams) (*Import, error) {
	var imp Import
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		var owner *store.ID
		if scope.ActorID != (store.ID{}) {
			owner = &scope.ActorID
		}
		expires := time.Now().Add(files.DefaultRetention)
		f, err := files.Create(ctx, tx, files.CreateParams{Name: p.FileName, ContentType: p.ContentType, OwnerID: owner,
			MaxSize: ImportMaxSize, ExpiresAt: &expires}, p.Body)
		if err != nil {
			return err
		}
		if f.Size == 0 {
			return (store.FieldErrors{"file": "The file is empty. Choose a CSV file with a header row and at least one item."}).Err()
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO inventory_imports (id, file_id, file_name, requested_by) VALUES ($1, $2, $3, $4)`,
			id, f.ID, f.Name, owner); err != nil {
			return fmt.Errorf("error creating import: %w", err)
		}
		if err := tx.Enqueue(ctx, ImportArgs{TenantID: scope.TenantID, ImportID: id, ActorID: scope.ActorID}, nil); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.import_upload", EntityType: "inventory_import",
			EntityID: id.String(), After: map[string]any{"file_name": f.Name, "size": f.Size}}); err != nil {
			return err
		}
		return importGetTx(ctx, tx, id, &imp)
	})
	if err != nil {
		return nil, err
	}
	return &imp, nil
}

func importGetTx(ctx context.Context, tx *store.Tx, id store.ID, imp *Import) error {
	return store.Get(ctx, tx, imp, errImportNotFound.Message, importSelect+` WHERE m.tenant_id = $1 AND m.id = $2`,
		tx.Scope.TenantID, id)
}

// ImportGet returns one import of scope's tenant. The actor needs InventoryAdjust.
func ImportGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Import, error) {
	var imp Import
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		return importGetTx(ctx, tx, id, &imp)
	})
	if err != nil {
		return nil, err
	}
	return &imp, nil
}

// ImportList returns scope's most recent imports, newest first (at most 20). The actor needs InventoryAdjust.
func ImportList(ctx context.Context, db *store.DB, scope store.Scope) ([]Import, error) {
	var out []Import
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		if err := tx.SelectContext(ctx, &out, importSelect+` WHERE m.tenant_id = $1 ORDER BY m.created_at DESC, m.id DESC LIMIT 20`,
			tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error listing imports: %w", err)
		}
		return nil
	})
	return out, err
}

// ImportErrorReport opens the error report of a rejected import. An import without one is NotFound.
// The actor needs InventoryAdjust.
func ImportErrorReport(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*files.Reader, error) {
	imp, err := ImportGet(ctx, db, scope, id)
	if err != nil {
		return nil, err
	}
	if imp.ErrorFileID == nil {
		return nil, store.Errorf(store.NotFound, "This import has no error report.")
	}
	return files.Open(ctx, db, scope, *imp.ErrorFileID)
}

// importRow is one checked row, ready to write.
type importRow struct {
	fields     ItemFields
	locationID *store.ID
	allowNeg   bool
	qty        Qty
	unitCost   int64
}

// importLocation is a location as the import finds it by code.
type importLocation struct {
	ID            store.ID `db:"id"`
	Code          string   `db:"code"`
	AllowNegative bool     `db:"allow_negative"`
}

// importProblems collects the problems of a file, up to ImportMaxErrors, and counts them all.
type importProblems struct {
	list  []ImportError
	count int
}

func (p *importProblems) add(row int, column, msg string) {
	p.count++
	if len(p.list) < ImportMaxErrors {
		p.list = append(p.list, ImportError{Row: row, Column: column, Message: msg})
	}
}

// importReader reads the records of an import file: it strips a UTF-8 byte order mark, refuses UTF-16,
// and turns the csv package's errors into messages people can act on.
type importReader struct {
	csv *csv.Reader
	row int // the row of the last record read (the header is row 1)
}

var errNotUTF8 = "The file is not UTF-8 text (it looks like Windows-1252 or Latin-1). Save it as \"CSV UTF-8\" and upload it again."

func newImportReader(r io.Reader) (*importReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3)
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, importFileError("The file is UTF-16 text (\"Unicode text\"). Save it as \"CSV UTF-8\" and upload it again.")
	}
	c := csv.NewReader(br)
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	return &importReader{csv: c}, nil
}

// importFileError is a problem of the file itself that stops reading it; its text is for people.
type importFileError string

func (e importFileError) Error() string { return string(e) }

// next returns the next record; io.EOF at the end. A record that cannot be read is an importFileError
// whose message says why (the file cannot be read past it); any other error is the storage's.
func (r *importReader) next() ([]string, error) {
	rec, err := r.csv.Read()
	if err == io.EOF {
		return nil, err
	}
	r.row++
	if err != nil {
		var pe *csv.ParseError
		if !errors.As(err, &pe) {
			return nil, err
		}
		if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			return nil, importFileError("A quotation mark is out of place, so the file cannot be read from here on. Put values that contain quotation marks in double quotes and double the quotation marks inside (\"\").")
		}
		return nil, importFileError("The file cannot be read from here on: " + pe.Err.Error() + ".")
	}
	for _, f := range rec {
		if !utf8.ValidString(f) {
			return nil, importFileError(errNotUTF8)
		}
	}
	return rec, nil
}

// importHeader maps column names to their index in the file and reports the header's problems.
func importHeader(rec []string, probs *importProblems) map[string]int {
	if len(rec) == 1 {
		switch {
		case strings.Contains(rec[0], ";"):
			probs.add(1, "", "The columns are separated by semicolons. Use commas: save the file as \"CSV UTF-8 (comma delimited)\", or change the list separator to a comma, and upload it again.")
			return nil
		case strings.Contains(rec[0], "\t"):
			probs.add(1, "", "The columns are separated by tabs. Use commas: save the file as \"CSV UTF-8 (comma delimited)\" and upload it again.")
			return nil
		}
	}
	cols := map[string]int{}
	known := map[string]bool{}
	for _, c := range ImportColumns {
		known[c] = true
	}
	for i, name := range rec {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "reorder_qty" {
			name = "reorder_quantity"
		}
		switch {
		case name == "":
			probs.add(1, "", fmt.Sprintf("Column %d has no name. Name every column in the header row (%s).", i+1, strings.Join(ImportColumns, ",")))
		case !known[name]:
			probs.add(1, name, "Unknown column "+strconv.Quote(name)+". The columns are: "+strings.Join(ImportColumns, ", ")+".")
		case colHas(cols, name):
			probs.add(1, name, "The column "+name+" appears twice. Keep one.")
		default:
			cols[name] = i
		}
	}
	for _, c := range importRequired {
		if !colHas(cols, c) {
			probs.add(1, c, "The header has no "+c+" column. The first row must name the columns, e.g. "+strings.Join(ImportColumns, ",")+".")
		}
	}
	return cols
}

func colHas(cols map[string]int, name string) bool { _, ok := cols[name]; return ok }

// importCheck is the state of checking a file's rows.
type importCheck struct {
	locations map[string]importLocation // by lower-case code
	digits    int                       // of the tenant's currency
	skus      map[string]int            // lower-case SKU → first row
	rows      []importRow
	skuRows   []int // the row of each entry of rows
	probs     importProblems
}

// row checks one data record and keeps it when it has no problem.
func (c *importCheck) row(row int, rec []string, cols map[string]int, width int) {
	if len(rec) != width {
		c.probs.add(row, "", fmt.Sprintf("This row has %d values but the header has %d columns. Check for a missing or extra comma, and put values that contain commas in double quotes.", len(rec), width))
		return
	}
	get := func(name string) string {
		if i, ok := cols[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	before := c.probs.count
	var r importRow
	f := ItemFields{SKU: get("sku"), Name: get("name"), Description: get("description"), Category: get("category"),
		Unit: Unit(strings.ToLower(get("unit"))), Barcode: get("barcode"), Tracking: Tracking(strings.ToLower(get("tracking")))}
	// bad holds the columns whose value is not a number at all (reported once, not again by the rules).
	bad := map[string]bool{}
	qtyCol := func(col string) Qty {
		s := get(col)
		if s == "" {
			return 0
		}
		q, err := ParseQty(s)
		if err != nil {
			c.probs.add(row, col, strconv.Quote(s)+" is not a number: "+store.ErrorMessage(err))
			bad[col] = true
			return 0
		}
		return q
	}
	f.ReorderPoint = qtyCol("reorder_point")
	f.ReorderQty = qtyCol("reorder_quantity")
	r.qty = qtyCol("quantity")
	if s := get("unit_cost"); s != "" {
		cost, err := store.ParseMinorUnits(s, c.digits)
		switch {
		case err != nil:
			c.probs.add(row, "unit_cost", strconv.Quote(s)+" is not an amount: "+store.ErrorMessage(err))
		case cost < 0:
			c.probs.add(row, "unit_cost", "Enter a unit cost of zero or more.")
		default:
			r.unitCost = cost
		}
	}
	if f.Unit != "" && !f.Unit.Valid() {
		c.probs.add(row, "unit", "Unknown unit "+strconv.Quote(string(f.Unit))+". Use one of: "+unitCodes()+".")
		f.Unit = "ea" // checked already; lets the other fields be checked
	}
	if err := f.validate(); err != nil {
		var se *store.Error
		if errors.As(err, &se) {
			for _, col := range []string{"sku", "name", "description", "category", "unit", "barcode", "reorder_point", "reorder_qty", "tracking"} {
				if msg, ok := se.Fields[col]; ok {
					name := col
					if col == "reorder_qty" {
						name = "reorder_quantity"
					}
					if !bad[name] {
						c.probs.add(row, name, msg)
					}
				}
			}
		}
	}
	if code := get("location"); code != "" {
		loc, ok := c.locations[strings.ToLower(code)]
		if !ok {
			c.probs.add(row, "location", "Unknown location "+strconv.Quote(code)+". Use the code of an existing warehouse or bin.")
		} else {
			r.locationID, r.allowNeg = &loc.ID, loc.AllowNegative
		}
		if r.qty == 0 && !bad["quantity"] {
			c.probs.add(row, "quantity", "Enter the opening quantity at "+code+", or leave the location empty.")
		}
	}
	if r.qty != 0 {
		switch {
		case r.qty < 0:
			c.probs.add(row, "quantity", "Enter an opening quantity greater than 0.")
		case get("location") == "":
			c.probs.add(row, "location", "Enter the code of the location that holds the opening quantity.")
		case f.Tracking == TrackBatch || f.Tracking == TrackSerial:
			c.probs.add(row, "quantity", "Opening stock of items tracked by batch or serial number cannot be imported (the file has no batch column). Leave the quantity empty and receive the stock with its batches.")
		case f.Unit.Valid() && f.Unit.Whole() && !r.qty.IsWhole():
			c.probs.add(row, "quantity", "Enter a whole number: "+f.Unit.Label()+" counts whole things.")
		}
	}
	if key := strings.ToLower(f.SKU); key != "" {
		if first, ok := c.skus[key]; ok {
			c.probs.add(row, "sku", fmt.Sprintf("The SKU %s is also on row %d. Each SKU may appear once.", f.SKU, first))
		} else {
			c.skus[key] = row
		}
	}
	if c.probs.count == before {
		r.fields = f
		c.rows = append(c.rows, r)
		c.skuRows = append(c.skuRows, row)
	}
}

func unitCodes() string {
	var s []string
	for _, u := range UnitList() {
		s = append(s, string(u))
	}
	return strings.Join(s, ", ")
}

// importProgressEvery is how often the job writes its progress at most.
const importProgressEvery = 250 * time.Millisecond

// importProgress writes an import's progress in its own short transaction.
func importProgress(ctx context.Context, db *store.DB, args ImportArgs, state ImportState, done, total int64) error {
	return db.InTenant(ctx, store.Scope{TenantID: args.TenantID}, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			UPDATE inventory_imports SET state = $3, rows_done = $4, rows_total = $5,
				started_at = coalesce(started_at, now())
			WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'validating', 'importing')`,
			args.TenantID, args.ImportID, state, done, total); err != nil {
			return fmt.Errorf("error recording progress of import %s: %w", args.ImportID, err)
		}
		return nil
	})
}

// ImportRun does the work of an ImportArgs job: it checks every row of the file and then either commits
// all of them in one transaction (state done) or none, storing an error report (state rejected). It is
// idempotent: a finished import is left as it is, and a retry after a crash checks the file again.
func ImportRun(ctx context.Context, db *store.DB, args ImportArgs) error {
	scope := store.Scope{TenantID: args.TenantID, ActorID: args.ActorID}
	sys := store.Scope{TenantID: args.TenantID}
	var (
		imp      Import
		currency string
		locs     []importLocation
	)
	err := db.InTenant(ctx, sys, func(tx *store.Tx) error {
		if err := importGetTx(ctx, tx, args.ImportID, &imp); err != nil {
			return err
		}
		if !imp.State.Open() {
			return nil
		}
		if err := tx.GetContext(ctx, &currency, `SELECT currency FROM tenants WHERE id = $1`, args.TenantID); err != nil {
			return fmt.Errorf("error loading tenant currency: %w", err)
		}
		return tx.SelectContext(ctx, &locs, `SELECT id, code, allow_negative FROM inventory_locations
			WHERE tenant_id = $1 AND deleted_at IS NULL`, args.TenantID)
	})
	if err != nil || !imp.State.Open() {
		return err
	}

	// Pass 1: count the rows, so that the page can show how far the check is.
	total, err := importCount(ctx, db, sys, imp.FileID)
	if err != nil {
		return err
	}
	if err := importProgress(ctx, db, args, ImportValidating, 0, total); err != nil {
		return err
	}

	// Pass 2: check every row.
	check := &importCheck{locations: map[string]importLocation{}, digits: store.CurrencyDigits(currency), skus: map[string]int{}}
	for _, l := range locs {
		check.locations[strings.ToLower(l.Code)] = l
	}
	if err := importValidate(ctx, db, sys, args, imp.FileID, total, check); err != nil {
		return err
	}
	if check.probs.count == 0 {
		if err := importLiveSKUs(ctx, db, sys, check); err != nil {
			return err
		}
	}
	if check.probs.count > 0 {
		return importReject(ctx, db, scope, args, check.probs)
	}

	// Commit: every row in one transaction.
	if err := importProgress(ctx, db, args, ImportImporting, 0, total); err != nil {
		return err
	}
	err = importCommit(ctx, db, scope, args, &imp, currency, check.rows)
	var se *store.Error
	if errors.As(err, &se) && se.Code != store.Internal {
		// A rule the check could not see (a SKU taken a moment ago, the actor's role changed): reject with it.
		var probs importProblems
		probs.add(0, "", se.Message)
		return importReject(ctx, db, scope, args, probs)
	}
	return err
}

// importCount counts the data rows of the file (records after the header).
func importCount(ctx context.Context, db *store.DB, scope store.Scope, fileID store.ID) (int64, error) {
	fr, err := files.Open(ctx, db, scope, fileID)
	if err != nil {
		return 0, err
	}
	ir, err := newImportReader(fr)
	var fileErr importFileError
	if errors.As(err, &fileErr) {
		return 0, nil // reported by the check
	}
	if err != nil {
		return 0, fmt.Errorf("error counting rows of file %s: %w", fileID, err)
	}
	ir.csv.LazyQuotes = true
	var n int64
	for {
		_, err := ir.csv.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return 0, fmt.Errorf("error counting rows of file %s: %w", fileID, err)
		}
		n++
	}
	return max(n-1, 0), nil
}

// importValidate reads the file and checks every row into check, writing progress as it goes.
func importValidate(ctx context.Context, db *store.DB, scope store.Scope, args ImportArgs, fileID store.ID, total int64, check *importCheck) error {
	fr, err := files.Open(ctx, db, scope, fileID)
	if err != nil {
		return err
	}
	last := time.Now()
	done, err := importCheckAll(fr, check, func(done int64) error {
		if time.Since(last) < importProgressEvery {
			return nil
		}
		last = time.Now()
		return importProgress(ctx, db, args, ImportValidating, done, total)
	})
	if err != nil {
		return fmt.Errorf("error reading import file %s: %w", fileID, err)
	}
	return importProgress(ctx, db, args, ImportValidating, done, max(total, done))
}

// importCheckAll checks the header and every row of r into check, calling progress after each row, and
// returns the number of rows read. Problems of the file go to check; the error is the storage's.
func importCheckAll(r io.Reader, check *importCheck, progress func(done int64) error) (int64, error) {
	var fileErr importFileError
	ir, err := newImportReader(r)
	if errors.As(err, &fileErr) {
		check.probs.add(0, "", err.Error())
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	header, err := ir.next()
	if err == io.EOF {
		check.probs.add(0, "", "The file is empty. The first row must name the columns: "+strings.Join(ImportColumns, ",")+".")
		return 0, nil
	}
	if errors.As(err, &fileErr) {
		check.probs.add(1, "", err.Error())
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	header = append([]string(nil), header...)
	cols := importHeader(header, &check.probs)
	if check.probs.count > 0 {
		return 0, nil
	}
	var done int64
	for {
		rec, err := ir.next()
		if err == io.EOF {
			break
		}
		if errors.As(err, &fileErr) {
			check.probs.add(ir.row, "", err.Error())
			break
		}
		if err != nil {
			return done, err
		}
		check.row(ir.row, rec, cols, len(header))
		done++
		if err := progress(done); err != nil {
			return done, err
		}
	}
	if done == 0 && check.probs.count == 0 {
		check.probs.add(0, "", "The file has a header but no rows. Add a row for each item below the header.")
	}
	return done, nil
}

// importLiveSKUs reports the rows whose SKU a live item of the tenant has already.
func importLiveSKUs(ctx context.Context, db *store.DB, scope store.Scope, check *importCheck) error {
	keys := make([]string, 0, len(check.skus))
	for k := range check.skus {
		keys = append(keys, k)
	}
	var taken []string
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.SelectContext(ctx, &taken, `
			SELECT i.sku_key FROM inventory_items i
			WHERE i.tenant_id = $1 AND i.deleted_at IS NULL AND i.sku_key = ANY ($2::text[])`, scope.TenantID, keys)
	})
	if err != nil {
		return fmt.Errorf("error checking SKUs in use: %w", err)
	}
	if len(taken) == 0 {
		return nil
	}
	inUse := make(map[string]bool, len(taken))
	for _, k := range taken {
		inUse[k] = true
	}
	for i, r := range check.rows {
		if inUse[strings.ToLower(r.fields.SKU)] {
			check.probs.add(check.skuRows[i], "sku", "An item with the SKU "+r.fields.SKU+" exists already. Remove the row, or change the SKU.")
		}
	}
	return nil
}

// importReject stores the error report and marks the import rejected.
func importReject(ctx context.Context, db *store.DB, scope store.Scope, args ImportArgs, probs importProblems) error {
	return db.InTenant(ctx, store.Scope{TenantID: args.TenantID, ActorID: scope.ActorID}, func(tx *store.Tx) error {
		var state ImportState
		if err := tx.GetContext(ctx, &state, `SELECT state FROM inventory_imports WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
			args.TenantID, args.ImportID); err != nil {
			return fmt.Errorf("error locking import %s: %w", args.ImportID, err)
		}
		if !state.Open() {
			return nil
		}
		pr, pw := io.Pipe()
		go func() {
			w := csv.NewWriter(pw)
			_ = w.Write([]string{"row", "column", "message"})
			for _, p := range probs.list {
				row := ""
				if p.Row > 0 {
					row = strconv.Itoa(p.Row)
				}
				_ = w.Write([]string{row, csvCell(p.Column), csvCell(p.Message)})
			}
			if probs.count > len(probs.list) {
				_ = w.Write([]string{"", "", fmt.Sprintf("%d more problems are not listed. Fix these first, then upload the file again.", probs.count-len(probs.list))})
			}
			w.Flush()
			pw.CloseWithError(w.Error())
		}()
		var owner *store.ID
		if scope.ActorID != (store.ID{}) {
			owner = &scope.ActorID
		}
		expires := time.Now().Add(files.DefaultRetention)
		f, err := files.Create(ctx, tx, files.CreateParams{Name: "import-errors.csv", ContentType: "text/csv; charset=utf-8",
			OwnerID: owner, MaxSize: 64 << 20, ExpiresAt: &expires}, pr)
		_ = pr.Close()
		if err != nil {
			return err
		}
		msg := probs.list[0].Message
		if _, err := tx.ExecContext(ctx, `
			UPDATE inventory_imports SET state = 'rejected', error_count = $3, error_file_id = $4, message = $5,
				finished_at = now()
			WHERE tenant_id = $1 AND id = $2`, args.TenantID, args.ImportID, probs.count, f.ID, msg); err != nil {
			return fmt.Errorf("error rejecting import %s: %w", args.ImportID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.import_reject", EntityType: "inventory_import",
			EntityID: args.ImportID.String(), After: map[string]any{"errors": probs.count, "first": probs.list[0]}})
	})
}

// csvCell keeps a report cell from being read as a formula by a spreadsheet (CSV injection): the file's
// own values travel into messages and column names.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// importBatch is how many rows one statement of the commit writes.
const importBatch = 5000

// importCommit writes every row in one transaction: the items, their opening stock levels, one receipt
// movement with a line per stock row, the audit trail (an event per item, one for the movement and one for
// the import with its counts) and the import's outcome.
func importCommit(ctx context.Context, db *store.DB, scope store.Scope, args ImportArgs, imp *Import, currency string, rows []importRow) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.InventoryAdjust); err != nil {
			return err
		}
		var now time.Time
		if err := tx.GetContext(ctx, &now, `SELECT now()`); err != nil {
			return err
		}
		movementID := store.NewID()
		reference := "Import " + imp.FileName
		if r := []rune(reference); len(r) > 200 {
			reference = string(r[:200])
		}
		actor := actorOf(tx)
		var (
			stockLines int64
			itemEvents = make([]audit.RecordParams, 0, len(rows))
			last       = time.Now()
		)
		for start := 0; start < len(rows); start += importBatch {
			batch := rows[start:min(start+importBatch, len(rows))]
			n := len(batch)
			var (
				ids, skus, names, descs, cats, units, barcodes, rps, rqs, tracks = make([]string, n), make([]string, n),
					make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
					make([]string, n), make([]string, n), make([]string, n)
				onHands                        = make([]string, n)
				avgs, values                   = make([]int64, n), make([]int64, n)
				lvItems, lvLocs, lvQtys, mvIDs []string
				lvNeg                          []bool
				mvCosts                        []int64
			)
			for i, r := range batch {
				id := store.NewID()
				f := r.fields
				ids[i], skus[i], names[i], descs[i], cats[i], units[i], barcodes[i] = id.String(), f.SKU, f.Name,
					f.Description, f.Category, string(f.Unit), f.Barcode
				rps[i], rqs[i], tracks[i], onHands[i] = f.ReorderPoint.String(), f.ReorderQty.String(), string(f.Tracking), r.qty.String()
				item := Item{ID: id, SKU: f.SKU, Name: f.Name, Description: f.Description, Category: f.Category, Unit: f.Unit,
					Barcode: f.Barcode, ReorderPoint: f.ReorderPoint, ReorderQty: f.ReorderQty, Tracking: f.Tracking,
					Status: ItemActive, Currency: currency, CreatedAt: now, UpdatedAt: now, Version: 1}
				if r.qty > 0 {
					value, err := StockValueOf(r.qty, r.unitCost)
					if err != nil {
						return err
					}
					avgs[i], values[i] = r.unitCost, value
					item.OnHand, item.AvgCost, item.StockValue = r.qty, r.unitCost, value
					lvItems, lvLocs, lvQtys, lvNeg = append(lvItems, ids[i]), append(lvLocs, r.locationID.String()),
						append(lvQtys, r.qty.String()), append(lvNeg, r.allowNeg)
					mvIDs, mvCosts = append(mvIDs, store.NewID().String()), append(mvCosts, r.unitCost)
				}
				itemEvents = append(itemEvents, audit.RecordParams{Action: "inventory.item_create", EntityType: "inventory_item",
					EntityID: id.String(), After: item})
			}
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO inventory_items (id, sku, name, description, category, unit, barcode, reorder_point, reorder_qty,
					tracking, status, on_hand, currency, avg_cost, stock_value, created_at, updated_at, first_movement_at)
				SELECT r.id, r.sku, r.name, r.description, r.category, r.unit, r.barcode, r.rp, r.rq, r.tracking, 'active',
					r.on_hand, $1, r.avg, r.value, $2, $2, CASE WHEN r.on_hand > 0 THEN $2::timestamptz END
				FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
					$10::numeric[], $11::numeric[], $12::text[], $13::numeric[], $14::bigint[], $15::bigint[])
					AS r (id, sku, name, description, category, unit, barcode, rp, rq, tracking, on_hand, avg, value)`,
				currency, now, ids, skus, names, descs, cats, units, barcodes, rps, rqs, tracks, onHands, avgs, values); err != nil {
				if store.IsUniqueViolation(err, "inventory_items_sku_key") {
					return store.Errorf(store.Conflict, "An item with one of the file's SKUs was created while the file was being checked. Upload the file again to see which.")
				}
				if isNumericOverflow(err) {
					return store.Errorf(store.Invalid, "A quantity in the file is too large.")
				}
				return fmt.Errorf("error inserting imported items: %w", err)
			}
			if len(lvItems) > 0 {
				if _, err := tx.ExecContext(ctx, `
					INSERT INTO stock_levels (item_id, location_id, batch, on_hand, allow_negative)
					SELECT r.item, r.loc, '', r.qty, r.neg
					FROM unnest($1::uuid[], $2::uuid[], $3::numeric[], $4::boolean[]) AS r (item, loc, qty, neg)`,
					lvItems, lvLocs, lvQtys, lvNeg); err != nil {
					return fmt.Errorf("error inserting imported stock levels: %w", err)
				}
				if _, err := tx.ExecContext(ctx, `
					INSERT INTO stock_movements (id, movement_id, occurred_at, kind, item_id, location_id, batch, quantity,
						unit_cost, currency, reference, note, actor_id)
					SELECT r.id, $1, $2, 'receipt', r.item, r.loc, '', r.qty, r.cost, $3, $4, 'Opening stock', $5
					FROM unnest($6::uuid[], $7::uuid[], $8::uuid[], $9::numeric[], $10::bigint[]) AS r (id, item, loc, qty, cost)`,
					movementID, now, currency, reference, actor, mvIDs, lvItems, lvLocs, lvQtys, mvCosts); err != nil {
					return fmt.Errorf("error writing imported stock movements: %w", err)
				}
				stockLines += int64(len(lvItems))
			}
			if time.Since(last) >= importProgressEvery {
				if err := importProgress(ctx, db, args, ImportImporting, int64(start+n), int64(len(rows))); err != nil {
					return err
				}
				last = time.Now()
			}
		}
		if err := audit.RecordMany(ctx, tx, itemEvents); err != nil {
			return err
		}
		summary := map[string]any{"import_id": args.ImportID, "file_name": imp.FileName, "items_created": len(rows),
			"stock_lines": stockLines}
		if stockLines > 0 {
			after, _ := json.Marshal(map[string]any{"id": movementID, "kind": KindReceipt, "occurred_at": now,
				"reference": reference, "note": "Opening stock", "lines": stockLines})
			if err := audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.receipt", EntityType: "stock_movement",
				EntityID: movementID.String(), After: json.RawMessage(after)}); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "inventory.import", EntityType: "inventory_import",
			EntityID: args.ImportID.String(), After: summary}); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE inventory_imports SET state = 'done', rows_done = $3, rows_total = $3, items_created = $3,
				stock_lines = $4, finished_at = now()
			WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'validating', 'importing')`,
			args.TenantID, args.ImportID, len(rows), stockLines)
		if err != nil {
			return fmt.Errorf("error finishing import %s: %w", args.ImportID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("error finishing import %s: it is no longer open", args.ImportID)
		}
		return nil
	})
}

// ImportFail records that an import could not be completed (its job ran out of attempts), so the page
// stops waiting for it. A finished import is left as it is.
func ImportFail(ctx context.Context, db *store.DB, args ImportArgs, reason string) error {
	return db.InTenant(ctx, store.Scope{TenantID: args.TenantID}, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			UPDATE inventory_imports SET state = 'failed', message = $3, finished_at = now()
			WHERE tenant_id = $1 AND id = $2 AND state IN ('queued', 'validating', 'importing')`,
			args.TenantID, args.ImportID, reason); err != nil {
			return fmt.Errorf("error failing import %s: %w", args.ImportID, err)
		}
		return nil
	})
}
