package adsim

import (
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// entry is one object as the server answers for it.
type entry struct {
	dn    string
	norm  string
	attrs []attribute
}

type attribute struct {
	name   string
	values []string
}

// get is the values of the attribute named name (any case).
func (e *entry) get(name string) []string {
	for _, a := range e.attrs {
		if strings.EqualFold(a.name, name) {
			return a.values
		}
	}
	return nil
}

func (e *entry) add(name string, values ...string) {
	if len(values) > 0 {
		e.attrs = append(e.attrs, attribute{name, values})
	}
}

// tree is the directory as entries, with the passwords and accounts binds check.
type tree struct {
	base      string // normalised naming context
	entries   []*entry
	byDN      map[string]*entry // by normalised DN
	byUPN     map[string]*entry // by lower-cased userPrincipalName
	passwords map[string]string // by normalised DN
	disabled  map[string]bool
}

// userAccountControl values: NORMAL_ACCOUNT, and NORMAL_ACCOUNT|ACCOUNTDISABLE.
const (
	uacNormal   = "512"
	uacDisabled = "514"
)

// build turns the Directory into entries: the domain, its OUs, users and groups, memberOf filled in
// from the groups' members as AD computes it.
func build(d Directory) *tree {
	t := &tree{base: normDN(d.BaseDN), byDN: map[string]*entry{}, byUPN: map[string]*entry{},
		passwords: map[string]string{}, disabled: map[string]bool{}}
	put := func(e *entry) *entry {
		e.norm = normDN(e.dn)
		if t.byDN[e.norm] == nil {
			t.entries = append(t.entries, e)
			t.byDN[e.norm] = e
		}
		return t.byDN[e.norm]
	}
	root := &entry{dn: d.BaseDN}
	root.add("objectClass", "top", "domain", "domainDNS")
	root.add("distinguishedName", d.BaseDN)
	put(root)
	ou := func(name string) {
		e := &entry{dn: "OU=" + escapeRDN(name) + "," + d.BaseDN}
		e.add("objectClass", "top", "organizationalUnit")
		e.add("ou", name)
		e.add("distinguishedName", e.dn)
		put(e)
	}
	ou("Groups")
	names := map[string]string{} // sAMAccountName or group name, lower-cased → DN
	for _, u := range d.Users {
		ouName := u.OU
		if ouName == "" {
			ouName = "Staff"
		}
		ou(ouName)
		e := &entry{dn: u.DN(d)}
		e.add("objectClass", "top", "person", "organizationalPerson", "user")
		e.add("cn", u.DisplayName)
		e.add("distinguishedName", e.dn)
		e.add("sAMAccountName", u.SAMAccountName)
		e.add("userPrincipalName", nonEmpty(u.UserPrincipalName)...)
		e.add("displayName", nonEmpty(u.DisplayName)...)
		e.add("mail", nonEmpty(u.Mail)...)
		e.add("objectGUID", guidBytes(u.guid()))
		uac := uacNormal
		if u.Disabled {
			uac = uacDisabled
		}
		e.add("userAccountControl", uac)
		put(e)
		t.passwords[e.norm] = u.Password
		t.disabled[e.norm] = u.Disabled
		if u.UserPrincipalName != "" {
			t.byUPN[strings.ToLower(u.UserPrincipalName)] = e
		}
		names[strings.ToLower(u.SAMAccountName)] = e.dn
	}
	for _, g := range d.Groups {
		names[strings.ToLower(g.Name)] = g.DN(d)
	}
	memberOf := map[string][]string{}
	for _, g := range d.Groups {
		e := &entry{dn: g.DN(d)}
		e.add("objectClass", "top", "group")
		e.add("cn", g.Name)
		e.add("distinguishedName", e.dn)
		e.add("sAMAccountName", g.Name)
		e.add("objectGUID", guidBytes(uuid.NewSHA1(guidNamespace, []byte("group:"+strings.ToLower(g.Name)))))
		e.add("groupType", strconv.Itoa(-2147483646)) // a global security group
		var members []string
		for _, m := range g.Members {
			if dn, ok := names[strings.ToLower(m)]; ok {
				members = append(members, dn)
				memberOf[normDN(dn)] = append(memberOf[normDN(dn)], e.dn)
			}
		}
		e.add("member", members...)
		put(e)
	}
	for _, e := range t.entries {
		if groups := memberOf[e.norm]; len(groups) > 0 {
			e.add("memberOf", groups...)
		}
	}
	return t
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// under is the entries in scope of a search from base: 0 the base itself, 1 its children, 2 the base
// and everything below it. ok is false when the base does not exist.
func (t *tree) under(base string, scope int64) (out []*entry, ok bool) {
	nb := normDN(base)
	if t.byDN[nb] == nil {
		return nil, false
	}
	for _, e := range t.entries {
		switch {
		case e.norm == nb:
			if scope != 1 {
				out = append(out, e)
			}
		case strings.HasSuffix(e.norm, ","+nb):
			rest := strings.TrimSuffix(e.norm, ","+nb)
			if scope == 2 || (scope == 1 && !strings.Contains(unescapedCommas(rest), ",")) {
				out = append(out, e)
			}
		}
	}
	return out, true
}

// unescapedCommas drops escaped commas so that counting RDNs by commas works.
func unescapedCommas(s string) string { return strings.ReplaceAll(s, `\,`, "") }

// selectAttributes is the attributes a search asked for: all for none or "*", none for "1.1".
func selectAttributes(e *entry, want []string) []attribute {
	if len(want) == 0 || slices.Contains(want, "*") {
		return e.attrs
	}
	var out []attribute
	for _, a := range e.attrs {
		if slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, a.name) }) {
			out = append(out, a)
		}
	}
	return out
}
