package api

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// The external endpoints partner organisations call with the keys we issue them (seed 000, "SignetAssure
// to SignetAssure"). Every call, whatever its answer, leaves an audit entry: with the action it records
// when there is one, in the same transaction.

// Rate limits per key, calls a minute (the public contract: /lookup 60, /return 30).
const (
	LookupLimit = 60
	ReturnLimit = 30
)

// renewalLead is how close to its end a clearance is reported as due for renewal.
const renewalLead = 180 * 24 * time.Hour

// externalCall is one call to an external endpoint, as the audit log records it.
type externalCall struct {
	endpoint string
	holder   store.KeyHolder
	prefix   string
	ip       string
}

const externalCallKey = "signetassure.external"

func (s *Server) externalRoutes() []op {
	return []op{
		{method: http.MethodPost, path: partners.PathLookup, summary: "Resolve a name and date of birth to clearance state",
			external: s.partnerAuth(partners.PathLookup, domain.ScopeVettingRead, s.LookupLimit),
			req:      new(partners.LookupRequest), resp: new(partners.LookupAnswer), handle: s.externalLookup},
		{method: http.MethodPost, path: partners.PathReturn, summary: "Post back the outcome of a check run on our behalf",
			external: s.partnerAuth(partners.PathReturn, domain.ScopeVettingReturn, s.ReturnLimit),
			req:      new(partners.ReturnRequest), resp: new(partners.ReturnAnswer), handle: s.externalReturn},
		{method: http.MethodGet, path: partners.PathWhoAmI, summary: "The calling key: partner, name and scopes",
			external: s.partnerAuth(partners.PathWhoAmI, "", 0), resp: new(partners.WhoAmI), handle: s.externalWhoAmI},
	}
}

// badKey is the one answer to a missing, malformed, unknown, revoked or expired key.
func badKey() *Problem {
	return problem(http.StatusUnauthorized, "unauthenticated", "a valid API key is required")
}

// partnerAuth authenticates a partner key, checks its address, scope and rate (perMinute calls; 0: no
// limit), and audits every refusal.
func (s *Server) partnerAuth(endpoint, scope string, perMinute int) gin.HandlerFunc {
	return func(c *gin.Context) {
		call := &externalCall{endpoint: endpoint, ip: c.ClientIP()}
		c.Set(externalCallKey, call)
		bearer, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		bearer = strings.TrimSpace(bearer)
		call.prefix = store.KeyPrefixOf(bearer)
		var err error
		if ok && bearer != "" {
			call.holder, err = s.Store.AuthenticateKey(c, bearer)
		}
		switch {
		case !ok || bearer == "" || errors.Is(err, store.ErrBadKey):
			c.Header("WWW-Authenticate", `Bearer realm="signetassure-partners"`)
			s.refuseExternal(c, call, badKey(), "unauthenticated")
			return
		case err != nil:
			s.refuseExternal(c, call, err, "error")
			return
		}
		addr, perr := netip.ParseAddr(call.ip)
		if perr != nil || !store.AllowsIP(call.holder.Key, addr) {
			s.refuseExternal(c, call, problem(http.StatusForbidden, "forbidden", "this key may not be used from this address"), "ip_not_allowed")
			return
		}
		if scope != "" && !slices.Contains(call.holder.Key.Scopes, scope) {
			s.refuseExternal(c, call, problem(http.StatusForbidden, "forbidden", "this key lacks the scope "+scope), "scope_missing")
			return
		}
		if perMinute > 0 {
			ok, wait, err := s.Store.Take(c, endpoint+"/"+call.holder.Key.ID.String(), perMinute)
			if err != nil {
				s.refuseExternal(c, call, err, "error")
				return
			}
			if !ok {
				c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
				s.refuseExternal(c, call, problem(http.StatusTooManyRequests, "rate-limited",
					fmt.Sprintf("at most %d calls a minute with one key", perMinute)), "rate_limited")
				return
			}
		}
		c.Next()
	}
}

