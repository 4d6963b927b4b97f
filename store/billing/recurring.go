package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Schedule is how often a recurring invoice repeats.
type Schedule string

// The schedules.
const (
	Monthly   Schedule = "monthly"
	Quarterly Schedule = "quarterly"
	Yearly    Schedule = "yearly"
)

// Schedules lists the schedules in the order forms offer them.
var Schedules = []Schedule{Monthly, Quarterly, Yearly}

func (s Schedule) months() int {
	switch s {
	case Quarterly:
		return 3
	case Yearly:
		return 12
	}
	return 1
}

// RecurringLine is a line of a recurring invoice's template.
type RecurringLine struct {
	Description string   `json:"description"`
	Quantity    Qty      `json:"quantity"`
	UnitPrice   int64    `json:"unit_price"`
	TaxRateID   store.ID `json:"tax_rate_id"`
}

// recurringLines is the jsonb column.
type recurringLines []RecurringLine

func (l *recurringLines) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("cannot scan %T into recurring lines", src)
	}
	return json.Unmarshal(b, (*[]RecurringLine)(l))
}

// Recurring is a recurring invoice: a template and its schedule. NextDate is nil once it has ended.
type Recurring struct {
	ID           store.ID       `db:"id" json:"id"`
	CustomerID   store.ID       `db:"customer_id" json:"customer_id"`
	CustomerName string         `db:"customer_name" json:"customer_name"`
	Name         string         `db:"name" json:"name"`
	Schedule     Schedule       `db:"schedule" json:"schedule"`
	StartDate    time.Time      `db:"start_date" json:"start_date"`
	EndDate      *time.Time     `db:"end_date" json:"end_date"`
	Occurrences  int            `db:"occurrences" json:"occurrences"`
	NextDate     *time.Time     `db:"next_date" json:"next_date"`
	AutoIssue    bool           `db:"auto_issue" json:"auto_issue"`
	Lines        recurringLines `db:"lines" json:"lines"`
	Notes        string         `db:"notes" json:"notes"`
	StoppedAt    *time.Time     `db:"stopped_at" json:"stopped_at"`
	CreatedAt    time.Time      `db:"created_at" json:"created_at"`
}

const recurringColumns = `r.id, r.customer_id, c.name AS customer_name, r.name, r.schedule, r.start_date, r.end_date, r.occurrences,
	r.next_date, r.auto_issue, r.lines, r.notes, r.stopped_at, r.created_at`

const recurringFrom = ` FROM billing_recurring r JOIN billing_customers c ON c.tenant_id = r.tenant_id AND c.id = r.customer_id`

// RecurringParams describe a recurring invoice. AutoIssue issues each invoice at once; otherwise each
// occurrence is a draft for someone to check and issue.
type RecurringParams struct {
	CustomerID store.ID
	Name       string
	Schedule   Schedule
	StartDate  time.Time
	EndDate    *time.Time
	AutoIssue  bool
	Lines      []RecurringLine
	Notes      string
}

