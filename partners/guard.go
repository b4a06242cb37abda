package partners

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/signetassure/signetassure/domain"

	"github.com/signetassure/signetassure/tracing"
)

// Where partner calls may go. A partner's base URL is set by an admin, but where its name resolves is
// not: every outbound call checks the address it is about to connect to, so no partner entry (nor a
// DNS answer) can point SignetAssure at itself, the cloud metadata service or the internal network.

// ErrBaseURL marks a partner base URL that is not allowed (not https, userinfo, a fragment, a query, or
// a literal address in a forbidden range).
var ErrBaseURL = errors.New("the partner's base URL is not allowed")

// BaseURLError is a base URL CheckBaseURL refused, and why; it wraps ErrBaseURL.
type BaseURLError struct{ Reason string }

func (e *BaseURLError) Error() string { return ErrBaseURL.Error() + ": " + e.Reason }
func (e *BaseURLError) Unwrap() error { return ErrBaseURL }

// ErrForbiddenAddress marks a connection refused because the partner's name resolved to a loopback,
// private, link-local, shared (CGNAT), unspecified or multicast address.
var ErrForbiddenAddress = errors.New("the partner's address is not a public address")

// forbiddenPrefixes are the ranges no partner call may connect to (loopback is only allowed in
// loopback development).
var forbiddenPrefixes = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network", unspecified
		"10.0.0.0/8",      // RFC 1918
		"100.64.0.0/10",   // shared address space (CGNAT)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (cloud metadata)
		"172.16.0.0/12",   // RFC 1918
		"192.0.0.0/24",    // IETF protocol assignments
		"192.168.0.0/16",  // RFC 1918
		"198.18.0.0/15",   // benchmarking
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, broadcast
		"::/128",          // unspecified
		"::1/128",         // loopback
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"ff00::/8",        // multicast
		"64:ff9b:1::/48",  // local-use NAT64
		"2001:db8::/32",   // documentation
		"100::/64",        // discard
		"2002::/16",       // 6to4: embeds an IPv4 address
		"2001::/32",       // Teredo: embeds an IPv4 address
		"::ffff:0:0/96",   // IPv4-mapped (checked unmapped too)
		"::ffff:0:0:0/96", // IPv4-translated
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// AddressAllowed reports whether a partner call may connect to addr. IPv4-mapped IPv6 addresses are
// judged as the IPv4 address they carry; loopback is allowed only when allowLoopback is set (loopback
// development: partners on this machine).
func AddressAllowed(addr netip.Addr, allowLoopback bool) bool {
	addr = addr.WithZone("")
	if addr.Is4In6() {
		addr = addr.Unmap()
	}
	if !addr.IsValid() {
		return false
	}
	if addr.IsLoopback() {
		return allowLoopback
	}
	if addr.IsUnspecified() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() {
		return false
	}
	for _, p := range forbiddenPrefixes {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// CheckBaseURL checks a partner's base URL and returns it normalised (no trailing slash): https only (http
// too for localhost or a loopback address when allowLoopback is set: partners on this machine in
// development), a host, no userinfo, no
// query, no fragment, and no literal address that AddressAllowed refuses. Its error is a *BaseURLError
// saying what is wrong, never repeating the URL.
func CheckBaseURL(raw string, allowLoopback bool) (string, error) {
	bad := func(why string) (string, error) { return "", &BaseURLError{Reason: why} }
	raw, err := domain.CleanText(raw, domain.TextLine, 2000)
	if err != nil {
		return bad("must be a URL of at most 2000 plain characters (no control, bidirectional or invisible ones)")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "":
		return bad("must be an absolute https URL")
	case u.Scheme != "https" && !(allowLoopback && u.Scheme == "http" && isLoopbackHost(u.Hostname())):
		return bad("must be an https URL (http only to this machine, in loopback development)")
	case u.User != nil:
		return bad("must not hold a user name or password")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("must not hold a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("must not hold a fragment")
	case u.Hostname() == "":
		return bad("must name a host")
	}
	if addr, err := netip.ParseAddr(u.Hostname()); err == nil && !AddressAllowed(addr, allowLoopback) {
		return bad("must not be a loopback, private, link-local or otherwise internal address")
	}
	if u.Port() != "" {
		if p := u.Port(); len(p) > 5 || strings.Trim(p, "0123456789") != "" {
			return bad("has an invalid port")
		}
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

// isLoopbackHost reports whether host is "localhost" or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// dialControl refuses, at connect time, an address AddressAllowed refuses: whatever a name resolved to.
func dialControl(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return ErrForbiddenAddress
		}
		addr, err := netip.ParseAddr(host)
		if err != nil || !AddressAllowed(addr, allowLoopback) {
			return ErrForbiddenAddress
		}
		return nil
	}
}

var (
	guardedMu      sync.Mutex
	guardedClients = map[bool]*http.Client{}
)

// HTTPClient is the http.Client of every call to a partner: no proxy (the address checked is the
// partner's own), each connection's address checked at dial time (loopback allowed only when
// allowLoopback is set), a DefaultTimeout bound on the whole call. One client per setting is shared, so
// connections are reused.
func HTTPClient(allowLoopback bool) *http.Client {
	guardedMu.Lock()
	defer guardedMu.Unlock()
	if c, ok := guardedClients[allowLoopback]; ok {
		return c
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: dialControl(allowLoopback)}
	t := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	c := &http.Client{Transport: tracing.Transport(t), Timeout: DefaultTimeout}
	guardedClients[allowLoopback] = c
	return c
}

// Unreachable is the one wording for a partner that could not be reached, whatever the reason (refused,
// timed out, name not found, TLS failure, an address not allowed): a caller cannot tell them apart, so
// no answer reveals what listens where.
const Unreachable = "the partner could not be reached"

// Describe says in a line, for staff, why a call to a partner failed: the status a partner answered,
// an answer that was not valid, a base URL not allowed, or Unreachable. It never repeats the error's own
// text (which may name addresses and ports).
func Describe(err error) string {
	var pe *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pe):
		return fmt.Sprintf("the partner answered %d %s", pe.Status, http.StatusText(pe.Status))
	case errors.Is(err, ErrInvalidAnswer):
		return "the partner's answer was not valid"
	case errors.Is(err, ErrBaseURL):
		return "the partner's base URL is not allowed"
	case errors.Is(err, ErrNoCredential), errors.Is(err, ErrOpen), errors.Is(err, ErrUnknownKey), errors.Is(err, ErrNoKeys):
		return "we hold no usable credential for the partner"
	}
	return Unreachable
}
