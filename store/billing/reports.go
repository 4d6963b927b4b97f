package billing

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
	"ledgerline/store/identity"
)

// AgingRow is what one customer owes in one currency, by how long it is past due. Amounts are open
// balances in minor units of Currency; rows are never summed across currencies.
type AgingRow struct {
	CustomerID   *store.ID `db:"customer_id" json:"customer_id,omitempty"`
	CustomerName string    `db:"customer_name" json:"customer_name,omitempty"`
	Currency     string    `db:"currency" json:"currency"`
	Current      int64     `db:"current" json:"current"`
	Days1To30    int64     `db:"d1_30" json:"days_1_30"`
	Days31To60   int64     `db:"d31_60" json:"days_31_60"`
	Days61To90   int64     `db:"d61_90" json:"days_61_90"`
	Over90       int64     `db:"d90_plus" json:"days_over_90"`
	Total        int64     `db:"total" json:"total"`
}

// AgingReport is the receivables aging on a date: a row per customer and currency, and a total row per
// currency.
type AgingReport struct {
	AsOf   time.Time
	Rows   []AgingRow
	Totals []AgingRow
}

// AgingParams choose the date the aging is computed on (zero: today in the tenant's zone).
type AgingParams struct {
	AsOf time.Time
}

// ReceivablesAging buckets the open balances of issued invoices by days past their due date on AsOf:
// current (not yet due), 1–30, 31–60, 61–90 and over 90 days, per customer and currency, with totals per
// currency. The actor needs BillingRead.
func ReceivablesAging(ctx context.Context, db *store.DB, scope store.Scope, p AgingParams) (*AgingReport, error) {
	rep := &AgingReport{}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		asOf := p.AsOf
		if asOf.IsZero() {
			var err error
			if asOf, err = tenantToday(ctx, tx); err != nil {
				return err
			}
		}
		rep.AsOf = asOf
		const buckets = `
			coalesce(sum(balance) FILTER (WHERE age <= 0), 0)::bigint AS current,
			coalesce(sum(balance) FILTER (WHERE age BETWEEN 1 AND 30), 0)::bigint AS d1_30,
			coalesce(sum(balance) FILTER (WHERE age BETWEEN 31 AND 60), 0)::bigint AS d31_60,
			coalesce(sum(balance) FILTER (WHERE age BETWEEN 61 AND 90), 0)::bigint AS d61_90,
			coalesce(sum(balance) FILTER (WHERE age > 90), 0)::bigint AS d90_plus,
			coalesce(sum(balance), 0)::bigint AS total`
		const open = `WITH open AS (
			SELECT i.customer_id, c.name AS customer_name, i.currency, i.balance, ($2::date - i.due_date) AS age
			FROM billing_invoices i JOIN billing_customers c ON c.tenant_id = i.tenant_id AND c.id = i.customer_id
			WHERE i.tenant_id = $1 AND i.status IN ('issued', 'partially_paid') AND i.issue_date <= $2::date)`
		if err := tx.SelectContext(ctx, &rep.Rows, open+` SELECT customer_id, customer_name, currency,`+buckets+
			` FROM open GROUP BY customer_id, customer_name, currency ORDER BY currency, lower(customer_name), customer_id`,
			tx.Scope.TenantID, asOf); err != nil {
			return fmt.Errorf("error computing receivables aging: %w", err)
		}
		if err := tx.SelectContext(ctx, &rep.Totals, open+` SELECT NULL::uuid AS customer_id, '' AS customer_name, currency,`+buckets+
			` FROM open GROUP BY currency ORDER BY currency`, tx.Scope.TenantID, asOf); err != nil {
			return fmt.Errorf("error totalling receivables aging: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// RevenueMonth is one month's billing in one currency: Invoiced is the net (excluding tax) of the
// invoices issued that month (void ones excluded), Credited the credit notes issued that month, and
// Collected the payments received that month (reversed ones excluded).
type RevenueMonth struct {
	Month     time.Time `db:"month" json:"month"`
	Currency  string    `db:"currency" json:"currency"`
	Invoiced  int64     `db:"invoiced" json:"invoiced"`
	Credited  int64     `db:"credited" json:"credited"`
	Collected int64     `db:"collected" json:"collected"`
}

// RevenueParams choose the months: From and To are any days of the first and last month (To zero: this
// month; From zero: eleven months before To).
type RevenueParams struct {
	From, To time.Time
}

// RevenueByMonth returns, per month and currency, what was invoiced, credited and collected, with a row
// for every month of the range and every currency that has any figure in it. The actor needs BillingRead.
func RevenueByMonth(ctx context.Context, db *store.DB, scope store.Scope, p RevenueParams) ([]RevenueMonth, error) {
	var out []RevenueMonth
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		to := p.To
		if to.IsZero() {
			var err error
			if to, err = tenantToday(ctx, tx); err != nil {
				return err
			}
		}
		to = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC)
		from := p.From
		if from.IsZero() {
			from = to.AddDate(0, -11, 0)
		}
		from = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		if from.After(to) {
			return store.Errorf(store.Invalid, "Choose a first month before the last one.")
		}
		if to.Sub(from) > 5*366*24*time.Hour {
			return store.Errorf(store.Invalid, "Choose at most five years.")
		}
		return tx.SelectContext(ctx, &out, `
			WITH months AS (SELECT generate_series($2::date, $3::date, interval '1 month')::date AS month),
			inv AS (SELECT date_trunc('month', issue_date)::date AS month, currency, sum(subtotal) AS v FROM billing_invoices
				WHERE tenant_id = $1 AND status NOT IN ('draft', 'void') AND issue_date >= $2::date
				AND issue_date < ($3::date + interval '1 month') GROUP BY 1, 2),
			cn AS (SELECT date_trunc('month', issue_date)::date AS month, currency, sum(amount) AS v FROM billing_credit_notes
				WHERE tenant_id = $1 AND issue_date >= $2::date AND issue_date < ($3::date + interval '1 month') GROUP BY 1, 2),
			pay AS (SELECT date_trunc('month', received_on)::date AS month, currency, sum(amount) AS v FROM billing_payments
				WHERE tenant_id = $1 AND reversed_at IS NULL AND received_on >= $2::date
				AND received_on < ($3::date + interval '1 month') GROUP BY 1, 2),
			currencies AS (SELECT currency FROM inv UNION SELECT currency FROM cn UNION SELECT currency FROM pay)
			SELECT m.month, cur.currency, coalesce(inv.v, 0)::bigint AS invoiced, coalesce(cn.v, 0)::bigint AS credited,
				coalesce(pay.v, 0)::bigint AS collected
			FROM months m CROSS JOIN currencies cur
			LEFT JOIN inv ON inv.month = m.month AND inv.currency = cur.currency
			LEFT JOIN cn ON cn.month = m.month AND cn.currency = cur.currency
			LEFT JOIN pay ON pay.month = m.month AND pay.currency = cur.currency
			ORDER BY cur.currency, m.month`, tx.Scope.TenantID, from, to)
	})
	return out, err
}
