package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// Broadcast limits.
const (
	maxKeywords     = 10
	maxGroupMembers = 5000
	minReplyWindow  = time.Minute
	maxReplyWindow  = 30 * 24 * time.Hour
	// defaultBroadcastRate and defaultReplyWindow apply when the deployment sets none.
	defaultBroadcastRate = 10
	defaultReplyWindow   = 24 * time.Hour
)

// defaultKeywords are what a broadcast's replies are tallied by unless it names its own.
var defaultKeywords = []string{"SAFE", "HELP"}

// broadcastKeyword is the shape of a reply keyword: one word of letters and digits.
var broadcastKeyword = regexp.MustCompile(`^[A-Z0-9]{1,20}$`)

// GroupInput makes a contact group: everyone active at a site (locationId), of a supplier (supplierId),
// holding an active clearance at a level (level), or the persons picked (memberIds). Each kind takes
// exactly its own field.
type GroupInput struct {
	Name       *string       `json:"name" required:"true" maxLength:"200"`
	Kind       *string       `json:"kind" required:"true" enum:"site,supplier,level,manual"`
	LocationID *string       `json:"locationId,omitempty" format:"uuid" description:"kind site"`
	SupplierID *string       `json:"supplierId,omitempty" format:"uuid" description:"kind supplier"`
	Level      *domain.Level `json:"level,omitempty" description:"kind level"`
	MemberIDs  []string      `json:"memberIds,omitempty" maxItems:"5000" description:"kind manual: the persons' ids"`
}

// CreateBroadcastInput sends an emergency SMS to a group and collects its replies.
type CreateBroadcastInput struct {
	idempotent
	GroupID     *string  `json:"groupId" required:"true" format:"uuid"`
	Text        *string  `json:"text" required:"true" minLength:"1" maxLength:"612" text:"free" description:"at most four concatenated GSM-7 SMS segments (4 × 153 characters)"`
	Keywords    []string `json:"keywords,omitempty" minItems:"1" maxItems:"10" description:"the reply keywords replies are tallied by (default SAFE, HELP); one word each, letters and digits, no opt-out or opt-in word"`
	ReplyWindow *string  `json:"replyWindow,omitempty" description:"how long replies are collected, e.g. 24h or 2d (default: the deployment's)"`
	Rate        *float64 `json:"rate,omitempty" description:"messages a second; at most the deployment's provider rate (the default)"`
}

type groupMembersQuery struct {
	ID string `path:"id" format:"uuid"`
	pageQuery
}

type recipientsQuery struct {
	ID      string `path:"id" format:"uuid"`
	Replied bool   `query:"replied" description:"true: those who replied; false: those messaged who have not (for follow-up)"`
	Keyword string `query:"keyword" description:"those whose latest reply was this keyword (or OTHER)"`
	pageQuery
}

