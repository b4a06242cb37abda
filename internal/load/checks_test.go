package load_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/pprof/profile"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/internal/testenv"
)

// checkOnce holds what the run wrote to what it was answered: one case per case opened (each answered
// with its own reference; the retries on the other API opened none), one audit entry, timeline event and lifecycle event per thing done, one
// message per broadcast recipient at Twilio, one CredoID cardholder per person synced, and an audit log
// that verifies.
func (s *system) checkOnce(out outcome) {
	t := s.t
	ok := out.tally.ok
	persons, opened := ok["POST /api/v1/persons"], 0
	out.opened.Range(func(any, any) bool { opened++; return true })
	for _, c := range []struct {
		what, sql string
		want      int
	}{
		{"cases", `SELECT count(*) FROM vetting_cases`, opened},
		{"persons", `SELECT count(*) FROM persons`, s.seeded + persons},
		// the audit log: an entry per request carried out, per workflow step, per cardholder made
		{"case.opened audit entries", `SELECT count(*) FROM audit_log WHERE action = 'case.opened'`, opened},
		{"case.with_officer audit entries", `SELECT count(*) FROM audit_log WHERE action = 'case.with_officer'`, opened},
		{"case.owner_assigned audit entries", `SELECT count(*) FROM audit_log WHERE action = 'case.owner_assigned'`, ok["POST /api/v1/cases/:caseRef/owner"]},
		{"case.note audit entries", `SELECT count(*) FROM audit_log WHERE action = 'case.note'`, ok["POST /api/v1/cases/:caseRef/notes"]},
		{"case.information_requested audit entries", `SELECT count(*) FROM audit_log WHERE action = 'case.information_requested'`,
			ok["POST /api/v1/cases/:caseRef/information-requests"]},
		{"person.create audit entries", `SELECT count(*) FROM audit_log WHERE action = 'person.create'`, s.seeded + persons},
		{"external.lookup audit entries", `SELECT count(*) FROM audit_log WHERE action = 'external.lookup'`, ok["POST /api/external/vetting/lookup"]},
		{"broadcast.create audit entries", `SELECT count(*) FROM audit_log WHERE action = 'broadcast.create'`, 1},
		{"access.create audit entries", `SELECT count(*) FROM audit_log WHERE action = 'access.create'`, s.shape.SyncPersons},
		{"access.sync.completed audit entries", `SELECT count(*) FROM audit_log WHERE action = 'access.sync.completed'`, 1},
		// the cases' timelines
		{"opened timeline events", `SELECT count(*) FROM case_events WHERE kind = 'opened'`, opened},
		{"cases opened twice in their timeline", `SELECT count(*) FROM (SELECT case_ref FROM case_events WHERE kind = 'opened'
			GROUP BY case_ref HAVING count(*) > 1) twice`, 0},
		{"owner_assigned timeline events", `SELECT count(*) FROM case_events WHERE kind = 'owner_assigned'`, ok["POST /api/v1/cases/:caseRef/owner"]},
		{"note timeline events", `SELECT count(*) FROM case_events WHERE kind = 'note'`, ok["POST /api/v1/cases/:caseRef/notes"]},
		{"information_requested timeline events", `SELECT count(*) FROM case_events WHERE kind = 'information_requested'`,
			ok["POST /api/v1/cases/:caseRef/information-requests"]},
		// the lifecycle events webhooks deliver
		{"case.opened lifecycle events", `SELECT count(*) FROM events WHERE type = 'case.opened'`, opened},
		{"person.created lifecycle events", `SELECT count(*) FROM events WHERE type = 'person.created'`, s.seeded + persons},
		{"partner.lookup lifecycle events", `SELECT count(*) FROM events WHERE type = 'partner.lookup'`, ok["POST /api/external/vetting/lookup"]},
		{"lifecycle events twice in a subject's sequence", `SELECT count(*) FROM (SELECT subject, seq FROM events
			GROUP BY subject, seq HAVING count(*) > 1) twice`, 0},
		// the broadcast's messages
		{"broadcast messages", `SELECT count(*) FROM messages WHERE broadcast_id IS NOT NULL`, s.shape.Recipients},
		{"broadcast messages with a distinct Twilio SID", `SELECT count(DISTINCT provider_id) FROM messages WHERE broadcast_id IS NOT NULL`, s.shape.Recipients},
	} {
		if got := testenv.Count(t, s.dbURL, c.sql); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}

	stats := s.twilio.Stats()
	if stats.Accepted != s.shape.Recipients || stats.Duplicates != 0 || len(stats.PerRecipient) != s.shape.Recipients {
		t.Errorf("Twilio accepted %d messages for %d recipients with %d duplicates; want %d, each once",
			stats.Accepted, len(stats.PerRecipient), stats.Duplicates, s.shape.Recipients)
	}
	if n := len(s.credo.Users()); n != s.shape.SyncPersons {
		t.Errorf("CredoID holds %d cardholders, want %d", n, s.shape.SyncPersons)
	}
	for _, id := range s.syncPersons {
		if n := len(s.credo.UsersByExternalID(access.ExternalID(id))); n != 1 {
			t.Errorf("person %s has %d cardholders, want 1", id, n)
		}
	}

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rep, err := audit.VerifyWith(ctx, conn, audit.VerifyOptions{})
	if err != nil || !rep.OK() {
		t.Errorf("the audit log does not verify: %v %v", rep, err)
	}
}

