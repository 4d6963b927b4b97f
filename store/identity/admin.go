package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// TenantCreateParams describes a new organization.
type TenantCreateParams struct {
	Name     string
	Slug     string
	TimeZone string
	Currency string
}

var (
	slugPattern     = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

func (p TenantCreateParams) validate() error {
	var f store.FieldErrors
	if n := len(strings.TrimSpace(p.Name)); n == 0 || n > 200 {
		f.Add("name", "Enter the organization's name (up to 200 characters).")
	}
	if !slugPattern.MatchString(p.Slug) {
		f.Add("slug", "Enter a short name of lowercase letters, digits and hyphens, like acme-manufacturing.")
	}
	if _, err := store.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" {
		f.Add("time_zone", "Enter a time zone from the IANA database, like Europe/Berlin.")
	}
	if !currencyPattern.MatchString(p.Currency) {
		f.Add("currency", "Enter a three-letter ISO 4217 currency code, like EUR.")
	}
	return f.Err()
}

// TenantCreate creates a tenant. scope.TenantID is ignored: the transaction runs in the new tenant.
func TenantCreate(ctx context.Context, db *store.DB, scope store.Scope, p TenantCreateParams) (*Tenant, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	t := &Tenant{ID: store.NewID(), Name: strings.TrimSpace(p.Name), Slug: p.Slug, TimeZone: p.TimeZone, Currency: p.Currency, Version: 1}
	scope.TenantID = t.ID
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tenants (id, name, slug, time_zone, currency) VALUES ($1, $2, $3, $4, $5)`,
			t.ID, t.Name, t.Slug, t.TimeZone, t.Currency)
		if store.IsUniqueViolation(err, "tenants_slug_key") {
			return &store.Error{Code: store.Conflict, Message: "That short name is taken.", Fields: map[string]string{"slug": "Choose another short name; this one is taken."}}
		}
		if err != nil {
			return fmt.Errorf("error creating tenant %s: %w", p.Slug, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "tenant.create", EntityType: "tenant", EntityID: t.ID.String(), After: t})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// TenantIDBySlug finds a tenant's id by its slug. It sees every tenant, so it is only for operators'
// commands (seed), never for a request.
func TenantIDBySlug(ctx context.Context, db *store.DB, slug string) (store.ID, error) {
	var ids []store.ID
	if err := db.X.SelectContext(ctx, &ids, `SELECT all_tenant_ids()`); err != nil {
		return store.ID{}, fmt.Errorf("error listing tenants: %w", err)
	}
	for _, t := range ids {
		var s string
		err := db.InTenant(ctx, store.Scope{TenantID: t}, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &s, `SELECT slug FROM tenants WHERE id = $1`, t)
		})
		if err != nil {
			return store.ID{}, fmt.Errorf("error reading tenant %s: %w", t, err)
		}
		if s == slug {
			return t, nil
		}
	}
	return store.ID{}, store.Errorf(store.NotFound, "No organization with the short name %q.", slug)
}

// UserCreateParams describes a new person.
type UserCreateParams struct {
	Email    string
	Name     string
	Password string
}

// User is a person. Users are global: one person may belong to several tenants.
type User struct {
	ID    store.ID `db:"id"`
	Email string   `db:"email"`
	Name  string   `db:"name"`
}

// UserCreate creates a user with a password and records it in scope's tenant.
func UserCreate(ctx context.Context, db *store.DB, scope store.Scope, p UserCreateParams) (*User, error) {
	var f store.FieldErrors
	email := strings.TrimSpace(p.Email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		f.Add("email", "Enter an e-mail address in the correct format, like name@example.com.")
	}
	if n := len(strings.TrimSpace(p.Name)); n == 0 || n > 200 {
		f.Add("name", "Enter the person's name (up to 200 characters).")
	}
	if msg := validatePassword(p.Password); msg != "" {
		f.Add("password", msg)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	hash, err := HashPassword(p.Password)
	if err != nil {
		return nil, err
	}
	u := &User{ID: store.NewID(), Email: email, Name: strings.TrimSpace(p.Name)}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)`,
			u.ID, u.Email, u.Name, hash)
		if store.IsUniqueViolation(err, "users_email_key") {
			return &store.Error{Code: store.Conflict, Message: "A user with that e-mail address exists.", Fields: map[string]string{"email": "This e-mail address is already in use."}}
		}
		if err != nil {
			return fmt.Errorf("error creating user: %w", err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "user.create", EntityType: "user", EntityID: u.ID.String(), After: u})
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// UserIDByEmail finds a user's id by e-mail address.
func UserIDByEmail(ctx context.Context, db *store.DB, email string) (store.ID, error) {
	var id store.ID
	err := db.X.GetContext(ctx, &id, `SELECT id FROM auth_user_by_email($1)`, strings.TrimSpace(email))
	if errors.Is(err, sql.ErrNoRows) {
		return store.ID{}, store.Errorf(store.NotFound, "No user with that e-mail address.")
	}
	return id, err
}

// MemberAddParams adds a user to scope's tenant.
type MemberAddParams struct {
	UserID       store.ID
	Role         Role
	DepartmentID *store.ID
}

// MemberAdd makes a user a member of scope's tenant.
func MemberAdd(ctx context.Context, db *store.DB, scope store.Scope, p MemberAddParams) error {
	if !p.Role.Valid() {
		return (store.FieldErrors{"role": "Choose a role."}).Err()
	}
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO memberships (user_id, role, department_id) VALUES ($1, $2, $3)`,
			p.UserID, p.Role, p.DepartmentID)
		if store.IsUniqueViolation(err, "memberships_pkey") {
			return store.Errorf(store.Conflict, "That person is already a member of this organization.")
		}
		if err != nil {
			return fmt.Errorf("error adding member %s: %w", p.UserID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "membership.create", EntityType: "membership", EntityID: p.UserID.String(), After: p})
	})
}
