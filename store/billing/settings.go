package billing

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Settings are a tenant's billing settings. A tenant without a row has the defaults (version 0).
type Settings struct {
	PricesIncludeTax    bool      `db:"prices_include_tax" json:"prices_include_tax"`
	InvoiceSeries       string    `db:"invoice_series" json:"invoice_series"`
	CreditNoteSeries    string    `db:"credit_note_series" json:"credit_note_series"`
	DefaultTermsDays    int       `db:"default_terms_days" json:"default_terms_days"`
	PaymentInstructions string    `db:"payment_instructions" json:"payment_instructions"`
	SenderAddress       string    `db:"sender_address" json:"sender_address"`
	ReminderDays        Days      `db:"reminder_days" json:"reminder_days"`
	StockHandoff        bool      `db:"stock_handoff" json:"stock_handoff"`
	UpdatedAt           time.Time `db:"updated_at" json:"updated_at"`
	Version             int       `db:"version" json:"version"`
}

// DefaultSettings are the settings of a tenant that never saved any.
func DefaultSettings() Settings {
	return Settings{InvoiceSeries: "INV", CreditNoteSeries: "CN", DefaultTermsDays: 30, ReminderDays: Days{7, 14, 30}}
}

const settingsColumns = `prices_include_tax, invoice_series, credit_note_series, default_terms_days,
	payment_instructions, sender_address, reminder_days, stock_handoff, updated_at, version`

func settingsGetTx(ctx context.Context, tx *store.Tx) (Settings, error) {
	s := DefaultSettings()
	err := tx.GetContext(ctx, &s, `SELECT `+settingsColumns+` FROM billing_settings WHERE tenant_id = $1`, tx.Scope.TenantID)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return s, fmt.Errorf("error loading billing settings: %w", err)
	}
	return s, nil
}

// SettingsGet returns scope's billing settings. The actor needs BillingRead.
func SettingsGet(ctx context.Context, db *store.DB, scope store.Scope) (Settings, error) {
	var s Settings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		s, err = settingsGetTx(ctx, tx)
		return err
	})
	return s, err
}

var seriesPattern = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,9}$`)

// SettingsUpdateParams are the new settings; Version is the version the editor saw (0 for the defaults).
// ReminderDays nil keeps the current stages; an empty list turns reminders off.
type SettingsUpdateParams struct {
	PricesIncludeTax    bool
	InvoiceSeries       string
	CreditNoteSeries    string
	DefaultTermsDays    int
	PaymentInstructions string
	SenderAddress       string
	ReminderDays        Days
	StockHandoff        bool
	Version             int
}

// SettingsUpdate saves scope's billing settings. Series names are 1–10 upper-case letters and digits
// starting with a letter; changing a series starts its numbering at 1 for the new name (the old series'
// numbers stay as they are). A stale Version is a Conflict. The actor needs AdminSettings.
func SettingsUpdate(ctx context.Context, db *store.DB, scope store.Scope, p SettingsUpdateParams) (Settings, error) {
	var f store.FieldErrors
	if !seriesPattern.MatchString(p.InvoiceSeries) {
		f.Add("invoice_series", "Enter 1 to 10 capital letters or digits, starting with a letter, like INV.")
	}
	if !seriesPattern.MatchString(p.CreditNoteSeries) {
		f.Add("credit_note_series", "Enter 1 to 10 capital letters or digits, starting with a letter, like CN.")
	} else if p.CreditNoteSeries == p.InvoiceSeries {
		f.Add("credit_note_series", "Use a series different from the invoices'.")
	}
	if p.DefaultTermsDays < 0 || p.DefaultTermsDays > 365 {
		f.Add("default_terms_days", "Enter payment terms between 0 and 365 days.")
	}
	p.PaymentInstructions = textField(&f, "payment_instructions", p.PaymentInstructions, 0, 1000, "Keep the payment instructions under 1,000 characters.")
	p.SenderAddress = textField(&f, "sender_address", p.SenderAddress, 0, 1000, "Keep the address under 1,000 characters.")
	if len(p.ReminderDays) > 6 {
		f.Add("reminder_days", "Enter at most 6 reminder days.")
	}
	for i, d := range p.ReminderDays {
		if d < 1 || d > 365 || (i > 0 && d <= p.ReminderDays[i-1]) {
			f.Add("reminder_days", "Enter days between 1 and 365 in ascending order, like 7, 14, 30.")
		}
	}
	if err := f.Err(); err != nil {
		return Settings{}, err
	}
	var after Settings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_settings (tenant_id, version) VALUES ($1, 0)
			ON CONFLICT (tenant_id) DO NOTHING`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error creating billing settings: %w", err)
		}
		var before Settings
		if err := tx.GetContext(ctx, &before, `SELECT `+settingsColumns+` FROM billing_settings WHERE tenant_id = $1 FOR UPDATE`,
			tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error loading billing settings: %w", err)
		}
		if before.Version != p.Version {
			return store.Errorf(store.Conflict, "The billing settings were changed by someone else. Reload the page and try again.")
		}
		if p.ReminderDays == nil {
			p.ReminderDays = before.ReminderDays
		}
		if err := tx.GetContext(ctx, &after, `
			UPDATE billing_settings SET prices_include_tax = $2, invoice_series = $3, credit_note_series = $4,
				default_terms_days = $5, payment_instructions = $6, sender_address = $7, reminder_days = $8::integer[],
				stock_handoff = $9, updated_at = now(), version = version + 1
			WHERE tenant_id = $1 RETURNING `+settingsColumns,
			tx.Scope.TenantID, p.PricesIncludeTax, p.InvoiceSeries, p.CreditNoteSeries, p.DefaultTermsDays,
			p.PaymentInstructions, p.SenderAddress, p.ReminderDays, p.StockHandoff); err != nil {
			return fmt.Errorf("error saving billing settings: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.settings_update", EntityType: "billing_settings",
			EntityID: tx.Scope.TenantID.String(), Before: before, After: after})
	})
	return after, err
}

