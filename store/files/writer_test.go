package files_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/files"
)

func TestWriterChunksAndAbort(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	expires := time.Now().Add(time.Hour)
	_, err := files.WriterOpen(ctx, tb.db, tb.a, files.CreateParams{Name: "x.csv"})
	require.Error(t, err, "an unfinished file must expire")

	data := make([]byte, 2*files.ChunkSize+777)
	_, _ = rand.Read(data)
	w, err := files.WriterOpen(ctx, tb.db, tb.a, files.CreateParams{Name: "export.csv", ContentType: "text/csv", ExpiresAt: &expires})
	require.NoError(t, err)
	// Written in odd-sized pieces, stored in whole chunks.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 100_003)
		_, err := w.Write(rest[:n])
		require.NoError(t, err)
		rest = rest[n:]
	}
	// Before Close the file is empty: nobody may take a partial file for a whole one.
	var size int64
	require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		f, err := files.GetTx(ctx, tx, w.ID())
		size = f.Size
		return err
	}))
	require.Zero(t, size)
	f, err := w.Close()
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), f.Size)
	r, err := files.Open(ctx, tb.db, tb.a, f.ID)
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got))
	var chunks int
	require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &chunks, `SELECT count(*) FROM file_chunks WHERE file_id = $1`, f.ID)
	}))
	require.Equal(t, 3, chunks)
	// Another tenant cannot open it.
	_, err = files.Open(ctx, tb.db, tb.b, f.ID)
	require.Equal(t, store.NotFound, store.ErrorCode(err))

	// Abort removes the file and its chunks; a size limit is TooLarge.
	w, err = files.WriterOpen(ctx, tb.db, tb.a, files.CreateParams{Name: "big.csv", ExpiresAt: &expires, MaxSize: files.ChunkSize})
	require.NoError(t, err)
	_, err = w.Write(data)
	require.Equal(t, store.Invalid, store.ErrorCode(err))
	require.NoError(t, w.Abort())
	_, err = files.Open(ctx, tb.db, tb.a, w.ID())
	require.Equal(t, store.NotFound, store.ErrorCode(err))
}

func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	now := time.Now()
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	create := func(sc store.Scope, expires *time.Time) store.ID {
		var f *files.File
		require.NoError(t, tb.db.InTenant(ctx, sc, func(tx *store.Tx) error {
			var err error
			f, err = files.Create(ctx, tx, files.CreateParams{Name: "upload.csv", ExpiresAt: expires}, bytes.NewReader([]byte("sku,name\n")))
			return err
		}))
		return f.ID
	}
	expired, later, kept, otherTenant := create(tb.a, &past), create(tb.a, &future), create(tb.a, nil), create(tb.b, &past)
	n, err := files.PurgeExpired(ctx, tb.db, tb.a.TenantID, now)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = files.Open(ctx, tb.db, tb.a, expired)
	require.Equal(t, store.NotFound, store.ErrorCode(err), "an expired file is gone")
	for _, id := range []store.ID{later, kept} {
		_, err = files.Open(ctx, tb.db, tb.a, id)
		require.NoError(t, err)
	}
	_, err = files.Open(ctx, tb.db, tb.b, otherTenant)
	require.NoError(t, err, "only the tenant's own files")
	// The metadata stays for the history; a second run finds nothing.
	var purged int
	require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &purged, `SELECT count(*) FROM files WHERE purged_at IS NOT NULL`)
	}))
	require.Equal(t, 1, purged)
	n, err = files.PurgeExpired(ctx, tb.db, tb.a.TenantID, now)
	require.NoError(t, err)
	require.Zero(t, n)
}
