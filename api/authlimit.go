package api

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Failed authentication, of partner keys and staff tokens alike, is limited per caller address: a caller
// that presents bad keys or tokens gets 429 (with Retry-After) for every call, good credentials or not,
// until its allowance refills. IPv6 callers are
// counted per /64, the block one host usually holds. The state is per API process.
const (
	// AuthFailureBurst is how many failed authentications a caller may make at once.
	AuthFailureBurst = 10
	// AuthFailuresPerMinute is how fast that allowance refills.
	AuthFailuresPerMinute = 10
	// maxTrackedCallers bounds the memory the limiter holds: past it, callers whose allowance is full
	// again are forgotten.
	maxTrackedCallers = 10000
)

type failureLimiter struct {
	mu      sync.Mutex
	callers map[string]*rate.Limiter
}

func newFailureLimiter() *failureLimiter {
	return &failureLimiter{callers: map[string]*rate.Limiter{}}
}

// callerKey is the address a caller is counted under: itself, or its /64 for IPv6.
func callerKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

// blocked reports whether the caller used up its allowance of failures, and how long until one more is
// allowed.
func (f *failureLimiter) blocked(ip string, now time.Time) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.callers[callerKey(ip)]
	if !ok {
		return 0, false
	}
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second)), true
}

// fail counts one failed authentication of the caller.
func (f *failureLimiter) fail(ip string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := callerKey(ip)
	l, ok := f.callers[key]
	if !ok {
		if len(f.callers) >= maxTrackedCallers {
			for k, c := range f.callers {
				if c.TokensAt(now) >= AuthFailureBurst {
					delete(f.callers, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Limit(AuthFailuresPerMinute/60.0), AuthFailureBurst)
		f.callers[key] = l
	}
	l.AllowN(now, 1)
}

// retryAfter tells the caller, in whole seconds (at least one), how long to wait before calling again.
func retryAfter(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
}

// refuseCounted answers a call refused before it was authenticated (a bad key or token, or an address
// past its allowance) and counts it against its address, endpoint and the minute, outside the audit
// chain. Should the count not be written, the caller gets 503 rather than an uncounted answer.
func (s *Server) refuseCounted(c *gin.Context, ip, endpoint string, p *Problem, outcome string) {
	if err := s.Store.CountAuthFailure(c, ip, endpoint, outcome); err != nil {
		s.Log.Error("failed authentication not counted", "route", c.FullPath(), "error", err)
		c.Writer.Header().Del("Retry-After")
		p = problem(http.StatusServiceUnavailable, "unavailable", "the call could not be recorded; nothing was done")
	}
	s.writeError(c, p)
}
