package activities_test

import (
	"context"
	"encoding/base64"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/restacs"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/sim/gallaghersim"
	"github.com/signetassure/signetassure/store"
)

// accessEnv is a database, the CredoID simulator, the real CredoID client pointed at it, and the access
// activities in Temporal's activity test environment.
type accessEnv struct {
	t    *testing.T
	ctx  context.Context
	url  string
	st   *store.Store
	sim  *credoidsim.Sim
	acs  *credoid.Client
	env  *testsuite.TestActivityEnvironment
	lab  string // an SC level
	gate string // a BPSS level
}

func newAccessEnv(t *testing.T) *accessEnv {
	t.Helper()
	url := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	sim := credoidsim.New(credoidsim.Options{Username: "operator", Password: "pw", Seed: true})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	acs := credoid.New(credoid.Config{BaseURL: srv.URL, Username: "operator", Password: "pw",
		HTTP: access.HTTPOptions{Timeout: time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: st, Access: activities.AccessSettings{Connector: acs,
		Inactivity: store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, Concurrency: 8}})
	e := &accessEnv{t: t, ctx: context.Background(), url: url, st: st, sim: sim, acs: acs, env: env,
		lab: strconv.Itoa(credoidsim.LevelSiteALab), gate: strconv.Itoa(credoidsim.LevelSiteAGeneral)}
	e.sync() // mirrors the levels
	sc, bpss := domain.LevelSC, domain.LevelBPSS
	_, err = st.SetLevelPolicy(e.ctx, nil, e.lab, &sc)
	require.NoError(t, err)
	_, err = st.SetLevelPolicy(e.ctx, nil, e.gate, &bpss)
	require.NoError(t, err)
	return e
}

func (e *accessEnv) sync() activities.SyncResult {
	e.t.Helper()
	v, err := e.env.ExecuteActivity(activities.A.SyncAccess, activities.SyncInput{SyncID: "test-" + uuid.NewString(), Trigger: "test"})
	require.NoError(e.t, err)
	var res activities.SyncResult
	require.NoError(e.t, v.Get(&res))
	return res
}

// cleared makes a person holding an active SC clearance.
func (e *accessEnv) cleared(first string) domain.Person {
	e.t.Helper()
	p, err := e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: first, LastName: "Tester",
		DateOfBirth: domain.NewDate(1980, 1, 2), Active: true})
	require.NoError(e.t, err)
	today := domain.DateOf(time.Now().UTC())
	_, err = e.st.RecordClearance(e.ctx, nil, domain.Clearance{PersonID: p.ID, Level: domain.LevelSC,
		ValidFrom: today.AddDays(-30), ValidTo: today.AddYears(5), IssuingAuthority: "Test"})
	require.NoError(e.t, err)
	return p
}

// grant records a running grant directly, as the grant workflow's first activity would.
func (e *accessEnv) grant(p domain.Person, level string, from, to time.Time) domain.AccessGrant {
	e.t.Helper()
	g, err := e.st.CreateGrant(e.ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: p.ID, LevelID: level,
		StartsAt: from, EndsAt: to, TimeZone: "Europe/London"})
	require.NoError(e.t, err)
	return g
}

// records are the person's records in CredoID, read through the client.
func (e *accessEnv) records(p domain.Person) []access.User {
	e.t.Helper()
	us, err := e.acs.FindUsers(e.ctx, access.ExternalID(p.ID))
	require.NoError(e.t, err)
	return us
}

func (e *accessEnv) count(sql string, args ...any) int {
	return testenv.Count(e.t, e.url, sql, args...)
}

