package twiliosim_test

import (
	"net/url"
	"testing"

	"github.com/signetassure/signetassure/sim/twiliosim"
)

// The simulator reads a Content template send as Twilio's API documents it (ContentSid, ContentVariables
// as a JSON string) and shows both in its control API's state, beside the text it rendered.
func TestContentTemplateRecordedInState(t *testing.T) {
	e := newEnv(t, twiliosim.Options{Templates: map[string]string{
		"HX0123456789abcdef0123456789abcdef": "Your {{1}} clearance expires on {{2}}."}})
	st, got := e.api(t, "POST", messagesPath+".json", url.Values{"To": {"whatsapp:" + alice}, "From": {"whatsapp:" + from},
		"ContentSid": {"HX0123456789abcdef0123456789abcdef"}, "ContentVariables": {`{"1":"SC","2":"2031-01-31"}`}}, true)
	if st != 201 {
		t.Fatalf("send: %d %v", st, got)
	}
	var state twiliosim.State
	if code := e.control(t, "GET", "/sim/state", "", &state); code != 200 || len(state.Messages) != 1 {
		t.Fatalf("state: %d, %d messages", code, len(state.Messages))
	}
	m := state.Messages[0]
	if m.ContentSid != "HX0123456789abcdef0123456789abcdef" || m.ContentVariables["1"] != "SC" ||
		m.ContentVariables["2"] != "2031-01-31" || len(m.ContentVariables) != 2 {
		t.Errorf("state shows %q %v, want the ContentSid and both variables", m.ContentSid, m.ContentVariables)
	}
	if m.Body != "Your SC clearance expires on 2031-01-31." || got["body"] != m.Body {
		t.Errorf("rendered %q (answered %v)", m.Body, got["body"])
	}
}
