package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

var (
	// messageSenders send messages and broadcasts, and make contact groups.
	messageSenders = []domain.Role{domain.RoleVettingOfficer, domain.RoleSecurityController}
	// messagingAdmins change templates and the reminder policy.
	messagingAdmins = []domain.Role{domain.RoleSecurityController}
)

// SendMessageInput sends a template to a person. The channel defaults to the person's preferred one;
// vars fill the template in (FirstName and LastName are the person's unless given).
type SendMessageInput struct {
	idempotent
	PersonID *string           `json:"personId" required:"true" format:"uuid"`
	Channel  *domain.Channel   `json:"channel,omitempty" description:"absent: the person's preferred channel"`
	Template *string           `json:"template" required:"true" pattern:"^[a-z][a-z0-9_]{1,62}$"`
	Vars     map[string]string `json:"vars,omitempty" maxLength:"2000" description:"the template's variables, e.g. {\"DueAt\": \"2026-06-01\"}"`
}

type messageListQuery struct {
	PersonID    string               `query:"personId" format:"uuid"`
	Channel     domain.Channel       `query:"channel"`
	Status      domain.MessageStatus `query:"status"`
	Template    string               `query:"template"`
	CaseRef     string               `query:"caseRef"`
	ClearanceID string               `query:"clearanceId" format:"uuid"`
	BroadcastID string               `query:"broadcastId" format:"uuid"`
	From        string               `query:"from" description:"RFC 3339, or a date (from its start, in the organisation's zone)"`
	To          string               `query:"to" description:"RFC 3339 (before it), or a date (to its end, in the organisation's zone)"`
	pageQuery
}

type inboxQuery struct {
	PersonID    string `query:"personId" format:"uuid"`
	Channel     string `query:"channel" enum:"sms,whatsapp"`
	BroadcastID string `query:"broadcastId" format:"uuid"`
	Keyword     string `query:"keyword" description:"opt_out, opt_in, help, a broadcast's keyword, or OTHER"`
	From        string `query:"from" description:"RFC 3339, or a date (from its start, in the organisation's zone)"`
	To          string `query:"to" description:"RFC 3339 (before it), or a date (to its end, in the organisation's zone)"`
	pageQuery
}

// messagePath names a message by its id, which may hold slashes ("clearance/<id>/nudge/90"): the rest of
// the path is the id, as it is or URL-escaped.
type messagePath struct {
	ID string `path:"id" description:"the message id; slashes in it may stay as they are"`
}

func (s *Server) messagingRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/messages", summary: "The outbox: messages sent or suppressed, newest first",
			roles: allStaff, req: new(messageListQuery), resp: new(List[MessageSummary]), handle: s.listMessages},
		{method: http.MethodGet, path: "/api/v1/messages/*id", summary: "A message with its status history (the id may hold slashes)",
			roles: allStaff, req: new(messagePath), resp: new(MessageSummary), handle: s.getMessage},
		{method: http.MethodPost, path: "/api/v1/messages", summary: "Send a template to a person (once per Idempotency-Key)",
			roles: messageSenders, req: new(SendMessageInput), resp: new(domain.Message), status: http.StatusCreated,
			alt: map[int]any{http.StatusAccepted: new(Pending)}, handle: s.sendMessage},
		{method: http.MethodGet, path: "/api/v1/inbox", summary: "Messages people sent us, newest first",
			roles: allStaff, req: new(inboxQuery), resp: new(List[InboundSummary]), handle: s.inbox},
	}
}

// ---- the outbox and the inbox ----

// orgZone is the zone dates in queries are read in: the organisation's.
func (s *Server) orgZone(c *gin.Context) (*time.Location, error) {
	org, err := s.Store.Organisation(c)
	if err != nil {
		return nil, err
	}
	if z, err := time.LoadLocation(org.TimeZone); err == nil {
		return z, nil
	}
	return time.UTC, nil
}

// timeRange reads the from and to parameters: RFC 3339, or dates in the organisation's zone (from the
// start of from's day to the end of to's).
func (s *Server) timeRange(c *gin.Context, q *query) (from, to *time.Time, err error) {
	_, hasFrom := c.GetQuery("from")
	_, hasTo := c.GetQuery("to")
	if !hasFrom && !hasTo {
		return nil, nil, nil
	}
	zone, err := s.orgZone(c)
	if err != nil {
		return nil, nil, err
	}
	from, to = q.instant("from", zone, false), q.instant("to", zone, true)
	if from != nil && to != nil && !to.After(*from) {
		q.errs.add("to", "must be after from")
	}
	return from, to, nil
}

