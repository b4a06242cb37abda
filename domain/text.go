package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TextKind says what a string is, and so which characters it may hold.
type TextKind int

const (
	// TextLine is one line: a name, a code, a reference, a title. No control characters at all, no
	// bidirectional controls, no zero-width or invisible characters.
	TextLine TextKind = iota
	// TextFree is free text (a note, a description, a message body): it may keep newlines and tabs, but
	// no other control characters and no bidirectional controls.
	TextFree
)

// MaxLine is the longest one-line string anything accepts unless it says less; MaxFree the longest free
// text. Both are counted in characters after normalisation.
const (
	MaxLine = 500
	MaxFree = 4000
)

// TextError says why a string cannot be stored.
type TextError struct{ Reason string }

func (e *TextError) Error() string { return e.Reason }

// CleanText is the one text boundary: it checks s as text of the given kind holding at most max
// characters (0: MaxLine or MaxFree), and returns it in Unicode NFC with surrounding white space
// trimmed and, in free text, line ends as "\n". It refuses invalid UTF-8, NUL and other control
// characters, bidirectional controls (U+202A–U+202E, U+2066–U+2069, marks) everywhere, and zero-width
// and other invisible characters in one-line text.
func CleanText(s string, kind TextKind, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", &TextError{"must be valid UTF-8"}
	}
	if kind == TextFree {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	for _, r := range s {
		if reason := refused(r, kind); reason != "" {
			return "", &TextError{fmt.Sprintf("must not contain %s (U+%04X)", reason, r)}
		}
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	if max <= 0 {
		max = MaxLine
		if kind == TextFree {
			max = MaxFree
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", &TextError{fmt.Sprintf("must be at most %d characters", max)}
	}
	return s, nil
}

// SanitizeText makes text from an outside system (a provider's answer) storable: what CleanText would
// refuse is dropped rather than refused, and the result is cut to max characters. It never fails, so
// an odd answer is recorded, not retried.
func SanitizeText(s string, kind TextKind, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if kind == TextFree {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.Map(func(r rune) rune {
		if refused(r, kind) != "" {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(norm.NFC.String(s))
	if max <= 0 {
		max = MaxLine
		if kind == TextFree {
			max = MaxFree
		}
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// refused names what r is when text of kind may not hold it ("" when it may).
func refused(r rune, kind TextKind) string {
	switch {
	case r == 0:
		return "a NUL character"
	case kind == TextFree && (r == '\n' || r == '\t'):
		return ""
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return "a control character"
	case isBidiControl(r):
		return "a bidirectional control character"
	case kind == TextLine && isInvisible(r):
		return "an invisible character"
	case r == '\uFFFE' || r == '\uFFFF':
		return "a non-character"
	}
	return ""
}

func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || (r >= '\u202A' && r <= '\u202E') ||
		(r >= '\u2066' && r <= '\u2069')
}

// isInvisible reports zero-width and other characters that print nothing but make two names differ.
func isInvisible(r rune) bool {
	switch r {
	case '\u00AD', '\u034F', '\u180E', '\u200B', '\u200C', '\u200D', '\u2060', '\u2061', '\u2062', '\u2063',
		'\u2064', '\uFEFF':
		return true
	}
	return false
}
