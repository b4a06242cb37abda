package main

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

// A production deployment gets its first administrator from `signetassure admin bootstrap`: run on a
// migrated database it makes one, with a token that signs them in; run again (as every deployment may)
// it changes nothing and prints no token; run twice at once it makes one administrator.
func TestAdminBootstrap(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	dbURL := testenv.DatabaseURL(t)
	run := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"admin", "bootstrap"}, args...)...)
		cmd.Env = workerEnv(map[string]string{"DATABASE_URL": dbURL})
		return runToExit(t, cmd)
	}

	for _, bad := range []struct{ args []string }{
		{nil},
		{[]string{"--email", "not an address"}},
		{[]string{"--email", "ada@example.org", "--valid", "720h"}},
		{[]string{"--email", "ada@example.org", "--name", "Ada\u202eLovelace"}},
	} {
		out, code := run(bad.args...)
		if code != 2 || !strings.Contains(out, "usage: signetassure admin") {
			t.Errorf("admin bootstrap %q: exit %d, want 2 with the usage:\n%s", bad.args, code, out)
		}
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM staff_users`); n != 0 {
		t.Fatalf("refused bootstraps made %d users", n)
	}

	// Two at once: one administrator.
	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range outs {
		wg.Go(func() { outs[i], _ = run("--email", "ada@example.org", "--name", "Ada Lovelace") })
	}
	wg.Wait()
	tokens := regexp.MustCompile(`sat_[A-Za-z0-9_-]{43}`)
	var token string
	for _, out := range outs {
		if tok := tokens.FindString(out); tok != "" {
			token = tok
		}
	}
	if token == "" || tokens.FindString(outs[0]) != "" && tokens.FindString(outs[1]) != "" {
		t.Fatalf("want one token between two bootstraps run at once:\n%s\n%s", outs[0], outs[1])
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM staff_users WHERE 'admin' = ANY (roles)`); n != 1 {
		t.Fatalf("%d administrators", n)
	}

	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	admin, err := st.UserByToken(context.Background(), token)
	if err != nil || !admin.Has(domain.RoleAdmin) || admin.Email != "ada@example.org" || admin.DisplayName != "Ada Lovelace" {
		t.Fatalf("the printed token signs in %+v (%v), want Ada as administrator", admin, err)
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM api_tokens WHERE expires_at BETWEEN now() + interval '23 hours' AND now() + interval '24 hours'`); n != 1 {
		t.Fatal("the bootstrap token does not expire in 24 hours")
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM audit_log WHERE action = 'admin.bootstrap'`); n != 1 {
		t.Fatalf("%d audit entries for the bootstrap", n)
	}

	out, code := run("--email", "someone.else@example.org")
	if code != 0 || !strings.Contains(out, "exists already") || tokens.MatchString(out) {
		t.Fatalf("a bootstrap with an administrator there: exit %d\n%s", code, out)
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM staff_users`); n != 1 {
		t.Fatalf("%d users after a second bootstrap", n)
	}
}

// With no active administrator left (the last one deactivated, say, by their directory), bootstrapping
// with the e-mail of an existing user makes that user an active administrator, keeping their other roles,
// rather than failing on the e-mail.
func TestAdminBootstrapPromotesExistingUser(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	dbURL := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.CreateUser(context.Background(), nil, domain.StaffUser{DisplayName: "Bea Officer", Email: "bea@example.org",
		Roles: []domain.Role{domain.RoleVettingOfficer}})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "admin", "bootstrap", "--email", "BEA@example.org")
	cmd.Env = workerEnv(map[string]string{"DATABASE_URL": dbURL})
	out, err := cmd.CombinedOutput()
	token := regexp.MustCompile(`sat_[A-Za-z0-9_-]{43}`).FindString(string(out))
	if err != nil || token == "" {
		t.Fatalf("bootstrap with an inactive user's e-mail: %v\n%s", err, out)
	}
	admin, err := st.UserByToken(context.Background(), token)
	if err != nil || admin.ID != u.ID || !admin.Has(domain.RoleAdmin) || !admin.Has(domain.RoleVettingOfficer) {
		t.Fatalf("the printed token signs in %+v (%v), want Bea, active, administrator and vetting officer", admin, err)
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM staff_users`); n != 1 {
		t.Fatalf("%d users, want Bea only", n)
	}
}