// A sync pushes exactly the approved state, with mapped company and location and rule-given profiles; a
// re-sync with nothing changed makes no writes.
func TestSyncPushesTheApprovedStateThenWritesNothing(t *testing.T) {
	e := newAccessEnv(t)
	site, err := e.st.CreateLocation(e.ctx, nil, domain.Location{Code: "FAR", Name: "Farnborough", TimeZone: "Europe/London"})
	require.NoError(t, err)
	require.NoError(t, e.st.SetAccessMappings(e.ctx, nil, store.Mappings{
		Companies: []store.CompanyMapping{{ACSCompanyID: strconv.Itoa(credoidsim.CompanyOwn)}},
		Locations: []store.LocationMapping{{LocationID: site.ID, ACSLocationID: strconv.Itoa(credoidsim.LocationSiteA)}}}))
	sc := domain.LevelSC
	_, err = e.st.CreateProfileRule(e.ctx, nil, domain.ProfileRule{ClearanceLevel: &sc, OwnStaff: true, LocationID: &site.ID,
		ACSProfileID: "2"})
	require.NoError(t, err)

	jane := e.cleared("Jane")
	_, err = e.st.UpdatePerson(e.ctx, nil, jane.ID, []string{"locationId"}, func(p *domain.Person) { p.LocationID = &site.ID })
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Second)
	g := e.grant(jane, e.lab, now.Add(-time.Hour), now.Add(30*24*time.Hour))
	future := e.grant(e.cleared("Owen"), e.lab, now.Add(24*time.Hour), now.Add(48*time.Hour))
	uncleared, err := e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Una", LastName: "Tester", DateOfBirth: domain.NewDate(1990, 1, 1), Active: true})
	require.NoError(t, err)
	e.grant(uncleared, e.lab, now.Add(-time.Hour), now.Add(time.Hour)) // recorded by hand: no clearance, so never pushed

	res := e.sync()
	assert.Equal(t, 0, res.Errors)
	assert.Equal(t, 1, res.Ops[access.OpCreate], "only Jane may open a door today: %v", res)

	recs := e.records(jane)
	require.Len(t, recs, 1)
	u := recs[0]
	assert.True(t, u.Active)
	assert.Equal(t, strconv.Itoa(credoidsim.CompanyOwn), u.CompanyID)
	assert.Equal(t, strconv.Itoa(credoidsim.LocationSiteA), u.LocationID)
	assert.Equal(t, []string{"2"}, u.Profiles)
	require.Len(t, u.Levels, 1)
	assert.Equal(t, e.lab, u.Levels[0].LevelID)
	assert.True(t, g.StartsAt.Equal(u.Levels[0].From) && g.EndsAt.Equal(u.Levels[0].To),
		"the level carries the grant's dates: %v", u.Levels[0])
	assert.Empty(t, e.records(uncleared))
	assert.Empty(t, e.records(domain.Person{ID: future.PersonID}), "a grant not yet started is not pushed")

	e.sim.ResetStats()
	again := e.sync()
	assert.Zero(t, again.Changed)
	assert.Zero(t, e.sim.Stats().Writes, "a re-sync with nothing changed writes nothing")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.create' AND entity_id = $1`, jane.ID.String()))
}

// A level an operator added by hand is removed and reported, on the person and in the audit log.
func TestSyncRemovesAnUnapprovedLevel(t *testing.T) {
	e := newAccessEnv(t)
	p := e.cleared("Amir")
	now := time.Now().UTC()
	e.grant(p, e.gate, now.Add(-time.Hour), now.Add(time.Hour*24))
	e.sync()
	rec := e.records(p)[0]
	id, _ := strconv.Atoi(rec.ID)
	require.NoError(t, e.sim.AddLevelByHand(id, credoidsim.LevelSiteBServerRoom, time.Time{}, time.Time{}))

	res := e.sync()
	assert.Equal(t, 1, res.Ops[access.OpSetAccess])
	levels := e.records(p)[0].Levels
	require.Len(t, levels, 1)
	assert.Equal(t, e.gate, levels[0].LevelID, "only the granted level is left")
	fs, _, err := e.st.AccessFindings(e.ctx, &p.ID, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, string(access.FindingUnapprovedLevel), fs[0].Kind)
	assert.Equal(t, "removed", fs[0].Action)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.finding.unapproved_level' AND entity_id = $1`, p.ID.String()))
	e.sync()
	fs, _, _ = e.st.AccessFindings(e.ctx, &p.ID, store.Page{Limit: 10})
	assert.Len(t, fs, 1, "reported once")

	// The operator adds it again: removed again, and reported and audited again.
	require.NoError(t, e.sim.AddLevelByHand(id, credoidsim.LevelSiteBServerRoom, time.Time{}, time.Time{}))
	e.sync()
	assert.Len(t, e.records(p)[0].Levels, 1)
	fs, _, _ = e.st.AccessFindings(e.ctx, &p.ID, store.Page{Limit: 10})
	assert.Len(t, fs, 2, "each removal is reported")
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.set_access' AND entity_id = $1`, p.ID.String()))
}

