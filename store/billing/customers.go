package billing

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Customer is someone the tenant bills. The tax id and the bank details are sealed at rest with AES-GCM
// (the data key, bound to the customer's id); screens show them masked (TaxIDMasked, BankMasked) and only
// CustomerSecrets opens them.
type Customer struct {
	ID        store.ID   `db:"id" json:"id"`
	Name      string     `db:"name" json:"name"`
	Email     string     `db:"email" json:"email"`
	Address   string     `db:"address" json:"address"`
	TaxIDHint string     `db:"tax_id_hint" json:"-"`
	BankHint  string     `db:"bank_hint" json:"-"`
	HasTaxID  bool       `db:"has_tax_id" json:"has_tax_id"`
	HasBank   bool       `db:"has_bank" json:"has_bank"`
	Currency  string     `db:"currency" json:"currency"`
	TermsDays int        `db:"terms_days" json:"terms_days"`
	Notes     string     `db:"notes" json:"notes"`
	DeletedAt *time.Time `db:"deleted_at" json:"deleted_at,omitempty"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
	UpdatedAt time.Time  `db:"updated_at" json:"updated_at"`
	Version   int        `db:"version" json:"version"`
}

// TaxIDMasked is the tax id as screens show it: "•••• 4321", or "" when there is none.
func (c Customer) TaxIDMasked() string { return masked(c.HasTaxID, c.TaxIDHint) }

// BankMasked is the bank details as screens show them.
func (c Customer) BankMasked() string { return masked(c.HasBank, c.BankHint) }

func masked(has bool, hint string) string {
	if !has {
		return ""
	}
	return "•••• " + hint
}

const customerColumns = `c.id, c.name, c.email, c.address, c.tax_id_hint, c.bank_hint, c.tax_id_sealed IS NOT NULL AS has_tax_id,
	c.bank_sealed IS NOT NULL AS has_bank, c.currency, c.terms_days, c.notes, c.deleted_at, c.created_at, c.updated_at, c.version`

var (
	errCustomerNotFound = store.Errorf(store.NotFound, "No such customer.")
	errCustomerChanged  = store.Errorf(store.Conflict,
		"This customer was changed by someone else while you were editing. Reload the page to see the changes, then try again.")
)

// CustomerFields are a customer's editable fields. TaxID and Bank are the clear values to seal; nil keeps
// the stored value on update, "" removes it.
type CustomerFields struct {
	Name      string
	Email     string
	Address   string
	TaxID     *string
	Bank      *string
	Currency  string
	TermsDays int
	Notes     string
}

func (p *CustomerFields) validate() error {
	var f store.FieldErrors
	p.Name = textField(&f, "name", p.Name, 1, 200, "Enter the customer's name (up to 200 characters).")
	p.Email = strings.TrimSpace(p.Email)
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email || len(p.Email) > 254 {
			f.Add("email", "Enter an e-mail address like accounts@example.com, or leave it empty.")
		}
	}
	p.Address = textField(&f, "address", p.Address, 0, 1000, "Keep the address under 1,000 characters.")
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	if !store.CurrencyKnown(p.Currency) {
		f.Add("currency", "Choose a currency from the list.")
	}
	if p.TermsDays < 0 || p.TermsDays > 365 {
		f.Add("terms_days", "Enter payment terms between 0 and 365 days.")
	}
	p.Notes = textField(&f, "notes", p.Notes, 0, 4000, "Keep the notes under 4,000 characters.")
	if p.TaxID != nil {
		v := textField(&f, "tax_id", *p.TaxID, 0, 64, "Keep the tax id under 64 characters.")
		p.TaxID = &v
	}
	if p.Bank != nil {
		v := textField(&f, "bank", *p.Bank, 0, 200, "Keep the bank details under 200 characters.")
		p.Bank = &v
	}
	return f.Err()
}

// hint is the last four characters of v (fewer for short values), kept in clear for the masked display.
func hint(v string) string {
	r := []rune(strings.ReplaceAll(v, " ", ""))
	n := 4
	if len(r) <= 6 {
		n = len(r) / 3
	}
	return string(r[len(r)-n:])
}

// seal returns the sealed value and its hint; "" gives nil (no value).
func seal(tx *store.Tx, id store.ID, field, v string) ([]byte, string, error) {
	if v == "" {
		return nil, "", nil
	}
	if tx.Secrets() == nil {
		return nil, "", errors.New("error sealing customer data: no data key configured")
	}
	return tx.Secrets().Seal([]byte(v), []byte("billing_customer:"+field+":"+id.String())), hint(v), nil
}

// CustomerCreate adds a customer. The actor needs BillingWrite.
func CustomerCreate(ctx context.Context, db *store.DB, scope store.Scope, p CustomerFields) (*Customer, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var c Customer
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		id := store.NewID()
		var taxID, bank string
		if p.TaxID != nil {
			taxID = *p.TaxID
		}
		if p.Bank != nil {
			bank = *p.Bank
		}
		taxSealed, taxHint, err := seal(tx, id, "tax_id", taxID)
		if err != nil {
			return err
		}
		bankSealed, bankHint, err := seal(tx, id, "bank", bank)
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &c, `
			INSERT INTO billing_customers AS c (id, name, email, address, tax_id_sealed, tax_id_hint, bank_sealed, bank_hint,
				currency, terms_days, notes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING `+customerColumns,
			id, p.Name, p.Email, p.Address, taxSealed, taxHint, bankSealed, bankHint, p.Currency, p.TermsDays, p.Notes); err != nil {
			return fmt.Errorf("error creating customer: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.customer_create", EntityType: "billing_customer",
			EntityID: c.ID.String(), After: c})
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func customerGetTx(ctx context.Context, tx *store.Tx, id store.ID, forUpdate bool) (*Customer, error) {
	q := `SELECT ` + customerColumns + ` FROM billing_customers c WHERE c.tenant_id = $1 AND c.id = $2`
	if forUpdate {
		q += ` FOR NO KEY UPDATE`
	}
	var c Customer
	err := tx.GetContext(ctx, &c, q, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errCustomerNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading customer %s: %w", id, err)
	}
	return &c, nil
}

// CustomerGet returns one customer, deleted or not. Another tenant's customer is NotFound. The actor
// needs BillingRead.
func CustomerGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Customer, error) {
	var c *Customer
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		c, err = customerGetTx(ctx, tx, id, false)
		return err
	})
	return c, err
}

// CustomerSecretValues are a customer's opened tax id and bank details.
type CustomerSecretValues struct {
	TaxID string
	Bank  string
}

// CustomerSecrets opens the customer's sealed values (for printing on documents and for the edit form of
// people who may change them). The opening is audited. The actor needs BillingWrite.
func CustomerSecrets(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (CustomerSecretValues, error) {
	var out CustomerSecretValues
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		var err error
		out, err = customerSecretsTx(ctx, tx, id)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.customer_secrets_view", EntityType: "billing_customer",
			EntityID: id.String()})
	})
	return out, err
}

func customerSecretsTx(ctx context.Context, tx *store.Tx, id store.ID) (CustomerSecretValues, error) {
	var row struct {
		Tax  []byte `db:"tax_id_sealed"`
		Bank []byte `db:"bank_sealed"`
	}
	if err := store.Get(ctx, tx, &row, "No such customer.", `SELECT tax_id_sealed, bank_sealed FROM billing_customers
		WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
		return CustomerSecretValues{}, err
	}
	var out CustomerSecretValues
	for _, s := range []struct {
		sealed []byte
		field  string
		into   *string
	}{{row.Tax, "tax_id", &out.TaxID}, {row.Bank, "bank", &out.Bank}} {
		if s.sealed == nil {
			continue
		}
		plain, err := tx.Secrets().Open(s.sealed, []byte("billing_customer:"+s.field+":"+id.String()))
		if err != nil {
			return out, fmt.Errorf("error opening %s of customer %s: %w", s.field, id, err)
		}
		*s.into = string(plain)
	}
	return out, nil
}

