package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

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
	// consentRecorders record what a person said about being messaged.
	consentRecorders = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleSecurityController}
)

// templateName is the shape of a template's name (the database checks the same).
var templateName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// consentMethod is the shape of how consent was given (written, web_form, verbal, whatsapp_optin, ...).
var consentMethod = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// varName is the shape of a template variable's name.
var varName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// contentSID is a Twilio Content API template id.
var contentSID = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)

// maxContentVariables is the most variables a WhatsApp Content template is given.
const maxContentVariables = 50

// maxBodyLen is the longest template body on each channel: Twilio's 1,600 characters for SMS, WhatsApp's
// 4,096, and a generous bound for e-mail.
var maxBodyLen = map[messaging.Channel]int{messaging.SMS: 1600, messaging.WhatsApp: 4096, messaging.Email: 100_000}

// SendMessageInput sends a template to a person. The channel defaults to the person's preferred one;
// vars fill the template in (FirstName and LastName are the person's unless given).
type SendMessageInput struct {
	idempotent
	PersonID *string           `json:"personId" required:"true" format:"uuid"`
	Channel  *string           `json:"channel,omitempty" enum:"sms,whatsapp,email" description:"absent: the person's preferred channel"`
	Template *string           `json:"template" required:"true" pattern:"^[a-z][a-z0-9_]{1,62}$"`
	Vars     map[string]string `json:"vars,omitempty" maxLength:"2000" description:"the template's variables, e.g. {\"DueAt\": \"2026-06-01\"}"`
}

// MessagePending answers a message no worker has taken up in time: it is sent when a worker runs.
type MessagePending struct {
	ID     string `json:"id"`
	Status string `json:"status" enum:"pending"`
	Detail string `json:"detail"`
}

// TemplateInput adds a new version of a template on a channel.
type TemplateInput struct {
	Name       *string `json:"name" required:"true" pattern:"^[a-z][a-z0-9_]{1,62}$"`
	Channel    *string `json:"channel" required:"true" enum:"sms,whatsapp,email"`
	Subject    *string `json:"subject,omitempty" description:"e-mail only, and required there" maxLength:"200"`
	Body       *string `json:"body" required:"true" text:"free" maxLength:"100000" description:"Go template text: {{.Name}} for a variable; at most 1600 characters on sms, 4096 on whatsapp"`
	HTML       *string `json:"html,omitempty" text:"free" maxLength:"100000" description:"e-mail only: an HTML alternative (Go html/template)"`
	ContentSID *string `json:"contentSid,omitempty" description:"WhatsApp only: an approved Twilio Content template (HX...)"`
	// ContentVariables map our variables onto the Content template's numbered placeholders.
	ContentVariables []string `json:"contentVariables,omitempty" description:"with contentSid: the variables that fill the Content template's placeholders in order, the first {{1}}, the second {{2}}, e.g. [\"Level\", \"ValidTo\"]"`
}

// ConsentInput records what a person said about being messaged on a channel, at their current mobile
// (sms, whatsapp) or e-mail address.
type ConsentInput struct {
	ID       string  `path:"id" format:"uuid"`
	Channel  string  `path:"channel" enum:"sms,whatsapp,email"`
	Status   *string `json:"status" required:"true" enum:"opted_in,opted_out"`
	Method   *string `json:"method" required:"true" description:"how it was given: written, web_form, verbal, whatsapp_optin, ..."`
	Evidence *string `json:"evidence,omitempty" maxLength:"1000" description:"e.g. the form's reference; required to opt in to WhatsApp"`
	At       *string `json:"at,omitempty" description:"when it was given (RFC 3339 or a date); default now, never in the future"`
}

