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
	HTTP    *http.Client
}

// Client returns a client of the site. The store's not-found error comes back as it is when the site
// does not exist or we hold no live credential for it.
func (d Directory) Client(ctx context.Context, siteID uuid.UUID) (*Client, domain.PartnerSite, error) {
	site, err := d.Store.Site(ctx, siteID)
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
	return New(site.BaseURL, string(secret), d.HTTP), site, nil
}
