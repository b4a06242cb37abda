package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// ---- travel policy ----

const travelPolicyCols = `version, countries_of_concern, rules, max_trip_days, reminder_days, escalation_days,
	updated_by, updated_at`

func scanTravelPolicy(row pgx.Row) (domain.TravelPolicy, error) {
	var p domain.TravelPolicy
	err := row.Scan(&p.Version, &p.CountriesOfConcern, &p.Rules, &p.MaxTripDays, &p.ReminderDays,
		&p.EscalationDays, &p.UpdatedBy, &p.UpdatedAt)
	return p, classify(err)
}

// TravelPolicy is the travel policy of a version; version 0 is the one in force (the newest).
func (s *Store) TravelPolicy(ctx context.Context, version int) (domain.TravelPolicy, error) {
	return travelPolicy(ctx, s.pool, version)
}

func travelPolicy(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, version int) (domain.TravelPolicy, error) {
	return scanTravelPolicy(q.QueryRow(ctx, `SELECT `+travelPolicyCols+` FROM travel_policies
		WHERE version = $1 OR ($1 = 0 AND version = (SELECT max(version) FROM travel_policies))`, version))
}

// SetTravelPolicy puts a new version of the travel policy in force. Trips reported before keep the
// version they were assessed under.
func (s *Store) SetTravelPolicy(ctx context.Context, actor Actor, p domain.TravelPolicy) (domain.TravelPolicy, error) {
	var out domain.TravelPolicy
	codes := make([]string, len(p.CountriesOfConcern))
	for i, c := range p.CountriesOfConcern {
		codes[i] = c.Code
	}
	entry := &AuditEntry{Actor: actor, Action: "travel_policy.update", EntityType: "travel_policy",
		Detail: map[string]any{"countriesOfConcern": codes, "rules": len(p.Rules), "maxTripDays": p.MaxTripDays,
			"reminderDays": p.ReminderDays, "escalationDays": p.EscalationDays}}
	err := s.tx(ctx, entry, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE travel_policies IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var err error
		out, err = scanTravelPolicy(tx.QueryRow(ctx, `INSERT INTO travel_policies (version, countries_of_concern,
			rules, max_trip_days, reminder_days, escalation_days, updated_by)
			SELECT coalesce(max(version), 0) + 1, $1, $2, $3, $4, $5, $6 FROM travel_policies
			RETURNING `+travelPolicyCols, p.CountriesOfConcern, p.Rules, p.MaxTripDays, p.ReminderDays,
			p.EscalationDays, (*uuid.UUID)(actor)))
		entry.EntityID = fmt.Sprint(out.Version)
		return err
	})
	return out, err
}

// ---- trips ----

const tripCols = `id, person_id, countries, departs_on, returns_on, purpose, companions, devices, status,
	policy_version, level, clearance_id, concern_countries, requires, too_long, briefed_at, decision, decided_by,
	decided_at, decision_reason, debrief, debriefed_at, aftercare_case_ref, cancel_reason, reported_by,
	created_at, updated_at`

func scanTrip(row pgx.CollectableRow) (domain.Trip, error) {
	var t domain.Trip
	err := row.Scan(&t.ID, &t.PersonID, &t.Countries, &t.DepartsOn, &t.ReturnsOn, &t.Purpose, &t.Companions,
		&t.Devices, &t.Status, &t.PolicyVersion, &t.Level, &t.ClearanceID, &t.ConcernCountries, &t.Requires,
		&t.TooLong, &t.BriefedAt, &t.Decision, &t.DecidedBy, &t.DecidedAt, &t.DecisionReason, &t.Debrief,
		&t.DebriefedAt, &t.AftercareCaseRef, &t.CancelReason, &t.ReportedBy, &t.CreatedAt, &t.UpdatedAt)
	return t, err
}

// Trip is one reported trip.
func (s *Store) Trip(ctx context.Context, id uuid.UUID) (domain.Trip, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tripCols+` FROM travel_trips WHERE id = $1`, id)
	t, err := pgx.CollectExactlyOneRow(rows, scanTrip)
	return t, classify(err)
}

// TripFilter narrows the list of trips.
type TripFilter struct {
	PersonID *uuid.UUID
	Status   []domain.TripStatus
	Reach    *Reach
	Page     Page
}

// Trips lists trips, the latest departure first, with the total that match.
func (s *Store) Trips(ctx context.Context, f TripFilter) ([]domain.Trip, int, error) {
	var w filter
	if f.PersonID != nil {
		w.add("person_id = %s", *f.PersonID)
	}
	if len(f.Status) > 0 {
		w.add("status = ANY (%s)", f.Status)
	}
	f.Reach.limit(&w, "person_id")
	return page(ctx, s, "travel_trips", tripCols, &w, "departs_on DESC, id", f.Page, scanTrip)
}