// TaxRate is a named tax rate in basis points (1900 is 19 %).
type TaxRate struct {
	ID        store.ID   `db:"id" json:"id"`
	Name      string     `db:"name" json:"name"`
	RateBP    int        `db:"rate_bp" json:"rate_bp"`
	DeletedAt *time.Time `db:"deleted_at" json:"deleted_at,omitempty"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	Version   int        `db:"version" json:"version"`
}

const taxRateColumns = `id, name, rate_bp, deleted_at, created_at, version`

// TaxRateCreateParams names a new rate.
type TaxRateCreateParams struct {
	Name   string
	RateBP int
}

// TaxRateCreate adds a tax rate. Names are unique among live rates (any case). The actor needs AdminSettings.
func TaxRateCreate(ctx context.Context, db *store.DB, scope store.Scope, p TaxRateCreateParams) (*TaxRate, error) {
	var f store.FieldErrors
	p.Name = textField(&f, "name", p.Name, 1, 100, "Enter the rate's name (up to 100 characters), like Standard.")
	if p.RateBP < 0 || p.RateBP > 10000 {
		f.Add("rate", "Enter a rate between 0 and 100.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var r TaxRate
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &r, `INSERT INTO billing_tax_rates (id, name, rate_bp) VALUES ($1, $2, $3) RETURNING `+taxRateColumns,
			store.NewID(), p.Name, p.RateBP)
		if store.IsUniqueViolation(err, "billing_tax_rates_name_key") {
			return (store.FieldErrors{"name": "A tax rate with that name exists. Choose another name."}).Err()
		}
		if err != nil {
			return fmt.Errorf("error creating tax rate: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.tax_rate_create", EntityType: "billing_tax_rate",
			EntityID: r.ID.String(), After: r})
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// TaxRateDelete retires a rate: it leaves the choices of new lines; lines that use it keep it. The actor
// needs AdminSettings.
func TaxRateDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		var before TaxRate
		if err := store.Get(ctx, tx, &before, "No such tax rate.", `SELECT `+taxRateColumns+` FROM billing_tax_rates
			WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE`, tx.Scope.TenantID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE billing_tax_rates SET deleted_at = now(), version = version + 1
			WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
			return fmt.Errorf("error deleting tax rate %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.tax_rate_delete", EntityType: "billing_tax_rate",
			EntityID: id.String(), Before: before})
	})
}

// TaxRateList returns the live tax rates by rate, then name. The actor needs BillingRead.
func TaxRateList(ctx context.Context, db *store.DB, scope store.Scope) ([]TaxRate, error) {
	var out []TaxRate
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `SELECT `+taxRateColumns+` FROM billing_tax_rates
			WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY rate_bp DESC, lower(name)`, tx.Scope.TenantID)
	})
	return out, err
}

// Days is a list of day counts stored as integer[] (reminder stages).
type Days []int

// String writes the days as people type them: "7, 14, 30".
func (d Days) String() string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

// ParseDays reads "7, 14, 30" (or "" for none).
func ParseDays(s string) (Days, error) {
	out := Days{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, store.Errorf(store.Invalid, "Enter whole numbers of days separated by commas, like 7, 14, 30.")
		}
		out = append(out, v)
	}
	return out, nil
}

// Scan reads an integer[] column (text form "{7,14,30}").
func (d *Days) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("cannot scan %T into billing.Days", src)
	}
	days, err := ParseDays(strings.Trim(s, "{}"))
	if err != nil {
		return fmt.Errorf("cannot scan %q into billing.Days", s)
	}
	*d = days
	return nil
}

// Value writes the days as an integer[] literal.
func (d Days) Value() (driver.Value, error) {
	return "{" + strings.ReplaceAll(d.String(), " ", "") + "}", nil
}
