// Package exports holds the screens of exports: the export center with its polled progress, one export,
// the export settings and scheduled reports of admins, and the member's notifications.
package exports

import (
	"strconv"

	"ledgerline/views/ui"
)

// Element ids that handlers and HTMX share.
const (
	// ListID is the export center's table, which polls itself while an export runs.
	ListID = "exports-list"
	// PanelID is one export's status panel, which polls itself while the export runs.
	PanelID = "export-panel"
)

// Row is one export as the center and its page show it.
type Row struct {
	ID, Href, Title, Format, FilterText, Requester string
	State, StateLabel, Badge                       string
	Created, Finished, Expires                     string
	RowsDone, RowsTotal                            int64
	Percent                                        int
	Active, CanCancel, CanDownload, Expired        bool
	DownloadHref, FileName, FileSize, Error        string
	NextAttempt                                    string // waiting: the time of the next attempt
}

// ProgressText says how far the export is.
func (r Row) ProgressText() string {
	if r.State == "waiting" {
		if r.NextAttempt != "" {
			return "Waiting: next attempt at " + r.NextAttempt
		}
		return "Waiting for the next attempt"
	}
	if r.RowsTotal > 0 {
		return Num(r.RowsDone) + " of about " + Num(r.RowsTotal) + " rows"
	}
	return Num(r.RowsDone) + " rows"
}

// CenterView is the export center.
type CenterView struct {
	CSRFToken string
	All       bool // an admin looking at everyone's exports
	CanSeeAll bool
	Rows      []Row
	Polling   bool
	NextURL   string
	SelfURL   string
	IsAdmin   bool
}

// DetailView is one export's page.
type DetailView struct {
	CSRFToken string
	Row       Row
	SelfURL   string
}

// SettingsView is the export settings form (admins).
type SettingsView struct {
	CSRFToken                    string
	RetentionDays, MaxConcurrent string
	// The retention policy: months of audit events and stock movements kept online, days before
	// soft-deleted records are purged.
	AuditMonths, MovementsMonths, PurgeDays string
	Version                                 int
	Errors                                  []ui.FieldError
}

// Option is one choice of a select.
type Option struct {
	Value, Label string
	Selected     bool
}

// ScheduleRow is one scheduled report.
type ScheduleRow struct {
	ID, Name, List, Format, When, Next, Owner, Recipients, LastHref string
}

// SchedulesView is the scheduled reports page with its form.
type SchedulesView struct {
	CSRFToken                   string
	Rows                        []ScheduleRow
	Errors                      []ui.FieldError
	Name, Query, Hour, Day      string
	Kinds, Formats, Frequencies []Option
	People                      []PersonOption
	Zone                        string
}

// PersonOption is a member who may receive a report.
type PersonOption struct {
	ID, Label string
	Checked   bool
}

// NotificationRow is one in-app notification.
type NotificationRow struct {
	ID, Title, Body, Href, When string
	Unread                      bool
}

// NotificationsView is the member's notifications.
type NotificationsView struct {
	CSRFToken string
	Rows      []NotificationRow
	ShowRead  bool
}

// Num writes n with thousands separators.
func Num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return neg + s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return neg + string(out)
}

func itoa(n int) string { return strconv.Itoa(n) }
