package approvals

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/files"
	"ledgerline/store/identity"
)

// Line is one line of a purchase request: an inventory item or free text.
type Line struct {
	LineNo      int        `db:"line_no" json:"line_no"`
	ItemID      *store.ID  `db:"item_id" json:"item_id,omitempty"`
	Description string     `db:"description" json:"description"`
	Quantity    Quantity   `db:"quantity" json:"quantity"`
	UnitCost    int64      `db:"unit_cost" json:"unit_cost"`
	Supplier    string     `db:"supplier" json:"supplier,omitempty"`
	NeededBy    *time.Time `db:"needed_by" json:"needed_by,omitempty"`
}

// Amount is the line's estimated total in minor units.
func (l Line) Amount() int64 { return lineAmount(l.Quantity, l.UnitCost) }

// Request is an approval request. Amount is the purchase lines' total, an expense claim's amount or a
// general request's (optional) amount. Round counts submissions; CurrentStep is the active step's position.
type Request struct {
	ID            store.ID    `db:"id" json:"id"`
	Number        int64       `db:"number" json:"number"`
	Type          RequestType `db:"request_type" json:"type"`
	Status        Status      `db:"status" json:"status"`
	RequesterID   store.ID    `db:"requester_id" json:"requester_id"`
	RequesterName string      `db:"requester_name" json:"requester_name"`
	DepartmentID  *store.ID   `db:"department_id" json:"department_id,omitempty"`
	Title         string      `db:"title" json:"title"`
	Description   string      `db:"description" json:"description,omitempty"`
	Amount        int64       `db:"amount" json:"amount"`
	Currency      string      `db:"currency" json:"currency"`
	Category      string      `db:"category" json:"category,omitempty"`
	ExpenseDate   *time.Time  `db:"expense_date" json:"expense_date,omitempty"`
	Round         int         `db:"round" json:"round"`
	CurrentStep   *int        `db:"current_step" json:"current_step,omitempty"`
	SubmittedAt   *time.Time  `db:"submitted_at" json:"submitted_at,omitempty"`
	DecidedAt     *time.Time  `db:"decided_at" json:"decided_at,omitempty"`
	ReimbursedAt  *time.Time  `db:"reimbursed_at" json:"reimbursed_at,omitempty"`
	CreatedAt     time.Time   `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time   `db:"updated_at" json:"updated_at"`
	Version       int         `db:"version" json:"version"`
}

// Ref is the request's number as people read it.
func (r Request) Ref() string { return Number(r.Number) }

const requestColumns = `r.id, r.number, r.request_type, r.status, r.requester_id, u.name AS requester_name, r.department_id,
	r.title, r.description, r.amount, r.currency, r.category, r.expense_date, r.round, r.current_step, r.submitted_at,
	r.decided_at, r.reimbursed_at, r.created_at, r.updated_at, r.version`

const requestFrom = ` FROM approval_requests r JOIN users u ON u.id = r.requester_id`

// scanFields returns r's fields in the order of requestColumns, for the hot lists (the inbox, all requests)
// to scan rows without sqlx's reflection; TestRequestScanFields holds it to the columns.
func (r *Request) scanFields() []any {
	return []any{&r.ID, &r.Number, &r.Type, &r.Status, &r.RequesterID, &r.RequesterName, &r.DepartmentID,
		&r.Title, &r.Description, &r.Amount, &r.Currency, &r.Category, &r.ExpenseDate, &r.Round, &r.CurrentStep,
		&r.SubmittedAt, &r.DecidedAt, &r.ReimbursedAt, &r.CreatedAt, &r.UpdatedAt, &r.Version}
}

// RequestFields are what the requester fills in. Lines are for purchase requests (the amount is their
// total); Amount, Category and ExpenseDate for expense claims; Amount (optional) for general requests.
type RequestFields struct {
	Type        RequestType
	Title       string
	Description string
	Amount      int64
	Currency    string
	Category    string
	ExpenseDate *time.Time
	Lines       []Line
}

// RequestLinesMax bounds a purchase request's lines.
const RequestLinesMax = 50

// ExpenseCategories are the expense claim categories.
var ExpenseCategories = []string{"Travel", "Meals", "Lodging", "Office supplies", "Software", "Training", "Other"}

// Check validates the fields as RequestCreate would, without touching the database, so that a form can
// list every problem at once. currency is the organization's; today the date in its time zone.
func (p RequestFields) Check(currency string, today time.Time) store.FieldErrors {
	p.Lines = append([]Line(nil), p.Lines...)
	return p.validate(currency, today)
}

func (p *RequestFields) validate(currency string, today time.Time) store.FieldErrors {
	var f store.FieldErrors
	if !p.Type.Valid() {
		f.Add("type", "Choose a request type.")
	}
	p.Title = textField(&f, "title", p.Title, 1, 200, "Enter a title (up to 200 characters).")
	p.Description = textField(&f, "description", p.Description, 0, 4000, "Keep the description under 4,000 characters.")
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if p.Currency == "" {
		p.Currency = currency
	}
	if p.Currency != currency {
		f.Add("currency", "Enter the amount in "+currency+", the organization's currency.")
	}
	switch p.Type {
	case TypePurchase:
		p.Amount, p.Category, p.ExpenseDate = 0, "", nil
		if len(p.Lines) == 0 {
			f.Add("lines", "Add at least one line: what to buy, how many and the estimated unit cost.")
		}
		if len(p.Lines) > RequestLinesMax {
			f.Add("lines", fmt.Sprintf("Use at most %d lines; split the purchase into several requests.", RequestLinesMax))
		}
		for i := range p.Lines {
			l := &p.Lines[i]
			l.LineNo = i + 1
			key := fmt.Sprintf("line%d_", i)
			l.Description = textField(&f, key+"description", l.Description, 1, 500, "Describe what to buy (up to 500 characters).")
			if l.Quantity <= 0 || l.Quantity > QuantityMax {
				f.Add(key+"quantity", "Enter a quantity above zero.")
			}
			if l.UnitCost < 0 || l.UnitCost > 1_000_000_000_000 {
				f.Add(key+"unit_cost", "Enter an estimated unit cost of zero or more.")
			}
			l.Supplier = textField(&f, key+"supplier", l.Supplier, 0, 200, "Keep the supplier under 200 characters.")
			p.Amount += l.Amount()
		}
	case TypeExpense:
		p.Lines = nil
		if p.Amount <= 0 || p.Amount > 1_000_000_000_000 {
			f.Add("amount", "Enter the amount spent, above zero.")
		}
		found := false
		for _, c := range ExpenseCategories {
			if strings.EqualFold(c, strings.TrimSpace(p.Category)) {
				p.Category, found = c, true
			}
		}
		if !found {
			f.Add("category", "Choose a category.")
		}
		if p.ExpenseDate == nil {
			f.Add("expense_date", "Enter the date of the expense.")
		} else if p.ExpenseDate.After(today) {
			f.Add("expense_date", "The expense date cannot be in the future.")
		}
	case TypeGeneral:
		p.Lines, p.Category, p.ExpenseDate = nil, "", nil
		if p.Amount < 0 || p.Amount > 1_000_000_000_000 {
			f.Add("amount", "Enter an amount of zero or more, or leave it empty.")
		}
	}
	return f
}

func requestGetTx(ctx context.Context, tx *store.Tx, id store.ID, forUpdate bool) (*Request, error) {
	q := `SELECT ` + requestColumns + requestFrom + ` WHERE r.tenant_id = $1 AND r.id = $2`
	if forUpdate {
		q += ` FOR UPDATE OF r`
	}
	var r Request
	err := tx.GetContext(ctx, &r, q, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errRequestNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading request %s: %w", id, err)
	}
	return &r, nil
}

func linesTx(ctx context.Context, tx *store.Tx, id store.ID) ([]Line, error) {
	var lines []Line
	if err := tx.SelectContext(ctx, &lines, `
		SELECT line_no, item_id, description, quantity, unit_cost, supplier, needed_by
		FROM approval_request_lines WHERE tenant_id = $1 AND request_id = $2 ORDER BY line_no`, tx.Scope.TenantID, id); err != nil {
		return nil, fmt.Errorf("error loading lines of request %s: %w", id, err)
	}
	return lines, nil
}

func linesWrite(ctx context.Context, tx *store.Tx, id store.ID, lines []Line) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM approval_request_lines WHERE tenant_id = $1 AND request_id = $2`,
		tx.Scope.TenantID, id); err != nil {
		return fmt.Errorf("error replacing lines of request %s: %w", id, err)
	}
	for i, l := range lines {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO approval_request_lines (request_id, line_no, item_id, description, quantity, unit_cost, supplier, needed_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, l.LineNo, l.ItemID, l.Description, l.Quantity, l.UnitCost, l.Supplier, l.NeededBy)
		if store.ErrorCode(err) == store.Internal && isForeignKeyViolation(err) {
			return (store.FieldErrors{fmt.Sprintf("line%d_item_id", i): "Choose an item from the list, or leave it empty and describe the goods."}).Err()
		}
		if err != nil {
			return fmt.Errorf("error writing line %d of request %s: %w", l.LineNo, id, err)
		}
	}
	return nil
}

