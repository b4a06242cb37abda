package api

import (
	"fmt"
	"net/http"
	"regexp"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
)

// templateRoutes are the routes of message templates: versioned per name and channel; SMS and WhatsApp
// bodies, e-mail subjects and HTML, WhatsApp Content templates.
func (s *Server) templateRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/message-templates", summary: "The latest version of every template on every channel",
			roles: allStaff, resp: new([]domain.Template), handle: s.listTemplates},
		{method: http.MethodPost, path: "/api/v1/message-templates", summary: "Add a new version of a template on a channel",
			roles: messagingAdmins, req: new(TemplateInput), resp: new(domain.Template), status: http.StatusCreated,
			handle: s.addTemplate},
	}
}

// templateName is the shape of a template's name (the database checks the same).
var templateName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,62}$`)

// varName is the shape of a template variable's name.
var varName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// contentSID is a Twilio Content API template id.
var contentSID = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)

// maxContentVariables is the most variables a WhatsApp Content template is given.
const maxContentVariables = 50

// maxBodyLen is the longest template body on each channel: Twilio's 1,600 characters for SMS, WhatsApp's
// 4,096, and a generous bound for e-mail.
var maxBodyLen = map[domain.Channel]int{domain.ChannelSMS: 1600, domain.ChannelWhatsApp: 4096, domain.ChannelEmail: 100_000}

// TemplateInput adds a new version of a template on a channel.
type TemplateInput struct {
	Name       *string         `json:"name" required:"true" pattern:"^[a-z][a-z0-9_]{1,62}$"`
	Channel    *domain.Channel `json:"channel" required:"true"`
	Subject    *string         `json:"subject,omitempty" description:"e-mail only, and required there" maxLength:"200"`
	Body       *string         `json:"body" required:"true" text:"free" maxLength:"100000" description:"Go template text: {{.Name}} for a variable; at most 1600 characters on sms, 4096 on whatsapp"`
	HTML       *string         `json:"html,omitempty" text:"free" maxLength:"100000" description:"e-mail only: an HTML alternative (Go html/template)"`
	ContentSID *string         `json:"contentSid,omitempty" description:"WhatsApp only: an approved Twilio Content template (HX...)"`
	// ContentVariables map our variables onto the Content template's numbered placeholders.
	ContentVariables []string `json:"contentVariables,omitempty" description:"with contentSid: the variables that fill the Content template's placeholders in order, the first {{1}}, the second {{2}}, e.g. [\"Level\", \"ValidTo\"]"`
}

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
	t.Channel = enumField(&errs, "channel", in.Channel, domain.Channel.Valid, domain.Channels)
	t.Subject = optionalText(in.Subject)
	t.HTML, t.ContentSID = optionalText(in.HTML), optionalText(in.ContentSID)
	if t.Body = requiredText(&errs, "body", in.Body); t.Body != "" {
		if max, ok := maxBodyLen[t.Channel]; ok && utf8.RuneCountInString(t.Body) > max {
			errs.add("body", "must be at most %d characters on %s", max, t.Channel)
		}
	}
	switch {
	case t.Channel == domain.ChannelEmail && t.Subject == "":
		errs.add("subject", "is required for e-mail")
	case t.Channel != domain.ChannelEmail && t.Subject != "" && t.Channel.Valid():
		errs.add("subject", "is for e-mail only")
	}
	if t.HTML != "" && t.Channel != domain.ChannelEmail && t.Channel.Valid() {
		errs.add("html", "is for e-mail only")
	}
	if t.ContentSID != "" {
		if t.Channel != domain.ChannelWhatsApp && t.Channel.Valid() {
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
