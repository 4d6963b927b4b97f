package ui

import (
	"context"
	"strings"
	"testing"
)

// Badge writes the same markup the template wrote: the badge's kind as a class of known characters, the
// label escaped.
func TestBadge(t *testing.T) {
	for _, c := range []struct{ kind, label, want string }{
		{BadgePaid, "Paid", `<span class="badge badge--paid">Paid</span>`},
		{"In Progress", "Working", `<span class="badge badge--in-progress">Working</span>`},
		{`x" onmouseover="y`, `A <b>&`, `<span class="badge badge--x-onmouseovery">A &lt;b&gt;&amp;</span>`},
		{"", "Draft", `<span class="badge badge--draft">Draft</span>`},
	} {
		var b strings.Builder
		if err := Badge(c.kind, c.label).Render(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("Badge(%q, %q) = %s, want %s", c.kind, c.label, b.String(), c.want)
		}
	}
}
