package schema_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/schema"
)

// `make run` on a fresh machine: the database is created when missing, migrated, and a second start
// migrates nothing and loses nothing.
func TestEnsureDatabaseAndMigrateTwice(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(testenv.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	name := "sa_test_fresh_" + strings.ToLower(rand.Text()[:10])
	u.Path = "/" + name
	dbURL := u.String()
	t.Cleanup(func() {
		admin, err := pgx.Connect(ctx, testenv.ServerURL())
		if err == nil {
			admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close(ctx)
		}
	})
	for range 2 {
		if err := schema.EnsureDatabase(ctx, dbURL); err != nil {
			t.Fatal(err)
		}
		if err := schema.Migrate(ctx, dbURL); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO locations (id, code, name) VALUES (gen_random_uuid(), $1, 'Site')`, rand.Text()); err != nil {
			t.Fatal(err)
		}
		var n int
		conn.QueryRow(ctx, `SELECT count(*) FROM locations`).Scan(&n)
		conn.Close(ctx)
		if n == 0 {
			t.Fatal("nothing stored")
		}
	}
	conn, _ := pgx.Connect(ctx, dbURL)
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM locations`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("after a second start %d locations (%v), want both kept", n, err)
	}
}
