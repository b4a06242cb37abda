package domain

import (
	"testing"
	"time"
)

func TestCompareIdentity(t *testing.T) {
	p := Person{FirstName: "José María", LastName: "O'Brien", DateOfBirth: NewDate(1985, time.December, 10)}
	dob := NewDate(1985, time.December, 10)
	other := NewDate(1985, time.December, 1)
	expired, valid := NewDate(2026, time.January, 1), NewDate(2031, time.January, 1)
	today := NewDate(2026, time.November, 22)
	for _, tc := range []struct {
		name string
		r    IdentityResult
		want []string
	}{
		{"matches, folded, with middle names", IdentityResult{FirstName: "JOSE MARIA LUIS", LastName: "o'brien", DateOfBirth: &dob, DocumentExpiry: &valid}, nil},
		{"other last name", IdentityResult{FirstName: "Jose", LastName: "Brien", DateOfBirth: &dob}, []string{MismatchName}},
		{"other first name", IdentityResult{FirstName: "Maria", LastName: "O'Brien", DateOfBirth: &dob}, []string{MismatchName}},
		{"other date of birth", IdentityResult{FirstName: "José", LastName: "O'Brien", DateOfBirth: &other}, []string{MismatchDateOfBirth}},
		{"no date of birth read", IdentityResult{FirstName: "José", LastName: "O'Brien"}, []string{MismatchDateOfBirth}},
		{"expired document", IdentityResult{FirstName: "José", LastName: "O'Brien", DateOfBirth: &dob, DocumentExpiry: &expired}, []string{MismatchDocumentExpired}},
	} {
		got := CompareIdentity(p, tc.r, today)
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
