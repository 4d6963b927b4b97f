package admin

import "ledgerline/views/ui"

// SettingsFormID is the organization settings form; a failed save swaps it.
const SettingsFormID = "settings-form"

// SettingsForm is the organization settings form with every value as typed (amounts as decimal text in
// the currency) and the version being edited.
type SettingsForm struct {
	CSRFToken                                  string
	Name, TimeZone, Currency                   string
	ApprovalManagerLimit, ApprovalFinanceLimit string
	APIRateLimit                               string
	RequireAdmin2FA                            bool
	Version                                    int
	Errors                                     []ui.FieldError
	// AdminWithoutTwoFactor warns the signed-in admin that requiring 2FA applies to them too.
	AdminWithoutTwoFactor bool
}
