package admin

import (
	"strconv"

	"ledgerline/views/ui"
)

// Element ids of the department screens that HTMX targets; the handlers use the same constants.
const (
	// DepartmentResultsID holds the department table and its paging; the "show deleted" filter swaps it.
	DepartmentResultsID = "department-results"
	// DepartmentCreateFormID is the new-department form; a failed create swaps it.
	DepartmentCreateFormID = "department-create-form"
	// DepartmentRenameFormID is the rename form on a department's page.
	DepartmentRenameFormID = "department-rename-form"
	// DepartmentManagerFormID is the manager form on a department's page.
	DepartmentManagerFormID = "department-manager-form"
	// DepartmentDeleteDialogID is the confirmation dialog of deletion.
	DepartmentDeleteDialogID = "department-delete-dialog"
)

// DepartmentListView is the departments screen: the create form, the filter and one page of departments.
type DepartmentListView struct {
	Create         DepartmentCreateForm
	IncludeDeleted bool
	Rows           []DepartmentRow
	// Showing is "Showing 1–50 of 123" ("" when the page is empty).
	Showing string
	// NextURL and FirstURL page through the list with the same filter ("" when there is none).
	NextURL, FirstURL string
}

// DepartmentRow is one department as the table shows it.
type DepartmentRow struct {
	Href, Name, Manager string
	Members             int
	StatusLabel         string
	StatusBadge         string
}

// DepartmentCreateForm is the new-department form with the name as typed.
type DepartmentCreateForm struct {
	CSRFToken string
	Name      string
	Errors    []ui.FieldError
}

// DepartmentView is one department's page: facts, rename and manager forms, delete or restore.
type DepartmentView struct {
	ID, Name                 string
	StatusLabel, StatusBadge string
	Manager                  string
	Members                  int
	// MembersHref lists the department's people; HistoryHref its audit events ("" without audit access).
	MembersHref, HistoryHref string
	Deleted                  bool
	DeletedOn, DeletedExact  string
	Version                  int
	CSRFToken                string
	// Problems are page-level errors, such as a refused deletion.
	Problems      []ui.FieldError
	Rename        DepartmentRenameForm
	ManagerForm   DepartmentManagerForm
	DeletePath    string
	RestorePath   string
	CanBeDeleted  bool
	DeleteBlocker string
}

// DepartmentRenameForm renames a department; Name as typed.
type DepartmentRenameForm struct {
	Action, CSRFToken string
	Name              string
	Version           int
	Errors            []ui.FieldError
}

// DepartmentManagerForm picks a department's manager among the active members.
type DepartmentManagerForm struct {
	Action, CSRFToken string
	Options           []Option
	Version           int
	Disabled          bool // a deleted department's manager cannot change
	Errors            []ui.FieldError
}

// membersText says how many active members a department has.
func membersText(n int) string {
	switch n {
	case 0:
		return "No active members"
	case 1:
		return "1 active member"
	}
	return strconv.Itoa(n) + " active members"
}
