package api

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// Partner administration: the sites we share vetting with, the keys we issue them, the credentials they
// issued us; delegating cases; verifying our persons with partners; disclosures.

type (
	// SiteInput adds a partner site.
	SiteInput struct {
		OrgName      *string `json:"orgName" required:"true" maxLength:"200"`
		BaseURL      *string `json:"baseUrl" required:"true" format:"uri" description:"the partner's SignetAssure, https://... (no user name, query or fragment; not an internal address)"`
		ContactName  *string `json:"contactName,omitempty"`
		ContactEmail *string `json:"contactEmail,omitempty" format:"email"`
	}
	// KeyInput issues a key to a partner site.
	KeyInput struct {
		idPath
		Name      *string        `json:"name" required:"true" maxLength:"200"`
		Scopes    []domain.Scope `json:"scopes" required:"true"`
		IPAllow   []string       `json:"ipAllow,omitempty" description:"CIDRs (IPv4 or IPv6); empty: any address"`
		ExpiresAt *string        `json:"expiresAt,omitempty" format:"date-time"`
	}
	// IssuedKey is a new key with its secret, shown this once.
	IssuedKey struct {
		domain.PartnerKey
		Key string `json:"key" description:"the secret: shown once, never stored"`
	}
	// CredentialInput stores a bearer secret a partner issued to us.
	CredentialInput struct {
		idPath
		Name   *string `json:"name" required:"true" maxLength:"200"`
		Secret *string `json:"secret" required:"true" maxLength:"4096" description:"sealed at rest; never shown again"`
	}
	keyPath struct {
		ID    string `path:"id" format:"uuid"`
		KeyID string `path:"keyId" format:"uuid"`
	}
	// AuditLogInput sets a partner site's audit log and whether we witness it.
	AuditLogInput struct {
		idPath
		Origin      *string `json:"origin" maxLength:"200" description:"the partner's audit log origin, the first line of its checkpoints (its AUDIT_LOG_ORIGIN); empty: none"`
		VerifierKey *string `json:"verifierKey" maxLength:"500" description:"the note verifier key its checkpoints are signed with, <name>+<hash>+<base64 key> (its signetassure audit public-key --note); empty: none"`
		Witness     *bool   `json:"witness" required:"true" description:"fetch and keep the partner's checkpoints, each proved to extend the one before (needs origin and verifierKey)"`
	}
	siteCheckpointsQuery struct {
		idPath
		pageQuery
	}
	// SiteView is a partner site with its keys and credentials (never their secrets).
	SiteView struct {
		domain.PartnerSite
		Keys        []domain.PartnerKey        `json:"keys"`
		Credentials []domain.PartnerCredential `json:"credentials"`
	}
	// DelegateInput hands an open case to a partner site.
	DelegateInput struct {
		caseRefPath
		idempotent
		SiteID  *string `json:"siteId" required:"true" format:"uuid"`
		DueDate *string `json:"dueDate" required:"true" format:"date" description:"the partner's outcome is overdue after this day (UTC)"`
	}
	// VerifyInput asks a partner what it knows of one of our persons.
	VerifyInput struct {
		personPath
		SiteID *string `json:"siteId" required:"true" format:"uuid"`
		Reason *string `json:"reason" required:"true" text:"free"`
	}
	// DisclosureInput records a disclosure made outside SignetAssure (a letter, a call).
	DisclosureInput struct {
		personPath
		Recipient *string `json:"recipient" required:"true" maxLength:"200"`
		Reason    *string `json:"reason" required:"true" text:"free"`
		Disclosed *string `json:"disclosed" required:"true" text:"free" description:"what was disclosed"`
	}
)

var (
	partnerAdmins  = []domain.Role{domain.RoleAdmin}
	partnerReaders = []domain.Role{domain.RoleAdmin, domain.RoleSecurityController, domain.RoleAuditor}
	delegators     = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleSecurityController}
)

