package load_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/sim/twiliosim"
	"github.com/signetassure/signetassure/store"
)

// shape is one load run: how many API and worker processes, for how long, and the load they carry.
type shape struct {
	APIs, Workers int
	Duration      time.Duration
	// CaseWorkers are the simulated case workers, each with a token of its own, each doing its next action
	// as soon as the last one is answered (no think time: the run measures capacity).
	CaseWorkers int
	// PartnerKeys each look people up at the key's rate limit (api.LookupLimit a minute).
	PartnerKeys int
	// SyncPersons are cleared persons with a running grant, for the access sync to put into CredoID;
	// Recipients are the broadcast's group. Both start a third of the way into the run.
	SyncPersons, Recipients int
	// BroadcastRate is the deployment's provider rate (BROADCAST_RATE), messages a second.
	BroadcastRate int
	// Profile takes CPU profiles of the first API and the first worker over the middle half of the run.
	Profile bool
}

// system is SignetAssure running as separate processes against a fresh database, with the simulators.
type system struct {
	t     *testing.T
	shape shape
	dbURL string
	st    *store.Store
	apis  []string // the APIs' base URLs
	// the first API's and the first worker's PPROF_ADDR ("" when not profiling)
	apiProfiles, workerProfiles string
	// procs are the processes whose CPU time the run reports, by name: the APIs, the workers, the
	// Temporal dev server
	procs  map[string]int
	credo  *credoidsim.Sim
	twilio *twiliosim.Sim
	// staff
	caseWorkers []staff
	controller  staff
	// partnerKeys are the keys partners look people up with; lookups whom they look up.
	partnerKeys []string
	lookups     []partners.LookupRequest
	// group is the broadcast's contact group; syncPersons the persons the sync reconciles; seeded how many
	// persons the run began with.
	group       uuid.UUID
	syncPersons []uuid.UUID
	seeded      int
}

type staff struct {
	id    uuid.UUID
	token string
}

// startSystem seeds a fresh database and starts the processes shape asks for, built from bin.
func startSystem(t *testing.T, bin string, sh shape) *system {
	t.Helper()
	ctx := context.Background()
	s := &system{t: t, shape: sh, dbURL: testenv.DatabaseURL(t), procs: map[string]int{}}
	s.st = testenv.StoreAt(t, s.dbURL)
	s.credo = credoidsim.New(credoidsim.Options{Username: "operator", Password: "pw", Seed: true})
	credoSrv := httptest.NewServer(s.credo.Handler())
	t.Cleanup(credoSrv.Close)
	var twilioEnv map[string]string
	s.twilio, twilioEnv = testenv.TwilioForProcess(t)
	s.seed(ctx)

	queue := "load-" + strings.ToLower(rand.Text()[:12])
	common := map[string]string{
		"DATABASE_URL": s.dbURL, "TEMPORAL_ADDRESS": testenv.TemporalAddress(t), "TEMPORAL_NAMESPACE": "default",
		"TEMPORAL_TASK_QUEUE": queue, "LOG_LEVEL": "warn",
		"CREDOID_URL": credoSrv.URL, "CREDOID_USERNAME": "operator", "CREDOID_PASSWORD": "pw",
		"ACS_SYNC_INTERVAL": "24h", // only the run's own sync
		"BROADCAST_RATE":    strconv.Itoa(sh.BroadcastRate),
		// Every simulated case worker calls from 127.0.0.1, each as fast as it is answered: the staff limits
		// (per token, and per address in each API process) would otherwise refuse them.
		"STAFF_RATE_LIMIT": "1000000", "STAFF_ADDRESS_RATE_LIMIT": "1000000",
	}
	maps.Copy(common, twilioEnv)
	var ready []string
	for _, role := range []struct {
		command, listen string
		n               int
		profiles        *string
	}{{"worker", "HEALTH_ADDR", sh.Workers, &s.workerProfiles}, {"api", "HTTP_ADDR", sh.APIs, &s.apiProfiles}} {
		for i := range role.n {
			addr := "127.0.0.1:" + testenv.FreePort(t)
			extra := map[string]string{role.listen: addr}
			if i == 0 && sh.Profile {
				*role.profiles = "127.0.0.1:" + testenv.FreePort(t)
				extra["PPROF_ADDR"] = *role.profiles
			}
			name := fmt.Sprintf("%s %d", role.command, i+1)
			s.procs[name] = startProc(t, bin, role.command, name, with(common, extra))
			ready = append(ready, "http://"+addr+"/readyz")
			if role.command == "api" {
				s.apis = append(s.apis, "http://"+addr)
			}
		}
	}
	for _, u := range ready {
		testenv.AwaitHTTP(t, u, "", time.Minute)
	}
	if pid := temporalServer(testenv.TemporalAddress(t)); pid != 0 {
		s.procs["Temporal dev server"] = pid
	}
	return s
}