func (s *Server) broadcastRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/groups", summary: "Contact groups, by name, with their member counts",
			roles: allStaff, resp: new([]domain.ContactGroup), handle: s.listGroups},
		{method: http.MethodPost, path: "/api/v1/groups", summary: "Make a contact group: a site, a supplier, a clearance level or persons picked",
			roles: messageSenders, req: new(GroupInput), resp: new(domain.ContactGroup), status: http.StatusCreated, handle: s.createGroup},
		{method: http.MethodGet, path: "/api/v1/groups/:id", summary: "A contact group",
			roles: allStaff, req: new(idPath), resp: new(domain.ContactGroup), handle: s.getGroup},
		{method: http.MethodGet, path: "/api/v1/groups/:id/members", summary: "A contact group's members now, by name",
			roles: allStaff, req: new(groupMembersQuery), resp: new(List[PersonView]), handle: s.groupMembers},
		{method: http.MethodPost, path: "/api/v1/broadcasts", summary: "Send an emergency SMS to a group and collect its replies (once per Idempotency-Key)",
			roles: messageSenders, req: new(CreateBroadcastInput), resp: new(domain.Broadcast), status: http.StatusAccepted,
			handle: s.createBroadcast},
		{method: http.MethodGet, path: "/api/v1/broadcasts", summary: "Broadcasts, newest first, with their groups' and senders' names",
			roles: allStaff, req: new(pageQuery), resp: new(List[BroadcastView]), handle: s.listBroadcasts},
		{method: http.MethodGet, path: "/api/v1/broadcasts/:id", summary: "A broadcast with its progress: sent, delivered, failed, replied, replies by keyword, cost",
			roles: allStaff, req: new(idPath), resp: new(BroadcastView), handle: s.getBroadcast},
		{method: http.MethodGet, path: "/api/v1/broadcasts/:id/recipients", summary: "A broadcast's recipients and their replies; ?replied=false for those yet to reply",
			roles: allStaff, req: new(recipientsQuery), resp: new(List[domain.BroadcastRecipient]), handle: s.broadcastRecipients},
		{method: http.MethodPost, path: "/api/v1/broadcasts/:id/close", summary: "Stop collecting a broadcast's replies (once its messages have gone)",
			roles: messageSenders, req: new(idPath), resp: new(domain.Broadcast),
			alt: map[int]any{http.StatusAccepted: new(domain.Broadcast)}, handle: s.closeBroadcast},
	}
}

// ---- contact groups ----

func (s *Server) listGroups(c *gin.Context) error {
	gs, err := s.Store.Groups(c)
	return respond(c, nonNil(gs), err)
}

func (s *Server) getGroup(c *gin.Context) error {
	id, err := pathID(c, "contact group")
	if err != nil {
		return err
	}
	g, err := s.Store.Group(c, id)
	return respond(c, g, notFoundAs(err, "contact group"))
}

