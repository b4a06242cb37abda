package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

const userCols = `id, display_name, email, roles, active, directory, last_sign_in_at, location_ids, supplier_ids`

// qualifiedUserCols are userCols of staff_users joined as u.
const qualifiedUserCols = `u.id, u.display_name, u.email, u.roles, u.active, u.directory, u.last_sign_in_at, u.location_ids, u.supplier_ids`

// userFields are the scan targets of userCols.
func userFields(u *domain.StaffUser) []any {
	return []any{&u.ID, &u.DisplayName, &u.Email, &u.Roles, &u.Active, &u.Directory, &u.LastSignInAt, &u.LocationIDs, &u.SupplierIDs}
}

func scanUser(r pgx.CollectableRow) (domain.StaffUser, error) {
	var u domain.StaffUser
	err := r.Scan(userFields(&u)...)
	return u, err
}

// CreateUser adds a staff user.
func (s *Store) CreateUser(ctx context.Context, actor Actor, u domain.StaffUser) (domain.StaffUser, error) {
	if u.ID == uuid.Nil {
		u.ID = uuid.New()
	}
	if u.Directory == "" {
		u.Directory = domain.DirectoryLocal
	}
	u.LocationIDs, u.SupplierIDs = nonNil(u.LocationIDs), nonNil(u.SupplierIDs)
	audit := &AuditEntry{Actor: actor, Action: "user.create", EntityType: "staff_user", EntityID: u.ID.String(),
		Detail: map[string]any{"roles": u.Roles, "directory": u.Directory}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO staff_users (id, display_name, email, roles, active, directory, location_ids, supplier_ids)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.ID, u.DisplayName, u.Email, u.Roles, u.Active, u.Directory, u.LocationIDs, u.SupplierIDs)
		return err
	})
	return u, err
}

func (s *Store) User(ctx context.Context, id uuid.UUID) (domain.StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, classify(err)
}

func (s *Store) UserByEmail(ctx context.Context, email string) (domain.StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE email = $1`, email)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, classify(err)
}

// Users lists the staff users, active or not, holding role (any role when role is empty).
func (s *Store) Users(ctx context.Context, role domain.Role, active bool) ([]domain.StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM staff_users
		WHERE active = $2 AND ($1 = '' OR $1 = ANY (roles)) ORDER BY display_name`, string(role), active)
	return pgx.CollectRows(rows, scanUser)
}

// BootstrapAdmin makes u the first administrator, with a token expiring at expires whose secret it
// returns, unless an active administrator exists already: then it changes nothing and created is false.
// A user who has u's e-mail already (say one deactivated, or one the directory took every role from)
// is made an active administrator, keeping their other roles. The check and the writes hold one lock,
// so bootstraps run at once make one administrator.
func (s *Store) BootstrapAdmin(ctx context.Context, u domain.StaffUser, expires time.Time) (admin domain.StaffUser, token string, created bool, err error) {
	u.ID, u.Roles, u.Active = uuid.New(), []domain.Role{domain.RoleAdmin}, true
	token = newTokenSecret()
	tokenID := uuid.New()
	err = classify(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockAdministrators(ctx, tx); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE active AND $1 = ANY (roles) ORDER BY email LIMIT 1`,
			string(domain.RoleAdmin))
		existing, err := pgx.CollectRows(rows, scanUser)
		if err != nil || len(existing) > 0 {
			if len(existing) > 0 {
				admin = existing[0]
			}
			return err
		}
		rows, _ = tx.Query(ctx, `UPDATE staff_users SET roles = array_append(array_remove(roles, $2), $2), active = true,
			deactivated_by = NULL WHERE lower(email) = lower($1) RETURNING `+userCols, u.Email, string(domain.RoleAdmin))
		promoted, err := pgx.CollectRows(rows, scanUser)
		if err != nil {
			return err
		}
		if len(promoted) > 0 {
			u = promoted[0]
		} else if _, err := tx.Exec(ctx, `INSERT INTO staff_users (id, display_name, email, roles, active) VALUES ($1, $2, $3, $4, $5)`,
			u.ID, u.DisplayName, u.Email, u.Roles, u.Active); err != nil {
			return err
		}
		if err := insertToken(ctx, tx, tokenID, u.ID, "bootstrap", token, &expires, nil); err != nil {
			return err
		}
		admin, created = u, true
		return writeAudit(ctx, tx, AuditEntry{Action: "admin.bootstrap", EntityType: "staff_user", EntityID: u.ID.String(),
			Detail: map[string]any{"roles": u.Roles, "tokenId": tokenID, "expiresAt": expires.UTC(), "existingUser": len(promoted) > 0}})
	}))
	if err != nil || !created {
		token = ""
	}
	return admin, token, created, err
}

// ErrLastAdmin: the change would leave no active administrator, and nobody able to manage users.
var ErrLastAdmin = errors.New("the last active administrator")

// UpdateUser applies change to a staff user in one transaction, audited with the names of the fields
// changed. A user made inactive has every live token revoked and every session ended with it, so none
// works a moment longer. A change that would leave no active administrator is ErrLastAdmin, and changes
// nothing. A user moved to another directory is linked again at their next sign-in there.
func (s *Store) UpdateUser(ctx context.Context, actor Actor, id uuid.UUID, changed []string, change func(*domain.StaffUser)) (domain.StaffUser, error) {
	var u domain.StaffUser
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		if err := lockAdministrators(ctx, tx); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE id = $1 FOR UPDATE`, id)
		var err error
		if u, err = pgx.CollectExactlyOneRow(rows, scanUser); err != nil {
			return err
		}
		change(&u)
		u.LocationIDs, u.SupplierIDs = nonNil(u.LocationIDs), nonNil(u.SupplierIDs)
		if _, err := tx.Exec(ctx, `UPDATE staff_users SET display_name = $2, roles = $3, active = $4, directory = $5,
			location_ids = $6, supplier_ids = $7,
			directory_subject = CASE WHEN $5 = directory THEN directory_subject END,
			deactivated_by = CASE WHEN $4 THEN NULL ELSE 'administrator' END WHERE id = $1`,
			u.ID, u.DisplayName, u.Roles, u.Active, u.Directory, u.LocationIDs, u.SupplierIDs); err != nil {
			return err
		}
		var revoked, ended int64
		if !u.Active {
			var err error
			if revoked, ended, err = cutOff(ctx, tx, u.ID, "user_deactivated"); err != nil {
				return err
			}
		}
		var admins int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM staff_users WHERE active AND $1 = ANY (roles)`,
			string(domain.RoleAdmin)).Scan(&admins); err != nil {
			return err
		}
		if admins == 0 {
			return ErrLastAdmin
		}
		return writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "user.update", EntityType: "staff_user",
			EntityID: u.ID.String(), Detail: map[string]any{"fields": changed, "roles": u.Roles, "active": u.Active,
				"directory": u.Directory, "tokensRevoked": revoked, "sessionsEnded": ended}})
	})
	return u, err
}

// lockAdministrators holds, until tx ends, the lock under which who is an active administrator is read
// and changed, so no two transactions both decide there is none, or both remove the last.
func lockAdministrators(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signetassure.administrators'))`)
	return err
}

// cutOff revokes every live token of a user and ends every session of theirs, in tx.
func cutOff(ctx context.Context, tx pgx.Tx, userID uuid.UUID, reason string) (revoked, ended int64, err error) {
	tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, userID)
	if err != nil {
		return 0, 0, err
	}
	ended, err = endSessions(ctx, tx, userID, reason)
	return tag.RowsAffected(), ended, err
}

// nonNil is ids, or an empty list for none.
func nonNil(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}
