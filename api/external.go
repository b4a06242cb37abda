package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
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
	// recorded is set once the call is in the audit log (or counted as a failed authentication).
	recorded bool
	// detail is more for its audit entry, whatever the answer (the tree sizes a witness asked for).
	detail map[string]any
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

// externalAction is the audit action of a call to an external endpoint: external.lookup, .return and
// .whoami; external.audit.checkpoint, .inclusion and .witnessed.
func externalAction(endpoint string) string {
	if name, ok := strings.CutPrefix(endpoint, "/api/external/vetting/"); ok {
		return "external." + name
	}
	name := strings.TrimPrefix(endpoint, "/api/external/")
	name = strings.Replace(name, "entries/:id/", "", 1)
	return "external." + strings.ReplaceAll(name, "/", ".")
}

// badKey is the one answer to a missing, malformed, unknown, revoked or expired key.
func badKey() *Problem {
	return problem(http.StatusUnauthorized, "unauthenticated", "a valid API key is required")
}

// partnerAuth authenticates a partner key, checks its address, scope and rate (perMinute calls; 0: no
// limit), and audits every refusal. A caller whose keys keep failing is refused (429) for a while, and its
// failed calls are counted per address and minute instead of each taking an audit entry. Whatever
// happens next, a panic or a database error included, the call leaves an audit entry with the status
// answered.
func (s *Server) partnerAuth(endpoint string, scope domain.Scope, perMinute int) gin.HandlerFunc {
	return func(c *gin.Context) {
		call := &externalCall{endpoint: endpoint, ip: c.ClientIP()}
		c.Set(externalCallKey, call)
		defer s.auditUnrecorded(c, call)
		if wait, blocked := s.authFailures.blocked(callerKey(call.ip), time.Now()); blocked {
			retryAfter(c, wait)
			s.refuseUnauthenticated(c, call, problem(http.StatusTooManyRequests, "rate-limited",
				"too many calls with invalid keys from this address"), "rate_limited")
			return
		}
		bearer, ok := bearerToken(c.GetHeader("Authorization"))
		call.prefix = store.KeyPrefixOf(bearer)
		var err error
		if ok {
			call.holder, err = s.Store.AuthenticateKey(c, bearer)
		}
		switch {
		case !ok || errors.Is(err, store.ErrBadKey):
			s.authFailures.take(callerKey(call.ip), time.Now())
			c.Header("WWW-Authenticate", `Bearer realm="signetassure-partners"`)
			s.refuseUnauthenticated(c, call, badKey(), "unauthenticated")
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
		if scope != "" && !slices.Contains(call.holder.Key.Scopes, string(scope)) {
			s.refuseExternal(c, call, problem(http.StatusForbidden, "forbidden", "this key lacks the scope "+string(scope)), "scope_missing")
			return
		}
		if perMinute > 0 {
			ok, wait, err := s.Store.Take(c, endpoint+"/"+call.holder.Key.ID.String(), perMinute)
			if err != nil {
				s.refuseExternal(c, call, err, "error")
				return
			}
			if !ok {
				retryAfter(c, wait)
				s.refuseExternal(c, call, problem(http.StatusTooManyRequests, "rate-limited",
					fmt.Sprintf("at most %d calls a minute with one key", perMinute)), "rate_limited")
				return
			}
		}
		c.Next()
	}
}

// auditUnrecorded runs after every external call: a panic is answered 500, and a call that left no
// audit entry (a database error, a panic, an answer written without one) gets one with the status
// answered.
func (s *Server) auditUnrecorded(c *gin.Context, call *externalCall) {
	if r := recover(); r != nil {
		s.Log.Error("panic", "route", c.FullPath(), "panic", r)
		if !c.Writer.Written() {
			s.writeError(c, problem(http.StatusInternalServerError, "internal", "an internal error occurred"))
		}
	}
	if call.recorded {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 10*time.Second)
	defer cancel()
	if err := s.Store.Audit(ctx, call.audit(c.Writer.Status(), "error", "")); err != nil {
		s.Log.Error("external call not audited", "route", c.FullPath(), "status", c.Writer.Status(), "error", err)
	}
}

// refuseUnauthenticated answers a call without a valid key (or from an address past its allowance of
// failures), counted against its address and the minute instead of audited (refuseCounted).
func (s *Server) refuseUnauthenticated(c *gin.Context, call *externalCall, p *Problem, outcome string) {
	call.recorded = true
	s.refuseCounted(c, call.ip, call.endpoint, p, outcome)
}

// refuseExternal answers a refused external call and audits it. Should the audit entry not be written,
// the caller gets 503 rather than an unrecorded answer.
func (s *Server) refuseExternal(c *gin.Context, call *externalCall, err error, outcome string) {
	p := s.asProblem(c, err)
	call.recorded = true
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
	for k, v := range call.detail {
		detail[k] = v
	}
	return store.AuditEntry{Action: externalAction(call.endpoint),
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
		Reason    *string `json:"reason"`
	}
	if err := decodeBytes(body, &in); err != nil {
		return partners.LookupRequest{}, err
	}
	var errs fields
	// The strings are cleaned and bounded at the request boundary (decodeBytes), by the fields' tags.
	req := partners.LookupRequest{FirstName: requiredText(&errs, "firstName", in.FirstName),
		LastName: requiredText(&errs, "lastName", in.LastName), Reason: requiredText(&errs, "reason", in.Reason)}
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
		return err // nothing is disclosed that was not recorded; the call is audited with the error answered
	}
	call.recorded = true
	c.JSON(http.StatusOK, answer)
	return nil
}

