package messaging

import (
	"strings"
	"unicode"
)

// Opt is what an inbound message says about receiving messages.
type Opt int

// Opt-out, opt-in and help keywords.
const (
	NoOpt Opt = iota
	OptOut
	OptIn
	Help
)

// The keywords carriers and Twilio honour on SMS; we honour the same on WhatsApp, where nothing filters.
var optKeywords = map[string]Opt{
	"STOP": OptOut, "STOPALL": OptOut, "UNSUBSCRIBE": OptOut, "CANCEL": OptOut, "END": OptOut, "QUIT": OptOut,
	"REVOKE": OptOut, "OPTOUT": OptOut,
	"START": OptIn, "YES": OptIn, "UNSTOP": OptIn,
	"HELP": Help, "INFO": Help,
}

// OptKeyword reads an opt-out, opt-in or help keyword: the whole message, in any case, surrounding space
// and punctuation ignored, as Twilio reads it. "stop." opts out; "please stop texting me" does not.
func OptKeyword(body string) Opt {
	return optKeywords[strings.ToUpper(strings.TrimFunc(body, notWord))]
}

// MatchKeyword returns which of keywords a reply is: its first word, in any case, punctuation ignored.
// A reply matching none is OTHER.
func MatchKeyword(body string, keywords []string) string {
	first, _, _ := strings.Cut(strings.TrimFunc(body, notWord), " ")
	first = strings.ToUpper(strings.TrimFunc(first, notWord))
	for _, k := range keywords {
		if strings.EqualFold(k, first) {
			return strings.ToUpper(k)
		}
	}
	return OtherReply
}

// OtherReply tallies the replies that match no keyword.
const OtherReply = "OTHER"

func notWord(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