// ReminderPolicyInput sets when people are nudged and reminded.
type ReminderPolicyInput struct {
	NudgeDays        []int `json:"nudgeDays" required:"true" minItems:"1" maxItems:"10" description:"days before a clearance's end that its holder is nudged (1..3650, distinct)"`
	RenewalLeadDays  *int  `json:"renewalLeadDays" required:"true" minimum:"1" maximum:"3650" description:"days before a clearance's end that its renewal case opens"`
	InfoReminderDays []int `json:"infoReminderDays" required:"true" maxItems:"10" description:"days before requested information is due that the subject is reminded (1..365, distinct)"`
}

// ReminderPolicyView is the reminder policy, and after a change how many running clearance workflows
// were told of it.
type ReminderPolicyView struct {
	domain.ReminderPolicy
	WorkflowsTold *int `json:"workflowsTold,omitempty"`
}

type messageListQuery struct {
	PersonID    string `query:"personId" format:"uuid"`
	Channel     string `query:"channel" enum:"sms,whatsapp,email"`
	Status      string `query:"status" enum:"pending,suppressed,queued,sent,delivered,read,undelivered,failed"`
	Template    string `query:"template"`
	CaseRef     string `query:"caseRef"`
	ClearanceID string `query:"clearanceId" format:"uuid"`
	BroadcastID string `query:"broadcastId" format:"uuid"`
	From        string `query:"from" description:"RFC 3339, or a date (from its start, in the organisation's zone)"`
	To          string `query:"to" description:"RFC 3339 (before it), or a date (to its end, in the organisation's zone)"`
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

type twilioStatusQuery struct {
	M string `query:"m" description:"our message id, added to the status callback URL when the message was sent"`
}

func (s *Server) messagingRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/messages", summary: "The outbox: messages sent or suppressed, newest first",
			roles: allStaff, req: new(messageListQuery), resp: new(List[domain.Message]), handle: s.listMessages},
		{method: http.MethodGet, path: "/api/v1/messages/*id", summary: "A message with its status history (the id may hold slashes)",
			roles: allStaff, req: new(messagePath), resp: new(domain.Message), handle: s.getMessage},
		{method: http.MethodPost, path: "/api/v1/messages", summary: "Send a template to a person (once per Idempotency-Key)",
			roles: messageSenders, req: new(SendMessageInput), resp: new(domain.Message), status: http.StatusCreated,
			alt: map[int]any{http.StatusAccepted: new(MessagePending)}, handle: s.sendMessage},
		{method: http.MethodGet, path: "/api/v1/inbox", summary: "Messages people sent us, newest first",
			roles: allStaff, req: new(inboxQuery), resp: new(List[domain.InboundMessage]), handle: s.inbox},
		{method: http.MethodGet, path: "/api/v1/message-templates", summary: "The latest version of every template on every channel",
			roles: allStaff, resp: new([]domain.Template), handle: s.listTemplates},
		{method: http.MethodPost, path: "/api/v1/message-templates", summary: "Add a new version of a template on a channel",
			roles: messagingAdmins, req: new(TemplateInput), resp: new(domain.Template), status: http.StatusCreated,
			handle: s.addTemplate},
		{method: http.MethodGet, path: "/api/v1/persons/:id/consents", summary: "What a person said about being messaged, per channel",
			roles: allStaff, req: new(idPath), resp: new([]domain.Consent), handle: s.personConsents},
		{method: http.MethodPut, path: "/api/v1/persons/:id/consents/:channel", summary: "Record a person's consent or opt-out on a channel (WhatsApp needs consent)",
			roles: consentRecorders, req: new(ConsentInput), resp: new(domain.Consent), handle: s.setConsent},
		{method: http.MethodGet, path: "/api/v1/reminder-policy", summary: "When people are nudged and reminded",
			roles: allStaff, resp: new(ReminderPolicyView), handle: s.getReminderPolicy},
		{method: http.MethodPut, path: "/api/v1/reminder-policy", summary: "Change when people are nudged and reminded; running clearances follow",
			roles: messagingAdmins, req: new(ReminderPolicyInput), resp: new(ReminderPolicyView), handle: s.setReminderPolicy},
		{method: http.MethodGet, path: "/api/v1/clearances/:id/renewal", summary: "A clearance's live lifecycle state: nudges, renewal, expiry",
			roles: allStaff, req: new(idPath), resp: new(ClearanceRenewal), handle: s.clearanceRenewal},
		{method: http.MethodPost, path: "/api/v1/messaging/twilio/status", summary: "Twilio's status callbacks (X-Twilio-Signature checked)",
			public: true, req: new(twilioStatusQuery), resp: new(struct{}), status: http.StatusNoContent,
			alt: map[int]any{http.StatusForbidden: new(Problem)}, handle: s.twilioStatus},
		{method: http.MethodPost, path: "/api/v1/messaging/twilio/inbound", summary: "Messages people send us through Twilio (X-Twilio-Signature checked); answers empty TwiML",
			public: true, resp: new(string), alt: map[int]any{http.StatusForbidden: new(Problem)}, handle: s.twilioInbound},
		{method: http.MethodPost, path: "/api/v1/messaging/sendgrid/events", summary: "SendGrid's Event Webhook (signature checked)",
			public: true, resp: new(struct{}), status: http.StatusNoContent,
			alt: map[int]any{http.StatusForbidden: new(Problem)}, handle: s.sendGridEvents},
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
		Channel: single(&q, "channel", messaging.Channel.Valid, messaging.Channels),
		Status:  single(&q, "status", func(st messaging.Status) bool { return st.Rank() >= 0 }, messaging.Statuses)}
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
	return respond(c, list(items, total, f.Page), err)
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
	c.JSON(http.StatusOK, m)
	return nil
}

