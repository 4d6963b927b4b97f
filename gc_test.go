package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// Not parallel: the collector's settings are the process's.
func TestTuneGC(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })

	tuneGC(envMap(nil))
	require.Equal(t, defaultGCPercent, debug.SetGCPercent(100))
	require.Equal(t, int64(defaultMemoryLimit), debug.SetMemoryLimit(math.MaxInt64))

	// The operator's own settings win (the runtime has applied them already).
	tuneGC(envMap(map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}))
	require.Equal(t, 100, debug.SetGCPercent(100))
	require.Equal(t, int64(math.MaxInt64), debug.SetMemoryLimit(-1))
}
