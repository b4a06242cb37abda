package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParseUKMobileAcceptsCommonForms(t *testing.T) {
	for _, in := range []string{"07400 123456", "+44 7400 123456", "+447400123456", "07400123456",
		"(07400) 123 456", "07400-123-456", "+44 (0) 7400 123456", "0044 7400 123456", " 07400 123456 "} {
		got, err := ParseUKMobile(in)
		if err != nil {
			t.Errorf("ParseUKMobile(%q): %v", in, err)
			continue
		}
		if got != "+447400123456" {
			t.Errorf("ParseUKMobile(%q) = %q, want +447400123456", in, got)
		}
	}
}

func TestParseUKMobileRejects(t *testing.T) {
	for _, in := range []string{
		"020 7219 3000",   // a London landline (the Houses of Parliament)
		"0161 496 0000",   // a Manchester landline (drama range)
		"+1 415 555 2671", // a US number
		"+33 6 12 34 56 78",
		"", "not a number", "07400", "0740012345678901", "abc07400123456",
		"07700 900123", "07700900000", "+44 7700 900999", // Ofcom drama numbers
		"0800 123 4567", // freephone
		// libphonenumber alone would accept these, dropping the text or reading letters as keypad digits
		"07400 ABCDEF", "!!07400123456", "tel:+447400123456", "07400 123456 ext 12",
	} {
		if got, err := ParseUKMobile(in); err == nil {
			t.Errorf("ParseUKMobile(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseNINumberNormalises(t *testing.T) {
	for in, want := range map[string]string{
		"ab 12 34 56 c":  "AB123456C",
		"AB123456C":      "AB123456C",
		" jg 10 37 59 a": "JG103759A",
		"oa123456d":      "OA123456D", // O is allowed as the first letter
		"ce\t123456\nb":  "CE123456B",
	} {
		got, err := ParseNINumber(in)
		if err != nil {
			t.Errorf("ParseNINumber(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("ParseNINumber(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseNINumberRejects(t *testing.T) {
	bad := []string{
		// prefixes HMRC never allocates
		"BG123456A", "GB123456A", "NK123456A", "KN123456A", "TN123456A", "NT123456A", "ZZ123456A",
		// D, F, I, Q, U, V as the first letter
		"DA123456A", "FA123456A", "IA123456A", "QA123456A", "UA123456A", "VA123456A",
		// QQ123456C is HMRC's specimen number: its Q prefix is never issued
		"qq 12 34 56 c",
		// D, F, I, Q, U, V or O as the second letter
		"AD123456A", "AF123456A", "AI123456A", "AQ123456A", "AU123456A", "AV123456A", "AO123456A",
		// suffix not A to D
		"AB123456E", "AB123456Z", "AB1234561", "AB123456",
		// garbage
		"", "AB12345C", "AB1234567C", "A1123456C", "12AB3456C", "AB-12-34-56-C",
	}
	for _, in := range bad {
		if got, err := ParseNINumber(in); err == nil {
			t.Errorf("ParseNINumber(%q) = %q, want an error", in, got)
		}
	}
}

func TestFoldName(t *testing.T) {
	a, b := FoldName("  José  O'Brien "), FoldName("jose o'brien")
	if a != b || a != "jose o'brien" {
		t.Errorf("FoldName: %q and %q, want both %q", a, b, "jose o'brien")
	}
	if got := FoldName("Zoë"); got != "zoe" {
		t.Errorf(`FoldName("Zoë") = %q, want "zoe"`, got)
	}
	if got := FoldName("José", "O'Brien"); got != "jose o'brien" {
		t.Errorf(`FoldName("José", "O'Brien") = %q`, got)
	}
	// a decomposed é (e + combining acute) folds like a precomposed one
	if got := FoldName("Jose\u0301"); got != "jose" {
		t.Errorf("FoldName(decomposed) = %q, want jose", got)
	}
}

const secret = "AB123456C 10 Downing Street"

func TestSensitiveNeverPrints(t *testing.T) {
	s := NewSensitive(secret)
	type holder struct {
		Name  string
		Value Sensitive
		Ptr   *Sensitive
	}
	h := holder{Name: "x", Value: s, Ptr: &s}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
		for _, v := range []any{s, &s, h, &h, []Sensitive{s}, map[string]Sensitive{"k": s}} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, "Downing") {
				t.Errorf("Sprintf(%s, %T) = %q: shows the value", verb, v, out)
			}
		}
	}
	if out := fmt.Sprint(s, h); strings.Contains(out, "Downing") {
		t.Errorf("Sprint shows the value: %q", out)
	}

	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "Downing") || !strings.Contains(string(b), redacted) {
		t.Errorf("json.Marshal = %s", b)
	}
	b, _ = json.Marshal(map[string]any{"s": s, "list": []Sensitive{s}})
	if strings.Contains(string(b), "Downing") {
		t.Errorf("json.Marshal(map) = %s", b)
	}

	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("person", "ni", s, "ptr", &s, "holder", h, slog.Any("any", s), slog.Group("g", "s", s))
	log.Info("text "+fmt.Sprint(s), "v", fmt.Sprintf("%v", h))
	if strings.Contains(buf.String(), "Downing") {
		t.Errorf("slog shows the value: %s", buf.String())
	}
	if !strings.Contains(buf.String(), redacted) {
		t.Errorf("slog: want %q in %s", redacted, buf.String())
	}
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("person", "ni", s, "holder", h)
	if strings.Contains(buf.String(), "Downing") {
		t.Errorf("slog text handler shows the value: %s", buf.String())
	}

	if s.Reveal() != secret {
		t.Errorf("Reveal = %q, want %q", s.Reveal(), secret)
	}
	if s.IsZero() || !NewSensitive("").IsZero() {
		t.Error("IsZero")
	}
}

func TestPersonJSONOmitsSensitive(t *testing.T) {
	p := Person{FirstName: "Ann", LineManager: NewSensitive("Bob Secret"), Address: NewSensitive("1 Secret Road"),
		NINumber: NewSensitive("AB123456C")}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"Secret", "AB123456C"} {
		if strings.Contains(string(b), v) {
			t.Errorf("json.Marshal(Person) shows %q: %s", v, b)
		}
	}
	if out := fmt.Sprintf("%+v %#v", p, p); strings.Contains(out, "Secret") || strings.Contains(out, "AB123456C") {
		t.Errorf("fmt shows a sensitive field: %s", out)
	}
}

func TestParseSLATableDefaults(t *testing.T) {
	tab, err := ParseSLATable(DefaultSLA, DefaultSLAReminders)
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	for _, c := range []struct {
		typ  CaseType
		l    Level
		want time.Duration
	}{
		{CaseNew, LevelDV, 95 * day}, {CaseNew, LevelEDV, 95 * day}, {CaseNew, LevelSC, 25 * day},
		{CaseRenewal, LevelSC, 25 * day}, {CaseNew, LevelCTC, 25 * day}, {CaseNew, LevelBPSS, 10 * day},
	} {
		if got := tab.For(c.typ, c.l).Due; got != c.want {
			t.Errorf("For(%s, %s).Due = %v, want %v", c.typ, c.l, got, c.want)
		}
	}
	sla := tab.For(CaseNew, LevelSC)
	if len(sla.Reminders) != 2 || sla.Reminders[0] != 7*day || sla.Reminders[1] != day {
		t.Errorf("reminders = %v, want [7d 1d]", sla.Reminders)
	}
	// For returns a copy: changing it leaves the table alone
	sla.Reminders[0] = time.Hour
	if got := tab.For(CaseNew, LevelSC).Reminders[0]; got != 7*day {
		t.Errorf("For shares its reminders: %v", got)
	}
}

func TestParseSLATableTypeOverride(t *testing.T) {
	tab, err := ParseSLATable(DefaultSLA+",renewal:SC=20d", "1d, 14d ,7d")
	if err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	if got := tab.For(CaseRenewal, LevelSC).Due; got != 20*day {
		t.Errorf("renewal SC due = %v, want 20d", got)
	}
	for _, typ := range []CaseType{CaseNew, CaseUpgrade, CaseTransfer, CaseAftercare} {
		if got := tab.For(typ, LevelSC).Due; got != 25*day {
			t.Errorf("%s SC due = %v, want 25d", typ, got)
		}
	}
	if got := tab.For(CaseRenewal, LevelDV).Due; got != 95*day {
		t.Errorf("renewal DV due = %v, want 95d", got)
	}
	r := tab.For(CaseNew, LevelSC).Reminders
	if want := []time.Duration{14 * day, 7 * day, day}; fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("reminders = %v, want earliest first %v", r, want)
	}
}

func TestParseSLATableErrors(t *testing.T) {
	for _, c := range []struct{ due, rem string }{
		{"BPSS=10d,CTC=25d,SC=25d,eSC=25d,DV=95d", "7d"}, // eDV missing
		{"SC=25d", ""},
		{"", ""},
		{DefaultSLA + ",XX=3d", ""},
		{DefaultSLA + ",bogus:SC=3d", ""},
		{DefaultSLA + ",SC", ""},
		{DefaultSLA + ",SC=soon", ""},
		{DefaultSLA + ",SC=0d", ""},
		{DefaultSLA + ",SC=-5d", ""},
		{"garbage", "7d"},
		{DefaultSLA, "soon"},
		{DefaultSLA, "7d,-1d"},
	} {
		if _, err := ParseSLATable(c.due, c.rem); err == nil {
			t.Errorf("ParseSLATable(%q, %q): want an error", c.due, c.rem)
		}
	}
}

func TestParseDays(t *testing.T) {
	for in, want := range map[string]time.Duration{"25d": 25 * 24 * time.Hour, " 1d ": 24 * time.Hour,
		"36h": 36 * time.Hour, "90s": 90 * time.Second} {
		if got, err := ParseDays(in); err != nil || got != want {
			t.Errorf("ParseDays(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1d", "1.5d", "0s", "-1h", "x"} {
		if _, err := ParseDays(in); err == nil {
			t.Errorf("ParseDays(%q): want an error", in)
		}
	}
}

func TestDateJSON(t *testing.T) {
	d := NewDate(2024, time.February, 29)
	b, err := json.Marshal(d)
	if err != nil || string(b) != `"2024-02-29"` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back Date
	if err := json.Unmarshal(b, &back); err != nil || back != d {
		t.Fatalf("Unmarshal = %v, %v; want %v", back, err, d)
	}

	type holder struct {
		D Date  `json:"d"`
		P *Date `json:"p"`
	}
	b, _ = json.Marshal(holder{})
	if string(b) != `{"d":null,"p":null}` {
		t.Errorf("zero Date marshals as %s", b)
	}
	var h holder
	if err := json.Unmarshal([]byte(`{"d":null,"p":null}`), &h); err != nil || !h.D.IsZero() || h.P != nil {
		t.Errorf("Unmarshal nulls = %+v, %v", h, err)
	}
	if err := json.Unmarshal([]byte(`{"d":"2024-13-01"}`), &h); err == nil {
		t.Error("Unmarshal accepts month 13")
	}
	if err := json.Unmarshal([]byte(`{"d":"01/02/2024"}`), &h); err == nil {
		t.Error("Unmarshal accepts 01/02/2024")
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2023-03-31")
	if err != nil || d != NewDate(2023, time.March, 31) || d.String() != "2023-03-31" {
		t.Fatalf("ParseDate = %v, %v", d, err)
	}
	if got := d.AddDays(1); got != NewDate(2023, time.April, 1) {
		t.Errorf("AddDays = %v", got)
	}
	if got := NewDate(2024, time.February, 29).AddYears(5); got.String() != "2029-03-01" {
		t.Errorf("AddYears = %v", got)
	}
	if !d.Before(d.AddDays(1)) || !d.AddDays(1).After(d) || d.Before(d) {
		t.Error("Before/After")
	}
	late := time.Date(2023, 3, 31, 23, 30, 0, 0, time.FixedZone("x", -5*3600))
	if got := DateOf(late); got != d {
		t.Errorf("DateOf = %v, want the date in t's location %v", got, d)
	}
	if !(Date{}).IsZero() || d.IsZero() {
		t.Error("IsZero")
	}
	if _, err := ParseDate("31/03/2023"); err == nil {
		t.Error("ParseDate accepts 31/03/2023")
	}
	pd, err := d.DateValue()
	if err != nil || !pd.Valid {
		t.Fatalf("DateValue = %v, %v", pd, err)
	}
	var back Date
	if err := back.ScanDate(pd); err != nil || back != d {
		t.Errorf("ScanDate(DateValue) = %v, %v", back, err)
	}
	if pz, _ := (Date{}).DateValue(); pz.Valid {
		t.Error("zero Date is not NULL")
	}
}

func TestCaseRef(t *testing.T) {
	a, b := NewCaseRef(), NewCaseRef()
	if a == b {
		t.Errorf("two NewCaseRef are equal: %q", a)
	}
	for _, r := range []string{a, b} {
		if !strings.HasPrefix(r, "v_") || len(r) != 28 || r != strings.ToLower(r) {
			t.Errorf("NewCaseRef = %q: want v_ and 26 lower-case characters", r)
		}
		if !IsCaseRef(r) {
			t.Errorf("IsCaseRef(%q) = false", r)
		}
	}
	for _, r := range []string{
		strings.ToUpper(a), "v_" + strings.ToUpper(a[2:]), "V" + a[1:], // upper case
		"v_abc", a[:21], // short
		"c_" + a[2:], "x" + a, a[2:], "vv" + a[2:], // other prefixes
		"v_" + strings.Repeat("a", 63), // long
		a[:10] + "-" + a[11:], a + " ", "",
	} {
		if IsCaseRef(r) {
			t.Errorf("IsCaseRef(%q) = true", r)
		}
	}
	if !IsCaseRef("v_" + strings.Repeat("a", 20)) {
		t.Error("IsCaseRef rejects the shortest case reference")
	}
}

func TestValidity(t *testing.T) {
	if !LevelSC.Valid() || Level("sc").Valid() || !CaseRenewal.Valid() || CaseType("Renewal").Valid() {
		t.Error("Level/CaseType Valid")
	}
	for _, s := range CaseStatuses {
		if s.Closed() != (s == StatusCleared || s == StatusRefused || s == StatusWithAdvisory || s == StatusWithdrawn) {
			t.Errorf("%s.Closed() = %v", s, s.Closed())
		}
	}
	if !OutcomeCleared.GrantsClearance() || !OutcomeWithAdvisory.GrantsClearance() ||
		OutcomeRefused.GrantsClearance() || OutcomeWithdrawn.GrantsClearance() {
		t.Error("GrantsClearance")
	}
	u := StaffUser{Roles: []Role{RoleCaseWorker, RoleAuditor}}
	if !u.Has(RoleAdmin, RoleAuditor) || u.Has(RoleAdmin) || u.Has() {
		t.Error("Has")
	}
}

func TestParseEmail(t *testing.T) {
	if got, err := ParseEmail("ann@example.org"); err != nil || got != "ann@example.org" {
		t.Errorf("ParseEmail = %q, %v", got, err)
	}
	for _, in := range []string{"", "ann", "Ann <ann@example.org>", "ann@", "a b@example.org"} {
		if _, err := ParseEmail(in); err == nil {
			t.Errorf("ParseEmail(%q): want an error", in)
		}
	}
}

func TestFoldNameTypographicApostrophe(t *testing.T) {
	if got, want := FoldName("Siobhan", "O\u2019Neill"), FoldName("siobhan", "o'neill"); got != want {
		t.Fatalf("FoldName with a curly apostrophe = %q, want %q", got, want)
	}
}

func TestCleanText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind TextKind
		max  int
		want string
		bad  string
	}{
		{in: "  Zoë  ", want: "Zoë"},
		{in: "Zoe\u0308", want: "Zoë"}, // NFC
		{in: "x\u0000y", bad: "NUL"},
		{in: "x\u0000y", kind: TextFree, bad: "NUL"},
		{in: "a\nb", bad: "control"},
		{in: "a\r\nb\tc", kind: TextFree, want: "a\nb\tc"},
		{in: "a\u0007b", kind: TextFree, bad: "control"},
		{in: "evil\u202Etxt.exe", bad: "bidirectional"},
		{in: "evil\u2066x", kind: TextFree, bad: "bidirectional"},
		{in: "Zo\u200be", bad: "invisible"},
		{in: "Zo\u200be", kind: TextFree, want: "Zo\u200be"},
		{in: "\xff", bad: "UTF-8"},
		{in: "abcdef", max: 5, bad: "at most 5"},
		{in: "ééééé", max: 5, want: "ééééé"},
		{in: strings.Repeat("x", MaxLine+1), bad: "at most"},
	} {
		got, err := CleanText(tc.in, tc.kind, tc.max)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("CleanText(%q) = %q, %v; want an error about %s", tc.in, got, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CleanText(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSanitizeTextDropsWhatCleanTextRefuses(t *testing.T) {
	if got := SanitizeText("Jo\u0000hn\u202E \u200b", TextLine, 0); got != "John" {
		t.Fatalf("got %q", got)
	}
	if got := SanitizeText("abcdef", TextLine, 3); got != "abc" {
		t.Fatalf("got %q", got)
	}
	if _, err := CleanText(SanitizeText("a\x00\xffb\u2028", TextLine, 0), TextLine, 0); err != nil {
		t.Fatalf("sanitized text is refused: %v", err)
	}
}

func TestParseDateRefusesDatesOutOfRange(t *testing.T) {
	for _, s := range []string{"0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01", "2026-02-30"} {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%s) = %s, want an error", s, d)
		}
	}
	for _, s := range []string{"1900-01-01", "2100-12-31", "2026-02-28"} {
		if _, err := ParseDate(s); err != nil {
			t.Errorf("ParseDate(%s): %v", s, err)
		}
	}
	// What a history recorded is read back as written.
	var d Date
	if err := d.UnmarshalText([]byte("9999-12-31")); err != nil || d.String() != "9999-12-31" {
		t.Fatalf("UnmarshalText: %s, %v", d, err)
	}
}
