package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/events"
	"ledgerline/store/identity"
)

// CreditNote reduces an issued invoice's balance by Amount (gross, in the invoice's currency). It has its
// own gapless series.
type CreditNote struct {
	ID         store.ID  `db:"id" json:"id"`
	InvoiceID  store.ID  `db:"invoice_id" json:"invoice_id"`
	CustomerID store.ID  `db:"customer_id" json:"customer_id"`
	Number     string    `db:"number" json:"number"`
	Currency   string    `db:"currency" json:"currency"`
	Amount     int64     `db:"amount" json:"amount"`
	Reason     string    `db:"reason" json:"reason"`
	IssueDate  time.Time `db:"issue_date" json:"issue_date"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

const creditNoteColumns = `n.id, n.invoice_id, n.customer_id, n.number, n.currency, n.amount, n.reason, n.issue_date, n.created_at` // #nosec G101 -- column names ("credit"), no credential

// CreditNoteParams credit an open invoice: Amount nil credits the whole balance.
type CreditNoteParams struct {
	InvoiceID store.ID
	Amount    *int64
	Reason    string
}

// CreditNoteIssue issues a credit note against an open invoice, numbered next in the tenant's credit note
// series, and reduces the invoice's balance in the same transaction. More than the balance is Invalid.
// The actor needs BillingIssue.
func CreditNoteIssue(ctx context.Context, db *store.DB, scope store.Scope, p CreditNoteParams) (*CreditNote, error) {
	var f store.FieldErrors
	p.Reason = textField(&f, "reason", p.Reason, 1, 500, "Say why you give the money back (up to 500 characters).")
	if p.Amount != nil && *p.Amount <= 0 {
		f.Add("amount", "Enter an amount greater than 0.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var cn CreditNote
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingIssue); err != nil {
			return err
		}
		inv, err := invoiceGetTx(ctx, tx, p.InvoiceID, true)
		if err != nil {
			return err
		}
		if !inv.Status.Open() {
			return store.Errorf(store.Invalid, "Only an issued invoice with an open balance can be credited; %s is %s.",
				inv.Title(), strings.ToLower(inv.Status.Label()))
		}
		amount := inv.Balance
		if p.Amount != nil {
			amount = *p.Amount
		}
		if amount > inv.Balance {
			return (store.FieldErrors{"amount": "Enter at most the open balance of the invoice."}).Err()
		}
		settings, err := settingsGetTx(ctx, tx)
		if err != nil {
			return err
		}
		today, err := tenantToday(ctx, tx)
		if err != nil {
			return err
		}
		seq, err := counterNext(ctx, tx, "credit_note", settings.CreditNoteSeries, today.Year())
		if err != nil {
			return err
		}
		number := DocumentNumber(settings.CreditNoteSeries, today.Year(), seq)
		if err := tx.GetContext(ctx, &cn, `INSERT INTO billing_credit_notes AS n (id, invoice_id, customer_id, series, year, seq,
			number, currency, amount, reason, issue_date, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			RETURNING `+creditNoteColumns, store.NewID(), inv.ID, inv.CustomerID, settings.CreditNoteSeries, today.Year(), seq,
			number, inv.Currency, amount, p.Reason, today, actorOf(tx)); err != nil {
			return fmt.Errorf("error issuing credit note: %w", err)
		}
		after, err := invoiceApplyTx(ctx, tx, inv, 0, amount)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "billing.credit_note_issue", EntityType: "billing_invoice",
			EntityID: inv.ID.String(), Before: inv, After: map[string]any{"credit_note": cn, "invoice": after}}); err != nil {
			return err
		}
		_, err = events.Record(ctx, tx, events.RecordParams{Type: events.CreditNoteIssued, Data: map[string]any{
			"credit_note_id": cn.ID, "number": cn.Number, "invoice_id": inv.ID, "invoice_number": inv.Number,
			"currency": cn.Currency, "amount": cn.Amount, "invoice_balance": after.Balance}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &cn, nil
}

// invoiceApplyTx changes a locked open invoice by paid and credited deltas (either may be negative for
// reversals), derives its status, and records invoice.paid when it becomes paid. The CHECK constraints
// refuse a balance below zero whatever the caller computed.
func invoiceApplyTx(ctx context.Context, tx *store.Tx, inv *Invoice, paidDelta, creditedDelta int64) (*Invoice, error) {
	paid, credited := inv.Paid+paidDelta, inv.Credited+creditedDelta
	balance := inv.Total - paid - credited
	if balance < 0 {
		return nil, store.Errorf(store.Invalid, "That is more than the open balance of %s.", inv.Title())
	}
	status := statusFor(paid, credited, balance)
	_, err := tx.ExecContext(ctx, `UPDATE billing_invoices SET paid = $3, credited = $4, balance = $5, status = $6,
		paid_at = CASE WHEN $6 = 'paid' THEN coalesce(paid_at, now()) END, updated_at = now(), version = version + 1
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, inv.ID, paid, credited, balance, status)
	if store.IsCheckViolation(err, "") {
		return nil, store.Errorf(store.Invalid, "That is more than the open balance of %s.", inv.Title())
	}
	if err != nil {
		return nil, fmt.Errorf("error updating balance of invoice %s: %w", inv.ID, err)
	}
	after, err := invoiceGetTx(ctx, tx, inv.ID, false)
	if err != nil {
		return nil, err
	}
	if after.Status == StatusPaid && inv.Status != StatusPaid {
		if _, err := events.Record(ctx, tx, events.RecordParams{Type: events.InvoicePaid, Data: invoiceEventData(after)}); err != nil {
			return nil, err
		}
	}
	return after, nil
}

