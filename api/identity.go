package api

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/identity"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// IdentityHooks is what the API knows of the identity provider: the provider itself (for the document
// types of a staff-attended check, and to read its callbacks; nil when none is configured).
type IdentityHooks struct {
	Provider identity.Provider
	// Evidence opens the sealed result archives of accepted checks.
	Evidence *partners.Keyring
}

// Identity paths outside /api/v1/cases: the provider's callbacks (under the public URL, followed by the
// case reference) and the page the subject lands on after the capture flow.
const (
	IdentityCallbackPath = "/api/v1/identity/callbacks/"
	IdentityReturnPath   = "/identity/done"
)

// Image limits for a staff-attended check: PNG or JPEG, at most maxImageBytes each once decoded.
const (
	maxImageBytes = 10 << 20
	maxUploadBody = 3*(maxImageBytes*4/3+64) + 4096
	minImageBytes = 16
)

type (
	// AttendedImagesInput is a staff-attended check's document type and images, as data URLs.
	AttendedImagesInput struct {
		CaseRef      caseRefParam `path:"caseRef"`
		DocumentType *string      `json:"documentType" required:"true"`
		Front        *string      `json:"front" required:"true" maxLength:"13981077" description:"PNG or JPEG data URL of the document's front"`
		Back         *string      `json:"back" maxLength:"13981077" description:"PNG or JPEG data URL of the back (required for two-sided documents)"`
		Selfie       *string      `json:"selfie" required:"true" maxLength:"13981077" description:"PNG or JPEG data URL of the person's face"`
	}
	identityCallbackPath struct {
		CaseRef caseRefParam `path:"caseRef"`
	}
	identityEvidencePath struct {
		CaseRef caseRefParam `path:"caseRef"`
		Attempt int          `path:"attempt" minimum:"1"`
	}
	// IdentityCallbackAck answers a provider's callback.
	IdentityCallbackAck struct {
		Received bool `json:"received"`
	}
)

func (s *Server) identityRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/cases/:caseRef/identity-checks",
			summary: "List the case's identity check attempts, the latest first", roles: allStaff,
			req: new(caseRefPath), resp: new(List[domain.IdentityCheck]), handle: s.identityChecks},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/identity-check/images",
			summary: "Upload the subject's document and face images for a staff-attended identity check, and start its verification",
			roles:   caseWorkers, req: new(AttendedImagesInput), resp: new(domain.IdentityCheck), status: http.StatusAccepted,
			handle: s.attendedImages},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/identity-check/retry",
			summary: "Start a new attempt of the identity check (a new process at the provider)", roles: caseWorkers,
			req: new(caseRefPath), resp: new(CaseView), handle: s.retryIdentityCheck},
		{method: http.MethodGet, path: "/api/v1/cases/:caseRef/identity-checks/:attempt/evidence",
			summary: "Download an accepted identity check's result archive (zip) as the provider gave it; every download is audited",
			roles:   evidenceReaders, req: new(identityEvidencePath), resp: new([]byte), contentType: "application/zip",
			handle: s.identityEvidence},
		{method: http.MethodGet, path: "/api/v1/identity/document-types",
			summary: "The identity documents the provider verifies for a staff-attended check", roles: allStaff,
			resp: new(List[identity.DocumentType]), handle: s.documentTypes},
		{method: http.MethodPost, path: IdentityCallbackPath + ":caseRef",
			summary: "The identity provider's callback (Authorization: the case's callback secret)", public: true,
			req: new(identityCallbackPath), resp: new(IdentityCallbackAck),
			alt:    map[int]any{http.StatusForbidden: new(Problem), http.StatusServiceUnavailable: new(Problem)},
			handle: s.identityCallback},
		{method: http.MethodGet, path: IdentityReturnPath,
			summary: "Where the subject lands after the capture flow (HTML)", public: true, resp: new(string),
			handle: s.identityReturn},
	}
}

func (s *Server) identityChecks(c *gin.Context) error {
	ref := c.Param("caseRef")
	if _, err := s.Store.Case(c, ref); err != nil {
		return notFoundAs(err, "case")
	}
	checks, err := s.Store.IdentityChecks(c, ref)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, List[domain.IdentityCheck]{Items: nonNil(checks), Total: len(checks)})
	return nil
}

// evidenceReaders may download identity evidence (the document and face images themselves): the officer
// who decides the case on it and the security controller, not every role that reads a case.
var evidenceReaders = []domain.Role{domain.RoleVettingOfficer, domain.RoleSecurityController}

