package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
)

// Status is where an invoice is in its life: draft → issued → partially paid → paid, or void.
type Status string

// The invoice statuses. Overdue is not a status: it is derived from the due date and the balance.
const (
	StatusDraft         Status = "draft"
	StatusIssued        Status = "issued"
	StatusPartiallyPaid Status = "partially_paid"
	StatusPaid          Status = "paid"
	StatusVoid          Status = "void"
)

// Statuses lists every status in life order.
var Statuses = []Status{StatusDraft, StatusIssued, StatusPartiallyPaid, StatusPaid, StatusVoid}

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// Label is the status as people read it.
func (s Status) Label() string {
	switch s {
	case StatusPartiallyPaid:
		return "Partially paid"
	case "":
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// Open reports whether an invoice in status s may still receive payments and credit notes.
func (s Status) Open() bool { return s == StatusIssued || s == StatusPartiallyPaid }

// statusFor derives the status of an issued invoice from its amounts: the rule the database checks too
// (billing_invoices_status_rule).
func statusFor(paid, credited, balance int64) Status {
	switch {
	case balance == 0:
		return StatusPaid
	case paid == 0 && credited == 0:
		return StatusIssued
	}
	return StatusPartiallyPaid
}

// Invoice is an invoice's header and amounts. Number is nil while it is a draft.
type Invoice struct {
	ID               store.ID   `db:"id" json:"id"`
	CustomerID       store.ID   `db:"customer_id" json:"customer_id"`
	CustomerName     string     `db:"customer_name" json:"customer_name"`
	Status           Status     `db:"status" json:"status"`
	Number           *string    `db:"number" json:"number"`
	Currency         string     `db:"currency" json:"currency"`
	PricesIncludeTax bool       `db:"prices_include_tax" json:"prices_include_tax"`
	IssueDate        *time.Time `db:"issue_date" json:"issue_date"`
	DueDate          *time.Time `db:"due_date" json:"due_date"`
	TermsDays        int        `db:"terms_days" json:"terms_days"`
	Notes            string     `db:"notes" json:"notes"`
	Subtotal         int64      `db:"subtotal" json:"subtotal"`
	TaxTotal         int64      `db:"tax_total" json:"tax_total"`
	Total            int64      `db:"total" json:"total"`
	Paid             int64      `db:"paid" json:"paid"`
	Credited         int64      `db:"credited" json:"credited"`
	Balance          int64      `db:"balance" json:"balance"`
	Overdue          bool       `db:"overdue" json:"overdue"`
	VoidReason       string     `db:"void_reason" json:"void_reason"`
	IssuedAt         *time.Time `db:"issued_at" json:"issued_at"`
	VoidedAt         *time.Time `db:"voided_at" json:"voided_at"`
	PaidAt           *time.Time `db:"paid_at" json:"paid_at"`
	PDFFileID        *store.ID  `db:"pdf_file_id" json:"pdf_file_id"`
	PDFError         string     `db:"pdf_error" json:"-"`
	CreatedAt        time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time  `db:"updated_at" json:"updated_at"`
	Version          int        `db:"version" json:"version"`
}

// Title is the invoice's number, or "Draft invoice" before it has one.
func (i Invoice) Title() string {
	if i.Number != nil {
		return *i.Number
	}
	return "Draft invoice"
}

// Line is one line of an invoice with its rounded amounts.
type Line struct {
	ID          store.ID  `db:"id" json:"id"`
	Position    int       `db:"position" json:"position"`
	Description string    `db:"description" json:"description"`
	Quantity    Qty       `db:"quantity" json:"quantity"`
	UnitPrice   int64     `db:"unit_price" json:"unit_price"`
	TaxRateID   store.ID  `db:"tax_rate_id" json:"tax_rate_id"`
	TaxName     string    `db:"tax_name" json:"tax_name"`
	TaxRateBP   int       `db:"tax_rate_bp" json:"tax_rate_bp"`
	ItemID      *store.ID `db:"item_id" json:"item_id"`
	Net         int64     `db:"net" json:"net"`
	Tax         int64     `db:"tax" json:"tax"`
	Gross       int64     `db:"gross" json:"gross"`
}

// todaySQL is today's date in the tenant's time zone (documents are dated where the tenant is), in a
// query whose $1 is the tenant: not correlated with any row, it is computed once per query and the overdue
// filter's bound is an index condition.
const todaySQL = `(SELECT (now() AT TIME ZONE t.time_zone)::date FROM tenants t WHERE t.id = $1)`

const invoiceColumns = `i.id, i.customer_id, c.name AS customer_name, i.status, i.number, i.currency, i.prices_include_tax,
	i.issue_date, i.due_date, i.terms_days, i.notes, i.subtotal, i.tax_total, i.total, i.paid, i.credited, i.balance,
	(i.status IN ('issued', 'partially_paid') AND i.due_date < ` + todaySQL + `) AS overdue,
	i.void_reason, i.issued_at, i.voided_at, i.paid_at, i.pdf_file_id, i.pdf_error, i.created_at, i.updated_at, i.version`

// selectInvoices runs q, which selects invoiceColumns, and scans its rows into their fields in that order.
// The invoice list reads 51 rows of 27 columns on every page; sqlx's reflection (it maps the columns to
// fields again for every row) was 5 % of the app's CPU there. TestInvoiceColumnsScan checks the order.
// extra are destinations for columns after invoiceColumns (the same for every row).
func selectInvoices(ctx context.Context, tx *store.Tx, capacity int, q string, args []any, extra ...any) ([]Invoice, error) {
	out := make([]Invoice, 0, capacity)
	err := store.ScanRows(ctx, tx, &out, func(i *Invoice) []any {
		return append([]any{&i.ID, &i.CustomerID, &i.CustomerName, &i.Status, &i.Number, &i.Currency, &i.PricesIncludeTax,
			&i.IssueDate, &i.DueDate, &i.TermsDays, &i.Notes, &i.Subtotal, &i.TaxTotal, &i.Total, &i.Paid, &i.Credited,
			&i.Balance, &i.Overdue, &i.VoidReason, &i.IssuedAt, &i.VoidedAt, &i.PaidAt, &i.PDFFileID, &i.PDFError,
			&i.CreatedAt, &i.UpdatedAt, &i.Version}, extra...)
	}, q, args...)
	return out, err
}

const invoiceFrom = ` FROM billing_invoices i JOIN billing_customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id`

var (
	errInvoiceNotFound = store.Errorf(store.NotFound, "No such invoice.")
	errInvoiceChanged  = store.Errorf(store.Conflict,
		"This invoice was changed by someone else while you were working on it. Reload the page, then try again.")
	errNotDraft = store.Errorf(store.Invalid, "This invoice is issued: its content is final. Correct it with a credit note.")
)

func invoiceGetTx(ctx context.Context, tx *store.Tx, id store.ID, forUpdate bool) (*Invoice, error) {
	q := `SELECT ` + invoiceColumns + invoiceFrom + ` WHERE i.tenant_id = $1 AND i.id = $2`
	if forUpdate {
		q += ` FOR NO KEY UPDATE OF i`
	}
	var inv Invoice
	err := tx.GetContext(ctx, &inv, q, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvoiceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading invoice %s: %w", id, err)
	}
	return &inv, nil
}

func linesTx(ctx context.Context, tx *store.Tx, id store.ID) ([]Line, error) {
	var lines []Line
	if err := tx.SelectContext(ctx, &lines, `SELECT id, position, description, quantity, unit_price, tax_rate_id, tax_name,
		tax_rate_bp, item_id, net, tax, gross FROM billing_invoice_lines WHERE tenant_id = $1 AND invoice_id = $2
		ORDER BY position, id`, tx.Scope.TenantID, id); err != nil {
		return nil, fmt.Errorf("error loading lines of invoice %s: %w", id, err)
	}
	return lines, nil
}

// InvoiceCreateParams start a draft for a customer. TermsDays nil takes the customer's terms.
type InvoiceCreateParams struct {
	CustomerID store.ID
	TermsDays  *int
	Notes      string
}

// InvoiceCreate starts a draft invoice in the customer's currency, with the tenant's current choice of
// prices exclusive or inclusive of tax (kept on the invoice). A draft has no number. The actor needs BillingWrite.
func InvoiceCreate(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceCreateParams) (*Invoice, error) {
	var f store.FieldErrors
	p.Notes = textField(&f, "notes", p.Notes, 0, 4000, "Keep the notes under 4,000 characters.")
	if p.TermsDays != nil && (*p.TermsDays < 0 || *p.TermsDays > 365) {
		f.Add("terms_days", "Enter payment terms between 0 and 365 days.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var inv *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		cust, err := customerGetTx(ctx, tx, p.CustomerID, false)
		if errors.Is(err, errCustomerNotFound) {
			return (store.FieldErrors{"customer_id": "Choose a customer from the list."}).Err()
		}
		if err != nil {
			return err
		}
		if cust.DeletedAt != nil {
			return (store.FieldErrors{"customer_id": "This customer is deleted. Restore it or choose another."}).Err()
		}
		settings, err := settingsGetTx(ctx, tx)
		if err != nil {
			return err
		}
		terms := cust.TermsDays
		if p.TermsDays != nil {
			terms = *p.TermsDays
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_invoices (id, customer_id, currency, prices_include_tax, terms_days, notes)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, cust.ID, cust.Currency, settings.PricesIncludeTax, terms, p.Notes); err != nil {
			return fmt.Errorf("error creating invoice: %w", err)
		}
		if inv, err = invoiceGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_create", EntityType: "billing_invoice",
			EntityID: id.String(), After: inv})
	})
	return inv, err
}

