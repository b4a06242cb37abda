package adsim

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"
)

// Options say where the simulator listens and whether it speaks TLS.
type Options struct {
	// Addr is host:port to listen on; empty means 127.0.0.1 on a free port.
	Addr string
	// TLS, when set, is offered by StartTLS on an ldap:// listener, or used from the start with LDAPS.
	// Without it StartTLS is answered unavailable, as AD without a certificate does.
	TLS   *tls.Config
	LDAPS bool
}

// Stats count what the simulator was asked.
type Stats struct {
	Binds       int // successful binds with a password
	FailedBinds int // binds answered invalidCredentials
	Searches    int
}

// Server is a running simulator.
type Server struct {
	srv  *gldap.Server
	url  string
	tls  *tls.Config
	tree *tree

	mu    sync.Mutex
	bound map[int]string // connection id → the normalised DN it is bound as ("" anonymous)
	busy  bool
	stats Stats
}

// Start serves dir and returns once the simulator accepts connections.
func Start(dir Directory, opts Options) (*Server, error) {
	if opts.LDAPS && opts.TLS == nil {
		return nil, errors.New("adsim: LDAPS needs a TLS configuration")
	}
	s := &Server{tls: opts.TLS, tree: build(dir), bound: map[int]string{}}
	for attempt := 0; ; attempt++ {
		addr := opts.Addr
		if addr == "" {
			addr = freeAddr()
		}
		err := s.run(addr, opts)
		if err == nil {
			return s, nil
		}
		if opts.Addr != "" || attempt == 2 {
			return nil, err
		}
	}
}

