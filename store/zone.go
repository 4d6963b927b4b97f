package store

import (
	"sync"
	"time"
)

// zones caches the time zones loaded so far: time.LoadLocation reads and parses the zone file on
// every call, which a page that shows a hundred times would otherwise do a hundred times.
var zones sync.Map // name -> *time.Location

// LoadLocation is time.LoadLocation with a process-wide cache of the zones it has loaded. Zone
// files do not change while the process runs; a name that fails to load is not cached.
func LoadLocation(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}
