package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// TypeTripWrongState is the application error type of a trip step its status no longer allows (a trip
// cancelled meanwhile): no retry helps.
const TypeTripWrongState = "TripWrongState"

// TripInfo is what a trip's workflow needs to know: the trip, the travel policy version it was assessed
// under, and the vetting owner of the clearance it was assessed against (nil: none, or the clearance has
// no owning case; the security controllers are told instead).
type TripInfo struct {
	Trip    domain.Trip
	Policy  domain.TravelPolicy
	OwnerID *uuid.UUID
	// IssuingAuthority is the clearance's, for the aftercare case a debrief may open.
	IssuingAuthority string
}

// LoadTrip reads a trip, its policy version and its clearance's owner.
func (a *Activities) LoadTrip(ctx context.Context, id uuid.UUID) (TripInfo, error) {
	var info TripInfo
	t, err := a.Store.Trip(ctx, id)
	if err != nil {
		return info, nonRetryable(err)
	}
	info.Trip = t
	if info.Policy, err = a.Store.TravelPolicy(ctx, t.PolicyVersion); err != nil {
		return info, nonRetryable(err)
	}
	if t.ClearanceID != nil {
		c, err := a.Store.Clearance(ctx, *t.ClearanceID)
		if err != nil {
			return info, nonRetryable(err)
		}
		info.IssuingAuthority = c.IssuingAuthority
		if c.SourceCaseRef != nil {
			cs, err := a.Store.Case(ctx, *c.SourceCaseRef)
			if err != nil {
				return info, nonRetryable(err)
			}
			info.OwnerID = cs.OwnerID
		}
	}
	return info, nil
}

// RecordTripStep records a step of a trip with its audit entry (once per key). A step the trip's status
// does not allow is a TypeTripWrongState error.
func (a *Activities) RecordTripStep(ctx context.Context, in domain.TripStepInput) (domain.Trip, error) {
	t, err := a.Store.RecordTripStep(ctx, in)
	if errors.Is(err, store.ErrWrongState) {
		return t, temporal.NewNonRetryableApplicationError(err.Error(), TypeTripWrongState, err)
	}
	return t, nonRetryable(err)
}

// TravelSettings say where travellers' links point: PublicURL (the deployment's public address, "" for a
// link relative to it) and TripLinkPath, the console's page for them.
type TravelSettings struct {
	PublicURL string
}

// TripLinkPath is the console's page a traveller's link opens, the token after it (in the fragment, so it
// is never sent in a request line or a Referer).
const TripLinkPath = "/ui/#/trip-link/"

// TripLinkRequest asks for a traveller's link to a trip, for one purpose (domain.TripLinkBriefing or
// domain.TripLinkDebrief), valid until Expires.
type TripLinkRequest struct {
	TripID  uuid.UUID
	Purpose string
	Expires time.Time
}

// tripLink makes a traveller's link and returns its URL.
func (a *Activities) tripLink(ctx context.Context, r TripLinkRequest) (string, error) {
	token, err := a.Store.CreateTripLink(ctx, r.TripID, r.Purpose, r.Expires)
	if err != nil {
		return "", nonRetryable(err)
	}
	return strings.TrimSuffix(a.Travel.PublicURL, "/") + TripLinkPath + token, nil
}
