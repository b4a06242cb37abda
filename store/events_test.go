package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/store"
)

// The outbox under 16 concurrent writers: every committed change has exactly one event of its kind, each
// subject's events are numbered 1..n with no gap or repeat (the shared person's included), a change the
// database refuses writes none, and a workflow activity's write repeated with its dedup key writes one.
func TestOutboxConcurrentWriters(t *testing.T) {
	e := setup(t)
	shared := e.person(t, domain.Person{FirstName: "Shared", LastName: "Person", EmployeeNumber: ptr("E-SHARED")})
	const writers, rounds = 16, 5
	type result struct {
		person             domain.Person
		caseRef            string
		updated, refused   int
		sharedUpdates      int
		openedTries        int
		statusChangesWrote int
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			r := &results[w]
			var err error
			if r.person, err = e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Writer", LastName: fmt.Sprint(w),
				DateOfBirth: domain.NewDate(1980, 5, 17)}); err != nil {
				errs <- err
				return
			}
			for i := range rounds {
				// A change of its own person, and one of the person every writer changes.
				if _, err := e.st.UpdatePerson(e.ctx, nil, r.person.ID, []string{"email"}, func(p *domain.Person) {
					p.Email = fmt.Sprintf("w%d.%d@example.org", w, i)
				}); err != nil {
					errs <- err
					return
				}
				r.updated++
				if _, err := e.st.UpdatePerson(e.ctx, nil, shared.ID, []string{"mobile"}, func(p *domain.Person) {
					p.Mobile = fmt.Sprintf("+4477009%02d%03d", w, i)
				}); err != nil {
					errs <- err
					return
				}
				r.sharedUpdates++
				// A change the database refuses: the shared person's employee number on this one.
				_, err := e.st.UpdatePerson(e.ctx, nil, r.person.ID, []string{"employeeNumber"}, func(p *domain.Person) {
					p.EmployeeNumber = ptr("E-SHARED")
				})
				var ce *store.ConstraintError
				if !errors.As(err, &ce) || !ce.Unique {
					errs <- fmt.Errorf("writer %d: a duplicate employee number: %v", w, err)
					return
				}
				r.refused++
			}
			// A case: opened (a workflow activity, which may run more than once), then with the officer.
			r.caseRef = domain.NewCaseRef()
			opened := newCase(r.caseRef, r.person.ID, 1, domain.StatusOpened)
			for range 3 {
				if err := e.st.ApplyCaseEvent(e.ctx, opened, event(1, "opened", nil)); err != nil {
					errs <- err
					return
				}
				r.openedTries++
			}
			with := newCase(r.caseRef, r.person.ID, 2, domain.StatusWithOfficer)
			for range 2 {
				if err := e.st.ApplyCaseEvent(e.ctx, with, event(2, "with_officer", nil)); err != nil {
					errs <- err
					return
				}
			}
			r.statusChangesWrote++
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	all := e.settledEvents(t)
	bySubject := map[string][]events.Record{}
	for _, ev := range all {
		bySubject[ev.Subject] = append(bySubject[ev.Subject], ev)
	}
	count := func(subject string, typ events.Type) int {
		n := 0
		for _, ev := range bySubject[subject] {
			if ev.Type == typ {
				n++
			}
		}
		return n
	}
	sharedUpdates := 0
	for _, r := range results {
		ps := events.PersonSubject(r.person.ID)
		if n := count(ps, events.PersonCreated); n != 1 {
			t.Errorf("%s: %d person.created, want 1", ps, n)
		}
		// The refused changes wrote none.
		if n := count(ps, events.PersonUpdated); n != r.updated {
			t.Errorf("%s: %d person.updated, want %d (and none of the %d refused)", ps, n, r.updated, r.refused)
		}
		cs := events.CaseSubject(r.caseRef)
		if n := count(cs, events.CaseOpened); n != 1 {
			t.Errorf("%s: %d case.opened of %d tries, want 1", cs, n, r.openedTries)
		}
		if n := count(cs, events.CaseStatusChanged); n != r.statusChangesWrote {
			t.Errorf("%s: %d case.status_changed, want %d", cs, n, r.statusChangesWrote)
		}
		sharedUpdates += r.sharedUpdates
	}
	if sharedUpdates != writers*rounds {
		t.Fatalf("%d shared updates", sharedUpdates)
	}
	if n := count(events.PersonSubject(shared.ID), events.PersonUpdated); n != sharedUpdates {
		t.Errorf("the shared person: %d person.updated, want %d", n, sharedUpdates)
	}
	// Every subject numbered 1..n, no gap, no repeat; every event's audit entry committed with it.
	for subject, evs := range bySubject {
		seqs := make([]int64, len(evs))
		for i, ev := range evs {
			seqs[i] = ev.Seq
		}
		slices.Sort(seqs)
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("%s: sequences %v, want 1..%d", subject, seqs, len(seqs))
			}
		}
	}
	if n := e.count(t, `SELECT count(*) FROM events ev LEFT JOIN audit_log a ON a.id = ev.audit_id WHERE a.id IS NULL`); n != 0 {
		t.Errorf("%d events without their audit entry", n)
	}
	if n := e.count(t, `SELECT count(*) FROM events`); n != len(all) {
		t.Errorf("EventsAfter read %d of %d events", len(all), n)
	}
	// Every person, case and change audited has its event: one per audit entry of a mapped action.
	if n := e.count(t, `SELECT count(*) FROM audit_log a WHERE a.action IN ('person.create', 'person.update')
		AND (SELECT count(*) FROM events ev WHERE ev.audit_id = a.id) <> 1`); n != 0 {
		t.Errorf("%d person audit entries without exactly one event", n)
	}
	// The counters agree with the events.
	if n := e.count(t, `SELECT count(*) FROM event_subjects s
		WHERE s.last_seq <> (SELECT max(seq) FROM events ev WHERE ev.subject = s.subject)`); n != 0 {
		t.Errorf("%d subject counters past their events", n)
	}
}

