package credoidsim

import (
	"slices"
	"strings"
)

// trigrams indexes the users' search text (user.haystack) by its three-byte substrings, so that
// ?search= looks only at the users holding the search's rarest trigram instead of scanning every user: a
// sync that looks each person up by key costs O(users), not O(users²). The answer is the same as a scan's:
// every candidate is checked with strings.Contains, and a search shorter than a trigram scans.
type trigrams map[string][]int // trigram -> user ids holding it, ascending

// add indexes u under its id.
func (t trigrams) add(u *user) {
	for _, g := range grams(u.haystack) {
		ids := t[g]
		if i, found := slices.BinarySearch(ids, u.id); !found {
			t[g] = slices.Insert(ids, i, u.id) // ids only grow: usually an append
		}
	}
}

// drop removes u's id from the index.
func (t trigrams) drop(u *user) {
	for _, g := range grams(u.haystack) {
		ids := t[g]
		if i, found := slices.BinarySearch(ids, u.id); found {
			if ids = slices.Delete(ids, i, i+1); len(ids) == 0 {
				delete(t, g)
			} else {
				t[g] = ids
			}
		}
	}
}

// candidates are the ids, ascending, of the users whose haystack may contain search (lower-cased and
// trimmed, at least three bytes): those holding its rarest trigram. Every one must still be checked.
func (t trigrams) candidates(search string) []int {
	var best []int
	for i, g := range grams(search) {
		ids := t[g]
		if len(ids) == 0 {
			return nil
		}
		if i == 0 || len(ids) < len(best) {
			best = ids
		}
	}
	return best
}

// grams are the distinct three-byte substrings of s.
func grams(s string) []string {
	if len(s) < 3 {
		return nil
	}
	out := make([]string, 0, len(s)-2)
	for i := 0; i+3 <= len(s); i++ {
		out = append(out, s[i:i+3])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// matching are the ids, ascending, of the users whose haystack contains search (lower-cased and trimmed,
// not empty). Called with mu held.
func (s *Sim) matching(search string) []int {
	ids := s.order
	if len(search) >= 3 {
		ids = s.search.candidates(search)
	}
	var out []int
	for _, id := range ids {
		if strings.Contains(s.users[id].haystack, search) {
			out = append(out, id)
		}
	}
	return out
}
