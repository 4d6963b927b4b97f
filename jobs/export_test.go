package jobs

import (
	"database/sql"

	"github.com/riverqueue/river"
)

// NewClientWithWorkers is NewClient with extra workers registered next to the app's, for benchmarks that
// must run the app's own client configuration (queues, worker counts, fetch intervals).
func NewClientWithWorkers(deps Deps, opts ClientOpts, extra func(*river.Workers) error) (*river.Client[*sql.Tx], error) {
	return newClient(deps, opts, extra)
}