// lookup resolves a lookup to its answer and the disclosures it makes: the minimum sufficient for an
// access decision (the clearances held, heldClearances), never an address, NI number, line manager,
// contact details, internal id, case or refusal.
func (s *Server) lookup(c *gin.Context, call *externalCall, req partners.LookupRequest) (partners.LookupAnswer, []domain.Disclosure, error) {
	answer := partners.LookupAnswer{Matches: []partners.LookupMatch{}, QueriedAt: time.Now().UTC(), PartnerOrg: call.holder.Site.OrgName}
	persons, err := s.Store.PersonsByNameAndBirth(c, req.FirstName, req.LastName, req.DOB)
	if err != nil || len(persons) == 0 {
		return answer, nil, err
	}
	today := domain.DateOf(time.Now().UTC())
	var disclosures []domain.Disclosure
	for _, p := range persons {
		clearances, err := s.Store.PersonClearances(c, p.ID)
		if err != nil {
			return answer, nil, err
		}
		matches := heldClearances(clearances, today)
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

// heldClearances is what a lookup discloses of a person's clearances: each one they hold or held, with
// its level, validity and issuing authority, and whether it no longer holds. A superseded clearance is
// left out (the one that replaced it is there); a revoked or suspended one is shown as expired, without
// saying why; a refusal, an open case and the level a case was opened at are never shown.
func heldClearances(clearances []domain.Clearance, today domain.Date) []partners.LookupMatch {
	matches := []partners.LookupMatch{}
	for _, cl := range clearances {
		if cl.Status == domain.ClearanceSuperseded {
			continue
		}
		m := partners.LookupMatch{ClearanceLevel: cl.Level, ValidFrom: cl.ValidFrom, ValidTo: cl.ValidTo,
			IssuingAuthority: cl.IssuingAuthority}
		m.Expired = cl.Status != domain.ClearanceActive || cl.ValidTo.Before(today)
		m.RenewalDue = !m.Expired && cl.ValidTo.Before(domain.DateOf(today.Time().Add(renewalLead)))
		matches = append(matches, m)
	}
	return matches
}

// ParseReturn reads and checks a /return body's form: what each field must look like. Whether the
// outcome fits the case (domain.ValidityPolicy.CheckDecision) is checked once the case is found. A
// caseRef of any shape that names no case delegated to the caller is answered 404, so it is only
// required here.
func ParseReturn(body []byte) (partners.ReturnRequest, error) {
	var in struct {
		CaseRef        *string         `json:"caseRef"`
		Outcome        *domain.Outcome `json:"outcome"`
		ClearanceLevel *domain.Level   `json:"clearanceLevel"`
		ValidFrom      *string         `json:"validFrom"`
		ValidTo        *string         `json:"validTo"`
		PartnerCaseID  *string         `json:"partnerCaseId" maxLength:"200"`
	}
	if err := decodeBytes(body, &in); err != nil {
		return partners.ReturnRequest{}, err
	}
	var errs fields
	var req partners.ReturnRequest
	if in.CaseRef == nil || *in.CaseRef == "" {
		errs.add("caseRef", "is required")
	} else {
		req.CaseRef = *in.CaseRef
	}
	req.PartnerCaseID = requiredText(&errs, "partnerCaseId", in.PartnerCaseID)
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
	} else if req.Outcome.Valid() && (in.ClearanceLevel != nil || in.ValidFrom != nil || in.ValidTo != nil) {
		errs.add("outcome", "a %s outcome takes no clearanceLevel, validFrom or validTo", req.Outcome)
	}
	return req, errs.err()
}

// sameReturn reports whether two returns say the same thing (dates compared as dates).
func sameReturn(a, b partners.ReturnRequest) bool {
	return a.CaseRef == b.CaseRef && a.Outcome == b.Outcome && a.ClearanceLevel == b.ClearanceLevel &&
		a.ValidFrom.String() == b.ValidFrom.String() && a.ValidTo.String() == b.ValidTo.String() &&
		a.PartnerCaseID == b.PartnerCaseID
}

// repeatOf compares a return with the one recorded under its partnerCaseId (answer and request as
// stored): true when it is a repeat of it, false when the partnerCaseId is reused for something else. A
// return recorded before requests were kept is compared on what its answer echoes.
func repeatOf(req partners.ReturnRequest, answer, request []byte) bool {
	if len(request) > 0 && string(request) != "null" {
		var first partners.ReturnRequest
		return json.Unmarshal(request, &first) == nil && sameReturn(req, first)
	}
	var first partners.ReturnAnswer
	return json.Unmarshal(answer, &first) == nil && first.CaseRef == req.CaseRef && first.Outcome == req.Outcome
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
	// A repeat gets the first answer and changes nothing; the same partnerCaseId with another body is a
	// conflict, never a silent drop of the new outcome.
	if answer, request, err := s.Store.PartnerReturn(c, site.ID, req.PartnerCaseID); err == nil {
		if done, err := s.returnRecorded(c, call, req, answer, request); done {
			return err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return s.externalFailure(c, call, err)
	}
	var cs domain.Case
	if domain.IsCaseRef(req.CaseRef) {
		cs, err = s.Store.Case(c, req.CaseRef)
	} else {
		err = store.ErrNotFound // a reference of another shape names no case
	}
	if err != nil || cs.DelegatedSiteID == nil || *cs.DelegatedSiteID != site.ID {
		if err == nil || errors.Is(err, store.ErrNotFound) {
			p := notFound("case delegated to you")
			p.Errors = []FieldError{{Field: "caseRef", Message: "names no case delegated to you"}}
			err = p
		}
		return s.externalFailure(c, call, err)
	}
	if cs.Status.Closed() {
		return s.externalFailure(c, call, conflict("the case is closed ("+string(cs.Status)+")"))
	}
	if err := s.Validity.CheckDecision(cs.RequestedLevel, domain.Decision{Outcome: req.Outcome, Level: req.ClearanceLevel,
		ValidFrom: req.ValidFrom, ValidTo: req.ValidTo}, today()); err != nil {
		return s.externalFailure(c, call, outOfBounds(err, map[string]string{"level": "clearanceLevel"}))
	}
	// Claim the partnerCaseId before the return is carried out: of two returns sent at once under one
	// partnerCaseId (for two cases, say), one is carried out and the other refused.
	answer, request, err := s.Store.ClaimPartnerReturn(c, site.ID, req.PartnerCaseID, req.CaseRef, req)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	if done, err := s.returnRecorded(c, call, req, answer, request); done {
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	answered, err := workflows.ReturnToCase(ctx, s.Temporal, req.CaseRef, workflows.PartnerReturn{
		SiteID: site.ID, SiteName: site.OrgName, PartnerCaseID: req.PartnerCaseID, Outcome: req.Outcome,
		Level: req.ClearanceLevel, ValidFrom: req.ValidFrom, ValidTo: req.ValidTo, KeyPrefix: call.prefix, CallerIP: call.ip,
	})
	if err != nil {
		// A return the case refused frees its partnerCaseId for a corrected one; one that may yet have
		// been carried out (no answer in time) keeps it, for its retry.
		if s.asProblem(c, err).Status < http.StatusInternalServerError {
			if rerr := s.Store.ReleasePartnerReturn(c, site.ID, req.PartnerCaseID); rerr != nil {
				s.Log.Warn("partner return: claim not released", "error", rerr)
			}
		}
		return s.externalFailure(c, call, err)
	}
	call.recorded = true // the workflow wrote the return and its audit entry in one transaction
	c.JSON(http.StatusOK, answered)
	return nil
}

// returnRecorded answers a return whose partnerCaseId is recorded already (answer and request as stored;
// answer nil while the recorded one is not carried out yet): done, with a 409 when the partnerCaseId was
// used for another return, with the first answer when this repeats an answered one. A repeat of one not
// yet answered is not done: it is carried out (once: the update id is the partnerCaseId's).
func (s *Server) returnRecorded(c *gin.Context, call *externalCall, req partners.ReturnRequest, answer, request []byte) (bool, error) {
	if !repeatOf(req, answer, request) {
		p := conflict("partnerCaseId: already used for another return")
		p.Errors = []FieldError{{Field: "partnerCaseId", Message: "already used for another return (another case, outcome, level or dates)"}}
		return true, s.externalFailure(c, call, p)
	}
	if len(answer) == 0 {
		return false, nil
	}
	call.recorded = true
	if err := s.Store.Audit(c, call.audit(http.StatusOK, "repeat", req.CaseRef)); err != nil {
		return true, err
	}
	c.Data(http.StatusOK, "application/json", answer)
	return true, nil
}

func (s *Server) externalWhoAmI(c *gin.Context) error {
	call := externalCallOf(c)
	call.recorded = true
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
	call.recorded = true
	if aerr := s.Store.Audit(c, call.audit(p.Status, "refused", "")); aerr != nil {
		return problem(http.StatusServiceUnavailable, "unavailable", "the call could not be recorded; nothing was done")
	}
	return p
}
