package testenv

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// OTLPReceiver is an OpenTelemetry collector's OTLP/HTTP trace endpoint on loopback, for
// OTEL_EXPORTER_OTLP_ENDPOINT: it takes protobuf exports POSTed to /v1/traces and refuses (and notes)
// anything else. It stops when the test ends.
type OTLPReceiver struct {
	URL     string
	mu      sync.Mutex
	exports []*collectortrace.ExportTraceServiceRequest
	refused []string
}

// NewOTLPReceiver starts a receiver for the test.
func NewOTLPReceiver(t testing.TB) *OTLPReceiver {
	o := &OTLPReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	return o
}

func (o *OTLPReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		o.refused = append(o.refused, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		http.Error(w, "not an OTLP/HTTP trace export", http.StatusBadRequest)
		return
	}
	req := &collectortrace.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(body, req); err != nil {
		o.refused = append(o.refused, "undecodable: "+err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.exports = append(o.exports, req)
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(b)
}

// ReceivedSpan is a span as exported, with its resource's attributes.
type ReceivedSpan struct {
	Resource []*commonpb.KeyValue
	*tracepb.Span
}

// Service is the span's service.name.
func (s ReceivedSpan) Service() string { v, _ := StringAttr(s.Resource, "service.name"); return v }

// Spans is every span received so far, and what was refused (requests that were not OTLP trace exports).
func (o *OTLPReceiver) Spans() (spans []ReceivedSpan, refused []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, req := range o.exports {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, ReceivedSpan{Resource: rs.GetResource().GetAttributes(), Span: s})
				}
			}
		}
	}
	return spans, append([]string(nil), o.refused...)
}

// StringAttr is the string value of key among attrs, and whether it is there.
func StringAttr(attrs []*commonpb.KeyValue, key string) (string, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.GetStringValue(), true
		}
	}
	return "", false
}
