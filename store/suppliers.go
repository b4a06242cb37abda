package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// Suppliers (schema/022_suppliers.sql). A write checks, in its transaction and with the parent locked,
// what only the database knows: the parent exists, is in use, sits one tier above and is not below the
// supplier; the sub-suppliers stay one tier below; the sites exist. What it refuses is a Refusal naming
// the request's field, and nothing is written.

const supplierCols = `id, name, tier, parent_id, company_number, contact_email, sponsor_reference, archived_at,
	created_at, updated_at`

func scanSupplier(r pgx.CollectableRow) (domain.Supplier, error) {
	var s domain.Supplier
	err := r.Scan(&s.ID, &s.Name, &s.Tier, &s.ParentID, &s.CompanyNumber, &s.ContactEmail, &s.SponsorReference,
		&s.ArchivedAt, &s.CreatedAt, &s.UpdatedAt)
	return s, err
}

// Refusal is a write refused for what one field of the request holds, found in the database (a parent
// that does not exist, a cycle, an archived supplier): the API answers 400 naming Field.
type Refusal struct{ Field, Message string }

func (r *Refusal) Error() string { return r.Field + ": " + r.Message }

// ErrSubSuppliersInUse: a supplier with sub-suppliers in use is not archived before them.
var ErrSubSuppliersInUse = errors.New("sub-suppliers below it are in use: archive them first")

// ErrParentArchived: a supplier is not restored below an archived parent.
var ErrParentArchived = errors.New("its parent is archived: restore the parent first")

// Supplier parts that a change names (domain.Supplier's JSON names), written again when named.
const (
	SupplierSites     = "siteIds"
	SupplierContacts  = "contacts"
	SupplierContracts = "contracts"
)

// CreateSupplier stores a new supplier with its sites, contacts and contracts, and gives it an id.
func (s *Store) CreateSupplier(ctx context.Context, actor Actor, sp domain.Supplier) (domain.Supplier, error) {
	sp.ID = uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "supplier.create", EntityType: "supplier", EntityID: sp.ID.String()}
	var out domain.Supplier
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if err := lockChain(ctx, tx); err != nil {
			return err
		}
		if err := checkSupplier(ctx, tx, sp, true); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO suppliers (id, name, tier, parent_id, company_number, contact_email,
			sponsor_reference) VALUES ($1, $2, $3, $4, $5, $6, $7)`, sp.ID, sp.Name, sp.Tier, sp.ParentID,
			sp.CompanyNumber, sp.ContactEmail, sp.SponsorReference); err != nil {
			return err
		}
		if err := writeSupplierParts(ctx, tx, sp, []string{SupplierSites, SupplierContacts, SupplierContracts}); err != nil {
			return err
		}
		var err error
		out, err = supplierIn(ctx, tx, sp.ID, "")
		return err
	})
	return out, err
}

// UpdateSupplier loads the supplier, lets change alter it, checks it and writes it back in one
// transaction. changed names the fields altered, for the audit log (names only) and to know which
// parts (sites, contacts, contracts) to write again.
func (s *Store) UpdateSupplier(ctx context.Context, actor Actor, id uuid.UUID, changed []string,
	change func(*domain.Supplier)) (domain.Supplier, error) {
	audit := &AuditEntry{Actor: actor, Action: "supplier.update", EntityType: "supplier", EntityID: id.String(),
		Detail: map[string]any{"fields": changed}}
	var out domain.Supplier
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if err := lockChain(ctx, tx); err != nil {
			return err
		}
		sp, err := supplierIn(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		was := sp.ParentID
		change(&sp)
		moved := (was == nil) != (sp.ParentID == nil) || (was != nil && *was != *sp.ParentID)
		if err := checkSupplier(ctx, tx, sp, moved); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE suppliers SET name = $2, tier = $3, parent_id = $4, company_number = $5,
			contact_email = $6, sponsor_reference = $7, updated_at = now() WHERE id = $1`, id, sp.Name, sp.Tier,
			sp.ParentID, sp.CompanyNumber, sp.ContactEmail, sp.SponsorReference); err != nil {
			return err
		}
		if err := writeSupplierParts(ctx, tx, sp, changed); err != nil {
			return err
		}
		out, err = supplierIn(ctx, tx, id, "")
		return err
	})
	return out, err
}

