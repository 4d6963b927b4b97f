package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ChangeKind says what happened to one field between an event's before and after states.
type ChangeKind string

// The change kinds.
const (
	FieldAdded   ChangeKind = "added"   // the field is only in the after state
	FieldRemoved ChangeKind = "removed" // the field is only in the before state
	FieldChanged ChangeKind = "changed" // the field is in both, with different values
)

// FieldChange is one row of an event's difference table. Before and After are the values as people read
// them: strings as they are, null as "null", numbers, booleans and arrays as JSON text; "" when the field is
// absent on that side (Kind tells absent from empty).
type FieldChange struct {
	Field  string
	Kind   ChangeKind
	Before string
	After  string
}

// valueField is the name given to a state that is not a JSON object (a bare string or number).
const valueField = "(value)"

// Diff compares an event's before and after states (JSON, either may be empty for "no state") field by
// field and returns the fields that differ, sorted by name. Nested objects are flattened into dotted names
// ("address.city"); arrays are compared and shown whole. Fields that did not change are left out.
func Diff(before, after []byte) ([]FieldChange, error) {
	b, err := flattenState(before)
	if err != nil {
		return nil, fmt.Errorf("error reading before-state: %w", err)
	}
	a, err := flattenState(after)
	if err != nil {
		return nil, fmt.Errorf("error reading after-state: %w", err)
	}
	names := make([]string, 0, len(a)+len(b))
	for k := range b {
		names = append(names, k)
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out []FieldChange
	for _, k := range names {
		bv, inBefore := b[k]
		av, inAfter := a[k]
		switch {
		case inBefore && inAfter:
			if bv.raw != av.raw {
				out = append(out, FieldChange{Field: k, Kind: FieldChanged, Before: bv.text, After: av.text})
			}
		case inBefore:
			out = append(out, FieldChange{Field: k, Kind: FieldRemoved, Before: bv.text})
		default:
			out = append(out, FieldChange{Field: k, Kind: FieldAdded, After: av.text})
		}
	}
	return out, nil
}

// leaf is one flattened value: raw is its canonical JSON (for comparing), text what people read.
type leaf struct {
	raw, text string
}

// flattenState turns a JSON state into dotted field names and leaf values. Empty input and JSON null are
// "no state": no fields at all.
func flattenState(data []byte) (map[string]leaf, error) {
	out := map[string]leaf{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // big integers and exact decimals stay as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	switch t := v.(type) {
	case nil:
		return out, nil
	case map[string]any:
		if len(t) == 0 {
			return out, nil
		}
		flattenInto(out, "", t)
	default:
		out[valueField] = leafOf(v)
	}
	return out, nil
}

func flattenInto(out map[string]leaf, prefix string, obj map[string]any) {
	for k, v := range obj {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if child, ok := v.(map[string]any); ok && len(child) > 0 {
			flattenInto(out, name, child)
			continue
		}
		out[name] = leafOf(v)
	}
}

func leafOf(v any) leaf {
	raw, err := json.Marshal(v) // maps marshal with sorted keys: canonical enough to compare
	if err != nil {
		raw = []byte(fmt.Sprint(v))
	}
	if s, ok := v.(string); ok {
		return leaf{raw: string(raw), text: s}
	}
	return leaf{raw: string(raw), text: strings.TrimSpace(string(raw))}
}
