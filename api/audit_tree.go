package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-contrib/sse"
	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/store"
)

type inclusionRequest struct {
	ID   string `path:"id" description:"the audit entry's id"`
	Size *int64 `query:"size" description:"the tree size to prove inclusion in (default: the newest signed checkpoint's)"`
}

type checkpointStreamRequest struct {
	After *int64 `query:"after" description:"the tree size the client holds a checkpoint of already (default: none; Last-Event-ID takes its place on a reconnect)"`
}

// CheckpointEvent is an event of the checkpoint stream: a newer signed checkpoint of the audit log, and
// the proof that its tree extends the tree of the checkpoint sent before (or of after).
type CheckpointEvent struct {
	audit.TreeCheckpoint
	Consistency audit.Consistency `json:"consistency"`
}

type auditEntriesQuery struct {
	pageQuery
	Action     string `query:"action" description:"the action starts with this (person. or person.create)"`
	EntityType string `query:"entityType" description:"the entity's type, exactly"`
	EntityID   string `query:"entityId" description:"the entity's id, exactly"`
	Actor      string `query:"actor" format:"uuid" description:"the staff user who acted"`
	From       string `query:"from" format:"date" description:"entries on or after this day (UTC)"`
	To         string `query:"to" format:"date" description:"entries on or before this day (UTC)"`
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
		{method: http.MethodGet, path: "/api/v1/audit/entries", summary: "Browse the audit log, newest first, each entry with who acted and its leaf in the tree",
			roles: auditReaders, req: new(auditEntriesQuery), resp: new(List[store.AuditListItem]), handle: s.auditEntries},
		{method: http.MethodGet, path: "/api/v1/audit/status", summary: "The audit log at a glance: tree size, newest signed checkpoint, entries waiting for the sequencer (no verification)",
			roles: auditReaders, resp: new(store.AuditStatus), handle: s.auditStatus},
		{method: http.MethodGet, path: "/api/v1/audit/entries/:id/inclusion", summary: "The proof that an audit entry is in the audit log's tree of a size",
			roles: auditReaders, req: new(inclusionRequest), resp: new(audit.Inclusion), handle: s.inclusionProof},
		{method: http.MethodGet, path: "/api/v1/audit/consistency", summary: "The proof that the audit log's tree of one size extends the tree of a smaller size",
			roles: auditReaders, req: new(consistencyRequest), resp: new(audit.Consistency), handle: s.consistencyProof},
		{method: http.MethodGet, path: "/api/v1/audit/checkpoints/stream", summary: "The audit log's signed checkpoints as they are signed (Server-Sent Events), each with the proof it extends the one before",
			roles: auditReaders, req: new(checkpointStreamRequest), resp: new(CheckpointEvent), handle: s.streamCheckpoints},
	}
}

// streamCheckpoints sends the newest signed checkpoint, then each newer one as it is signed, as
// Server-Sent Events whose id is the tree size, each with the consistency proof from the size sent
// before: a witness (a SIEM, another site) keeps them outside the database and checks each extends the
// last. A client reconnecting with Last-Event-ID gets the proof from the size it holds.
func (s *Server) streamCheckpoints(c *gin.Context) error {
	q := query{c: c}
	after := q.int64("after")
	if last := c.GetHeader("Last-Event-ID"); last != "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			q.errs.add("Last-Event-ID", "must be a tree size the stream sent")
		}
		after = n
	}
	if after < 0 {
		q.errs.add("after", "must not be negative")
	} else if cp, err := audit.LatestTreeCheckpoint(c, s.Store.AuditTree()); (err == nil && int64(cp.Size) < after) ||
		(errors.Is(err, pgx.ErrNoRows) && after > 0) {
		// The client holds a larger tree than any this log signed: a fork or a rollback, not a wait.
		q.errs.add("after", "is past the newest signed checkpoint's tree size")
	} else if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	s.streamSSE(c, time.Second, func() ([]sse.Event, bool, error) {
		cp, err := audit.LatestTreeCheckpoint(c, s.Store.AuditTree())
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && int64(cp.Size) <= after) {
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		hashes, err := audit.ConsistencyProof(c, s.Store.AuditTree(), uint64(after), cp.Size)
		if err != nil {
			return nil, false, err
		}
		ev := CheckpointEvent{TreeCheckpoint: cp, Consistency: audit.Consistency{From: after, To: int64(cp.Size), Hashes: nonNil(hashes)}}
		after = int64(cp.Size)
		return []sse.Event{{Id: strconv.FormatUint(cp.Size, 10), Event: "checkpoint", Data: ev}}, false, nil
	})
	return nil
}

func (s *Server) auditEntries(c *gin.Context) error {
	q := query{c: c}
	f := store.AuditFilter{ActionPrefix: q.text("action"), EntityType: q.text("entityType"), EntityID: q.text("entityId"),
		ActorID: q.uuid("actor"), From: q.date("from"), To: q.date("to"), Page: q.page()}
	if f.From != nil && f.To != nil && f.To.Before(*f.From) {
		q.errs.add("to", "must not be before from")
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.AuditEntries(c, f)
	return respond(c, list(items, total, f.Page), err)
}

func (s *Server) auditStatus(c *gin.Context) error {
	st, err := s.Store.AuditLogStatus(c)
	return respond(c, st, err)
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