// InvoiceUpdateParams change a draft's terms and notes; Version is the version the editor saw.
type InvoiceUpdateParams struct {
	ID        store.ID
	Version   int
	TermsDays int
	Notes     string
}

// InvoiceUpdate changes a draft's terms and notes. An issued invoice is Invalid; a stale Version a
// Conflict. The actor needs BillingWrite.
func InvoiceUpdate(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceUpdateParams) (*Invoice, error) {
	var f store.FieldErrors
	p.Notes = textField(&f, "notes", p.Notes, 0, 4000, "Keep the notes under 4,000 characters.")
	if p.TermsDays < 0 || p.TermsDays > 365 {
		f.Add("terms_days", "Enter payment terms between 0 and 365 days.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var after *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		before, err := draftForUpdate(ctx, tx, p.ID, p.Version)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET terms_days = $3, notes = $4, updated_at = now(),
			version = version + 1 WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, p.ID, p.TermsDays, p.Notes); err != nil {
			return fmt.Errorf("error updating invoice %s: %w", p.ID, err)
		}
		if after, err = invoiceGetTx(ctx, tx, p.ID, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_update", EntityType: "billing_invoice",
			EntityID: p.ID.String(), Before: before, After: after})
	})
	return after, err
}

// draftForUpdate locks a draft; version 0 skips the version check (line edits from the API).
func draftForUpdate(ctx context.Context, tx *store.Tx, id store.ID, version int) (*Invoice, error) {
	inv, err := invoiceGetTx(ctx, tx, id, true)
	if err != nil {
		return nil, err
	}
	if inv.Status != StatusDraft {
		return nil, errNotDraft
	}
	if version != 0 && inv.Version != version {
		return nil, errInvoiceChanged
	}
	return inv, nil
}

// LineParams is a new line. UnitPrice is in minor units of the invoice's currency. ItemID optionally
// names an inventory item of the tenant (the database refuses an unknown one); billing reads nothing
// from it: the caller defaults Description and UnitPrice from the item when it wants to.
type LineParams struct {
	Description string
	Quantity    Qty
	UnitPrice   int64
	TaxRateID   store.ID
	ItemID      *store.ID
}

