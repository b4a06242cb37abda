package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// SyslogSink sends every checkpoint to a syslog receiver (a SIEM) as an RFC 5424 message over TLS, framed
// by octet counting (RFC 5425), so the SIEM keeps a copy outside the database as an external witness.
//
// Each message is `<109>1 TIMESTAMP HOSTNAME signetassure PROCID checkpoint [checkpoint@32473 kind=
// origin= size= rootHash= keyId=] BOM+MSG`: facility 13 (log audit), severity 5 (notice); the structured
// data carries the fields to search on, and MSG (UTF-8, marked by its BOM) is the signed checkpoint itself
// (the C2SP tlog-checkpoint note, which opens with the public key; a chain checkpoint's witness line).
//
// A syslog receiver cannot say which checkpoints it holds, so the newest one sent is kept in a local
// state file (see sentState). Syslog has no acknowledgment: one Extend sends its checkpoints on one
// connection, then closes it (TLS close_notify) and waits briefly for the receiver to close too; only then
// do they count as sent. A connection refused, reset or cut short sends them all again next time.
type SyslogSink struct {
	addr  string
	tls   *tls.Config
	state sentState
	// Hostname is the messages' HOSTNAME (default: os.Hostname()); SDID their SD-ID (default
	// SyslogSDID); Timeout bounds one Extend's connection (default 30s).
	Hostname string
	SDID     string
	Timeout  time.Duration
	now      func() time.Time
}

// SyslogSDID is the SD-ID of the checkpoint's structured data. RFC 5424 wants a private enterprise number
// after the @ for an SD-ID not registered with IANA; SignetAssure has none, so it uses 32473, the one
// reserved for documentation (RFC 5612).
const SyslogSDID = "checkpoint@32473"

// SyslogAppName is the messages' APP-NAME.
const SyslogAppName = "signetassure"

// syslogPRI is facility 13 (log audit) × 8 + severity 5 (notice).
const syslogPRI = 13*8 + 5

// NewSyslogSink sends to the receiver at addr (host:port; RFC 5425's port is 6514) over TLS configured by
// cfg (its RootCAs, and Certificates for mutual TLS; nil: the system's roots), keeping the newest
// checkpoint sent in the file statePath.
func NewSyslogSink(addr string, cfg *tls.Config, statePath string) (*SyslogSink, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return nil, fmt.Errorf("%q is not host:port (the syslog over TLS port is 6514)", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("%q: the port is not a number from 1 to 65535", addr)
	}
	if statePath == "" {
		return nil, errors.New("a syslog sink needs a state file")
	}
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	cfg.MinVersion = max(cfg.MinVersion, tls.VersionTLS12) // RFC 9662
	return &SyslogSink{addr: addr, tls: cfg, state: sentState{Path: statePath}}, nil
}

// String names the sink in messages.
func (s *SyslogSink) String() string { return "syslog " + s.addr }

// Extend implements Sink.
func (s *SyslogSink) Extend(ctx context.Context, next func(newest *SignedCheckpoint) ([]SignedCheckpoint, error)) error {
	if err := s.state.extend(ctx, next, s.send); err != nil {
		return fmt.Errorf("audit %s: %w", s, err)
	}
	return nil
}

// closeWait is how long, after its last message, the sink waits for the receiver to close the connection.
const closeWait = 2 * time.Second

// send writes cps on one TLS connection and closes it; all of them count as sent or none.
func (s *SyslogSink) send(ctx context.Context, cps []SignedCheckpoint) (int, error) {
	var frames bytes.Buffer
	host := s.hostname()
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	for _, c := range cps {
		msg, err := s.message(c, host, now())
		if err != nil {
			return 0, err
		}
		frames.WriteString(strconv.Itoa(len(msg)))
		frames.WriteByte(' ')
		frames.Write(msg)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := tls.Dialer{Config: s.tls}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) // cancelled: unblock
	defer stop()
	if err := conn.SetDeadline(deadline); err != nil {
		return 0, err
	}
	if _, err := conn.Write(frames.Bytes()); err != nil {
		return 0, fmt.Errorf("send: %w", err)
	}
	tc := conn.(*tls.Conn)
	if err := tc.CloseWrite(); err != nil { // close_notify
		return 0, fmt.Errorf("close: %w", err)
	}
	if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
		tcp.CloseWrite() // and the TCP FIN, for a receiver that waits for it
	}
	// The receiver closes when it has read everything; one that keeps the connection open is given
	// closeWait. A reset means it did not take the messages.
	if wait := time.Now().Add(closeWait); wait.Before(deadline) {
		if err := conn.SetReadDeadline(wait); err != nil {
			return 0, err
		}
	}
	_, err = io.Copy(io.Discard, io.LimitReader(conn, 64<<10))
	var ne net.Error
	if err != nil && !(errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil) {
		return 0, fmt.Errorf("close: %w", err)
	}
	return len(cps), nil
}

func (s *SyslogSink) hostname() string {
	h := s.Hostname
	if h == "" {
		h, _ = os.Hostname()
	}
	return headerField(h, 255)
}

// message is one RFC 5424 SYSLOG-MSG for c.
func (s *SyslogSink) message(c SignedCheckpoint, host string, at time.Time) ([]byte, error) {
	e, err := newSIEMCheckpoint(c)
	if err != nil {
		return nil, err
	}
	sdid := s.SDID
	if sdid == "" {
		sdid = SyslogSDID
	}
	var b bytes.Buffer
	// HEADER: PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
	fmt.Fprintf(&b, "<%d>1 %s %s %s %d checkpoint ", syslogPRI, at.UTC().Format("2006-01-02T15:04:05.000000Z"),
		host, SyslogAppName, os.Getpid())
	// STRUCTURED-DATA: one SD-ELEMENT.
	b.WriteString("[" + headerField(sdid, 32))
	for _, p := range [][2]string{{"kind", e.Kind}, {"origin", e.Origin}, {"size", strconv.FormatInt(e.Size, 10)},
		{"rootHash", e.RootHash}, {"keyId", e.KeyID}} {
		if p[1] == "" {
			continue
		}
		b.WriteString(" " + p[0] + `="` + sdEscape(p[1]) + `"`)
	}
	b.WriteString("] \xEF\xBB\xBF") // MSG-UTF8: the BOM, then the message
	b.WriteString(e.message())
	return b.Bytes(), nil
}

// headerField is s as a header field of RFC 5424: printable US-ASCII (33 to 126), at most n octets, "-"
// (the nil value) when empty.
func headerField(s string, n int) string {
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	if len(b) > n {
		b = b[:n]
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' take a backslash (RFC 5424 6.3.3).
func sdEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(v)
}
