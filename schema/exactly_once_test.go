package schema_test

import (
	"context"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/schema"
)

// A database holding open cases that duplicate each other (the race the one-open-case index closes) is
// not migrated past it: the migration names the cases to withdraw, and goes through once they are.
func TestOneOpenCaseMigrationNamesDuplicates(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, _ := testenv.MigratedBefore(t, "exactly_once")
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`INSERT INTO persons (id, first_name, last_name, search_name, date_of_birth)
		VALUES ('6f1c1c40-0000-4000-8000-000000000001', 'Ann', 'Smith', 'ann smith', '1980-01-01')`)
	refs := []string{"v_aaaaaaaaaaaaaaaaaaaaaaaaaa", "v_bbbbbbbbbbbbbbbbbbbbbbbbbb"}
	for _, ref := range refs {
		exec(`INSERT INTO vetting_cases (case_ref, person_id, type, requested_level, status, issuing_authority,
			opened_at, due_at, version, updated_at) VALUES ($1, '6f1c1c40-0000-4000-8000-000000000001', 'new', 'SC',
			'with_officer', 'SignetAssure', now(), now() + interval '25 days', 1, now())`, ref)
	}
	err := schema.Migrate(ctx, dbURL)
	if err == nil || !strings.Contains(err.Error(), refs[0]) || !strings.Contains(err.Error(), refs[1]) {
		t.Fatalf("migrating over duplicate open cases: %v, want an error naming both", err)
	}
	exec(`UPDATE vetting_cases SET status = 'withdrawn', outcome = 'withdrawn', closed_at = now() WHERE case_ref = $1`, refs[1])
	if err := schema.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("once one is withdrawn: %v", err)
	}
}