// temporalServer is the process id of the Temporal dev server listening at addr (0: not found).
func temporalServer(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		args := strings.Split(string(b), "\x00")
		for i := range args[:max(len(args)-1, 0)] {
			if args[i] == "--port" && args[i+1] == port && strings.Contains(string(b), "start-dev") {
				return pid
			}
		}
	}
	return 0
}

// cpuTimes is the CPU time (user and system) each of the system's processes has used so far; a process
// whose /proc entry cannot be read is left out.
func (s *system) cpuTimes() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name, pid := range s.procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// after the command's name in parentheses: state is field 3, utime and stime fields 14 and 15
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		user, _ := strconv.ParseInt(f[11], 10, 64)
		sys, _ := strconv.ParseInt(f[12], 10, 64)
		out[name] = time.Duration(user+sys) * time.Second / 100 // USER_HZ, 100 on Linux
	}
	return out
}

// seed makes the staff, the partner keys, the persons the sync reconciles and the broadcast's group.
func (s *system) seed(ctx context.Context) {
	t := s.t
	user := func(name string, roles ...domain.Role) staff {
		u, err := s.st.CreateUser(ctx, nil, domain.StaffUser{DisplayName: name, Email: strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@load.invalid",
			Roles: roles, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.st.IssueToken(ctx, nil, u.ID, "load", nil)
		if err != nil {
			t.Fatal(err)
		}
		return staff{id: u.ID, token: tok}
	}
	for i := range s.shape.CaseWorkers {
		s.caseWorkers = append(s.caseWorkers, user(fmt.Sprintf("Case Worker %d", i+1), domain.RoleCaseWorker, domain.RoleVettingOfficer))
	}
	s.controller = user("Security Controller", domain.RoleSecurityController)

	site, err := s.st.CreateSite(ctx, nil, domain.PartnerSite{OrgName: "Load Partner", BaseURL: "https://partner.invalid",
		ContactName: "Partner Desk", ContactEmail: "desk@partner.invalid"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.shape.PartnerKeys {
		_, key, err := s.st.IssueKey(ctx, nil, domain.PartnerKey{SiteID: site.ID, Name: fmt.Sprintf("key %d", i+1),
			Scopes: []string{string(domain.ScopeVettingRead)}, IPAllow: []string{}})
		if err != nil {
			t.Fatal(err)
		}
		s.partnerKeys = append(s.partnerKeys, key)
	}

	// CredoID's levels mirrored, the lab demanding SC, and persons cleared SC with a running grant for it.
	var levels []access.Level
	for _, l := range s.credo.Catalogue().Levels {
		lv := access.Level{ID: strconv.Itoa(l.ID), Name: l.Name}
		if l.LocationID != 0 {
			lv.LocationID = strconv.Itoa(l.LocationID)
		}
		levels = append(levels, lv)
	}
	if _, err := s.st.RefreshLevels(ctx, levels); err != nil {
		t.Fatal(err)
	}
	lab, sc := strconv.Itoa(credoidsim.LevelSiteALab), domain.LevelSC
	if _, err := s.st.SetLevelPolicy(ctx, nil, lab, &sc); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	today := domain.DateOf(now)
	for i := range s.shape.SyncPersons {
		dob := domain.NewDate(1970+i%30, time.Month(1+i%12), 1+i%28)
		p, err := s.st.CreatePerson(ctx, nil, domain.Person{FirstName: "Granted", LastName: fmt.Sprintf("Holder%d", i),
			DateOfBirth: dob, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.st.RecordClearance(ctx, nil, domain.Clearance{PersonID: p.ID, Level: domain.LevelSC,
			ValidFrom: today.AddDays(-30), ValidTo: today.AddYears(5), IssuingAuthority: "Load"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: p.ID, LevelID: lab,
			StartsAt: now.Add(-time.Hour), EndsAt: now.Add(30 * 24 * time.Hour), TimeZone: "Europe/London"}); err != nil {
			t.Fatal(err)
		}
		s.syncPersons = append(s.syncPersons, p.ID)
		s.lookups = append(s.lookups, partners.LookupRequest{FirstName: p.FirstName, LastName: p.LastName, DOB: dob, Reason: "Site access"})
	}
	var members []uuid.UUID
	for i := range s.shape.Recipients {
		p, err := s.st.CreatePerson(ctx, nil, domain.Person{FirstName: "Site", LastName: fmt.Sprintf("Member%d", i),
			DateOfBirth: domain.NewDate(1985, 6, 1), Mobile: fmt.Sprintf("+4474009%05d", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, p.ID)
	}
	g, err := s.st.CreateGroup(ctx, nil, domain.ContactGroup{Name: "Site A", Kind: domain.GroupManual}, members)
	if err != nil {
		t.Fatal(err)
	}
	s.group = g.ID
	s.seeded = s.shape.SyncPersons + s.shape.Recipients
}

// with is base and extra merged into a process environment: only PATH, HOME and TMPDIR from this one,
// so nothing in the caller's environment configures the processes.
func with(base, extra map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for _, m := range []map[string]string{base, extra} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// startProc runs `signetassure <command>` and returns its process id; it is stopped (SIGTERM, then
// SIGKILL after 10 s) when the test ends, and what it printed is shown if the test failed.
func startProc(t *testing.T, bin, command, name string, env []string) int {
	t.Helper()
	out := &testenv.Buffer{}
	cmd := exec.Command(bin, command)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, out, out
	testenv.DieWithParent(cmd) // a test binary that dies (its -timeout) leaves none running
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, out.String())
		}
	})
	return cmd.Process.Pid
}

// Headers between a target and the transport that checks its answer; the transport takes them off
// the request and puts routeHeader, and errorHeader for an answer not the one expected, on the answer
// vegeta records.
const (
	routeHeader  = "X-Load-Route"
	expectHeader = "X-Load-Expect"
	errorHeader  = "X-Load-Error"
)

// checked is a transport that checks each answer against the status its target expects
// (expectHeader) and, for a session, lets the session read it before the next target is made.
type checked struct {
	base    http.RoundTripper
	session *session // nil: no session
}

func (c checked) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	route, expect := req.Header.Get(routeHeader), req.Header.Get(expectHeader)
	req.Header.Del(routeHeader)
	req.Header.Del(expectHeader)
	resp, err := c.base.RoundTrip(req)
	if err != nil {
		if c.session != nil {
			c.session.failed()
		}
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.Header.Set(routeHeader, route)
	problem := ""
	if strconv.Itoa(resp.StatusCode) != expect {
		problem = fmt.Sprintf("%d, want %s: %.200s", resp.StatusCode, expect, body)
	} else if c.session != nil {
		problem = c.session.answered(resp, body)
	}
	if problem != "" {
		resp.Header.Set(errorHeader, problem)
		if c.session != nil {
			c.session.unexpected(resp.StatusCode, body)
		}
	}
	return resp, nil
}

// target is a request to the API at base with token, expecting status, recorded under route.
func target(base, token, method, route, path string, status int, body any, key string) vegeta.Target {
	h := http.Header{"Authorization": {"Bearer " + token}, routeHeader: {method + " " + route},
		expectHeader: {strconv.Itoa(status)}}
	tgt := vegeta.Target{Method: method, URL: base + path, Header: h}
	if body != nil {
		b, _ := json.Marshal(body)
		tgt.Body = b
		h.Set("Content-Type", "application/json")
	}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	return tgt
}

// tally gathers every result: latencies per route, unexpected answers, what was done.
type tally struct {
	mu     sync.Mutex
	routes map[string]*vegeta.Metrics
	all    vegeta.Metrics // the case workers' requests
	errors map[string]int
	first  []string // the first unexpected answers, to show
	ok     map[string]int
}

func newTally() *tally {
	return &tally{routes: map[string]*vegeta.Metrics{}, errors: map[string]int{}, ok: map[string]int{}}
}

// drain adds every result of an attack.
func (tl *tally) drain(results <-chan *vegeta.Result, caseWorker bool) {
	for r := range results {
		tl.add(r, caseWorker)
	}
}

func (tl *tally) add(r *vegeta.Result, caseWorker bool) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	route := r.Headers.Get(routeHeader)
	if route == "" {
		route = r.Method + " (no answer)"
	}
	m := tl.routes[route]
	if m == nil {
		m = &vegeta.Metrics{}
		tl.routes[route] = m
	}
	m.Add(r)
	if caseWorker {
		tl.all.Add(r)
	}
	problem := r.Headers.Get(errorHeader)
	if problem == "" && r.Error != "" {
		problem = r.Error
	}
	if problem == "" {
		tl.ok[route]++
		return
	}
	tl.errors[route]++
	if len(tl.first) < 10 {
		tl.first = append(tl.first, route+": "+problem)
	}
}

func (tl *tally) close() {
	for _, m := range tl.routes {
		m.Close()
	}
	tl.all.Close()
}

func (tl *tally) errorCount() int {
	n := 0
	for _, e := range tl.errors {
		n += e
	}
	return n
}