// RecurringCreate adds a recurring invoice; its first occurrence is on StartDate. Lines are checked like
// invoice lines (positive quantity, known tax rate). The actor needs BillingWrite, and BillingIssue when
// AutoIssue is set.
func RecurringCreate(ctx context.Context, db *store.DB, scope store.Scope, p RecurringParams) (*Recurring, error) {
	var f store.FieldErrors
	p.Name = textField(&f, "name", p.Name, 1, 200, "Name the recurring invoice, like Monthly maintenance.")
	if !slices.Contains(Schedules, p.Schedule) {
		f.Add("schedule", "Choose monthly, quarterly or yearly.")
	}
	if p.StartDate.IsZero() {
		f.Add("start_date", "Enter the date of the first invoice.")
	}
	if p.EndDate != nil && p.EndDate.Before(p.StartDate) {
		f.Add("end_date", "Enter an end date after the start date, or none.")
	}
	if len(p.Lines) == 0 || len(p.Lines) > 100 {
		f.Add("lines", "Give between 1 and 100 lines.")
	}
	for _, l := range p.Lines {
		if l.Quantity <= 0 || l.Quantity > QtyMax {
			f.Add("quantity", "Enter a quantity greater than 0.")
		}
		if l.UnitPrice < 0 || l.UnitPrice > MaxAmount {
			f.Add("unit_price", "Enter a price of zero or more.")
		}
		if n := len([]rune(l.Description)); n < 1 || n > 500 {
			f.Add("description", "Enter what the line is for (up to 500 characters).")
		}
	}
	p.Notes = textField(&f, "notes", p.Notes, 0, 4000, "Keep the notes under 4,000 characters.")
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *Recurring
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		if p.AutoIssue {
			if err := permit(ctx, tx, identity.BillingIssue); err != nil {
				return err
			}
		}
		cust, err := customerGetTx(ctx, tx, p.CustomerID, false)
		if errors.Is(err, errCustomerNotFound) || (err == nil && cust.DeletedAt != nil) {
			return (store.FieldErrors{"customer_id": "Choose a customer from the list."}).Err()
		}
		if err != nil {
			return err
		}
		for _, l := range p.Lines {
			var ok bool
			if err := tx.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM billing_tax_rates WHERE tenant_id = $1 AND id = $2
				AND deleted_at IS NULL)`, tx.Scope.TenantID, l.TaxRateID); err != nil {
				return fmt.Errorf("error checking tax rate: %w", err)
			}
			if !ok {
				return (store.FieldErrors{"tax_rate_id": "Choose a tax rate from the list."}).Err()
			}
		}
		lines, err := json.Marshal(p.Lines)
		if err != nil {
			return fmt.Errorf("error encoding recurring lines: %w", err)
		}
		id := store.NewID()
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_recurring (id, customer_id, name, schedule, start_date, end_date,
			next_date, auto_issue, lines, notes) VALUES ($1, $2, $3, $4, $5, $6, $5, $7, $8, $9)`,
			id, p.CustomerID, p.Name, p.Schedule, p.StartDate, p.EndDate, p.AutoIssue, lines, p.Notes); err != nil {
			return fmt.Errorf("error creating recurring invoice: %w", err)
		}
		if out, err = recurringGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.recurring_create", EntityType: "billing_recurring",
			EntityID: id.String(), After: out})
	})
	return out, err
}

func recurringGetTx(ctx context.Context, tx *store.Tx, id store.ID, forUpdate bool) (*Recurring, error) {
	q := `SELECT ` + recurringColumns + recurringFrom + ` WHERE r.tenant_id = $1 AND r.id = $2`
	if forUpdate {
		q += ` FOR NO KEY UPDATE OF r`
	}
	var r Recurring
	err := tx.GetContext(ctx, &r, q, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.Errorf(store.NotFound, "No such recurring invoice.")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading recurring invoice %s: %w", id, err)
	}
	return &r, nil
}

// RecurringList returns the tenant's recurring invoices, running ones first by next date. The actor
// needs BillingRead.
func RecurringList(ctx context.Context, db *store.DB, scope store.Scope) ([]Recurring, error) {
	var out []Recurring
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `SELECT `+recurringColumns+recurringFrom+` WHERE r.tenant_id = $1
			ORDER BY r.next_date IS NULL, r.next_date, lower(r.name) LIMIT 500`, tx.Scope.TenantID)
	})
	return out, err
}

// RecurringStop ends a recurring invoice: no further occurrences. The actor needs BillingWrite.
func RecurringStop(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Recurring, error) {
	var out *Recurring
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		before, err := recurringGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if before.NextDate == nil {
			return store.Errorf(store.Invalid, "%s has already ended.", before.Name)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_recurring SET next_date = NULL, stopped_at = now() WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error stopping recurring invoice %s: %w", id, err)
		}
		if out, err = recurringGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.recurring_stop", EntityType: "billing_recurring",
			EntityID: id.String(), Before: before, After: out})
	})
	return out, err
}

// RecurringArgs is the periodic job that makes the due occurrences of every tenant's recurring invoices.
type RecurringArgs struct{}

// Kind is the River job kind.
func (RecurringArgs) Kind() string { return "billing_recurring" }

// RecurringEvery is the period of the recurring job.
const RecurringEvery = time.Hour

// InsertOpts makes the job unique per period.
func (RecurringArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: RecurringEvery}}
}

// maxCatchUp bounds the occurrences one run makes for one template (a template started years ago).
const maxCatchUp = 36

