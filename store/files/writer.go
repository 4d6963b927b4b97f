package files

import (
	"context"
	"fmt"
	"time"

	"ledgerline/store"
)

// Writer stores a file of unknown length a chunk at a time, each chunk in its own short transaction, so a
// long producer (an export streaming a million rows) holds neither the file in memory nor a transaction
// open for writing. Until Close, the file exists with size 0 and an expiry: a producer that dies leaves a
// file nobody points to, which the clean-up job removes when it expires. Callers offer the file only after
// Close returns.
type Writer struct {
	ctx   context.Context
	db    *store.DB
	scope store.Scope
	file  File
	limit int64
	buf   []byte
	seq   int
	err   error
}

// WriterOpen creates the file's record in scope's tenant and returns a writer for its bytes. p.ExpiresAt
// is required: an unfinished file must expire. p.MaxSize, when set, limits the file (TooLarge beyond it).
func WriterOpen(ctx context.Context, db *store.DB, scope store.Scope, p CreateParams) (*Writer, error) {
	if p.ExpiresAt == nil {
		return nil, fmt.Errorf("error opening file writer for %q: an expiry is required", p.Name)
	}
	if p.ContentType == "" {
		p.ContentType = "application/octet-stream"
	}
	w := &Writer{ctx: ctx, db: db, scope: scope, limit: p.MaxSize, buf: make([]byte, 0, ChunkSize),
		file: File{ID: store.NewID(), OwnerID: p.OwnerID, Name: cleanName(p.Name), ContentType: p.ContentType, ExpiresAt: p.ExpiresAt}}
	err := db.InTenant(ctx, scope, func(tx *store.Tx) error {
		return tx.GetContext(ctx, &w.file.CreatedAt, `
			INSERT INTO files (id, owner_id, name, content_type, expires_at) VALUES ($1, $2, $3, $4, $5)
			RETURNING created_at`, w.file.ID, w.file.OwnerID, w.file.Name, w.file.ContentType, w.file.ExpiresAt)
	})
	if err != nil {
		return nil, fmt.Errorf("error creating file %q: %w", w.file.Name, err)
	}
	return w, nil
}

// ID is the file's id.
func (w *Writer) ID() store.ID { return w.file.ID }

// Size is how many bytes were written so far.
func (w *Writer) Size() int64 { return w.file.Size + int64(len(w.buf)) }

// Write implements io.Writer. It stores a chunk whenever ChunkSize bytes are buffered.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		take := min(ChunkSize-len(w.buf), len(p))
		w.buf = append(w.buf, p[:take]...)
		p, n = p[take:], n+take
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.limit > 0 && w.file.Size+int64(len(w.buf)) > w.limit {
		w.err = TooLarge(w.limit)
		return w.err
	}
	err := w.db.InTenant(w.ctx, w.scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(w.ctx, `INSERT INTO file_chunks (file_id, seq, data) VALUES ($1, $2, $3)`, w.file.ID, w.seq, w.buf)
		return err
	})
	if err != nil {
		w.err = fmt.Errorf("error writing chunk %d of file %s: %w", w.seq, w.file.ID, err)
		return w.err
	}
	w.file.Size += int64(len(w.buf))
	w.seq++
	w.buf = w.buf[:0]
	return nil
}

// Close stores the last chunk and the file's size, and returns the complete file.
func (w *Writer) Close() (*File, error) {
	if w.err != nil {
		return nil, w.err
	}
	if err := w.flush(); err != nil {
		return nil, err
	}
	err := w.db.InTenant(w.ctx, w.scope, func(tx *store.Tx) error {
		_, err := tx.ExecContext(w.ctx, `UPDATE files SET size = $3 WHERE tenant_id = $1 AND id = $2`,
			w.scope.TenantID, w.file.ID, w.file.Size)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("error recording size of file %s: %w", w.file.ID, err)
	}
	w.err = fmt.Errorf("file %s is closed", w.file.ID)
	f := w.file
	return &f, nil
}

// Abort removes the file and what was written of it. It uses its own context, so it also works when the
// producer's context was cancelled.
func (w *Writer) Abort() error {
	w.err = fmt.Errorf("file %s was aborted", w.file.ID)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	return w.db.InTenant(ctx, w.scope, func(tx *store.Tx) error {
		return Delete(ctx, tx, w.file.ID)
	})
}

// PurgeBatch bounds how many files one PurgeExpired transaction removes.
const PurgeBatch = 100

// PurgeExpired removes the bytes of the tenant's files that expired before now and marks them purged; the
// metadata stays, so histories (imports, exports) still name the file. It returns how many files it purged.
func PurgeExpired(ctx context.Context, db *store.DB, tenantID store.ID, now time.Time) (int, error) {
	total := 0
	for {
		var n int
		err := db.InTenant(ctx, store.Scope{TenantID: tenantID}, func(tx *store.Tx) error {
			var ids []store.ID
			if err := tx.SelectContext(ctx, &ids, `
				SELECT id FROM files WHERE tenant_id = $1 AND expires_at < $2 AND purged_at IS NULL
				ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED`, tenantID, now, PurgeBatch); err != nil {
				return fmt.Errorf("error finding expired files: %w", err)
			}
			if len(ids) == 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM file_chunks WHERE tenant_id = $1 AND file_id = ANY ($2)`, tenantID, ids); err != nil {
				return fmt.Errorf("error deleting expired file chunks: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE files SET purged_at = $3 WHERE tenant_id = $1 AND id = ANY ($2)`, tenantID, ids, now); err != nil {
				return fmt.Errorf("error marking expired files purged: %w", err)
			}
			n = len(ids)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < PurgeBatch {
			return total, nil
		}
	}
}
