package entra

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/signetassure/signetassure/domain"
)

// OnDemand is a Client discovered at its first use, and again at the next use after a failed
// discovery: the API starts while Entra ID is unreachable, and sign-in works as soon as it answers.
type OnDemand struct {
	cfg    Config
	mu     sync.Mutex
	client *Client
}

// NewOnDemand checks cfg's required settings now and discovers the tenant later.
func NewOnDemand(cfg Config) (*OnDemand, error) {
	for name, v := range map[string]string{"TenantID": cfg.TenantID, "ClientID": cfg.ClientID,
		"ClientSecret": cfg.ClientSecret, "RedirectURL": cfg.RedirectURL} {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("entra: Config.%s is required", name)
		}
	}
	return &OnDemand{cfg: cfg}, nil
}

func (o *OnDemand) get(ctx context.Context) (*Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client == nil {
		c, err := New(ctx, o.cfg)
		if err != nil {
			return nil, err
		}
		o.client = c
	}
	return o.client, nil
}

// AuthCodeURL is Client.AuthCodeURL, once the tenant is discovered.
func (o *OnDemand) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	c, err := o.get(ctx)
	if err != nil {
		return "", err
	}
	return c.AuthCodeURL(state, nonce, verifier), nil
}

// Exchange is Client.Exchange, once the tenant is discovered.
func (o *OnDemand) Exchange(ctx context.Context, code, verifier, nonce string) (domain.DirectoryUser, error) {
	c, err := o.get(ctx)
	if err != nil {
		return domain.DirectoryUser{}, err
	}
	return c.Exchange(ctx, code, verifier, nonce)
}
