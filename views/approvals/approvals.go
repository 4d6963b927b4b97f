// Package approvals renders the approval screens: my requests, waiting for me, all requests, a request's
// page with its route and timeline, the request forms, delegations, the reimbursement list, and the policy
// and settings admin pages. View models are shaped like the screens; handlers fill them.
package approvals

import (
	"strconv"
	"strings"

	"ledgerline/views/ui"
)

// Element ids HTMX targets; handlers use the same constants.
const (
	RequestFormID  = "approval-request-form"
	DecideFormID   = "approval-decide-form"
	PolicyFormID   = "approval-policy-form"
	SettingsFormID = "approval-settings-form"
	DelegateFormID = "approval-delegation-form"
	ReceiptFormID  = "approval-receipt-form"
)

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Tab is one entry of the approvals sub-navigation.
type Tab struct {
	Label, Href, Key string
	Count            int
}

// Nav is the approvals sub-navigation with the current tab's key.
type Nav struct {
	Tabs    []Tab
	Current string
}

// RequestRow is one request in a list.
type RequestRow struct {
	Href, Ref, Title, Type, Requester, Amount, Status, StatusKind, Created, CreatedExact, Step string
	ID                                                                                         string
	For                                                                                        string // "on behalf of X" in the inbox
	Due, DueExact                                                                              string
	Overdue                                                                                    bool
}

// ListView is a list of requests (mine, all, to reimburse) with its filters and pager.
type ListView struct {
	Nav        Nav
	Title      string
	Subtitle   string
	Rows       []RequestRow
	Statuses   []Option
	Types      []Option
	Filtered   bool
	ClearHref  string
	NextHref   string
	FirstHref  string
	Action     string // the filter form's action
	CanCreate  bool
	Empty      string
	Reimburse  bool // rows carry a "mark reimbursed" button
	CSRFToken  string
	ShowFilter bool
	// Export is the Export button of the list with its current filter (nil: may not export).
	Export *ui.ExportProps
}

// InboxView is "Waiting for me" with bulk approval.
type InboxView struct {
	Nav       Nav
	Rows      []RequestRow
	NextHref  string
	FirstHref string
	CSRFToken string
	Errors    []ui.FieldError
	Comment   string
	// Export is the Export button of the inbox (nil: may not export).
	Export *ui.ExportProps
}

// LineForm is one purchase line as typed.
type LineForm struct {
	SKU, Description, Quantity, UnitCost, Supplier, NeededBy string
}

// RequestForm is the new or edit form of a request, as typed, with its errors.
type RequestForm struct {
	Action, CSRFToken, Submit string
	Type, TypeLabel           string
	Types                     []Option
	Title, Description        string
	Amount, Currency          string
	Category                  string
	Categories                []Option
	ExpenseDate               string
	Lines                     []LineForm
	Version                   int
	Errors                    []ui.FieldError
	Editing                   bool
	Thresholds                string
}

// Crumb is a breadcrumb link.
type Crumb struct{ Label, Href string }

// LineRow is a purchase line on the request page.
type LineRow struct {
	No, Item, Description, Quantity, UnitCost, Amount, Supplier, NeededBy string
}

// ReceiptRow is a receipt on the request page.
type ReceiptRow struct {
	Name, Size, Href, DeleteAction string
}

// DecisionRow is a decision on a step.
type DecisionRow struct {
	Who, Decision, DecisionKind, Comment, At, AtExact string
}

// StepRow is one step of the route.
type StepRow struct {
	Position, Name, Rule, Status, StatusKind string
	Approvers                                []string
	Due, DueExact                            string
	Reminded, Escalated                      string
	Decisions                                []DecisionRow
	Current                                  bool
}

// TimelineRow is one event of the request's history.
type TimelineRow struct {
	At, AtExact, Who, What string
}