func (s *Server) partnerRoutes() []op {
	return []op{
		{method: http.MethodPost, path: "/api/v1/partners", summary: "Add a partner site", roles: partnerAdmins,
			req: new(SiteInput), resp: new(domain.PartnerSite), status: http.StatusCreated, handle: s.createSite},
		{method: http.MethodGet, path: "/api/v1/partners", summary: "List partner sites", roles: append(partnerReaders, delegators...),
			resp: new([]domain.PartnerSite), handle: s.listSites},
		{method: http.MethodGet, path: "/api/v1/partners/:id", summary: "A partner site with its keys and credentials",
			roles: partnerReaders, req: new(idPath), resp: new(SiteView), handle: s.getSite},
		{method: http.MethodPost, path: "/api/v1/partners/:id/revoke",
			summary: "Revoke a site: every key and credential bound to it goes in the same transaction", roles: partnerAdmins,
			req: new(idPath), resp: new(domain.PartnerSite), handle: s.revokeSite},
		{method: http.MethodPost, path: "/api/v1/partners/:id/keys", summary: "Issue a key to the partner (secret shown once)",
			roles: partnerAdmins, req: new(KeyInput), resp: new(IssuedKey), status: http.StatusCreated, handle: s.issueKey,
			secret: true},
		{method: http.MethodPost, path: "/api/v1/partners/:id/keys/:keyId/revoke", summary: "Revoke one key",
			roles: partnerAdmins, req: new(keyPath), resp: new(domain.PartnerKey), handle: s.revokeKey},
		{method: http.MethodPut, path: "/api/v1/partners/:id/audit-log",
			summary: "Set the partner's audit log (origin, verifier key) and whether we witness it", roles: partnerAdmins,
			req: new(AuditLogInput), resp: new(domain.PartnerSite), handle: s.setSiteAuditLog},
		{method: http.MethodGet, path: "/api/v1/partners/:id/audit-checkpoints",
			summary: "The checkpoints of the partner's audit log we witnessed, newest first", roles: partnerReaders,
			req: new(siteCheckpointsQuery), resp: new(List[partners.WitnessedCheckpoint]), handle: s.listSiteCheckpoints},
		{method: http.MethodPost, path: "/api/v1/partners/:id/credentials", summary: "Store a bearer secret the partner issued us",
			roles: partnerAdmins, req: new(CredentialInput), resp: new(domain.PartnerCredential), status: http.StatusCreated,
			handle: s.addCredential},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/delegation", summary: "Delegate the case to a partner site",
			roles: delegators, req: new(DelegateInput), resp: new(CaseView), handle: s.delegateCase},
		{method: http.MethodPost, path: "/api/v1/persons/:id/verifications", summary: "Ask a partner what it holds on this person",
			roles: delegators, req: new(VerifyInput), resp: new(store.Verification), status: http.StatusCreated, handle: s.verifyPerson},
		{method: http.MethodGet, path: "/api/v1/persons/:id/verifications", summary: "What partners told us about this person",
			roles: allStaff, req: new(personPath), resp: new([]store.Verification), handle: s.listVerifications},
		{method: http.MethodGet, path: "/api/v1/persons/:id/disclosures",
			summary: "Who was told what about this person: partner lookups and manual disclosures", roles: allStaff,
			req: new(personPath), resp: new([]domain.Disclosure), handle: s.listDisclosures},
		{method: http.MethodPost, path: "/api/v1/persons/:id/disclosures", summary: "Record a disclosure made outside SignetAssure",
			roles: personWriters, req: new(DisclosureInput), resp: new(domain.Disclosure), status: http.StatusCreated,
			handle: s.recordDisclosure},
	}
}