// SetSupplierArchived archives a supplier in use (archive true) or restores an archived one. Archiving
// one already archived, or restoring one in use, is ErrWrongState; a supplier with sub-suppliers in use
// is not archived (ErrSubSuppliersInUse), nor one restored below an archived parent (ErrParentArchived).
func (s *Store) SetSupplierArchived(ctx context.Context, actor Actor, id uuid.UUID, archive bool) (domain.Supplier, error) {
	action := map[bool]string{true: "supplier.archive", false: "supplier.restore"}[archive]
	audit := &AuditEntry{Actor: actor, Action: action, EntityType: "supplier", EntityID: id.String()}
	var out domain.Supplier
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if err := lockChain(ctx, tx); err != nil {
			return err
		}
		sp, err := supplierIn(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if (sp.ArchivedAt != nil) == archive {
			return ErrWrongState
		}
		var blocked bool
		if archive {
			// Locked, so no sub-supplier is added or restored meanwhile (they lock their parent to share).
			err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM suppliers WHERE parent_id = $1 AND archived_at IS NULL)`,
				id).Scan(&blocked)
			if err == nil && blocked {
				err = ErrSubSuppliersInUse
			}
		} else if sp.ParentID != nil {
			err = tx.QueryRow(ctx, `SELECT archived_at IS NOT NULL FROM suppliers WHERE id = $1 FOR SHARE`, *sp.ParentID).
				Scan(&blocked)
			if err == nil && blocked {
				err = ErrParentArchived
			}
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE suppliers SET archived_at = CASE WHEN $2 THEN now() END, updated_at = now()
			WHERE id = $1`, id, archive); err != nil {
			return err
		}
		out, err = supplierIn(ctx, tx, id, "")
		return err
	})
	return out, err
}

// Supplier is one supplier with its parts.
func (s *Store) Supplier(ctx context.Context, id uuid.UUID) (domain.Supplier, error) {
	var out domain.Supplier
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = supplierIn(ctx, tx, id, "")
		return err
	})
	return out, classify(err)
}

// SupplierFilter narrows the supplier list: every field set must match.
type SupplierFilter struct {
	Archived *bool
	ParentID *uuid.UUID
	// Query is part of the name, in any case.
	Query string
	// Reach, for a scoped case worker, keeps the suppliers their user names.
	Reach *Reach
}

// Suppliers lists suppliers by tier and name, with their parts.
func (s *Store) Suppliers(ctx context.Context, f SupplierFilter) ([]domain.Supplier, error) {
	var w filter
	if f.Archived != nil {
		w.add("(archived_at IS NOT NULL) = %s", *f.Archived)
	}
	if f.ParentID != nil {
		w.add("parent_id = %s", *f.ParentID)
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add("lower(name) LIKE %s", "%"+likeEscape(strings.ToLower(q))+"%")
	}
	if f.Reach != nil {
		w.add("id = ANY (%s)", nonNil(f.Reach.SupplierIDs))
	}
	var out []domain.Supplier
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+supplierCols+` FROM suppliers WHERE `+w.where()+` ORDER BY tier, lower(name), id`,
			w.args...)
		var err error
		if out, err = pgx.CollectRows(rows, scanSupplier); err != nil {
			return err
		}
		return supplierParts(ctx, tx, out)
	})
	return out, err
}

// SupplierInUse refuses, naming field, a supplier that is archived (nil and unknown ids pass: a foreign
// key refuses the unknown). It locks the supplier to share, so it is not archived before the caller's
// transaction ends.
func supplierInUse(ctx context.Context, tx pgx.Tx, id *uuid.UUID, field string) error {
	if id == nil {
		return nil
	}
	var archived bool
	err := tx.QueryRow(ctx, `SELECT archived_at IS NOT NULL FROM suppliers WHERE id = $1 FOR SHARE`, *id).Scan(&archived)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err == nil && archived {
		return &Refusal{Field: field, Message: "is archived: an archived supplier takes nothing new"}
	}
	return err
}

