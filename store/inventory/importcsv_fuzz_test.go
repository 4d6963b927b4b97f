package inventory

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzImportCheck feeds arbitrary files to the import's checks: they must never panic, every problem
// must name a row within the file and carry a message, and a row that passed must pass the item rules.
func FuzzImportCheck(f *testing.F) {
	f.Add([]byte("sku,name,unit\nA-1,One,ea\n"))
	f.Add([]byte("sku;name;unit\nA-1;One;ea\n"))
	f.Add([]byte("\xef\xbb\xbfsku,name,unit,location,quantity,unit_cost\nA-1,\"One, two\",kg,WH1,1.5,\"1,000.00\"\n"))
	f.Add([]byte("sku,name,unit,reorder_point,tracking\nA-1,Caf\xe9,ea,x,serial\n"))
	f.Add([]byte("sku,name,unit\n\"A-1,One,ea\n"))
	f.Add([]byte("\xff\xfes\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := &importCheck{locations: map[string]importLocation{"wh1": {Code: "WH1"}}, digits: 2, skus: map[string]int{}}
		done, err := importCheckAll(bytes.NewReader(data), check, func(int64) error { return nil })
		if err != nil {
			t.Fatalf("a file's content is never a storage error: %v", err)
		}
		rows := bytes.Count(data, []byte("\n")) + 1
		for _, p := range check.probs.list {
			if p.Row < 0 || p.Row > rows || p.Message == "" || !utf8.ValidString(p.Message) {
				t.Fatalf("bad problem %+v for a file of %d lines", p, rows)
			}
		}
		if int64(len(check.rows)) > done {
			t.Fatalf("%d rows kept of %d read", len(check.rows), done)
		}
		for _, r := range check.rows {
			f := r.fields
			if err := f.validate(); err != nil {
				t.Fatalf("kept row fails the item rules: %v", err)
			}
			if strings.TrimSpace(f.SKU) == "" || r.qty < 0 || (r.qty > 0 && r.locationID == nil) {
				t.Fatalf("kept row is not importable: %+v", r)
			}
		}
	})
}
