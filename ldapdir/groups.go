package ldapdir

import (
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// InChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: member:<rule>:=<dn> matches every
// group dn is in, through any number of groups.
const InChainRule = "1.2.840.113556.1.4.1941"

// Root DSE supportedCapabilities naming Active Directory (LDAP_CAP_ACTIVE_DIRECTORY_OID) and AD LDS
// (LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID), both of which know InChainRule.
const (
	capActiveDirectory = "1.2.840.113556.1.4.800"
	capADLDS           = "1.2.840.113556.1.4.1851"
)

// pageSize is how many groups a search asks for at a time (Active Directory's MaxPageSize is 1000).
const pageSize = 500

// NormalizeDN is a DN as Groups holds it: parsed and written again by go-ldap (attribute types
// lower-cased, spaces around separators dropped, values escaped one way), then lower-cased whole,
// since the naming attributes of groups (cn, ou, dc) compare case-insensitively in AD and OpenLDAP.
// A RoleMap's group DNs should go through it too. A DN that does not parse is only lower-cased.
func NormalizeDN(dn string) string {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	return strings.ToLower(parsed.String())
}

// groups are the normalised DNs of the groups under GroupBaseDN that userDN is in, nested ones
// included, sorted.
func (d *Directory) groups(s *session, userDN string) ([]string, error) {
	inChain := d.cfg.Nested == NestedInChain
	if d.cfg.Nested == NestedAuto {
		ad, err := d.activeDirectory(s)
		if err != nil {
			return nil, err
		}
		inChain = ad
	}
	var found map[string]bool
	var err error
	if inChain {
		found, err = s.inChainGroups(userDN)
	} else {
		found, err = s.recursiveGroups(userDN)
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(found))
	for dn := range found {
		out = append(out, dn)
	}
	slices.Sort(out)
	return out, nil
}

// activeDirectory says whether the root DSE names Active Directory or AD LDS; the answer is kept.
func (d *Directory) activeDirectory(s *session) (bool, error) {
	d.mu.Lock()
	if d.adKnown {
		defer d.mu.Unlock()
		return d.isAD, nil
	}
	d.mu.Unlock()
	res, err := s.c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"supportedCapabilities"}, nil))
	if err != nil {
		return false, s.unavailable("reading the root DSE", err)
	}
	ad := false
	if len(res.Entries) == 1 {
		caps := res.Entries[0].GetEqualFoldAttributeValues("supportedCapabilities")
		ad = slices.Contains(caps, capActiveDirectory) || slices.Contains(caps, capADLDS)
	}
	d.mu.Lock()
	d.isAD, d.adKnown = ad, true
	d.mu.Unlock()
	return ad, nil
}

// inChainGroups asks the server for every group userDN is in, transitively, in one (paged) search.
func (s *session) inChainGroups(userDN string) (map[string]bool, error) {
	res, err := s.c.SearchWithPaging(ldap.NewSearchRequest(s.d.cfg.GroupBaseDN, ldap.ScopeWholeSubtree,
		ldap.NeverDerefAliases, 0, 0, false, "(member:"+InChainRule+":="+ldap.EscapeFilter(userDN)+")",
		[]string{"1.1"}, nil), pageSize)
	if err != nil {
		return nil, s.unavailable("searching for the person's groups", err)
	}
	found := make(map[string]bool, len(res.Entries))
	for _, e := range res.Entries {
		found[NormalizeDN(e.DN)] = true
	}
	return found, nil
}

// recursiveGroups searches level by level: the groups with userDN as a member, then the groups with
// one of those as a member, and so on. Each group is followed once (a cycle ends), and at most
// MaxNestingDepth levels.
func (s *session) recursiveGroups(userDN string) (map[string]bool, error) {
	const perSearch = 32 // members asked about in one (|(member=..)...) filter
	found := map[string]bool{}
	frontier := []string{userDN}
	for depth := 0; depth < MaxNestingDepth && len(frontier) > 0; depth++ {
		var next []string
		for chunk := range slices.Chunk(frontier, perSearch) {
			var f strings.Builder
			f.WriteString("(|")
			for _, dn := range chunk {
				f.WriteString("(member=" + ldap.EscapeFilter(dn) + ")")
			}
			f.WriteString(")")
			res, err := s.c.SearchWithPaging(ldap.NewSearchRequest(s.d.cfg.GroupBaseDN, ldap.ScopeWholeSubtree,
				ldap.NeverDerefAliases, 0, 0, false, f.String(), []string{"1.1"}, nil), pageSize)
			if err != nil {
				return nil, s.unavailable("searching for the person's groups", err)
			}
			for _, e := range res.Entries {
				if n := NormalizeDN(e.DN); !found[n] {
					found[n] = true
					next = append(next, e.DN)
				}
			}
		}
		frontier = next
	}
	return found, nil
}
