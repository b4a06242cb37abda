package events

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sample() Record {
	return Record{ID: 42, EventID: uuid.MustParse("0b0f6f0e-5d1c-4c1b-9a43-2f1e6d7c8a90"), Type: CaseOpened, Version: 1,
		Subject: "case/v_2j6jpwn5icgxtuxt76lz2kogl4", Seq: 1, OccurredAt: time.Date(2026, 5, 1, 9, 30, 0, 123456000, time.UTC),
		Data:  json.RawMessage(`{"caseRef":"v_2j6jpwn5icgxtuxt76lz2kogl4","personId":"5f7f3c1e-8b1a-4c55-b7a2-6f0a1d2e3c4b","requestedLevel":"SC","status":"opened","caseType":"new","version":1}`),
		Names: json.RawMessage(`{"personName":"Ann Smith"}`)}
}

// The envelope is CloudEvents 1.0 JSON: the golden file, and the spec's rules checked on it.
func TestEnvelopeGolden(t *testing.T) {
	env, err := sample().Envelope(false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/envelope.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the envelope:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	checkCloudEvent(t, want)
}

// checkCloudEvent checks a structured-mode JSON event against the CloudEvents 1.0 spec: the required
// context attributes (id, source, specversion, type) are non-empty strings, specversion is 1.0, the
// optional ones have their types (time RFC 3339, datacontenttype a media type), and every attribute name
// is lower-case letters and digits, an extension's at most 20 characters.
func checkCloudEvent(t *testing.T, raw []byte) {
	t.Helper()
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	str := func(name string) string {
		var s string
		if err := json.Unmarshal(ev[name], &s); err != nil {
			t.Errorf("%s: not a string: %s", name, ev[name])
		}
		return s
	}
	for _, name := range []string{"id", "source", "specversion", "type"} {
		if _, ok := ev[name]; !ok || str(name) == "" {
			t.Errorf("the required attribute %s is missing or empty", name)
		}
	}
	if v := str("specversion"); v != "1.0" {
		t.Errorf("specversion %q", v)
	}
	if _, err := time.Parse(time.RFC3339Nano, str("time")); err != nil {
		t.Errorf("time: %v", err)
	}
	if ct := str("datacontenttype"); ct != "application/json" {
		t.Errorf("datacontenttype %q", ct)
	}
	if str("subject") == "" {
		t.Error("subject is empty")
	}
	var data map[string]any
	if err := json.Unmarshal(ev["data"], &data); err != nil {
		t.Errorf("data is not a JSON object: %v", err)
	}
	core := map[string]bool{"id": true, "source": true, "specversion": true, "type": true, "datacontenttype": true,
		"dataschema": true, "subject": true, "time": true, "data": true}
	name := regexp.MustCompile(`^[a-z0-9]+$`)
	for k := range ev {
		if !name.MatchString(k) {
			t.Errorf("attribute %q: not lower-case letters and digits", k)
		}
		if !core[k] && len(k) > 20 {
			t.Errorf("extension %q is longer than 20 characters", k)
		}
	}
	// The sequence extension (CloudEvents extensions/sequence.md): a string that orders lexicographically.
	seq := str("sequence")
	if n, err := ParseSequence(seq); err != nil || n < 1 || seq != SequenceString(n) {
		t.Errorf("sequence %q", seq)
	}
	if SequenceString(9) >= SequenceString(10) {
		t.Error("sequences do not order as strings")
	}
}

// Names are in the data only when asked for.
func TestEnvelopeNames(t *testing.T) {
	without, _ := sample().Envelope(false)
	with, err := sample().Envelope(true)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(without.Data), "Ann") {
		t.Errorf("names without asking: %s", without.Data)
	}
	var data struct {
		Names   map[string]string `json:"names"`
		CaseRef string            `json:"caseRef"`
	}
	if err := json.Unmarshal(with.Data, &data); err != nil || data.Names["personName"] != "Ann Smith" || data.CaseRef == "" {
		t.Errorf("with names: %s (%v)", with.Data, err)
	}
}

// The catalogue: unique dotted lower-case names, each with a version and a description.
func TestCatalogue(t *testing.T) {
	name := regexp.MustCompile(`^[a-z]+(\.[a-z_]+)+$`)
	seen := map[Type]bool{}
	for _, s := range Catalogue() {
		if seen[s.Type] || !name.MatchString(string(s.Type)) || s.Version < 1 || s.Description == "" {
			t.Errorf("catalogue entry %+v", s)
		}
		seen[s.Type] = true
		if got, ok := Lookup(s.Type); !ok || got != s {
			t.Errorf("Lookup(%s) = %+v", s.Type, got)
		}
	}
	if _, ok := Lookup("case.nonsense"); ok {
		t.Error("Lookup found a type not in the catalogue")
	}
}

