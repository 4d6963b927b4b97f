package identity

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"ledgerline/store"
	"ledgerline/store/audit"
)

// TenantSettings are what an admin may change about their organization. The approval limits are amounts in
// minor units of Currency, read by the approvals module; APIRateLimit is API requests per minute per token.
type TenantSettings struct {
	Name                 string `db:"name" json:"name"`
	TimeZone             string `db:"time_zone" json:"time_zone"`
	Currency             string `db:"currency" json:"currency"`
	ApprovalManagerLimit int64  `db:"approval_manager_limit" json:"approval_manager_limit"`
	ApprovalFinanceLimit int64  `db:"approval_finance_limit" json:"approval_finance_limit"`
	RequireAdmin2FA      bool   `db:"require_2fa_admins" json:"require_2fa_admins"`
	APIRateLimit         int    `db:"api_rate_limit" json:"api_rate_limit"`
	Version              int    `db:"version" json:"version"`
}

// APIRateLimitMax is the highest API rate limit a tenant may set (the schema's bound).
const APIRateLimitMax = 1_000_000

var errTenantChanged = store.Errorf(store.Conflict,
	"The settings were changed by someone else while you were editing. Reload the page to see the changes, then try again.")

// settingsPermit requires AdminSettings (see Permit for members, clients and the system).
func settingsPermit(ctx context.Context, tx *store.Tx) error {
	return Permit(ctx, tx, AdminSettings)
}

const tenantSettingsQuery = `
	SELECT name, time_zone, currency, approval_manager_limit, approval_finance_limit, require_2fa_admins,
	       api_rate_limit, version
	FROM tenants WHERE id = $1`

// TenantSettingsGet returns the settings of scope's tenant. The actor needs AdminSettings.
func TenantSettingsGet(ctx context.Context, db *store.DB, scope store.Scope) (*TenantSettings, error) {
	var s TenantSettings
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := settingsPermit(ctx, tx); err != nil {
			return err
		}
		return store.Get(ctx, tx, &s, "No such organization.", tenantSettingsQuery, tx.Scope.TenantID)
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// TenantSettingsUpdateParams are the settings as typed in the form. The limits are decimal amounts in the
// (new) currency, like "1,000.00"; APIRateLimit is a whole number. Version is the version the editor saw.
type TenantSettingsUpdateParams struct {
	Name                 string
	TimeZone             string
	Currency             string
	ApprovalManagerLimit string
	ApprovalFinanceLimit string
	RequireAdmin2FA      bool
	APIRateLimit         string
	Version              int
}

// validate checks p and returns the settings it describes (without Version). Field errors are keyed by the
// form's field names.
func (p TenantSettingsUpdateParams) validate() (TenantSettings, error) {
	var f store.FieldErrors
	s := TenantSettings{
		Name:            strings.TrimSpace(p.Name),
		TimeZone:        strings.TrimSpace(p.TimeZone),
		Currency:        strings.ToUpper(strings.TrimSpace(p.Currency)),
		RequireAdmin2FA: p.RequireAdmin2FA,
	}
	if n := utf8.RuneCountInString(s.Name); n == 0 || n > 200 {
		f.Add("name", "Enter the organization's name (up to 200 characters).")
	}
	if !timeZoneValid(s.TimeZone) {
		f.Add("time_zone", "Enter a time zone from the IANA database, like Europe/Berlin or America/New_York.")
	}
	if !store.CurrencyKnown(s.Currency) {
		f.Add("currency", "Enter a three-letter ISO 4217 currency code, like EUR or USD.")
	}
	digits := store.CurrencyDigits(s.Currency)
	limit := func(field, input string) int64 {
		v, err := store.ParseMinorUnits(input, digits)
		if err != nil {
			f.Add(field, store.ErrorMessage(err))
			return 0
		}
		if v < 0 {
			f.Add(field, "Enter an amount of 0 or more.")
		}
		return v
	}
	s.ApprovalManagerLimit = limit("approval_manager_limit", p.ApprovalManagerLimit)
	s.ApprovalFinanceLimit = limit("approval_finance_limit", p.ApprovalFinanceLimit)
	if _, bad := f["approval_manager_limit"]; !bad {
		if _, bad := f["approval_finance_limit"]; !bad && s.ApprovalManagerLimit > s.ApprovalFinanceLimit {
			f.Add("approval_finance_limit", "Enter a finance limit at least as high as the manager limit.")
		}
	}
	rate, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(p.APIRateLimit), ",", ""))
	switch {
	case err != nil:
		f.Add("api_rate_limit", "Enter the number of API requests allowed per minute, like 600.")
	case rate < 1 || rate > APIRateLimitMax:
		f.Add("api_rate_limit", "Enter a number from 1 to 1,000,000.")
	}
	s.APIRateLimit = rate
	return s, f.Err()
}

// timeZoneValid accepts IANA zone names. "Local" is refused: it means the server's zone, which differs
// between machines.
func timeZoneValid(tz string) bool {
	if tz == "" || tz == "Local" || len(tz) > 64 {
		return false
	}
	_, err := store.LoadLocation(tz)
	return err == nil
}

// TenantSettingsUpdate changes the settings of scope's tenant. A stale Version is a Conflict. The actor
// needs AdminSettings.
func TenantSettingsUpdate(ctx context.Context, db *store.DB, scope store.Scope, p TenantSettingsUpdateParams) (*TenantSettings, error) {
	after, err := p.validate()
	if err != nil {
		return nil, err
	}
	err = db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if err := settingsPermit(ctx, tx); err != nil {
			return err
		}
		var before TenantSettings
		if err := store.Get(ctx, tx, &before, "No such organization.", tenantSettingsQuery+` FOR UPDATE`, tx.Scope.TenantID); err != nil {
			return err
		}
		if before.Version != p.Version {
			return errTenantChanged
		}
		after.Version = before.Version
		if after == before {
			return nil
		}
		after.Version++
		if _, err := tx.ExecContext(ctx, `
			UPDATE tenants SET name = $1, time_zone = $2, currency = $3, approval_manager_limit = $4,
			       approval_finance_limit = $5, require_2fa_admins = $6, api_rate_limit = $7,
			       version = version + 1, updated_at = now()
			WHERE id = $8`,
			after.Name, after.TimeZone, after.Currency, after.ApprovalManagerLimit, after.ApprovalFinanceLimit,
			after.RequireAdmin2FA, after.APIRateLimit, tx.Scope.TenantID); err != nil {
			return fmt.Errorf("error updating settings of tenant %s: %w", tx.Scope.TenantID, err)
		}
		return audit.Record(ctx, tx, audit.RecordParams{Action: "tenant.settings_update", EntityType: "tenant",
			EntityID: tx.Scope.TenantID.String(), Before: before, After: after})
	})
	if err != nil {
		return nil, err
	}
	return &after, nil
}