// A second record carrying the person's key is routed to a person: reported, never merged or deleted.
func TestSyncRoutesADuplicateToAPerson(t *testing.T) {
	e := newAccessEnv(t)
	p := e.cleared("Grace")
	now := time.Now().UTC()
	e.grant(p, e.gate, now.Add(-time.Hour), now.Add(24*time.Hour))
	e.sync()
	_, err := e.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: "Grace", LastName: "Tester", Additional1: access.ExternalID(p.ID), IsActive: true})
	require.NoError(t, err)
	res := e.sync()
	assert.Zero(t, res.Errors)
	assert.Len(t, e.records(p), 2, "both records are still there")
	fs, _, err := e.st.AccessFindings(e.ctx, &p.ID, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, string(access.FindingDuplicate), fs[0].Kind)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.finding.duplicate'`))
}

// renumberAfterFind is the CredoID client with the badge system restored and renumbered between a person's
// lookup and the write planned from it: the moment an id stops naming the record it was read as.
type renumberAfterFind struct {
	*credoid.Client
	sim   *credoidsim.Sim
	armed atomic.Bool
}

func (c *renumberAfterFind) FindUsers(ctx context.Context, externalID string) ([]access.User, error) {
	us, err := c.Client.FindUsers(ctx, externalID)
	if c.armed.CompareAndSwap(true, false) {
		c.sim.RenumberUsers()
	}
	return us, err
}

// A record linked by id is written only while it carries the person's key: after a renumbering restore
// the write planned for one person finds another person's record at that id, writes nothing, and reports
// it; the person's own record is then found by their key and written, and the other's is never touched.
func TestARenumberedRecordIsNeverWritten(t *testing.T) {
	e := newAccessEnv(t)
	ann, bob := e.cleared("Ann"), e.cleared("Bob")
	now := time.Now().UTC()
	e.grant(ann, e.gate, now.Add(-time.Hour), now.Add(24*time.Hour))
	e.grant(bob, e.gate, now.Add(-time.Hour), now.Add(24*time.Hour))
	e.sync()
	annID, _ := strconv.Atoi(e.records(ann)[0].ID)
	_, err := e.st.UpdatePerson(e.ctx, nil, ann.ID, []string{"active"}, func(p *domain.Person) { p.Active = false })
	require.NoError(t, err)

	acs := &renumberAfterFind{Client: e.acs, sim: e.sim}
	acs.armed.Store(true)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: e.st, Access: activities.AccessSettings{Connector: acs,
		Inactivity: store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, Concurrency: 8}})
	_, err = env.ExecuteActivity(activities.A.ReconcilePerson, ann.ID)
	require.Error(t, err, "the write planned on Ann's old id is refused")
	require.False(t, acs.armed.Load(), "the system was renumbered after the lookup")

	bobs, _ := e.sim.User(annID)
	require.Equal(t, access.ExternalID(bob.ID), bobs.Additional1, "Ann's old id names Bob's record now")
	assert.True(t, bobs.IsActive, "Bob's badge was not disabled in Ann's place")
	require.Len(t, bobs.AccessLevels, 1, "Bob's access was not touched")
	assert.True(t, e.records(ann)[0].Active, "nothing was written at all")
	fs, _, err := e.st.AccessFindings(e.ctx, &ann.ID, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, string(access.FindingWrongRecord), fs[0].Kind)
	assert.Equal(t, strconv.Itoa(annID), fs[0].ACSUserID)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM access_links WHERE person_id = $1 AND acs_user_id IS NULL`, ann.ID),
		"the link that named Bob's record is dropped")
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM access_operations WHERE person_id = $1 AND status = 'done'
		AND created_at > now() - interval '1 minute' AND kind <> 'create'`, ann.ID))

	// Tried again, Ann's record is found by her key and disabled; Bob's stays as it was.
	_, err = e.env.ExecuteActivity(activities.A.ReconcilePerson, ann.ID)
	require.NoError(t, err)
	require.Len(t, e.records(ann), 1)
	assert.False(t, e.records(ann)[0].Active, "Ann's own record is disabled")
	after, _ := e.sim.User(annID)
	assert.Equal(t, bobs, after, "Bob's record is untouched")
	res := e.sync()
	assert.Zero(t, res.Errors)
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM access_links WHERE acs_user_id IS NOT NULL`), "both links re-resolved by key")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM access_links WHERE person_id = $1 AND acs_user_id = $2`, bob.ID, strconv.Itoa(annID)))
}

