// Package migrations holds the schema as goose SQL migrations embedded in the binary, and applies them
// together with River's own migrations. It runs as the schema owner role, never as the app role.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// riverVersion pins River's schema version so that upgrading the library never migrates by surprise.
const riverVersion = 8

// Up applies every pending migration to the database at ownerURL.
func Up(ctx context.Context, ownerURL string, logger *slog.Logger) error {
	db, err := sql.Open("pgx", ownerURL)
	if err != nil {
		return fmt.Errorf("error opening database for migrations: %w", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("error connecting for migrations: %w", err)
	}

	// Out-of-order application lets migrations written on parallel branches land in any order.
	provider, err := goose.NewProvider(goose.DialectPostgres, db, files, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("error loading migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("error applying migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", "source", r.Source.Path, "duration", r.Duration)
	}

	// River's migrations cannot run inside an outer transaction (they add enum values), so they run here,
	// after goose, with a pinned target version.
	migrator, err := rivermigrate.New(riverdatabasesql.New(db), &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fmt.Errorf("error creating River migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: riverVersion})
	if err != nil {
		return fmt.Errorf("error applying River migrations: %w", err)
	}
	for _, v := range res.Versions {
		logger.Info("river migration applied", "version", v.Version)
	}

	// The partitioned ledgers get their monthly partitions a year ahead at every migrate (every deploy).
	// Rows beyond the last partition land in the DEFAULT one, which is safe but slower to archive.
	if _, err := db.ExecContext(ctx, `
		SELECT audit_event_partition_create(m::date), stock_movement_partition_create(m::date)
		FROM generate_series(date_trunc('month', now()), date_trunc('month', now()) + interval '12 months',
			interval '1 month') AS m`); err != nil {
		logger.Warn("could not create upcoming ledger partitions; rows will go to the DEFAULT partitions", "error", err)
	}
	return nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver
