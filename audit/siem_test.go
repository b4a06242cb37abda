package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/internal/devcert"
)

// treeCheckpoint is a signed checkpoint of a tree of size leaves (a random root) as a witness line holds it.
func treeCheckpoint(t *testing.T, keys audit.Keys, origin string, size uint64) audit.SignedCheckpoint {
	t.Helper()
	root := make([]byte, tlog.HashSize)
	rand.Read(root)
	signed, err := tlog.Sign(tlog.Checkpoint{Origin: origin, Size: size, Root: root}, keys.KeyID, keys.Signing)
	if err != nil {
		t.Fatal(err)
	}
	return audit.SignedCheckpoint{Version: audit.TreeVersion, Seq: int64(size), Hash: root, KeyID: keys.KeyID, Note: string(signed)}
}

// feed plays Checkpoint's part in Extend: it hands the sink's checkpoints after newest, and records each
// newest it was given.
type feed struct {
	all     []audit.SignedCheckpoint
	handed  []int64 // the newest's seq each time (0: none)
	failing error   // next fails with it
}

func (f *feed) next(newest *audit.SignedCheckpoint) ([]audit.SignedCheckpoint, error) {
	var after int64
	if newest != nil {
		after = newest.Seq
	}
	f.handed = append(f.handed, after)
	if f.failing != nil {
		return nil, f.failing
	}
	var add []audit.SignedCheckpoint
	for _, c := range f.all {
		if c.Seq > after {
			add = append(add, c)
		}
	}
	return add, nil
}

func seqs(cps []audit.SignedCheckpoint) []int64 {
	var s []int64
	for _, c := range cps {
		s = append(s, c.Seq)
	}
	return s
}

// openNote opens a tree checkpoint's note with the deployment's public key alone, for origin.
func openNote(t *testing.T, keys audit.Keys, origin, signed string) tlog.Checkpoint {
	t.Helper()
	vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.Open([]byte(signed), origin, v)
	if err != nil {
		t.Fatalf("open the checkpoint %q: %v", signed, err)
	}
	return cp
}

// syslogMessage is an RFC 5424 message as the test receiver parsed it.
type syslogMessage struct {
	PRI                                    int
	Timestamp                              time.Time
	Hostname, AppName, ProcID, MsgID, SDID string
	Params                                 map[string]string
	Msg                                    string // after the BOM
}

var syslogHeader = regexp.MustCompile(`^<([0-9]{1,3})>1 (\S+) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) `)