// A record an operator made without our key is adopted on an equal employee number: the check before each
// write accepts it (no key yet, the same number), and the access write after the adoption finds our key.
func TestSyncAdoptsARecordByEmployeeNumber(t *testing.T) {
	e := newAccessEnv(t)
	p := e.cleared("Tomas")
	number := "E7788"
	_, err := e.st.UpdatePerson(e.ctx, nil, p.ID, []string{"employeeNumber"}, func(x *domain.Person) { x.EmployeeNumber = &number })
	require.NoError(t, err)
	made, err := e.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: "Tom", LastName: "Tester", EmployeeNumber: number, IsActive: true})
	require.NoError(t, err)
	now := time.Now().UTC()
	e.grant(p, e.gate, now.Add(-time.Hour), now.Add(24*time.Hour))
	res := e.sync()
	assert.Zero(t, res.Errors, "%v", res)
	recs := e.records(p)
	require.Len(t, recs, 1)
	assert.Equal(t, strconv.Itoa(made.ID), recs[0].ID, "the operator's record is adopted, not a second one made")
	require.Len(t, recs[0].Levels, 1)
	assert.Equal(t, e.gate, recs[0].Levels[0].LevelID)
	assert.Equal(t, 1, res.Passes, "adopted in one pass, no write refused")
	assert.Zero(t, e.count(`SELECT count(*) FROM access_findings WHERE kind = 'wrong_record'`))
}

// Syncs and single reconciliations running at once over the same persons (syncs take them in batches,
// locked together) give every person one record, created and audited once, and leave nothing to write.
func TestConcurrentSyncsGiveEachPersonOneRecord(t *testing.T) {
	e := newAccessEnv(t)
	now := time.Now().UTC()
	persons := make([]domain.Person, 80)
	for i := range persons {
		persons[i] = e.cleared("Many" + strconv.Itoa(i))
		e.grant(persons[i], e.lab, now.Add(-time.Hour), now.Add(24*time.Hour))
	}
	acts := &activities.Activities{Store: e.st, Access: activities.AccessSettings{Connector: e.acs,
		Inactivity: store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, Concurrency: 8}}
	run := func(fn any, arg any) error {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		_, err := env.ExecuteActivity(fn, arg)
		return err
	}
	var g errgroup.Group
	for i := range 3 {
		g.Go(func() error {
			return run(activities.A.SyncAccess, activities.SyncInput{SyncID: "race-" + strconv.Itoa(i), Trigger: "test"})
		})
	}
	for i := len(persons) - 1; i >= 0; i -= 3 {
		g.Go(func() error { return run(activities.A.ReconcilePerson, persons[i].ID) })
	}
	require.NoError(t, g.Wait())
	for _, p := range persons {
		require.Len(t, e.sim.UsersByExternalID(access.ExternalID(p.ID)), 1, "%s has one record", p.FirstName)
		assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.create' AND entity_id = $1`, p.ID.String()))
		assert.Equal(t, 1, e.count(`SELECT count(*) FROM access_links WHERE person_id = $1 AND acs_user_id IS NOT NULL`, p.ID))
	}
	e.sim.ResetStats()
	assert.Zero(t, e.sync().Changed)
	assert.Zero(t, e.sim.Stats().Writes)
}

