package store

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// CaseQueue is one of the work queues a case list can be narrowed to.
type CaseQueue string

const (
	QueueMine             CaseQueue = "mine"               // open cases the caller owns
	QueueUnassigned       CaseQueue = "unassigned"         // open cases with no owner
	QueueOverdue          CaseQueue = "overdue"            // open cases past their due time
	QueueDueSoon          CaseQueue = "due_soon"           // open cases due within DueSoon
	QueueWaitingOnSubject CaseQueue = "waiting_on_subject" // identity check or information requested
	QueueOpen             CaseQueue = "open"               // every open case
	QueueClosed           CaseQueue = "closed"             // cases with an outcome
)

// CaseQueues are the queues, in the order a console shows them.
var CaseQueues = []CaseQueue{QueueMine, QueueUnassigned, QueueOverdue, QueueDueSoon, QueueWaitingOnSubject, QueueOpen,
	QueueClosed}

// DueSoon is how far ahead a case is due soon.
const DueSoon = 7 * 24 * time.Hour

// Enum lists the queues for the OpenAPI document.
func (CaseQueue) Enum() []any {
	out := make([]any, len(CaseQueues))
	for i, q := range CaseQueues {
		out[i] = string(q)
	}
	return out
}

func (q CaseQueue) Valid() bool {
	for _, v := range CaseQueues {
		if v == q {
			return true
		}
	}
	return false
}

// CaseSort is a case list's order.
type CaseSort string

const (
	SortDue     CaseSort = "due"
	SortOpened  CaseSort = "opened"
	SortUpdated CaseSort = "updated"
	SortPerson  CaseSort = "person"
)

var CaseSorts = []CaseSort{SortDue, SortOpened, SortUpdated, SortPerson}

func (s CaseSort) Valid() bool {
	for _, v := range CaseSorts {
		if v == s {
			return true
		}
	}
	return false
}

// CaseRow is a case in a list with the names it refers to and since when it has stood in its status.
type CaseRow struct {
	domain.Case
	PersonName     string
	EmployeeNumber string
	OwnerName      string
	StatusSince    time.Time
}

// statusKinds are the timeline events that move a case into a status.
const statusKinds = `'opened', 'with_officer', 'identity_check', 'identity_result', 'information_requested',
	'information_received', 'delegated', 'returned_to_partner', 'outcome'`

const queueFrom = `vetting_cases c JOIN persons p ON p.id = c.person_id LEFT JOIN staff_users o ON o.id = c.owner_id`

// queueCond is the condition, on c, of being in queue q for user me at now.
func queueCond(w *filter, q CaseQueue, me uuid.UUID, now time.Time) {
	switch q {
	case QueueMine:
		w.add("c.closed_at IS NULL AND c.owner_id = %s", me)
	case QueueUnassigned:
		w.add("c.closed_at IS NULL AND c.owner_id IS NULL")
	case QueueOverdue:
		w.add("c.closed_at IS NULL AND c.due_at < %s", now)
	case QueueDueSoon:
		w.add("c.closed_at IS NULL AND c.due_at >= %s AND c.due_at < %s", now, now.Add(DueSoon))
	case QueueWaitingOnSubject:
		w.add("c.closed_at IS NULL AND c.status IN ('identity_check', 'awaiting_information')")
	case QueueOpen:
		w.add("c.closed_at IS NULL")
	case QueueClosed:
		w.add("c.closed_at IS NOT NULL")
	}
}

// where is f's conditions on queueFrom.
func (f CaseFilter) where(now time.Time) *filter {
	var w filter
	f.Reach.limit(&w, "c.person_id")
	if f.Queue != "" {
		queueCond(&w, f.Queue, f.Me, now)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		raw := "%" + likeEscape(strings.ToLower(q)) + "%"
		w.add("(p.search_name LIKE %s OR lower(c.case_ref) LIKE %s OR lower(p.employee_number) LIKE %s)",
			"%"+likeEscape(domain.FoldName(q))+"%", raw, raw)
	}
	if len(f.Statuses) > 0 {
		w.add("c.status = ANY (%s)", f.Statuses)
	}
	if f.OwnerID != nil {
		w.add("c.owner_id = %s", *f.OwnerID)
	}
	if f.PersonID != nil {
		w.add("c.person_id = %s", *f.PersonID)
	}
	if f.SupplierID != nil {
		w.add("p.supplier_id = %s", *f.SupplierID)
	}
	if f.Level != "" {
		w.add("c.requested_level = %s", f.Level)
	}
	if f.Type != "" {
		w.add("c.type = %s", f.Type)
	}
	if f.DueBefore != nil {
		w.add("c.due_at < %s", *f.DueBefore)
	}
	if f.Open != nil {
		w.add("(c.closed_at IS NULL) = %s", *f.Open)
	}
	return &w
}

// CaseList lists cases as f narrows and orders them (soonest due first by default), with their subjects'
// and owners' names, and the total that match.
func (s *Store) CaseList(ctx context.Context, f CaseFilter) ([]CaseRow, int, error) {
	w := f.where(time.Now())
	dir := " ASC"
	if f.Desc {
		dir = " DESC"
	}
	order := map[CaseSort]string{
		SortDue:     "c.due_at" + dir,
		SortOpened:  "c.opened_at" + dir,
		SortUpdated: "c.updated_at" + dir,
		SortPerson:  "lower(p.last_name)" + dir + ", lower(p.first_name)" + dir,
	}[f.Sort]
	if order == "" {
		order = "c.due_at" + dir
	}
	cols := qualifiedCaseCols + `, p.first_name || ' ' || p.last_name, coalesce(p.employee_number, ''), coalesce(o.display_name, ''),
		coalesce((SELECT max(e.at) FROM case_events e WHERE e.case_ref = c.case_ref AND e.kind IN (` + statusKinds + `)),
			c.opened_at)`
	return page(ctx, s, queueFrom, cols, w, order+", c.case_ref", f.Page, func(r pgx.CollectableRow) (CaseRow, error) {
		var row CaseRow
		c := &row.Case
		err := r.Scan(&c.CaseRef, &c.PersonID, &c.Type, &c.RequestedLevel, &c.Status, &c.OwnerID, &c.IssuingAuthority,
			&c.OpenedBy, &c.OpenedAt, &c.DueAt, &c.InfoRequested, &c.InfoDueAt, &c.EscalatedAt, &c.Outcome,
			&c.OutcomeLevel, &c.ValidFrom, &c.ValidTo, &c.ClosedAt, &c.Version, &c.UpdatedAt, &c.DelegatedSiteID,
			&c.DelegationDueAt, &c.ForSiteID, &c.ForCaseRef, &row.PersonName, &row.EmployeeNumber, &row.OwnerName,
			&row.StatusSince)
		return row, err
	})
}

// CaseCounts counts, for user me within reach, the cases in each queue and the cases in each status.
func (s *Store) CaseCounts(ctx context.Context, reach *Reach, me uuid.UUID) (map[CaseQueue]int, map[domain.CaseStatus]int, error) {
	now := time.Now()
	w := CaseFilter{Reach: reach, Me: me}.where(now)
	base, baseArgs := w.where(), len(w.args)
	// Each queue's condition is taken off the WHERE clause into a FILTER; its arguments stay numbered.
	var sel []string
	for _, q := range CaseQueues {
		queueCond(w, q, me, now)
		sel = append(sel, "count(*) FILTER (WHERE "+w.conds[len(w.conds)-1]+")")
		w.conds = w.conds[:len(w.conds)-1]
	}
	ns := make([]int, len(CaseQueues))
	dest := make([]any, len(ns))
	for i := range ns {
		dest[i] = &ns[i]
	}
	if err := s.pool.QueryRow(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+queueFrom+` WHERE `+base, w.args...).
		Scan(dest...); err != nil {
		return nil, nil, err
	}
	queues := map[CaseQueue]int{}
	for i, q := range CaseQueues {
		queues[q] = ns[i]
	}
	statuses := map[domain.CaseStatus]int{}
	for _, st := range domain.CaseStatuses {
		statuses[st] = 0
	}
	var st domain.CaseStatus
	var n int
	rows, _ := s.pool.Query(ctx, `SELECT c.status, count(*) FROM `+queueFrom+` WHERE `+base+` GROUP BY c.status`,
		w.args[:baseArgs]...)
	_, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error { statuses[st] = n; return nil })
	return queues, statuses, err
}