// requesterOnly requires that the actor is the request's requester.
func requesterOnly(tx *store.Tx, r *Request) error {
	if tx.Scope.ActorID != r.RequesterID {
		return errRequestNotFound
	}
	return nil
}

// RequestCreate saves a draft request for the actor, who needs ApprovalsSubmit. The request is numbered
// when it is created; it goes on its route only when submitted.
func RequestCreate(ctx context.Context, db *store.DB, scope store.Scope, p RequestFields) (*Request, error) {
	if scope.ActorID == (store.ID{}) {
		return nil, store.Errorf(store.Forbidden, "Requests are made by people: sign in, or use a personal access token.")
	}
	var out *Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		s, loc, err := settingsLocationTx(ctx, tx)
		if err != nil {
			return err
		}
		if err := p.validate(s.Currency, time.Now().In(loc)).Err(); err != nil {
			return err
		}
		var number int64
		if err := tx.GetContext(ctx, &number, `
			UPDATE approval_settings SET next_number = next_number + 1 WHERE tenant_id = $1 RETURNING next_number - 1`,
			tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error numbering request: %w", err)
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO approval_requests (id, number, request_type, requester_id, department_id, title, description, amount,
				currency, category, expense_date)
			SELECT $1, $2, $3, m.user_id, m.department_id, $5, $6, $7, $8, $9, $10
			FROM memberships m WHERE m.tenant_id = $11 AND m.user_id = $4`,
			id, number, p.Type, tx.Scope.ActorID, p.Title, p.Description, p.Amount, p.Currency, p.Category, p.ExpenseDate,
			tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error creating request: %w", err)
		}
		if err := linesWrite(ctx, tx, id, p.Lines); err != nil {
			return err
		}
		if out, err = requestGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.request_create", EntityType: "approval_request",
			EntityID: id.String(), After: struct {
				*Request
				Lines []Line `json:"lines,omitempty"`
			}{out, p.Lines}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RequestUpdateParams changes a draft (or sent back) request. Version is the version the editor saw.
type RequestUpdateParams struct {
	ID      store.ID
	Version int
	RequestFields
}

// RequestUpdate changes the requester's own draft or sent-back request; its type stays. Submitted
// requests are frozen. A stale Version is a Conflict.
func RequestUpdate(ctx context.Context, db *store.DB, scope store.Scope, p RequestUpdateParams) (*Request, error) {
	var out *Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		before, err := requestGetTx(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if err := requesterOnly(tx, before); err != nil {
			return err
		}
		if before.Version != p.Version {
			return errRequestChanged
		}
		if !before.Status.Editable() {
			return store.Errorf(store.Invalid, "%s is %s: a submitted request cannot be changed.", before.Ref(), strings.ToLower(before.Status.Label()))
		}
		p.Type = before.Type
		s, loc, err := settingsLocationTx(ctx, tx)
		if err != nil {
			return err
		}
		if err := p.validate(s.Currency, time.Now().In(loc)).Err(); err != nil {
			return err
		}
		beforeLines, err := linesTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE approval_requests SET title = $3, description = $4, amount = $5, currency = $6, category = $7,
				expense_date = $8, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, p.ID, p.Title, p.Description, p.Amount, p.Currency,
			p.Category, p.ExpenseDate); err != nil {
			return fmt.Errorf("error updating request %s: %w", p.ID, err)
		}
		if err := linesWrite(ctx, tx, p.ID, p.Lines); err != nil {
			return err
		}
		if out, err = requestGetTx(ctx, tx, p.ID, false); err != nil {
			return err
		}
		type state struct {
			*Request
			Lines []Line `json:"lines,omitempty"`
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.request_update", EntityType: "approval_request",
			EntityID: p.ID.String(), Before: state{before, beforeLines}, After: state{out, p.Lines}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Receipt is a file attached to an expense claim.
type Receipt struct {
	FileID      store.ID  `db:"file_id" json:"file_id"`
	Name        string    `db:"name" json:"name"`
	ContentType string    `db:"content_type" json:"content_type"`
	Size        int64     `db:"size" json:"size"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
}

// ReceiptMaxSize is the largest receipt accepted: 10 MB.
const ReceiptMaxSize = 10 << 20

// ReceiptsMax bounds the receipts of one claim.
const ReceiptsMax = 10

// receiptType recognizes a PDF or an image by its first bytes, whatever the browser claimed.
func receiptType(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "image/gif"
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// ReceiptAdd stores a receipt (a PDF or an image up to ReceiptMaxSize) on the requester's own draft or
// sent-back expense claim. Anything else is Invalid and nothing is stored.
func ReceiptAdd(ctx context.Context, db *store.DB, scope store.Scope, requestID store.ID, name string, r io.Reader) (*Receipt, error) {
	br := bufio.NewReaderSize(r, 512)
	head, _ := br.Peek(12)
	ctype := receiptType(head)
	if ctype == "" {
		msg := "Upload the receipt as a PDF or an image (PNG, JPEG, GIF or WebP)."
		return nil, &store.Error{Code: store.Invalid, Message: msg, Fields: map[string]string{"file": msg}}
	}
	var out Receipt
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		req, err := requestGetTx(ctx, tx, requestID, true)
		if err != nil {
			return err
		}
		if err := requesterOnly(tx, req); err != nil {
			return err
		}
		if req.Type != TypeExpense {
			return store.Errorf(store.Invalid, "Receipts belong to expense claims.")
		}
		if !req.Status.Editable() {
			return store.Errorf(store.Invalid, "%s is submitted: receipts cannot be added any more.", req.Ref())
		}
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM approval_request_files WHERE tenant_id = $1 AND request_id = $2`,
			tx.Scope.TenantID, requestID); err != nil {
			return fmt.Errorf("error counting receipts: %w", err)
		}
		if n >= ReceiptsMax {
			return store.Errorf(store.Invalid, "A claim holds at most %d receipts. Remove one first.", ReceiptsMax)
		}
		owner := tx.Scope.ActorID
		f, err := files.Create(ctx, tx, files.CreateParams{Name: name, ContentType: ctype, OwnerID: &owner, MaxSize: ReceiptMaxSize}, br)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO approval_request_files (request_id, file_id) VALUES ($1, $2)`,
			requestID, f.ID); err != nil {
			return fmt.Errorf("error attaching receipt: %w", err)
		}
		out = Receipt{FileID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, CreatedAt: f.CreatedAt}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.receipt_add", EntityType: "approval_request",
			EntityID: requestID.String(), After: out})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReceiptRemove removes a receipt from the requester's own draft or sent-back claim.
