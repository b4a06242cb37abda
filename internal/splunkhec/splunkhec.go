// Package splunkhec holds what SignetAssure's two Splunk HTTP Event Collector (HEC) senders share: the
// audit checkpoint sink (audit.SplunkHECSink) and webhook subscriptions of format splunk-hec (package
// webhooks). Both post one event per request in HEC's documented JSON event format to
// /services/collector/event with "Authorization: Splunk <token>":
//
//	{"time": <seconds since the epoch, to the millisecond>, "host": ..., "source": "signetassure",
//	 "sourcetype": ..., "event": ...}
//
// and count it taken only when Splunk answers 200 with code 0 ({"text":"Success","code":0}); any other
// answer (403 {"text":"Invalid token","code":4}, 503 {"text":"Server is busy","code":9}, ...) is a refusal.
// Indexer acknowledgment is not used.
package splunkhec

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Source is the events' source.
const Source = "signetassure"

// EventPath is the HEC endpoint of JSON events, used when a URL has no path.
const EventPath = "/services/collector/event"

// Authorization is the Authorization header that carries token.
func Authorization(token string) string { return "Splunk " + token }

// ValidToken reports whether token can be a HEC token: not empty, and no whitespace (which would break
// the Authorization header).
func ValidToken(token string) bool {
	return token != "" && !strings.ContainsFunc(token, unicode.IsSpace)
}

// WithEventPath gives u the path EventPath when it has none.
func WithEventPath(u *url.URL) {
	if u.Path == "" || u.Path == "/" {
		u.Path = EventPath
	}
}

// Event is one HEC event with its metadata.
type Event struct {
	Time       json.Number `json:"time"`
	Host       string      `json:"host,omitempty"`
	Source     string      `json:"source"`
	SourceType string      `json:"sourcetype"`
	Event      any         `json:"event"`
}

// NewEvent is event as a HEC event of time at from host (empty: os.Hostname()), of Source and sourceType.
func NewEvent(at time.Time, host, sourceType string, event any) Event {
	if host == "" {
		host, _ = os.Hostname()
	}
	return Event{Time: Time(at), Host: host, Source: Source, SourceType: sourceType, Event: event}
}

// Time is t as HEC's time: seconds since the epoch, to the millisecond.
func Time(t time.Time) json.Number {
	ms := t.UnixMilli()
	return json.Number(fmt.Sprintf("%d.%03d", ms/1000, ms%1000))
}

// answer is HEC's answer: code 0 is success.
type answer struct {
	Text string `json:"text"`
	Code *int   `json:"code"`
}

// Check reads HEC's answer to one event: nil when Splunk took it (200 with code 0), otherwise an error
// saying what it answered, with HEC's code and text when the answer has them.
func Check(status int, body []byte) error {
	var a answer
	jsonErr := json.Unmarshal(body, &a)
	if status == http.StatusOK && jsonErr == nil && a.Code != nil && *a.Code == 0 {
		return nil
	}
	msg := fmt.Sprintf("answered %d %s", status, http.StatusText(status))
	if jsonErr == nil && a.Code != nil {
		text := a.Text
		if len(text) > 200 {
			text = text[:200]
		}
		msg += fmt.Sprintf(" (code %d, %s)", *a.Code, strconv.Quote(text))
	} else if status == http.StatusOK {
		msg += " without HEC's success code"
	}
	return errors.New(msg)
}
