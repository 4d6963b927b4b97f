// Package audit renders the audit log screens.
package audit

// TableID is the element HTMX swaps when the filter changes; the handler and the view share it.
const TableID = "audit-table"

// ListView is the audit log screen: the filter, one page of events and the link to the next page.
type ListView struct {
	Action  string
	Rows    []Row
	NextURL string
	Zone    string
}

// Row is one event as the table shows it.
type Row struct {
	When, WhenExact     string
	Actor               string
	Action              string
	Entity              string
	ClientIP, RequestID string
	Before, After       string
}
