package credoidsim_test

// Contract tests: the simulator's answers against CredoID's documented (and, where marked, inferred)
// JSON, the fixtures in credoid/testdata/vendor (their sources are in its README.md), with the helper the
// client tests use.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/sim/credoidsim"
)

// credoidVendorFixture reads a vendor fixture of the provider package (one copy, wherever this package lives).
func credoidVendorFixture(t *testing.T, name string) []byte {
	t.Helper()
	return contracttest.Fixture(t, "credoid", name)
}

func TestContractCredoIDShapes(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	sim := credoidsim.New(credoidsim.Options{Seed: true, TimeZone: london})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()

	call := func(method, path, token string, body []byte) (int, []byte) {
		t.Helper()
		if token != "" {
			token = "Bearer " + token
		}
		status, _, b := contracttest.Call(t, method, srv.URL+path, token, body)
		return status, b
	}

	// Login with the documented body (docs.credoid.com/api uses admin / admin, the simulator's default).
	status, body := call(http.MethodPost, "/api/login", "", credoidVendorFixture(t, "login_request.json"))
	if status != http.StatusOK {
		t.Fatalf("login with the documented body: %d %s", status, body)
	}
	contracttest.AssertShape(t, credoidVendorFixture(t, "login_response.json"), body, contracttest.Options{})
	var lr struct {
		Token string `json:"token"`
	}
	_ = json.Unmarshal(body, &lr)

	// Create the record of the reference's simulator contract (its id is the server's).
	var rec map[string]any
	if err := json.Unmarshal(credoidVendorFixture(t, "user_record.json"), &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "id")
	create, _ := json.Marshal(rec)
	status, body = call(http.MethodPost, "/api/users", lr.Token, create)
	if status != http.StatusCreated {
		t.Fatalf("create with the documented record: %d %s", status, body)
	}
	contracttest.AssertShape(t, credoidVendorFixture(t, "user_record.json"), body, contracttest.Options{})
	var created struct {
		ID int `json:"id"`
	}
	_ = json.Unmarshal(body, &created)

	status, body = call(http.MethodGet, "/api/users/"+strconv.Itoa(created.ID), lr.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("get user: %d %s", status, body)
	}
	contracttest.AssertShape(t, credoidVendorFixture(t, "user_record.json"), body, contracttest.Options{})

	// The list: a bare array whose items carry at least the summary the real CredoID lists [M].
	status, body = call(http.MethodGet, "/api/users?skip=0&take=10", lr.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("list users: %d %s", status, body)
	}
	contracttest.AssertShape(t, credoidVendorFixture(t, "users_list_response.json"), body, contracttest.Options{})

	// An event, as the backfill feed serves it.
	sim.AddEvent(credoidsim.Swipe{UserID: created.ID, DoorName: "Lab A In", LocationID: credoidsim.LocationSiteA})
	status, body = call(http.MethodGet, "/api/events?take=10", lr.Token, nil)
	if status != http.StatusOK {
		t.Fatalf("events: %d %s", status, body)
	}
	contracttest.AssertShape(t, []byte("["+string(credoidVendorFixture(t, "event_record.json"))+"]"), body, contracttest.Options{})

	// The same employee number again: a ProblemDetails conflict.
	status, body = call(http.MethodPost, "/api/users", lr.Token, create)
	if status != http.StatusConflict {
		t.Fatalf("duplicate employee number: %d %s", status, body)
	}
	contracttest.AssertShape(t, credoidVendorFixture(t, "problem.json"), body, contracttest.Options{})
}