// CustomerUpdateParams changes a customer; Version is the version the editor saw.
type CustomerUpdateParams struct {
	ID      store.ID
	Version int
	CustomerFields
}

// CustomerUpdate changes a customer. The currency can change only while the customer has no invoices and
// no payments. A stale Version is a Conflict. The actor needs BillingWrite.
func CustomerUpdate(ctx context.Context, db *store.DB, scope store.Scope, p CustomerUpdateParams) (*Customer, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	var after Customer
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		before, err := customerGetTx(ctx, tx, p.ID, true)
		if err != nil {
			return err
		}
		if before.Version != p.Version {
			return errCustomerChanged
		}
		if before.DeletedAt != nil {
			return store.Errorf(store.Invalid, "%s is deleted. Restore the customer before changing it.", before.Name)
		}
		if before.Currency != p.Currency {
			var used bool
			if err := tx.GetContext(ctx, &used, `SELECT EXISTS (SELECT 1 FROM billing_invoices WHERE tenant_id = $1 AND customer_id = $2)
				OR EXISTS (SELECT 1 FROM billing_payments WHERE tenant_id = $1 AND customer_id = $2)`, tx.Scope.TenantID, p.ID); err != nil {
				return fmt.Errorf("error checking documents of customer %s: %w", p.ID, err)
			}
			if used {
				return (store.FieldErrors{"currency": "The currency can change only while the customer has no invoices or payments."}).Err()
			}
		}
		sets := []string{}
		args := []any{tx.Scope.TenantID, p.ID, p.Name, p.Email, p.Address, p.Currency, p.TermsDays, p.Notes}
		for _, s := range []struct {
			field string
			v     *string
		}{{"tax_id", p.TaxID}, {"bank", p.Bank}} {
			if s.v == nil {
				continue
			}
			sealed, h, err := seal(tx, p.ID, s.field, *s.v)
			if err != nil {
				return err
			}
			args = append(args, sealed, h)
			col := s.field
			sets = append(sets, fmt.Sprintf(`, %s_sealed = $%d, %s_hint = $%d`, col, len(args)-1, col, len(args)))
		}
		q := `UPDATE billing_customers c SET name = $3, email = $4, address = $5, currency = $6, terms_days = $7, notes = $8` +
			strings.Join(sets, "") + `, updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2 RETURNING ` + customerColumns
		if err := tx.GetContext(ctx, &after, q, args...); err != nil {
			return fmt.Errorf("error updating customer %s: %w", p.ID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "billing.customer_update", EntityType: "billing_customer",
			EntityID: p.ID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// CustomerDelete soft-deletes a customer: it leaves the lists and cannot get new invoices; its documents
// stay. A customer with open invoices cannot be deleted. The actor needs BillingWrite.
func CustomerDelete(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Customer, error) {
	return customerDeleteOrRestore(ctx, db, scope, id, version, true)
}

// CustomerRestore brings a deleted customer back. The actor needs BillingWrite.
func CustomerRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int) (*Customer, error) {
	return customerDeleteOrRestore(ctx, db, scope, id, version, false)
}

func customerDeleteOrRestore(ctx context.Context, db *store.DB, scope store.Scope, id store.ID, version int, del bool) (*Customer, error) {
	var after Customer
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingWrite); err != nil {
			return err
		}
		before, err := customerGetTx(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if before.Version != version {
			return errCustomerChanged
		}
		action := "billing.customer_restore"
		if del {
			action = "billing.customer_delete"
			if before.DeletedAt != nil {
				return store.Errorf(store.Invalid, "%s is already deleted.", before.Name)
			}
			var open bool
			if err := tx.GetContext(ctx, &open, `SELECT EXISTS (SELECT 1 FROM billing_invoices WHERE tenant_id = $1
				AND customer_id = $2 AND status IN ('issued', 'partially_paid'))`, tx.Scope.TenantID, id); err != nil {
				return fmt.Errorf("error checking open invoices of customer %s: %w", id, err)
			}
			if open {
				return store.Errorf(store.Invalid, "%s has open invoices. Settle or void them before deleting the customer.", before.Name)
			}
		} else if before.DeletedAt == nil {
			return store.Errorf(store.Invalid, "%s is not deleted.", before.Name)
		}
		if err := tx.GetContext(ctx, &after, `UPDATE billing_customers c SET deleted_at = CASE WHEN $3 THEN now() END,
			updated_at = now(), version = version + 1 WHERE tenant_id = $1 AND id = $2 RETURNING `+customerColumns,
			tx.Scope.TenantID, id, del); err != nil {
			return fmt.Errorf("error changing customer %s: %w", id, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: action, EntityType: "billing_customer",
			EntityID: id.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}

// CustomerListParams filters and pages the customer list (by name). Search matches part of the name or
// e-mail. Deleted lists the trash. Limit defaults to 50 (at most 200).
type CustomerListParams struct {
	Search  string
	Deleted bool
	After   string
	Limit   int
}

// CustomerListResult is one page of customers; Next is the cursor of the next page ("" on the last).
type CustomerListResult struct {
	Customers []Customer
	Next      string
}

// CustomerList returns a page of customers ordered by name with keyset pagination. The actor needs BillingRead.
func CustomerList(ctx context.Context, db *store.DB, scope store.Scope, p CustomerListParams) (*CustomerListResult, error) {
	if p.Limit <= 0 || p.Limit > 200 {
		p.Limit = 50
	}
	var res *CustomerListResult
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		var err error
		res, err = customerPageTx(ctx, tx, p)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// CustomerChoice is a customer as a picker offers it.
type CustomerChoice struct {
	ID       store.ID `db:"id"`
	Name     string   `db:"name"`
	Currency string   `db:"currency"`
}

// CustomerChoicesMax is how many customers a picker lists, by name.
const CustomerChoicesMax = 200

// CustomerChoices returns the first CustomerChoicesMax live customers by name, with only what a picker
// shows: it is read on every invoice list page, so it reads three columns on the name index with a literal
// limit (a plan PostgreSQL keeps, see store.Limit). The actor needs BillingRead.
func CustomerChoices(ctx context.Context, db *store.DB, scope store.Scope) ([]CustomerChoice, error) {
	var out []CustomerChoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, `
			SELECT c.id, c.name, c.currency FROM billing_customers c
			WHERE c.tenant_id = $1 AND c.deleted_at IS NULL
			ORDER BY c.name_key, c.id LIMIT `+strconv.Itoa(CustomerChoicesMax), scope.TenantID)
	})
	if err != nil {
		return nil, fmt.Errorf("error listing customers: %w", err)
	}
	return out, nil
}

// CustomerMatchesMax is how many customers the invoice list's customer picker suggests at a time.
const CustomerMatchesMax = 20

// CustomerMatches returns the first CustomerMatchesMax live customers by name whose name or e-mail
// contains q (the first by name when q is empty), with only what a picker shows: the invoice list's
// customer filter suggests them as someone types, so a tenant with thousands of customers never sends
// them all. The actor needs BillingRead.
func CustomerMatches(ctx context.Context, db *store.DB, scope store.Scope, q string) ([]CustomerChoice, error) {
	var out []CustomerChoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		where, args := customerWhere(CustomerListParams{Search: q}, scope.TenantID)
		return tx.SelectContext(ctx, &out, `SELECT c.id, c.name, c.currency FROM billing_customers c`+where+
			` ORDER BY c.name_key, c.id`+store.Limit(CustomerMatchesMax), args...)
	})
	if err != nil {
		return nil, fmt.Errorf("error finding customers: %w", err)
	}
	if len(out) > CustomerMatchesMax {
		out = out[:CustomerMatchesMax]
	}
	return out, nil
}