// One person the access control system refuses outright does not stop the sync: everyone else is
// reconciled, the refused person is named with the kind of refusal (and their journal keeps the system's
// answer), they are not tried again in vain, and the sync is completed_with_errors, not completed.
func TestSyncGoesOnPastAPersonRefused(t *testing.T) {
	e := newAccessEnv(t)
	now := time.Now().UTC()
	var people []domain.Person
	for i := range 4 {
		p := e.cleared("R" + strconv.Itoa(i))
		number := "E-" + strconv.Itoa(i)
		_, err := e.st.UpdatePerson(e.ctx, nil, p.ID, []string{"employeeNumber"}, func(x *domain.Person) { x.EmployeeNumber = &number })
		require.NoError(t, err)
		e.grant(p, e.gate, now.Add(-time.Hour), now.Add(24*time.Hour))
		people = append(people, p)
	}
	refused := people[1]
	e.sim.SetFaults(credoidsim.Faults{RefuseEmployeeNumbers: []string{"E-1"}})

	id := "test-" + uuid.NewString()
	v, err := e.env.ExecuteActivity(activities.A.SyncAccess, activities.SyncInput{SyncID: id, Trigger: "test"})
	require.NoError(t, err)
	var res activities.SyncResult
	require.NoError(t, v.Get(&res))
	assert.Equal(t, 3, res.Done, "%v", res)
	assert.Equal(t, 1, res.Errors)
	assert.Equal(t, []activities.PersonFailure{{PersonID: refused.ID, Kind: string(access.KindValidation)}}, res.Failed)
	assert.Equal(t, 1, res.Passes, "a refusal is not tried again in vain")
	for _, p := range people {
		if p.ID != refused.ID {
			assert.Len(t, e.records(p), 1, "%s reconciled despite the refusal", p.FirstName)
		}
	}
	assert.Empty(t, e.records(refused))
	sy, err := e.st.AccessSync(e.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, activities.SyncCompletedWithErrors, sy.Status)
	assert.Equal(t, 1, sy.Errors)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM access_operations WHERE person_id = $1 AND status = 'failed' AND error LIKE '%validation%'`, refused.ID))
	// The batch's journal: each of the others' creates tried once and done in this sync, on its record, and
	// audited once; nothing left pending.
	for _, p := range people {
		if p.ID != refused.ID {
			assert.Equal(t, 1, e.count(`SELECT count(*) FROM access_operations WHERE person_id = $1 AND kind = 'create'
				AND status = 'done' AND attempts = 1 AND sync_id = $2 AND acs_user_id = $3`, p.ID, id, e.records(p)[0].ID), p.FirstName)
			assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.create' AND entity_id = $1`, p.ID.String()))
		}
	}
	assert.Zero(t, e.count(`SELECT count(*) FROM access_operations WHERE status = 'pending'`))

	e.sim.SetFaults(credoidsim.Faults{})
	id = "test-" + uuid.NewString()
	_, err = e.env.ExecuteActivity(activities.A.SyncAccess, activities.SyncInput{SyncID: id, Trigger: "test"})
	require.NoError(t, err)
	sy, err = e.st.AccessSync(e.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, activities.SyncCompleted, sy.Status)
	assert.Len(t, e.records(refused), 1)
}

