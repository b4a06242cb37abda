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

// Callers are limited per API process, in memory, by token buckets (a burst at once, then a steady
// rate): failed authentication per address, and staff requests per token or session and per address.
// With several API processes behind a load balancer a caller meets up to that many times the limit;
// the limits keep one caller from taking a process, and a load balancer's own limit makes an exact one.
const (
	// AuthFailureBurst is how many failed authentications a caller may make at once.
	AuthFailureBurst = 10
	// AuthFailuresPerMinute is how fast that allowance refills.
	AuthFailuresPerMinute = 10
	// DefaultStaffRate is how many requests a minute one staff token or session may make
	// (STAFF_RATE_LIMIT), and DefaultAddressRate how many all staff requests from one address may
	// (STAFF_ADDRESS_RATE_LIMIT; an office behind one NAT address shares it). A minute's worth may come
	// at once.
	DefaultStaffRate   = 600
	DefaultAddressRate = 3000
	// maxTrackedCallers bounds the memory a limiter holds: past it, callers whose allowance is full
	// again are forgotten.
	maxTrackedCallers = 10000
)

// limiter is a token bucket per caller key.
type limiter struct {
	perMinute, burst int
	mu               sync.Mutex
	callers          map[string]*rate.Limiter
}

func newLimiter(perMinute, burst int) *limiter {
	return &limiter{perMinute: perMinute, burst: burst, callers: map[string]*rate.Limiter{}}
}

// callerKey is the address a caller is counted under: itself, or its /64 for IPv6, the block one host
// usually holds.
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

// blocked reports, without taking anything, whether key used up its allowance, and how long until one
// more is allowed.
func (f *limiter) blocked(key string, now time.Time) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.callers[key]
	if !ok {
		return 0, false
	}
	return untilOne(l, now)
}

// take counts one against key's allowance; when there was none left, it reports how long until one more.
func (f *limiter) take(key string, now time.Time) (time.Duration, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.callers[key]
	if !ok {
		if len(f.callers) >= maxTrackedCallers {
			for k, c := range f.callers {
				if c.TokensAt(now) >= float64(f.burst) {
					delete(f.callers, k)
				}
			}
		}
		l = rate.NewLimiter(rate.Limit(float64(f.perMinute)/60.0), f.burst)
		f.callers[key] = l
	}
	if l.AllowN(now, 1) {
		return 0, true
	}
	wait, _ := untilOne(l, now)
	return wait, false
}

// untilOne is how long until l allows one more.
func untilOne(l *rate.Limiter, now time.Time) (time.Duration, bool) {
	tokens := l.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second)), true
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
