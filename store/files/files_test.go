package files_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"ledgerline/store"
	"ledgerline/store/files"
	"ledgerline/store/identity"
	"ledgerline/store/storetest"
)

type testBundle struct {
	db   *store.DB
	a, b store.Scope
}

func setup(t *testing.T) (*testBundle, context.Context) {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t).DB
	tenant := func(slug string) store.Scope {
		ten, err := identity.TenantCreate(ctx, db, store.Scope{}, identity.TenantCreateParams{
			Name: "Tenant " + slug, Slug: slug, TimeZone: "UTC", Currency: "EUR"})
		require.NoError(t, err)
		return store.Scope{TenantID: ten.ID}
	}
	return &testBundle{db: db, a: tenant("files-a"), b: tenant("files-b")}, ctx
}

// countingReader counts the bytes read through it and the largest single read asked for.
type countingReader struct {
	r       io.Reader
	maxRead int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.maxRead = max(c.maxRead, len(p))
	return c.r.Read(p)
}

func TestFilesRoundTrip(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	data := make([]byte, 3*files.ChunkSize+12345)
	_, _ = rand.Read(data)

	var f *files.File
	src := &countingReader{r: bytes.NewReader(data)}
	require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		var err error
		f, err = files.Create(ctx, tx, files.CreateParams{Name: `C:\Users\me\stock "2026".csv`, ContentType: "text/csv"}, src)
		return err
	}))
	require.Equal(t, int64(len(data)), f.Size)
	require.Equal(t, "stock 2026.csv", f.Name, "no path, no quotes")
	require.LessOrEqual(t, src.maxRead, files.ChunkSize, "read a chunk at a time")

	var chunks int
	require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &chunks, `SELECT count(*) FROM file_chunks WHERE file_id = $1`, f.ID)
	}))
	require.Equal(t, 4, chunks)

	r, err := files.Open(ctx, tb.db, tb.a, f.ID)
	require.NoError(t, err)
	require.Equal(t, f.Size, r.Size)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, got), "the bytes come back unchanged")

	t.Run("OtherTenantCannotRead", func(t *testing.T) {
		t.Parallel()
		_, err := files.Open(ctx, tb.db, tb.b, f.ID)
		require.Equal(t, store.NotFound, store.ErrorCode(err))
		var n int
		require.NoError(t, tb.db.InTenant(ctx, tb.b, func(tx *store.Tx) error {
			return tx.GetContext(ctx, &n, `SELECT count(*) FROM file_chunks`)
		}))
		require.Zero(t, n)
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		var e *files.File
		require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
			var err error
			e, err = files.Create(ctx, tx, files.CreateParams{Name: "empty.txt"}, bytes.NewReader(nil))
			return err
		}))
		r, err := files.Open(ctx, tb.db, tb.a, e.ID)
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Empty(t, got)
	})
}

func TestFilesSizeLimit(t *testing.T) {
	t.Parallel()
	tb, ctx := setup(t)
	err := tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		_, err := files.Create(ctx, tx, files.CreateParams{Name: "big.bin", MaxSize: files.ChunkSize + 10},
			bytes.NewReader(make([]byte, 2*files.ChunkSize)))
		return err
	})
	require.Equal(t, store.Invalid, store.ErrorCode(err))
	require.Contains(t, store.ErrorMessage(err), "The file is larger than 256 KB")
	var n int
	require.NoError(t, tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &n, `SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM file_chunks)`)
	}))
	require.Zero(t, n, "nothing of the refused file is kept")

	// The default limit is 20 MB.
	err = tb.db.InTenant(ctx, tb.a, func(tx *store.Tx) error {
		_, err := files.Create(ctx, tx, files.CreateParams{Name: "huge.bin"}, io.LimitReader(zeros{}, files.MaxSize+1))
		return err
	})
	require.Contains(t, store.ErrorMessage(err), "larger than 20 MB")
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
