// Package audit renders the audit log screens: the filtered list, one event, and the chain verification
// panel.
package audit

import (
	"strconv"

	"ledgerline/views/ui"
)

// Element ids that HTMX targets; the handlers and the views share them.
const (
	// TableID holds the filter problems, the events table and its paging: the filters swap it.
	TableID = "audit-table"
	// VerifyPanelID is the chain verification panel; it replaces itself while a verification runs.
	VerifyPanelID = "audit-verify"
)

// ListView is the audit log screen: the filters as typed, one page of events, the paging links and the
// verification panel.
type ListView struct {
	Filters  Filters
	Actors   []Option
	Errors   []ui.FieldError
	Rows     []Row
	NextURL  string
	FirstURL string
	Filtered bool
	Zone     string
	Verify   VerifyPanel
	// Export is the Export button with the current filter (nil: may not export).
	Export *ui.ExportProps
}

// Filters are the audit log's filters as typed; the handler puts them in the URL.
type Filters struct {
	Actor, Action, EntityType, EntityID, From, To string
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// Row is one event as the table shows it.
type Row struct {
	Href                 string
	When, WhenExact      string
	Actor                string
	Action               string
	EntityType, EntityID string
	// EntityHref lists the events of the same entity ("" when the event names none).
	EntityHref string
	ClientIP   string
	Changes    []Change
}

// Change is one row of a difference table.
type Change struct {
	Field, Kind, Before, After string
}

// ChangesSummary says how many fields changed, for the collapsed difference.
func (r Row) ChangesSummary() string {
	if len(r.Changes) == 1 {
		return "1 field"
	}
	return strconv.Itoa(len(r.Changes)) + " fields"
}

// DetailView is one event's page.
type DetailView struct {
	ID                   string
	When, WhenExact      string
	Zone                 string
	Actor, ActorEmail    string
	Action               string
	EntityType, EntityID string
	EntityHref           string
	ClientIP, RequestID  string
	Sealed               string // "Sealed as link 12 on …" or "Not sealed yet …"
	Changes              []Change
	// Before and After are the raw states, indented, for those who need the exact JSON.
	Before, After string
	// DiffError is set when the states could not be compared (not JSON objects).
	DiffError bool
}

// VerifyPanel shows the latest chain verification and offers to start one.
type VerifyPanel struct {
	CSRFToken string
	// State is "" (never verified), "queued", "running", "done" or "failed".
	State string
	// Polling makes the panel ask for itself again every two seconds (while queued or running).
	Polling               bool
	OK                    bool
	Checked, Unsealed     int64
	RequestedBy           string
	RequestedAt, Finished string
	FirstBadSeq           string
	FirstBadHref          string
	Reason                string
}

// Open reports whether a verification is waiting or running.
func (p VerifyPanel) Open() bool {
	return p.State == "queued" || p.State == "running"
}

func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// changeKindLabel says in words what happened to a field.
func changeKindLabel(kind string) string {
	switch kind {
	case "added":
		return "Added"
	case "removed":
		return "Removed"
	}
	return "Changed"
}

// shortID keeps the end of a long id for the table (UUIDv7s share their leading, time-based digits); the
// link's title and the event's page show it whole.
func shortID(id string) string {
	if len(id) <= 12 {
		return id
	}
	return "…" + id[len(id)-8:]
}
