package testenv

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/signetassure/signetassure/internal/devcert"
)

// SlapdBinary is Debian's OpenLDAP server (package slapd; slapadd is the same binary by another name).
const SlapdBinary = "/usr/sbin/slapd"

const slapdHint = "Debian's slapd is not installed: run `DEBIAN_FRONTEND=noninteractive apt-get install -y slapd ldap-utils` (.ci/run does)"

// The fixture directory every Slapd server holds (SlapdFixtureLDIF): people, a service account the
// application binds as, and groupOfNames groups nested three deep, with a cycle.
//
//	ou=people:   uid=alice   "Alice Archer", alice@example.org, displayName set
//	             uid=bob     "Bob Baker", bob@example.org, no displayName
//	             uid=admin   "Directory Admin" (what an injected filter would like to reach)
//	             uid=dana, uid=erin  both with mail shared@example.org (ambiguous by mail)
//	ou=groups:   vetting-officers ∋ alice
//	             staff            ∋ vetting-officers, bob
//	             all-staff        ∋ staff
//	             loop-a           ∋ alice, loop-b;  loop-b ∋ loop-a  (a cycle)
//	             admins           ∋ admin
//
// So alice is in vetting-officers, staff, all-staff, loop-a and loop-b; bob in staff and all-staff.
const (
	SlapdSuffix          = "dc=example,dc=org"
	SlapdRootDN          = "cn=admin,dc=example,dc=org"
	SlapdRootPassword    = "root-secret"
	SlapdServiceDN       = "cn=signetassure,ou=services,dc=example,dc=org"
	SlapdServicePassword = "service-secret"
	SlapdPeopleDN        = "ou=people,dc=example,dc=org"
	SlapdGroupsDN        = "ou=groups,dc=example,dc=org"

	SlapdGroupVettingOfficers = "cn=vetting-officers,ou=groups,dc=example,dc=org"
	SlapdGroupStaff           = "cn=staff,ou=groups,dc=example,dc=org"
	SlapdGroupAllStaff        = "cn=all-staff,ou=groups,dc=example,dc=org"
	SlapdGroupLoopA           = "cn=loop-a,ou=groups,dc=example,dc=org"
	SlapdGroupLoopB           = "cn=loop-b,ou=groups,dc=example,dc=org"
	SlapdGroupAdmins          = "cn=admins,ou=groups,dc=example,dc=org"
)

// SlapdPasswords are the fixture people's passwords by uid.
var SlapdPasswords = map[string]string{
	"alice": "alice-password", "bob": "bob-password", "admin": "admin-password",
	"dana": "dana-password", "erin": "erin-password",
}

// SlapdFixtureLDIF is the fixture directory, passwords stored salted-SHA1 ({SSHA}) as slapd checks them.
func SlapdFixtureLDIF() string {
	var b strings.Builder
	entry := func(lines ...string) { b.WriteString(strings.Join(lines, "\n") + "\n\n") }
	entry("dn: "+SlapdSuffix, "objectClass: dcObject", "objectClass: organization", "dc: example", "o: Example")
	for _, ou := range []string{"people", "groups", "services"} {
		entry("dn: ou="+ou+","+SlapdSuffix, "objectClass: organizationalUnit", "ou: "+ou)
	}
	entry("dn: "+SlapdServiceDN, "objectClass: applicationProcess", "objectClass: simpleSecurityObject",
		"cn: signetassure", "userPassword: "+SSHA(SlapdServicePassword))
	person := func(uid, cn, sn, mail, display string) {
		lines := []string{"dn: uid=" + uid + "," + SlapdPeopleDN, "objectClass: inetOrgPerson", "uid: " + uid,
			"cn: " + cn, "sn: " + sn, "mail: " + mail, "userPassword: " + SSHA(SlapdPasswords[uid])}
		if display != "" {
			lines = append(lines, "displayName: "+display)
		}
		entry(lines...)
	}
	person("alice", "Alice Archer", "Archer", "alice@example.org", "Alice Archer")
	person("bob", "Bob Baker", "Baker", "bob@example.org", "")
	person("admin", "Directory Admin", "Admin", "admin@example.org", "Directory Admin")
	person("dana", "Dana Dunn", "Dunn", "shared@example.org", "Dana Dunn")
	person("erin", "Erin Eyre", "Eyre", "shared@example.org", "Erin Eyre")
	group := func(dn string, members ...string) {
		lines := []string{"dn: " + dn, "objectClass: groupOfNames", "cn: " + strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "cn=")}
		for _, m := range members {
			lines = append(lines, "member: "+m)
		}
		entry(lines...)
	}
	alice, bob, admin := "uid=alice,"+SlapdPeopleDN, "uid=bob,"+SlapdPeopleDN, "uid=admin,"+SlapdPeopleDN
	group(SlapdGroupVettingOfficers, alice)
	group(SlapdGroupStaff, SlapdGroupVettingOfficers, bob)
	group(SlapdGroupAllStaff, SlapdGroupStaff)
	// A groupOfNames must have a member, so the cycle is made with loop-b naming loop-a before loop-a
	// exists: slapadd does not check that members exist.
	group(SlapdGroupLoopB, SlapdGroupLoopA)
	group(SlapdGroupLoopA, alice, SlapdGroupLoopB)
	group(SlapdGroupAdmins, admin)
	return b.String()
}