// refuseExternal answers a refused external call and audits it. Should the audit entry not be written,
// the caller gets 503 rather than an unrecorded answer.
func (s *Server) refuseExternal(c *gin.Context, call *externalCall, err error, outcome string) {
	p := s.asProblem(c, err)
	if aerr := s.Store.Audit(c, call.audit(p.Status, outcome, "")); aerr != nil {
		p = problem(http.StatusServiceUnavailable, "unavailable", "the call could not be recorded; nothing was done")
	}
	s.writeError(c, p)
}

func (call *externalCall) audit(status int, outcome, subject string) store.AuditEntry {
	site := "unknown"
	detail := map[string]any{"endpoint": call.endpoint, "keyPrefix": call.prefix, "callerIp": call.ip, "status": status,
		"outcome": outcome, "subject": subject}
	if call.holder.Site.ID != uuid.Nil {
		site = call.holder.Site.ID.String()
		detail["partnerOrg"] = call.holder.Site.OrgName
		detail["keyId"] = call.holder.Key.ID
	}
	return store.AuditEntry{Action: "external." + strings.TrimPrefix(call.endpoint, "/api/external/vetting/"),
		EntityType: "partner_site", EntityID: site, Detail: detail}
}

func externalCallOf(c *gin.Context) *externalCall {
	v, _ := c.Get(externalCallKey)
	call, _ := v.(*externalCall)
	return call
}

// ParseLookup reads and checks a /lookup body.
func ParseLookup(body []byte) (partners.LookupRequest, error) {
	var in struct {
		FirstName *string `json:"firstName" maxLength:"200"`
		LastName  *string `json:"lastName" maxLength:"200"`
		DOB       *string `json:"dob"`
		Reason    *string `json:"reason" text:"free"`
	}
	if err := decodeBytes(body, &in); err != nil {
		return partners.LookupRequest{}, err
	}
	var errs fields
	req := partners.LookupRequest{FirstName: requiredName(&errs, "firstName", in.FirstName),
		LastName: requiredName(&errs, "lastName", in.LastName), Reason: requiredText(&errs, "reason", in.Reason)}
	if in.DOB == nil {
		errs.add("dob", "is required")
	} else {
		req.DOB = fieldDate(&errs, "dob", in.DOB)
	}
	return req, errs.err()
}

func (s *Server) externalLookup(c *gin.Context) error {
	call := externalCallOf(c)
	body, err := readBody(c)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	req, err := ParseLookup(body)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	answer, disclosures, err := s.lookup(c, call, req)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	var subjects []string
	for _, d := range disclosures {
		subjects = append(subjects, d.PersonID.String())
	}
	outcome := "not_found"
	if answer.Found {
		outcome = "found"
	}
	batch := store.DisclosureBatch{Disclosures: disclosures, Audit: call.audit(http.StatusOK, outcome, strings.Join(subjects, " "))}
	if err := s.Store.RecordDisclosures(c, batch); err != nil {
		return err // nothing is disclosed that was not recorded
	}
	c.JSON(http.StatusOK, answer)
	return nil
}

