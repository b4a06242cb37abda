package store

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// Why a directory sign-in is refused after the directory vouched for the person. Each is audited.
var (
	// ErrNoRole: none of the person's groups or app roles maps to a SignetAssure role. A user who had
	// roles loses them: deactivated (by the directory), tokens revoked, sessions ended.
	ErrNoRole = errors.New("no group of theirs maps to a SignetAssure role")
	// ErrDeactivated: an administrator deactivated the user; the directory does not undo that.
	ErrDeactivated = errors.New("the user is deactivated")
	// ErrNotLinked: a user with that e-mail exists but belongs to another directory (or is local), so
	// the directory's word on the e-mail does not take over their account.
	ErrNotLinked = errors.New("an account with this e-mail exists and is not linked to this directory")
)

// SignInDirectoryUser signs in a person the directory vouched for, holding roles (mapped from their
// groups), and returns their user and a new session's secret. Just in time: a person seen for the first
// time becomes a user; a user an administrator added by e-mail to that directory is linked to the
// directory's subject; every sign-in sets the user's name, e-mail and roles from the directory. With no
// role, nothing is created, and a user who had roles is cut off (ErrNoRole).
func (s *Store) SignInDirectoryUser(ctx context.Context, du domain.DirectoryUser, roles []domain.Role, absolute time.Duration) (domain.StaffUser, string, error) {
	var u domain.StaffUser
	var secret string
	var refusal error
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signetassure.sign-in:' || $1 || ':' || $2))`,
			string(du.Directory), du.Subject); err != nil {
			return err
		}
		found, err := directoryUser(ctx, tx, du)
		if errors.Is(err, ErrNotLinked) {
			refusal = err
			return nil
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		exists := err == nil
		switch {
		case len(roles) == 0 && !exists:
			refusal = ErrNoRole
			return nil
		case len(roles) == 0:
			refusal = ErrNoRole
			if !found.Active {
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE staff_users SET active = false, deactivated_by = 'directory' WHERE id = $1`, found.ID); err != nil {
				return err
			}
			revoked, ended, err := cutOff(ctx, tx, found.ID, "directory")
			if err != nil {
				return err
			}
			return writeAudit(ctx, tx, AuditEntry{Action: "user.directory_removed", EntityType: "staff_user",
				EntityID: found.ID.String(), Detail: map[string]any{"directory": du.Directory, "tokensRevoked": revoked,
					"sessionsEnded": ended}})
		case exists && !found.Active && found.deactivatedBy == "administrator":
			refusal = ErrDeactivated
			return nil
		}
		u = domain.StaffUser{ID: found.ID, DisplayName: du.DisplayName, Email: du.Email, Roles: roles, Active: true,
			Directory: du.Directory, LocationIDs: nonNil(found.LocationIDs), SupplierIDs: nonNil(found.SupplierIDs)}
		if u.DisplayName == "" {
			u.DisplayName = du.Email
		}
		if !exists {
			u.ID = uuid.New()
			if _, err := tx.Exec(ctx, `INSERT INTO staff_users (id, display_name, email, roles, directory, directory_subject)
				VALUES ($1, $2, $3, $4, $5, $6)`, u.ID, u.DisplayName, u.Email, u.Roles, u.Directory, du.Subject); err != nil {
				return err
			}
			if err := writeAudit(ctx, tx, AuditEntry{Action: "user.provision", EntityType: "staff_user", EntityID: u.ID.String(),
				Detail: map[string]any{"directory": du.Directory, "roles": roles}}); err != nil {
				return err
			}
		} else {
			if _, err := tx.Exec(ctx, `UPDATE staff_users SET display_name = $2, email = $3, roles = $4, active = true,
				deactivated_by = NULL, directory_subject = $5 WHERE id = $1`, u.ID, u.DisplayName, u.Email, u.Roles, du.Subject); err != nil {
				return err
			}
			if !slices.Equal(found.Roles, roles) || !found.Active {
				if err := writeAudit(ctx, tx, AuditEntry{Action: "user.directory_roles", EntityType: "staff_user",
					EntityID: u.ID.String(), Detail: map[string]any{"directory": du.Directory, "roles": roles,
						"previousRoles": found.Roles, "reactivated": !found.Active}}); err != nil {
					return err
				}
			}
		}
		secret, _, err = startSession(ctx, tx, &u.ID, sessionStart{UserID: u.ID, Method: string(du.Directory), Absolute: absolute})
		now := time.Now().UTC()
		u.LastSignInAt = &now
		return err
	})
	if err == nil && refusal != nil {
		return u, "", refusal
	}
	return u, secret, err
}

// linkedUser is a staff user as directory sign-in finds them, with who deactivated them.
type linkedUser struct {
	domain.StaffUser
	deactivatedBy string
}

// directoryUser finds the user a directory's person is: by the directory's subject, or else by e-mail
// among that directory's users not yet linked. A user of that e-mail elsewhere is ErrNotLinked.
func directoryUser(ctx context.Context, tx pgx.Tx, du domain.DirectoryUser) (linkedUser, error) {
	var u linkedUser
	var subject *string
	err := tx.QueryRow(ctx, `SELECT `+userCols+`, coalesce(deactivated_by, ''), directory_subject FROM staff_users
		WHERE (directory = $1 AND directory_subject = $2) OR lower(email) = lower($3)
		ORDER BY (directory = $1 AND directory_subject = $2) DESC LIMIT 1 FOR UPDATE`,
		string(du.Directory), du.Subject, du.Email).Scan(append(userFields(&u.StaffUser), &u.deactivatedBy, &subject)...)
	if err != nil {
		return u, classify(err)
	}
	if u.Directory != du.Directory || (subject != nil && *subject != du.Subject) {
		return u, ErrNotLinked
	}
	return u, nil
}