// Method is how a payment arrived.
type Method string

// The payment methods.
const (
	MethodBankTransfer Method = "bank_transfer"
	MethodCard         Method = "card"
	MethodCash         Method = "cash"
	MethodCheque       Method = "cheque"
	MethodOther        Method = "other"
)

// Methods lists the payment methods in the order forms offer them.
var Methods = []Method{MethodBankTransfer, MethodCard, MethodCash, MethodCheque, MethodOther}

// Label is the method as people read it.
func (m Method) Label() string {
	switch m {
	case MethodBankTransfer:
		return "Bank transfer"
	case MethodCard:
		return "Card"
	case MethodCash:
		return "Cash"
	case MethodCheque:
		return "Cheque"
	case MethodOther:
		return "Other"
	}
	return string(m)
}

// Payment is money received from a customer. Allocated is the part applied to invoices; the rest is the
// customer's credit, usable later (PaymentAllocate). A payment is reversed, never deleted.
type Payment struct {
	ID             store.ID   `db:"id" json:"id"`
	CustomerID     store.ID   `db:"customer_id" json:"customer_id"`
	CustomerName   string     `db:"customer_name" json:"customer_name"`
	Currency       string     `db:"currency" json:"currency"`
	Amount         int64      `db:"amount" json:"amount"`
	Allocated      int64      `db:"allocated" json:"allocated"`
	ReceivedOn     time.Time  `db:"received_on" json:"received_on"`
	Method         Method     `db:"method" json:"method"`
	Reference      string     `db:"reference" json:"reference"`
	ReversedAt     *time.Time `db:"reversed_at" json:"reversed_at"`
	ReversalReason string     `db:"reversal_reason" json:"reversal_reason"`
	CreatedAt      time.Time  `db:"created_at" json:"created_at"`
}

// Unallocated is the part of the payment that is customer credit (zero once reversed).
func (p Payment) Unallocated() int64 {
	if p.ReversedAt != nil {
		return 0
	}
	return p.Amount - p.Allocated
}

const paymentColumns = `p.id, p.customer_id, c.name AS customer_name, p.currency, p.amount, p.allocated, p.received_on,
	p.method, p.reference, p.reversed_at, p.reversal_reason, p.created_at`

const paymentFrom = ` FROM billing_payments p JOIN billing_customers c ON c.tenant_id = p.tenant_id AND c.id = p.customer_id`

// Allocation applies Amount of a payment to one invoice.
type Allocation struct {
	InvoiceID store.ID
	Amount    int64
}

// PaymentParams record money received. Allocations apply it to open invoices of the same customer and
// currency. What is not allocated becomes customer credit only when KeepCredit is set; otherwise an amount
// beyond the allocations is Invalid (people usually meant to pay exactly the open balances).
type PaymentParams struct {
	CustomerID  store.ID
	Currency    string
	Amount      int64
	ReceivedOn  time.Time
	Method      Method
	Reference   string
	Allocations []Allocation
	KeepCredit  bool
}

