package domain

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// ParseUKMobile accepts a UK mobile number in any common form ("07400 123456", "+44 7400 123456") and
// returns it in E.164 ("+447400123456"). Only digits, spaces and + - ( ) . may appear: libphonenumber
// would otherwise drop leading text and read letters as keypad digits ("07400 ABCDEF" -> +447400222333).
func ParseUKMobile(s string) (string, error) {
	for _, r := range s {
		if !unicode.IsDigit(r) && !unicode.IsSpace(r) && !strings.ContainsRune("+-().", r) {
			return "", fmt.Errorf("%q is not a valid UK phone number", s)
		}
	}
	n, err := phonenumbers.Parse(s, "GB")
	if err != nil || !phonenumbers.IsValidNumber(n) || n.GetCountryCode() != 44 {
		return "", fmt.Errorf("%q is not a valid UK phone number", s)
	}
	if t := phonenumbers.GetNumberType(n); t != phonenumbers.MOBILE && t != phonenumbers.FIXED_LINE_OR_MOBILE {
		return "", fmt.Errorf("%q is not a UK mobile number", s)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// National Insurance number: two prefix letters (not D, F, I, Q, U, V; second not O; not BG, GB, KN, NK,
// NT, TN, ZZ), six digits, suffix A to D.
var niPattern = regexp.MustCompile(`^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$`)

// ParseNINumber normalises a National Insurance number ("ab 12 34 56 c" -> "AB123456C") and checks it.
func ParseNINumber(s string) (string, error) {
	n := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if !niPattern.MatchString(n) {
		return "", fmt.Errorf("not a valid National Insurance number")
	}
	switch n[:2] {
	case "BG", "GB", "KN", "NK", "NT", "TN", "ZZ":
		return "", fmt.Errorf("not a valid National Insurance number")
	}
	return n, nil
}

// ParseEmail checks an e-mail address and returns its bare form.
func ParseEmail(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != strings.TrimSpace(s) {
		return "", fmt.Errorf("%q is not an e-mail address", s)
	}
	return a.Address, nil
}

// apostrophes makes the typographic apostrophes the plain one, so O’Brien matches O'Brien.
var apostrophes = strings.NewReplacer("\u2019", "'", "\u2018", "'", "\u02bc", "'")

// FoldName folds a name for matching: lower case, accents removed, runs of white space made one space.
// "  José  O'Brien " and "jose o'brien" fold alike.
func FoldName(parts ...string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	joined := apostrophes.Replace(strings.Join(parts, " "))
	s, _, err := transform.String(t, joined)
	if err != nil {
		s = joined
	}
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
