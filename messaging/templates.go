package messaging

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	"text/template"
)

// Rendered is a template filled in.
type Rendered struct{ Subject, Body, HTML string }

// Render fills a template's subject, body and HTML in with vars. A variable the template uses and vars
// lacks is an error, never an empty gap in a message. HTML is escaped as HTML.
func Render(subject, body, html string, vars map[string]string) (Rendered, error) {
	var r Rendered
	var err error
	if r.Subject, err = renderText("subject", subject, vars); err != nil {
		return r, err
	}
	if r.Body, err = renderText("body", body, vars); err != nil {
		return r, err
	}
	if html != "" {
		t, err := htmltemplate.New("html").Option("missingkey=error").Parse(html)
		if err != nil {
			return r, err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, vars); err != nil {
			return r, err
		}
		r.HTML = b.String()
	}
	return r, nil
}

func renderText(name, text string, vars map[string]string) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	if err := t.Execute(&b, vars); err != nil {
		return "", err
	}
	return b.String(), nil
}

// CheckTemplate reports whether a template parses, with the variables it names filled by placeholders.
func CheckTemplate(subject, body, html string) error {
	for _, s := range []string{subject, body} {
		if _, err := template.New("t").Parse(s); err != nil {
			return err
		}
	}
	_, err := htmltemplate.New("h").Parse(html)
	return err
}

// ContentVariables are a WhatsApp Content template's variables as Twilio numbers them: names lists, in
// order, the variables that fill its placeholders, so the first name's value becomes "1", the second's "2",
// and so on. A name vars lacks is an error in text/template's words (map has no entry for key "Name"),
// never an empty placeholder. No names: nil (a template without variables).
func ContentVariables(names []string, vars map[string]string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(names))
	for i, name := range names {
		v, ok := vars[name]
		if !ok {
			return nil, fmt.Errorf("content variable %d: map has no entry for key %q", i+1, name)
		}
		out[strconv.Itoa(i+1)] = v
	}
	return out, nil
}