// PaymentRecord records a payment and its allocations in one transaction. Allocating to another
// customer's invoice, to another currency, to a draft, void or paid invoice, or more than an invoice's
// balance is Invalid and writes nothing. The actor needs BillingWrite.
func PaymentRecord(ctx context.Context, db *store.DB, scope store.Scope, p PaymentParams) (*PaymentDetail, error) {
	var f store.FieldErrors
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if p.Amount <= 0 {
		f.Add("amount", "Enter the amount received, greater than 0.")
	} else if p.Amount > MaxAmount {
		f.Add("amount", "Enter a smaller amount.")
	}
	if p.ReceivedOn.IsZero() {
		f.Add("received_on", "Enter the date the money arrived.")
	}
	if !slices.Contains(Methods, p.Method) {
		f.Add("method", "Choose how the money arrived.")
	}
	p.Reference = textField(&f, "reference", p.Reference, 0, 200, "Keep the reference under 200 characters.")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *PaymentDetail
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
		if p.Currency == "" {
			p.Currency = cust.Currency
		}
		if p.Currency != cust.Currency {
			return (store.FieldErrors{"currency": "Record the payment in the customer's currency, " + cust.Currency +
				". Payments are never converted between currencies."}).Err()
		}
		var sum int64
		for _, a := range p.Allocations {
			sum += a.Amount
		}
		if sum > p.Amount {
			return (store.FieldErrors{"amount": "The allocations add up to more than the payment."}).Err()
		}
		if sum < p.Amount && !p.KeepCredit {
			return (store.FieldErrors{"keep_credit": "The payment is more than what you allocated. Allocate the rest, or choose to keep it as customer credit."}).Err()
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_payments (id, customer_id, currency, amount, received_on, method,
			reference, actor_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			id, cust.ID, p.Currency, p.Amount, p.ReceivedOn, p.Method, p.Reference, actorOf(tx)); err != nil {
			return fmt.Errorf("error recording payment: %w", err)
		}
		if err := allocateTx(ctx, tx, id, cust.ID, p.Currency, p.Allocations); err != nil {
			return err
		}
		if out, err = paymentGetTx(ctx, tx, id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.RecordParams{Action: "billing.payment_record", EntityType: "billing_payment",
			EntityID: id.String(), After: out}); err != nil {
			return err
		}
		_, err = events.Record(ctx, tx, events.RecordParams{Type: events.PaymentRecorded, Data: map[string]any{
			"payment_id": id, "customer_id": cust.ID, "currency": p.Currency, "amount": p.Amount,
			"allocated": out.Allocated, "unallocated": out.Unallocated()}})
		return err
	})
	return out, err
}