// identityEvidence streams an attempt's kept result archive, opened with the evidence key and checked
// against its digest, after writing the download to the audit log (who, which case and attempt, digest).
func (s *Server) identityEvidence(c *gin.Context) error {
	ref := c.Param("caseRef")
	attempt, err := strconv.Atoi(c.Param("attempt"))
	if err != nil || attempt < 1 || attempt > 1_000_000 {
		return invalid(FieldError{Field: "attempt", Message: "must be a whole number from 1"})
	}
	if _, err := s.Store.Case(c, ref); err != nil {
		return notFoundAs(err, "case")
	}
	ev, err := s.Store.IdentityEvidenceOf(c, ref, attempt)
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusNotFound, "not-found", "no evidence is kept for this attempt (it is not an accepted check)")
	} else if err != nil {
		return err
	}
	zip, err := s.Identity.Evidence.Open(ev.KeyID, ev.Sealed, store.IdentityEvidenceAAD(ref, attempt))
	if err != nil {
		s.Log.Error("identity: evidence does not open", "caseRef", ref, "attempt", attempt, "keyId", ev.KeyID, "error", err)
		return problem(http.StatusInternalServerError, "evidence-unreadable",
			"the evidence cannot be opened with the configured EVIDENCE_KEY")
	}
	sum := sha256.Sum256(zip)
	if hex.EncodeToString(sum[:]) != ev.SHA256 {
		s.Log.Error("identity: evidence does not match its digest", "caseRef", ref, "attempt", attempt)
		return problem(http.StatusInternalServerError, "evidence-altered", "the evidence does not match its digest")
	}
	if err := s.Store.Audit(c, store.AuditEntry{Actor: actor(c), Action: "identity.evidence.downloaded",
		EntityType: "vetting_case", EntityID: ref, Detail: map[string]any{"attempt": attempt, "sha256": ev.SHA256,
			"bytes": ev.Bytes}}); err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="identity-%s-%d.zip"`, ref, attempt))
	c.Header("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum[:])+":") // RFC 9530
	c.Data(http.StatusOK, "application/zip", zip)
	return nil
}

func (s *Server) retryIdentityCheck(c *gin.Context) error {
	return s.caseAction(c, workflows.UpdateRetryIdentityCheck, workflows.RetryIdentityCheck{Actor: actorID(c)})
}

func (s *Server) documentTypes(c *gin.Context) error {
	types, err := s.identityDocumentTypes(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, List[identity.DocumentType]{Items: nonNil(types), Total: len(types)})
	return nil
}

// identityDocumentTypes are the document types of a staff-attended check (the provider may cache them).
func (s *Server) identityDocumentTypes(c *gin.Context) ([]identity.DocumentType, error) {
	if s.Identity.Provider == nil {
		return nil, conflict("no identity provider is configured")
	}
	types, err := s.Identity.Provider.AttendedDocumentTypes(c)
	if err != nil {
		s.Log.Warn("identity: document types not read", "error", err)
		return nil, problem(http.StatusBadGateway, "identity-provider", "the identity provider did not answer; try again")
	}
	return types, nil
}

// attendedImages validates a case worker's images, keeps them until the identity check hands them to the
// provider, and has the check start verification. Images that cannot be handed over are dropped.
func (s *Server) attendedImages(c *gin.Context) error {
	body, err := readBodyUpTo(c, maxUploadBody)
	if err != nil {
		return err
	}
	var in AttendedImagesInput
	if err := decodeBytes(body, &in); err != nil {
		return err
	}
	// The images are checked before anything is asked of the store or the provider.
	var errs fields
	ref := c.Param("caseRef")
	up := store.IdentityUpload{ID: uuid.New(), CaseRef: ref}
	up.Front = imageField(&errs, "front", in.Front, true)
	up.Back = imageField(&errs, "back", in.Back, false)
	up.Selfie = imageField(&errs, "selfie", in.Selfie, true)
	if err := errs.err(); err != nil {
		return err
	}
	cs, err := s.Store.Case(c, ref)
	if err != nil {
		return notFoundAs(err, "case")
	}
	types, err := s.identityDocumentTypes(c)
	if err != nil {
		return err
	}
	docType := requiredText(&errs, "documentType", in.DocumentType)
	i := slices.IndexFunc(types, func(t identity.DocumentType) bool { return t.Type == docType })
	if docType != "" && i < 0 {
		names := make([]string, len(types))
		for j, t := range types {
			names[j] = t.Type
		}
		errs.add("documentType", "must be one of %s", strings.Join(names, ", "))
	}
	up.DocumentType = docType
	if i >= 0 && types[i].TwoSided && up.Back == "" {
		errs.add("back", "is required for a two-sided %s", docType)
	}
	if err := errs.err(); err != nil {
		return err
	}
	if cs.Status != domain.StatusIdentityCheck {
		return conflict("the case has no identity check running (it is " + string(cs.Status) + ")")
	}
	actor := actorID(c)
	up.UploadedBy = &actor
	if err := s.Store.AddIdentityUpload(c, up); err != nil {
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if _, err := workflows.StartAttendedCheck(ctx, s.Temporal, ref, workflows.AttendedImages{Actor: actor, UploadID: up.ID}); err != nil {
		if derr := s.Store.DropIdentityUpload(c, up.ID); derr != nil {
			s.Log.Error("identity: uploaded images not dropped", "caseRef", ref, "error", derr)
		}
		return err
	}
	checks, err := s.Store.IdentityChecks(c, ref)
	if err != nil || len(checks) == 0 {
		return errors.Join(err, errors.New("identity check not recorded"))
	}
	c.JSON(http.StatusAccepted, checks[0])
	return nil
}

// imageMagic is how each accepted image type begins.
var imageMagic = map[string][]byte{
	"image/png":  []byte("\x89PNG\r\n\x1a\n"),
	"image/jpeg": {0xFF, 0xD8, 0xFF},
}

// imageField checks one image: a PNG or JPEG data URL whose bytes are what it says, of a sane size.
func imageField(errs *fields, name string, v *string, required bool) string {
	if v == nil || *v == "" {
		if required {
			errs.add(name, "is required")
		}
		return ""
	}
	media, payload, ok := strings.Cut(strings.TrimPrefix(*v, "data:"), ";base64,")
	magic, known := imageMagic[media]
	if !strings.HasPrefix(*v, "data:") || !ok || !known {
		errs.add(name, "must be a PNG or JPEG data URL (data:image/png;base64,... or data:image/jpeg;base64,...)")
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	switch {
	case err != nil:
		errs.add(name, "is not valid base64")
	case len(raw) > maxImageBytes:
		errs.add(name, "is larger than %d MiB", maxImageBytes>>20)
	case len(raw) < minImageBytes || !bytes.HasPrefix(raw, magic):
		errs.add(name, "is not a %s image", strings.TrimPrefix(media, "image/"))
	default:
		return *v
	}
	return ""
}

// identityCallback takes the provider's word that a case's identity check changed. The Authorization
// header must be the case's callback secret (compared by digest, in constant time); a repeat is
// acknowledged and dropped; the check is woken to read the process itself. It answers at once.
func (s *Server) identityCallback(c *gin.Context) error {
	ref := c.Param("caseRef")
	refuse := problem(http.StatusForbidden, "bad-authorization", "the Authorization header is not this case's callback secret")
	if !domain.IsCaseRef(ref) {
		return refuse
	}
	want, err := s.Store.IdentityCallbackSecret(c, ref)
	if errors.Is(err, store.ErrNotFound) {
		return refuse
	} else if err != nil {
		return err
	}
	got := sha256.Sum256([]byte(c.GetHeader("Authorization")))
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		s.Log.Warn("identity: callback with a wrong Authorization header refused", "caseRef", ref, "ip", c.ClientIP())
		return refuse
	}
	n, err := s.readIdentityCallback(c)
	if err != nil {
		return err
	}
	var errs fields
	if strings.TrimSpace(n.ProcessID) == "" || len(n.ProcessID) > 200 {
		errs.add("processId", "is required")
	}
	if strings.TrimSpace(n.Status) == "" || len(n.Status) > 40 {
		errs.add("status", "is required")
	}
	if err := errs.err(); err != nil {
		return err
	}
	pending, err := s.Store.RecordIdentityCallback(c, ref, n.ProcessID, n.Status)
	if err != nil {
		return err
	}
	if pending {
		ctx, cancel := s.temporalCtx(c)
		defer cancel()
		err := workflows.SignalIdentityCheck(ctx, s.Temporal, ref, workflows.IdentityCallback{ProcessID: n.ProcessID,
			Status: n.Status})
		var notRunning *serviceerror.NotFound
		if err != nil && !errors.As(err, &notRunning) {
			// Not passed on: the provider is told to try again (it does, with backoff), and the callback stays
			// pending so its retry passes it on; otherwise the check would wait for its next poll.
			s.Log.Warn("identity: callback not passed to the check; the provider is asked to retry", "caseRef", ref,
				"error", err)
			c.Header("Retry-After", "5")
			return problem(http.StatusServiceUnavailable, "unavailable",
				"the callback could not be passed on to the identity check; try again")
		}
		// Passed on, or the check no longer runs (it has finished): nothing is left to wake.
		if err := s.Store.IdentityCallbackPassed(c, ref, n.ProcessID, n.Status); err != nil {
			return err
		}
	}
	c.JSON(http.StatusOK, IdentityCallbackAck{Received: true})
	return nil
}

// readIdentityCallback reads an authorised callback's body with the provider's parser, and cleans it as
// every request body is. A provider that does not call back has nothing to say here.
func (s *Server) readIdentityCallback(c *gin.Context) (identity.Callback, error) {
	parser, ok := s.Identity.Provider.(identity.CallbackParser)
	if !ok {
		return identity.Callback{}, notFound("identity callback")
	}
	body, err := readBody(c)
	if err != nil {
		return identity.Callback{}, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return identity.Callback{}, invalid(FieldError{Field: "body", Message: "a JSON object is required"})
	}
	n, err := parser.ParseCallback(body)
	if err != nil {
		return identity.Callback{}, jsonProblem(err)
	}
	return n, cleanRequest(&n).err()
}

var identityReturnPage = template.Must(template.New("done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>SignetAssure: identity check</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5}</style>
</head><body><h1>Thank you</h1>
<p>Your identity document has been sent for verification. Your vetting team will be in touch if they need
anything more. You can close this page.</p></body></html>`))

// identityReturn is the page the subject lands on after the capture flow. Its query (dossier, process,
// status) is not trusted: the identity check reads the result from the provider.
func (s *Server) identityReturn(c *gin.Context) error {
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	c.Header("Content-Type", "text/html; charset=utf-8")
	return identityReturnPage.Execute(c.Writer, nil)
}