// InvoiceLineAdd adds a line to a draft and recomputes its totals. A quantity of zero or less is Invalid
// (use a credit note to give money back); so is an unknown or retired tax rate. Version 0 skips the
// version check. The actor needs BillingWrite.
func InvoiceLineAdd(ctx context.Context, db *store.DB, scope store.Scope, invoiceID store.ID, version int, p LineParams) (*Invoice, error) {
	var f store.FieldErrors
	p.Description = textField(&f, "description", p.Description, 1, 500, "Enter what the line is for (up to 500 characters).")
	if p.Quantity <= 0 {
		f.Add("quantity", "Enter a quantity greater than 0. To give money back, issue a credit note.")
	} else if p.Quantity > QtyMax {
		f.Add("quantity", "Enter a smaller quantity.")
	}
	if p.UnitPrice < 0 {
		f.Add("unit_price", "Enter a price of zero or more. To give money back, issue a credit note.")
	} else if p.UnitPrice > MaxAmount {
		f.Add("unit_price", "Enter a smaller price.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var after *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		inv, err := draftForUpdate(ctx, tx, invoiceID, version)
		if err != nil {
			return err
		}
		var rate TaxRate
		if err := tx.GetContext(ctx, &rate, `SELECT `+taxRateColumns+` FROM billing_tax_rates WHERE tenant_id = $1 AND id = $2
			AND deleted_at IS NULL`, tx.Scope.TenantID, p.TaxRateID); errors.Is(err, sql.ErrNoRows) {
			return (store.FieldErrors{"tax_rate_id": "Choose a tax rate from the list."}).Err()
		} else if err != nil {
			return fmt.Errorf("error loading tax rate %s: %w", p.TaxRateID, err)
		}
		net, tax, gross, err := LineAmounts(p.Quantity, p.UnitPrice, rate.RateBP, inv.PricesIncludeTax)
		if err != nil {
			return (store.FieldErrors{"unit_price": store.ErrorMessage(err)}).Err()
		}
		var count, nextPos int
		if err := tx.QueryRowxContext(ctx, `SELECT count(*), coalesce(max(position) + 1, 0) FROM billing_invoice_lines
			WHERE tenant_id = $1 AND invoice_id = $2`, tx.Scope.TenantID, invoiceID).Scan(&count, &nextPos); err != nil {
			return fmt.Errorf("error counting lines of invoice %s: %w", invoiceID, err)
		}
		if count >= MaxLines {
			return store.Errorf(store.Invalid, "An invoice has at most %d lines. Start another invoice for the rest.", MaxLines)
		}
		lineID := store.NewID()
		_, err = tx.ExecContext(ctx, `INSERT INTO billing_invoice_lines (invoice_id, id, position, description, quantity,
			unit_price, tax_rate_id, tax_name, tax_rate_bp, item_id, net, tax, gross)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			invoiceID, lineID, nextPos, p.Description, p.Quantity, p.UnitPrice, rate.ID, rate.Name, rate.RateBP, p.ItemID, net, tax, gross)
		if pgForeignKey(err) && p.ItemID != nil {
			return (store.FieldErrors{"item_id": "Choose an item from the inventory, or none."}).Err()
		}
		if err != nil {
			return fmt.Errorf("error adding line to invoice %s: %w", invoiceID, err)
		}
		if after, err = invoiceRetotalTx(ctx, tx, invoiceID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_line_add", EntityType: "billing_invoice",
			EntityID: invoiceID.String(), Before: map[string]any{"total": inv.Total},
			After: map[string]any{"line_id": lineID, "description": p.Description, "quantity": p.Quantity.String(),
				"unit_price": p.UnitPrice, "tax_rate": rate.Name, "net": net, "tax": tax, "total": after.Total}})
	})
	return after, err
}

// InvoiceLineRemove removes a line from a draft and recomputes its totals. Version 0 skips the version
// check. The actor needs BillingWrite.
func InvoiceLineRemove(ctx context.Context, db *store.DB, scope store.Scope, invoiceID store.ID, version int, lineID store.ID) (*Invoice, error) {
	var after *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		inv, err := draftForUpdate(ctx, tx, invoiceID, version)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM billing_invoice_lines WHERE tenant_id = $1 AND invoice_id = $2 AND id = $3`,
			tx.Scope.TenantID, invoiceID, lineID)
		if err != nil {
			return fmt.Errorf("error removing line %s: %w", lineID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.Errorf(store.NotFound, "No such line on this invoice.")
		}
		if after, err = invoiceRetotalTx(ctx, tx, invoiceID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_line_remove", EntityType: "billing_invoice",
			EntityID: invoiceID.String(), Before: map[string]any{"line_id": lineID, "total": inv.Total},
			After: map[string]any{"total": after.Total}})
	})
	return after, err
}

// invoiceRetotalTx recomputes a draft's totals from its rounded lines and bumps its version.
func invoiceRetotalTx(ctx context.Context, tx *store.Tx, id store.ID) (*Invoice, error) {
	lines, err := linesTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	sub, tax, total, _ := Totals(lines)
	if total > MaxAmount {
		return nil, errAmountTooLarge
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET subtotal = $3, tax_total = $4, total = $5, balance = $5,
		updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id, sub, tax, total); err != nil {
		return nil, fmt.Errorf("error totalling invoice %s: %w", id, err)
	}
	return invoiceGetTx(ctx, tx, id, false)
}

func pgForeignKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "SQLSTATE 23503")
}

// counterNext takes the next number of a gapless series inside tx: the counter row is created if needed,
// locked FOR UPDATE (concurrent issuers wait here until this transaction ends) and advanced. A rollback
// undoes the advance, so numbers have no gaps; the lock makes them unique.
func counterNext(ctx context.Context, tx *store.Tx, kind, series string, year int) (int64, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_counters (kind, series, year) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, kind, series, year) DO NOTHING`, kind, series, year); err != nil {
		return 0, fmt.Errorf("error creating %s counter %s/%d: %w", kind, series, year, err)
	}
	var last int64
	if err := tx.GetContext(ctx, &last, `SELECT last FROM billing_counters WHERE tenant_id = $1 AND kind = $2 AND series = $3
		AND year = $4 FOR UPDATE`, tx.Scope.TenantID, kind, series, year); err != nil {
		return 0, fmt.Errorf("error locking %s counter %s/%d: %w", kind, series, year, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_counters SET last = $5 WHERE tenant_id = $1 AND kind = $2 AND series = $3
		AND year = $4`, tx.Scope.TenantID, kind, series, year, last+1); err != nil {
		return 0, fmt.Errorf("error advancing %s counter %s/%d: %w", kind, series, year, err)
	}
	return last + 1, nil
}

// DocumentNumber formats a document number: series, year and six digits, like INV-2026-000123.
func DocumentNumber(series string, year int, seq int64) string {
	return fmt.Sprintf("%s-%d-%06d", series, year, seq)
}

// tenantToday is today's date where the tenant is.
func tenantToday(ctx context.Context, tx *store.Tx) (time.Time, error) {
	var d time.Time
	if err := tx.GetContext(ctx, &d, `SELECT (now() AT TIME ZONE time_zone)::date FROM tenants WHERE id = $1`,
		tx.Scope.TenantID); err != nil {
		return d, fmt.Errorf("error reading the tenant's date: %w", err)
	}
	return d, nil
}