// CustomerChoiceGet returns one customer's choice (deleted ones too: a filter by a customer deleted since
// still names it). The actor needs BillingRead.
func CustomerChoiceGet(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*CustomerChoice, error) {
	var out CustomerChoice
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &out, `SELECT c.id, c.name, c.currency FROM billing_customers c
			WHERE c.tenant_id = $1 AND c.id = $2`, scope.TenantID, id)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Errorf(store.NotFound, "No such customer.")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// customerWhere is the customer list's filter (without the page cursor) and its arguments.
func customerWhere(p CustomerListParams, tenantID store.ID) (string, []any) {
	args := []any{tenantID}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	var q strings.Builder
	q.WriteString(` WHERE c.tenant_id = $1`)
	if p.Deleted {
		q.WriteString(` AND c.deleted_at IS NOT NULL`)
	} else {
		q.WriteString(` AND c.deleted_at IS NULL`)
	}
	if s := strings.TrimSpace(p.Search); s != "" {
		if r := []rune(s); len(r) > 100 {
			s = string(r[:100])
		}
		n := arg("%" + likeEscaper.Replace(s) + "%")
		if len([]rune(s)) >= 3 {
			q.WriteString(` AND c.id IN (SELECT s.id FROM billing_customer_search(` + n + `) s)`)
		} else {
			q.WriteString(` AND (c.name ILIKE ` + n + ` OR c.email ILIKE ` + n + `)`)
		}
	}
	return q.String(), args
}

