package billing

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// StatementLine is one movement of a customer's account: an invoice (+), a credit note (−), a payment (−)
// or a payment's reversal (+), with the running balance after it.
type StatementLine struct {
	Date      time.Time `db:"day" json:"date"`
	Kind      string    `db:"kind" json:"kind" enum:"invoice,credit_note,payment,payment_reversal"`
	Reference string    `db:"reference" json:"reference"`
	Amount    int64     `db:"amount" json:"amount"`
	Balance   int64     `db:"-" json:"balance"`
	At        time.Time `db:"at" json:"-"`
}

// Statement is a customer's account over a period in the customer's currency: what they owed at the
// start, every movement, and what they owe at the end (negative: credit in their favour).
type Statement struct {
	CustomerID store.ID        `json:"customer_id"`
	Currency   string          `json:"currency"`
	From, To   time.Time       `json:"-"`
	Opening    int64           `json:"opening"`
	Lines      []StatementLine `json:"lines"`
	Closing    int64           `json:"closing"`
}

// StatementParams choose the customer and the period (dates inclusive; zero From: the first of this
// year, zero To: today).
type StatementParams struct {
	CustomerID store.ID
	From, To   time.Time
}

// CustomerStatement returns the customer's statement: opening balance (issued, non-void invoices minus
// credit notes minus payments, plus reversals, before From), the movements from From to To, and the
// closing balance. The actor needs BillingRead.
func CustomerStatement(ctx context.Context, db *store.DB, scope store.Scope, p StatementParams) (*Statement, error) {
	st := &Statement{CustomerID: p.CustomerID}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		cust, err := customerGetTx(ctx, tx, p.CustomerID, false)
		if err != nil {
			return err
		}
		st.Currency = cust.Currency
		today, err := tenantToday(ctx, tx)
		if err != nil {
			return err
		}
		if p.To.IsZero() {
			p.To = today
		}
		if p.From.IsZero() {
			p.From = time.Date(p.To.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if p.From.After(p.To) {
			return store.Errorf(store.Invalid, "Choose a first day before the last one.")
		}
		st.From, st.To = p.From, p.To
		// Every movement of the account, each with the day it counts on (reversals on the day they happened,
		// in the tenant's zone).
		const movements = `
			SELECT i.issue_date AS day, i.issued_at AS at, 'invoice' AS kind, i.number AS reference, i.total AS amount
			FROM billing_invoices i WHERE i.tenant_id = $1 AND i.customer_id = $2 AND i.status NOT IN ('draft', 'void')
			UNION ALL
			SELECT n.issue_date, n.created_at, 'credit_note', n.number, -n.amount
			FROM billing_credit_notes n WHERE n.tenant_id = $1 AND n.customer_id = $2
			UNION ALL
			SELECT p.received_on, p.created_at, 'payment', coalesce(nullif(p.reference, ''), 'Payment'), -p.amount
			FROM billing_payments p WHERE p.tenant_id = $1 AND p.customer_id = $2
			UNION ALL
			SELECT (p.reversed_at AT TIME ZONE (SELECT time_zone FROM tenants WHERE id = $1))::date, p.reversed_at,
				'payment_reversal', coalesce(nullif(p.reference, ''), 'Payment') || ' reversed', p.amount
			FROM billing_payments p WHERE p.tenant_id = $1 AND p.customer_id = $2 AND p.reversed_at IS NOT NULL`
		if err := tx.GetContext(ctx, &st.Opening, `SELECT coalesce(sum(amount), 0)::bigint FROM (`+movements+`) m WHERE day < $3::date`,
			tx.Scope.TenantID, p.CustomerID, p.From); err != nil {
			return fmt.Errorf("error computing opening balance: %w", err)
		}
		if err := tx.SelectContext(ctx, &st.Lines, `SELECT day, at, kind, reference, amount FROM (`+movements+`) m
			WHERE day >= $3::date AND day <= $4::date ORDER BY day, at LIMIT 5001`, tx.Scope.TenantID, p.CustomerID, p.From, p.To); err != nil {
			return fmt.Errorf("error loading statement lines: %w", err)
		}
		if len(st.Lines) > 5000 {
			return store.Errorf(store.Invalid, "The period has more than 5,000 movements. Choose a shorter period.")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bal := st.Opening
	for i := range st.Lines {
		bal += st.Lines[i].Amount
		st.Lines[i].Balance = bal
	}
	st.Closing = bal
	return st, nil
}
