package webhooks

import (
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/signetassure/signetassure/internal/splunkhec"
)

// SplunkSourceType is the sourcetype of lifecycle events sent to a splunk-hec subscription (their source
// is splunkhec.Source, as the audit checkpoints').
const SplunkSourceType = "signetassure:event"

// SplunkURL is a splunk-hec subscription's URL: raw (checked by CheckURL) with HEC's event endpoint as its
// path when it has none.
func SplunkURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	splunkhec.WithEventPath(u)
	return u.String()
}

// splunkHEC makes m a splunk-hec delivery: its body (the CloudEvents envelope) becomes the event of a HEC
// JSON event of the time the event occurred, it carries the HEC token, and it counts as delivered only when
// Splunk answers its success (200, code 0). The Standard Webhooks headers stay: a proxy in front may check
// them.
func (d Deliverer) splunkHEC(m Message, token string, occurred time.Time) (Message, error) {
	if token == "" {
		return m, errors.New("webhooks: a splunk-hec subscription without its token")
	}
	body, err := json.Marshal(splunkhec.NewEvent(occurred, d.Host, SplunkSourceType, json.RawMessage(m.Body)))
	if err != nil {
		return m, err
	}
	m.Body, m.Authorization, m.Accept = body, splunkhec.Authorization(token), splunkhec.Check
	return m, nil
}