func (s *Server) createSite(c *gin.Context) error {
	var in SiteInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	site := domain.PartnerSite{OrgName: requiredName(&errs, "orgName", in.OrgName), ContactName: optionalText(in.ContactName)}
	if in.BaseURL == nil {
		errs.add("baseUrl", "is required")
	} else if base, err := partners.CheckBaseURL(*in.BaseURL, s.AllowLoopbackPartners); err != nil {
		var bad *partners.BaseURLError
		if !errors.As(err, &bad) {
			return err
		}
		errs.add("baseUrl", "%s", bad.Reason)
	} else {
		site.BaseURL = base
	}
	if e := optionalText(in.ContactEmail); e != "" {
		if addr, err := domain.ParseEmail(e); err != nil {
			errs.add("contactEmail", "is not an e-mail address")
		} else {
			site.ContactEmail = addr
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	site, err := s.Store.CreateSite(c, actor(c), site)
	return created(c, "/api/v1/partners/"+site.ID.String(), site, err)
}

func (s *Server) listSites(c *gin.Context) error {
	sites, err := s.Store.Sites(c)
	return respond(c, nonNil(sites), err)
}

func (s *Server) site(c *gin.Context) (domain.PartnerSite, error) {
	id, err := pathID(c, "partner site")
	if err != nil {
		return domain.PartnerSite{}, err
	}
	site, err := s.Store.Site(c, id)
	return site, notFoundAs(err, "partner site")
}

func (s *Server) getSite(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	keys, err := s.Store.Keys(c, site.ID)
	if err != nil {
		return err
	}
	creds, err := s.Store.Credentials(c, site.ID)
	return respond(c, SiteView{PartnerSite: site, Keys: nonNil(keys), Credentials: nonNil(creds)}, err)
}

func (s *Server) revokeSite(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	site, err = s.Store.RevokeSite(c, actor(c), site.ID)
	return respond(c, site, err)
}

func (s *Server) issueKey(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	var in KeyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	k := domain.PartnerKey{SiteID: site.ID, Name: requiredName(&errs, "name", in.Name), IPAllow: []string{}}
	if len(in.Scopes) == 0 {
		errs.add("scopes", "is required: one or more of %s", domain.OneOf(domain.Scopes))
	}
	for _, sc := range in.Scopes {
		if !sc.Valid() {
			errs.add("scopes", "%q is not one of %s", sc, domain.OneOf(domain.Scopes))
		} else if !contains(k.Scopes, string(sc)) {
			k.Scopes = append(k.Scopes, string(sc))
		}
	}
	for _, cidr := range in.IPAllow {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			if a, aerr := netip.ParseAddr(cidr); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			errs.add("ipAllow", "%q is not an IPv4 or IPv6 address or CIDR", cidr)
			continue
		}
		k.IPAllow = append(k.IPAllow, p.Masked().String())
	}
	if in.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *in.ExpiresAt)
		if err != nil || !t.After(time.Now()) || !timeInRange(t) {
			errs.add("expiresAt", "must be a future time (RFC 3339) up to %s", domain.MaxDate)
		}
		k.ExpiresAt = &t
	}
	if err := errs.err(); err != nil {
		return err
	}
	k, secret, err := s.Store.IssueKey(c, actor(c), k)
	if errors.Is(err, store.ErrSiteRevoked) {
		return conflict("the partner site is revoked")
	}
	c.Header("Cache-Control", "no-store")
	return created(c, "/api/v1/partners/"+site.ID.String(), IssuedKey{PartnerKey: k, Key: secret}, err)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *Server) revokeKey(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	keyID, err := uuid.Parse(c.Param("keyId"))
	if err != nil {
		return notFound("key")
	}
	k, err := s.Store.RevokeKey(c, actor(c), site.ID, keyID)
	return respond(c, k, notFoundAs(err, "key"))
}

func (s *Server) setSiteAuditLog(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	var in AuditLogInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	l := store.SiteAuditLog{Origin: optionalText(in.Origin), VerifierKey: optionalText(in.VerifierKey)}
	if strings.ContainsAny(l.Origin, "\r\n") {
		errs.add("origin", "must be one line")
	}
	if l.VerifierKey != "" {
		if _, err := tlog.NewVerifier(l.VerifierKey); err != nil {
			errs.add("verifierKey", "is not a note verifier key <name>+<hash>+<base64 Ed25519 key>")
		}
	}
	switch {
	case l.Origin == "" && l.VerifierKey != "":
		errs.add("origin", "is required with a verifierKey")
	case l.Origin != "" && l.VerifierKey == "":
		errs.add("verifierKey", "is required with an origin")
	}
	if in.Witness == nil {
		errs.add("witness", "is required")
	} else if l.Witness = *in.Witness; l.Witness && (l.Origin == "" || l.VerifierKey == "") {
		errs.add("witness", "needs the partner's origin and verifierKey")
	}
	if err := errs.err(); err != nil {
		return err
	}
	site, err = s.Store.SetSiteAuditLog(c, actor(c), site.ID, l)
	if errors.Is(err, store.ErrSiteRevoked) {
		return conflict("the partner site is revoked")
	}
	return respond(c, site, err)
}

func (s *Server) listSiteCheckpoints(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	q := query{c: c}
	p := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	cps, total, err := s.Store.PartnerCheckpoints(c, site.ID, p)
	return respond(c, list(cps, total, p), err)
}