// allocateTx applies allocations of payment paymentID. Invoices are locked in id order, so concurrent
// payments touching the same invoices cannot deadlock.
func allocateTx(ctx context.Context, tx *store.Tx, paymentID, customerID store.ID, currency string, allocs []Allocation) error {
	if len(allocs) == 0 {
		return nil
	}
	sorted := slices.Clone(allocs)
	slices.SortFunc(sorted, func(a, b Allocation) int { return strings.Compare(a.InvoiceID.String(), b.InvoiceID.String()) })
	var total int64
	for i, a := range sorted {
		field := "allocations"
		if i > 0 && sorted[i-1].InvoiceID == a.InvoiceID {
			return (store.FieldErrors{field: "Allocate to each invoice once."}).Err()
		}
		if a.Amount <= 0 {
			return (store.FieldErrors{field: "Enter allocation amounts greater than 0."}).Err()
		}
		inv, err := invoiceGetTx(ctx, tx, a.InvoiceID, true)
		if errors.Is(err, errInvoiceNotFound) {
			return (store.FieldErrors{field: "Choose invoices from the list."}).Err()
		}
		if err != nil {
			return err
		}
		switch {
		case inv.CustomerID != customerID:
			return (store.FieldErrors{field: inv.Title() + " belongs to another customer. A payment pays only its own customer's invoices."}).Err()
		case inv.Currency != currency:
			return (store.FieldErrors{field: inv.Title() + " is in " + inv.Currency + ". A payment pays only invoices in its own currency."}).Err()
		case !inv.Status.Open():
			return (store.FieldErrors{field: inv.Title() + " is " + strings.ToLower(inv.Status.Label()) + ": only issued invoices with an open balance take payments."}).Err()
		case a.Amount > inv.Balance:
			return (store.FieldErrors{field: "Allocate at most the open balance of " + inv.Title() + "."}).Err()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_allocations (id, payment_id, invoice_id, amount) VALUES ($1, $2, $3, $4)`,
			store.NewID(), paymentID, a.InvoiceID, a.Amount); err != nil {
			return fmt.Errorf("error allocating payment %s: %w", paymentID, err)
		}
		if _, err := invoiceApplyTx(ctx, tx, inv, a.Amount, 0); err != nil {
			return err
		}
		total += a.Amount
	}
	_, err := tx.ExecContext(ctx, `UPDATE billing_payments SET allocated = allocated + $3 WHERE tenant_id = $1 AND id = $2`,
		tx.Scope.TenantID, paymentID, total)
	if store.IsCheckViolation(err, "") {
		return (store.FieldErrors{"allocations": "The allocations add up to more than the payment's unallocated amount."}).Err()
	}
	if err != nil {
		return fmt.Errorf("error updating payment %s: %w", paymentID, err)
	}
	return nil
}

// PaymentAllocate applies a payment's unallocated part (the customer's credit) to open invoices of the
// same customer. The actor needs BillingWrite.
func PaymentAllocate(ctx context.Context, db *store.DB, scope store.Scope, paymentID store.ID, allocs []Allocation) (*PaymentDetail, error) {
	if len(allocs) == 0 {
		return nil, (store.FieldErrors{"allocations": "Choose at least one invoice to allocate to."}).Err()
	}
	var out *PaymentDetail
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		before, err := paymentLockTx(ctx, tx, paymentID)
		if err != nil {
			return err
		}
		if before.ReversedAt != nil {
			return store.Errorf(store.Invalid, "This payment is reversed; it has nothing left to allocate.")
		}
		var sum int64
		for _, a := range allocs {
			sum += a.Amount
		}
		if sum > before.Unallocated() {
			return (store.FieldErrors{"allocations": "Allocate at most the payment's unallocated amount."}).Err()
		}
		if err := allocateTx(ctx, tx, paymentID, before.CustomerID, before.Currency, allocs); err != nil {
			return err
		}
		if out, err = paymentGetTx(ctx, tx, paymentID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.payment_allocate", EntityType: "billing_payment",
			EntityID: paymentID.String(), Before: before, After: out})
	})
	return out, err
}

func paymentLockTx(ctx context.Context, tx *store.Tx, id store.ID) (*Payment, error) {
	var p Payment
	if err := store.Get(ctx, tx, &p, "No such payment.", `SELECT `+paymentColumns+paymentFrom+
		` WHERE p.tenant_id = $1 AND p.id = $2 FOR NO KEY UPDATE OF p`, tx.Scope.TenantID, id); err != nil {
		return nil, err
	}
	return &p, nil
}

// PaymentReverseParams reverse a payment with a reason.
type PaymentReverseParams struct {
	ID     store.ID
	Reason string
}

// PaymentReverse reverses a payment (a bounced transfer, a mistake): its allocations are marked reversed
// and their amounts go back onto the invoices' balances; the payment stays, marked reversed. A payment
// is reversed once. The actor needs BillingIssue.
func PaymentReverse(ctx context.Context, db *store.DB, scope store.Scope, p PaymentReverseParams) (*PaymentDetail, error) {
	var f store.FieldErrors
	p.Reason = textField(&f, "reason", p.Reason, 1, 500, "Say why the payment is reversed (up to 500 characters).")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *PaymentDetail
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingIssue); err != nil {
			return err
		}
		before, err := paymentLockTx(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		if before.ReversedAt != nil {
			return store.Errorf(store.Invalid, "This payment is already reversed.")
		}
		var allocs []struct {
			ID        store.ID `db:"id"`
			InvoiceID store.ID `db:"invoice_id"`
			Amount    int64    `db:"amount"`
		}
		if err := tx.SelectContext(ctx, &allocs, `SELECT id, invoice_id, amount FROM billing_allocations
			WHERE tenant_id = $1 AND payment_id = $2 AND reversed_at IS NULL ORDER BY invoice_id`, tx.Scope.TenantID, p.ID); err != nil {
			return fmt.Errorf("error loading allocations of payment %s: %w", p.ID, err)
		}
		for _, a := range allocs {
			inv, err := invoiceGetTx(ctx, tx, a.InvoiceID, true)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE billing_allocations SET reversed_at = now() WHERE tenant_id = $1 AND id = $2`,
				tx.Scope.TenantID, a.ID); err != nil {
				return fmt.Errorf("error reversing allocation %s: %w", a.ID, err)
			}
			if _, err := invoiceApplyTx(ctx, tx, inv, -a.Amount, 0); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_payments SET allocated = 0, reversed_at = now(), reversal_reason = $3
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, p.ID, p.Reason); err != nil {
			return fmt.Errorf("error reversing payment %s: %w", p.ID, err)
		}
		if out, err = paymentGetTx(ctx, tx, p.ID); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.payment_reverse", EntityType: "billing_payment",
			EntityID: p.ID.String(), Before: before, After: out})
	})
	return out, err
}

