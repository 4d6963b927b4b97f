package identity

import (
	"encoding/base64"
	"testing"

	"ledgerline/store"
)

// The list cursors come back from URLs, so they are user input: they decode or are refused, never panic,
// and a cursor the store made decodes to itself.

func FuzzMemberCursor(f *testing.F) {
	f.Add(memberCursor{start: 51, name: "Ada Admin", id: store.NewID()}.encode())
	f.Add(memberCursor{start: 1, name: "a|b", id: store.NewID()}.encode())
	f.Add("")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("-1|x|y")))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := memberCursorDecode(s)
		if err != nil {
			return
		}
		if c.start < 1 {
			t.Fatalf("cursor %q: position %d", s, c.start)
		}
		if again, err := memberCursorDecode(c.encode()); err != nil || again != c {
			t.Fatalf("cursor %q: %+v then %+v, %v", s, c, again, err)
		}
	})
}

func FuzzDepartmentCursor(f *testing.F) {
	f.Add(departmentCursor{start: 26, name: "Operations", id: store.NewID()}.encode())
	f.Add("")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("99999999999999999999|x|y")))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := departmentCursorDecode(s)
		if err != nil {
			return
		}
		if c.start < 1 {
			t.Fatalf("cursor %q: position %d", s, c.start)
		}
		if again, err := departmentCursorDecode(c.encode()); err != nil || again != c {
			t.Fatalf("cursor %q: %+v then %+v, %v", s, c, again, err)
		}
	})
}

func FuzzInvitationCursor(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("2026-11-26T07:00:00.123456Z|" + store.NewID().String())))
	f.Add("")
	f.Add("%%%")
	f.Fuzz(func(t *testing.T, s string) {
		_, _, _ = invitationCursorDecode(s)
	})
}
