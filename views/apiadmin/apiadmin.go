// Package apiadmin renders the API's screens: a member's personal access tokens, the admin page of OAuth
// clients, and the API documentation built from the OpenAPI document.
package apiadmin

import "ledgerline/views/ui"

// TokenScope is one permission offered as a scope, with whether the form had it ticked.
type TokenScope struct {
	Name, Label string
	Checked     bool
}

// ExpiryChoice is one option of the token expiry list.
type ExpiryChoice struct {
	Days     string
	Label    string
	Selected bool
}

// TokenForm is the "new token" form with the user's input and its errors.
type TokenForm struct {
	CSRFToken string
	Name      string
	Scopes    []TokenScope
	Expiry    []ExpiryChoice
	Errors    []ui.FieldError
}

// RevokeDialogID is the id of the row's confirmation dialog.
func (r TokenRow) RevokeDialogID() string { return "revoke-token-" + r.ID }

// RevokeDialogID is the id of the row's confirmation dialog.
func (r ClientRow) RevokeDialogID() string { return "revoke-client-" + r.ID }

// TokenRow is one personal access token in the list.
type TokenRow struct {
	ID, Name   string
	Scopes     []string
	Created    string
	Expires    string
	LastUsed   string // "Never" when unused
	Status     string // "Active", "Expired" or "Revoked"
	StatusKind string // badge kind
	Revocable  bool
}

// TokensView is the personal access tokens page. NewSecret is set once, right after creating a token.
type TokensView struct {
	Form      TokenForm
	Tokens    []TokenRow
	NewSecret string
	NewName   string
	APIBase   string
}

// ClientForm is the "register a client" form.
type ClientForm struct {
	CSRFToken string
	Name      string
	Scopes    []TokenScope
	Errors    []ui.FieldError
}

// ClientRow is one OAuth client in the list.
type ClientRow struct {
	ID, Name   string
	Scopes     []string
	CreatedBy  string
	Created    string
	LastUsed   string
	Status     string
	StatusKind string
	Revocable  bool
}

// ClientsView is the OAuth clients page. NewSecret (and NewID) are set once, right after registering.
type ClientsView struct {
	Form      ClientForm
	Clients   []ClientRow
	NewID     string
	NewSecret string
	NewName   string
	TokenURL  string
}

// DocsView is the API documentation page.
type DocsView struct {
	Title, Version, Description string
	ServerURL                   string
	Scopes                      []DocsScope
	Groups                      []DocsGroup
	Schemas                     []DocsSchema
}

// DocsScope is one scope a token can carry.
type DocsScope struct {
	Name, Label string
}

// DocsGroup is the operations of one tag.
type DocsGroup struct {
	Name       string
	Operations []DocsOperation
}

// DocsOperation is one operation: method and path, the scope it needs, its parameters, body and responses.
type DocsOperation struct {
	ID, Method, Path, Summary, Description string
	Scope                                  string
	Public                                 bool
	Params                                 []DocsField
	BodyType                               string
	BodySchema                             string
	BodyFields                             []DocsField
	Responses                              []DocsResponse
}

// DocsField is a parameter or a schema property.
type DocsField struct {
	Name, In, Type, Description string
	Required                    bool
}

// DocsResponse is one documented response.
type DocsResponse struct {
	Status, Description, Schema string
}

// DocsSchema is one named schema and its properties.
type DocsSchema struct {
	Name, Anchor, Description string
	Fields                    []DocsField
}

// OperationAnchor is the fragment id of an operation.
func (o DocsOperation) OperationAnchor() string { return "op-" + o.ID }

// SchemaLink returns the fragment link of a named schema for a type description, or "" when the type is
// not a single schema name.
func SchemaLink(typ string, schemas []DocsSchema) string {
	for _, s := range schemas {
		if s.Name == typ {
			return "#" + s.Anchor
		}
	}
	return ""
}
