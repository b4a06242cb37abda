// Package testenv gives tests the real parts: a fresh PostgreSQL database per test (on DATABASE_URL's
// server, migrated, dropped afterwards) and a real Temporal dev server per test binary (the pinned CLI
// in ./bin), with a worker per test on a task queue of its own, and a private OpenLDAP server (Debian's
// slapd) and a headless Chromium (Debian's) per test binary.
package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/schema"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/worker"
	"github.com/signetassure/signetassure/workflows"
)

// ServerURL is the PostgreSQL server tests make their databases on.
func ServerURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// DatabaseURL creates a fresh, migrated database for the test and drops it when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	url := EmptyDatabaseURL(t)
	if err := schema.Migrate(context.Background(), url); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return url
}

// EmptyDatabaseURL creates a fresh database without any schema for the test and drops it when the test
// ends.
func EmptyDatabaseURL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(ServerURL())
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	name := "sa_test_" + strings.ToLower(rand.Text()[:16])
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v", ServerURL(), err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	admin.Close(ctx)
	t.Cleanup(func() {
		cfg.Database = "postgres"
		if admin, err := pgx.ConnectConfig(context.Background(), cfg); err == nil {
			admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			admin.Close(context.Background())
		}
	})
	return withDatabase(t, ServerURL(), name)
}

// MigratedBefore creates a fresh database migrated up to, not including, the first migration whose file
// name contains migration: the schema as it was before that migration, to test what the migration does
// to data written before it. It returns the database's URL, a connection to it (closed when the test
// ends) and the migrator, which can take the database further.
func MigratedBefore(t testing.TB, migration string) (string, *pgx.Conn, *migrate.Migrator) {
	t.Helper()
	ctx := context.Background()
	url := EmptyDatabaseURL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	m, err := migrate.NewMigrator(ctx, conn, "schema_version")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(os.DirFS(filepath.Join(RepoRoot(), "schema"))); err != nil {
		t.Fatal(err)
	}
	for _, mig := range m.Migrations {
		if strings.Contains(mig.Name, migration) {
			if err := m.MigrateTo(ctx, mig.Sequence-1); err != nil {
				t.Fatalf("migrate to before %s: %v", mig.Name, err)
			}
			return url, conn, m
		}
	}
	t.Fatalf("no migration named *%s*", migration)
	return "", nil, nil
}

// withDatabase is a postgres:// URL naming another database on the same server.
func withDatabase(t testing.TB, raw, name string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		t.Fatalf("DATABASE_URL must be a postgres:// URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Store opens a store on a fresh database.
func Store(t testing.TB) *store.Store {
	t.Helper()
	return StoreAt(t, DatabaseURL(t))
}

// StoreAt opens a store on the database at url (made by DatabaseURL, for a test that also reaches it
// another way), closed when the test ends.
func StoreAt(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// RepoRoot is the folder holding go.mod.
func RepoRoot() string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "."
		}
		dir = parent
	}
}

var (
	serverOnce sync.Once
	server     *testsuite.DevServer
	serverDir  string
	serverErr  error
)

// Temporal returns a client of the test binary's Temporal dev server, starting it on first use with
// SignetAssure's search attributes registered. Main stops it; the kernel does when the test binary dies
// without running Main's end (killed at its -timeout, say).
func Temporal(t testing.TB) client.Client {
	t.Helper()
	serverOnce.Do(func() {
		cli := filepath.Join(RepoRoot(), "bin", "temporal")
		if _, err := os.Stat(cli); err != nil {
			serverErr = fmt.Errorf("the Temporal CLI is missing at %s: run `make temporal-cli`", cli)
			return
		}
		if serverDir, serverErr = os.MkdirTemp("", "signetassure-temporal-"); serverErr != nil {
			return
		}
		if cli, serverErr = dyingWithParent(cli, serverDir); serverErr != nil {
			return
		}
		server, serverErr = testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
			ExistingPath:     cli,
			LogLevel:         "error",
			SearchAttributes: workflows.SearchAttributeSchema(),
			ClientOptions:    &client.Options{Logger: quietLogger{}},
			Stdout:           io.Discard,
			Stderr:           os.Stderr,
		})
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return server.Client()
}

// TemporalAddress is the host:port of the test binary's Temporal dev server (started on first use), for
// a process the test runs to dial (TEMPORAL_ADDRESS).
func TemporalAddress(t testing.TB) string {
	t.Helper()
	Temporal(t)
	return server.FrontendHostPort()
}

// Main runs a package's tests and stops the Temporal dev server, the OpenLDAP server and Chromium
// afterwards.
func Main(m *testing.M) {
	code := m.Run()
	stopBrowser()
	if server != nil {
		server.Stop()
	}
	if serverDir != "" {
		os.RemoveAll(serverDir)
	}
	if slapdShared != nil {
		slapdShared.Stop()
	}
	os.Exit(code)
}

// Worker runs a worker with every workflow and activity on a task queue of the test's own and returns
// the queue's name; it stops when the test ends.
func Worker(t testing.TB, c client.Client, st *store.Store) string {
	t.Helper()
	return WorkerWith(t, c, &activities.Activities{Store: st})
}

// WorkerOn runs a worker with every workflow and activity on queue until the test ends.
func WorkerOn(t testing.TB, c client.Client, st *store.Store, queue string) {
	t.Helper()
	startWorker(t, c, queue, &activities.Activities{Store: st})
}

// AccessWorker is Worker with activities that drive an access control system as acs says.
func AccessWorker(t testing.TB, c client.Client, st *store.Store, acs activities.AccessSettings) string {
	t.Helper()
	return WorkerWith(t, c, &activities.Activities{Store: st, Access: acs})
}

// WorkerWith is Worker with the activities given (the partner directory is filled in when missing).
func WorkerWith(t testing.TB, c client.Client, acts *activities.Activities) string {
	t.Helper()
	queue := "test-" + strings.ToLower(rand.Text()[:12])
	startWorker(t, c, queue, acts)
	return queue
}

func startWorker(t testing.TB, c client.Client, queue string, acts *activities.Activities) {
	t.Helper()
	if acts.Partners.Store == nil {
		acts.Partners = partners.Directory{Store: acts.Store, Keyring: Keyring(), AllowLoopback: true}
	}
	w := worker.New(c, queue, acts, worker.Tuning{})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

var (
	keyringOnce sync.Once
	keyring     *partners.Keyring
)

// Keyring is the test binary's keyring for sealing partner credentials.
func Keyring() *partners.Keyring {
	keyringOnce.Do(func() {
		var err error
		if keyring, err = partners.ParseKeyring("test:"+partners.GenerateKey(), "test"); err != nil {
			panic(err)
		}
	})
	return keyring
}

// quietLogger drops the SDK's log lines, which would drown test output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// Count runs a SELECT count(*) ... on the database at url.
func Count(t testing.TB, url, sql string, args ...any) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// Exec runs a statement on the database at url (a test reaching past the application, e.g. to move
// timestamps into the past).
func Exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// Clock is a settable clock for simulators under test (their Options.Now is its Now).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
