// Package sso owns single sign-on with OpenID Connect: each tenant's provider settings (issuer, client id,
// the client secret sealed with the data key, allowed e-mail domains, the role of people created on their
// first sign-in, and whether password sign-in stays allowed), finding the tenant of a person who asks to
// sign in, and turning a verified ID token's identity into a member: matched by verified e-mail or created
// just in time. Every SSO sign-in, and every refused one, is audited.
//
// The OpenID Connect protocol itself (discovery, PKCE, token exchange and ID token verification) runs in
// the handlers with go-oidc and x/oauth2; this package sees only verified claims. Shared base: it uses
// identity and audit and no business domain.
package sso

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lib/pq"

	"ledgerline/store"
	"ledgerline/store/audit"
	"ledgerline/store/identity"
)

// Config is a tenant's provider settings as admins see them; the secret is never part of it.
type Config struct {
	Enabled         bool           `db:"enabled" json:"enabled"`
	IssuerURL       string         `db:"issuer_url" json:"issuer_url"`
	ClientID        string         `db:"client_id" json:"client_id"`
	AllowedDomains  pq.StringArray `db:"allowed_domains" json:"allowed_domains"`
	DefaultRole     identity.Role  `db:"default_role" json:"default_role"`
	PasswordAllowed bool           `db:"password_allowed" json:"password_allowed"`
	UpdatedAt       time.Time      `db:"updated_at" json:"updated_at"`
	Version         int            `db:"version" json:"version"`
}

const configColumns = `enabled, issuer_url, client_id, allowed_domains, default_role, password_allowed, updated_at, version`