// supplierIn reads a supplier and its parts in tx; lock is "" or a locking clause (FOR UPDATE).
func supplierIn(ctx context.Context, tx pgx.Tx, id uuid.UUID, lock string) (domain.Supplier, error) {
	rows, _ := tx.Query(ctx, `SELECT `+supplierCols+` FROM suppliers WHERE id = $1 `+lock, id)
	sp, err := pgx.CollectExactlyOneRow(rows, scanSupplier)
	if err != nil {
		return sp, classify(err)
	}
	list := []domain.Supplier{sp}
	err = supplierParts(ctx, tx, list)
	return list[0], err
}

// supplierParts reads the sites, contacts and contracts of the suppliers in sps.
func supplierParts(ctx context.Context, tx pgx.Tx, sps []domain.Supplier) error {
	at := map[uuid.UUID]*domain.Supplier{}
	ids := make([]uuid.UUID, len(sps))
	for i := range sps {
		sp := &sps[i]
		sp.SiteIDs, sp.Contacts, sp.Contracts = []uuid.UUID{}, []domain.SupplierContact{}, []domain.SupplierContract{}
		at[sp.ID], ids[i] = sp, sp.ID
	}
	var id, loc uuid.UUID
	rows, _ := tx.Query(ctx, `SELECT supplier_id, location_id FROM supplier_sites WHERE supplier_id = ANY ($1)
		ORDER BY location_id`, ids)
	if _, err := pgx.ForEachRow(rows, []any{&id, &loc}, func() error {
		at[id].SiteIDs = append(at[id].SiteIDs, loc)
		return nil
	}); err != nil {
		return err
	}
	var c domain.SupplierContact
	rows, _ = tx.Query(ctx, `SELECT supplier_id, name, role, email, phone FROM supplier_contacts
		WHERE supplier_id = ANY ($1) ORDER BY position`, ids)
	if _, err := pgx.ForEachRow(rows, []any{&id, &c.Name, &c.Role, &c.Email, &c.Phone}, func() error {
		at[id].Contacts = append(at[id].Contacts, c)
		return nil
	}); err != nil {
		return err
	}
	var k domain.SupplierContract
	rows, _ = tx.Query(ctx, `SELECT supplier_id, reference, title, starts_on, ends_on FROM supplier_contracts
		WHERE supplier_id = ANY ($1) ORDER BY position`, ids)
	if _, err := pgx.ForEachRow(rows, []any{&id, &k.Reference, &k.Title, &k.StartsOn, &k.EndsOn}, func() error {
		k.Sites = []domain.ContractSite{}
		at[id].Contracts = append(at[id].Contracts, k)
		return nil
	}); err != nil {
		return err
	}
	var ref string
	var cs domain.ContractSite
	rows, _ = tx.Query(ctx, `SELECT supplier_id, reference, location_id, required_level FROM supplier_contract_sites
		WHERE supplier_id = ANY ($1) ORDER BY location_id`, ids)
	_, err := pgx.ForEachRow(rows, []any{&id, &ref, &cs.LocationID, &cs.RequiredLevel}, func() error {
		sp := at[id]
		if i := slices.IndexFunc(sp.Contracts, func(k domain.SupplierContract) bool { return k.Reference == ref }); i >= 0 {
			sp.Contracts[i].Sites = append(sp.Contracts[i].Sites, cs)
		}
		return nil
	})
	return err
}

