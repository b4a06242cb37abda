package ldapdir_test

import (
	"strings"
	"testing"

	"github.com/signetassure/signetassure/ldapdir"
)

func validConfig() ldapdir.Config {
	return ldapdir.Config{URL: "ldaps://dc.example.org:636", BindDN: "cn=svc,dc=example,dc=org", BindPassword: "pw",
		UserBaseDN: "dc=example,dc=org", GroupBaseDN: "dc=example,dc=org", UserAttribute: "sAMAccountName"}
}

// New refuses what would be unsafe (passwords in clear) or could not work.
func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := ldapdir.New(validConfig()); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
	for name, change := range map[string]func(*ldapdir.Config){
		"clear text":          func(c *ldapdir.Config) { c.URL = "ldap://dc.example.org:389" },
		"StartTLS on ldaps":   func(c *ldapdir.Config) { c.StartTLS = true },
		"http":                func(c *ldapdir.Config) { c.URL = "https://dc.example.org" },
		"no host":             func(c *ldapdir.Config) { c.URL = "ldaps://" },
		"no service password": func(c *ldapdir.Config) { c.BindPassword = "" },
		"no base":             func(c *ldapdir.Config) { c.UserBaseDN = "" },
		"attribute":           func(c *ldapdir.Config) { c.UserAttribute = "cn" },
		"nested":              func(c *ldapdir.Config) { c.Nested = "deep" },
	} {
		cfg := validConfig()
		change(&cfg)
		if _, err := ldapdir.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	cfg := validConfig()
	cfg.URL = "ldap://dc.example.org:389"
	cfg.StartTLS = true
	if _, err := ldapdir.New(cfg); err != nil {
		t.Errorf("StartTLS: %v", err)
	}
	cfg.StartTLS, cfg.AllowInsecure = false, true
	if _, err := ldapdir.New(cfg); err != nil {
		t.Errorf("AllowInsecure: %v", err)
	}
	if _, err := ldapdir.LoadCA("/nonexistent/ca.pem"); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("LoadCA of a missing file: %v", err)
	}
}

// objectGUID's byte order: Microsoft's documented example GUID.
func TestGUIDString(t *testing.T) {
	raw := []byte{0xff, 0x19, 0x96, 0x6f, 0x86, 0x8b, 0x11, 0xd0, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}
	if got := ldapdir.GUIDString(raw); got != "6f9619ff-8b86-d011-b42d-00c04fc964ff" {
		t.Errorf("GUIDString = %s", got)
	}
	back, err := ldapdir.GUIDBytes("6F9619FF-8B86-D011-B42D-00C04FC964FF")
	if err != nil || string(back) != string(raw) {
		t.Errorf("GUIDBytes = %x, %v", back, err)
	}
}

func TestNormalizeDN(t *testing.T) {
	for in, want := range map[string]string{
		"CN=Vetting Officers, OU=Groups,DC=Example,DC=org": "cn=vetting officers,ou=groups,dc=example,dc=org",
		"cn=a\\,b,dc=x": "cn=a\\,b,dc=x",
	} {
		if got := ldapdir.NormalizeDN(in); got != want {
			t.Errorf("NormalizeDN(%q) = %q, want %q", in, got, want)
		}
	}
}