// instant reads a time parameter: RFC 3339, or a date in zone (its start; as an end, the next day's).
func (q *query) instant(name string, zone *time.Location, end bool) *time.Time {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	// An offset's + arrives as a space when the client did not escape it.
	t, err := time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, v, zone)
		if err == nil && end {
			t = t.AddDate(0, 0, 1)
		}
	}
	switch {
	case err != nil:
		q.errs.add(name, "must be RFC 3339 (2026-05-01T09:00:00Z) or a date (2026-05-01)")
	case !timeInRange(t):
		q.errs.add(name, "must be from %s to %s", domain.MinDate, domain.MaxDate)
	default:
		return &t
	}
	return nil
}

func (s *Server) listMessages(c *gin.Context) error {
	q := query{c: c}
	f := store.MessageFilter{PersonID: q.uuid("personId"), ClearanceID: q.uuid("clearanceId"),
		BroadcastID: q.uuid("broadcastId"), Page: q.page(),
		Channel: single(&q, "channel", domain.Channel.Valid, domain.Channels),
		Status:  single(&q, "status", func(st domain.MessageStatus) bool { return st.Rank() >= 0 }, domain.MessageStatuses)}
	if v, ok := c.GetQuery("template"); ok {
		if !templateName.MatchString(v) {
			q.errs.add("template", "is not a template name")
		}
		f.Template = v
	}
	if v, ok := c.GetQuery("caseRef"); ok {
		if !domain.IsCaseRef(v) {
			q.errs.add("caseRef", "is not a case reference (v_...)")
		}
		f.CaseRef = v
	}
	var err error
	if f.From, f.To, err = s.timeRange(c, &q); err != nil {
		return err
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.Messages(c, f)
	if err != nil {
		return err
	}
	out, err := s.messageSummaries(c, items)
	if err != nil {
		return err
	}
	return respond(c, list(out, total, f.Page), nil)
}

// messageID is the id a message route names: the rest of the path, slashes and all.
func messageID(c *gin.Context) string { return strings.TrimPrefix(c.Param("id"), "/") }

func (s *Server) getMessage(c *gin.Context) error {
	id := messageID(c)
	if id == "" {
		return notFound("message")
	}
	m, err := s.Store.Message(c, id)
	if err != nil {
		return notFoundAs(err, "message")
	}
	m.Events = nonNil(m.Events)
	out, err := s.messageSummaries(c, []domain.Message{m})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out[0])
	return nil
}

