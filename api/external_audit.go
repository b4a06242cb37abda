package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// Partner sites witness our audit log: they read its newest signed tree checkpoint with the proof that it
// extends the one they hold, the inclusion proof of an entry that concerns them (store.EntryConcernsSite),
// and the newest checkpoint of their own log we witnessed. Each call is audited like every external call.

// AuditLimit is how many calls a minute one key may make to each /api/external/audit endpoint.
const AuditLimit = 60

type partnerCheckpointRequest struct {
	From *int64 `query:"from" description:"the tree size of the checkpoint the caller holds: the answer then carries the proof that the newest extends it (at most the newest's size)"`
}

type partnerInclusionRequest struct {
	ID   string `path:"id" description:"the audit entry's id: one that concerns the calling site"`
	Size *int64 `query:"size" description:"the tree size to prove inclusion in, from 1 to the newest signed checkpoint's (default: the newest's)"`
}

func (s *Server) externalAuditRoutes() []op {
	return []op{
		{method: http.MethodGet, path: partners.PathAuditCheckpoint,
			summary:  "Our audit log's newest signed checkpoint (C2SP tlog-checkpoint), with the proof it extends the tree of size from",
			external: s.partnerAuth(partners.PathAuditCheckpoint, domain.ScopeAuditWitness, AuditLimit),
			req:      new(partnerCheckpointRequest), resp: new(partners.AuditCheckpoint), handle: s.externalAuditCheckpoint},
		{method: http.MethodGet, path: partners.PathAuditInclusion,
			summary:  "The proof that an audit entry concerning the calling site is in our audit log's tree of a size",
			external: s.partnerAuth(partners.PathAuditInclusion, domain.ScopeAuditWitness, AuditLimit),
			req:      new(partnerInclusionRequest), resp: new(audit.Inclusion), handle: s.externalAuditInclusion},
		{method: http.MethodGet, path: partners.PathAuditWitnessed,
			summary:  "The newest checkpoint of the calling site's own audit log we witnessed",
			external: s.partnerAuth(partners.PathAuditWitnessed, domain.ScopeAuditWitness, AuditLimit),
			resp:     new(partners.WitnessedCheckpoint), handle: s.externalAuditWitnessed},
	}
}

// unprocessableField is a 422 naming a field whose value is well formed but out of range.
func unprocessableField(field, message string) *Problem {
	p := problem(http.StatusUnprocessableEntity, "out-of-bounds", field+": "+message)
	p.Errors = []FieldError{{Field: field, Message: message}}
	return p
}

// treeSize reads a tree size from the query: ok false when absent; a value that is not a whole number is
// a 400 naming it.
func treeSize(c *gin.Context, name string) (size uint64, ok bool, err error) {
	v, ok := c.GetQuery(name)
	if !ok {
		return 0, false, nil
	}
	n, perr := strconv.ParseUint(v, 10, 63)
	if perr != nil {
		return 0, true, invalid(FieldError{Field: name, Message: "must be a whole number of at least 0"})
	}
	return n, true, nil
}

// note adds to an external call's audit entry, whatever its answer.
func (call *externalCall) note(key string, v any) {
	if call.detail == nil {
		call.detail = map[string]any{}
	}
	call.detail[key] = v
}

// answerExternal answers an external call that succeeded, once its audit entry is written.
func (s *Server) answerExternal(c *gin.Context, call *externalCall, subject string, answer any) error {
	call.recorded = true
	if err := s.Store.Audit(c, call.audit(http.StatusOK, "ok", subject)); err != nil {
		return err
	}
	c.JSON(http.StatusOK, answer)
	return nil
}

func (s *Server) externalAuditCheckpoint(c *gin.Context) error {
	call := externalCallOf(c)
	from, hasFrom, err := treeSize(c, "from")
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	if hasFrom {
		call.note("from", from)
	}
	cp, err := s.latestCheckpoint(c)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	answer := partners.AuditCheckpoint{TreeCheckpoint: cp}
	call.note("size", cp.Size)
	if hasFrom {
		if from > cp.Size {
			return s.externalFailure(c, call, unprocessableField("from",
				fmt.Sprintf("is larger than our newest signed checkpoint's size, %d", cp.Size)))
		}
		hashes, err := audit.ConsistencyProof(c, s.Store.AuditTree(), from, cp.Size)
		if err != nil {
			return s.externalFailure(c, call, err)
		}
		answer.Consistency = &audit.Consistency{From: int64(from), To: int64(cp.Size), Hashes: nonNil(hashes)}
	}
	return s.answerExternal(c, call, "", answer)
}

func (s *Server) externalAuditInclusion(c *gin.Context) error {
	call := externalCallOf(c)
	notConcerning := notFound("audit entry concerning you")
	id := entryID(c)
	if id == 0 {
		return s.externalFailure(c, call, notConcerning)
	}
	call.note("entryId", id)
	size, hasSize, err := treeSize(c, "size")
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	concerns, err := s.Store.EntryConcernsSite(c, id, call.holder.Site.ID)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	if !concerns {
		return s.externalFailure(c, call, notConcerning)
	}
	cp, err := s.latestCheckpoint(c)
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	if hasSize {
		call.note("size", size)
	}
	if !hasSize {
		size = cp.Size
	} else if size < 1 || size > cp.Size {
		return s.externalFailure(c, call, unprocessableField("size",
			fmt.Sprintf("must be from 1 to our newest signed checkpoint's size, %d", cp.Size)))
	}
	p, err := audit.InclusionProof(c, s.Store.AuditTree(), id, size)
	switch {
	case errors.Is(err, audit.ErrNotInTree) && hasSize:
		err = unprocessableField("size", "the entry is not in the tree of that size: it came later")
	case errors.Is(err, audit.ErrNotInTree):
		err = notFound("audit entry in a signed checkpoint (not yet: try again shortly)")
	}
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	call.note("size", size)
	return s.answerExternal(c, call, strconv.FormatInt(id, 10), p)
}

func (s *Server) externalAuditWitnessed(c *gin.Context) error {
	call := externalCallOf(c)
	site := call.holder.Site
	if site.AuditOrigin == "" {
		return s.externalFailure(c, call, problem(http.StatusNotFound, "not-witnessed",
			"we do not witness your audit log: no audit log (origin and verifier key) is configured for your site here"))
	}
	held, err := s.Store.NewestPartnerCheckpoint(c, site.ID, site.AuditOrigin)
	if errors.Is(err, store.ErrNotFound) {
		detail := fmt.Sprintf("we hold no checkpoint of your audit log %q yet", site.AuditOrigin)
		if !site.AuditWitness {
			detail += ": witnessing your log is switched off here"
		}
		return s.externalFailure(c, call, problem(http.StatusNotFound, "not-witnessed", detail))
	}
	if err != nil {
		return s.externalFailure(c, call, err)
	}
	call.note("size", held.Size)
	return s.answerExternal(c, call, "", held)
}