// SSHA is password's {SSHA} userPassword value with a random salt.
func SSHA(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

// SlapdServer is a private OpenLDAP server: its own directory, configuration and certificates in a
// temporary folder, listening on 127.0.0.1 only.
type SlapdServer struct {
	URL       string         // ldap://127.0.0.1:port, offering StartTLS
	LDAPSURL  string         // ldaps://127.0.0.1:port
	CAFile    string         // the CA that signed the server's certificate (for 127.0.0.1 and localhost), PEM
	CA        *x509.CertPool // the same CA
	StartedIn time.Duration  // how long slapadd, the start and the first answer took

	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

var (
	slapdOnce   sync.Once
	slapdShared *SlapdServer
	slapdErr    error
)

// Slapd is the test binary's OpenLDAP server holding SlapdFixtureLDIF, started on first use; Main
// stops it. Tests must not change it (use NewSlapd for a directory of one's own). Without slapd the
// test is skipped, or fails when CI=true.
func Slapd(t testing.TB) *SlapdServer {
	t.Helper()
	requireSlapd(t)
	slapdOnce.Do(func() { slapdShared, slapdErr = StartSlapd(SlapdFixtureLDIF()) })
	if slapdErr != nil {
		t.Fatal(slapdErr)
	}
	return slapdShared
}

// NewSlapd starts an OpenLDAP server of the test's own holding ldif (its suffix SlapdSuffix), stopped
// when the test ends.
func NewSlapd(t testing.TB, ldif string) *SlapdServer {
	t.Helper()
	requireSlapd(t)
	s, err := StartSlapd(ldif)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func requireSlapd(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(SlapdBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(slapdHint)
		}
		t.Skip(slapdHint)
	}
}

// StartSlapd starts an OpenLDAP server holding ldif and returns once it answers. Stop stops it and
// removes its folder.
func StartSlapd(ldif string) (*SlapdServer, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "signetassure-slapd-")
	if err != nil {
		return nil, err
	}
	s := &SlapdServer{dir: dir, done: make(chan struct{})}
	if err := s.prepare(ldif); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A free port found now may be taken before slapd binds it: try a few times.
	for attempt := 0; ; attempt++ {
		err = s.run()
		if err == nil || attempt == 2 {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.StartedIn = time.Since(start)
	return s, nil
}

// prepare writes the certificates and slapd.conf and loads ldif with slapadd.
func (s *SlapdServer) prepare(ldif string) error {
	bundle, err := devcert.New("127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	files, err := bundle.WriteFiles(s.dir)
	if err != nil {
		return err
	}
	s.CAFile, s.CA = files.CA, bundle.Pool()
	if err := os.Mkdir(filepath.Join(s.dir, "db"), 0o700); err != nil {
		return err
	}
	conf := fmt.Sprintf(slapdConf, s.dir, files.CA, files.Cert, files.Key, SlapdSuffix, SlapdRootDN, SlapdRootPassword)
	if err := os.WriteFile(s.conf(), []byte(conf), 0o600); err != nil {
		return err
	}
	ldifPath := filepath.Join(s.dir, "fixture.ldif")
	if err := os.WriteFile(ldifPath, []byte(ldif), 0o600); err != nil {
		return err
	}
	// slapadd is slapd run under that name; -q skips checks the fixture does not need (and is fast).
	cmd := exec.Command(SlapdBinary, "-T", "add", "-f", s.conf(), "-l", ldifPath, "-q")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	return nil
}

func (s *SlapdServer) conf() string { return filepath.Join(s.dir, "slapd.conf") }

// run starts slapd in the foreground (-d 0: no detaching) on two free ports and waits until it answers.
func (s *SlapdServer) run() error {
	plain, tlsPort, err := freePort(), freePort(), error(nil)
	if plain == 0 || tlsPort == 0 {
		return errors.New("slapd: no free port")
	}
	s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", plain)
	s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
	logFile, err := os.Create(filepath.Join(s.dir, "slapd.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(SlapdBinary, "-f", s.conf(), "-h", s.URL+"/ "+s.LDAPSURL+"/", "-d", "0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			out, _ := os.ReadFile(logFile.Name())
			return fmt.Errorf("slapd exited at start (%v):\n%s\n%s", cmd.ProcessState, out, apparmorHint)
		default:
		}
		if c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second})); err == nil {
			_, err = c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 2, false,
				"(objectClass=*)", []string{"namingContexts"}, nil))
			c.Close()
			if err == nil {
				s.cmd, s.done = cmd, done
				return nil
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return errors.New("slapd did not answer within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop stops slapd and removes its folder.
func (s *SlapdServer) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	os.RemoveAll(s.dir)
}

// freePort is a TCP port on 127.0.0.1 nobody listened on a moment ago (0 when none was found).
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// apparmorHint: where AppArmor confines slapd (Ubuntu ships a profile for /usr/sbin/slapd; Debian 12
// does not), it may not read a folder in /tmp. slapd then fails to open its configuration or database.
const apparmorHint = "if the log shows \"Permission denied\" and `aa-status` lists /usr/sbin/slapd, AppArmor confines it: " +
	"`aa-complain /usr/sbin/slapd`, or set TMPDIR to a folder its profile allows"

// slapdConf: the schemas, TLS, one mdb database. The service account and people may read the
// directory; nobody reads passwords, which anyone may bind with (auth).
const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCACertificateFile %[2]s
TLSCertificateFile %[3]s
TLSCertificateKeyFile %[4]s
database mdb
maxsize 16777216
suffix "%[5]s"
rootdn "%[6]s"
rootpw %[7]s
directory %[1]s/db
index objectClass eq
index member eq
index uid,mail eq
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
`
