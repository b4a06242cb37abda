package store

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
)

// ---- contact groups ----

// groupMembersSQL selects the ids of a group's members (the group is g): its active persons at the site,
// of the supplier, holding an active clearance at the level, or picked by hand.
const groupMembersSQL = `SELECT p.id FROM persons p WHERE p.active AND (
	(g.kind = 'site' AND p.location_id = g.location_id) OR
	(g.kind = 'supplier' AND p.supplier_id = g.supplier_id) OR
	(g.kind = 'level' AND EXISTS (SELECT 1 FROM clearances c WHERE c.person_id = p.id AND c.level = g.level
		AND c.status = 'active')) OR
	(g.kind = 'manual' AND EXISTS (SELECT 1 FROM contact_group_members m WHERE m.group_id = g.id AND m.person_id = p.id)))`

const groupCols = `g.id, g.name, g.kind, g.location_id, g.supplier_id, g.level, g.created_by, g.created_at,
	(SELECT count(*) FROM (` + groupMembersSQL + `) members)`

func scanGroup(r pgx.CollectableRow) (domain.ContactGroup, error) {
	var g domain.ContactGroup
	err := r.Scan(&g.ID, &g.Name, &g.Kind, &g.LocationID, &g.SupplierID, &g.Level, &g.CreatedBy, &g.CreatedAt, &g.Members)
	return g, err
}

// CreateGroup stores a contact group; a hand-picked group's members are named.
func (s *Store) CreateGroup(ctx context.Context, actor Actor, g domain.ContactGroup, members []uuid.UUID) (domain.ContactGroup, error) {
	g.ID = uuid.New()
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "group.create", EntityType: "contact_group", EntityID: g.ID.String(),
		Detail: map[string]any{"kind": g.Kind, "members": len(members)}}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO contact_groups (id, name, kind, location_id, supplier_id, level, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, g.ID, g.Name, g.Kind, g.LocationID, g.SupplierID, g.Level,
			(*uuid.UUID)(actor)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO contact_group_members (group_id, person_id) SELECT $1, unnest($2::uuid[])
			ON CONFLICT DO NOTHING`, g.ID, members)
		return err
	})
	if err != nil {
		return g, err
	}
	return s.Group(ctx, g.ID)
}

// Group is one contact group with its member count.
func (s *Store) Group(ctx context.Context, id uuid.UUID) (domain.ContactGroup, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+groupCols+` FROM contact_groups g WHERE g.id = $1`, id)
	g, err := pgx.CollectExactlyOneRow(rows, scanGroup)
	return g, classify(err)
}

// Groups lists the contact groups by name.
func (s *Store) Groups(ctx context.Context) ([]domain.ContactGroup, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+groupCols+` FROM contact_groups g ORDER BY lower(g.name)`)
	return pgx.CollectRows(rows, scanGroup)
}

// GroupMembers lists a group's members by name, with the total.
func (s *Store) GroupMembers(ctx context.Context, id uuid.UUID, p Page) ([]domain.Person, int, error) {
	var w filter
	w.add(`id IN (SELECT members.id FROM contact_groups g, LATERAL (`+groupMembersSQL+`) members WHERE g.id = %s)`, id)
	return page(ctx, s, "persons", personCols, &w, "lower(last_name), lower(first_name), id", p, scanPerson)
}

// ---- broadcasts ----

const broadcastCols = `id, group_id, body, keywords, rate, status, reply_until, created_by, created_at, sent_at, closed_at`

func scanBroadcast(r pgx.CollectableRow) (domain.Broadcast, error) {
	var b domain.Broadcast
	err := r.Scan(&b.ID, &b.GroupID, &b.Body, &b.Keywords, &b.Rate, &b.Status, &b.ReplyUntil, &b.CreatedBy,
		&b.CreatedAt, &b.SentAt, &b.ClosedAt)
	return b, err
}

// CreateBroadcast records a broadcast about to start. Recording one with an id that exists returns the
// stored one (a retried request).
func (s *Store) CreateBroadcast(ctx context.Context, actor Actor, b domain.Broadcast) (domain.Broadcast, error) {
	var out domain.Broadcast
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "broadcast.create", EntityType: "broadcast",
		EntityID: b.ID.String(), Detail: map[string]any{"groupId": b.GroupID, "keywords": b.Keywords},
		DedupKey: "broadcast.create/" + b.ID.String()}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO broadcasts (id, group_id, body, keywords, rate, status, reply_until,
			created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'preparing', $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING `+broadcastCols,
			b.ID, b.GroupID, b.Body, b.Keywords, b.Rate, b.ReplyUntil, (*uuid.UUID)(actor), b.CreatedAt)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanBroadcast)
		return err
	})
	return out, err
}

