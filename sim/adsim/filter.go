package adsim

import (
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Matching rules AD knows in extensible filters.
const (
	ruleInChain = "1.2.840.113556.1.4.1941" // LDAP_MATCHING_RULE_IN_CHAIN: follow the attribute's DNs transitively
	ruleBitAnd  = "1.2.840.113556.1.4.803"  // LDAP_MATCHING_RULE_BIT_AND
	ruleBitOr   = "1.2.840.113556.1.4.804"  // LDAP_MATCHING_RULE_BIT_OR
)

// dnAttributes hold DNs and compare as DNs.
var dnAttributes = map[string]bool{"member": true, "memberof": true, "distinguishedname": true, "manager": true}

// compileFilter parses a filter (gldap hands it over as a string) with go-ldap's compiler.
func compileFilter(filter string) (*ber.Packet, error) { return ldap.CompileFilter(filter) }

// match evaluates a compiled filter against e.
func (t *tree) match(e *entry, f *ber.Packet) (bool, error) {
	str := func(p *ber.Packet) string { return ber.DecodeString(p.Data.Bytes()) }
	switch f.Tag {
	case ldap.FilterAnd, ldap.FilterOr:
		and := f.Tag == ldap.FilterAnd
		for _, c := range f.Children {
			ok, err := t.match(e, c)
			if err != nil {
				return false, err
			}
			if ok != and {
				return ok, nil
			}
		}
		return and, nil
	case ldap.FilterNot:
		if len(f.Children) != 1 {
			return false, fmt.Errorf("malformed NOT")
		}
		ok, err := t.match(e, f.Children[0])
		return !ok, err
	case ldap.FilterPresent:
		return len(e.get(str(f))) > 0, nil
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		attr, want := str(f.Children[0]), str(f.Children[1])
		for _, v := range e.get(attr) {
			if equal(attr, v, want) {
				return true, nil
			}
		}
		return false, nil
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		attr, want := str(f.Children[0]), str(f.Children[1])
		for _, v := range e.get(attr) {
			c := compare(v, want)
			if (f.Tag == ldap.FilterGreaterOrEqual && c >= 0) || (f.Tag == ldap.FilterLessOrEqual && c <= 0) {
				return true, nil
			}
		}
		return false, nil
	case ldap.FilterSubstrings:
		attr := str(f.Children[0])
		for _, v := range e.get(attr) {
			if substrings(strings.ToLower(v), f.Children[1].Children) {
				return true, nil
			}
		}
		return false, nil
	case ldap.FilterExtensibleMatch:
		var rule, attr, value string
		for _, c := range f.Children {
			switch c.Tag {
			case ldap.MatchingRuleAssertionMatchingRule:
				rule = str(c)
			case ldap.MatchingRuleAssertionType:
				attr = str(c)
			case ldap.MatchingRuleAssertionMatchValue:
				value = str(c)
			}
		}
		return t.extensible(e, rule, attr, value), nil
	}
	return false, fmt.Errorf("filter choice %d is not supported", f.Tag)
}

// equal compares an entry's value with an assertion: DNs as DNs, everything else case-insensitively
// (AD's string syntaxes ignore case; objectGUID's bytes compare equal or not either way).
func equal(attr, have, want string) bool {
	if dnAttributes[strings.ToLower(attr)] {
		return normDN(have) == normDN(want)
	}
	if strings.EqualFold(attr, "objectGUID") {
		return have == want
	}
	return strings.EqualFold(have, want)
}

// compare orders numbers as numbers and anything else as lower-cased strings.
func compare(a, b string) int {
	x, errA := strconv.ParseInt(a, 10, 64)
	y, errB := strconv.ParseInt(b, 10, 64)
	if errA == nil && errB == nil {
		return int(min(max(x-y, -1), 1))
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// substrings matches v (lower-cased) against initial, any and final parts in order.
func substrings(v string, parts []*ber.Packet) bool {
	for _, p := range parts {
		s := strings.ToLower(ber.DecodeString(p.Data.Bytes()))
		switch p.Tag {
		case ldap.FilterSubstringsInitial:
			if !strings.HasPrefix(v, s) {
				return false
			}
			v = v[len(s):]
		case ldap.FilterSubstringsAny:
			i := strings.Index(v, s)
			if i < 0 {
				return false
			}
			v = v[i+len(s):]
		case ldap.FilterSubstringsFinal:
			if !strings.HasSuffix(v, s) {
				return false
			}
		}
	}
	return true
}

// extensible evaluates AD's matching rules; a rule AD does not know matches nothing.
func (t *tree) extensible(e *entry, rule, attr, value string) bool {
	switch rule {
	case ruleInChain:
		return t.inChain(e, attr, normDN(value))
	case ruleBitAnd, ruleBitOr:
		mask, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return false
		}
		for _, v := range e.get(attr) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil && ((rule == ruleBitAnd && n&mask == mask) || (rule == ruleBitOr && n&mask != 0)) {
				return true
			}
		}
	}
	return false
}

// inChain says whether target is reachable from e by following attr's DNs (member down through
// groups, memberOf up through them), each entry visited once so that a cycle ends.
func (t *tree) inChain(e *entry, attr, target string) bool {
	seen := map[string]bool{e.norm: true}
	queue := []*entry{e}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, v := range cur.get(attr) {
			n := normDN(v)
			if n == target {
				return true
			}
			if next := t.byDN[n]; next != nil && !seen[n] {
				seen[n] = true
				queue = append(queue, next)
			}
		}
	}
	return false
}
