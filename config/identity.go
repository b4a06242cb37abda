package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/identity"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/signicat"
)

// Identity configures identity verification with Signicat Assure. SIGNICAT_CLIENT_ID switches it on;
// without it, the vetting officer checks identity documents in person.
type Identity struct {
	// Provider is this process's one identity provider, an Assure client (one token source shared by
	// every activity); nil when no identity provider is configured.
	Provider identity.Provider
	Plan     activities.IdentityPlan
	// Evidence seals accepted checks' result archives kept in PostgreSQL (EVIDENCE_KEY); required when
	// identity checks are on.
	Evidence *partners.Keyring
}

// EnvEvidenceKey is the app key that seals identity evidence at rest: base64 of 32 random bytes, or, to
// rotate, "id:base64,id2:base64" (the last listed seals; every listed one opens).
const EnvEvidenceKey = "EVIDENCE_KEY"

// ParseEvidenceKey reads EVIDENCE_KEY's value; an empty value gives an empty keyring, which seals nothing.
// Its errors name the variable, never the key.
func ParseEvidenceKey(v string) (*partners.Keyring, error) {
	v = strings.TrimSpace(v)
	if v != "" && !strings.Contains(v, ":") {
		v = "k1:" + v
	}
	k, err := partners.ParseKeyring(v, "")
	if err != nil {
		// The keyring's errors name its own variable (and never key material): say which one it is here.
		msg := strings.ReplaceAll(err.Error(), partners.EnvCredentialKeys, EnvEvidenceKey)
		if !strings.HasPrefix(msg, EnvEvidenceKey) {
			msg = EnvEvidenceKey + ": " + msg
		}
		return nil, errors.New(msg)
	}
	return k, nil
}

// SignicatConfig reads the Assure client's settings, the providers of its capture flow and staff-attended
// checks among them; ok is false when SIGNICAT_CLIENT_ID is not set.
func SignicatConfig() (cfg signicat.Config, ok bool) {
	base := strings.TrimRight(env("SIGNICAT_URL", "https://api.signicat.com"), "/")
	return signicat.Config{BaseURL: base, TokenURL: env("SIGNICAT_TOKEN_URL", base+signicat.TokenPath),
		ClientID: env("SIGNICAT_CLIENT_ID", ""), ClientSecret: os.Getenv("SIGNICAT_CLIENT_SECRET"),
		AuthStyle: signicat.AuthStyle(env("SIGNICAT_AUTH_STYLE", string(signicat.AuthBasic))),
		Capture: signicat.CaptureProvider{Provider: env("SIGNICAT_CAPTURE_PROVIDER", signicat.DefaultCaptureProvider),
			ProcessType: env("SIGNICAT_CAPTURE_PROCESS_TYPE", signicat.DefaultCaptureProcessType)},
		Attended: env("SIGNICAT_ATTENDED_PROVIDER", signicat.DefaultAttended),
	}, env("SIGNICAT_CLIENT_ID", "") != ""
}

func loadIdentity() (Identity, error) {
	var id Identity
	var err error
	p := &id.Plan
	for _, d := range []struct {
		name, def string
		dst       *time.Duration
	}{
		{"IDENTITY_LINK_VALIDITY", "14d", &p.LinkValidity},
		{"IDENTITY_POLL_INTERVAL", "1m", &p.PollFirst},
		{"IDENTITY_POLL_MAX", "1h", &p.PollMax},
	} {
		if *d.dst, err = domain.ParseDays(env(d.name, d.def)); err != nil {
			return id, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	for _, r := range strings.Split(env("IDENTITY_REMINDERS", "7d,2d"), ",") {
		if r = strings.TrimSpace(r); r == "" || r == "none" {
			continue
		}
		d, err := domain.ParseDays(r)
		if err != nil || d >= p.LinkValidity {
			return id, fmt.Errorf("IDENTITY_REMINDERS: %q: want durations before the deadline, shorter than IDENTITY_LINK_VALIDITY", r)
		}
		p.Reminders = append(p.Reminders, d)
	}
	if id.Evidence, err = ParseEvidenceKey(os.Getenv(EnvEvidenceKey)); err != nil {
		return id, err
	}
	if cfg, ok := SignicatConfig(); ok {
		client, err := signicat.New(cfg)
		if err != nil {
			return id, fmt.Errorf("SIGNICAT_*: %w", err)
		}
		id.Provider = client
		if len(id.Evidence.KeyIDs()) == 0 {
			return id, fmt.Errorf("%s: required with SIGNICAT_CLIENT_ID (accepted checks' result archives are kept sealed with it)",
				EnvEvidenceKey)
		}
	}
	return id, nil
}

// Settings is what the identity check's activities need; callbacks and the subject's return page are
// addressed under publicURL.
func (i Identity) Settings(publicURL string) activities.IdentitySettings {
	return activities.IdentitySettings{Provider: i.Provider, Plan: i.Plan, Evidence: i.Evidence,
		CallbackURL: publicURL + api.IdentityCallbackPath, RedirectURL: publicURL + api.IdentityReturnPath}
}

// Hooks is what the API needs of the identity provider.
func (i Identity) Hooks() api.IdentityHooks {
	return api.IdentityHooks{Provider: i.Provider, Evidence: i.Evidence}
}
