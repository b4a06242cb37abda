package demo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// identify has the subject of a case waiting for its identity check go through the identity provider's
// capture page (the simulator's, in the dev stack) with the identity on their record, a date of birth
// off by a day when mismatch, and waits until the case is with the officer. A case not waiting for an
// identity check (none is configured) is left as it is.
func identify(ctx context.Context, c client, ref string, mismatch bool) error {
	var cs struct {
		Status   string `json:"status"`
		PersonID string `json:"personId"`
	}
	if err := c.call(ctx, "GET", "/api/v1/cases/"+ref, nil, &cs); err != nil || cs.Status != "identity_check" {
		return err
	}
	var p struct {
		FirstName   string `json:"firstName"`
		LastName    string `json:"lastName"`
		DateOfBirth string `json:"dateOfBirth"`
	}
	if err := c.call(ctx, "GET", "/api/v1/persons/"+cs.PersonID, nil, &p); err != nil {
		return err
	}
	if mismatch {
		dob, err := time.Parse(time.DateOnly, p.DateOfBirth)
		if err != nil {
			return err
		}
		p.DateOfBirth = dob.AddDate(0, 0, 1).Format(time.DateOnly)
	}
	captureURL := ""
	if err := waitUntil(ctx, func() (bool, error) {
		var checks struct {
			Items []struct {
				CaptureURL string `json:"captureUrl"`
			} `json:"items"`
		}
		err := c.call(ctx, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil, &checks)
		if err == nil && len(checks.Items) > 0 {
			captureURL = checks.Items[0].CaptureURL
		}
		return captureURL != "", err
	}); err != nil {
		return fmt.Errorf("identity check of %s: %w", ref, err)
	}
	form := url.Values{"firstName": {p.FirstName}, "lastName": {p.LastName}, "dateOfBirth": {p.DateOfBirth},
		"documentType": {"passport"}, "documentNumber": {"5" + ref[2:10]}, "dateOfExpiry": {time.Now().AddDate(6, 0, 0).Format(time.DateOnly)},
		"issuingCountry": {"GBR"}, "nationality": {"GBR"}, "status": {"accepted"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.PostForm(captureURL, form)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("capture page of %s: %s", ref, res.Status)
	}
	return waitUntil(ctx, func() (bool, error) {
		err := c.call(ctx, "GET", "/api/v1/cases/"+ref, nil, &cs)
		return cs.Status == "with_officer", err
	})
}

// waitUntil asks done every 200 ms for up to 30 seconds.
func waitUntil(ctx context.Context, done func() (bool, error)) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