// PaymentDetail is a payment with its allocations.
type PaymentDetail struct {
	Payment
	Allocations []AllocationRow `json:"allocations"`
}

func paymentGetTx(ctx context.Context, tx *store.Tx, id store.ID) (*PaymentDetail, error) {
	var d PaymentDetail
	if err := store.Get(ctx, tx, &d.Payment, "No such payment.", `SELECT `+paymentColumns+paymentFrom+
		` WHERE p.tenant_id = $1 AND p.id = $2`, tx.Scope.TenantID, id); err != nil {
		return nil, err
	}
	if err := tx.SelectContext(ctx, &d.Allocations, `SELECT a.id, a.payment_id, a.invoice_id, i.number, a.amount, p.received_on,
		p.method, p.reference, a.created_at, a.reversed_at FROM billing_allocations a
		JOIN billing_payments p ON p.tenant_id = a.tenant_id AND p.id = a.payment_id
		JOIN billing_invoices i ON i.tenant_id = a.tenant_id AND i.id = a.invoice_id
		WHERE a.tenant_id = $1 AND a.payment_id = $2 ORDER BY a.created_at, a.id`, tx.Scope.TenantID, id); err != nil {
		return nil, fmt.Errorf("error loading allocations of payment %s: %w", id, err)
	}
	return &d, nil
}

// PaymentGet returns a payment with its allocations. The actor needs BillingRead.
func PaymentGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*PaymentDetail, error) {
	var d *PaymentDetail
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		d, err = paymentGetTx(ctx, tx, id)
		return err
	})
	return d, err
}

// PaymentListParams filter and page the payment list, newest first.
type PaymentListParams struct {
	CustomerID *store.ID
	After      string
	Limit      int
}

// PaymentListResult is a page of payments.
type PaymentListResult struct {
	Payments []Payment
	Next     string
}

// PaymentList returns a page of payments, newest first. The actor needs BillingRead.
func PaymentList(ctx context.Context, db *store.DB, scope store.Scope, p PaymentListParams) (*PaymentListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var res *PaymentListResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		res, err = paymentPageTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// paymentWhere is the payment list's filter (without the page cursor) and its arguments.
func paymentWhere(p PaymentListParams, tenantID store.ID) (string, []any) {
	args := []any{tenantID}
	where := ` WHERE p.tenant_id = $1`
	if p.CustomerID != nil {
		args = append(args, *p.CustomerID)
		where += ` AND p.customer_id = $2`
	}
	return where, args
}

// paymentPageTx reads one page of the payment list (p.Limit rows after p.After) in tx. The caller checks
// the permission.
func paymentPageTx(ctx context.Context, tx *store.Tx, p PaymentListParams) (*PaymentListResult, error) {
	where, args := paymentWhere(p, tx.Scope.TenantID)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	q := `SELECT ` + paymentColumns + paymentFrom + where
	if p.After != "" {
		key, id, err := cursorDecode(p.After)
		if err != nil {
			return nil, errBadCursor
		}
		t, err := time.Parse(time.RFC3339Nano, key)
		if err != nil {
			return nil, errBadCursor
		}
		k, i := arg(t), arg(id)
		q += ` AND p.created_at <= ` + k + ` AND (p.created_at < ` + k + ` OR p.id < ` + i + `::uuid)`
	}
	q += ` ORDER BY p.created_at DESC, p.id DESC LIMIT ` + arg(p.Limit+1)
	var rows []Payment
	if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("error listing payments: %w", err)
	}
	res := &PaymentListResult{}
	if len(rows) > p.Limit {
		last := rows[p.Limit-1]
		rows = rows[:p.Limit]
		res.Next = cursorEncode(last.CreatedAt.UTC().Format(time.RFC3339Nano), last.ID)
	}
	res.Payments = rows
	return res, nil
}

// OpenInvoices lists a customer's invoices that take payments, oldest due first. The actor needs BillingRead.
func OpenInvoices(ctx context.Context, db *store.DB, scope store.Scope, customerID store.ID) ([]Invoice, error) {
	var out []Invoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `SELECT `+invoiceColumns+invoiceFrom+` WHERE i.tenant_id = $1 AND i.customer_id = $2
			AND i.status IN ('issued', 'partially_paid') ORDER BY i.due_date, i.number LIMIT 200`, tx.Scope.TenantID, customerID)
	})
	return out, err
}