func ReceiptRemove(ctx context.Context, db *store.DB, scope store.Scope, requestID, fileID store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		req, err := requestGetTx(ctx, tx, requestID, true)
		if err != nil {
			return err
		}
		if err := requesterOnly(tx, req); err != nil {
			return err
		}
		if !req.Status.Editable() {
			return store.Errorf(store.Invalid, "%s is submitted: its receipts cannot be removed.", req.Ref())
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM approval_request_files WHERE tenant_id = $1 AND request_id = $2 AND file_id = $3`,
			tx.Scope.TenantID, requestID, fileID)
		if err != nil {
			return fmt.Errorf("error removing receipt: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.Errorf(store.NotFound, "No such receipt.")
		}
		if err := files.Delete(ctx, tx, fileID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.receipt_remove", EntityType: "approval_request",
			EntityID: requestID.String(), Before: map[string]string{"file_id": fileID.String()}})
	})
}

// ReceiptOpen returns a reader of a receipt of a request the actor may see, and its metadata.
func ReceiptOpen(ctx context.Context, db *store.DB, scope store.Scope, requestID, fileID store.ID) (*Receipt, io.Reader, error) {
	var rc Receipt
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		req, err := requestGetTx(ctx, tx, requestID, false)
		if err != nil {
			return err
		}
		if err := canSee(ctx, tx, req); err != nil {
			return err
		}
		return store.Get(ctx, tx, &rc, "No such receipt.", `
			SELECT f.id AS file_id, f.name, f.content_type, f.size, f.created_at
			FROM approval_request_files a JOIN files f ON f.tenant_id = a.tenant_id AND f.id = a.file_id
			WHERE a.tenant_id = $1 AND a.request_id = $2 AND a.file_id = $3`, tx.Scope.TenantID, requestID, fileID)
	})
	if err != nil {
		return nil, nil, err
	}
	rd, err := files.Open(ctx, db, scope, fileID)
	if err != nil {
		return nil, nil, err
	}
	return &rc, rd, nil
}

// canSee lets the requester, anyone with ApprovalsRead, and anyone who is or was an approver of the
// request (or decided on it, or acts for an approver today) see it. Others get NotFound.
func canSee(ctx context.Context, tx *store.Tx, r *Request) error {
	if tx.Scope.ActorID == r.RequesterID {
		return identity.Permit(ctx, tx, identity.ApprovalsSubmit)
	}
	if err := permit(ctx, tx, identity.ApprovalsRead); err == nil {
		return nil
	} else if store.ErrorCode(err) != store.Forbidden {
		return err
	}
	if tx.Scope.ActorID == (store.ID{}) {
		return errRequestNotFound
	}
	principals, err := principalsOf(ctx, tx, tx.Scope.ActorID)
	if err != nil {
		return err
	}
	var n int
	if err := tx.GetContext(ctx, &n, `
		SELECT count(*) FROM (
			SELECT 1 FROM approval_step_approvers WHERE tenant_id = $1 AND request_id = $2 AND user_id = ANY($3)
			UNION ALL
			SELECT 1 FROM approval_decisions WHERE tenant_id = $1 AND request_id = $2 AND decided_by = $4) x`,
		tx.Scope.TenantID, r.ID, idStrings(principals), tx.Scope.ActorID); err != nil {
		return fmt.Errorf("error checking access to request %s: %w", r.ID, err)
	}
	if n == 0 {
		return errRequestNotFound
	}
	return nil
}

// RequestWithdraw withdraws the requester's own draft, pending or sent-back request: its route stops and
// nothing follows from it. A stale version is a Conflict.
func RequestWithdraw(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Request, error) {
	var out *Request
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.ApprovalsSubmit); err != nil {
			return err
		}
		before, err := requestGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := requesterOnly(tx, before); err != nil {
			return err
		}
		if before.Version != version {
			return errRequestChanged
		}
		switch before.Status {
		case StatusDraft, StatusPending, StatusReturned:
		default:
			return store.Errorf(store.Invalid, "%s is %s already and cannot be withdrawn.", before.Ref(), strings.ToLower(before.Status.Label()))
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE approval_steps SET status = 'cancelled' WHERE tenant_id = $1 AND request_id = $2 AND status IN ('waiting', 'active')`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error cancelling route of %s: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE approval_requests SET status = 'withdrawn', current_step = NULL, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error withdrawing %s: %w", id, err)
		}
		if out, err = requestGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "approvals.request_withdraw", EntityType: "approval_request",
			EntityID: id.String(), Before: before, After: out})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RequestListParams filters and pages a request list. Mine lists the actor's own requests; otherwise all