// ConfigGet returns the tenant's settings; NotFound when SSO was never set up. The actor needs AdminSettings.
func ConfigGet(ctx context.Context, db *store.DB, scope store.Scope) (*Config, error) {
	var c Config
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		return store.Get(ctx, tx, &c, "Single sign-on is not set up.",
			`SELECT `+configColumns+` FROM sso_configs WHERE tenant_id = $1`, tx.Scope.TenantID)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ConfigSaveParams are the settings as submitted. An empty ClientSecret keeps the stored one. Version is
// the one read (0 when creating).
type ConfigSaveParams struct {
	Enabled         bool
	IssuerURL       string
	ClientID        string
	ClientSecret    string
	AllowedDomains  string // comma or space separated
	DefaultRole     identity.Role
	PasswordAllowed bool
	Version         int
}

var domainPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// ConfigSaveResult is the saved settings and, when this save turned password sign-in off, the members
// whose sessions must end (their password sessions no longer count; they come back through the provider).
type ConfigSaveResult struct {
	Config  *Config
	SignOut []store.ID
}

// ConfigSave creates or changes the tenant's settings. Turning password sign-in off needs the saving admin
// to keep a way in: it is refused unless SSO is enabled. The actor needs AdminSettings.
func ConfigSave(ctx context.Context, db *store.DB, scope store.Scope, p ConfigSaveParams) (*ConfigSaveResult, error) {
	var f store.FieldErrors
	issuer := strings.TrimRight(strings.TrimSpace(p.IssuerURL), "/")
	if u, err := url.Parse(issuer); err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || len(issuer) > 2000 {
		f.Add("issuer_url", "Enter the issuer URL of your provider, like https://login.example.com/realms/acme.")
	}
	clientID := strings.TrimSpace(p.ClientID)
	if clientID == "" || len(clientID) > 500 {
		f.Add("client_id", "Enter the client id your provider gave Ledgerline.")
	}
	var domains []string
	for _, d := range strings.FieldsFunc(strings.ToLower(p.AllowedDomains), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		d = strings.TrimPrefix(strings.TrimSpace(d), "@")
		if !domainPattern.MatchString(d) {
			f.Add("allowed_domains", "Enter e-mail domains like example.com, separated by commas.")
			continue
		}
		if !slices.Contains(domains, d) {
			domains = append(domains, d)
		}
	}
	if len(domains) == 0 {
		f.Add("allowed_domains", "Enter at least one e-mail domain, like example.com.")
	}
	if !p.DefaultRole.Valid() {
		f.Add("default_role", "Choose the role of people who sign in for the first time.")
	}
	if !p.PasswordAllowed && !p.Enabled {
		f.Add("password_allowed", "Keep password sign-in while single sign-on is off, or nobody could sign in.")
	}
	if len(p.ClientSecret) > 2000 {
		f.Add("client_secret", "Enter a client secret of up to 2,000 characters.")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	var out *Config
	var signOut []store.ID
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		signOut = nil
		if err := identity.Permit(ctx, tx, identity.AdminSettings); err != nil {
			return err
		}
		var before Config
		err := tx.GetContext(ctx, &before, `SELECT `+configColumns+` FROM sso_configs WHERE tenant_id = $1 FOR UPDATE`, tx.Scope.TenantID)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("error loading SSO settings: %w", err)
		}
		if exists && p.Version != before.Version {
			return store.Errorf(store.Conflict, "These settings were changed by someone else. Reload the page and try again.")
		}
		var sealed []byte
		if p.ClientSecret != "" {
			sealed = tx.Secrets().Seal([]byte(p.ClientSecret), tx.Scope.TenantID[:])
		} else if !exists {
			return (store.FieldErrors{"client_secret": "Enter the client secret your provider gave Ledgerline."}).Err()
		}
		var actor *store.ID
		if tx.Scope.ActorID != (store.ID{}) {
			actor = &tx.Scope.ActorID
		}
		if exists {
			_, err = tx.ExecContext(ctx, `
				UPDATE sso_configs SET enabled = $2, issuer_url = $3, client_id = $4,
					client_secret_sealed = coalesce($5, client_secret_sealed), allowed_domains = $6, default_role = $7,
					password_allowed = $8, updated_by = $9, updated_at = now(), version = version + 1
				WHERE tenant_id = $1`, tx.Scope.TenantID, p.Enabled, issuer, clientID, sealed,
				pq.StringArray(domains), p.DefaultRole, p.PasswordAllowed, actor)
		} else {
			_, err = tx.ExecContext(ctx, `
				INSERT INTO sso_configs (enabled, issuer_url, client_id, client_secret_sealed, allowed_domains, default_role,
					password_allowed, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				p.Enabled, issuer, clientID, sealed, pq.StringArray(domains), p.DefaultRole, p.PasswordAllowed, actor)
		}
		if err != nil {
			return fmt.Errorf("error saving SSO settings: %w", err)
		}
		out = &Config{}
		if err := tx.GetContext(ctx, out, `SELECT `+configColumns+` FROM sso_configs WHERE tenant_id = $1`, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error reloading SSO settings: %w", err)
		}
		if !out.PasswordAllowed && (!exists || before.PasswordAllowed) {
			if err := tx.SelectContext(ctx, &signOut, `SELECT user_id FROM memberships WHERE tenant_id = $1 ORDER BY user_id`,
				tx.Scope.TenantID); err != nil {
				return fmt.Errorf("error listing members to sign out: %w", err)
			}
		}
		rec := audit.RecordParams{Action: "sso.configure", EntityType: "sso_config", EntityID: tx.Scope.TenantID.String(), After: out}
		if exists {
			rec.Before = before
		}
		return audit.Record(ctx, tx, rec)
	})
	if err != nil {
		return nil, err
	}
	return &ConfigSaveResult{Config: out, SignOut: signOut}, nil
}

// TenantLookup finds the tenant whose enabled SSO serves identifier: an e-mail address (by its domain) or
// an organization's slug. NotFound when none does.
func TenantLookup(ctx context.Context, db *store.DB, identifier string) (store.ID, error) {
	identifier = strings.ToLower(strings.TrimSpace(identifier))
	domain, slug := "", identifier
	if i := strings.LastIndexByte(identifier, '@'); i >= 0 {
		domain, slug = identifier[i+1:], ""
	}
	var id *store.ID
	if err := db.X.GetContext(ctx, &id, `SELECT sso_tenant_lookup($1, $2)`, domain, slug); err != nil {
		return store.ID{}, fmt.Errorf("error looking up SSO tenant: %w", err)
	}
	if id == nil {
		return store.ID{}, store.Errorf(store.NotFound, "No organization signs in with single sign-on for that address. Check it, or sign in with your password.")
	}
	return *id, nil
}

// Provider is what the sign-in needs of a tenant's settings, the client secret included. Only the
// sign-in flow reads it, as the system.
type Provider struct {
	TenantID        store.ID
	TenantName      string
	IssuerURL       string
	ClientID        string
	ClientSecret    string
	AllowedDomains  []string
	DefaultRole     identity.Role
	PasswordAllowed bool
}

// ProviderGet returns the enabled provider of a tenant; NotFound when SSO is off or not set up.
func ProviderGet(ctx context.Context, db *store.DB, tenantID store.ID) (*Provider, error) {
	var p Provider
	err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
		var row struct {
			Config
			Sealed []byte `db:"client_secret_sealed"`
			Name   string `db:"name"`
		}
		if err := store.Get(ctx, tx, &row, "Single sign-on is not set up for this organization.", `
			SELECT s.enabled, s.issuer_url, s.client_id, s.allowed_domains, s.default_role, s.password_allowed,
			       s.updated_at, s.version, s.client_secret_sealed, t.name
			FROM sso_configs s JOIN tenants t ON t.id = s.tenant_id WHERE s.tenant_id = $1`, tenantID); err != nil {
			return err
		}
		if !row.Enabled {
			return store.Errorf(store.NotFound, "Single sign-on is turned off for this organization.")
		}
		secret, err := tx.Secrets().Open(row.Sealed, tenantID[:])
		if err != nil {
			return fmt.Errorf("error opening SSO client secret of tenant %s: %w", tenantID, err)
		}
		p = Provider{TenantID: tenantID, TenantName: row.Name, IssuerURL: row.IssuerURL, ClientID: row.ClientID,
			ClientSecret: string(secret), AllowedDomains: row.AllowedDomains, DefaultRole: row.DefaultRole,
			PasswordAllowed: row.PasswordAllowed}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// SignInParams is the identity of a verified ID token.
type SignInParams struct {
	TenantID      store.ID
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	RequestID     string
	ClientIP      string
}

// SignInResult is who signed in, and whether they were created or added just now.
type SignInResult struct {
	UserID  store.ID
	Created bool
	Joined  bool
}

// SignIn turns a verified identity into a member of the tenant: an existing person is matched by the
// verified e-mail address; someone new is created with the tenant's default role. Refused (Unauthenticated,
// audited) for an unverified address, a domain the tenant does not allow, a disabled account or a
// deactivated membership.
func SignIn(ctx context.Context, db *store.DB, p SignInParams) (*SignInResult, error) {
	prov, err := ProviderGet(ctx, db, p.TenantID)
	if err != nil {
		return nil, err
	}
	email := strings.TrimSpace(p.Email)
	scope := store.Scope{TenantID: p.TenantID, RequestID: p.RequestID, ClientIP: p.ClientIP}
	refuse := func(reason, msg string, userID *store.ID) (*SignInResult, error) {
		if err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
			rec := audit.RecordParams{Action: "auth.sign_in_failed", EntityType: "user",
				After: map[string]string{"email": email, "reason": reason, "method": "sso", "subject": p.Subject}}
			if userID != nil {
				rec.EntityID = userID.String()
			}
			return audit.Record(ctx, tx, rec)
		}); err != nil {
			return nil, err
		}
		return nil, store.Errorf(store.Unauthenticated, "%s", msg)
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 || !p.EmailVerified {
		return refuse("email_unverified", "Your identity provider did not confirm your e-mail address, so Ledgerline cannot match it to an account. Ask your administrator.", nil)
	}
	if !slices.Contains(prov.AllowedDomains, strings.ToLower(email[at+1:])) {
		return refuse("domain_not_allowed", "Your e-mail address is not in a domain this organization accepts for single sign-on.", nil)
	}
	res := &SignInResult{}
	userID, err := identity.UserIDByEmail(ctx, db, email)
	switch store.ErrorCode(err) {
	case "":
		res.UserID = userID
	case store.NotFound:
		name := strings.TrimSpace(p.Name)
		if name == "" {
			name = email[:at]
		}
		u, err := identity.UserCreate(ctx, db, scope, identity.UserCreateParams{Email: email, Name: truncate(name, 200), Password: randomPassword()})
		if store.ErrorCode(err) == store.Conflict {
			if userID, err = identity.UserIDByEmail(ctx, db, email); err != nil {
				return nil, err
			}
			res.UserID = userID
			break
		}
		if err != nil {
			return nil, fmt.Errorf("error creating user for SSO sign-in: %w", err)
		}
		res.UserID, res.Created = u.ID, true
	default:
		return nil, err
	}
	var state struct {
		Disabled    bool
		Member      bool
		Deactivated *time.Time
	}
	// The account (global) through the sign-in lookup; the membership in the tenant's own scope.
	if err := db.X.GetContext(ctx, &state.Disabled, `SELECT disabled FROM auth_user_by_email($1)`, email); err != nil {
		return nil, fmt.Errorf("error reading account of user %s: %w", res.UserID, err)
	}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		err := tx.GetContext(ctx, &state.Deactivated, `SELECT deactivated_at FROM memberships WHERE tenant_id = $1 AND user_id = $2`,
			p.TenantID, res.UserID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		state.Member = err == nil
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("error reading membership of user %s: %w", res.UserID, err)
	}
	switch {
	case state.Disabled:
		return refuse("disabled", "This account is deactivated. Ask an administrator of your organization.", &res.UserID)
	case state.Member && state.Deactivated != nil:
		return refuse("membership_deactivated", "Your membership in "+prov.TenantName+" is deactivated. Ask an administrator of your organization.", &res.UserID)
	case !state.Member:
		err := identity.MemberAdd(ctx, db, scope, identity.MemberAddParams{UserID: res.UserID, Role: prov.DefaultRole})
		if err != nil && store.ErrorCode(err) != store.Conflict {
			return nil, err
		}
		res.Joined = err == nil
	}
	err = db.InTenant(ctx, store.Scope{TenantID: p.TenantID, ActorID: res.UserID, RequestID: p.RequestID, ClientIP: p.ClientIP},
		func(tx *store.Tx) error {
			return audit.Record(ctx, tx, audit.RecordParams{
				Action: "auth.sign_in", EntityType: "user", EntityID: res.UserID.String(),
				After: map[string]any{"email": email, "method": "sso", "issuer": prov.IssuerURL, "subject": p.Subject,
					"created": res.Created, "joined": res.Joined},
			})
		})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// PasswordRefused returns the tenants of a user that refuse password sign-in.
func PasswordRefused(ctx context.Context, db *store.DB, userID store.ID) ([]store.ID, error) {
	var out []store.ID
	if err := db.X.SelectContext(ctx, &out, `SELECT sso_password_refused($1)`, userID); err != nil {
		return nil, fmt.Errorf("error reading password policy of user %s: %w", userID, err)
	}
	return out, nil
}

// randomPassword is the password of a person created by SSO: nobody knows it; they can set their own with
// "forgot password" when their organization allows passwords.
func randomPassword() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// RecordRefusal audits an SSO answer refused before any identity was read from it (a bad signature,
// audience, expiry or nonce).
func RecordRefusal(ctx context.Context, db *store.DB, scope store.Scope, reason string) error {
	return db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return audit.Record(ctx, tx, audit.RecordParams{Action: "auth.sign_in_failed", EntityType: "user",
			After: map[string]string{"method": "sso", "reason": "id_token_invalid", "detail": reason}})
	})
}