// lookup resolves a lookup to its answer and the disclosures it makes: the minimum sufficient for an
// access decision, never an address, NI number, line manager, contact details or internal id.
func (s *Server) lookup(c *gin.Context, call *externalCall, req partners.LookupRequest) (partners.LookupAnswer, []domain.Disclosure, error) {
	answer := partners.LookupAnswer{Matches: []partners.LookupMatch{}, QueriedAt: time.Now().UTC(), PartnerOrg: call.holder.Site.OrgName}
	persons, err := s.Store.PersonsByNameAndBirth(c, req.FirstName, req.LastName, req.DOB)
	if err != nil || len(persons) == 0 {
		return answer, nil, err
	}
	org, err := s.Store.Organisation(c)
	if err != nil {
		return answer, nil, err
	}
	today := domain.DateOf(time.Now().UTC())
	var disclosures []domain.Disclosure
	for _, p := range persons {
		cases, _, err := s.Store.Cases(c, store.CaseFilter{PersonID: &p.ID, Page: store.Page{Limit: 200}})
		if err != nil {
			return answer, nil, err
		}
		clearances, err := s.Store.PersonClearances(c, p.ID)
		if err != nil {
			return answer, nil, err
		}
		var matches []partners.LookupMatch
		for _, cs := range cases {
			if cs.Status == domain.StatusWithdrawn {
				continue
			}
			matches = append(matches, lookupMatch(cs, clearances, org.Name, today))
		}
		answer.Matches = append(answer.Matches, matches...)
		if answer.Subject == nil {
			answer.Subject = &partners.LookupSubject{FirstName: p.FirstName, LastName: p.LastName, Active: p.Active}
		}
		siteID, keyID := call.holder.Site.ID, call.holder.Key.ID
		disclosures = append(disclosures, domain.Disclosure{PersonID: p.ID, Source: "partner_lookup", SiteID: &siteID,
			KeyID: &keyID, Recipient: call.holder.Site.OrgName, Reason: req.Reason,
			Disclosed: map[string]any{"subject": answer.Subject, "matches": matches}})
	}
	answer.Found = true
	return answer, disclosures, nil
}

func lookupMatch(cs domain.Case, clearances []domain.Clearance, org string, today domain.Date) partners.LookupMatch {
	m := partners.LookupMatch{CaseRef: cs.CaseRef, Type: cs.Type, Status: cs.Status, ClearanceLevel: cs.RequestedLevel,
		ValidFrom: cs.ValidFrom, ValidTo: cs.ValidTo, IssuingAuthority: cs.IssuingAuthority}
	if cs.OutcomeLevel != nil {
		m.ClearanceLevel = *cs.OutcomeLevel
	}
	if cs.OwnerID != nil {
		m.VettingOwner = "Vetting Officer (" + org + ")"
	}
	for _, cl := range clearances {
		if cl.SourceCaseRef != nil && *cl.SourceCaseRef == cs.CaseRef {
			m.Expired = cl.Status == domain.ClearanceExpired || cl.Status == domain.ClearanceRevoked ||
				cl.Status == domain.ClearanceSuspended || cl.ValidTo.Before(today)
			m.RenewalDue = !m.Expired && cl.ValidTo.Before(domain.DateOf(today.Time().Add(renewalLead)))
		}
	}
	return m
}

// ParseReturn reads and checks a /return body.
func ParseReturn(body []byte) (partners.ReturnRequest, error) {
	var in struct {
		CaseRef        *string `json:"caseRef"`
		Outcome        *string `json:"outcome"`
		ClearanceLevel *string `json:"clearanceLevel"`
		ValidFrom      *string `json:"validFrom"`
		ValidTo        *string `json:"validTo"`
		PartnerCaseID  *string `json:"partnerCaseId" maxLength:"200"`
	}
	if err := decodeBytes(body, &in); err != nil {
		return partners.ReturnRequest{}, err
	}
	var errs fields
	var req partners.ReturnRequest
	if in.CaseRef == nil || !domain.IsCaseRef(*in.CaseRef) {
		errs.add("caseRef", "must be a case reference (v_...)")
	} else {
		req.CaseRef = *in.CaseRef
	}
	req.PartnerCaseID = requiredName(&errs, "partnerCaseId", in.PartnerCaseID)
	req.Outcome = enumField(&errs, "outcome", in.Outcome, domain.Outcome.Valid, domain.Outcomes)
	if req.Outcome.GrantsClearance() {
		req.ClearanceLevel = enumField(&errs, "clearanceLevel", in.ClearanceLevel, domain.Level.Valid, domain.Levels)
		if in.ValidFrom == nil {
			errs.add("validFrom", "is required for a %s outcome", req.Outcome)
		}
		if in.ValidTo == nil {
			errs.add("validTo", "is required for a %s outcome", req.Outcome)
		}
		req.ValidFrom = fieldDate(&errs, "validFrom", in.ValidFrom)
		req.ValidTo = fieldDate(&errs, "validTo", in.ValidTo)
		if !req.ValidFrom.IsZero() && !req.ValidTo.IsZero() && !req.ValidTo.After(req.ValidFrom) {
			errs.add("validTo", "must be after validFrom")
		}
	}
	return req, errs.err()
}

