// Package schema holds SignetAssure's SQL migrations (tern format, applied in file-name order) and runs them.
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var migrations embed.FS

// versionTable records which migrations have run.
const versionTable = "schema_version"

// Migrate brings the database at databaseURL to the newest schema. It holds tern's advisory lock, so
// several processes starting together migrate once.
func Migrate(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect for migration: %w", err)
	}
	defer conn.Close(context.Background())
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(migrations); err != nil {
		return err
	}
	return m.Migrate(ctx)
}

// Ready checks that the database at databaseURL answers and holds every migration this binary has, so a
// process that could not use it stops at once instead of taking work it would fail. A database ahead of
// the binary (newer migrations, applied by a newer release during a rolling upgrade) is ready.
func Ready(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("the database cannot be reached: %w", err)
	}
	defer conn.Close(context.Background())
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return fmt.Errorf("the database cannot be read: %w", err)
	}
	if err := m.LoadMigrations(migrations); err != nil {
		return err
	}
	v, err := m.GetCurrentVersion(ctx)
	if err != nil {
		return fmt.Errorf("the database's schema version cannot be read: %w", err)
	}
	if want := len(m.Migrations); int(v) < want {
		return fmt.Errorf("the database is at migration %d of %d: run `signetassure migrate` first", v, want)
	}
	return nil
}

// EnsureDatabase creates the database named in databaseURL when it does not exist yet, connecting to the
// server's "postgres" database to do so.
func EnsureDatabase(ctx context.Context, databaseURL string) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to the postgres database: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created meanwhile by another process
		return nil
	}
	return err
}