// A person with no access event for the disable period is disabled, and after the removal period
// removed; a badge swipe moves both dates on.
func TestInactivePersonIsDisabledThenRemoved(t *testing.T) {
	e := newAccessEnv(t)
	p := e.cleared("Kwame")
	now := time.Now().UTC()
	e.grant(p, e.gate, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	e.sync()
	require.True(t, e.records(p)[0].Active)

	backdate := func(days int) {
		testenv.Exec(t, e.url, `UPDATE access_links SET created_at = now() - make_interval(days => $1), last_event_at = NULL`, days)
		testenv.Exec(t, e.url, `UPDATE access_grants SET created_at = now() - make_interval(days => $1)`, days)
	}
	backdate(91)
	link, err := e.st.AccessLink(e.ctx, p.ID, store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour})
	require.NoError(t, err)
	require.NotNil(t, link.DisableAt)
	assert.True(t, link.DisableAt.Before(time.Now()), "the disable date is shown in advance and has passed")
	e.sync()
	rec := e.records(p)
	require.Len(t, rec, 1)
	assert.False(t, rec[0].Active, "disabled after 90 days without an event")
	assert.Empty(t, rec[0].Levels)

	// A swipe (an event the feed delivers) brings the person back.
	id, _ := strconv.Atoi(rec[0].ID)
	e.sim.AddEvent(credoidsim.Swipe{UserID: id, DoorName: "Gate", LocationID: credoidsim.LocationSiteA})
	_, err = e.env.ExecuteActivity(activities.A.PollAccessEvents)
	require.NoError(t, err)
	e.sync()
	assert.True(t, e.records(p)[0].Active, "an access event restarts the clock")

	backdate(181)
	e.sync()
	assert.Empty(t, e.records(p), "removed after 180 days without an event")
	link, err = e.st.AccessLink(e.ctx, p.ID, store.Inactivity{})
	require.NoError(t, err)
	assert.Equal(t, "removed", link.State)
}

// Only an event meaning the ACS let the badge through counts as activity: a refused swipe or a forced door
// naming a badge disabled for inactivity is kept in the person's event log but does not enable it again.
func TestOnlyGrantedEventsCountAsActivity(t *testing.T) {
	e := newAccessEnv(t)
	p := e.cleared("Ines")
	now := time.Now().UTC()
	e.grant(p, e.gate, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	e.sync()
	testenv.Exec(t, e.url, `UPDATE access_links SET created_at = now() - interval '91 days', last_event_at = NULL`)
	testenv.Exec(t, e.url, `UPDATE access_grants SET created_at = now() - interval '91 days'`)
	e.sync()
	rec := e.records(p)
	require.Len(t, rec, 1)
	require.False(t, rec[0].Active, "disabled after 90 days without an event")

	id, _ := strconv.Atoi(rec[0].ID)
	for _, typ := range []string{"Access denied", "Door forced open"} {
		e.sim.AddEvent(credoidsim.Swipe{UserID: id, DoorName: "Gate", LocationID: credoidsim.LocationSiteA, Type: typ})
	}
	_, err := e.env.ExecuteActivity(activities.A.PollAccessEvents)
	require.NoError(t, err)
	evs, err := e.st.PersonAccessEvents(e.ctx, p.ID, 0, 100, false)
	require.NoError(t, err)
	require.Len(t, evs, 2, "the refused swipes are in the person's log")
	e.sync()
	assert.False(t, e.records(p)[0].Active, "a refused swipe is not activity: the badge stays disabled")
	assert.Zero(t, e.count(`SELECT count(*) FROM access_links WHERE last_event_at IS NOT NULL`))

	e.sim.AddEvent(credoidsim.Swipe{UserID: id, DoorName: "Gate", LocationID: credoidsim.LocationSiteA, Type: "Access granted"})
	_, err = e.env.ExecuteActivity(activities.A.PollAccessEvents)
	require.NoError(t, err)
	e.sync()
	assert.True(t, e.records(p)[0].Active, "a granted swipe restarts the clock")
}

// Events delivered twice, and read again over the overlap window, are stored once, on the right person.
func TestAccessEventsAreCountedOnce(t *testing.T) {
	e := newAccessEnv(t)
	p := e.cleared("Mei")
	now := time.Now().UTC()
	e.grant(p, e.gate, now.Add(-time.Hour), now.Add(24*time.Hour))
	e.sync()
	id, _ := strconv.Atoi(e.records(p)[0].ID)
	for i := range 3 {
		e.sim.AddEvent(credoidsim.Swipe{UserID: id, DoorName: "Gate " + strconv.Itoa(i), LocationID: credoidsim.LocationSiteA, Duplicate: i == 1})
	}
	for range 2 {
		_, err := e.env.ExecuteActivity(activities.A.PollAccessEvents)
		require.NoError(t, err)
	}
	evs, err := e.st.PersonAccessEvents(e.ctx, p.ID, 0, 100, false)
	require.NoError(t, err)
	assert.Len(t, evs, 3)
	assert.Equal(t, 3, e.count(`SELECT count(*) FROM access_events`))
}

// With a fifth of CredoID's answers failing (429, 503, timeouts), a full sync still converges to exactly
// the approved state, with one record per person.
func TestSyncConvergesUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault sync takes a few seconds")
	}
	e := newAccessEnv(t)
	now := time.Now().UTC().Truncate(time.Second)
	var people []domain.Person
	for i := range 60 {
		p := e.cleared("P" + strconv.Itoa(i))
		e.grant(p, e.gate, now.Add(-time.Hour), now.Add(time.Duration(24+i)*time.Hour))
		if i%3 == 0 {
			e.grant(p, e.lab, now.Add(-time.Hour), now.Add(72*time.Hour))
		}
		people = append(people, p)
	}
	e.sim.SetFaults(credoidsim.Faults{FailRate: 0.2, TimeoutMs: 1500, SaveThenTimeout: 0.05, Seed: 7})
	res := e.sync()
	e.sim.SetFaults(credoidsim.Faults{})
	assert.Zero(t, res.Errors, "every person reconciled: %v", res)

	for i, p := range people {
		recs := e.records(p)
		require.Len(t, recs, 1, "person %d has exactly one record", i)
		want := 1
		if i%3 == 0 {
			want = 2
		}
		assert.Len(t, recs[0].Levels, want, "person %d", i)
	}
	e.sim.ResetStats()
	e.sync()
	assert.Zero(t, e.sim.Stats().Writes, "converged: nothing left to write")
}