// InvoiceIssueParams issue a draft; Version is the version the issuer saw (0 skips the check).
// IssueDate dates the invoice on another day than today; only the system may (demo data, migrations from
// another ledger): people and API clients always issue today, so numbers follow the calendar.
type InvoiceIssueParams struct {
	ID        store.ID
	Version   int
	IssueDate *time.Time
}

// InvoiceIssue gives a draft its number and freezes it: dated today in the tenant's zone, due after its
// terms, numbered next in the tenant's invoice series for the year, all in one transaction (see
// counterNext). The PDF job is enqueued in the same transaction. An invoice without lines cannot be
// issued; an invoice whose total is zero is issued as paid. The actor needs BillingIssue.
func InvoiceIssue(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceIssueParams) (*Invoice, error) {
	var after *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		after, err = invoiceIssueTx(ctx, tx, p)
		return err
	})
	return after, err
}

func invoiceIssueTx(ctx context.Context, tx *store.Tx, p InvoiceIssueParams) (*Invoice, error) {
	if err := permit(ctx, tx, identity.BillingIssue); err != nil {
		return nil, err
	}
	before, err := draftForUpdate(ctx, tx, p.ID, p.Version)
	if err != nil {
		if errors.Is(err, errNotDraft) {
			return nil, store.Errorf(store.Invalid, "This invoice is already issued.")
		}
		return nil, err
	}
	lines, err := linesTx(ctx, tx, p.ID)
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, store.Errorf(store.Invalid, "Add at least one line before issuing the invoice.")
	}
	cust, err := customerGetTx(ctx, tx, before.CustomerID, false)
	if err != nil {
		return nil, err
	}
	if cust.DeletedAt != nil {
		return nil, store.Errorf(store.Invalid, "%s is deleted. Restore the customer before issuing.", cust.Name)
	}
	settings, err := settingsGetTx(ctx, tx)
	if err != nil {
		return nil, err
	}
	today, err := tenantToday(ctx, tx)
	if err != nil {
		return nil, err
	}
	if p.IssueDate != nil {
		if tx.Scope.ActorID != (store.ID{}) || tx.Scope.ClientID != (store.ID{}) {
			return nil, store.Errorf(store.Forbidden, "Invoices are issued with today's date.")
		}
		today = *p.IssueDate
	}
	sub, tax, total, _ := Totals(lines)
	year := today.Year()
	seq, err := counterNext(ctx, tx, "invoice", settings.InvoiceSeries, year)
	if err != nil {
		return nil, err
	}
	number := DocumentNumber(settings.InvoiceSeries, year, seq)
	status := statusFor(0, 0, total)
	if _, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET status = $3, series = $4, year = $5, seq = $6, number = $7,
		issue_date = $8, due_date = $8::date + terms_days, subtotal = $9, tax_total = $10, total = $11, balance = $11,
		issued_at = now(), paid_at = CASE WHEN $3 = 'paid' THEN now() END, updated_at = now(), version = version + 1
		WHERE tenant_id = $1 AND id = $2`,
		tx.Scope.TenantID, p.ID, status, settings.InvoiceSeries, year, seq, number, today, sub, tax, total); err != nil {
		return nil, fmt.Errorf("error issuing invoice %s: %w", p.ID, err)
	}
	after, err := invoiceGetTx(ctx, tx, p.ID, false)
	if err != nil {
		return nil, err
	}
	if err := audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_issue", EntityType: "billing_invoice",
		EntityID: p.ID.String(), Before: before, After: after}); err != nil {
		return nil, err
	}
	if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.InvoiceIssued, Data: invoiceEventData(after)}); err != nil {
		return nil, err
	}
	if err := tx.Enqueue(ctx, InvoicePDFArgs{TenantID: tx.Scope.TenantID, InvoiceID: p.ID}, nil); err != nil {
		return nil, err
	}
	if settings.StockHandoff {
		args := StockHandoffArgs{TenantID: tx.Scope.TenantID, InvoiceID: p.ID, Number: number}
		for i, l := range lines {
			if l.ItemID != nil {
				args.Lines = append(args.Lines, StockHandoffLine{Reference: fmt.Sprintf("%s line %d", number, i+1), ItemID: *l.ItemID, Quantity: int64(l.Quantity)})
			}
		}
		if len(args.Lines) > 0 {
			if err := tx.Enqueue(ctx, args, nil); err != nil {
				return nil, err
			}
		}
	}
	return after, nil
}

// StockHandoffArgs hands an issued invoice's item lines to inventory: a job in jobs/ issues the stock.
// It is enqueued in the issuing transaction when the tenant enables the hand-off. Quantity is in
// thousandths (Qty); Reference names the line on the stock movements, which makes the hand-off
// idempotent (a line whose reference is already issued is not issued again).
type StockHandoffArgs struct {
	TenantID  store.ID           `json:"tenant_id"`
	InvoiceID store.ID           `json:"invoice_id"`
	Number    string             `json:"number"`
	Lines     []StockHandoffLine `json:"lines"`
}

// StockHandoffLine is one item line to issue.
type StockHandoffLine struct {
	Reference string   `json:"reference"`
	ItemID    store.ID `json:"item_id"`
	Quantity  int64    `json:"quantity"`
}

// Kind is the River job kind.
func (StockHandoffArgs) Kind() string { return "billing_stock_handoff" }

// InsertOpts: one job per invoice; retried with back-off while stock is short.
func (StockHandoffArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

func invoiceEventData(inv *Invoice) map[string]any {
	return map[string]any{"invoice_id": inv.ID, "number": inv.Number, "customer_id": inv.CustomerID, "currency": inv.Currency,
		"total": inv.Total, "balance": inv.Balance, "status": inv.Status}
}

// InvoiceVoidParams void an issued invoice with a reason.
type InvoiceVoidParams struct {
	ID      store.ID
	Version int
	Reason  string
}

// InvoiceVoid voids an issued invoice that has neither payments nor credit notes. It keeps its number
// (the series stays gapless) and leaves receivables. The actor needs BillingIssue.
func InvoiceVoid(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceVoidParams) (*Invoice, error) {
	var f store.FieldErrors
	p.Reason = textField(&f, "reason", p.Reason, 1, 500, "Say why the invoice is void (up to 500 characters).")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var after *Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingIssue); err != nil {
			return err
		}
		before, err := invoiceGetTx(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if p.Version != 0 && before.Version != p.Version {
			return errInvoiceChanged
		}
		switch {
		case before.Status == StatusDraft:
			return store.Errorf(store.Invalid, "A draft has no number to void. Keep editing it, or leave it unissued.")
		case before.Status == StatusVoid:
			return store.Errorf(store.Invalid, "%s is already void.", before.Title())
		case before.Paid > 0 || before.Credited > 0:
			return store.Errorf(store.Invalid, "%s has payments or credit notes. Reverse the payments, or credit the rest, instead of voiding it.", before.Title())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET status = 'void', void_reason = $3, voided_at = now(),
			updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, p.ID, p.Reason); err != nil {
			return fmt.Errorf("error voiding invoice %s: %w", p.ID, err)
		}
		if after, err = invoiceGetTx(ctx, tx, p.ID, false); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_void", EntityType: "billing_invoice",
			EntityID: p.ID.String(), Before: before, After: after}); err != nil {
			return err
		}
		data := invoiceEventData(after)
		data["reason"] = p.Reason
		_, err = events.Record(ctx, tx, events.RecordParams{Type: events.InvoiceVoided, Data: data})
		return err
	})
	return after, err
}

// InvoiceDetail is an invoice with everything its page shows.
type InvoiceDetail struct {
	Invoice
	// CustomerEmail is the customer's e-mail address, the send form's default recipient.
	CustomerEmail string
	Lines         []Line
	Taxes         []TaxShare
	Allocations   []AllocationRow
	CreditNotes   []CreditNote
	Sends         []Send
	Reminders     []Reminder
}

// AllocationRow is a payment's part applied to an invoice, as the invoice shows it.
type AllocationRow struct {
	ID         store.ID   `db:"id" json:"id"`
	PaymentID  store.ID   `db:"payment_id" json:"payment_id"`
	InvoiceID  store.ID   `db:"invoice_id" json:"invoice_id"`
	Number     *string    `db:"number" json:"invoice_number"`
	Amount     int64      `db:"amount" json:"amount"`
	ReceivedOn time.Time  `db:"received_on" json:"received_on"`
	Method     string     `db:"method" json:"method"`
	Reference  string     `db:"reference" json:"reference"`
	CreatedAt  time.Time  `db:"created_at" json:"created_at"`
	ReversedAt *time.Time `db:"reversed_at" json:"reversed_at"`
}

// Send is a request to e-mail an invoice and how it went.
type Send struct {
	ID          store.ID   `db:"id" json:"id"`
	Recipient   string     `db:"recipient" json:"recipient"`
	RequestedAt time.Time  `db:"requested_at" json:"requested_at"`
	Attempts    int        `db:"attempts" json:"attempts"`
	LastError   string     `db:"last_error" json:"last_error"`
	SentAt      *time.Time `db:"sent_at" json:"sent_at"`
}

// Retrying reports whether the send failed at least once and is waiting for its next attempt.
func (s Send) Retrying() bool { return s.SentAt == nil && s.LastError != "" }

// InvoiceGet returns an invoice with its lines, taxes, payments, credit notes and e-mails. The actor
// needs BillingRead.
func InvoiceGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*InvoiceDetail, error) {
	var d InvoiceDetail
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		// The invoice with its customer's e-mail address (for the send form), then its lines, then
		// everything else it shows in one statement: four lists as JSON (the invoice page's statements
		// went from 8 to 3).
		var head struct {
			Invoice
			Email string `db:"customer_email"`
		}
		err := tx.GetContext(ctx, &head, `SELECT `+invoiceColumns+`, c.email AS customer_email`+invoiceFrom+`
			WHERE i.tenant_id = $1 AND i.id = $2`, tx.Scope.TenantID, id)
		if errors.Is(err, sql.ErrNoRows) {
			return errInvoiceNotFound
		}
		if err != nil {
			return fmt.Errorf("error loading invoice %s: %w", id, err)
		}
		d.Invoice, d.CustomerEmail = head.Invoice, head.Email
		if d.Lines, err = linesTx(ctx, tx, id); err != nil {
			return err
		}
		_, _, _, d.Taxes = Totals(d.Lines)
		// Dates travel as midnight UTC, as a date column scans.
		var related struct {
			Allocations, CreditNotes, Sends, Reminders []byte
		}
		if err := tx.QueryRowContext(ctx, `SELECT
			(SELECT coalesce(json_agg(json_build_object('id', a.id, 'payment_id', a.payment_id, 'invoice_id', a.invoice_id,
				'amount', a.amount, 'received_on', to_char(p.received_on, 'YYYY-MM-DD"T00:00:00Z"'), 'method', p.method,
				'reference', p.reference, 'created_at', a.created_at, 'reversed_at', a.reversed_at) ORDER BY a.created_at, a.id), '[]')
				FROM billing_allocations a JOIN billing_payments p ON p.tenant_id = a.tenant_id AND p.id = a.payment_id
				WHERE a.tenant_id = $1 AND a.invoice_id = $2),
			(SELECT coalesce(json_agg(json_build_object('id', n.id, 'invoice_id', n.invoice_id, 'customer_id', n.customer_id,
				'number', n.number, 'currency', n.currency, 'amount', n.amount, 'reason', n.reason,
				'issue_date', to_char(n.issue_date, 'YYYY-MM-DD"T00:00:00Z"'), 'created_at', n.created_at) ORDER BY n.created_at, n.id), '[]')
				FROM billing_credit_notes n WHERE n.tenant_id = $1 AND n.invoice_id = $2),
			(SELECT coalesce(json_agg(json_build_object('id', s.id, 'recipient', s.recipient, 'requested_at', s.requested_at,
				'attempts', s.attempts, 'last_error', s.last_error, 'sent_at', s.sent_at) ORDER BY s.requested_at DESC), '[]')
				FROM (SELECT * FROM billing_invoice_sends WHERE tenant_id = $1 AND invoice_id = $2
					ORDER BY requested_at DESC LIMIT 20) s),
			(SELECT coalesce(json_agg(json_build_object('days', r.days, 'sent', r.sent, 'recipient', r.recipient,
				'created_at', r.created_at) ORDER BY r.days), '[]')
				FROM billing_reminders r WHERE r.tenant_id = $1 AND r.invoice_id = $2)`,
			tx.Scope.TenantID, id).Scan(&related.Allocations, &related.CreditNotes, &related.Sends, &related.Reminders); err != nil {
			return fmt.Errorf("error loading payments, credit notes, e-mails and reminders of invoice %s: %w", id, err)
		}
		for _, l := range []struct {
			raw  []byte
			into any
		}{{related.Allocations, &d.Allocations}, {related.CreditNotes, &d.CreditNotes}, {related.Sends, &d.Sends},
			{related.Reminders, &d.Reminders}} {
			if err := json.Unmarshal(l.raw, l.into); err != nil {
				return fmt.Errorf("error reading the lists of invoice %s: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// InvoiceListParams filter and page the invoice list. Status "overdue" is not a status: use Overdue. From
// and To bound the issue date (inclusive). Search matches part of the number or of the customer's name.
// WithTotals asks for the filtered set's totals whatever the filter (see InvoiceList).
type InvoiceListParams struct {
	Status     Status
	CustomerID *store.ID
	From, To   *time.Time
	Overdue    bool
	Search     string
	After      string
	Limit      int
	WithTotals bool
}

// byIssueDate reports whether the list pages by issue date: with a date filter, newest issued first.
func (p InvoiceListParams) byIssueDate() bool { return p.From != nil || p.To != nil }

// tallied reports whether the filtered set's totals come from the tally (billing_invoice_tallies): no
// filter, or a status only.
func (p InvoiceListParams) tallied() bool {
	return p.CustomerID == nil && !p.byIssueDate() && !p.Overdue && strings.TrimSpace(p.Search) == ""
}

// CurrencyTotal is a sum over invoices in one currency: never summed across currencies.
type CurrencyTotal struct {
	Currency string `db:"currency" json:"currency"`
	Count    int64  `db:"count" json:"count"`
	Total    int64  `db:"total" json:"total"`
	Balance  int64  `db:"balance" json:"balance"`
}

// InvoiceListResult is a page of invoices, the cursor of the next page and the totals of the whole
// filtered set per currency. TotalsDeferred is set when the totals were not computed (a filter other than
// the status, without WithTotals): InvoiceTotals computes them.
type InvoiceListResult struct {
	Invoices       []Invoice
	Next           string
	Totals         []CurrencyTotal
	TotalsDeferred bool

	tallied bool // Totals came with the page's rows (invoicePageTx)
}

// InvoiceList returns a page of invoices with keyset pagination, newest first: by creation (created_at,
// id), or with a date filter by issue date (issue_date, created_at, id). The filtered set's totals per
// currency come with it when they are cheap, for the whole list or a status (from the tally the database
// keeps in every invoice change's transaction), or always with p.WithTotals; otherwise TotalsDeferred
// is set. The actor needs BillingRead.
func InvoiceList(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceListParams) (*InvoiceListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var res *InvoiceListResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		// The tally's totals ride on the page's rows (one statement less); the filters it does not
		// cover sum the invoices in a statement of their own.
		if res, err = invoicePageTx(ctx, tx, p, p.tallied()); err != nil {
			return err
		}
		if res.tallied {
			return nil
		}
		if !p.tallied() && !p.WithTotals {
			res.TotalsDeferred = true
			return nil
		}
		res.Totals, err = invoiceTotalsTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// InvoiceTotals returns the totals per currency of the invoice list's set with p's filter (p.After and
// p.Limit are ignored): the count of invoices, the sum of their totals without void ones, and the open
// balance (issued and partially paid). The actor needs BillingRead.
func InvoiceTotals(ctx context.Context, db *store.DB, scope store.Scope, p InvoiceListParams) ([]CurrencyTotal, error) {
	var out []CurrencyTotal
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		out, err = invoiceTotalsTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// invoiceTotalsTx computes p's totals in tx: from the tally for the whole list or a status, else by
// summing the filtered invoices. The caller checks the permission.
func invoiceTotalsTx(ctx context.Context, tx *store.Tx, p InvoiceListParams) ([]CurrencyTotal, error) {
	var out []CurrencyTotal
	if p.tallied() {
		if p.Status != "" && !p.Status.Valid() {
			return nil, (store.FieldErrors{"status": "Choose a status from the list."}).Err()
		}
		// The tally holds per currency and status the change of count, total and balance of every
		// statement; summed they are the invoices' figures (TestInvoiceTallyMatchesInvoices).
		if err := tx.SelectContext(ctx, &out, tallySQL("$2")+` ORDER BY currency`, tx.Scope.TenantID, string(p.Status)); err != nil {
			return nil, fmt.Errorf("error reading the invoice tally: %w", err)
		}
		return out, nil
	}
	where, args, err := invoiceWhere(p, tx.Scope.TenantID, searchAll)
	if err != nil {
		return nil, err
	}
	if err := tx.SelectContext(ctx, &out, `SELECT i.currency, count(*) AS count,
		coalesce(sum(i.total) FILTER (WHERE i.status <> 'void'), 0)::bigint AS total,
		coalesce(sum(i.balance) FILTER (WHERE i.status IN ('issued', 'partially_paid')), 0)::bigint AS balance
		FROM billing_invoices i`+where+` GROUP BY i.currency ORDER BY i.currency`, args...); err != nil {
		return nil, fmt.Errorf("error totalling invoices: %w", err)
	}
	return out, nil
}

// tallySQL sums the tally (billing_invoice_tallies) per currency, for all invoices or those with the
// status in the argument status (an empty text for all): count, total without void ones, open balance.
func tallySQL(status string) string {
	return `SELECT currency, sum(invoices)::bigint AS count,
			coalesce(sum(total) FILTER (WHERE status <> 'void'), 0)::bigint AS total,
			coalesce(sum(balance) FILTER (WHERE status IN ('issued', 'partially_paid')), 0)::bigint AS balance
			FROM billing_invoice_tallies WHERE tenant_id = $1 AND (` + status + ` = '' OR status = ` + status + `)
			GROUP BY currency HAVING sum(invoices) <> 0`
}

// searchPart says how invoiceWhere writes a search: every match (numbers and customers' names), or one
// of the two (the page reads them as two branches).
type searchPart int

const (
	searchAll searchPart = iota
	searchNumbers
	searchCustomers
)

// invoiceWhere is the invoice list's filter over billing_invoices i (without the page cursor) and its
// arguments; $1 is the tenant. Each filter is a fixed fragment added only when used, so the planner sees
// the predicates of the partial indexes.
func invoiceWhere(p InvoiceListParams, tenantID store.ID, part searchPart) (string, []any, error) {
	args := []any{tenantID}
	where, err := invoiceWhereArgs(p, part, func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) })
	return where, args, err
}

// invoiceWhereArgs writes invoiceWhere's filter with arg adding the arguments after $1, the tenant.
func invoiceWhereArgs(p InvoiceListParams, part searchPart, arg func(any) string) (string, error) {
	if p.Status != "" && !p.Status.Valid() {
		return "", (store.FieldErrors{"status": "Choose a status from the list."}).Err()
	}
	var where strings.Builder
	where.WriteString(` WHERE i.tenant_id = $1`)
	if p.Status != "" {
		where.WriteString(` AND i.status = ` + arg(string(p.Status)))
	}
	if p.CustomerID != nil {
		where.WriteString(` AND i.customer_id = ` + arg(*p.CustomerID))
	}
	if p.From != nil {
		where.WriteString(` AND i.issue_date >= ` + arg(*p.From))
	}
	if p.To != nil {
		where.WriteString(` AND i.issue_date <= ` + arg(*p.To))
	}
	if p.Overdue {
		where.WriteString(` AND i.status IN ('issued', 'partially_paid') AND i.due_date < ` + todaySQL)
	}
	if s := strings.TrimSpace(p.Search); s != "" {
		if r := []rune(s); len(r) > 100 {
			s = string(r[:100])
		}
		// The owner's functions of migration 00020 reach the trigram indexes of the numbers and the
		// customers' names, which ILIKE under row-level security cannot. A number with both its dashes
		// goes by year and sequence instead (numberSearch).
		n := arg("%" + likeEscaper.Replace(s) + "%")
		numbers := func(alias string) string {
			return ` AND ` + alias + `.id IN (SELECT s.id FROM billing_invoice_number_search(` + n + `) s)`
		}
		if r, ok := numberSearch(s); ok {
			numbers = func(alias string) string { return r.where(alias, n, arg) }
		}
		switch part {
		case searchNumbers:
			where.WriteString(numbers("i"))
		case searchCustomers:
			where.WriteString(` AND i.customer_id IN (SELECT s.id FROM billing_customer_name_search(` + n + `) s)`)
		default:
			where.WriteString(` AND i.id IN (SELECT x.id FROM billing_invoices x WHERE x.tenant_id = $1` + numbers("x") + `
				UNION SELECT x.id FROM billing_invoices x WHERE x.tenant_id = $1
					AND x.customer_id IN (SELECT s.id FROM billing_customer_name_search(` + n + `) s))`)
		}
	}
	return where.String(), nil
}

// numberRange is what a search for an invoice number with both of its dashes tells about the numbers
// that contain it. A number is SERIES-YEAR-SEQ (DocumentNumber: a series of capital letters and digits,
// the year, the sequence in six digits or more), so the term's two dashes must be the number's: "INV-2026-0012"
// and "NV-2026-0012" are found only in year 2026 with a sequence whose text starts with 0012 (1200-1299,
// or one of seven digits or more). The trigram index cannot narrow such a term down (every number shares
// "INV", "-20", "026"...: 5-9 ms on 200,000 invoices), the index on (tenant, year, seq) of migration 00024
// can (0.1 ms). The ILIKE on the rows found keeps the search's meaning exact (the series' end, the prefix).
type numberRange struct {
	none   bool // no number can contain the term
	year   int
	anySeq bool  // the term ends at the second dash
	lo, hi int64 // the six-digit sequences starting with the term's digits (with any of seven or more)
}

// numberSearch reads term as a part of an invoice number with both dashes, or as text no number holds;
// ok is false for any other term (the trigram index looks it up).
func numberSearch(term string) (numberRange, bool) {
	parts := strings.Split(term, "-")
	switch {
	case !numberText(term): // a name with a space, an e-mail...: in no number, so no trigram lookup
		return numberRange{none: true}, true
	case len(parts) < 3:
		return numberRange{}, false
	case len(parts) > 3:
		return numberRange{none: true}, true
	}
	series, year, seq := parts[0], parts[1], parts[2]
	if !alnum(series) || year == "" || year[0] == '0' || len(year) > 6 || !allDigits(year) || !allDigits(seq) {
		return numberRange{none: true}, true
	}
	r := numberRange{anySeq: seq == ""}
	r.year, _ = strconv.Atoi(year)
	switch {
	case r.anySeq:
	case len(seq) > 6: // only a sequence of seven digits or more: the recheck finds which
		r.lo, r.hi = 1_000_000, 1_000_000
	default:
		z, _ := strconv.ParseInt(seq, 10, 64)
		scale := int64(1)
		for range 6 - len(seq) {
			scale *= 10
		}
		r.lo, r.hi = z*scale, (z+1)*scale-1
	}
	return r, true
}

// where is the condition on the invoices alias for the numbers matching r, with pattern the term's ILIKE
// pattern (an argument already).
func (r numberRange) where(alias, pattern string, arg func(any) string) string {
	if r.none { // the pattern stays in the statement: every argument must have a type
		return ` AND false AND ` + alias + `.number ILIKE ` + pattern
	}
	w := ` AND ` + alias + `.year = ` + arg(r.year) + ` AND ` + alias + `.seq IS NOT NULL`
	if !r.anySeq {
		w += ` AND (` + alias + `.seq BETWEEN ` + arg(r.lo) + ` AND ` + arg(r.hi) + ` OR ` + alias + `.seq >= 1000000)`
	}
	return w + ` AND ` + alias + `.number ILIKE ` + pattern
}

// numberText reports whether s holds only what numbers hold: letters, digits and dashes.
func numberText(s string) bool {
	return alnum(strings.ReplaceAll(s, "-", ""))
}

// alnum reports whether s is only ASCII letters and digits (what a series may hold, in any case).
func alnum(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// invoicePageTx reads one page of the invoice list (p.Limit rows after p.After) in tx, without totals.
// The page's ids are found first, on the indexes alone where they cover the filter, and only their rows
// are read. A search pages through the matching numbers and the matching customers' invoices as two
// branches, each stopping after one page. The caller checks the permission.
//
// With tally (p.tallied() only), every row also carries the filter's totals from the tally as JSON (an
// uncorrelated subquery: PostgreSQL computes it once), read from the first row into res.Totals; a page
// without rows leaves res.tallied false and the caller reads them on their own.
func invoicePageTx(ctx context.Context, tx *store.Tx, p InvoiceListParams, tally bool) (*InvoiceListResult, error) {
	q, args, err := invoicePageQueryTally(p, tx.Scope.TenantID, tally)
	if err != nil {
		return nil, err
	}
	var totals []byte
	var extra []any
	if tally {
		extra = []any{&totals}
	}
	rows, err := selectInvoices(ctx, tx, p.Limit+1, q, args, extra...)
	if err != nil {
		return nil, fmt.Errorf("error listing invoices: %w", err)
	}
	res := &InvoiceListResult{}
	if tally && len(rows) > 0 {
		if err := json.Unmarshal(totals, &res.Totals); err != nil {
			return nil, fmt.Errorf("error reading the invoice tally: %w", err)
		}
		if len(res.Totals) == 0 {
			res.Totals = nil // as the tally's own statement reports no currency
		}
		res.tallied = true
	}
	if len(rows) > p.Limit {
		last := rows[p.Limit-1]
		rows = rows[:p.Limit]
		key := last.CreatedAt.UTC().Format(time.RFC3339Nano)
		if p.byIssueDate() {
			key = last.IssueDate.Format(time.DateOnly) + " " + key
		}
		res.Next = cursorEncode(key, last.ID)
	}
	res.Invoices = rows
	return res, nil
}

// invoicePageQuery is invoicePageTx's query (p.Limit + 1 rows, to know whether a next page exists) and
// its arguments.
func invoicePageQuery(p InvoiceListParams, tenantID store.ID) (string, []any, error) {
	return invoicePageQueryTally(p, tenantID, false)
}

// invoicePageQueryTally is invoicePageQuery, with the tally's totals in a last column when tally is set.
func invoicePageQueryTally(p InvoiceListParams, tenantID store.ID, tally bool) (string, []any, error) {
	byDate := p.byIssueDate()
	order := `i.created_at DESC, i.id DESC`
	if byDate {
		order = `i.issue_date DESC, i.created_at DESC, i.id DESC`
	}
	// Only the sort keys, so that an index holding them serves the page alone (a customer's invoices).
	keys := `i.id, i.created_at`
	if byDate {
		keys += `, i.issue_date`
	}
	var cursor struct {
		day, created time.Time
		id           store.ID
	}
	if p.After != "" {
		key, id, err := cursorDecode(p.After)
		if err != nil {
			return "", nil, errBadCursor
		}
		cursor.id = id
		if byDate {
			day, created, ok := strings.Cut(key, " ")
			d, err1 := time.Parse(time.DateOnly, day)
			t, err2 := time.Parse(time.RFC3339Nano, created)
			if !ok || err1 != nil || err2 != nil {
				return "", nil, errBadCursor
			}
			cursor.day, cursor.created = d, t
		} else if cursor.created, err = time.Parse(time.RFC3339Nano, key); err != nil {
			return "", nil, errBadCursor
		}
	}
	// The limit is a literal (store.Limit), so that PostgreSQL may keep a generic plan of each shape
	// instead of planning every page anew (0.3 ms, more than running it).
	limit := store.Limit(p.Limit + 1)
	// branch is the page's ids for one search part; the branches share the arguments.
	args := []any{tenantID}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	branch := func(part searchPart) (string, error) {
		where, err := invoiceWhereArgs(p, part, arg)
		if err != nil {
			return "", err
		}
		if p.After != "" {
			// Spelled out rather than as a row comparison, so that the first key's bound is an index condition.
			if byDate {
				dk, k, i := arg(cursor.day), arg(cursor.created), arg(cursor.id)
				where += ` AND i.issue_date <= ` + dk + ` AND (i.issue_date < ` + dk + ` OR i.created_at < ` + k +
					` OR (i.created_at = ` + k + ` AND i.id < ` + i + `::uuid))`
			} else {
				k, i := arg(cursor.created), arg(cursor.id)
				where += ` AND i.created_at <= ` + k + ` AND (i.created_at < ` + k + ` OR i.id < ` + i + `::uuid)`
			}
		}
		return `SELECT ` + keys + ` FROM billing_invoices i` + where +
			` ORDER BY ` + order + limit, nil
	}
	var ids string
	if search := strings.TrimSpace(p.Search); search == "" {
		q, err := branch(searchAll)
		if err != nil {
			return "", nil, err
		}
		ids = q
	} else if r, ok := numberSearch(search); ok && r.none {
		// Text no number holds (a name with a space...): the customers' branch alone, without the union's
		// deduplication of every row it reads ("Tools GmbH": 2.1 -> 1.4 ms).
		q, err := branch(searchCustomers)
		if err != nil {
			return "", nil, err
		}
		ids = q
	} else {
		numbers, err := branch(searchNumbers)
		if err != nil {
			return "", nil, err
		}
		customers, err := branch(searchCustomers)
		if err != nil {
			return "", nil, err
		}
		ids = `SELECT * FROM ((` + numbers + `) UNION (` + customers + `)) i ORDER BY ` + order + limit
	}
	columns := invoiceColumns
	if tally {
		columns += `, (SELECT coalesce(json_agg(t ORDER BY t.currency), '[]') FROM (` + tallySQL(arg(string(p.Status))) + `) t) AS tally`
	}
	return `SELECT ` + columns + ` FROM (` + ids + `) pg
		JOIN billing_invoices i ON i.tenant_id = $1 AND i.id = pg.id
		JOIN billing_customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
		ORDER BY ` + strings.ReplaceAll(order, "i.", "pg."), args, nil
}

// InvoicePDFArgs is the job that renders an issued invoice's PDF once and stores it.
type InvoicePDFArgs struct {
	TenantID  store.ID `json:"tenant_id"`
	InvoiceID store.ID `json:"invoice_id"`
}

// Kind is the River job kind.
func (InvoicePDFArgs) Kind() string { return "billing_invoice_pdf" }

// InsertOpts makes the job unique per invoice while it waits or runs, and retries with back-off.
func (InvoicePDFArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}