// routeProfile is the CPU a route's requests took in a profile (pprof label route, api.Deps.ProfileLabels;
// "": every sample, the whole process) and where it went, most first: the functions that spent it
// themselves (flat), and SignetAssure's innermost function on each sample (what of ours spent it, with
// what it called outside SignetAssure).
func routeProfile(data []byte, route string, top int) (string, error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	cpu := len(p.SampleType) - 1 // cpu nanoseconds, after the sample count
	flat, ours := map[string]int64{}, map[string]int64{}
	var total, all int64
	for _, s := range p.Sample {
		v := s.Value[cpu]
		all += v
		if l := s.Label["route"]; route != "" && (len(l) == 0 || l[0] != route) {
			continue
		}
		total += v
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 {
			flat[s.Location[0].Line[0].Function.Name] += v
		}
		ours[innermostOurs(s)] += v
	}
	var b strings.Builder
	if route == "" {
		route = "the whole process"
	}
	fmt.Fprintf(&b, "%s: %.2f s of CPU in the profile's %.2f s (%.0f%%), over %s\n", route, sec(total), sec(all),
		100*float64(total)/float64(max(all, 1)), time.Duration(p.DurationNanos).Round(time.Second))
	for _, part := range []struct {
		name string
		m    map[string]int64
	}{{"flat", flat}, {"by SignetAssure's innermost function", ours}} {
		fmt.Fprintf(&b, "  top %s:\n", part.name)
		for _, f := range topOf(part.m, top) {
			fmt.Fprintf(&b, "    %6.2fs %5.1f%%  %s\n", sec(part.m[f]), 100*float64(part.m[f])/float64(max(total, 1)), f)
		}
	}
	return b.String(), nil
}

// innermostOurs is the innermost SignetAssure function on a sample's stack ("(none)": none is).
func innermostOurs(s *profile.Sample) string {
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if strings.HasPrefix(line.Function.Name, "github.com/signetassure/") {
				return line.Function.Name
			}
		}
	}
	return "(none)"
}

// routesSampled is the CPU each route's requests took in a profile, by its pprof label route.
func routesSampled(data []byte) (map[string]int64, error) {
	p, err := profile.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, s := range p.Sample {
		if l := s.Label["route"]; len(l) > 0 {
			out[l[0]] += s.Value[len(p.SampleType)-1]
		}
	}
	return out, nil
}

func topOf(m map[string]int64, n int) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return m[names[i]] > m[names[j]] })
	return names[:min(n, len(names))]
}

func sec(ns int64) float64 { return float64(ns) / 1e9 }
