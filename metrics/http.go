package metrics

import (
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Unmatched is the route label of requests no route matched: their raw paths could hold anything.
const Unmatched = "unmatched"

// HTTP records the API's requests by route template, method and status.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewHTTP registers the request metrics in reg.
func NewHTTP(reg prometheus.Registerer) (*HTTP, error) {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
			Name: "requests_total", Help: "HTTP requests answered, by route template, method and status."},
			[]string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "http",
			Name: "request_duration_seconds", Help: "Time to answer HTTP requests, by route template and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"route", "method"}),
	}
	for _, c := range []prometheus.Collector{h.requests, h.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Middleware is gin middleware that records each request under its route template (c.FullPath, e.g.
// /api/v1/cases/:ref), never its raw path.
func (h *HTTP) Middleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route, method := Route(c), Method(c.Request.Method)
	h.requests.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Inc()
	h.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

// Route is the request's route template (c.FullPath, e.g. /api/v1/cases/:ref), or Unmatched.
func Route(c *gin.Context) string {
	if route := c.FullPath(); route != "" {
		return route
	}
	return Unmatched
}

// Method is method, or "other" for one that is not a standard one: a method is whatever the client
// sends, and labels and span names keep to a closed set.
func Method(method string) string {
	if !knownMethods[method] {
		return "other"
	}
	return method
}

var knownMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true}