// Broadcast is one broadcast with its progress.
func (s *Store) Broadcast(ctx context.Context, id uuid.UUID) (domain.Broadcast, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+broadcastCols+` FROM broadcasts WHERE id = $1`, id)
	b, err := pgx.CollectExactlyOneRow(rows, scanBroadcast)
	if err != nil {
		return b, classify(err)
	}
	p, err := s.BroadcastProgress(ctx, id)
	b.Progress = &p
	return b, err
}

// Broadcasts lists broadcasts, newest first.
func (s *Store) Broadcasts(ctx context.Context, p Page) ([]domain.Broadcast, int, error) {
	var w filter
	return page(ctx, s, "broadcasts", broadcastCols, &w, "created_at DESC, id", p, scanBroadcast)
}

// SetBroadcastStatus moves a broadcast on; it never moves back (a repeat changes nothing).
// Closing it writes broadcast.completed, once.
func (s *Store) SetBroadcastStatus(ctx context.Context, id uuid.UUID, status string, at time.Time) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE broadcasts SET status = $2,
			sent_at = CASE WHEN $2 IN ('collecting', 'closed') THEN coalesce(sent_at, $3) ELSE sent_at END,
			closed_at = CASE WHEN $2 = 'closed' THEN coalesce(closed_at, $3) ELSE closed_at END
			WHERE id = $1 AND array_position(ARRAY['preparing', 'sending', 'collecting', 'closed'], status)
			< array_position(ARRAY['preparing', 'sending', 'collecting', 'closed'], $2::text)`, id, status, at)
		if err != nil || tag.RowsAffected() == 0 || status != "closed" {
			return err
		}
		return writeEvents(ctx, tx, events.BroadcastCompletedDraft(id))
	})
}

// ShardOf places a person in one of n shards of a broadcast, always the same one.
func ShardOf(person uuid.UUID, n int) int {
	h := fnv.New32a()
	h.Write(person[:])
	return int(h.Sum32() % uint32(n))
}

// PrepareBroadcast fixes a broadcast's recipients: every member of its group now, with their UK mobile,
// spread over shards. A member without a valid UK mobile, or sharing one with a member already taken, is
// kept as skipped, so nobody is messaged twice and nobody is silently left out. Preparing again changes
// nothing. It returns the number of recipients to message.
func (s *Store) PrepareBroadcast(ctx context.Context, id uuid.UUID, shards int) (int, error) {
	var n int
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM broadcasts WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return err
		}
		if status == domain.BroadcastPreparing {
			rows, _ := tx.Query(ctx, `SELECT p.id, p.mobile FROM broadcasts b JOIN contact_groups g ON g.id = b.group_id,
				LATERAL (`+groupMembersSQL+`) members JOIN persons p ON p.id = members.id WHERE b.id = $1 ORDER BY p.id`, id)
			var persons []uuid.UUID
			var numbers, skipped []string
			var shardOf []int16
			seen := map[string]bool{}
			var pid uuid.UUID
			var mobile string
			if _, err := pgx.ForEachRow(rows, []any{&pid, &mobile}, func() error {
				number, err := domain.ParseUKMobile(mobile)
				why := ""
				switch {
				case mobile == "" || err != nil:
					number, why = "", "no_mobile"
				case seen[number]:
					number, why = "", "duplicate_number"
				}
				seen[number] = true
				persons = append(persons, pid)
				numbers = append(numbers, number)
				skipped = append(skipped, why)
				shardOf = append(shardOf, int16(ShardOf(pid, shards)))
				return nil
			}); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO broadcast_recipients (broadcast_id, person_id, recipient, skipped, shard)
				SELECT $1, unnest($2::uuid[]), unnest($3::text[]), unnest($4::text[]), unnest($5::smallint[])`,
				id, persons, numbers, skipped, shardOf); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE broadcasts SET status = 'sending' WHERE id = $1`, id); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = $1 AND skipped = ''`,
			id).Scan(&n)
	})
	return n, classify(err)
}

// BroadcastTarget is one recipient to message.
type BroadcastTarget struct {
	PersonID  uuid.UUID
	Recipient string
}

// BroadcastTargets lists a shard's recipients after a person id (uuid.Nil: from the start), in person id
// order, up to limit.
func (s *Store) BroadcastTargets(ctx context.Context, id uuid.UUID, shard int, after uuid.UUID, limit int) ([]BroadcastTarget, error) {
	rows, _ := s.pool.Query(ctx, `SELECT person_id, recipient FROM broadcast_recipients WHERE broadcast_id = $1
		AND shard = $2 AND skipped = '' AND person_id > $3 ORDER BY person_id LIMIT $4`, id, shard, after, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (BroadcastTarget, error) {
		var t BroadcastTarget
		err := r.Scan(&t.PersonID, &t.Recipient)
		return t, err
	})
}

