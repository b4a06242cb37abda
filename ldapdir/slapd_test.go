package ldapdir_test

import (
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/devcert"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/ldapdir"
)

// slapdConfig signs in against the fixture slapd by uid, at url (StartTLS when it is ldap://).
func slapdConfig(t *testing.T, url string, nested ldapdir.NestedMode) ldapdir.Config {
	s := testenv.Slapd(t)
	ca, err := ldapdir.LoadCA(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return ldapdir.Config{
		URL: url, StartTLS: strings.HasPrefix(url, "ldap://"), RootCAs: ca,
		BindDN: testenv.SlapdServiceDN, BindPassword: testenv.SlapdServicePassword,
		UserBaseDN: testenv.SlapdPeopleDN, UserAttribute: "uid", UserObjectClass: "inetOrgPerson",
		GroupBaseDN: testenv.SlapdGroupsDN, Nested: nested, Timeout: 5 * time.Second,
	}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// alice's groups: three levels of nesting and a cycle, each once.
var aliceGroups = []string{testenv.SlapdGroupAllStaff, testenv.SlapdGroupLoopA, testenv.SlapdGroupLoopB,
	testenv.SlapdGroupStaff, testenv.SlapdGroupVettingOfficers}

// Over StartTLS and over LDAPS, a person signs in with their password and comes back with their
// entryUUID, mail, display name (cn when displayName is missing) and every group, nested ones and a
// cycle included.
func TestSlapdSignIn(t *testing.T) {
	s := testenv.Slapd(t)
	t.Logf("slapd started in %v", s.StartedIn)
	for _, url := range []string{s.URL, s.LDAPSURL} {
		t.Run(url[:strings.Index(url, ":")], func(t *testing.T) {
			d := newDirectory(t, slapdConfig(t, url, ldapdir.NestedRecursive))
			u, err := signIn(d, "alice", testenv.SlapdPasswords["alice"])
			if err != nil {
				t.Fatal(err)
			}
			if u.Directory != "ldap" || !uuidPattern.MatchString(u.Subject) || u.Email != "alice@example.org" ||
				u.DisplayName != "Alice Archer" {
				t.Errorf("alice: %+v", u)
			}
			if !slices.Equal(u.Groups, aliceGroups) {
				t.Errorf("alice's groups %q, want %q", u.Groups, aliceGroups)
			}
			again, err := signIn(d, "alice", testenv.SlapdPasswords["alice"])
			if err != nil || again.Subject != u.Subject {
				t.Errorf("a second sign-in: %v, subject %q then %q", err, u.Subject, again.Subject)
			}
			bob, err := signIn(d, "bob", testenv.SlapdPasswords["bob"])
			if err != nil {
				t.Fatal(err)
			}
			if bob.DisplayName != "Bob Baker" || bob.Subject == u.Subject ||
				!slices.Equal(bob.Groups, []string{testenv.SlapdGroupAllStaff, testenv.SlapdGroupStaff}) {
				t.Errorf("bob: %+v", bob)
			}
		})
	}
}

// slapd does not know the in-chain rule and answers it with no groups and no error: auto mode reads
// the root DSE, sees no Active Directory, and searches recursively.
func TestSlapdAutoFallsBackToRecursive(t *testing.T) {
	s := testenv.Slapd(t)
	inChain, err := signIn(newDirectory(t, slapdConfig(t, s.LDAPSURL, ldapdir.NestedInChain)), "alice", testenv.SlapdPasswords["alice"])
	if err != nil || len(inChain.Groups) != 0 {
		t.Fatalf("in-chain against slapd: %v, groups %q (slapd's answer changed?)", err, inChain.Groups)
	}
	auto := newDirectory(t, slapdConfig(t, s.LDAPSURL, ldapdir.NestedAuto))
	for range 2 { // the second sign-in uses the kept root DSE answer
		u, err := signIn(auto, "alice", testenv.SlapdPasswords["alice"])
		if err != nil || !slices.Equal(u.Groups, aliceGroups) {
			t.Fatalf("auto against slapd: %v, groups %q", err, u.Groups)
		}
	}
}

func TestSlapdRefusals(t *testing.T) {
	s := testenv.Slapd(t)
	d := newDirectory(t, slapdConfig(t, s.LDAPSURL, ldapdir.NestedRecursive))
	_, err := signIn(d, "alice", "wrong")
	wantRefused(t, err, "invalid_credentials")
	_, err = signIn(d, "alice", testenv.SlapdPasswords["bob"])
	wantRefused(t, err, "invalid_credentials")
	_, err = signIn(d, "nobody", "whatever")
	wantRefused(t, err, "unknown_user")
	_, err = signIn(d, "alice", "")
	wantRefused(t, err, "empty_password")
	_, err = signIn(d, "", "x")
	wantRefused(t, err, "unknown_user")
	byMail := slapdConfig(t, s.LDAPSURL, ldapdir.NestedRecursive)
	byMail.UserAttribute = "mail"
	_, err = signIn(newDirectory(t, byMail), "shared@example.org", testenv.SlapdPasswords["dana"])
	wantRefused(t, err, "ambiguous_user")
	if u, err := signIn(newDirectory(t, byMail), "bob@example.org", testenv.SlapdPasswords["bob"]); err != nil || u.Email != "bob@example.org" {
		t.Errorf("bob by mail: %v %+v", err, u)
	}
}

// Filter metacharacters in a username are escaped: they match themselves, so nobody.
func TestSlapdInjection(t *testing.T) {
	s := testenv.Slapd(t)
	d := newDirectory(t, slapdConfig(t, s.LDAPSURL, ldapdir.NestedRecursive))
	for _, name := range []string{"*", "a*", "*admin*", "admin)(|(uid=*", "admin)(uid=*", "*)(uid=*))(|(uid=*",
		"alice)(objectClass=*", `admin\`, "admin\x00", `\61dmin`, "(admin)"} {
		for _, pw := range []string{testenv.SlapdPasswords["admin"], testenv.SlapdPasswords["alice"]} {
			u, err := signIn(d, name, pw)
			wantRefused(t, err, "unknown_user")
			if u.Subject != "" {
				t.Fatalf("%q signed in as %+v", name, u)
			}
		}
	}
}

// A certificate from another CA, the service account refused, a closed port and a server that never
// answers are the directory being unavailable, never a sign-in without the check.
func TestSlapdUnavailable(t *testing.T) {
	s := testenv.Slapd(t)
	other, err := devcert.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{s.URL, s.LDAPSURL} {
		cfg := slapdConfig(t, url, ldapdir.NestedRecursive)
		cfg.RootCAs = other.Pool()
		_, err := signIn(newDirectory(t, cfg), "alice", testenv.SlapdPasswords["alice"])
		wantUnavailable(t, err)
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s with the wrong CA: %v", url, err)
		}
	}
	cfg := slapdConfig(t, s.LDAPSURL, ldapdir.NestedRecursive)
	cfg.BindPassword = "not-the-service-password"
	_, err = signIn(newDirectory(t, cfg), "alice", testenv.SlapdPasswords["alice"])
	wantUnavailable(t, err)
	if !strings.Contains(err.Error(), "service account") {
		t.Errorf("service account refused: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg = slapdConfig(t, "ldaps://"+addr, ldapdir.NestedRecursive)
	_, err = signIn(newDirectory(t, cfg), "alice", testenv.SlapdPasswords["alice"])
	wantUnavailable(t, err)

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg = slapdConfig(t, "ldaps://"+silent.Addr().String(), ldapdir.NestedRecursive)
	cfg.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err = signIn(newDirectory(t, cfg), "alice", testenv.SlapdPasswords["alice"])
	wantUnavailable(t, err)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a silent server held the sign-in %v", took)
	}
}

// Nesting deeper than MaxNestingDepth is not followed, and a long cycle still ends.
func TestSlapdDeepNestingIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("dn: dc=example,dc=org\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n")
	b.WriteString("dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n\n")
	b.WriteString("dn: ou=groups,dc=example,dc=org\nobjectClass: organizationalUnit\nou: groups\n\n")
	b.WriteString("dn: " + testenv.SlapdServiceDN[:strings.Index(testenv.SlapdServiceDN, ",")] + ",dc=example,dc=org\n")
	b.WriteString("objectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: signetassure\nuserPassword: " +
		testenv.SSHA(testenv.SlapdServicePassword) + "\n\n")
	b.WriteString("dn: uid=deep,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: deep\ncn: Deep\nsn: Deep\n" +
		"userPassword: " + testenv.SSHA("deep-password") + "\n\n")
	const levels = ldapdir.MaxNestingDepth + 4
	group := func(i int) string { return "cn=g" + strings.Repeat("x", i) + ",ou=groups,dc=example,dc=org" }
	for i := range levels {
		member := "uid=deep,ou=people,dc=example,dc=org"
		if i > 0 {
			member = group(i - 1)
		}
		b.WriteString("dn: " + group(i) + "\nobjectClass: groupOfNames\ncn: g" + strings.Repeat("x", i) + "\nmember: " + member + "\n")
		if i == 0 {
			b.WriteString("member: " + group(levels-1) + "\n") // the last closes a cycle back to the first
		}
		b.WriteString("\n")
	}
	s := testenv.NewSlapd(t, b.String())
	cfg := slapdConfig(t, s.LDAPSURL, ldapdir.NestedRecursive)
	cfg.BindDN = "cn=signetassure,dc=example,dc=org"
	cfg.RootCAs = s.CA
	u, err := signIn(newDirectory(t, cfg), "deep", "deep-password")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Groups) != ldapdir.MaxNestingDepth {
		t.Errorf("%d groups, want the first %d levels", len(u.Groups), ldapdir.MaxNestingDepth)
	}
}

// Sign-ins at the same time each have their own connection; auto mode's kept answer is shared safely.
func TestSlapdConcurrentSignIns(t *testing.T) {
	s := testenv.Slapd(t)
	d := newDirectory(t, slapdConfig(t, s.LDAPSURL, ldapdir.NestedAuto))
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			name := []string{"alice", "bob"}[i%2]
			_, err := signIn(d, name, testenv.SlapdPasswords[name])
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