// The same reconciliation drives a differently shaped system (Gallagher-like, through the
// configuration-driven connector): grants pushed with their dates, a group added by hand removed and
// reported, and nothing written when nothing changed.
func TestSyncDrivesAGallagherShapedSystem(t *testing.T) {
	url := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(st.Close)
	sim := gallaghersim.New(gallaghersim.Options{APIKey: "k"})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	cfg, err := restacs.Example("gallagher")
	require.NoError(t, err)
	secrets := map[string]string{"GALLAGHER_URL": srv.URL, "GALLAGHER_API_KEY": "k",
		"GALLAGHER_WEBHOOK_SECRET": "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
	acs, err := restacs.New(cfg, func(n string) string { return secrets[n] },
		access.HTTPOptions{Timeout: time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	require.NoError(t, err)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: st, Access: activities.AccessSettings{Connector: acs,
		Inactivity: store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, Concurrency: 4}})
	e := &accessEnv{t: t, ctx: context.Background(), url: url, st: st, env: env}
	e.sync()
	sc := domain.LevelSC
	_, err = st.SetLevelPolicy(e.ctx, nil, "5", &sc) // Lab A
	require.NoError(t, err)

	p := e.cleared("Isla")
	now := time.Now().UTC().Truncate(time.Second)
	g := e.grant(p, "5", now.Add(-time.Hour), now.Add(7*24*time.Hour))
	e.sync()
	recs, err := acs.FindUsers(e.ctx, access.ExternalID(p.ID))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Len(t, recs[0].Levels, 1)
	assert.Equal(t, "5", recs[0].Levels[0].LevelID)
	assert.True(t, g.EndsAt.Equal(recs[0].Levels[0].To), "until carries the grant's end: %v", recs[0].Levels[0])

	require.NoError(t, sim.OperatorAddAccessGroup(recs[0].ID, "8", time.Time{}, time.Time{}))
	e.sync()
	recs, _ = acs.FindUsers(e.ctx, access.ExternalID(p.ID))
	require.Len(t, recs[0].Levels, 1, "the server room group added by hand is removed")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM access_findings WHERE kind = 'unapproved_level'`))

	before := sim.Stats().Writes
	e.sync()
	assert.Equal(t, before, sim.Stats().Writes, "a re-sync with nothing changed writes nothing")
}
