package domain

import (
	"regexp"
	"strings"
	"testing"
)

// Every case reference is minted by CaseRefOf and has the shape IsCaseRef and CaseRefPattern accept.
func TestCaseRefMinting(t *testing.T) {
	re := regexp.MustCompile(CaseRefPattern)
	for range 100 {
		if ref := NewCaseRef(); !IsCaseRef(ref) || !re.MatchString(ref) || len(ref) != 28 {
			t.Fatalf("NewCaseRef made %q", ref)
		}
	}
	for _, n := range []int{16, 32} {
		if ref := CaseRefOf(make([]byte, n)); ref != "v_"+strings.Repeat("a", 26) {
			t.Errorf("CaseRefOf(%d zero bytes) = %q", n, ref)
		}
	}
	for _, s := range []string{"v_abc", "v_" + strings.Repeat("a", 19), "v_" + strings.Repeat("a", 63), "v_A" + strings.Repeat("a", 25)} {
		if IsCaseRef(s) || re.MatchString(s) {
			t.Errorf("%q taken for a case reference", s)
		}
	}
}