// Reading after a cursor goes on where the last page ended, reading each event once; a cursor that is
// no event's is ErrNotFound; the names are kept apart from the data.
func TestEventsAfterPagesAndNames(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith", Email: "ann@example.org", Active: true, NINumber: domain.NewSensitive("QQ123456C")})
	for i := range 4 {
		if _, err := e.st.UpdatePerson(e.ctx, nil, p.ID, []string{"email"}, func(q *domain.Person) {
			q.Email = fmt.Sprintf("ann%d@example.org", i)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.st.UpdatePerson(e.ctx, nil, p.ID, []string{"active"}, func(q *domain.Person) { q.Active = false }); err != nil {
		t.Fatal(err)
	}
	e.settledEvents(t)
	var read []events.Record
	after := int64(0)
	for {
		page, err := e.st.EventsAfter(e.ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		read = append(read, page...)
		after = page[len(page)-1].ID
	}
	var types []events.Type
	for i, ev := range read {
		types = append(types, ev.Type)
		if ev.Seq != int64(i+1) || ev.Subject != events.PersonSubject(p.ID) {
			t.Errorf("event %d: %s #%d", i, ev.Subject, ev.Seq)
		}
		for _, secret := range []string{"Ann", "Smith", "ann", "QQ123456C", "1980"} {
			if strings.Contains(string(ev.Data), secret) {
				t.Errorf("%s's data %s holds %q", ev.Type, ev.Data, secret)
			}
		}
		var names map[string]string
		if err := json.Unmarshal(ev.Names, &names); err != nil || names["personName"] != "Ann Smith" {
			t.Errorf("%s's names: %s", ev.Type, ev.Names)
		}
	}
	want := []events.Type{events.PersonCreated, events.PersonUpdated, events.PersonUpdated, events.PersonUpdated,
		events.PersonUpdated, events.PersonUpdated, events.PersonDeactivated}
	if !slices.Equal(types, want) {
		t.Errorf("events %v, want %v", types, want)
	}
	if _, err := e.st.EventsAfter(e.ctx, after+1000, 10); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown cursor: %v, want ErrNotFound", err)
	}
	since, err := e.st.EventsSince(e.ctx, read[3].OccurredAt, 100)
	if err != nil || len(since) != len(read)-3 || since[0].ID != read[3].ID {
		t.Errorf("since the fourth event: %d events, %v", len(since), err)
	}
}

// The events table is append-only.
func TestEventsAreAppendOnly(t *testing.T) {
	e := setup(t)
	e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	for _, sql := range []string{`UPDATE events SET type = 'x'`, `DELETE FROM events`, `TRUNCATE events`} {
		if _, err := e.db.Exec(e.ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only error", sql, err)
		}
	}
}

// settledEvents waits until every event written is settled (EventsAfter reads only events of
// transactions older than every one running on the server, and other tests' write on it too), and reads
// them all.
func (e env) settledEvents(t *testing.T) []events.Record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		all, err := e.st.EventsAfter(e.ctx, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		n := e.count(t, `SELECT count(*) FROM events`)
		if len(all) == n {
			return all
		}
		if len(all) > n || time.Now().After(deadline) {
			t.Fatalf("EventsAfter read %d of %d events", len(all), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The store's clearance, disclosure and partner lookup writes give their events, with ids and states.
func TestEventsOfClearancesDisclosuresAndLookups(t *testing.T) {
	e := setup(t)
	officer := e.user(t, "Olive", true)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	ref := e.openCase(t, p.ID, domain.LevelSC)
	c, err := e.st.RecordClearance(e.ctx, &officer.ID, clearance(p.ID, domain.LevelSC, ref, domain.NewDate(2020, 1, 6), 5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.RecordClearance(e.ctx, &officer.ID, clearance(p.ID, domain.LevelSC, ref, domain.NewDate(2020, 1, 6), 5)); err != nil {
		t.Fatal(err) // a retried activity: no second clearance.granted
	}
	for _, status := range []string{"suspended", "active", "revoked"} {
		if _, err := e.st.SetClearanceStatus(e.ctx, &officer.ID, c.ID, status, "Ann Smith told us"); err != nil {
			t.Fatalf("%s: %v", status, err)
		}
	}
	old := e.openCase(t, p.ID, domain.LevelDV)
	dv, err := e.st.RecordClearance(e.ctx, &officer.ID, clearance(p.ID, domain.LevelDV, old, domain.NewDate(2010, 1, 6), 5))
	if err != nil {
		t.Fatal(err)
	}
	// The 90-day reminder of the DV clearance, its activity retried: one clearance.expiring. The revoked
	// SC clearance is expiring no more: none.
	for _, id := range []uuid.UUID{dv.ID, dv.ID, c.ID} {
		if err := e.st.ClearanceExpiring(e.ctx, id, 90, 89); err != nil {
			t.Fatal(err)
		}
	}
	if expired, err := e.st.ExpireClearances(e.ctx, domain.NewDate(2016, 1, 1)); err != nil || len(expired) != 1 {
		t.Fatalf("ExpireClearances: %v %v", expired, err)
	}
	if err := e.st.RecordDisclosures(e.ctx, store.DisclosureBatch{
		Disclosures: []domain.Disclosure{{PersonID: p.ID, Source: "partner_lookup", Recipient: "Beacon", Reason: "door",
			Disclosed: map[string]any{"level": "SC", "lastName": "Smith"}}},
		Audit: store.AuditEntry{Action: "external.lookup", EntityType: "partner_site", EntityID: "s1",
			Detail: map[string]any{"status": 200, "outcome": "found", "callerIp": "203.0.113.9", "subject": "Ann Smith"}}}); err != nil {
		t.Fatal(err)
	}
	all := e.settledEvents(t)
	var got []string
	for _, ev := range all {
		if ev.Subject == events.PersonSubject(p.ID) && ev.Type == events.PersonCreated {
			continue
		}
		got = append(got, fmt.Sprintf("%s %s %d", ev.Type, strings.SplitN(ev.Subject, "/", 2)[0], ev.Seq))
		if ev.Type == events.ClearanceExpiring {
			var data map[string]any
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			if want := (map[string]any{"clearanceId": dv.ID.String(), "personId": p.ID.String(), "status": "active",
				"level": "DV", "validTo": "2015-01-06", "daysLeft": float64(89)}); !reflect.DeepEqual(data, want) {
				t.Errorf("clearance.expiring data %v, want %v", data, want)
			}
		}
		for _, secret := range []string{"Ann", "Smith", "203.0.113.9", "told us", "Beacon", "door"} {
			if strings.Contains(string(ev.Data), secret) {
				t.Errorf("%s: data %s holds %q", ev.Type, ev.Data, secret)
			}
		}
	}
	want := []string{"case.opened case 1", "clearance.granted clearance 1", "clearance.suspended clearance 2",
		"clearance.reinstated clearance 3", "clearance.revoked clearance 4", "case.opened case 1",
		"clearance.granted clearance 1", "clearance.expiring clearance 2", "clearance.expired clearance 3", "partner.lookup partner 1",
		"disclosure.recorded person 2"}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%v\nwant\n%v", got, want)
	}
}

// A message that failed or was undelivered gives message.failed once (a repeated receipt none), and a
// broadcast that closes gives broadcast.completed once: changes with no audit entry, whose own writes
// change a row once.
func TestEventsOfMessagesAndBroadcasts(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith", Mobile: "+447400123456"})
	now := time.Now().UTC()
	create := func(id string) {
		if _, _, err := e.st.CreateMessage(e.ctx, domain.Message{ID: id, Channel: domain.ChannelSMS, Template: "reminder",
			TemplateVersion: 1, PersonID: &p.ID, Recipient: "+447400123456", Body: "Ann, your vetting form is due",
			Status: domain.MessagePending, StatusAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	create("m_refused")
	for range 2 {
		if _, err := e.st.MessageNotSent(e.ctx, "m_refused", domain.MessageFailed, 21211, "Invalid 'To' +447400123456", now); err != nil {
			t.Fatal(err)
		}
	}
	create("m_undelivered")
	if _, err := e.st.MessageAccepted(e.ctx, "m_undelivered", "twilio", messaging.Receipt{ProviderID: "SM1",
		Status: domain.MessageSent}, now); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := e.st.ApplyMessageEvent(e.ctx, "twilio", messaging.Event{MessageID: "m_undelivered", ProviderID: "SM1",
			EventID: "ev1", Status: domain.MessageUndelivered, Raw: "undelivered", ErrorCode: 30003, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	g, err := e.st.CreateGroup(e.ctx, nil, domain.ContactGroup{Name: "Everyone", Kind: domain.GroupManual}, []uuid.UUID{p.ID})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := e.st.CreateBroadcast(e.ctx, nil, domain.Broadcast{ID: uuid.New(), GroupID: g.ID, Body: "Drill. Reply SAFE.",
		Keywords: []string{"SAFE"}, Rate: 1, ReplyUntil: now, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"sending", "collecting", "closed", "closed"} {
		if err := e.st.SetBroadcastStatus(e.ctx, bc.ID, status, now); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, ev := range e.settledEvents(t) {
		if ev.Type == events.PersonCreated {
			continue
		}
		got = append(got, fmt.Sprintf("%s %s %d", ev.Type, ev.Subject, ev.Seq))
		for _, secret := range []string{"Ann", "7400123456", "vetting form", "Invalid", "Drill"} {
			if strings.Contains(string(ev.Data), secret) {
				t.Errorf("%s: data %s holds %q", ev.Type, ev.Data, secret)
			}
		}
	}
	want := []string{"message.failed message/m_refused 1", "message.failed message/m_undelivered 1",
		"broadcast.completed broadcast/" + bc.ID.String() + " 1"}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%v\nwant\n%v", got, want)
	}
}

// A reconciliation finding gives access.finding once (recorded again, none), without its free detail.
func TestEventsOfAccessFindings(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	for range 2 {
		if _, err := e.st.RecordFindings(e.ctx, []access.Finding{{ID: "f-1", Kind: access.FindingPossibleMatch,
			PersonID: p.ID, UserID: "u42", Detail: map[string]any{"name": "Ann Smith"}, Action: "reported"}}); err != nil {
			t.Fatal(err)
		}
	}
	var found []events.Record
	for _, ev := range e.settledEvents(t) {
		if ev.Type == events.AccessFinding {
			found = append(found, ev)
		}
	}
	if len(found) != 1 || found[0].Subject != "access-finding/f-1" || strings.Contains(string(found[0].Data), "Ann") {
		t.Fatalf("access.finding events %+v", found)
	}
	var data map[string]any
	if err := json.Unmarshal(found[0].Data, &data); err != nil || data["personId"] != p.ID.String() ||
		data["kind"] != string(access.FindingPossibleMatch) || data["acsUserId"] != "u42" {
		t.Errorf("data %s", found[0].Data)
	}
}
