package audit

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
)

// RecentWindow is how far back Recent looks: four weeks, always in the live log, since archival only
// detaches months that ended before the previous month began (ledger_partition_archive).
const RecentWindow = 28 * 24 * time.Hour

// recentQuery reads the newest events of the live log. The time bounds prune it to the current
// partitions when the statement starts, and its fixed shape (no optional filters) lets PostgreSQL keep one
// generic plan instead of planning every partition of the log on each call.
const recentQuery = listedEventColumns + `
	FROM audit_events e
	LEFT JOIN users u ON u.id = e.actor_id
	WHERE e.tenant_id = $1 AND e.occurred_at > now() - make_interval(secs => $2)
	  AND e.occurred_at < now() + interval '1 day'`

// Recent returns up to n of the tenant's events of the last RecentWindow, newest first: everyone's when
// actor is nil, else those actor caused. It is the dashboard's activity card; the audit log page (List)
// filters and pages everything. As for List, the caller checks the actor may read what it asks for.
func Recent(ctx context.Context, db *store.DB, scope store.Scope, actor *store.ID, n int) ([]ListedEvent, error) {
	var events []ListedEvent
	limit := store.Limit(n) // a literal, so the plan is kept (store.Limit)
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		if actor == nil {
			return tx.SelectContext(ctx, &events, recentQuery+`
				ORDER BY e.occurred_at DESC, e.id DESC`+limit, scope.TenantID, RecentWindow.Seconds())
		}
		return tx.SelectContext(ctx, &events, recentQuery+` AND e.actor_id = $3
				ORDER BY e.occurred_at DESC, e.id DESC`+limit, scope.TenantID, RecentWindow.Seconds(), *actor)
	})
	if len(events) > n {
		events = events[:n]
	}
	if err != nil {
		return nil, fmt.Errorf("error listing recent audit events: %w", err)
	}
	return events, nil
}
