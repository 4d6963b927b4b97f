package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMetricsExposition: /metrics carries what dashboards, alerts and the load harness read, the live heap
// among them (the stability run judges growth by it: heap in use swings with every GC cycle).
func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.newClient(t)
	require.Equal(t, http.StatusOK, c.get("/login").status)
	res := c.get("/metrics")
	require.Equal(t, http.StatusOK, res.status)
	for _, name := range []string{"go_gc_heap_live_bytes ", "go_goroutines ", "go_memstats_heap_inuse_bytes ",
		"process_resident_memory_bytes ", "ledgerline_http_requests_total{", "ledgerline_db_statements_total{",
		`ledgerline_db_pool_connections{pool="web"`} {
		found := false
		for line := range strings.Lines(res.body) {
			if strings.HasPrefix(line, name) {
				found = true
				break
			}
		}
		require.True(t, found, "no %s in /metrics", strings.TrimSpace(name))
	}
}
