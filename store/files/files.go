// Package files owns the files kept in PostgreSQL: uploads waiting for an import, import error reports,
// exports and generated documents. A file is its metadata (files) and its bytes in chunks of ChunkSize
// (file_chunks); both are written and read a chunk at a time, so a file is never held whole in memory and
// never touches local disk.
//
// Files belong to a tenant under row-level security like every other row. The package checks no role:
// the domain that stores a file (an import, an export) decides who may read it and calls Open for them.
package files

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"ledgerline/store"
)

// ChunkSize is the size of one stored chunk: 256 KiB.
const ChunkSize = 256 << 10

// MaxSize is the largest file Create accepts unless the caller sets a smaller limit: 20 MB.
const MaxSize = 20 << 20

// File is a stored file's metadata.
type File struct {
	ID          store.ID   `db:"id"`
	OwnerID     *store.ID  `db:"owner_id"`
	Name        string     `db:"name"`
	ContentType string     `db:"content_type"`
	Size        int64      `db:"size"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   *time.Time `db:"expires_at"`
}

const fileColumns = `id, owner_id, name, content_type, size, created_at, expires_at`

// CreateParams describes a file to store. MaxSize defaults to the package's MaxSize; ContentType to
// application/octet-stream. ExpiresAt, when set, marks a temporary file.
type CreateParams struct {
	Name        string
	ContentType string
	OwnerID     *store.ID
	ExpiresAt   *time.Time
	MaxSize     int64
}

// TooLarge is the Invalid error of a file beyond its size limit.
func TooLarge(limit int64) *store.Error {
	msg := fmt.Sprintf("The file is larger than %s, the most that can be uploaded. Split it into smaller files.", sizeText(limit))
	return &store.Error{Code: store.Invalid, Message: msg, Fields: map[string]string{"file": msg}}
}

// sizeText writes n bytes for people: "20 MB", "256 KB", "12 bytes".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// SizeText is sizeText for screens.
func SizeText(n int64) string { return sizeText(n) }

// cleanName keeps a file name displayable and safe in a Content-Disposition header: no path, no control
// characters, no quotes, at most 255 characters.
func cleanName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 255 {
		name = string(r[:255])
	}
	if name == "" {
		name = "file"
	}
	return name
}

// Create stores the bytes of r as a new file in tx's tenant, a chunk at a time. A file beyond the size
// limit is the Invalid error TooLarge; the caller's transaction must then be rolled back (InTenant does
// that when the error is returned), which removes the chunks written so far.
func Create(ctx context.Context, tx *store.Tx, p CreateParams, r io.Reader) (*File, error) {
	limit := p.MaxSize
	if limit <= 0 {
		limit = MaxSize
	}
	if p.ContentType == "" {
		p.ContentType = "application/octet-stream"
	}
	f := File{ID: store.NewID(), OwnerID: p.OwnerID, Name: cleanName(p.Name), ContentType: p.ContentType, ExpiresAt: p.ExpiresAt}
	if err := tx.GetContext(ctx, &f.CreatedAt, `
		INSERT INTO files (id, owner_id, name, content_type, expires_at) VALUES ($1, $2, $3, $4, $5)
		RETURNING created_at`, f.ID, f.OwnerID, f.Name, f.ContentType, f.ExpiresAt); err != nil {
		return nil, fmt.Errorf("error creating file %q: %w", f.Name, err)
	}
	buf := make([]byte, ChunkSize)
	for seq := 0; ; seq++ {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			f.Size += int64(n)
			if f.Size > limit {
				return nil, TooLarge(limit)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO file_chunks (file_id, seq, data) VALUES ($1, $2, $3)`,
				f.ID, seq, buf[:n]); err != nil {
				return nil, fmt.Errorf("error writing chunk %d of file %s: %w", seq, f.ID, err)
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			var se *store.Error
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, fmt.Errorf("error reading file %q: %w", f.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE files SET size = $2 WHERE tenant_id = $3 AND id = $1`,
		f.ID, f.Size, tx.Scope.TenantID); err != nil {
		return nil, fmt.Errorf("error recording size of file %s: %w", f.ID, err)
	}
	return &f, nil
}

var errFileNotFound = store.Errorf(store.NotFound, "No such file.")

// GetTx returns a file's metadata in tx. A file of another tenant, or one purged after it expired, is
// NotFound.
func GetTx(ctx context.Context, tx *store.Tx, id store.ID) (*File, error) {
	var f File
	err := tx.GetContext(ctx, &f, `SELECT `+fileColumns+` FROM files WHERE tenant_id = $1 AND id = $2 AND purged_at IS NULL`, tx.Scope.TenantID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errFileNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("error loading file %s: %w", id, err)
	}
	return &f, nil
}

// Reader reads a stored file a chunk at a time: each chunk is fetched in its own short transaction when
// the previous one is used up, so a slow reader holds no transaction open.
type Reader struct {
	File

	ctx   context.Context
	db    *store.DB
	scope store.Scope
	seq   int
	buf   []byte
	read  int64
}

// Open returns a reader of the file id in scope's tenant. A file of another tenant is NotFound.
func Open(ctx context.Context, db *store.DB, scope store.Scope, id store.ID) (*Reader, error) {
	var f *File
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		var err error
		f, err = GetTx(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Reader{File: *f, ctx: ctx, db: db, scope: scope}, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.read >= r.Size {
			return 0, io.EOF
		}
		var data []byte
		err := r.db.InTenant(r.ctx, r.scope, func(tx *store.Tx) error {
			return tx.GetContext(r.ctx, &data, `SELECT data FROM file_chunks WHERE tenant_id = $1 AND file_id = $2 AND seq = $3`,
				r.scope.TenantID, r.ID, r.seq)
		})
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("error reading file %s: chunk %d is missing", r.ID, r.seq)
		}
		if err != nil {
			return 0, fmt.Errorf("error reading chunk %d of file %s: %w", r.seq, r.ID, err)
		}
		if len(data) == 0 {
			return 0, fmt.Errorf("error reading file %s: chunk %d is empty", r.ID, r.seq)
		}
		r.seq++
		r.buf = data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.read += int64(n)
	return n, nil
}

// DefaultRetention is how long temporary files (uploads, reports) are kept unless their domain says otherwise.
const DefaultRetention = 7 * 24 * time.Hour

// Delete removes a file and its chunks.
func Delete(ctx context.Context, tx *store.Tx, id store.ID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM files WHERE tenant_id = $1 AND id = $2`, tx.Scope.TenantID, id); err != nil {
		return fmt.Errorf("error deleting file %s: %w", id, err)
	}
	return nil
}
