package store

import "testing"

func TestLoadLocationCaches(t *testing.T) {
	a, err := LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("the second load returned a different *time.Location; want the cached one")
	}
	if _, err := LoadLocation("Mars/Olympus_Mons"); err == nil {
		t.Error("unknown zone loaded without error")
	}
	if _, ok := zones.Load("Mars/Olympus_Mons"); ok {
		t.Error("a zone that failed to load was cached")
	}
}