func (s *Server) externalReturn(c *gin.Context) error {
	call := externalCallOf(c)
	body, err := readBody(c)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	req, err := ParseReturn(body)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	site := call.holder.Site
	// A repeat gets the first answer and changes nothing.
	if first, err := s.Store.PartnerReturn(c, site.ID, req.PartnerCaseID); err == nil {
		if err := s.Store.Audit(c, call.audit(http.StatusOK, "repeat", req.CaseRef)); err != nil {
			return err
		}
		c.Data(http.StatusOK, "application/json", first)
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return s.externalFailure(c, call, err)
	}
	cs, err := s.Store.Case(c, req.CaseRef)
	if err != nil || cs.DelegatedSiteID == nil || *cs.DelegatedSiteID != site.ID {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			err = notFound("case delegated to you")
		}
		return s.externalFailure(c, call, err)
	}
	if cs.Status.Closed() {
		return s.externalFailure(c, call, conflict("the case is closed ("+string(cs.Status)+")"))
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	answer, err := workflows.ReturnToCase(ctx, s.Temporal, req.CaseRef, workflows.PartnerReturn{
		SiteID: site.ID, SiteName: site.OrgName, PartnerCaseID: req.PartnerCaseID, Outcome: req.Outcome,
		Level: req.ClearanceLevel, ValidFrom: req.ValidFrom, ValidTo: req.ValidTo, KeyPrefix: call.prefix, CallerIP: call.ip,
	})
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	c.JSON(http.StatusOK, answer)
	return nil
}

func (s *Server) externalWhoAmI(c *gin.Context) error {
	call := externalCallOf(c)
	if err := s.Store.Audit(c, call.audit(http.StatusOK, "ok", "")); err != nil {
		return err
	}
	c.JSON(http.StatusOK, partners.WhoAmI{PartnerOrg: call.holder.Site.OrgName, KeyName: call.holder.Key.Name,
		Scopes: call.holder.Key.Scopes})
	return nil
}

// externalFailure audits a call that failed after authentication and returns the problem to answer.
func (s *Server) externalFailure(c *gin.Context, call *externalCall, err error) error {
	p := s.asProblem(c, err)
	if aerr := s.Store.Audit(c, call.audit(p.Status, "refused", "")); aerr != nil {
		return problem(http.StatusServiceUnavailable, "unavailable", "the call could not be recorded; nothing was done")
	}
	return p
}

// readBody reads a request body of at most maxBody bytes.
func readBody(c *gin.Context) ([]byte, error) { return readBodyUpTo(c, maxBody) }

// readBodyUpTo reads a request body of at most limit bytes, within the server's BodyTimeout: a body
// trickled in slowly does not hold a connection.
func readBodyUpTo(c *gin.Context, limit int64) ([]byte, error) {
	v, _ := c.Get(bodyTimeoutKey)
	if d, ok := v.(time.Duration); ok && d > 0 {
		rc := http.NewResponseController(c.Writer)
		if rc.SetReadDeadline(time.Now().Add(d)) == nil {
			// Cleared once read: the connection's next request, or a stream, has its own time.
			defer rc.SetReadDeadline(time.Time{})
		}
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	if errors.As(err, &tooBig) {
		return nil, invalid(FieldError{Field: "body", Message: fmt.Sprintf("larger than %d bytes", limit)})
	}
	if errors.As(err, &netErr) && netErr.Timeout() {
		p := problem(http.StatusRequestTimeout, "timeout", "the request body did not arrive in time; nothing was changed")
		p.Errors = []FieldError{{Field: "body", Message: "did not arrive in time"}}
		c.Header("Connection", "close")
		return nil, p
	}
	if err != nil {
		return nil, invalid(FieldError{Field: "body", Message: "could not be read"})
	}
	return buf.Bytes(), nil
}
