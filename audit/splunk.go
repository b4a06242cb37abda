package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/signetassure/signetassure/internal/splunkhec"

	"github.com/signetassure/signetassure/tracing"
)

// SplunkHECSink sends every checkpoint to a Splunk HTTP Event Collector as one event (POST
// /services/collector/event, "Authorization: Splunk <token>"), so Splunk keeps a copy outside the database
// as an external witness:
//
//	{"time": <seconds since the epoch, to the millisecond>, "host": <this host>, "source": "signetassure",
//	 "sourcetype": "signetassure:audit:checkpoint", "event": {"kind": "tree", "origin": ..., "size": ...,
//	 "rootHash": ..., "keyId": ..., "checkpoint": <the signed C2SP tlog-checkpoint note>}}
//
// (a chain checkpoint's event has "kind": "chain" and "witnessLine", the checkpoint as a witness file holds
// it, instead of "checkpoint"). An event counts as sent when Splunk answers 200 with code 0 ({"text":
// "Success","code":0}); anything else (503 "Server is busy", 403 "Invalid token", a timeout) stops the
// Extend there, and the next one sends from that event on: the newest event Splunk took is kept in a local
// state file (see sentState). Indexer acknowledgment is not used: a token with it enabled is refused (code
// 10, "Data channel is missing"), visibly.
type SplunkHECSink struct {
	url    string
	token  string
	state  sentState
	client *http.Client
	// Host is the events' host (default: os.Hostname()).
	Host string
	now  func() time.Time
}

// SplunkSourceType is the events' sourcetype (their source is splunkhec.Source).
const SplunkSourceType = "signetassure:audit:checkpoint"

// maxSplunkAnswer bounds what is read of Splunk's answer.
const maxSplunkAnswer = 64 << 10

// NewSplunkHECSink sends to the collector at rawURL (https; http only to a loopback address, for tests and
// development; without a path, /services/collector/event) with token, keeping the newest checkpoint sent
// in the file statePath. Errors never hold the token.
func NewSplunkHECSink(rawURL, token, statePath string) (*SplunkHECSink, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("not an absolute URL without credentials, query or fragment")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, errors.New("want https (http only to a loopback address)")
	}
	splunkhec.WithEventPath(u)
	if !splunkhec.ValidToken(token) {
		return nil, errors.New("the token is empty or holds spaces")
	}
	if statePath == "" {
		return nil, errors.New("a Splunk HEC sink needs a state file")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: tracing.Transport(nil),
		// A redirect is an answer other than success, not followed: the token goes to the URL configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &SplunkHECSink{url: u.String(), token: token, state: sentState{Path: statePath}, client: client}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String names the sink in messages, without its token.
func (s *SplunkHECSink) String() string { return "Splunk HEC " + s.url }

// GoString is String: %#v does not print the token.
func (s *SplunkHECSink) GoString() string { return s.String() }

// Extend implements Sink.
func (s *SplunkHECSink) Extend(ctx context.Context, next func(newest *SignedCheckpoint) ([]SignedCheckpoint, error)) error {
	if err := s.state.extend(ctx, next, s.send); err != nil {
		return fmt.Errorf("audit %s: %w", s, err)
	}
	return nil
}

// send posts cps one event at a time, in order, stopping at the first not taken.
func (s *SplunkHECSink) send(ctx context.Context, cps []SignedCheckpoint) (int, error) {
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	for i, c := range cps {
		e, err := newSIEMCheckpoint(c)
		if err != nil {
			return i, err
		}
		body, err := json.Marshal(splunkhec.NewEvent(now(), s.Host, SplunkSourceType, e))
		if err != nil {
			return i, err
		}
		if err := s.post(ctx, body); err != nil {
			return i, fmt.Errorf("%s: %w", e.describe(), err)
		}
	}
	return len(cps), nil
}

func (s *SplunkHECSink) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", splunkhec.Authorization(s.token))
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the message already
		}
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSplunkAnswer))
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	return splunkhec.Check(resp.StatusCode, data)
}

// describe names the checkpoint in messages.
func (e siemCheckpoint) describe() string {
	if e.Kind == "tree" {
		return describeTree(uint64(e.Size))
	}
	return "chain checkpoint at seq " + strconv.FormatInt(e.Size, 10)
}
