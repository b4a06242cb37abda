package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit"
)

type inclusionRequest struct {
	ID   string `path:"id" description:"the audit entry's id"`
	Size *int64 `query:"size" description:"the tree size to prove inclusion in (default: the newest signed checkpoint's)"`
}

type consistencyRequest struct {
	From int64 `query:"from" description:"the older checkpoint's tree size (default 0)"`
	To   int64 `query:"to" required:"true" description:"the newer checkpoint's tree size"`
}

// auditTreeRoutes: auditors read the audit log's Merkle tree: its newest signed checkpoint, and proofs
// they check against checkpoints with the deployment's public key alone. Partner sites read the same
// shapes, scoped to them, at /api/external/audit/... (external_audit.go).
func (s *Server) auditTreeRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/audit/checkpoint", summary: "The audit log's newest signed checkpoint (C2SP tlog-checkpoint)",
			roles: auditReaders, resp: new(audit.TreeCheckpoint), handle: s.treeCheckpoint},
		{method: http.MethodGet, path: "/api/v1/audit/entries/:id/inclusion", summary: "The proof that an audit entry is in the audit log's tree of a size",
			roles: auditReaders, req: new(inclusionRequest), resp: new(audit.Inclusion), handle: s.inclusionProof},
		{method: http.MethodGet, path: "/api/v1/audit/consistency", summary: "The proof that the audit log's tree of one size extends the tree of a smaller size",
			roles: auditReaders, req: new(consistencyRequest), resp: new(audit.Consistency), handle: s.consistencyProof},
	}
}

// latestCheckpoint is the audit tree's newest signed checkpoint, or a 404 when none is signed yet.
func (s *Server) latestCheckpoint(c *gin.Context) (audit.TreeCheckpoint, error) {
	cp, err := audit.LatestTreeCheckpoint(c, s.Store.AuditTree())
	if errors.Is(err, pgx.ErrNoRows) {
		return cp, notFound("signed checkpoint")
	}
	return cp, err
}

func (s *Server) treeCheckpoint(c *gin.Context) error {
	cp, err := s.latestCheckpoint(c)
	return respond(c, cp, err)
}

// entryID reads the :id of an audit entry (0: not an entry's id).
func entryID(c *gin.Context) int64 {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

func (s *Server) inclusionProof(c *gin.Context) error {
	id := entryID(c)
	if id == 0 {
		return notFound("audit entry")
	}
	q := query{c: c}
	size := q.int64("size")
	if err := q.errs.err(); err != nil {
		return err
	}
	if _, given := c.GetQuery("size"); !given {
		cp, err := s.latestCheckpoint(c)
		if err != nil {
			return err
		}
		size = int64(cp.Size)
	}
	p, err := audit.InclusionProof(c, s.Store.AuditTree(), id, uint64(size))
	if errors.Is(err, audit.ErrNotInTree) {
		return notFound("audit entry in the tree of that size")
	}
	return respond(c, p, err)
}

func (s *Server) consistencyProof(c *gin.Context) error {
	q := query{c: c}
	from, to := q.int64("from"), q.int64("to")
	if _, ok := c.GetQuery("to"); !ok {
		q.errs.add("to", "is required")
	}
	if from > to {
		q.errs.add("from", "must not be larger than to")
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	hashes, err := audit.ConsistencyProof(c, s.Store.AuditTree(), uint64(from), uint64(to))
	if errors.Is(err, audit.ErrNotInTree) {
		return notFound("tree of that size")
	}
	return respond(c, audit.Consistency{From: from, To: to, Hashes: nonNil(hashes)}, err)
}
