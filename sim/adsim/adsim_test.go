package adsim_test

import (
	"crypto/tls"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/signetassure/signetassure/internal/devcert"
	"github.com/signetassure/signetassure/sim/adsim"
)

func start(t *testing.T, opts adsim.Options) *adsim.Server {
	t.Helper()
	s, err := adsim.Start(adsim.DemoDirectory(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dial(t *testing.T, url string, tc *tls.Config) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL(url, ldap.DialWithTLSConfig(tc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func search(c *ldap.Conn, base, filter string, attrs ...string) ([]string, error) {
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		return nil, err
	}
	var dns []string
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	slices.Sort(dns)
	return dns, nil
}

const benDN = "CN=Ben Hughes," + adsim.DemoUsersDN

// Binds as AD answers them: the service account and people by DN or UPN, a wrong password and a
// disabled account with invalidCredentials and AD's data code, a name without a password as an
// unauthenticated bind that succeeds but leaves the connection anonymous.
func TestBind(t *testing.T) {
	s := start(t, adsim.Options{})
	c := dial(t, s.URL(), nil)
	if err := c.Bind(adsim.DemoServiceDN, adsim.DemoServicePassword); err != nil {
		t.Fatalf("service: %v", err)
	}
	if err := c.Bind("ben.hughes@signet.test", adsim.DemoPassword); err != nil {
		t.Fatalf("by UPN: %v", err)
	}
	for name, tc := range map[string]struct{ dn, pw, data string }{
		"wrong password": {benDN, "nope", "data 52e"},
		"unknown":        {"CN=Nobody," + adsim.DemoUsersDN, "x", "data 52e"},
		"disabled":       {"CN=Dan Fisher," + adsim.DemoUsersDN, adsim.DemoPassword, "data 533"},
	} {
		err := c.Bind(tc.dn, tc.pw)
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || !containsStr(err.Error(), tc.data) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := c.UnauthenticatedBind(benDN); err != nil {
		t.Fatalf("unauthenticated bind: %v", err)
	}
	if _, err := search(c, adsim.DemoBaseDN, "(objectClass=user)"); !ldap.IsErrorWithCode(err, ldap.LDAPResultOperationsError) {
		t.Errorf("a search after an unauthenticated bind: %v", err)
	}
	if got := s.Stats(); got.Binds != 2 || got.FailedBinds != 3 {
		t.Errorf("stats %+v", got)
	}
}

// Searches with the filters a client sends: by account name, AD's in-chain rule on member and
// memberOf, the bitwise rule on userAccountControl; the root DSE to anyone.
func TestSearch(t *testing.T) {
	s := start(t, adsim.Options{})
	c := dial(t, s.URL(), nil)
	root, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"supportedCapabilities"}, nil))
	if err != nil || !slices.Contains(root.Entries[0].GetAttributeValues("supportedCapabilities"), "1.2.840.113556.1.4.800") {
		t.Fatalf("root DSE: %v %+v", err, root)
	}
	if err := c.Bind(adsim.DemoServiceDN, adsim.DemoServicePassword); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest(adsim.DemoBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		"(&(objectClass=user)(sAMAccountName=BEN.hughes))", []string{"objectGUID", "memberOf", "mail", "userAccountControl"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("ben: %v %+v", err, res)
	}
	ben := res.Entries[0]
	if len(ben.GetRawAttributeValue("objectGUID")) != 16 || ben.GetAttributeValue("userAccountControl") != "512" ||
		!slices.Equal(ben.GetAttributeValues("memberOf"), []string{adsim.DemoGroupVettingOfficers}) || len(ben.Attributes) != 4 {
		t.Errorf("ben's attributes: %+v", ben.Attributes)
	}
	for filter, want := range map[string][]string{
		"(member:1.2.840.113556.1.4.1941:=" + ldap.EscapeFilter(benDN) + ")": {adsim.DemoGroupAllStaff, adsim.DemoGroupSecurityTeam, adsim.DemoGroupVettingOfficers},
		"(member=" + benDN + ")": {adsim.DemoGroupVettingOfficers},
		"(memberOf:1.2.840.113556.1.4.1941:=" + adsim.DemoGroupAllStaff + ")": {
			"CN=Amara Okafor," + adsim.DemoUsersDN, benDN, "CN=Chloe Martin," + adsim.DemoUsersDN, "CN=Dan Fisher," + adsim.DemoUsersDN,
			adsim.DemoGroupReception, adsim.DemoGroupSecurityTeam, adsim.DemoGroupVettingOfficers},
		"(&(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))": {"CN=Dan Fisher," + adsim.DemoUsersDN},
		"(sAMAccountName=" + ldap.EscapeFilter("*") + ")":                     nil,
		"(sAMAccountName=ben*)": {benDN},
		"(member:1.2.840.113556.1.4.9999:=" + ldap.EscapeFilter(benDN) + ")": nil, // a rule AD does not know
	} {
		got, err := search(c, adsim.DemoBaseDN, filter, "1.1")
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: %v %q, want %q", filter, err, got, want)
		}
	}
	// A size limit of 1 over several matches: one entry and sizeLimitExceeded.
	res, err = c.Search(ldap.NewSearchRequest(adsim.DemoBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=group)", []string{"1.1"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || len(res.Entries) != 1 {
		t.Errorf("size limit: %v, %d entries", err, len(res.Entries))
	}
	// Paged, two at a time: all five groups.
	res, err = c.SearchWithPaging(ldap.NewSearchRequest(adsim.DemoGroupsDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=group)", []string{"1.1"}, nil), 2)
	if err != nil || len(res.Entries) != 5 {
		t.Errorf("paged: %v, %d entries", err, len(res.Entries))
	}
	if _, err := search(c, "OU=Nowhere,"+adsim.DemoBaseDN, "(objectClass=*)"); !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Errorf("a missing base: %v", err)
	}
	s.SetBusy(true)
	if err := c.Bind(adsim.DemoServiceDN, adsim.DemoServicePassword); !ldap.IsErrorWithCode(err, ldap.LDAPResultBusy) {
		t.Errorf("busy: %v", err)
	}
}

// StartTLS and LDAPS with a certificate from a development CA; StartTLS without one is unavailable.
func TestTLS(t *testing.T) {
	b, err := devcert.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := b.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	clientTLS := &tls.Config{RootCAs: b.Pool(), ServerName: "127.0.0.1"}
	c := dial(t, start(t, adsim.Options{TLS: serverTLS}).URL(), nil)
	if err := c.StartTLS(clientTLS); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if err := c.Bind(adsim.DemoServiceDN, adsim.DemoServicePassword); err != nil {
		t.Fatal(err)
	}
	ldaps := start(t, adsim.Options{TLS: serverTLS, LDAPS: true})
	if ldaps.URL()[:8] != "ldaps://" {
		t.Fatalf("URL %s", ldaps.URL())
	}
	if err := dial(t, ldaps.URL(), clientTLS).Bind(adsim.DemoServiceDN, adsim.DemoServicePassword); err != nil {
		t.Fatalf("LDAPS: %v", err)
	}
	plain := dial(t, start(t, adsim.Options{}).URL(), nil)
	if err := plain.StartTLS(clientTLS); err == nil {
		t.Error("StartTLS without a certificate succeeded")
	}
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }
