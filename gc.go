package main

import (
	"runtime/debug"
)

// Defaults of the Go garbage collector for a serving process, unless the environment sets its own (the
// runtime reads GOGC and GOMEMLIMIT itself). The live heap of a serving instance is small (20–30 MB at 64
// clients), so collecting at every doubling spent 15–20 % of the app's CPU on the collector; at GOGC 400 the
// items list and the invoice list served 8–15 % more requests a second at 16 clients (bench/README.md) for
// ~40 MB more memory. The memory limit makes the collector work harder only when the heap nears it (a large
// spreadsheet export), so memory stays bounded whatever GOGC allows.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 384 << 20 // bytes
)

// tuneGC sets the collector's defaults that getenv leaves unset.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}