func (s *Server) createGroup(c *gin.Context) error {
	var in GroupInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	g := domain.ContactGroup{Name: requiredName(&errs, "name", in.Name)}
	kinds := []string{domain.GroupSite, domain.GroupSupplier, domain.GroupLevel, domain.GroupManual}
	g.Kind = enumField(&errs, "kind", in.Kind, func(k string) bool { return slices.Contains(kinds, k) }, kinds)
	// Each kind takes its own field, and no other.
	given := map[string]bool{"locationId": in.LocationID != nil, "supplierId": in.SupplierID != nil,
		"level": in.Level != nil, "memberIds": in.MemberIDs != nil}
	own := map[string]string{domain.GroupSite: "locationId", domain.GroupSupplier: "supplierId",
		domain.GroupLevel: "level", domain.GroupManual: "memberIds"}[g.Kind]
	if own != "" {
		if !given[own] {
			errs.add(own, "is required for a %s group", g.Kind)
		}
		for _, f := range []string{"locationId", "supplierId", "level", "memberIds"} {
			if f != own && given[f] {
				errs.add(f, "is not for a %s group", g.Kind)
			}
		}
	}
	var members []uuid.UUID
	switch own {
	case "locationId":
		if g.LocationID = fieldID(&errs, "locationId", in.LocationID); g.LocationID == nil && given[own] && *in.LocationID == "" {
			errs.add("locationId", "is required for a site group")
		}
	case "supplierId":
		if g.SupplierID = fieldID(&errs, "supplierId", in.SupplierID); g.SupplierID == nil && given[own] && *in.SupplierID == "" {
			errs.add("supplierId", "is required for a supplier group")
		}
	case "level":
		if given[own] {
			l := enumField(&errs, "level", in.Level, domain.Level.Valid, domain.Levels)
			g.Level = &l
		}
	case "memberIds":
		if given[own] && (len(in.MemberIDs) == 0 || len(in.MemberIDs) > maxGroupMembers) {
			errs.add("memberIds", "must name 1 to %d persons", maxGroupMembers)
			break
		}
		seen := map[uuid.UUID]bool{}
		for i, v := range in.MemberIDs {
			id, err := uuid.Parse(v)
			if err != nil {
				errs.add(fmt.Sprintf("memberIds[%d]", i), "must be an id")
				continue
			}
			if !seen[id] {
				members = append(members, id)
			}
			seen[id] = true
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	// Ids must name what exists.
	switch {
	case g.LocationID != nil:
		if _, err := s.Store.Location(c, *g.LocationID); errors.Is(err, store.ErrNotFound) {
			errs.add("locationId", "no site has this id")
		} else if err != nil {
			return err
		}
	case g.SupplierID != nil:
		if _, err := s.Store.Supplier(c, *g.SupplierID); errors.Is(err, store.ErrNotFound) {
			errs.add("supplierId", "no supplier has this id")
		} else if err != nil {
			return err
		}
	case len(members) > 0:
		missing, err := s.Store.MissingPersons(c, members)
		if err != nil {
			return err
		}
		for _, id := range missing {
			errs.add(fmt.Sprintf("memberIds[%d]", indexOf(in.MemberIDs, id)), "no person has this id")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	out, err := s.Store.CreateGroup(c, actor(c), g, members)
	var ce *store.ConstraintError
	if errors.As(err, &ce) && ce.Unique {
		p := conflict("name: another contact group has this name")
		p.Errors = []FieldError{{Field: "name", Message: "another contact group has this name"}}
		return p
	}
	if err != nil {
		return err
	}
	return created(c, "/api/v1/groups/"+out.ID.String(), out, nil)
}

// indexOf is where id stands in the request's list of ids.
func indexOf(ids []string, id uuid.UUID) int {
	for i, v := range ids {
		if p, err := uuid.Parse(v); err == nil && p == id {
			return i
		}
	}
	return -1
}

func (s *Server) groupMembers(c *gin.Context) error {
	id, err := pathID(c, "contact group")
	if err != nil {
		return err
	}
	q := query{c: c}
	p := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	if _, err := s.Store.Group(c, id); err != nil {
		return notFoundAs(err, "contact group")
	}
	items, total, err := s.Store.GroupMembers(c, id, p)
	if err != nil {
		return err
	}
	views := make([]PersonView, len(items))
	for i, m := range items {
		views[i] = PersonView{Person: m}
	}
	c.JSON(http.StatusOK, list(views, total, p))
	return nil
}

// ---- broadcasts ----

func (s *Server) broadcastRate() float64 {
	if s.Messaging.BroadcastRate > 0 {
		return s.Messaging.BroadcastRate
	}
	return defaultBroadcastRate
}

func (s *Server) replyWindow() time.Duration {
	if s.Messaging.BroadcastReplyWindow > 0 {
		return s.Messaging.BroadcastReplyWindow
	}
	return defaultReplyWindow
}

// replyKeywords checks a broadcast's keywords: one word each, letters and digits, upper-cased, distinct,
// and none that opts out or in (a reply of it would change consent, not be tallied).
func replyKeywords(errs *fields, given []string) []string {
	if given == nil {
		return defaultKeywords
	}
	if len(given) < 1 || len(given) > maxKeywords {
		errs.add("keywords", "must hold 1 to %d words", maxKeywords)
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i, k := range given {
		name := fmt.Sprintf("keywords[%d]", i)
		w := strings.ToUpper(strings.TrimSpace(k))
		switch {
		case !broadcastKeyword.MatchString(w):
			errs.add(name, "must be one word of 1 to 20 letters and digits")
		case messaging.OptKeyword(w) == messaging.OptOut:
			errs.add(name, "%s opts the sender out: a reply of it would not be tallied", w)
		case messaging.OptKeyword(w) == messaging.OptIn:
			errs.add(name, "%s opts the sender in: a reply of it would not be tallied", w)
		case w == messaging.OtherReply:
			errs.add(name, "%s tallies the replies that match no keyword", w)
		case seen[w]:
			errs.add(name, "repeats %s", w)
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// newBroadcastID is a new broadcast's id: random, or the same for a request repeated with the same
// Idempotency-Key.
func newBroadcastID(user uuid.UUID, key string) uuid.UUID {
	if key == "" {
		return uuid.New()
	}
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("signetassure:broadcast:"+keyedID(user, "broadcast", key)))
}

func (s *Server) createBroadcast(c *gin.Context) error {
	var in CreateBroadcastInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	key := idempotencyKey(c, &errs)
	groupID := requiredID(&errs, "groupId", in.GroupID)
	text := requiredText(&errs, "text", in.Text) // at most four SMS segments: its maxLength
	keywords := replyKeywords(&errs, in.Keywords)
	window := s.replyWindow()
	if in.ReplyWindow != nil {
		d, err := domain.ParseDays(*in.ReplyWindow)
		switch {
		case err != nil:
			errs.add("replyWindow", "must be a duration such as 24h, 90m or 2d")
		case d < minReplyWindow || d > maxReplyWindow:
			errs.add("replyWindow", "must be from 1m to 30d")
		default:
			window = d
		}
	}
	rate := s.broadcastRate()
	if in.Rate != nil {
		if *in.Rate <= 0 || *in.Rate > rate {
			errs.add("rate", "must be more than 0 and at most %g messages a second", rate)
		} else {
			rate = *in.Rate
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	g, err := s.Store.Group(c, *groupID)
	if errors.Is(err, store.ErrNotFound) {
		return invalid(FieldError{Field: "groupId", Message: "no contact group has this id"})
	} else if err != nil {
		return err
	}
	// The broadcast's workflow writes its row as its first step: with Temporal unreachable nothing is
	// written, and a broadcast never exists without the workflow that sends it.
	user := actorID(c)
	now := time.Now().UTC()
	start := workflows.BroadcastInput{BroadcastID: newBroadcastID(user, key), Text: text, Rate: rate,
		Shards: workflows.BroadcastShards, ReplyUntil: now.Add(window), GroupID: g.ID, Keywords: keywords,
		CreatedBy: &user, CreatedAt: now}
	b, err := s.Store.Broadcast(c, start.BroadcastID)
	switch {
	case err == nil:
		// A repeated request: the broadcast is made; make sure its workflow runs, as it was asked for.
		if b.GroupID != g.ID || b.Body != text {
			return conflict("this Idempotency-Key was used for another request")
		}
		start.Text, start.Rate, start.ReplyUntil, start.Keywords, start.CreatedAt = b.Body, b.Rate, b.ReplyUntil, b.Keywords, b.CreatedAt
	case errors.Is(err, store.ErrNotFound):
		if g.Members == 0 {
			return conflict("the group has no members")
		}
	default:
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	_, err = workflows.CreateBroadcast(ctx, s.Temporal, s.TaskQueue, start)
	var rej *workflows.Rejection
	var pending *workflows.Pending
	switch {
	case errors.As(err, &pending):
		// No worker took it up in time: the broadcast is written and sent once one runs.
		c.Header("Location", "/api/v1/broadcasts/"+start.BroadcastID.String())
		c.JSON(http.StatusAccepted, domain.Broadcast{ID: start.BroadcastID, GroupID: start.GroupID, Body: start.Text,
			Keywords: start.Keywords, Rate: start.Rate, Status: domain.BroadcastPreparing, ReplyUntil: start.ReplyUntil,
			CreatedBy: start.CreatedBy, CreatedAt: start.CreatedAt})
		return nil
	case err != nil && !(errors.As(err, &rej) && rej.Conflict): // Conflict: it ran and finished before
		return err
	}
	if b, err = s.Store.Broadcast(c, start.BroadcastID); err != nil {
		return err
	}
	if b.GroupID != g.ID || b.Body != text {
		// The key's broadcast was started by another request (its workflow runs with what that asked for).
		return conflict("this Idempotency-Key was used for another request")
	}
	c.Header("Location", "/api/v1/broadcasts/"+b.ID.String())
	c.JSON(http.StatusAccepted, b)
	return nil
}

// BroadcastView is a broadcast with the names of its group and of the staff user who sent it.
type BroadcastView struct {
	domain.Broadcast
	GroupName     string `json:"groupName" description:"the contact group's name (empty if it is gone)"`
	CreatedByName string `json:"createdByName,omitempty" description:"the name of the staff user who sent it"`
}

// broadcastViews are broadcasts with their groups' and senders' names, each looked up once.
func (s *Server) broadcastViews(c *gin.Context, bs []domain.Broadcast) ([]BroadcastView, error) {
	groups, users := map[uuid.UUID]string{}, map[uuid.UUID]string{}
	out := make([]BroadcastView, len(bs))
	for i, b := range bs {
		out[i].Broadcast = b
		name, ok := groups[b.GroupID]
		if !ok {
			g, err := s.Store.Group(c, b.GroupID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			name, groups[b.GroupID] = g.Name, g.Name
		}
		out[i].GroupName = name
		if b.CreatedBy == nil {
			continue
		}
		name, ok = users[*b.CreatedBy]
		if !ok {
			u, err := s.Store.User(c, *b.CreatedBy)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			name, users[*b.CreatedBy] = u.DisplayName, u.DisplayName
		}
		out[i].CreatedByName = name
	}
	return out, nil
}

func (s *Server) listBroadcasts(c *gin.Context) error {
	q := query{c: c}
	p := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.Broadcasts(c, p)
	if err != nil {
		return err
	}
	views, err := s.broadcastViews(c, items)
	return respond(c, list(views, total, p), err)
}

func (s *Server) getBroadcast(c *gin.Context) error {
	id, err := pathID(c, "broadcast")
	if err != nil {
		return err
	}
	b, err := s.Store.Broadcast(c, id)
	if err != nil {
		return notFoundAs(err, "broadcast")
	}
	views, err := s.broadcastViews(c, []domain.Broadcast{b})
	if err != nil {
		return err
	}
	return respond(c, views[0], nil)
}

func (s *Server) broadcastRecipients(c *gin.Context) error {
	id, err := pathID(c, "broadcast")
	if err != nil {
		return err
	}
	q := query{c: c}
	f := store.RecipientFilter{Replied: q.bool("replied"), Page: q.page()}
	if v, ok := c.GetQuery("keyword"); ok {
		if f.Keyword = strings.ToUpper(strings.TrimSpace(v)); !broadcastKeyword.MatchString(f.Keyword) {
			q.errs.add("keyword", "must be one word of letters and digits")
		}
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	if _, err := s.Store.Broadcast(c, id); err != nil {
		return notFoundAs(err, "broadcast")
	}
	items, total, err := s.Store.BroadcastRecipients(c, id, f)
	return respond(c, list(items, total, f.Page), err)
}

func (s *Server) closeBroadcast(c *gin.Context) error {
	id, err := pathID(c, "broadcast")
	if err != nil {
		return err
	}
	b, err := s.Store.Broadcast(c, id)
	if err != nil {
		return notFoundAs(err, "broadcast")
	}
	if b.Status == domain.BroadcastClosed {
		return conflict("the broadcast is closed")
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	st, err := workflows.CloseBroadcast(ctx, s.Temporal, id)
	if err != nil {
		if ctx.Err() != nil {
			return problem(http.StatusServiceUnavailable, "unavailable", "no worker took the request up in time; ask again")
		}
		return err
	}
	if b, err = s.Store.Broadcast(c, id); err != nil {
		return err
	}
	if st.Phase != domain.BroadcastClosed {
		// Still sending: it closes once its messages have gone.
		c.JSON(http.StatusAccepted, b)
		return nil
	}
	c.JSON(http.StatusOK, b)
	return nil
}