func (s *Server) run(addr string, opts Options) error {
	srv, err := gldap.NewServer(gldap.WithLogger(hclog.NewNullLogger()), gldap.WithOnClose(s.closed))
	if err != nil {
		return err
	}
	mux, err := gldap.NewMux()
	if err != nil {
		return err
	}
	for _, err := range []error{
		mux.Bind(s.bind),
		mux.Search(s.search),
		mux.ExtendedOperation(s.startTLS, gldap.ExtendedOperationStartTLS),
		mux.DefaultRoute(s.unsupported),
		srv.Router(mux),
	} {
		if err != nil {
			return fmt.Errorf("adsim: %w", err)
		}
	}
	var runOpts []gldap.Option
	scheme := "ldap"
	if opts.LDAPS {
		runOpts, scheme = append(runOpts, gldap.WithTLSConfig(opts.TLS)), "ldaps"
	}
	failed := make(chan error, 1)
	go func() { failed <- srv.Run(addr, runOpts...) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		select {
		case err := <-failed:
			return fmt.Errorf("adsim: %w", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			srv.Stop()
			return fmt.Errorf("adsim: not listening on %s after 5s", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.srv, s.url = srv, scheme+"://"+addr
	return nil
}

// freeAddr is 127.0.0.1 with a port nobody listened on a moment ago.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer l.Close()
	return l.Addr().String()
}

// URL is ldap://host:port, or ldaps:// with LDAPS.
func (s *Server) URL() string { return s.url }

// closeGrace is how long Close waits for clients to close their connections.
const closeGrace = 2 * time.Second

// Close stops listening at once and waits up to two seconds for open connections to end: gldap serves
// a connection until its client closes it, so a client that keeps one open would otherwise hold Close
// forever. Such connections are left to their clients, and Close says so.
func (s *Server) Close() error {
	stopped := make(chan error, 1)
	go func() { stopped <- s.srv.Stop() }()
	select {
	case err := <-stopped:
		return err
	case <-time.After(closeGrace):
		return errors.New("adsim: stopped listening; connections clients keep open are left to them")
	}
}

// SetBusy makes every bind and search answer busy (51), as a domain controller under load does.
func (s *Server) SetBusy(busy bool) { s.mu.Lock(); s.busy = busy; s.mu.Unlock() }

// Stats is what the simulator was asked so far.
func (s *Server) Stats() Stats { s.mu.Lock(); defer s.mu.Unlock(); return s.stats }

func (s *Server) closed(conn int) { s.mu.Lock(); delete(s.bound, conn); s.mu.Unlock() }

func (s *Server) isBusy() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.busy }

// AD's diagnostic messages, which clients parse for the "data" code.
const (
	diagWrongPassword = "80090308: LdapErr: DSID-0C090447, comment: AcceptSecurityContext error, data 52e, v3839"
	diagDisabled      = "80090308: LdapErr: DSID-0C090447, comment: AcceptSecurityContext error, data 533, v3839"
	diagNeedsBind     = "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v3839"
	diagNoObject      = "0000208D: NameErr: DSID-0310028C, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'%s'\n"
	diagNoTLS         = "00000000: LdapErr: DSID-0C0911AD, comment: Error initializing SSL/TLS, data 0, v3839"
	diagBusy          = "00002024: SvcErr: DSID-02080453, problem 5001 (BUSY), data 0"
)

// bind checks a simple bind. The name may be the DN or the userPrincipalName. A name without a
// password is an unauthenticated bind, which AD answers with success (and leaves the connection
// anonymous): the trap a client must not fall into.
func (s *Server) bind(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
	defer func() { w.Write(resp) }()
	m, err := r.GetSimpleBindMessage()
	if err != nil {
		resp.SetResultCode(gldap.ResultAuthMethodNotSupported)
		return
	}
	if s.isBusy() {
		resp.SetResultCode(gldap.ResultBusy)
		resp.SetDiagnosticMessage(diagBusy)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bound[r.ConnectionID()] = ""
	if m.Password == "" {
		resp.SetResultCode(gldap.ResultSuccess)
		return
	}
	e := s.tree.byDN[normDN(m.UserName)]
	if e == nil {
		e = s.tree.byUPN[strings.ToLower(m.UserName)]
	}
	if e == nil || subtle.ConstantTimeCompare([]byte(s.tree.passwords[e.norm]), []byte(m.Password)) != 1 {
		s.stats.FailedBinds++
		resp.SetDiagnosticMessage(diagWrongPassword)
		return
	}
	if s.tree.disabled[e.norm] {
		s.stats.FailedBinds++
		resp.SetDiagnosticMessage(diagDisabled)
		return
	}
	s.stats.Binds++
	s.bound[r.ConnectionID()] = e.norm
	resp.SetResultCode(gldap.ResultSuccess)
}

// search answers the root DSE to anyone and everything else to a bound connection, with size limits
// and the paged results control.
func (s *Server) search(w *gldap.ResponseWriter, r *gldap.Request) {
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	defer func() { w.Write(done) }()
	m, err := r.GetSearchMessage()
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		return
	}
	s.mu.Lock()
	s.stats.Searches++
	busy, bound := s.busy, s.bound[r.ConnectionID()]
	s.mu.Unlock()
	switch {
	case busy:
		done.SetResultCode(gldap.ResultBusy)
		done.SetDiagnosticMessage(diagBusy)
		return
	case m.BaseDN == "" && m.Scope == gldap.BaseObject:
		s.writeEntry(w, r, s.rootDSE(), m.Attributes)
		return
	case bound == "":
		done.SetResultCode(gldap.ResultOperationsError)
		done.SetDiagnosticMessage(diagNeedsBind)
		return
	}
	filter, err := compileFilter(m.Filter)
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		return
	}
	scope, ok := s.tree.under(m.BaseDN, int64(m.Scope))
	if !ok {
		done.SetResultCode(gldap.ResultNoSuchObject)
		done.SetDiagnosticMessage(fmt.Sprintf(diagNoObject, s.tree.byDN[s.tree.base].dn))
		return
	}
	var found []*entry
	for _, e := range scope {
		ok, err := s.tree.match(e, filter)
		if err != nil {
			done.SetResultCode(gldap.ResultUnwillingToPerform)
			return
		}
		if ok {
			found = append(found, e)
		}
	}
	found, code := page(found, m, done)
	if m.SizeLimit > 0 && int64(len(found)) > m.SizeLimit {
		found, code = found[:m.SizeLimit], gldap.ResultSizeLimitExceeded
	}
	for _, e := range found {
		s.writeEntry(w, r, e, m.Attributes)
	}
	done.SetResultCode(code)
}

// page cuts found to the page the paged results control asks for (the cookie is the offset) and
// puts the control for the next page on done; without the control, everything.
func page(found []*entry, m *gldap.SearchMessage, done *gldap.SearchResponseDone) ([]*entry, int) {
	for _, c := range m.Controls {
		p, ok := c.(*gldap.ControlPaging)
		if !ok {
			continue
		}
		offset, _ := strconv.Atoi(string(p.Cookie))
		if p.PagingSize == 0 || offset > len(found) { // abandoned
			done.SetControls(&gldap.ControlPaging{})
			return nil, gldap.ResultSuccess
		}
		end := min(offset+int(p.PagingSize), len(found))
		next := &gldap.ControlPaging{}
		if end < len(found) {
			next.Cookie = []byte(strconv.Itoa(end))
		}
		done.SetControls(next)
		return found[offset:end], gldap.ResultSuccess
	}
	return found, gldap.ResultSuccess
}

func (s *Server) writeEntry(w *gldap.ResponseWriter, r *gldap.Request, e *entry, want []string) {
	resp := r.NewSearchResponseEntry(e.dn)
	for _, a := range selectAttributes(e, want) {
		resp.AddAttribute(a.name, a.values)
	}
	w.Write(resp)
}

// rootDSE names the domain and AD's capabilities (which is how clients tell AD from other servers).
func (s *Server) rootDSE() *entry {
	base := s.tree.byDN[s.tree.base].dn
	e := &entry{}
	e.add("namingContexts", base)
	e.add("defaultNamingContext", base)
	e.add("rootDomainNamingContext", base)
	e.add("supportedLDAPVersion", "3", "2")
	e.add("supportedCapabilities",
		"1.2.840.113556.1.4.800",  // LDAP_CAP_ACTIVE_DIRECTORY_OID
		"1.2.840.113556.1.4.1670", // LDAP_CAP_ACTIVE_DIRECTORY_V51_OID
		"1.2.840.113556.1.4.1791", // LDAP_CAP_ACTIVE_DIRECTORY_LDAP_INTEG_OID
		"1.2.840.113556.1.4.1935", // LDAP_CAP_ACTIVE_DIRECTORY_V60_OID
		"1.2.840.113556.1.4.2080", // LDAP_CAP_ACTIVE_DIRECTORY_V61_R2_OID
	)
	e.add("supportedControl", gldap.ControlTypePaging)
	ext := []string{"1.3.6.1.4.1.4203.1.11.3"} // whoami
	if s.tls != nil {
		ext = append(ext, string(gldap.ExtendedOperationStartTLS))
	}
	e.add("supportedExtension", ext...)
	e.add("supportedSASLMechanisms", "GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5")
	return e
}

// startTLS upgrades the connection when the simulator has a certificate.
func (s *Server) startTLS(w *gldap.ResponseWriter, r *gldap.Request) {
	res := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	res.SetResponseName(gldap.ExtendedOperationStartTLS)
	if s.tls == nil {
		res.SetResultCode(gldap.ResultUnavailable)
		res.SetDiagnosticMessage(diagNoTLS)
		w.Write(res)
		return
	}
	if err := w.Write(res); err != nil {
		return
	}
	r.StartTLS(s.tls) // a failed handshake leaves a connection the client drops
}

// unsupported answers what the simulator does not do (modify, add, delete, other extended operations).
func (s *Server) unsupported(w *gldap.ResponseWriter, r *gldap.Request) {
	w.Write(r.NewResponse(gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
		gldap.WithDiagnosticMessage("adsim: not supported")))
}