// requests (the actor needs ApprovalsRead). After is the previous page's cursor; Limit defaults to 50.
type RequestListParams struct {
	Mine   bool
	Status Status
	Type   RequestType
	After  string
	Limit  int
}

// RequestListResult is one page, and the cursor of the next (empty at the end).
type RequestListResult struct {
	Requests []Request
	Next     string
}

var errBadCursor = store.Errorf(store.Invalid, "That page link is not valid any more. Start from the first page.")

func cursorEncode(t time.Time, id store.ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id.String()))
}

func cursorDecode(s string) (time.Time, store.ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, store.ID{}, errBadCursor
	}
	ts, idText, ok := strings.Cut(string(b), "|")
	if !ok {
		return time.Time{}, store.ID{}, errBadCursor
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, store.ID{}, errBadCursor
	}
	id, err := store.ParseID(idText)
	if err != nil {
		return time.Time{}, store.ID{}, errBadCursor
	}
	return t, id, nil
}

// check refuses a status or type that is not in the lists, as the list page's filter offers them.
func (p RequestListParams) check() error {
	if p.Status != "" && p.Status.Label() == string(p.Status) {
		return store.Errorf(store.Invalid, "Choose a status from the list.")
	}
	if p.Type != "" && !p.Type.Valid() {
		return store.Errorf(store.Invalid, "Choose a request type from the list.")
	}
	return nil
}

