//go:build race

package inventory_test

// raceEnabled says the race detector slows this build down, so timing bounds do not apply.
const raceEnabled = true
