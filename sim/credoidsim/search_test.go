package credoidsim

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ?search= answers through the trigram index exactly what a scan of every user answers, through creates,
// edits that change the text searched, deletes, a renumbering and a restart from the state file.
func TestSearchIndexAnswersAsAScan(t *testing.T) {
	s := New(Options{Seed: true})
	rng := rand.New(rand.NewPCG(7, 7))
	names := []string{"Ada", "Lovelace", "Adam", "Ådne", "sa:", "Bench", "Person", "Anna-Lena", "O'Neil", "Ng"}
	word := func() string { return names[rng.IntN(len(names))] + strconv.Itoa(rng.IntN(30)) }
	n := 0
	rec := func() UserRecord {
		n++
		return UserRecord{FirstName: word(), LastName: word(), EmployeeNumber: "E" + strconv.Itoa(n),
			Additional1: "sa:" + strconv.Itoa(rng.IntN(200))}
	}
	check := func(stage string) {
		t.Helper()
		var searches []string
		for _, u := range s.Users() {
			text := strings.ToLower(u.FirstName + " " + u.LastName + u.EmployeeNumber + u.Additional1)
			i := rng.IntN(len(text))
			searches = append(searches, text[i:min(len(text), i+1+rng.IntN(8))])
		}
		searches = append(searches, "sa:1", "SA:12", "ada1 ", " lovelace2", "e4", "zz", "a", "ådne", "nobody at all")
		for _, q := range searches {
			s.mu.RLock()
			var want []int
			needle := strings.ToLower(strings.TrimSpace(q))
			for _, id := range s.order {
				if strings.Contains(s.users[id].haystack, needle) {
					want = append(want, id)
				}
			}
			s.mu.RUnlock()
			page, total := s.list(q, 0, 1<<20, false)
			var got []int
			for _, p := range page {
				got = append(got, p.(userSummary).ID)
			}
			if total != len(want) || !slices.Equal(got, want) {
				t.Fatalf("%s: search %q found %v, a scan finds %v", stage, q, got, want)
			}
		}
	}
	for range 300 {
		if _, err := s.create(rec(), false, 1); err != nil {
			t.Fatal(err)
		}
	}
	check("created")
	for _, u := range s.Users()[:150] {
		if _, err := s.update(u.ID, rec()); err != nil {
			t.Fatal(err)
		}
	}
	check("edited")
	for _, u := range s.Users()[100:200] {
		if err := s.deleteUser(u.ID); err != nil {
			t.Fatal(err)
		}
	}
	check("deleted")
	s.RenumberUsers()
	check("renumbered")
	path := t.TempDir() + "/state.json"
	if err := s.KeepState(path, nil); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = New(Options{Seed: true})
	if err := s.KeepState(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check("restored")
}