// customerPageTx reads one page of the customer list (p.Limit rows after p.After) in tx. The caller
// checks the permission.
func customerPageTx(ctx context.Context, tx *store.Tx, p CustomerListParams) (*CustomerListResult, error) {
	where, args := customerWhere(p, tx.Scope.TenantID)
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	q := `SELECT ` + customerColumns + `, c.name_key FROM billing_customers c` + where
	if p.After != "" {
		key, id, err := cursorDecode(p.After)
		if err != nil {
			return nil, errBadCursor
		}
		k, i := arg(key), arg(id)
		q += ` AND c.name_key >= ` + k + ` AND (c.name_key > ` + k + ` OR c.id > ` + i + `::uuid)`
	}
	q += ` ORDER BY c.name_key, c.id LIMIT ` + arg(p.Limit+1)
	var rows []struct {
		Customer
		NameKey string `db:"name_key"`
	}
	if err := tx.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, fmt.Errorf("error listing customers: %w", err)
	}
	res := &CustomerListResult{}
	if len(rows) > p.Limit {
		last := rows[p.Limit-1]
		rows = rows[:p.Limit]
		res.Next = cursorEncode(last.NameKey, last.ID)
	}
	for _, r := range rows {
		res.Customers = append(res.Customers, r.Customer)
	}
	return res, nil
}

// CustomerCredit is a customer's unallocated payment money in one currency: usable on later invoices.
func CustomerCredit(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (int64, error) {
	var credit int64
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := permit(ctx, tx, identity.BillingRead); err != nil {
			return err
		}
		if _, err := customerGetTx(ctx, tx, id, false); err != nil {
			return err
		}
		return tx.GetContext(ctx, &credit, `SELECT coalesce(sum(amount - allocated), 0)::bigint FROM billing_payments
			WHERE tenant_id = $1 AND customer_id = $2 AND reversed_at IS NULL`, tx.Scope.TenantID, id)
	})
	return credit, err
}

func cursorEncode(key string, id store.ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id.String() + "|" + key))
}

func cursorDecode(s string) (string, store.ID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return "", store.ID{}, err
	}
	idText, key, ok := strings.Cut(string(b), "|")
	if !ok {
		return "", store.ID{}, errors.New("malformed cursor")
	}
	id, err := store.ParseID(idText)
	return key, id, err
}
