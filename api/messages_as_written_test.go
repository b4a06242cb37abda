package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// A WhatsApp template with an approved Content template goes out as that template with its variables,
// numbered as the template lists them: outside the 24-hour session WhatsApp takes nothing else (63016).
func TestWhatsAppTemplateSentWithContentSid(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	f := p.twilio.Faults()
	f.WhatsAppSession = true // the person has not written to us: free-form text would fail with 63016
	p.twilio.SetFaults(f)
	const sid = "HX0123456789abcdef0123456789abcdef"
	tpl := e.must(http.StatusCreated, domain.RoleSecurityController, "POST", "/api/v1/message-templates", map[string]any{
		"name": "renewal_nudge", "channel": "whatsapp", "contentSid": sid,
		"contentVariables": []string{"Level", "ValidTo", "DaysLeft"},
		"body":             "Your {{.Level}} clearance expires on {{.ValidTo}} ({{.DaysLeft}} days)."})
	assert.Equal(t, []any{"Level", "ValidTo", "DaysLeft"}, tpl["contentVariables"])

	person := e.messagePerson("07400 123456", "ada@example.org")
	e.must(http.StatusOK, domain.RoleVettingOfficer, "PUT", "/api/v1/persons/"+person+"/consents/whatsapp", map[string]any{
		"status": "opted_in", "method": "written", "evidence": "form WA-1"})
	wa := e.sendMessage(person, "whatsapp", "renewal_nudge", reminderVars)
	got := e.waitMessage(wa["id"].(string), domain.MessageDelivered)
	assert.Equal(t, sid, got["contentSid"])

	msgs := p.twilio.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "whatsapp:+447400123456", msgs[0].To)
	assert.Equal(t, sid, msgs[0].ContentSid, "Twilio was given the Content template")
	assert.Equal(t, map[string]string{"1": "SC", "2": "2031-01-31", "3": "90"}, msgs[0].ContentVariables,
		"its variables numbered as the template lists them")
	assert.NotEqual(t, 63016, msgs[0].ErrorCode)

	// A variable the Content template needs and the request lacks is refused at the boundary.
	r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/messages", map[string]any{"personId": person,
		"channel": "whatsapp", "template": "renewal_nudge", "vars": map[string]string{"Level": "SC", "ValidTo": "2031-01-31"}})
	assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
	assert.Equal(t, "vars.DaysLeft", problemField(t, r))
	assert.Len(t, p.twilio.Messages(), 1, "nothing more reached Twilio")
}

func TestTemplateContentVariablesChecked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "x_wa", "channel": "whatsapp", "body": "b", "contentVariables": []string{"Level"}}, "contentVariables"},
		{map[string]any{"name": "x_wa", "channel": "whatsapp", "body": "b", "contentSid": "HX0123456789abcdef0123456789abcdef",
			"contentVariables": []string{"Level", "bad name"}}, "contentVariables[1]"},
		{map[string]any{"name": "x_wa", "channel": "whatsapp", "body": "b", "contentSid": "HX0123456789abcdef0123456789abcdef",
			"contentVariables": []string{"Level", "Level"}}, "contentVariables[1]"},
	} {
		r := e.call(domain.RoleSecurityController, "POST", "/api/v1/message-templates", c.body)
		assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
		assert.Equal(t, c.field, problemField(t, r))
	}
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM message_templates WHERE name = 'x_wa'`))
}

// An e-mail template with an HTML part goes out with both parts: text/plain, then text/html.
func TestEmailSentWithHTMLPart(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	e.must(http.StatusCreated, domain.RoleSecurityController, "POST", "/api/v1/message-templates", map[string]any{
		"name": "renewal_nudge", "channel": "email", "subject": "Your {{.Level}} clearance",
		"body": "Your {{.Level}} clearance expires on {{.ValidTo}}.",
		"html": "<p>Your <b>{{.Level}}</b> clearance expires on {{.ValidTo}}.</p>"})
	person := e.messagePerson("07400 123456", "ada@example.org")
	m := e.sendMessage(person, "email", "renewal_nudge", map[string]string{"Level": "SC<1>", "ValidTo": "2031-01-31"})
	e.waitMessage(m["id"].(string), domain.MessageDelivered)

	mails := p.sendgrid.Messages()
	require.Len(t, mails, 1)
	require.Len(t, mails[0].Content, 2, "two content parts: %+v", mails[0].Content)
	assert.Equal(t, "text/plain", mails[0].Content[0].Type)
	assert.Equal(t, "Your SC<1> clearance expires on 2031-01-31.", mails[0].Content[0].Value)
	assert.Equal(t, "text/html", mails[0].Content[1].Type)
	assert.Equal(t, "<p>Your <b>SC&lt;1&gt;</b> clearance expires on 2031-01-31.</p>", mails[0].Content[1].Value,
		"the HTML part, its values escaped")
}

// runCosts runs the message cost workflow once and returns how many messages it priced.
func (e *env) runCosts(name string) (int, error) {
	e.t.Helper()
	run, err := e.tc.ExecuteWorkflow(context.Background(), clientStart(name, e.queue), workflows.MessageCosts)
	if err != nil {
		e.t.Fatal(err)
	}
	var priced int
	err = run.Get(context.Background(), &priced)
	return priced, err
}

// A message Twilio cannot price (it no longer knows it, or states no price) is skipped and marked; the
// messages after it are priced all the same.
func TestMessageCostsSkipWhatCannotBePriced(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	f := p.twilio.Faults()
	f.Lost = []string{"+447400123451"}        // fetching it answers 404
	f.Unpriceable = []string{"+447400123452"} // Twilio states no price for it
	p.twilio.SetFaults(f)
	var ids []string
	for _, mobile := range []string{"07400 123451", "07400 123452", "07400 123453"} {
		person := e.messagePerson(mobile, "")
		m := e.sendMessage(person, "sms", "renewal_nudge", reminderVars)
		e.waitMessage(m["id"].(string), domain.MessageDelivered) // in this order: the lost one is the oldest
		ids = append(ids, m["id"].(string))
	}

	priced, err := e.runCosts("costs-1")
	require.NoError(t, err, "a message that cannot be priced does not fail the run")
	assert.Equal(t, 1, priced, "the message after the ones that cannot be priced is priced")
	get := func(id string) map[string]any {
		return e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/messages/"+id, nil)
	}
	lost, unpriced, ok := get(ids[0]), get(ids[1]), get(ids[2])
	assert.Equal(t, "-0.04000", ok["price"])
	assert.Equal(t, "priced", ok["priceStatus"])
	assert.Equal(t, "unpriceable", lost["priceStatus"], "Twilio's 404 is final")
	assert.Contains(t, lost["priceNote"], "20404")
	assert.Nil(t, lost["price"])
	assert.Equal(t, "pending", unpriced["priceStatus"], "a price not stated yet is asked for again")

	// Asked again run after run, it is given up on after a bounded number of tries; nothing else changes.
	for run := 2; get(ids[1])["priceStatus"] == "pending"; run++ {
		require.LessOrEqual(t, run, 20, "never given up on")
		priced, err := e.runCosts(fmt.Sprintf("costs-%d", run))
		require.NoError(t, err)
		assert.Equal(t, 0, priced)
	}
	assert.Equal(t, "no price stated", get(ids[1])["priceNote"])
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM messages WHERE price IS NOT NULL`))
}