// assessTrip assesses t under the policy in force: the person's highest clearance in force today (none: no
// policy applies, and nothing is required), the destinations of concern, what the trip requires, and
// whether it is longer than the policy allows. The status is pending or ready accordingly.
func assessTrip(ctx context.Context, tx pgx.Tx, t *domain.Trip) error {
	p, err := travelPolicy(ctx, tx, 0)
	if err != nil {
		return err
	}
	levels := make([]string, len(domain.Levels))
	for i, l := range domain.Levels {
		levels[i] = string(l)
	}
	t.Level, t.ClearanceID = nil, nil
	var id uuid.UUID
	var level domain.Level
	err = tx.QueryRow(ctx, `SELECT id, level FROM clearances WHERE person_id = $1 AND status = 'active'
		AND valid_from <= current_date AND valid_to >= current_date
		ORDER BY array_position($2::text[], level) DESC LIMIT 1`, t.PersonID, levels).Scan(&id, &level)
	switch {
	case err == nil:
		t.Level, t.ClearanceID = &level, &id
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	t.PolicyVersion = p.Version
	t.ConcernCountries, t.Requires = p.Assess(t.Level, t.Countries)
	t.TooLong = t.Level != nil && t.Days() > p.MaxTripDays
	t.Status = t.PreDepartureStatus()
	return nil
}

// tripDetail is the audit detail of a trip's step: ids and states, never destinations, purposes or
// reasons.
func tripDetail(t domain.Trip) map[string]any {
	d := map[string]any{"personId": t.PersonID.String(), "status": string(t.Status),
		"policyVersion": t.PolicyVersion}
	if t.Decision != nil {
		d["decision"] = string(*t.Decision)
	}
	if t.AftercareCaseRef != nil {
		d["aftercareCaseRef"] = *t.AftercareCaseRef
	}
	return d
}

// ReportTrip records a trip reported for a person, assessed under the policy in force. Reporting the same
// id again answers with the trip recorded; the same trip (person, destinations and dates) reported again
// under another id while the first stands is a unique ConstraintError on travel_trips_duplicate_key.
func (s *Store) ReportTrip(ctx context.Context, actor Actor, t domain.Trip) (domain.Trip, error) {
	entry := &AuditEntry{Actor: actor, Action: "travel." + string(domain.TripStepReported), EntityType: "travel_trip",
		EntityID: t.ID.String(), DedupKey: "travel/" + t.ID.String() + "/reported"}
	var out domain.Trip
	err := s.tx(ctx, entry, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+tripCols+` FROM travel_trips WHERE id = $1`, t.ID)
		existing, err := pgx.CollectExactlyOneRow(rows, scanTrip)
		if err == nil {
			out = existing
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		t.ReportedBy = actor
		if err := assessTrip(ctx, tx, &t); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `INSERT INTO travel_trips (id, person_id, countries, departs_on, returns_on, purpose,
			companions, devices, status, policy_version, level, clearance_id, concern_countries, requires, too_long,
			reported_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			RETURNING `+tripCols, t.ID, t.PersonID, t.Countries, t.DepartsOn, t.ReturnsOn, t.Purpose, t.Companions,
			nonNilStrings(t.Devices), t.Status, t.PolicyVersion, t.Level, t.ClearanceID, t.ConcernCountries,
			t.Requires, t.TooLong, (*uuid.UUID)(actor))
		if out, err = pgx.CollectExactlyOneRow(rows, scanTrip); err != nil {
			return err
		}
		entry.Detail = tripDetail(out)
		entry.Detail["tooLong"] = out.TooLong
		return nil
	})
	return out, err
}

