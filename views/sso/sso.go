// Package sso renders single sign-on: the admin's provider settings and the signed-out "sign in with
// single sign-on" page.
package sso

import "ledgerline/views/ui"

// RoleChoice is one role of the default-role list.
type RoleChoice struct {
	Name, Label string
	Selected    bool
}

// SettingsForm is the provider settings form as typed.
type SettingsForm struct {
	CSRFToken       string
	Exists          bool
	Enabled         bool
	IssuerURL       string
	ClientID        string
	AllowedDomains  string
	Roles           []RoleChoice
	PasswordAllowed bool
	Version         int
	RedirectURL     string
	Errors          []ui.FieldError
}

// StartForm asks whom to sign in; Error is a problem with the address, Unreachable says the provider is
// down, and PasswordAllowed offers the password sign-in instead.
type StartForm struct {
	CSRFToken       string
	Identifier      string
	Next            string
	Error           string
	PasswordAllowed bool
}