func (s *Server) inbox(c *gin.Context) error {
	q := query{c: c}
	f := store.InboxFilter{PersonID: q.uuid("personId"), BroadcastID: q.uuid("broadcastId"), Page: q.page(),
		Channel: single(&q, "channel", func(ch messaging.Channel) bool { return ch == messaging.SMS || ch == messaging.WhatsApp },
			[]messaging.Channel{messaging.SMS, messaging.WhatsApp})}
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
	return respond(c, list(items, total, f.Page), err)
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
	var errs fields
	key := idempotencyKey(c, &errs)
	personID := requiredID(&errs, "personId", in.PersonID)
	var ch messaging.Channel
	if in.Channel != nil {
		ch = enumField(&errs, "channel", in.Channel, messaging.Channel.Valid, messaging.Channels)
	}
	name := ""
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
		return err
	}
	p, err := s.Store.Person(c, *personID)
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
	// The activity fills the template in the same way: a variable missing here is missing there.
	vars := map[string]string{"FirstName": p.FirstName, "LastName": p.LastName}
	for k, v := range in.Vars {
		vars[k] = v
	}
	_, err = messaging.Render(t.Subject, t.Body, t.HTML, vars)
	if err == nil && ch == messaging.WhatsApp && t.ContentSID != "" {
		_, err = messaging.ContentVariables(t.ContentVariables, vars)
	}
	if err != nil {
		if m := missingVar.FindStringSubmatch(err.Error()); m != nil {
			return invalid(FieldError{Field: "vars." + m[1], Message: "is required by the template " + name + " on " + string(ch)})
		}
		return invalid(FieldError{Field: "vars", Message: "do not fill the template in: " + err.Error()})
	}

	sender := actorID(c)
	id := newMessageID(sender, key)
	same := func(m domain.Message) bool {
		return m.PersonID != nil && *m.PersonID == p.ID && m.Template == name && m.Channel == ch
	}
	if key != "" {
		// A repeat of a request carried out already answers with its message.
		if m, err := s.Store.Message(c, id); err == nil && m.Status != messaging.StatusPending {
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
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
	case errors.As(err, &rej) && rej.Conflict:
		// The message's workflow completed before: it is in the outbox.
	case ctx.Err() != nil:
		// No worker took it up in time, or the provider is slow: the workflow goes on.
		if m, err := s.Store.Message(c, id); err == nil {
			return s.answerMessage(c, m, http.StatusAccepted)
		}
		c.Header("Location", "/api/v1/messages/"+id)
		c.JSON(http.StatusAccepted, MessagePending{ID: id, Status: "pending",
			Detail: "the message is accepted but not sent yet; it goes when a worker runs"})
		return nil
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrMessagingRefused:
		return problem(http.StatusBadGateway, "message-provider-refused",
			"the message provider refused our credentials or account; the message was not sent")
	case errors.As(err, &appErr) && appErr.Type() == activities.ErrInvalidInput:
		return invalid(FieldError{Field: "body", Message: appErr.Message()})
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

func (s *Server) answerMessage(c *gin.Context, m domain.Message, status int) error {
	m.Events = nonNil(m.Events)
	c.Header("Location", "/api/v1/messages/"+m.ID)
	c.JSON(status, m)
	return nil
}

// ---- templates ----

func (s *Server) listTemplates(c *gin.Context) error {
	ts, err := s.Store.Templates(c)
	return respond(c, nonNil(ts), err)
}

func (s *Server) addTemplate(c *gin.Context) error {
	var in TemplateInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var t domain.Template
	if in.Name == nil || *in.Name == "" {
		errs.add("name", "is required")
	} else if t.Name = *in.Name; !templateName.MatchString(t.Name) {
		errs.add("name", "must be 2 to 63 lower-case letters, digits and _, starting with a letter")
	}
	t.Channel = enumField(&errs, "channel", in.Channel, messaging.Channel.Valid, messaging.Channels)
	t.Subject = optionalText(in.Subject)
	t.HTML, t.ContentSID = optionalText(in.HTML), optionalText(in.ContentSID)
	if t.Body = requiredText(&errs, "body", in.Body); t.Body != "" {
		if max, ok := maxBodyLen[t.Channel]; ok && utf8.RuneCountInString(t.Body) > max {
			errs.add("body", "must be at most %d characters on %s", max, t.Channel)
		}
	}
	switch {
	case t.Channel == messaging.Email && t.Subject == "":
		errs.add("subject", "is required for e-mail")
	case t.Channel != messaging.Email && t.Subject != "" && t.Channel.Valid():
		errs.add("subject", "is for e-mail only")
	}
	if t.HTML != "" && t.Channel != messaging.Email && t.Channel.Valid() {
		errs.add("html", "is for e-mail only")
	}
	if t.ContentSID != "" {
		if t.Channel != messaging.WhatsApp && t.Channel.Valid() {
			errs.add("contentSid", "is for WhatsApp only")
		} else if !contentSID.MatchString(t.ContentSID) {
			errs.add("contentSid", "must be a Twilio Content template id (HX and 32 hexadecimal digits)")
		}
	}
	switch {
	case len(in.ContentVariables) > 0 && t.ContentSID == "":
		errs.add("contentVariables", "is only for a template with a contentSid")
	case len(in.ContentVariables) > maxContentVariables:
		errs.add("contentVariables", "must list at most %d variables", maxContentVariables)
	default:
		seen := map[string]bool{}
		for i, v := range in.ContentVariables {
			field := fmt.Sprintf("contentVariables[%d]", i)
			switch {
			case !varName.MatchString(v):
				errs.add(field, "is not a variable name (letters, digits and _)")
			case seen[v]:
				errs.add(field, "lists %s twice", v)
			}
			seen[v] = true
		}
		t.ContentVariables = in.ContentVariables
	}
	for _, part := range []struct{ field, subject, body, html string }{
		{"subject", t.Subject, "", ""}, {"body", "", t.Body, ""}, {"html", "", "", t.HTML}} {
		if err := messaging.CheckTemplate(part.subject, part.body, part.html); err != nil {
			errs.add(part.field, "does not parse: %v", err)
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	out, err := s.Store.AddTemplateVersion(c, actor(c), t)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

// ---- consent ----

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
	ch := messaging.Channel(c.Param("channel"))
	if !ch.Valid() {
		errs.add("channel", "must be one of %s", joinEnum(messaging.Channels))
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
	if evidence == "" && ch == messaging.WhatsApp && status == domain.ConsentOptedIn {
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
	if ch == messaging.Email {
		address = p.Email
	}
	if address == "" {
		what := "mobile number"
		if ch == messaging.Email {
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

// ---- reminder policy ----

func (s *Server) getReminderPolicy(c *gin.Context) error {
	p, err := s.Store.ReminderPolicy(c)
	p.NudgeDays, p.InfoReminderDays = nonNil(p.NudgeDays), nonNil(p.InfoReminderDays)
	return respond(c, ReminderPolicyView{ReminderPolicy: p}, err)
}

// dayList checks a list of distinct day counts from lo to hi, at most max of them, and sorts it from the
// most days to the fewest.
func dayList(errs *fields, name string, days []int, minItems, maxItems, lo, hi int) []int {
	if len(days) < minItems || len(days) > maxItems {
		errs.add(name, "must hold %d to %d values", minItems, maxItems)
		return nil
	}
	seen := map[int]bool{}
	for i, d := range days {
		switch {
		case d < lo || d > hi:
			errs.add(fmt.Sprintf("%s[%d]", name, i), "must be from %d to %d", lo, hi)
		case seen[d]:
			errs.add(fmt.Sprintf("%s[%d]", name, i), "repeats %d", d)
		}
		seen[d] = true
	}
	out := slices.Clone(days)
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return nonNil(out)
}

func (s *Server) setReminderPolicy(c *gin.Context) error {
	var in ReminderPolicyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var p domain.ReminderPolicy
	if in.NudgeDays == nil {
		errs.add("nudgeDays", "is required")
	} else {
		p.NudgeDays = dayList(&errs, "nudgeDays", in.NudgeDays, 1, 10, 1, 3650)
	}
	if in.RenewalLeadDays == nil {
		errs.add("renewalLeadDays", "is required")
	} else if p.RenewalLeadDays = *in.RenewalLeadDays; p.RenewalLeadDays < 1 || p.RenewalLeadDays > 3650 {
		errs.add("renewalLeadDays", "must be from 1 to 3650")
	}
	if in.InfoReminderDays == nil {
		errs.add("infoReminderDays", "is required (an empty list for none)")
	} else {
		p.InfoReminderDays = dayList(&errs, "infoReminderDays", in.InfoReminderDays, 0, 10, 1, 365)
	}
	if err := errs.err(); err != nil {
		return err
	}
	out, err := s.Store.SetReminderPolicy(c, actor(c), p)
	if err != nil {
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	n, err := workflows.SignalReminderPolicyAll(ctx, s.Temporal, out)
	if err != nil {
		s.Log.Warn("messaging: reminder policy saved, not every running clearance told", "told", n, "error", err)
		return problem(http.StatusServiceUnavailable, "unavailable", fmt.Sprintf(
			"the policy is saved, but only %d running clearances were told of it before the workflow engine failed; "+
				"send it again to tell the rest", n))
	}
	return respond(c, ReminderPolicyView{ReminderPolicy: out, WorkflowsTold: &n}, nil)
}

// ---- clearance lifecycle ----

// ClearanceRenewal is a clearance's lifecycle workflow as it stands: the clearance as the workflow last
// read it, the reminder policy in force, the nudges done and to come, the renewal case, and how it ended.
// Every moment is the start of a day, UTC.
type ClearanceRenewal struct {
	ClearanceID   uuid.UUID              `json:"clearanceId"`
	PersonID      uuid.UUID              `json:"personId"`
	Level         domain.Level           `json:"level"`
	ValidFrom     domain.Date            `json:"validFrom"`
	ValidTo       domain.Date            `json:"validTo"`
	Status        domain.ClearanceStatus `json:"status"`
	SourceCaseRef string                 `json:"sourceCaseRef,omitempty"`
	OwnerID       *uuid.UUID             `json:"ownerId"`
	Policy        domain.ReminderPolicy  `json:"policy"`
	// Running is false once the workflow ended (Ended says why).
	Running bool `json:"running"`
	// Begun is true once the clearance came into force.
	Begun         bool          `json:"begun"`
	NudgesSent    []int         `json:"nudgesSent"`
	NudgesSkipped []int         `json:"nudgesSkipped"`
	NudgesToCome  []NudgeToCome `json:"nudgesToCome"`
	// RenewalCaseRef is the renewal case found open or opened; until then RenewalCaseAt is when it opens.
	RenewalCaseRef string     `json:"renewalCaseRef,omitempty"`
	RenewalOpened  bool       `json:"renewalOpened"`
	RenewalCaseAt  *time.Time `json:"renewalCaseAt,omitempty"`
	LapsesAt       *time.Time `json:"lapsesAt,omitempty"`
	Ended          string     `json:"ended,omitempty"`
	EndedAt        *time.Time `json:"endedAt,omitempty"`
}

// NudgeToCome is a nudge not yet sent: days before the clearance's end, and when.
type NudgeToCome struct {
	Days int       `json:"days"`
	At   time.Time `json:"at"`
}

func renewalView(st workflows.ClearanceState) ClearanceRenewal {
	v := ClearanceRenewal{ClearanceID: st.ClearanceID, PersonID: st.PersonID, Level: st.Level, ValidFrom: st.ValidFrom,
		ValidTo: st.ValidTo, Status: st.Status, SourceCaseRef: st.SourceCaseRef, OwnerID: st.OwnerID, Policy: st.Policy,
		Running: st.Ended == "", Begun: st.Begun, NudgesSent: nonNil(st.NudgesSent), NudgesSkipped: nonNil(st.NudgesSkipped),
		NudgesToCome: []NudgeToCome{}, RenewalCaseRef: st.RenewalCaseRef, RenewalOpened: st.RenewalOpened,
		Ended: st.Ended, EndedAt: st.EndedAt}
	v.Policy.NudgeDays, v.Policy.InfoReminderDays = nonNil(v.Policy.NudgeDays), nonNil(v.Policy.InfoReminderDays)
	if !st.Loaded || !v.Running {
		return v
	}
	day := func(d domain.Date) *time.Time { t := d.Time().UTC(); return &t }
	v.LapsesAt = day(st.ValidTo.AddDays(1))
	for _, d := range st.Policy.NudgeDays {
		if !slices.Contains(st.NudgesSent, d) && !slices.Contains(st.NudgesSkipped, d) {
			v.NudgesToCome = append(v.NudgesToCome, NudgeToCome{Days: d, At: *day(st.ValidTo.AddDays(-d))})
		}
	}
	if st.RenewalCaseRef == "" && st.Policy.RenewalLeadDays > 0 {
		v.RenewalCaseAt = day(st.ValidTo.AddDays(-st.Policy.RenewalLeadDays))
	}
	return v
}

func (s *Server) clearanceRenewal(c *gin.Context) error {
	id, err := pathID(c, "clearance")
	if err != nil {
		return err
	}
	if _, err := s.Store.Clearance(c, id); err != nil {
		return notFoundAs(err, "clearance")
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	v, err := s.Temporal.QueryWorkflow(ctx, workflows.ClearanceWorkflowID(id), "", workflows.QueryClearanceState)
	if err != nil {
		if workflowNotFound(err) {
			return notFound("clearance workflow")
		}
		return err
	}
	var st workflows.ClearanceState
	if err := v.Get(&st); err != nil {
		return err
	}
	c.JSON(http.StatusOK, renewalView(st))
	return nil
}

// workflowNotFound reports whether Temporal holds no such workflow.
func workflowNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// ---- provider webhooks ----

// publicURL is the URL a provider called, as it knows it: our public base URL and the path and query as
// they arrived.
func (s *Server) publicURL(c *gin.Context) string {
	uri := c.Request.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = c.Request.URL.RequestURI()
	}
	return strings.TrimRight(s.Messaging.PublicURL, "/") + uri
}

// twilioForm reads and verifies a Twilio webhook's form. Nothing is done with a request whose signature
// does not verify.
func (s *Server) twilioForm(c *gin.Context) (url.Values, error) {
	if s.Messaging.TwilioAuthToken == "" {
		return nil, notFound("webhook")
	}
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid(FieldError{Field: "body", Message: "is not a form"})
	}
	if !messaging.VerifyTwilio(s.Messaging.TwilioAuthToken, s.publicURL(c), form, c.GetHeader(messaging.TwilioSignatureHeader)) {
		s.Log.Warn("messaging: Twilio webhook with a bad signature refused", "route", c.FullPath())
		return nil, badSignature()
	}
	return form, nil
}

func badSignature() *Problem {
	return problem(http.StatusForbidden, "bad-signature", "the request's signature does not verify")
}

func (s *Server) twilioStatus(c *gin.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	ev, err := messaging.ParseTwilioStatus(c.Query(messaging.TwilioMessageIDParam), form)
	if err != nil {
		return invalid(FieldError{Field: "body", Message: err.Error()})
	}
	if err := s.applyEvent(c, "twilio", ev); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// applyEvent applies a provider's receipt; one for a message we do not know is logged and dropped (the
// provider would otherwise retry it for ever).
func (s *Server) applyEvent(c *gin.Context, provider string, ev messaging.Event) error {
	_, applied, err := s.Store.ApplyMessageEvent(c, provider, ev)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.Log.Warn("messaging: receipt for an unknown message dropped", "provider", provider,
			"messageId", ev.MessageID, "providerId", ev.ProviderID, "event", ev.Raw)
		return nil
	case err != nil:
		return err
	}
	if !applied {
		s.Log.Debug("messaging: repeated receipt", "provider", provider, "eventId", ev.EventID)
	}
	return nil
}

// emptyTwiML answers an inbound message with nothing to send back.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

func (s *Server) twilioInbound(c *gin.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	in, err := messaging.ParseTwilioInbound(form)
	if err != nil {
		return invalid(FieldError{Field: "body", Message: err.Error()})
	}
	if _, _, err := s.Store.ReceiveInbound(c, in); err != nil {
		return err
	}
	c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
	return nil
}

// sendGridEvents applies a signed batch of SendGrid events. The signature covers the timestamp and the
// raw body; the timestamp's age is not checked, because SendGrid retries a failed delivery for up to a
// day and each event is applied once (by its sg_event_id) however often it arrives.
func (s *Server) sendGridEvents(c *gin.Context) error {
	if s.Messaging.SendGridWebhookKey == "" {
		return notFound("webhook")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if !messaging.VerifySendGrid(s.Messaging.SendGridWebhookKey, body, c.GetHeader(messaging.SendGridSignatureHeader),
		c.GetHeader(messaging.SendGridTimestampHeader)) {
		s.Log.Warn("messaging: SendGrid webhook with a bad signature refused")
		return badSignature()
	}
	events, err := messaging.ParseSendGridEvents(body)
	if err != nil {
		return invalid(FieldError{Field: "body", Message: "is not a JSON array of events"})
	}
	for _, ev := range events {
		if ev.EventID == "" || (ev.MessageID == "" && ev.ProviderID == "") {
			s.Log.Warn("messaging: SendGrid event without an event or message id dropped", "event", ev.Raw)
			continue
		}
		if err := s.applyEvent(c, "sendgrid", ev); err != nil {
			return err
		}
	}
	c.Status(http.StatusNoContent)
	return nil
}