// RecurringRun makes, in scope's tenant, every occurrence due by today: a draft with the template's
// lines, issued at once when the template says so. Each template is locked while it runs and each
// occurrence has a run row keyed by its date, so a repeated or concurrent run makes nothing twice; a
// missed run is caught up (each missed date gets its invoice). It returns the invoices made. Jobs run it
// as the system.
func RecurringRun(ctx context.Context, db *store.DB, scope store.Scope) (int, error) {
	made := 0
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		today, err := tenantToday(ctx, tx)
		if err != nil {
			return err
		}
		var due []store.ID
		if err := tx.SelectContext(ctx, &due, `SELECT id FROM billing_recurring WHERE tenant_id = $1 AND next_date <= $2
			ORDER BY next_date, id LIMIT 1000`, tx.Scope.TenantID, today); err != nil {
			return fmt.Errorf("error finding due recurring invoices: %w", err)
		}
		settings, err := settingsGetTx(ctx, tx)
		if err != nil {
			return err
		}
		for _, id := range due {
			r, err := recurringGetTx(ctx, tx, id, true)
			if err != nil {
				return err
			}
			for n := 0; r.NextDate != nil && !r.NextDate.After(today) && n < maxCatchUp; n++ {
				runDate := *r.NextDate
				// The template row is locked, so runs of it queue here; the run row (primary key on the date)
				// makes a second run for the same date find it done.
				var done bool
				if err := tx.GetContext(ctx, &done, `SELECT EXISTS (SELECT 1 FROM billing_recurring_runs WHERE tenant_id = $1
					AND recurring_id = $2 AND run_date = $3)`, tx.Scope.TenantID, r.ID, runDate); err != nil {
					return fmt.Errorf("error checking run of recurring invoice %s: %w", r.ID, err)
				}
				if !done {
					invID := store.NewID()
					if err := recurringOccurrenceTx(ctx, tx, r, invID, runDate, settings.PricesIncludeTax); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO billing_recurring_runs (recurring_id, run_date, invoice_id) VALUES ($1, $2, $3)`,
						r.ID, runDate, invID); err != nil {
						return fmt.Errorf("error recording run of recurring invoice %s: %w", r.ID, err)
					}
					made++
				}
				if _, err := tx.ExecContext(ctx, `UPDATE billing_recurring SET occurrences = occurrences + 1,
					next_date = CASE WHEN end_date IS NULL OR (start_date + (occurrences + 1) * $3 * interval '1 month')::date <= end_date
						THEN (start_date + (occurrences + 1) * $3 * interval '1 month')::date END
					WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, r.ID, r.Schedule.months()); err != nil {
					return fmt.Errorf("error advancing recurring invoice %s: %w", r.ID, err)
				}
				if r, err = recurringGetTx(ctx, tx, id, false); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return made, err
}

// recurringOccurrenceTx makes one occurrence's invoice (and issues it when the template says so).
func recurringOccurrenceTx(ctx context.Context, tx *store.Tx, r *Recurring, invID store.ID, runDate time.Time, inclusive bool) error {
	cust, err := customerGetTx(ctx, tx, r.CustomerID, false)
	if err != nil {
		return err
	}
	notes := r.Notes
	if notes != "" {
		notes += "\n"
	}
	notes += fmt.Sprintf("%s, %s", r.Name, runDate.Format("January 2006"))
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_invoices (id, customer_id, currency, prices_include_tax, terms_days, notes)
		VALUES ($1, $2, $3, $4, $5, $6)`, invID, cust.ID, cust.Currency, inclusive, cust.TermsDays, notes); err != nil {
		return fmt.Errorf("error creating invoice of recurring %s: %w", r.ID, err)
	}
	for i, l := range r.Lines {
		var rate TaxRate
		if err := tx.GetContext(ctx, &rate, `SELECT `+taxRateColumns+` FROM billing_tax_rates WHERE tenant_id = $1 AND id = $2`,
			tx.Scope.TenantID, l.TaxRateID); err != nil {
			return fmt.Errorf("error loading tax rate of recurring %s: %w", r.ID, err)
		}
		net, tax, gross, err := LineAmounts(l.Quantity, l.UnitPrice, rate.RateBP, inclusive)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_invoice_lines (invoice_id, id, position, description, quantity,
			unit_price, tax_rate_id, tax_name, tax_rate_bp, net, tax, gross) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			invID, store.NewID(), i, l.Description, l.Quantity, l.UnitPrice, rate.ID, rate.Name, rate.RateBP, net, tax, gross); err != nil {
			return fmt.Errorf("error adding line to invoice of recurring %s: %w", r.ID, err)
		}
	}
	inv, err := invoiceRetotalTx(ctx, tx, invID)
	if err != nil {
		return err
	}
	if err := audit.Record(ctx, tx, audit.RecordParams{Action: "billing.invoice_create", EntityType: "billing_invoice",
		EntityID: invID.String(), After: map[string]any{"recurring_id": r.ID, "run_date": runDate.Format("2006-01-02"), "invoice": inv}}); err != nil {
		return err
	}
	if r.AutoIssue && cust.DeletedAt == nil {
		if _, err := invoiceIssueTx(ctx, tx, InvoiceIssueParams{ID: invID}); err != nil {
			return err
		}
	}
	return nil
}
