package ui

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

// Badge is a short label coloured by kind (one of the Badge… constants): draft grey, pending amber,
// approved and paid green, rejected and overdue red, issued and in progress blue, role outlined.
//
// It is written by hand rather than as a template: lists show one or two on every row, and templ's
// handling of a computed class attribute (which looks for CSS components to render) made badges 4 % of a
// list's CPU. The class is made of known characters only (badgeClass); the label is escaped.
func Badge(kind, label string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<span class="badge `+badgeClass(kind)+`">`+templ.EscapeString(label)+`</span>`)
		return err
	})
}
