package ldapdir_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/devcert"
	"github.com/signetassure/signetassure/ldapdir"
	"github.com/signetassure/signetassure/sim/adsim"
)

// adDirectory is the demo directory with one more person whose objectGUID is known.
func adDirectory() adsim.Directory {
	d := adsim.DemoDirectory()
	d.Users = append(d.Users, adsim.User{SAMAccountName: "eve.known", UserPrincipalName: "eve.known@signet.test",
		DisplayName: "Eve Known", Password: "Eve-Password-1", GUID: "6f9619ff-8b86-d011-b42d-00c04fc964ff"})
	return d
}

// startAD runs the simulator with a development CA over StartTLS and returns a Config for it.
func startAD(t *testing.T, nested ldapdir.NestedMode) (ldapdir.Config, *adsim.Server) {
	t.Helper()
	b, err := devcert.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := b.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	s, err := adsim.Start(adDirectory(), adsim.Options{TLS: serverTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return ldapdir.Config{
		URL: s.URL(), StartTLS: true, RootCAs: b.Pool(),
		BindDN: adsim.DemoServiceDN, BindPassword: adsim.DemoServicePassword,
		UserBaseDN: adsim.DemoBaseDN, UserAttribute: "sAMAccountName", UserObjectClass: "user",
		GroupBaseDN: adsim.DemoGroupsDN, Nested: nested, SubjectAttribute: "objectGUID", Timeout: 5 * time.Second,
	}, s
}

var benGroups = []string{ldapdir.NormalizeDN(adsim.DemoGroupAllStaff), ldapdir.NormalizeDN(adsim.DemoGroupSecurityTeam),
	ldapdir.NormalizeDN(adsim.DemoGroupVettingOfficers)}

// Against Active Directory's shape, each nested mode finds the same groups; auto picks in-chain from
// the root DSE. The subject is objectGUID as a GUID string.
func TestADSignIn(t *testing.T) {
	for _, mode := range []ldapdir.NestedMode{ldapdir.NestedInChain, ldapdir.NestedAuto, ldapdir.NestedRecursive} {
		t.Run(string(mode), func(t *testing.T) {
			cfg, s := startAD(t, mode)
			d := newDirectory(t, cfg)
			u, err := signIn(d, "ben.hughes", adsim.DemoPassword)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(u.Groups, benGroups) || u.Email != "ben.hughes@signet.test" || u.DisplayName != "Ben Hughes" ||
				!uuidPattern.MatchString(u.Subject) {
				t.Errorf("ben: %+v", u)
			}
			searches := s.Stats().Searches
			if _, err := signIn(d, "ben.hughes", adsim.DemoPassword); err != nil {
				t.Fatal(err)
			}
			// in-chain: the person, then one group search (auto read the root DSE only the first time);
			// recursive: a search per level, three levels and a last one that finds nothing.
			want := map[ldapdir.NestedMode]int{ldapdir.NestedInChain: 2, ldapdir.NestedAuto: 2, ldapdir.NestedRecursive: 5}[mode]
			if got := s.Stats().Searches - searches; got != want {
				t.Errorf("a sign-in took %d searches, want %d", got, want)
			}
			eve, err := signIn(d, "eve.known", "Eve-Password-1")
			if err != nil || eve.Subject != "6f9619ff-8b86-d011-b42d-00c04fc964ff" || eve.DisplayName != "Eve Known" ||
				eve.Email != "eve.known@signet.test" || len(eve.Groups) != 0 {
				t.Errorf("eve: %v %+v", err, eve)
			}
		})
	}
}

func TestADRefusals(t *testing.T) {
	cfg, _ := startAD(t, ldapdir.NestedAuto)
	d := newDirectory(t, cfg)
	_, err := signIn(d, "dan.fisher", adsim.DemoPassword)
	wantRefused(t, err, "account_disabled")
	_, err = signIn(d, "dan.fisher", "wrong")
	wantRefused(t, err, "account_disabled") // userAccountControl says so, whatever the password
	_, err = signIn(d, "ben.hughes", "wrong")
	wantRefused(t, err, "invalid_credentials")
	// AD answers a bind with a name and no password with success: refused before any bind.
	_, err = signIn(d, "ben.hughes", "")
	wantRefused(t, err, "empty_password")
	_, err = signIn(d, "nobody", adsim.DemoPassword)
	wantRefused(t, err, "unknown_user")
	for _, name := range []string{"*", "ben*", "ben.hughes)(|(sAMAccountName=*", "*)(objectClass=*", "ben.hughes\x00"} {
		_, err = signIn(d, name, adsim.DemoPassword)
		wantRefused(t, err, "unknown_user")
	}
	byUPN := cfg
	byUPN.UserAttribute = "userPrincipalName"
	if u, err := signIn(newDirectory(t, byUPN), "amara.okafor@signet.test", adsim.DemoPassword); err != nil ||
		!slices.Contains(u.Groups, ldapdir.NormalizeDN(adsim.DemoGroupAdministrators)) {
		t.Errorf("amara by UPN: %v %+v", err, u)
	}
}

// A busy domain controller, StartTLS refused, and a cancelled sign-in are the directory being
// unavailable.
func TestADUnavailable(t *testing.T) {
	cfg, s := startAD(t, ldapdir.NestedInChain)
	d := newDirectory(t, cfg)
	s.SetBusy(true)
	_, err := signIn(d, "ben.hughes", adsim.DemoPassword)
	wantUnavailable(t, err)
	s.SetBusy(false)

	plain, err := adsim.Start(adDirectory(), adsim.Options{}) // no certificate: StartTLS is unavailable
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	noTLS := cfg
	noTLS.URL = plain.URL()
	_, err = signIn(newDirectory(t, noTLS), "ben.hughes", adsim.DemoPassword)
	wantUnavailable(t, err)
	// The same server in clear, as tests may allow.
	noTLS.StartTLS, noTLS.AllowInsecure = false, true
	if _, err := signIn(newDirectory(t, noTLS), "ben.hughes", adsim.DemoPassword); err != nil {
		t.Errorf("AllowInsecure: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = d.Authenticate(ctx, "ben.hughes", adsim.DemoPassword)
	wantUnavailable(t, err)
}