func (s *Server) addCredential(c *gin.Context) error {
	site, err := s.site(c)
	if err != nil {
		return err
	}
	var in CredentialInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	cred := domain.PartnerCredential{SiteID: site.ID, Name: requiredName(&errs, "name", in.Name)}
	secret := requiredText(&errs, "secret", in.Secret)
	if err := errs.err(); err != nil {
		return err
	}
	cred, err = s.Store.AddCredential(c, actor(c), cred, func(id uuid.UUID) (string, []byte, error) {
		return s.Keyring.Seal([]byte(secret), partners.CredentialAAD(site.ID.String(), id.String()))
	})
	if errors.Is(err, store.ErrSiteRevoked) {
		return conflict("the partner site is revoked")
	}
	return created(c, "/api/v1/partners/"+site.ID.String(), cred, err)
}

func (s *Server) delegateCase(c *gin.Context) error {
	var in DelegateInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	siteID := requiredID(&errs, "siteId", in.SiteID)
	due := fieldDate(&errs, "dueDate", in.DueDate)
	if in.DueDate == nil {
		errs.add("dueDate", "is required")
	} else if !due.IsZero() && due.Before(today()) {
		errs.add("dueDate", "must be today or later")
	}
	var site domain.PartnerSite
	if siteID != nil {
		var err error
		if site, err = s.Store.Site(c, *siteID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		} else if err != nil || site.Status != "active" {
			errs.add("siteId", "must be an active partner site")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	return s.caseAction(c, workflows.UpdateDelegate, workflows.DelegateCase{Actor: actorID(c), SiteID: site.ID,
		SiteName: site.OrgName, DueAt: due.AddDays(1).Time().Add(-time.Second)})
}

func (s *Server) verifyPerson(c *gin.Context) error {
	person, err := s.person(c)
	if err != nil {
		return err
	}
	id := person.ID
	var in VerifyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	siteID := requiredID(&errs, "siteId", in.SiteID)
	reason := requiredText(&errs, "reason", in.Reason)
	if err := errs.err(); err != nil {
		return err
	}
	client, _, err := s.Partners.Client(c, *siteID)
	if errors.Is(err, store.ErrNotFound) {
		return invalid(FieldError{Field: "siteId", Message: "must be an active partner site we hold a credential for"})
	}
	if errors.Is(err, partners.ErrBaseURL) {
		return problem(http.StatusBadGateway, "partner-unreachable", partners.Unreachable)
	}
	if err != nil {
		return err
	}
	answer, err := client.Lookup(c, partners.LookupRequest{FirstName: person.FirstName, LastName: person.LastName,
		DOB: person.DateOfBirth, Reason: reason})
	if err != nil {
		if _, answered := errors.AsType[*partners.Error](err); answered {
			return problem(http.StatusBadGateway, "partner-refused", partners.Describe(err))
		}
		// One wording whatever the cause (refused, timed out, no such name, TLS, an address not allowed).
		return problem(http.StatusBadGateway, "partner-unreachable", partners.Unreachable)
	}
	v, err := s.Store.RecordVerification(c, actor(c), store.Verification{PersonID: id, SiteID: *siteID, Reason: reason,
		Found: answer.Found, Answer: answer.Raw})
	return created(c, "/api/v1/persons/"+id.String()+"/verifications", v, err)
}

func (s *Server) listVerifications(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	vs, err := s.Store.Verifications(c, p.ID)
	return respond(c, nonNil(vs), err)
}

func (s *Server) listDisclosures(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	ds, err := s.Store.PersonDisclosures(c, p.ID)
	return respond(c, nonNil(ds), err)
}

func (s *Server) recordDisclosure(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	id := p.ID
	var in DisclosureInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	d := domain.Disclosure{ID: uuid.New(), PersonID: id, Source: "manual", Recipient: requiredName(&errs, "recipient", in.Recipient),
		Reason: requiredText(&errs, "reason", in.Reason), RecordedBy: actor(c), At: time.Now().UTC()}
	d.Disclosed = map[string]any{"description": requiredText(&errs, "disclosed", in.Disclosed)}
	if err := errs.err(); err != nil {
		return err
	}
	err = s.Store.RecordDisclosures(c, store.DisclosureBatch{Disclosures: []domain.Disclosure{d},
		Audit: store.AuditEntry{Actor: actor(c), Action: "disclosure.record", EntityType: "person", EntityID: id.String(),
			Detail: map[string]any{"disclosureId": d.ID, "recipient": d.Recipient}}})
	return created(c, "/api/v1/persons/"+id.String()+"/disclosures", d, err)
}