func (s *Server) inbox(c *gin.Context) error {
	q := query{c: c}
	f := store.InboxFilter{PersonID: q.uuid("personId"), BroadcastID: q.uuid("broadcastId"), Page: q.page(),
		Channel: single(&q, "channel", func(ch domain.Channel) bool { return ch == domain.ChannelSMS || ch == domain.ChannelWhatsApp },
			[]domain.Channel{domain.ChannelSMS, domain.ChannelWhatsApp})}
	if v, ok := c.GetQuery("keyword"); ok {
		switch v = strings.TrimSpace(v); {
		case v == store.KeywordOptOut, v == store.KeywordOptIn, v == store.KeywordHelp:
		case broadcastKeyword.MatchString(strings.ToUpper(v)):
			v = strings.ToUpper(v)
		default:
			q.errs.add("keyword", "must be opt_out, opt_in, help, a broadcast keyword or OTHER")
		}
		f.Keyword = v
	}
	var err error
	if f.From, f.To, err = s.timeRange(c, &q); err != nil {
		return err
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.Inbox(c, f)
	if err != nil {
		return err
	}
	out, err := namedBy(s, c, items, func(m domain.InboundMessage) *uuid.UUID { return m.PersonID },
		func(m domain.InboundMessage, name string) InboundSummary {
			return InboundSummary{InboundMessage: m, PersonName: name}
		})
	if err != nil {
		return err
	}
	return respond(c, list(out, total, f.Page), nil)
}

// newMessageID is the id of a message a user asked for: opaque, and the same for a request repeated with
// the same Idempotency-Key.
func newMessageID(user uuid.UUID, key string) string {
	if key != "" {
		return keyedRef("m_", user, "send-message", key)
	}
	return "m_" + strings.ToLower(rand.Text())
}

// missingVar names the variable a template lacked, from text/template's error.
var missingVar = regexp.MustCompile(`map has no entry for key "([^"]*)"`)

func (s *Server) sendMessage(c *gin.Context) error {
	var in SendMessageInput
	if err := decode(c, &in); err != nil {
		return err
	}
	key, personID, ch, name, err := checkSendMessage(c, in)
	if err != nil {
		return err
	}
	p, err := s.Store.Person(c, personID)
	if errors.Is(err, store.ErrNotFound) {
		return invalid(FieldError{Field: "personId", Message: "no person has this id"})
	} else if err != nil {
		return err
	}
	// Absent, the channel is the person's preferred one: fixed here, so the template is checked on the
	// channel the message will go on.
	if ch == "" {
		ch = p.PreferredChannel.OrDefault()
	}
	if err := s.checkTemplateFills(c, p, ch, name, in); err != nil {
		return err
	}

	sender := actorID(c)
	id := newMessageID(sender, key)
	same := func(m domain.Message) bool {
		return m.PersonID != nil && *m.PersonID == p.ID && m.Template == name && m.Channel == ch
	}
	if key != "" {
		// A repeat of a request carried out already answers with its message.
		if m, err := s.Store.Message(c, id); err == nil && m.Status != domain.MessagePending {
			if !same(m) {
				return conflict("this Idempotency-Key was used for another request")
			}
			return s.answerMessage(c, m, http.StatusCreated)
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	_, err = workflows.SendMessage(ctx, s.Temporal, s.TaskQueue, activities.SendInput{Key: id, PersonID: &p.ID,
		StaffUserID: &sender, Channel: ch, Template: name, Vars: in.Vars})
	var rej *workflows.Rejection
	switch {
	case err == nil:
	case errors.As(err, &rej) && rej.Conflict:
		// The message's workflow completed before: it is in the outbox.
	case ctx.Err() != nil:
		// No worker took it up in time, or the provider is slow: the workflow goes on.
		if m, err := s.Store.Message(c, id); err == nil {
			return s.answerMessage(c, m, http.StatusAccepted)
		}
		return accepted(c, "/api/v1/messages/", Pending{ID: id,
			Detail: "the message is accepted but not sent yet; it goes when a worker runs"})
	default:
		return err
	}
	m, err := s.Store.Message(c, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) && rej != nil {
			return rej
		}
		return err
	}
	if !same(m) {
		return conflict("this Idempotency-Key was used for another request")
	}
	return s.answerMessage(c, m, http.StatusCreated)
}

// checkSendMessage checks a send request's fields; the channel is empty when the request names none.
func checkSendMessage(c *gin.Context, in SendMessageInput) (key string, personID uuid.UUID, ch domain.Channel, name string, err error) {
	var errs fields
	key = idempotencyKey(c, &errs)
	id := requiredID(&errs, "personId", in.PersonID)
	if in.Channel != nil {
		ch = enumField(&errs, "channel", in.Channel, domain.Channel.Valid, domain.Channels)
	}
	if in.Template == nil || *in.Template == "" {
		errs.add("template", "is required")
	} else if name = *in.Template; !templateName.MatchString(name) {
		errs.add("template", "is not a template name")
	}
	if len(in.Vars) > 50 {
		errs.add("vars", "must hold at most 50 variables")
	}
	for k := range in.Vars {
		if !varName.MatchString(k) {
			errs.add("vars."+k, "is not a variable name (letters, digits and _)")
		}
	}
	if err := errs.err(); err != nil {
		return "", uuid.Nil, "", "", err
	}
	return key, *id, ch, name, nil
}

// checkTemplateFills checks that the template name exists on the channel and that the person and the
// request's variables fill it in, as the send activity will.
func (s *Server) checkTemplateFills(c *gin.Context, p domain.Person, ch domain.Channel, name string, in SendMessageInput) error {
	t, err := s.Store.LatestTemplate(c, name, ch)
	if errors.Is(err, store.ErrNotFound) {
		where := string(ch)
		if in.Channel == nil {
			where += ", the person's preferred channel"
		}
		return invalid(FieldError{Field: "template", Message: fmt.Sprintf("there is no template %q on %s", name, where)})
	} else if err != nil {
		return err
	}
	vars := map[string]string{"FirstName": p.FirstName, "LastName": p.LastName}
	for k, v := range in.Vars {
		vars[k] = v
	}
	_, err = messaging.Render(t.Subject, t.Body, t.HTML, vars)
	if err == nil && ch == domain.ChannelWhatsApp && t.ContentSID != "" {
		_, err = messaging.ContentVariables(t.ContentVariables, vars)
	}
	if err != nil {
		if m := missingVar.FindStringSubmatch(err.Error()); m != nil {
			return invalid(FieldError{Field: "vars." + m[1], Message: "is required by the template " + name + " on " + string(ch)})
		}
		return invalid(FieldError{Field: "vars", Message: "do not fill the template in: " + err.Error()})
	}
	return nil
}

func (s *Server) answerMessage(c *gin.Context, m domain.Message, status int) error {
	m.Events = nonNil(m.Events)
	c.Header("Location", "/api/v1/messages/"+m.ID)
	c.JSON(status, m)
	return nil
}
