package api_test

import (
	"errors"
	"testing"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/store"
)

// The external endpoints' request decoding never panics, and refuses what it cannot take with a 400
// naming a field, never anything that would answer 5xx.
func checkRefusal(t *testing.T, err error) {
	var p *api.Problem
	if err != nil && (!errors.As(err, &p) || p.Status != 400 || len(p.Errors) == 0) {
		t.Fatalf("refusal is not a 400 naming a field: %#v", err)
	}
}

func FuzzParseLookup(f *testing.F) {
	for _, seed := range []string{
		`{"firstName":"Jane","lastName":"Davies","dob":"1985-04-12","reason":"Pre-site access verification"}`,
		`{"firstName":"","lastName":null,"dob":"1985-02-30","reason":1}`, `[]`, `null`, `{"dob":"9999-99-99"}`, `{`, "",
		`{"firstName":"Zoë","lastName":"O'Brien","dob":"2000-01-01","reason":"x","extra":true}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := api.ParseLookup(body)
		checkRefusal(t, err)
		if err == nil && (req.FirstName == "" || req.LastName == "" || req.Reason == "" || req.DOB.IsZero()) {
			t.Fatalf("accepted an incomplete lookup: %+v", req)
		}
	})
}

func FuzzParseReturn(f *testing.F) {
	for _, seed := range []string{
		`{"caseRef":"v_2c1fabcdefghijklmnopqrstuv","outcome":"cleared","clearanceLevel":"SC","validFrom":"2026-05-15","validTo":"2031-05-15","partnerCaseId":"BA-VET-00421"}`,
		`{"caseRef":"v_2c1fabcdefghijklmnopqrstuv","outcome":"refused","partnerCaseId":"x"}`,
		`{"caseRef":"V_X","outcome":"cleared","validTo":"2020-01-01","validFrom":"2030-01-01"}`, `{}`, `{"outcome":["cleared"]}`, "\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := api.ParseReturn(body)
		checkRefusal(t, err)
		// The form only: whether the outcome fits the case is domain.ValidityPolicy.CheckDecision's, once the
		// case is found (a caseRef of any shape naming no case is a 404).
		if err == nil {
			if req.CaseRef == "" || !req.Outcome.Valid() || req.PartnerCaseID == "" {
				t.Fatalf("accepted an invalid return: %+v", req)
			}
			if req.Outcome.GrantsClearance() && (!req.ClearanceLevel.Valid() || !req.ValidFrom.InRange() || !req.ValidTo.InRange()) {
				t.Fatalf("accepted a clearance without a valid level and dates: %+v", req)
			}
		}
	})
}

// What /whoami (and every external call) decodes is the key itself.
func FuzzPartnerKeyPrefix(f *testing.F) {
	for _, seed := range []string{"sap_abcdefgh_secret", "sap_", "sap_abcdefgh", "sap__", "Bearer x", "sap_abcdefghi_x", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, presented string) {
		if p := store.KeyPrefixOf(presented); p != "" && len(p) != 8 {
			t.Fatalf("prefix %q of %q", p, presented)
		}
	})
}
