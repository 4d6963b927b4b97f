package audit_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store/audit"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	type fc = audit.FieldChange
	tests := []struct {
		name          string
		before, after string
		want          []fc
	}{
		{"BothEmpty", "", "", nil},
		{"NullStates", "null", "null", nil},
		{"Created", "", `{"name":"Sales","version":1,"manager_id":null}`, []fc{
			{Field: "manager_id", Kind: audit.FieldAdded, After: "null"},
			{Field: "name", Kind: audit.FieldAdded, After: "Sales"},
			{Field: "version", Kind: audit.FieldAdded, After: "1"},
		}},
		{"Removed", `{"name":"Sales"}`, "", []fc{
			{Field: "name", Kind: audit.FieldRemoved, Before: "Sales"},
		}},
		{"ChangedOnly", `{"name":"Sales","version":1,"id":"x"}`, `{"id":"x","name":"Sales & Marketing","version":2}`, []fc{
			{Field: "name", Kind: audit.FieldChanged, Before: "Sales", After: "Sales & Marketing"},
			{Field: "version", Kind: audit.FieldChanged, Before: "1", After: "2"},
		}},
		{"NestedFlattened", `{"address":{"city":"Berlin","zip":"10115"},"tags":["a"]}`,
			`{"address":{"city":"Hamburg","zip":"10115","geo":{"lat":53.55}},"tags":["a","b"]}`, []fc{
				{Field: "address.city", Kind: audit.FieldChanged, Before: "Berlin", After: "Hamburg"},
				{Field: "address.geo.lat", Kind: audit.FieldAdded, After: "53.55"},
				{Field: "tags", Kind: audit.FieldChanged, Before: `["a"]`, After: `["a","b"]`},
			}},
		{"ObjectBecomesValue", `{"manager":{"id":"u1"}}`, `{"manager":null}`, []fc{
			{Field: "manager", Kind: audit.FieldAdded, After: "null"},
			{Field: "manager.id", Kind: audit.FieldRemoved, Before: "u1"},
		}},
		{"EmptyStringIsNotAbsent", `{"note":""}`, `{"note":null}`, []fc{
			{Field: "note", Kind: audit.FieldChanged, Before: "", After: "null"},
		}},
		{"TypeChange", `{"qty":"1"}`, `{"qty":1}`, []fc{
			{Field: "qty", Kind: audit.FieldChanged, Before: "1", After: "1"},
		}},
		{"BigNumbersExact", `{"amount":9223372036854775807}`, `{"amount":9223372036854775806}`, []fc{
			{Field: "amount", Kind: audit.FieldChanged, Before: "9223372036854775807", After: "9223372036854775806"},
		}},
		{"KeyOrderIrrelevant", `{"a":{"x":1,"y":2}}`, `{"a":{"y":2,"x":1}}`, nil},
		{"EmptyObjectsKept", `{"meta":{}}`, `{"meta":{"k":"v"}}`, []fc{
			{Field: "meta", Kind: audit.FieldRemoved, Before: "{}"},
			{Field: "meta.k", Kind: audit.FieldAdded, After: "v"},
		}},
		{"BareValue", `"old"`, `"new"`, []fc{
			{Field: "(value)", Kind: audit.FieldChanged, Before: "old", After: "new"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := audit.Diff([]byte(tt.before), []byte(tt.after))
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}

	_, err := audit.Diff([]byte(`{"a":`), nil)
	require.Error(t, err)
	_, err = audit.Diff(nil, []byte(`{} {}`))
	require.Error(t, err)
}

// FuzzDiff checks that Diff never panics and that a state compared with itself has no differences.
func FuzzDiff(f *testing.F) {
	f.Add([]byte(`{"a":{"b":1}}`), []byte(`{"a":{"b":2},"c":[1]}`))
	f.Add([]byte(`null`), []byte(`"x"`))
	f.Add([]byte(``), []byte(`{"k":{}}`))
	f.Fuzz(func(t *testing.T, before, after []byte) {
		_, _ = audit.Diff(before, after)
		if same, err := audit.Diff(after, after); err == nil {
			require.Empty(t, same)
		}
	})
}
