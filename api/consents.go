package api

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/domain"
)

// consentRoutes are the routes of consents: what a person said about being messaged, per channel.
func (s *Server) consentRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/persons/:id/consents", summary: "What a person said about being messaged, per channel",
			roles: allStaff, req: new(idPath), resp: new([]domain.Consent), handle: s.personConsents},
		{method: http.MethodPut, path: "/api/v1/persons/:id/consents/:channel", summary: "Record a person's consent or opt-out on a channel (WhatsApp needs consent)",
			roles: consentRecorders, req: new(ConsentInput), resp: new(domain.Consent), handle: s.setConsent},
	}
}

// consentRecorders record what a person said about being messaged.
var consentRecorders = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleSecurityController}

// consentMethod is the shape of how consent was given (written, web_form, verbal, whatsapp_optin, ...).
var consentMethod = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// ConsentInput records what a person said about being messaged on a channel, at their current mobile
// (sms, whatsapp) or e-mail address.
type ConsentInput struct {
	ID       string         `path:"id" format:"uuid"`
	Channel  domain.Channel `path:"channel"`
	Status   *string        `json:"status" required:"true" enum:"opted_in,opted_out"`
	Method   *string        `json:"method" required:"true" description:"how it was given: written, web_form, verbal, whatsapp_optin, ..."`
	Evidence *string        `json:"evidence,omitempty" maxLength:"1000" description:"e.g. the form's reference; required to opt in to WhatsApp"`
	At       *string        `json:"at,omitempty" description:"when it was given (RFC 3339 or a date); default now, never in the future"`
}

func (s *Server) personConsents(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	cs, err := s.Store.PersonConsents(c, p.ID)
	return respond(c, nonNil(cs), err)
}

// reservedMethods are the ways of consent the system records by itself.
func reservedMethod(m string) bool {
	return m == "keyword" || strings.HasPrefix(m, "provider_")
}

func (s *Server) setConsent(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	var in ConsentInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	ch := domain.Channel(c.Param("channel"))
	if !ch.Valid() {
		errs.add("channel", "must be one of %s", domain.OneOf(domain.Channels))
	}
	status := enumField(&errs, "status", in.Status, func(s string) bool {
		return s == domain.ConsentOptedIn || s == domain.ConsentOptedOut
	}, []string{domain.ConsentOptedIn, domain.ConsentOptedOut})
	method := ""
	if in.Method == nil || *in.Method == "" {
		errs.add("method", "is required")
	} else if method = *in.Method; !consentMethod.MatchString(method) {
		errs.add("method", "must be a lower-case word such as written, web_form, verbal or whatsapp_optin")
	} else if reservedMethod(method) {
		errs.add("method", "%q is recorded by the system only", method)
	}
	evidence := optionalText(in.Evidence)
	if evidence == "" && ch == domain.ChannelWhatsApp && status == domain.ConsentOptedIn {
		errs.add("evidence", "is required to opt in to WhatsApp: say where the consent is kept")
	}
	now := time.Now().UTC()
	at := now
	if in.At != nil {
		zone, err := s.zoneFor(c, p)
		if err != nil {
			return err
		}
		z, zErr := time.LoadLocation(zone)
		if zErr != nil {
			z = time.UTC
		}
		at = grantTime(&errs, "at", in.At, z, false)
		if at.After(now.Add(time.Minute)) {
			errs.add("at", "must not be in the future")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	address := p.Mobile
	if ch == domain.ChannelEmail {
		address = p.Email
	}
	if address == "" {
		what := "mobile number"
		if ch == domain.ChannelEmail {
			what = "e-mail address"
		}
		return conflict("the person has no " + what + " to record " + string(ch) + " consent for")
	}
	// What was said later is not overwritten by something said earlier.
	if prev, found, err := s.Store.Consent(c, ch, address); err != nil {
		return err
	} else if found && prev.At.After(at) && (prev.Status != status || prev.Method != method || prev.Evidence != evidence) {
		p := conflict(fmt.Sprintf("a later %s was recorded at %s", prev.Status, prev.At.UTC().Format(time.RFC3339)))
		p.Errors = []FieldError{{Field: "at", Message: "is before what was last recorded"}}
		return p
	}
	pid := p.ID
	if err := s.Store.SetConsent(c, actor(c), domain.Consent{Channel: ch, Address: address, Status: status,
		Method: method, Evidence: evidence, PersonID: &pid, At: at}); err != nil {
		return err
	}
	out, _, err := s.Store.Consent(c, ch, address)
	return respond(c, out, err)
}
