package partners

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// Credentials is where the Directory finds a site and the newest live credential it issued us
// (the store).
type Credentials interface {
	Site(ctx context.Context, id uuid.UUID) (domain.PartnerSite, error)
	ActiveCredential(ctx context.Context, siteID uuid.UUID) (domain.PartnerCredential, error)
}

// Directory gives a Client for a partner site, with the newest credential it issued us unsealed.
type Directory struct {
	Store   Credentials
	Keyring *Keyring
	// HTTP calls the partners; nil means HTTPClient(AllowLoopback), which checks every connection's
	// address.
	HTTP *http.Client
	// AllowLoopback lets partners run on this machine over http (loopback development,
	// PARTNER_ALLOW_LOOPBACK); private, link-local and other internal addresses stay refused.
	AllowLoopback bool
}

// Client returns a client of the site. The store's not-found error comes back as it is when the site
// does not exist or we hold no live credential for it; an error wrapping ErrBaseURL when the site's base
// URL is not allowed (one recorded before the rules).
func (d Directory) Client(ctx context.Context, siteID uuid.UUID) (*Client, domain.PartnerSite, error) {
	site, err := d.Store.Site(ctx, siteID)
	if err != nil {
		return nil, site, err
	}
	base, err := CheckBaseURL(site.BaseURL, d.AllowLoopback)
	if err != nil {
		return nil, site, err
	}
	cred, err := d.Store.ActiveCredential(ctx, siteID)
	if err != nil {
		return nil, site, err
	}
	secret, err := d.Keyring.Open(cred.KeyID, cred.Sealed, CredentialAAD(siteID.String(), cred.ID.String()))
	if err != nil {
		return nil, site, err
	}
	hc := d.HTTP
	if hc == nil {
		hc = HTTPClient(d.AllowLoopback)
	}
	return New(base, string(secret), hc), site, nil
}
