// Package inventoryimport holds the screens of the inventory CSV import: the upload form with the file
// format, and one import's progress and outcome, which polls itself while the job runs.
package inventoryimport

import (
	"strconv"

	"ledgerline/views/ui"
)

// StatusPanelID is the id of the status panel that HTMX polls and replaces.
const StatusPanelID = "import-status"

// UploadFormID is the id of the upload form, which a failed upload replaces.
const UploadFormID = "import-form"

// UploadView is the upload page.
type UploadView struct {
	CSRFToken string
	Errors    []ui.FieldError
	Columns   []string
	Units     string
	MaxSize   string
	Recent    []Row
}

// Row is one recent import in the list under the form.
type Row struct {
	Href, FileName, When, StateLabel, Badge string
}

// StatusView is one import's state, as the panel shows it.
type StatusView struct {
	Href        string // the page itself, which the panel polls
	FileName    string
	FileSize    string
	RequestedBy string
	RequestedAt string
	Finished    string
	State       string
	StateLabel  string
	Badge       string
	Polling     bool
	// Done and Total are the rows the current phase has handled, of all; Total 0 means not known yet.
	Done, Total  int64
	ItemsCreated int64
	StockLines   int64
	ErrorCount   int64
	Message      string
	ErrorsHref   string
}

// Percent is how far the current phase is, 0 to 100.
func (v StatusView) Percent() int64 {
	if v.Total <= 0 {
		return 0
	}
	return v.Done * 100 / v.Total
}

func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return num(n) + " " + one
	}
	return num(n) + " " + many
}