// parseSyslog parses one SYSLOG-MSG by RFC 5424's grammar: the header, one SD-ELEMENT of
// SD-PARAMs (values with \" \\ \] escapes), and MSG-UTF8 (a BOM, then UTF-8).
func parseSyslog(frame []byte) (syslogMessage, error) {
	var m syslogMessage
	h := syslogHeader.FindSubmatch(frame)
	if h == nil {
		return m, fmt.Errorf("no RFC 5424 header in %q", frame)
	}
	m.PRI, _ = strconv.Atoi(string(h[1]))
	ts, err := time.Parse(time.RFC3339Nano, string(h[2]))
	if err != nil || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$`).Match(h[2]) {
		return m, fmt.Errorf("TIMESTAMP %q: %v", h[2], err)
	}
	m.Timestamp, m.Hostname, m.AppName, m.ProcID, m.MsgID = ts, string(h[3]), string(h[4]), string(h[5]), string(h[6])
	rest := frame[len(h[0]):]
	if len(rest) == 0 || rest[0] != '[' {
		return m, fmt.Errorf("no SD-ELEMENT: %q", rest)
	}
	isName := func(c byte) bool { return c >= 33 && c <= 126 && c != '=' && c != ' ' && c != ']' && c != '"' }
	i := 1
	for i < len(rest) && isName(rest[i]) {
		i++
	}
	m.SDID = string(rest[1:i])
	m.Params = map[string]string{}
	for i < len(rest) && rest[i] == ' ' {
		j := i + 1
		for j < len(rest) && isName(rest[j]) {
			j++
		}
		name := string(rest[i+1 : j])
		if j+1 >= len(rest) || rest[j] != '=' || rest[j+1] != '"' || name == "" || len(name) > 32 {
			return m, fmt.Errorf("bad SD-PARAM at %q", rest[i:])
		}
		var v []byte
		for j += 2; ; j++ {
			if j >= len(rest) {
				return m, errors.New("unterminated PARAM-VALUE")
			}
			c := rest[j]
			if c == '\\' && j+1 < len(rest) && strings.IndexByte(`"\]`, rest[j+1]) >= 0 {
				v = append(v, rest[j+1])
				j++
				continue
			}
			if c == '"' || c == ']' {
				if c == ']' {
					return m, errors.New("an unescaped ] in a PARAM-VALUE")
				}
				break
			}
			v = append(v, c)
		}
		m.Params[name] = string(v)
		i = j + 1
	}
	if i >= len(rest) || rest[i] != ']' {
		return m, fmt.Errorf("SD-ELEMENT not closed: %q", rest[i:])
	}
	msg, ok := bytes.CutPrefix(rest[i+1:], []byte(" \xEF\xBB\xBF"))
	if !ok || !utf8.Valid(msg) {
		return m, fmt.Errorf("MSG is not a BOM and UTF-8: %q", rest[i+1:])
	}
	m.Msg = string(msg)
	return m, nil
}

// syslogReceiver is a syslog over TLS receiver (RFC 5425) on loopback: it reads octet-counted frames until
// the sender closes, then closes too, and keeps the messages of the connections it read to the end.
type syslogReceiver struct {
	t    *testing.T
	ln   net.Listener
	addr string

	mu       sync.Mutex
	messages []syslogMessage
	conns    int
	resets   int // connections still to reset at once, without reading
	errs     []error
	done     chan struct{}
}

func newSyslogReceiver(t *testing.T, server *tls.Config) *syslogReceiver {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		t.Fatal(err)
	}
	r := &syslogReceiver{t: t, ln: ln, addr: ln.Addr().String(), done: make(chan struct{})}
	go r.serve()
	t.Cleanup(func() {
		ln.Close()
		<-r.done
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, err := range r.errs {
			t.Errorf("syslog receiver: %v", err)
		}
	})
	return r
}

func (r *syslogReceiver) serve() {
	defer close(r.done)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := r.ln.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.handle(conn.(*tls.Conn))
		}()
	}
}

func (r *syslogReceiver) handle(conn *tls.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r.mu.Lock()
	r.conns++
	reset := r.resets > 0
	if reset {
		r.resets--
	}
	r.mu.Unlock()
	if reset {
		conn.NetConn().(*net.TCPConn).SetLinger(0) // a receiver that fails: the connection is reset
		return
	}
	if err := conn.Handshake(); err != nil {
		return // a client refused: no certificate, or not trusting ours
	}
	var got []syslogMessage
	br := bufio.NewReader(conn)
	for {
		// SYSLOG-FRAME = MSG-LEN SP SYSLOG-MSG; MSG-LEN = NONZERO-DIGIT *DIGIT
		lenText, err := br.ReadString(' ')
		if errors.Is(err, io.EOF) && lenText == "" {
			break
		}
		n, perr := strconv.Atoi(strings.TrimSuffix(lenText, " "))
		if err != nil || perr != nil || n < 1 || lenText[0] == '0' {
			r.fail(fmt.Errorf("bad MSG-LEN %q: %v", lenText, err))
			return
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			r.fail(fmt.Errorf("frame of %d octets: %v", n, err))
			return
		}
		m, err := parseSyslog(frame)
		if err != nil {
			r.fail(err)
			return
		}
		got = append(got, m)
	}
	r.mu.Lock()
	r.messages = append(r.messages, got...)
	r.mu.Unlock()
}

