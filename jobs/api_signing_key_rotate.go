package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"ledgerline/store"
	"ledgerline/store/apiauth"
)

// SigningKeyRotateEvery is how often the API's token signing key is replaced.
const SigningKeyRotateEvery = 24 * time.Hour

// SigningKeyRotateArgs is the periodic job that replaces the key signing OAuth clients' access tokens.
type SigningKeyRotateArgs struct{}

// Kind names the job in River's tables.
func (SigningKeyRotateArgs) Kind() string { return "api_signing_key_rotate" }

// InsertOpts makes the job unique per day: it is scheduled at every start (so frequent deployments do not
// postpone it for ever), but only one lands per day.
func (SigningKeyRotateArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: SigningKeyRotateEvery}}
}

// SigningKeyRotateWorker works SigningKeyRotateArgs. A retry rotates once more, which is harmless: tokens
// signed by any retired key keep working for their remaining lifetime.
type SigningKeyRotateWorker struct {
	river.WorkerDefaults[SigningKeyRotateArgs]
	DB *store.DB
}

// Work rotates the key.
func (w *SigningKeyRotateWorker) Work(ctx context.Context, job *river.Job[SigningKeyRotateArgs]) error {
	return apiauth.SigningKeyRotate(ctx, w.DB)
}