// Check validates the filter as RequestList would, without touching the database, so that an export of
// the list refuses what the list refuses.
func (p RequestListParams) Check() error { return p.check() }

// RequestList returns a page of requests, newest first.
func RequestList(ctx context.Context, db *store.DB, scope store.Scope, p RequestListParams) (*RequestListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	var res *RequestListResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := requestListPermit(ctx, tx, p); err != nil {
			return err
		}
		var err error
		res, err = requestPageTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// requestListPermit checks the right a list needs: ApprovalsSubmit for one's own requests, ApprovalsRead
// for everyone's.
func requestListPermit(ctx context.Context, tx *store.Tx, p RequestListParams) error {
	if p.Mine {
		return permit(ctx, tx, identity.ApprovalsSubmit)
	}
	return permit(ctx, tx, identity.ApprovalsRead)
}

// requestListQuery is the list's query for p: its rows from the cursor on, newest first (the caller adds
// the LIMIT), or with count their number over the whole filter.
func requestListQuery(tx *store.Tx, p RequestListParams, count bool) (string, []any, error) {
	if err := p.check(); err != nil {
		return "", nil, err
	}
	args := []any{tx.Scope.TenantID}
	q := `SELECT ` + requestColumns + requestFrom + ` WHERE r.tenant_id = $1`
	if count {
		q = `SELECT count(*) FROM approval_requests r WHERE r.tenant_id = $1`
	}
	if p.Mine {
		args = append(args, tx.Scope.ActorID)
		q += ` AND r.requester_id = $` + strconv.Itoa(len(args))
	}
	if p.Status != "" {
		args = append(args, p.Status)
		q += ` AND r.status = $` + strconv.Itoa(len(args))
	}
	if p.Type != "" {
		args = append(args, p.Type)
		q += ` AND r.request_type = $` + strconv.Itoa(len(args))
	}
	if count {
		return q, args, nil
	}
	if p.After != "" {
		t, id, err := cursorDecode(p.After)
		if err != nil {
			return "", nil, err
		}
		args = append(args, t, id)
		q += ` AND (r.created_at, r.id) < ($` + strconv.Itoa(len(args)-1) + `, $` + strconv.Itoa(len(args)) + `)`
	}
	q += ` ORDER BY r.created_at DESC, r.id DESC`
	return q, args, nil
}

// requestPageTx reads one page of p.Limit rows of the list with p's filter; the caller has checked the
// actor's right.
func requestPageTx(ctx context.Context, tx *store.Tx, p RequestListParams) (*RequestListResult, error) {
	q, args, err := requestListQuery(tx, p, false)
	if err != nil {
		return nil, err
	}
	args = append(args, p.Limit+1)
	q += ` LIMIT $` + strconv.Itoa(len(args))
	var res RequestListResult
	if err := store.ScanRows(ctx, tx, &res.Requests, (*Request).scanFields, q, args...); err != nil {
		return nil, fmt.Errorf("error listing requests: %w", err)
	}
	if len(res.Requests) > p.Limit {
		res.Requests = res.Requests[:p.Limit]
		last := res.Requests[p.Limit-1]
		res.Next = cursorEncode(last.CreatedAt, last.ID)
	}
	return &res, nil
}

func isForeignKeyViolation(err error) bool {
	return strings.Contains(err.Error(), "SQLSTATE 23503")
}

func formatMoney(v int64, currency string) string {
	return store.FormatMinorUnits(v, store.CurrencyDigits(currency)) + " " + currency
}