// BroadcastProgress counts a broadcast's recipients by their message's status, its replies by keyword
// and its cost by price unit (Twilio states prices negative: costs are shown positive).
func (s *Store) BroadcastProgress(ctx context.Context, id uuid.UUID) (domain.BroadcastProgress, error) {
	p := domain.BroadcastProgress{Replies: map[string]int{}, Cost: map[string]string{}}
	err := s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE r.skipped <> ''),
		count(*) FILTER (WHERE r.skipped = '' AND (m.status IS NULL OR m.status = 'pending')),
		count(*) FILTER (WHERE m.status IN ('queued', 'sent', 'delivered', 'read', 'undelivered', 'failed') AND m.provider_id IS NOT NULL),
		count(*) FILTER (WHERE m.status IN ('delivered', 'read')),
		count(*) FILTER (WHERE m.status IN ('undelivered', 'failed')),
		count(*) FILTER (WHERE m.status = 'suppressed'),
		count(*) FILTER (WHERE r.replied_at IS NOT NULL)
		FROM broadcast_recipients r LEFT JOIN messages m ON m.id = r.message_id WHERE r.broadcast_id = $1`, id).
		Scan(&p.Recipients, &p.Skipped, &p.Pending, &p.Sent, &p.Delivered, &p.Failed, &p.Suppressed, &p.Replied)
	if err != nil {
		return p, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT reply_keyword, count(*) FROM broadcast_recipients WHERE broadcast_id = $1
		AND replied_at IS NOT NULL GROUP BY reply_keyword`, id)
	var k string
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { p.Replies[k] = n; return nil }); err != nil {
		return p, err
	}
	rows, _ = s.pool.Query(ctx, `SELECT price_unit, abs(sum(price))::text FROM messages WHERE broadcast_id = $1
		AND price IS NOT NULL GROUP BY price_unit`, id)
	var unit, sum string
	_, err = pgx.ForEachRow(rows, []any{&unit, &sum}, func() error { p.Cost[unit] = sum; return nil })
	return p, err
}

// RecipientFilter narrows a broadcast's recipients.
type RecipientFilter struct {
	// Replied: true lists those who replied, false those who have not (messaged, for follow-up).
	Replied *bool
	Keyword string
	Page
}

// BroadcastRecipients lists a broadcast's recipients by name, with their message's status and reply.
func (s *Store) BroadcastRecipients(ctx context.Context, id uuid.UUID, f RecipientFilter) ([]domain.BroadcastRecipient, int, error) {
	var w filter
	w.add("r.broadcast_id = %s", id)
	if f.Replied != nil {
		if *f.Replied {
			w.add("r.replied_at IS NOT NULL")
		} else {
			w.add("r.replied_at IS NULL AND r.skipped = ''")
		}
	}
	if f.Keyword != "" {
		w.add("r.reply_keyword = %s", f.Keyword)
	}
	return page(ctx, s, `broadcast_recipients r JOIN persons p ON p.id = r.person_id LEFT JOIN messages m ON m.id = r.message_id`,
		`r.person_id, p.first_name || ' ' || p.last_name, r.recipient, r.skipped, r.message_id, m.status,
		r.reply_keyword, r.reply_body, r.replied_at`, &w, "lower(p.last_name), lower(p.first_name), p.id", f.Page,
		func(row pgx.CollectableRow) (domain.BroadcastRecipient, error) {
			var b domain.BroadcastRecipient
			var st *string
			err := row.Scan(&b.PersonID, &b.Name, &b.Recipient, &b.Skipped, &b.MessageID, &st, &b.ReplyKeyword,
				&b.ReplyBody, &b.RepliedAt)
			if st != nil {
				ms := domain.MessageStatus(*st)
				b.Status = &ms
			}
			return b, err
		})
}

// ---- clearance lifecycle ----

// ExpireClearance marks one clearance expired when it is still active and its last day has passed.
// It reports whether it did.
func (s *Store) ExpireClearance(ctx context.Context, id uuid.UUID, today domain.Date) (bool, error) {
	done := false
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		var person uuid.UUID
		var level string
		err := tx.QueryRow(ctx, `UPDATE clearances SET status = 'expired', updated_at = now()
			WHERE id = $1 AND status = 'active' AND valid_to < $2 RETURNING person_id, level`, id, today).Scan(&person, &level)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		done = true
		return writeAudit(ctx, tx, AuditEntry{Action: "clearance.expire", EntityType: "person", EntityID: person.String(),
			Detail: map[string]any{"clearanceId": id, "level": level}})
	})
	return done, err
}

// OpenCase returns the reference of the person's open case of a type at a level, if there is one.
func (s *Store) OpenCase(ctx context.Context, person uuid.UUID, t domain.CaseType, level domain.Level) (string, bool, error) {
	var ref string
	err := s.pool.QueryRow(ctx, `SELECT case_ref FROM vetting_cases WHERE person_id = $1 AND type = $2
		AND requested_level = $3 AND closed_at IS NULL ORDER BY opened_at DESC LIMIT 1`, person, t, level).Scan(&ref)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return ref, err == nil, err
}
