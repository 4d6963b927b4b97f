package store_test

import (
	"testing"

	"ledgerline/store"
)

// FuzzParseID: ids from paths and forms parse to themselves or are NotFound (they can name no row).
func FuzzParseID(f *testing.F) {
	for _, s := range []string{store.NewID().String(), "", "not-an-id", "00000000-0000-0000-0000-000000000000",
		"{01a216b8-15d0-7bd5-8401-036fa4e35852}", "urn:uuid:01a216b8-15d0-7bd5-8401-036fa4e35852", "01A216B8-15D0-7BD5-8401-036FA4E35852"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := store.ParseID(s)
		if err != nil {
			if store.ErrorCode(err) != store.NotFound {
				t.Fatalf("ParseID(%q): %v is not NotFound", s, err)
			}
			return
		}
		again, err := store.ParseID(id.String())
		if err != nil || again != id {
			t.Fatalf("ParseID(%q) = %s, which reads back as %s, %v", s, id, again, err)
		}
	})
}