// The changes audited give their events with ids and states only: no free text, no personal values.
func TestFromAuditKeepsToIdsAndStates(t *testing.T) {
	person := uuid.New()
	secret := "Ann Smith QQ123456C 07700900123 ann@example.org"
	cases := []struct {
		audit Audit
		want  Type
	}{
		{Audit{"person.create", "person", person.String(), nil}, PersonCreated},
		{Audit{"person.update", "person", person.String(), map[string]any{"fields": []string{"email"}}}, PersonUpdated},
		{Audit{"clearance.record", "person", person.String(), map[string]any{"clearanceId": uuid.New(), "level": "SC"}}, ClearanceGranted},
		{Audit{"clearance.expire", "person", person.String(), map[string]any{"clearanceId": uuid.New(), "level": "SC"}}, ClearanceExpired},
		{Audit{"clearance.suspended", "person", person.String(), map[string]any{"clearanceId": uuid.New(), "reason": secret}}, ClearanceSuspended},
		{Audit{"clearance.active", "person", person.String(), map[string]any{"clearanceId": uuid.New(), "reason": secret}}, ClearanceReinstated},
		{Audit{"clearance.revoked", "person", person.String(), map[string]any{"clearanceId": uuid.New(), "reason": secret}}, ClearanceRevoked},
		{Audit{"access.grant.active", "person", person.String(), map[string]any{"grantId": "g1", "levelId": "L1", "reason": secret}}, AccessGrantActivated},
		{Audit{"access.grant.ended", "person", person.String(), map[string]any{"grantId": "g1", "levelId": "L1", "reason": secret}}, AccessGrantEnded},
		{Audit{"access.finding.orphan", "person", person.String(), map[string]any{"findingId": "f1", "detail": secret}}, AccessFinding},
		{Audit{"external.lookup", "partner_site", uuid.NewString(), map[string]any{"status": 200, "outcome": "found",
			"callerIp": "203.0.113.9", "subject": secret}}, PartnerLookup},
		{Audit{"identity.check.accepted", "vetting_case", "v_x", map[string]any{"attempt": 1, "mismatches": []string{"lastName"}}}, IdentityCheckCompleted},
		{Audit{"supplier.create", "supplier", uuid.NewString(), nil}, SupplierCreated},
		{Audit{"supplier.update", "supplier", uuid.NewString(), map[string]any{"fields": []string{"contacts"}, "contact": secret}}, SupplierUpdated},
		{Audit{"supplier.archive", "supplier", uuid.NewString(), nil}, SupplierArchived},
		{Audit{"supplier.restore", "supplier", uuid.NewString(), nil}, SupplierRestored},
	}
	for _, c := range cases {
		got := FromAudit(c.audit)
		if len(got) != 1 || got[0].Type != c.want || got[0].Version != c.want.Version() || got[0].Subject == "" {
			t.Errorf("%s: %+v, want one %s", c.audit.Action, got, c.want)
			continue
		}
		data, _ := json.Marshal(got[0].Data)
		for _, bad := range []string{"Ann", "QQ123456C", "07700900123", "ann@", "203.0.113.9", "lastName"} {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s: data %s holds %q", c.audit.Action, data, bad)
			}
		}
	}
	for _, quiet := range []string{"identity.check.pending", "session.start", "access.finding.resolve", "person.verify"} {
		if got := FromAudit(Audit{Action: quiet, EntityType: "vetting_case", EntityID: "v_x"}); len(got) != 0 {
			t.Errorf("%s gave %+v", quiet, got)
		}
	}
}

// A case's timeline events: its own type, and case.status_changed when the status moved.
func TestCaseChange(t *testing.T) {
	c := domain.Case{CaseRef: "v_x", PersonID: uuid.New(), Status: domain.StatusOpened, Version: 1}
	if got := CaseChange(c, "opened", ""); len(got) != 1 || got[0].Type != CaseOpened || got[0].Subject != "case/v_x" {
		t.Errorf("opened: %+v", got)
	}
	c.Status = domain.StatusWithOfficer
	got := CaseChange(c, "with_officer", domain.StatusOpened)
	if len(got) != 1 || got[0].Type != CaseStatusChanged || got[0].Data["from"] != domain.StatusOpened {
		t.Errorf("with_officer: %+v", got)
	}
	c.Status = domain.StatusCleared
	if got := CaseChange(c, "outcome", domain.StatusWithOfficer); len(got) != 2 || got[0].Type != CaseOutcomeRecorded ||
		got[1].Type != CaseStatusChanged {
		t.Errorf("outcome: %+v", got)
	}
	if got := CaseChange(c, "note", domain.StatusCleared); len(got) != 0 {
		t.Errorf("a note: %+v", got)
	}
	site := uuid.New()
	c.Status, c.DelegatedSiteID = domain.StatusWithPartner, &site
	if got := CaseChange(c, "delegated", domain.StatusWithOfficer); len(got) != 2 || got[0].Type != CaseDelegated ||
		got[0].Data["siteId"] != site.String() || got[1].Type != CaseStatusChanged {
		t.Errorf("delegated: %+v", got)
	}
	c.Status, c.DelegatedSiteID, c.ForSiteID = domain.StatusCleared, nil, &site
	if got := CaseChange(c, "returned_to_partner", domain.StatusCleared); len(got) != 1 || got[0].Type != CaseReturned ||
		got[0].Data["siteId"] != site.String() {
		t.Errorf("returned_to_partner: %+v", got)
	}
}
