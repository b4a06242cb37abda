package messaging_test

import (
	"testing"

	"github.com/signetassure/signetassure/messaging"
)

func TestOptKeyword(t *testing.T) {
	for body, want := range map[string]messaging.Opt{
		"STOP": messaging.OptOut, " stop. ": messaging.OptOut, "Unsubscribe": messaging.OptOut, "optout": messaging.OptOut,
		"START": messaging.OptIn, "unstop": messaging.OptIn, "help": messaging.Help,
		"please stop texting me": messaging.NoOpt, "SAFE": messaging.NoOpt, "": messaging.NoOpt,
	} {
		if got := messaging.OptKeyword(body); got != want {
			t.Errorf("OptKeyword(%q) = %d, want %d", body, got, want)
		}
	}
}

func TestMatchKeyword(t *testing.T) {
	keywords := []string{"SAFE", "HELP"}
	for body, want := range map[string]string{
		"safe": "SAFE", "Safe, at the muster point": "SAFE", "  HELP - trapped": "HELP", "help!": "HELP",
		"on my way": messaging.OtherReply, "SAFELY out": messaging.OtherReply,
	} {
		if got := messaging.MatchKeyword(body, keywords); got != want {
			t.Errorf("MatchKeyword(%q) = %s, want %s", body, got, want)
		}
	}
}

func TestRenderRefusesMissingVariable(t *testing.T) {
	r, err := messaging.Render("Your {{.Level}} clearance", "Expires {{.ValidTo}}", "<p>{{.Name}}</p>",
		map[string]string{"Level": "SC", "ValidTo": "2031-01-31", "Name": "<b>Ada</b>"})
	if err != nil || r.Subject != "Your SC clearance" || r.Body != "Expires 2031-01-31" || r.HTML != "<p>&lt;b&gt;Ada&lt;/b&gt;</p>" {
		t.Errorf("Render: %+v, %v", r, err)
	}
	if _, err := messaging.Render("", "Expires {{.ValidTo}}", "", map[string]string{}); err == nil {
		t.Error("a missing variable rendered without an error")
	}
}
