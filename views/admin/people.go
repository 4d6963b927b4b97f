// Package admin renders the admin console's screens: people (members and invitations) and the other
// organization settings. Components take the layout.Shell and a view model shaped like the screen; they
// know nothing about handlers or the store.
package admin

import "ledgerline/views/ui"

// Element ids that HTMX targets; the handlers use the same constants.
const (
	// PeopleResultsID holds the people table, its "Showing" line and paging: the filters swap it.
	PeopleResultsID = "people-results"
	// PeopleTableWrapID is the scrolling table frame, dimmed while a filter request runs.
	PeopleTableWrapID = "people-table-wrap"
	// MemberFormID is the role and department form on a person's page; a failed save swaps it.
	MemberFormID = "member-form"
	// MemberDeactivateDialogID is the confirmation dialog of deactivation.
	MemberDeactivateDialogID = "member-deactivate-dialog"
	// InviteFormID is the invitation form; a failed send swaps it.
	InviteFormID = "invite-form"
	// InviteAcceptFormID is the form on the invitation acceptance page.
	InviteAcceptFormID = "invite-accept-form"
)

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// PeopleListView is the people screen: filters as typed, one page of members and the paging links.
type PeopleListView struct {
	Search, Role, DepartmentID, Status string
	Roles, Departments, Statuses       []Option
	Rows                               []PersonRow
	// Showing is "Showing 1–50 of 123" ("" when the page is empty).
	Showing string
	// Export is the Export button with the current filter (nil: may not export).
	Export *ui.ExportProps
	// NextURL and FirstURL page through the list with the same filters ("" when there is none).
	NextURL, FirstURL string
	// Filtered says a filter other than the default status is set, so an empty page offers to clear them.
	Filtered bool
}

// PersonRow is one member as the table shows them.
type PersonRow struct {
	Href, Name, Email, Role, Department string
	StatusLabel, StatusBadge            string
}

// MemberView is one person's page: who they are, the role and department form, and access actions.
type MemberView struct {
	Name, Email, MemberSince, MemberSinceExact string
	StatusLabel, StatusBadge                   string
	Role, Department                           string
	Active                                     bool
	// Self is the signed-in admin's own page: they cannot deactivate themselves.
	Self bool
	// Problems are page-level errors, such as a refused deactivation.
	Problems                       []ui.FieldError
	Form                           MemberForm
	DeactivatePath, ReactivatePath string
}

// MemberForm is the role and department form, with the values as typed and the version being edited.
type MemberForm struct {
	Action                   string
	CSRFToken                string
	Role, DepartmentID       string
	Version                  int
	Roles, Departments       []Option
	Errors                   []ui.FieldError
	RoleHint, DepartmentHint string
}

// InvitationsView is the invitation screen: the form and the open invitations.
type InvitationsView struct {
	Form    InviteForm
	Rows    []InvitationRow
	NextURL string
}

// InviteForm invites one person by e-mail.
type InviteForm struct {
	CSRFToken                  string
	Email, Name                string
	Role, DepartmentID         string
	Roles, Departments         []Option
	Errors                     []ui.FieldError
	ConflictMessage, SentEmail string
}

// InvitationRow is one open invitation.
type InvitationRow struct {
	ID, Email, Name, Role, Department, InvitedBy string
	Sent, SentExact, Expires, ExpiresExact       string
	Expired                                      bool
	RevokePath                                   string
}

// RevokeDialogID is the id of the confirmation dialog of one invitation's revocation.
func (r InvitationRow) RevokeDialogID() string {
	return "invitation-revoke-" + r.ID
}

// InviteAcceptView is the public page a person reaches from the invitation e-mail.
type InviteAcceptView struct {
	Token                       string
	Invalid                     bool
	TenantName, Email, RoleName string
	// ExistingAccount: the address has an account. SignedInAsInvitee: that account is signed in and may
	// join; otherwise the page asks to sign in with it (SignInURL comes back here afterwards).
	ExistingAccount   bool
	SignedInAsInvitee bool
	SignInURL         string
	// SignedInAs names another account that is signed in in this browser, if any.
	SignedInAs string
	// Name is the new account's name as typed (first shown as the admin wrote it).
	Name    string
	Message string
	Errors  []ui.FieldError
}

// selectFieldProps describes one labelled select; it mirrors ui.FieldProps.
type selectFieldProps struct {
	Name, Label, Hint, Error string
	Options                  []Option
	Required                 bool
}

func (p selectFieldProps) id() string      { return ui.FieldID(p.Name) }
func (p selectFieldProps) hintID() string  { return p.id() + "-hint" }
func (p selectFieldProps) errorID() string { return p.id() + "-error" }

func (p selectFieldProps) describedBy() string {
	s := ""
	if p.Hint != "" {
		s = p.hintID()
	}
	if p.Error != "" {
		if s != "" {
			s += " "
		}
		s += p.errorID()
	}
	return s
}