// RecordTripStep records a step of a trip and its audit entry in one transaction. A change is assessed
// again under the policy in force, and voids the briefing and decision given for the trip as it was. A
// step the trip's status does not allow is ErrWrongState.
func (s *Store) RecordTripStep(ctx context.Context, in domain.TripStepInput) (domain.Trip, error) {
	entry := &AuditEntry{Actor: in.Actor, Action: "travel." + string(in.Step), EntityType: "travel_trip",
		EntityID: in.TripID.String(), DedupKey: in.Key}
	var out domain.Trip
	err := s.tx(ctx, entry, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+tripCols+` FROM travel_trips WHERE id = $1 FOR UPDATE`, in.TripID)
		t, err := pgx.CollectExactlyOneRow(rows, scanTrip)
		if err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log WHERE dedup_key = $1)`, in.Key).
			Scan(&done); err != nil {
			return err
		}
		if done {
			out, entry.DedupKey = t, in.Key // the entry is skipped as a repeat
			return nil
		}
		if err := applyTripStep(ctx, tx, &t, in); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `UPDATE travel_trips SET countries = $2, departs_on = $3, returns_on = $4,
			purpose = $5, companions = $6, devices = $7, status = $8, policy_version = $9, level = $10,
			clearance_id = $11, concern_countries = $12, requires = $13, too_long = $14, briefed_at = $15,
			decision = $16, decided_by = $17, decided_at = $18, decision_reason = $19, debrief = $20,
			debriefed_at = $21, aftercare_case_ref = $22, cancel_reason = $23, updated_at = now()
			WHERE id = $1 RETURNING `+tripCols, t.ID, t.Countries, t.DepartsOn, t.ReturnsOn, t.Purpose,
			t.Companions, nonNilStrings(t.Devices), t.Status, t.PolicyVersion, t.Level, t.ClearanceID,
			t.ConcernCountries, t.Requires, t.TooLong, t.BriefedAt, t.Decision, t.DecidedBy, t.DecidedAt,
			t.DecisionReason, t.Debrief, t.DebriefedAt, t.AftercareCaseRef, t.CancelReason)
		if out, err = pgx.CollectExactlyOneRow(rows, scanTrip); err != nil {
			return err
		}
		entry.Detail = tripDetail(out)
		if in.Step == domain.TripStepDebriefed && in.Debrief != nil {
			entry.Detail["approach"], entry.Detail["incident"] = in.Debrief.Approach, in.Debrief.Incident
			entry.Detail["officialContact"], entry.Detail["deviceLost"] = in.Debrief.OfficialContact, in.Debrief.DeviceLost
		}
		return nil
	})
	return out, err
}

// applyTripStep changes t as the step says (domain.Trip.Apply), and assesses a changed trip again under
// the policy in force.
func applyTripStep(ctx context.Context, tx pgx.Tx, t *domain.Trip, in domain.TripStepInput) error {
	if err := t.Apply(in, time.Now().UTC()); err != nil {
		return fmt.Errorf("%w: %w", ErrWrongState, err)
	}
	if in.Step == domain.TripStepChanged {
		// The briefing asked for the trip as it was is void: so are the links to acknowledge it.
		if _, err := tx.Exec(ctx, `UPDATE travel_links SET expires_at = least(expires_at, now())
			WHERE trip_id = $1 AND purpose = 'briefing' AND used_at IS NULL`, t.ID); err != nil {
			return err
		}
		return assessTrip(ctx, tx, t)
	}
	return nil
}

// ---- the traveller's links ----

// tripLinkPrefix marks a traveller's link token.
const tripLinkPrefix = "stl_"

// TripLink is a traveller's link: for one trip and one purpose (domain.TripLinkBriefing or
// domain.TripLinkDebrief), until it expires, once.
type TripLink struct {
	TripID    uuid.UUID
	Purpose   string
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// CreateTripLink makes a link for a trip and returns its token (kept only as its SHA-256).
func (s *Store) CreateTripLink(ctx context.Context, tripID uuid.UUID, purpose string, expires time.Time) (string, error) {
	token := newSecret(tripLinkPrefix)
	_, err := s.pool.Exec(ctx, `INSERT INTO travel_links (token_hash, trip_id, purpose, expires_at) VALUES ($1, $2, $3, $4)`,
		hashToken(token), tripID, purpose, expires)
	return token, classify(err)
}

// TripLinkOf reads the link of a token; ErrNotFound for a token that is no link.
func (s *Store) TripLinkOf(ctx context.Context, token string) (TripLink, error) {
	var l TripLink
	err := s.pool.QueryRow(ctx, `SELECT trip_id, purpose, expires_at, used_at FROM travel_links WHERE token_hash = $1`,
		hashToken(token)).Scan(&l.TripID, &l.Purpose, &l.ExpiresAt, &l.UsedAt)
	return l, classify(err)
}

// UseTripLink marks a link used, with its audit entry (the traveller acting: no staff actor). A link used
// already stays as it was.
func (s *Store) UseTripLink(ctx context.Context, token string, l TripLink) error {
	return s.tx(ctx, &AuditEntry{Action: "travel.link_used", EntityType: "travel_trip", EntityID: l.TripID.String(),
		Detail: map[string]any{"purpose": l.Purpose}, DedupKey: "travel-link/" + hex.EncodeToString(hashToken(token))},
		func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE travel_links SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL`,
				hashToken(token))
			return err
		})
}