// writeSupplierParts writes again the parts of sp that changed names.
func writeSupplierParts(ctx context.Context, tx pgx.Tx, sp domain.Supplier, changed []string) error {
	b := &pgx.Batch{}
	if slices.Contains(changed, SupplierSites) {
		b.Queue(`DELETE FROM supplier_sites WHERE supplier_id = $1`, sp.ID)
		b.Queue(`INSERT INTO supplier_sites (supplier_id, location_id) SELECT $1, unnest($2::uuid[])`, sp.ID, nonNil(sp.SiteIDs))
	}
	if slices.Contains(changed, SupplierContacts) {
		b.Queue(`DELETE FROM supplier_contacts WHERE supplier_id = $1`, sp.ID)
		for i, c := range sp.Contacts {
			b.Queue(`INSERT INTO supplier_contacts (supplier_id, position, name, role, email, phone)
				VALUES ($1, $2, $3, $4, $5, $6)`, sp.ID, i, c.Name, c.Role, c.Email, c.Phone)
		}
	}
	if slices.Contains(changed, SupplierContracts) {
		b.Queue(`DELETE FROM supplier_contracts WHERE supplier_id = $1`, sp.ID) // their sites go with them
		for i, k := range sp.Contracts {
			b.Queue(`INSERT INTO supplier_contracts (supplier_id, reference, position, title, starts_on, ends_on)
				VALUES ($1, $2, $3, $4, $5, $6)`, sp.ID, k.Reference, i, k.Title, k.StartsOn, k.EndsOn)
			for _, cs := range k.Sites {
				b.Queue(`INSERT INTO supplier_contract_sites (supplier_id, reference, location_id, required_level)
					VALUES ($1, $2, $3, $4)`, sp.ID, k.Reference, cs.LocationID, cs.RequiredLevel)
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// lockChain makes the supplier writes take turns until tx ends. Each checks the chain as it stands (a
// cycle, the tiers), so two changes at once must not each pass against the chain before the other: A
// placed below B while B is placed below A. Supplier changes are rare; taking turns costs nothing.
func lockChain(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signetassure.supplier-chain'))`)
	return err
}

// checkSupplier refuses a supplier whose chain or sites the database contradicts (see the top of the file).
// A parent archived is refused only when it is new (moved): an archived chain's records stay editable.
func checkSupplier(ctx context.Context, tx pgx.Tx, sp domain.Supplier, moved bool) error {
	if sp.ParentID != nil {
		var tier int
		var archived, below bool
		// Locked to share: the parent's tier and state stay as read until this transaction ends.
		err := tx.QueryRow(ctx, `SELECT tier, archived_at IS NOT NULL FROM suppliers WHERE id = $1 FOR SHARE`,
			*sp.ParentID).Scan(&tier, &archived)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return &Refusal{Field: "parentId", Message: "names no supplier"}
		case err != nil:
			return err
		case archived && moved:
			return &Refusal{Field: "parentId", Message: "is archived: an archived supplier takes nothing new"}
		}
		// The chain above the parent, the parent included: the supplier there would close a cycle.
		if err := tx.QueryRow(ctx, `WITH RECURSIVE up (id, parent_id) AS (
				SELECT id, parent_id FROM suppliers WHERE id = $1
				UNION SELECT s.id, s.parent_id FROM suppliers s JOIN up ON s.id = up.parent_id)
			SELECT EXISTS (SELECT 1 FROM up WHERE id = $2)`, *sp.ParentID, sp.ID).Scan(&below); err != nil {
			return err
		}
		if below {
			return &Refusal{Field: "parentId", Message: "is the supplier itself or below it in the chain: that would be a cycle"}
		}
		if sp.Tier != tier+1 {
			return &Refusal{Field: "tier", Message: fmt.Sprintf("must be %d, one below its parent's tier %d", tier+1, tier)}
		}
	}
	var off int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM suppliers WHERE parent_id = $1 AND tier <> $2`, sp.ID, sp.Tier+1).
		Scan(&off); err != nil {
		return err
	}
	if off > 0 {
		return &Refusal{Field: "tier", Message: "its sub-suppliers are one tier below it: it keeps its tier while they are below it"}
	}
	return checkSites(ctx, tx, sp)
}

// checkSites refuses a site of the supplier or of one of its contracts that names no site.
func checkSites(ctx context.Context, tx pgx.Tx, sp domain.Supplier) error {
	ids, names := slices.Clone(sp.SiteIDs), []string{}
	for i := range sp.SiteIDs {
		names = append(names, fmt.Sprintf("siteIds[%d]", i))
	}
	for i, k := range sp.Contracts {
		for j, cs := range k.Sites {
			ids = append(ids, cs.LocationID)
			names = append(names, fmt.Sprintf("contracts[%d].sites[%d].locationId", i, j))
		}
	}
	unknown, err := unknownIn(ctx, tx, "locations", ids)
	if err != nil || unknown < 0 {
		return err
	}
	return &Refusal{Field: names[unknown], Message: "names no site"}
}
