package jobs_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"ledgerline/jobs"
	"ledgerline/store/storetest"
)

func TestSigningKeyRotateWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t).DB
	w := &jobs.SigningKeyRotateWorker{DB: db}
	for range 2 {
		require.NoError(t, w.Work(ctx, &river.Job[jobs.SigningKeyRotateArgs]{}))
	}
	var total, active int
	require.NoError(t, db.X.GetContext(ctx, &total, `SELECT count(*) FROM signing_keys`))
	require.NoError(t, db.X.GetContext(ctx, &active, `SELECT count(*) FROM signing_keys WHERE retired_at IS NULL`))
	require.Equal(t, 2, total, "the first run creates a key, the second retires it and makes another")
	require.Equal(t, 1, active)
}