func (r *syslogReceiver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// state is what the receiver holds and how many connections it took.
func (r *syslogReceiver) state() ([]syslogMessage, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.messages), r.conns
}

func (r *syslogReceiver) resetNext(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resets = n
}

// mutualTLS makes a receiver's certificate and a client's, each trusting the other's CA.
func mutualTLS(t *testing.T) (server, client *tls.Config, clientBundle *devcert.Bundle) {
	t.Helper()
	srv, err := devcert.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := devcert.New("signetassure-worker")
	if err != nil {
		t.Fatal(err)
	}
	server, err = srv.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	server.ClientAuth, server.ClientCAs = tls.RequireAndVerifyClientCert, cli.Pool()
	pair, err := tls.X509KeyPair(cli.CertPEM, cli.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return server, &tls.Config{RootCAs: srv.Pool(), Certificates: []tls.Certificate{pair}}, cli
}

// The syslog sink sends each checkpoint once, in order, as an RFC 5424 message over mutual TLS that the
// receiver parses and whose note opens with the public key; a receiver that fails gets the same
// checkpoints again, none skipped, and nothing already taken is sent again.
func TestSyslogSinkDeliversEachCheckpointOnce(t *testing.T) {
	keys := newKeys(t, "k1", "")
	serverTLS, clientTLS, _ := mutualTLS(t)
	r := newSyslogReceiver(t, serverTLS)
	state := filepath.Join(t.TempDir(), "syslog-state.json")
	sink, err := audit.NewSyslogSink(r.addr, clientTLS, state)
	if err != nil {
		t.Fatal(err)
	}
	sink.Hostname = "worker-1"
	ctx := context.Background()
	origin := `signetassure.test/audit "q"]\`
	f := &feed{}
	for _, size := range []uint64{3, 5, 8} {
		f.all = append(f.all, treeCheckpoint(t, keys, origin, size))
	}

	r.resetNext(1)
	if err := sink.Extend(ctx, f.next); err == nil {
		t.Fatal("a receiver that reset the connection: no error")
	}
	if got, _ := r.state(); len(got) != 0 {
		t.Fatalf("taken by a failing receiver: %d", len(got))
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state written after a failure: %v", err)
	}
	if err := sink.Extend(ctx, f.next); err != nil {
		t.Fatal(err)
	}
	got, conns := r.state()
	if len(got) != 3 || conns != 2 {
		t.Fatalf("after the retry: %d messages on %d connections, want 3 on 2", len(got), conns)
	}
	before := time.Now()
	for i, m := range got {
		want := f.all[i]
		if m.PRI != 109 || m.AppName != "signetassure" || m.Hostname != "worker-1" || m.MsgID != "checkpoint" ||
			m.SDID != audit.SyslogSDID || m.ProcID != strconv.Itoa(os.Getpid()) || m.Timestamp.After(before) ||
			m.Timestamp.Location() != time.UTC {
			t.Errorf("message %d header: %+v", i, m)
		}
		cp := openNote(t, keys, m.Params["origin"], m.Msg)
		if m.Params["kind"] != "tree" || m.Params["origin"] != origin || cp.Origin != origin ||
			m.Params["size"] != strconv.FormatInt(want.Seq, 10) || cp.Size != uint64(want.Seq) ||
			m.Params["rootHash"] != base64.StdEncoding.EncodeToString(want.Hash) || !bytes.Equal(cp.Root, want.Hash) ||
			m.Params["keyId"] != keys.KeyID || m.Msg != want.Note {
			t.Errorf("message %d: %+v, want the checkpoint of size %d", i, m, want.Seq)
		}
	}

	// Nothing new: nothing is sent, not even a connection.
	if err := sink.Extend(ctx, f.next); err != nil {
		t.Fatal(err)
	}
	if _, c := r.state(); c != 2 {
		t.Fatalf("a connection for nothing: %d", c)
	}
	f.all = append(f.all, treeCheckpoint(t, keys, origin, 13))
	if err := sink.Extend(ctx, f.next); err != nil {
		t.Fatal(err)
	}
	got, _ = r.state()
	var sizes []string
	for _, m := range got {
		sizes = append(sizes, m.Params["size"])
	}
	if !slices.Equal(sizes, []string{"3", "5", "8", "13"}) {
		t.Fatalf("received %v, want each checkpoint once in order", sizes)
	}
	if !slices.Equal(f.handed, []int64{0, 0, 8, 8}) {
		t.Fatalf("newest handed to next: %v", f.handed)
	}
	// The state file is a witness file of one line: audit verify --witness reads it.
	cps, problem, err := audit.ReadWitnessFile(state)
	if err != nil || problem != nil || len(cps) != 1 || cps[0].Seq != 13 || cps[0].Note != f.all[3].Note {
		t.Fatalf("state file: %v %v %v", seqs(cps), problem, err)
	}
}

// A chain checkpoint (before the tree) goes as kind chain, its witness line the message; a next that
// fails sends nothing.
func TestSyslogSinkChainCheckpointAndFailingNext(t *testing.T) {
	serverTLS, clientTLS, _ := mutualTLS(t)
	r := newSyslogReceiver(t, serverTLS)
	sink, err := audit.NewSyslogSink(r.addr, clientTLS, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	chain := audit.SignedCheckpoint{Version: 2, Seq: 7, Hash: bytes.Repeat([]byte{1}, 32), KeyID: "k1",
		SignedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Signature: []byte("sig")}
	broken := &audit.ChainError{Problem: audit.Problem{Kind: audit.WitnessMismatch}}
	f := &feed{all: []audit.SignedCheckpoint{chain}, failing: broken}
	if err := sink.Extend(context.Background(), f.next); !errors.As(err, &broken) {
		t.Fatalf("next failing: %v", err)
	}
	f.failing = nil
	if err := sink.Extend(context.Background(), f.next); err != nil {
		t.Fatal(err)
	}
	got, conns := r.state()
	if len(got) != 1 || conns != 1 {
		t.Fatalf("%d messages on %d connections", len(got), conns)
	}
	var line audit.SignedCheckpoint
	if err := json.Unmarshal([]byte(got[0].Msg), &line); err != nil || !line.Equal(chain) ||
		got[0].Params["kind"] != "chain" || got[0].Params["size"] != "7" || got[0].Params["origin"] != "" {
		t.Fatalf("chain message: %+v, %v", got[0], err)
	}
}

// Mutual TLS: without the client certificate the receiver takes nothing; with a receiver not trusted
// (another CA) the sink sends nothing.
func TestSyslogSinkTLS(t *testing.T) {
	keys := newKeys(t, "k1", "")
	serverTLS, clientTLS, _ := mutualTLS(t)
	r := newSyslogReceiver(t, serverTLS)
	f := &feed{all: []audit.SignedCheckpoint{treeCheckpoint(t, keys, testOrigin, 1)}}
	noCert := clientTLS.Clone()
	noCert.Certificates = nil
	other, err := devcert.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*tls.Config{"no client certificate": noCert,
		"receiver not trusted": {RootCAs: other.Pool(), Certificates: clientTLS.Certificates}} {
		state := filepath.Join(t.TempDir(), "state")
		sink, err := audit.NewSyslogSink(r.addr, cfg, state)
		if err != nil {
			t.Fatal(err)
		}
		err = sink.Extend(context.Background(), f.next)
		t.Logf("%s: %v", name, err)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: state written", name)
		}
	}
	if got, _ := r.state(); len(got) != 0 {
		t.Fatalf("received %d", len(got))
	}
	for _, addr := range []string{"syslog.example", ":6514", "host:0", "host:https"} {
		if _, err := audit.NewSyslogSink(addr, nil, "state"); err == nil {
			t.Errorf("NewSyslogSink(%q) accepted", addr)
		}
	}
}
