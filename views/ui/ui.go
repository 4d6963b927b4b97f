// Package ui holds the small pieces that screens share: form fields with their errors, the error summary,
// the CSRF input and badges. Components here know nothing about pages or handlers.
package ui

import "strings"

// FieldProps describes one labelled input. Forms using Field should set novalidate, so that people see the
// server's messages ("Enter an email address"), not the browser's.
type FieldProps struct {
	Name, Label, Type, Value, Hint, Error, Autocomplete string
	Required                                            bool
}

// FieldError is a problem with one form field, as listed in the ErrorSummary and shown next to the field.
// An empty Field means a problem with the form as a whole.
type FieldError struct {
	Field, Message string
}

// ErrorFor returns the message for the named field, or "" when it has none.
func ErrorFor(errs []FieldError, field string) string {
	for _, e := range errs {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// FieldID is the id of the input called name; ErrorSummary links to it.
func FieldID(name string) string {
	return "field-" + name
}

// The badge kinds. Each state has one colour across the app and always shows its label too.
const (
	BadgeDraft      = "draft"       // grey
	BadgePending    = "pending"     // amber
	BadgeApproved   = "approved"    // green
	BadgePaid       = "paid"        // green
	BadgeRejected   = "rejected"    // red
	BadgeOverdue    = "overdue"     // red
	BadgeIssued     = "issued"      // blue
	BadgeInProgress = "in-progress" // blue
	BadgeRole       = "role"        // outlined, for a person's role
)

func (p FieldProps) inputType() string {
	if p.Type == "" {
		return "text"
	}
	return p.Type
}

// showsValue keeps typed values on a failed submit, except passwords, which never travel back to the browser.
func (p FieldProps) showsValue() bool {
	return p.inputType() != "password" && p.Value != ""
}

func (p FieldProps) hintID() string  { return FieldID(p.Name) + "-hint" }
func (p FieldProps) errorID() string { return FieldID(p.Name) + "-error" }

// describedBy links the hint and the error to the input, so screen readers read them with the label.
func (p FieldProps) describedBy() string {
	var ids []string
	if p.Hint != "" {
		ids = append(ids, p.hintID())
	}
	if p.Error != "" {
		ids = append(ids, p.errorID())
	}
	return strings.Join(ids, " ")
}

// badgeClass turns a kind into a modifier class; anything outside the class-name alphabet is dropped.
func badgeClass(kind string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(kind) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		case r == ' ' || r == '_':
			b.WriteRune('-')
		}
	}
	if b.Len() == 0 {
		return "badge--draft"
	}
	return "badge--" + b.String()
}