// DetailView is a request's page.
type DetailView struct {
	ID, Ref, Title, Type, Status, StatusKind, Requester, Department, Amount, Submitted, Decided string
	Description, Category, ExpenseDate                                                          string
	Lines                                                                                       []LineRow
	Receipts                                                                                    []ReceiptRow
	Steps                                                                                       []StepRow
	Timeline                                                                                    []TimelineRow
	Round                                                                                       string
	CSRFToken                                                                                   string
	Version                                                                                     int
	CanEdit, CanSubmit, CanWithdraw, CanReceipts                                                bool
	CanDecide                                                                                   bool
	ActingFor                                                                                   string // "" when deciding for oneself
	DecideRound, DecidePosition                                                                 int
	DecideErrors                                                                                []ui.FieldError
	Comment                                                                                     string
	ReceiptErrors                                                                               []ui.FieldError
	Reimbursed                                                                                  string
	Expected                                                                                    []ExpectedRow
	CanReimburse                                                                                bool
	Back                                                                                        Crumb
}

// PolicySummary is a request type on the policies page.
type PolicySummary struct {
	Type, Label, Href, Source string
	Bands                     []BandSummary
}

// BandSummary describes one band for reading.
type BandSummary struct {
	Range string
	Steps []string
}

// PoliciesView lists the policies of every request type.
type PoliciesView struct {
	Nav      Nav
	Policies []PolicySummary
}

// StepForm is one step slot of the policy form.
type StepForm struct {
	Name, Approver, Role, Mode, Quorum, SLAHours string
	Users                                        []Option
	Roles                                        []Option
	Approvers                                    []Option
	Modes                                        []Option
	Prefix                                       string
}

// BandForm is one band slot of the policy form.
type BandForm struct {
	From, To string
	Steps    []StepForm
	Prefix   string
	Index    int
}

// PolicyForm edits one request type's policy.
type PolicyForm struct {
	Nav       Nav
	Type      string
	Label     string
	Action    string
	CSRFToken string
	Currency  string
	Bands     []BandForm
	Version   int
	Default   bool
	Errors    []ui.FieldError
}

// SettingsForm edits the approval settings.
type SettingsForm struct {
	Nav                                                 Nav
	Action, CSRFToken, Currency                         string
	ManagerLimit, FinanceLimit, WorkStart, WorkEnd, SLA string
	Days                                                []Option
	TimeZone                                            string
	Version                                             int
	Errors                                              []ui.FieldError
}

// DelegationRow is one delegation.
type DelegationRow struct {
	From, To, Window, Note, State, StateKind, RevokeAction string
	CanRevoke                                              bool
}

// DelegationsView lists delegations and offers a new one.
type DelegationsView struct {
	Nav       Nav
	Rows      []DelegationRow
	CSRFToken string
	Delegates []Option
	StartsOn  string
	EndsOn    string
	Note      string
	Errors    []ui.FieldError
}

// lineField is the form field name of a purchase line's field: line0_quantity.
func lineField(i int, field string) string { return "line" + strconv.Itoa(i) + "_" + field }

// stepField is the form field name of a policy step's field: band0_step1_mode.
func stepField(prefix, field string) string { return prefix + field }

// joinNames lists names for reading: "A, B and C".
func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	out := ""
	for i, n := range names {
		switch {
		case i == 0:
			out = n
		case i == len(names)-1:
			out += " and " + n
		default:
			out += ", " + n
		}
	}
	return out
}

// ExpectedRow is an approved purchase line that inventory expects.
type ExpectedRow struct {
	Line, Item, ItemHref, Quantity, Received, State, StateKind string
}

// lowerFirst lowers the first letter: "Purchase request" → "purchase request".
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// PanelItem is one request on a dashboard card.
type PanelItem struct {
	Href, Ref, Title, Meta string
	// When is when it began waiting (inbox) or last changed (my requests), with the exact time for the hover.
	When, WhenExact, WhenLabel string
	StatusKind, Status         string // a badge, when the card shows one
	Due, DueExact              string
	Overdue                    bool
	For                        string // "on behalf of X"
}

// PanelCount is one figure of a card with the list behind it: "2 waiting for approval".
type PanelCount struct {
	Value, Label, Href, TestID string
}

// InboxPanel is the dashboard card "Waiting for me": how many requests wait for the member's decision and
// those waiting longest.
type InboxPanel struct {
	Count string
	Items []PanelItem
}

// MinePanel is the dashboard card "My open requests": the member's unfinished requests by status and the
// ones to look at first.
type MinePanel struct {
	Total  string
	Counts []PanelCount
	Items  []PanelItem
}
