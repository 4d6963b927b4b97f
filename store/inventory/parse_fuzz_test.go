package inventory

import (
	"encoding/base64"
	"testing"
	"time"

	"ledgerline/store"
)

// FuzzParseQty: any text either parses to a quantity within bounds that prints back to itself, or is an
// Invalid error; nothing panics.
func FuzzParseQty(f *testing.F) {
	for _, s := range []string{"12", "12.5", "-3", "+7", "1,000.25", "0.001", "0.0001", "", " ", "-", ".", "1.", ".5",
		"1e3", "999999999999.999", "9999999999999999999", "1,,2", "١٢", "12.5.6", "--1", "0x10", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQty(s)
		if err != nil {
			if store.ErrorCode(err) != store.Invalid {
				t.Fatalf("ParseQty(%q): error %v is not Invalid", s, err)
			}
			return
		}
		if q > QtyMax || q < -QtyMax {
			t.Fatalf("ParseQty(%q) = %d, beyond the limit", s, q)
		}
		back, err := ParseQty(q.String())
		if err != nil || back != q {
			t.Fatalf("ParseQty(%q) = %s, which reads back as %d, %v", s, q, back, err)
		}
	})
}

// FuzzItemCursor: a cursor from a URL either decodes or is refused; one the store made decodes to itself.
func FuzzItemCursor(f *testing.F) {
	f.Add(itemCursor{sort: SortSKU, key: "BOLT-10", id: store.NewID()}.encode())
	f.Add(itemCursor{sort: SortName, desc: true, key: "a|b|c", id: store.NewID()}.encode())
	f.Add("")
	f.Add("not base64!")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("sku|maybe|x|y")))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := itemCursorDecode(s)
		if err != nil {
			return
		}
		again, err := itemCursorDecode(c.encode())
		if err != nil || again != c {
			t.Fatalf("cursor %q decodes to %+v, which does not survive a round trip: %+v, %v", s, c, again, err)
		}
	})
}

// FuzzMovementCursor: the ledger's cursor never panics and keeps its time and id.
func FuzzMovementCursor(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString([]byte(time.Now().Format(time.RFC3339Nano) + "|" + store.NewID().String())))
	f.Add("")
	f.Add(base64.RawURLEncoding.EncodeToString([]byte("2026-13-45T99:99:99Z|x")))
	f.Fuzz(func(t *testing.T, s string) {
		at, id, err := movementCursorDecode(s)
		if err != nil {
			return
		}
		re := base64.RawURLEncoding.EncodeToString([]byte(at.Format(time.RFC3339Nano) + "|" + id.String()))
		at2, id2, err := movementCursorDecode(re)
		if err != nil || !at2.Equal(at) || id2 != id {
			t.Fatalf("cursor %q: %v %v does not survive a round trip: %v %v %v", s, at, id, at2, id2, err)
		}
	})
}
