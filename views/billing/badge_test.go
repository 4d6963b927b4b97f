package billing

import (
	"context"
	"strings"
	"testing"

	"ledgerline/views/ui"
)

// The cached badges are exactly what ui.Badge renders, for each kind and label, the first time and after.
func TestCachedBadge(t *testing.T) {
	for _, k := range [][2]string{{ui.BadgePaid, "Paid"}, {ui.BadgeOverdue, "Overdue"}, {ui.BadgePaid, "Fully paid"}, {ui.BadgeDraft, "A <b>"}} {
		var want strings.Builder
		if err := ui.Badge(k[0], k[1]).Render(context.Background(), &want); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			var got strings.Builder
			if err := cachedBadge(k[0], k[1]).Render(context.Background(), &got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("cachedBadge(%q, %q) = %q, want %q", k[0], k[1], got.String(), want.String())
			}
		}
	}
}
