package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

const siteCols = `id, org_name, base_url, status, contact_name, contact_email, revoked_at, health_checked_at, health_ok,
	health_error, audit_origin, audit_verifier_key, audit_witness, audit_checked_at, audit_problem, supplier_id, created_at`

func scanSite(r pgx.CollectableRow) (domain.PartnerSite, error) {
	var s domain.PartnerSite
	err := r.Scan(&s.ID, &s.OrgName, &s.BaseURL, &s.Status, &s.ContactName, &s.ContactEmail, &s.RevokedAt,
		&s.HealthCheckedAt, &s.HealthOK, &s.HealthError, &s.AuditOrigin, &s.AuditVerifierKey, &s.AuditWitness,
		&s.AuditCheckedAt, &s.AuditProblem, &s.SupplierID, &s.CreatedAt)
	return s, err
}

// CreateSite adds a partner site.
func (s *Store) CreateSite(ctx context.Context, actor Actor, site domain.PartnerSite) (domain.PartnerSite, error) {
	site.ID = uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "partner.create", EntityType: "partner_site", EntityID: site.ID.String()}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO partner_sites (id, org_name, base_url, contact_name, contact_email)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+siteCols, site.ID, site.OrgName, site.BaseURL, site.ContactName, site.ContactEmail)
		var err error
		site, err = pgx.CollectExactlyOneRow(rows, scanSite)
		return err
	})
	return site, err
}

func (s *Store) Site(ctx context.Context, id uuid.UUID) (domain.PartnerSite, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+siteCols+` FROM partner_sites WHERE id = $1`, id)
	site, err := pgx.CollectExactlyOneRow(rows, scanSite)
	return site, classify(err)
}

// Sites lists partner sites, active ones first.
func (s *Store) Sites(ctx context.Context) ([]domain.PartnerSite, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+siteCols+` FROM partner_sites ORDER BY status, lower(org_name)`)
	return pgx.CollectRows(rows, scanSite)
}

// RevokeSite soft-revokes a partner site and, in the same transaction, every key we issued it and every
// credential it issued us: no trust outlives the site.
func (s *Store) RevokeSite(ctx context.Context, actor Actor, id uuid.UUID) (domain.PartnerSite, error) {
	var site domain.PartnerSite
	audit := &AuditEntry{Actor: actor, Action: "partner.revoke", EntityType: "partner_site", EntityID: id.String()}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE partner_sites SET status = 'revoked', revoked_at = coalesce(revoked_at, now()),
			updated_at = now() WHERE id = $1 RETURNING `+siteCols, id)
		var err error
		if site, err = pgx.CollectExactlyOneRow(rows, scanSite); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE partner_keys SET revoked_at = now() WHERE site_id = $1 AND revoked_at IS NULL`, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE partner_credentials SET active = false, revoked_at = now() WHERE site_id = $1 AND active`, id)
		return err
	})
	return site, err
}

// SetSiteHealth records the result of the last whoami probe of a site.
func (s *Store) SetSiteHealth(ctx context.Context, id uuid.UUID, ok bool, problem string) error {
	_, err := s.pool.Exec(ctx, `UPDATE partner_sites SET health_checked_at = now(), health_ok = $2, health_error = $3
		WHERE id = $1`, id, ok, problem)
	return err
}

const keyCols = `id, site_id, name, prefix, scopes, ip_allow::text[], expires_at, revoked_at, last_used_at, created_at`

func scanKey(r pgx.CollectableRow) (domain.PartnerKey, error) {
	var k domain.PartnerKey
	err := r.Scan(&k.ID, &k.SiteID, &k.Name, &k.Prefix, &k.Scopes, &k.IPAllow, &k.ExpiresAt, &k.RevokedAt,
		&k.LastUsedAt, &k.CreatedAt)
	return k, err
}

// partnerKeyPrefix marks keys SignetAssure issues to partners: "sap_<prefix>_<secret>".
const partnerKeyPrefix = "sap_"

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// IssueKey issues a key to an active partner site and returns it with its secret, which is shown once.
func (s *Store) IssueKey(ctx context.Context, actor Actor, k domain.PartnerKey) (domain.PartnerKey, string, error) {
	prefix := make([]byte, 5)
	secret := make([]byte, 32)
	rand.Read(prefix)
	rand.Read(secret)
	k.ID = uuid.New()
	k.Prefix = lowerBase32.EncodeToString(prefix)
	full := partnerKeyPrefix + k.Prefix + "_" + lowerBase32.EncodeToString(secret)
	audit := &AuditEntry{Actor: actor, Action: "partner.key.issue", EntityType: "partner_site", EntityID: k.SiteID.String(),
		Detail: map[string]any{"keyId": k.ID, "prefix": k.Prefix, "scopes": k.Scopes, "ipAllow": k.IPAllow}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		var active bool
		if err := tx.QueryRow(ctx, `SELECT status = 'active' FROM partner_sites WHERE id = $1 FOR SHARE`, k.SiteID).Scan(&active); err != nil {
			return err
		}
		if !active {
			return ErrSiteRevoked
		}
		rows, _ := tx.Query(ctx, `INSERT INTO partner_keys (id, site_id, name, prefix, secret_hash, scopes, ip_allow, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7::cidr[], $8) RETURNING `+keyCols,
			k.ID, k.SiteID, k.Name, k.Prefix, hashSecret(full), k.Scopes, k.IPAllow, k.ExpiresAt)
		var err error
		k, err = pgx.CollectExactlyOneRow(rows, scanKey)
		return err
	})
	if err != nil {
		return k, "", err
	}
	return k, full, nil
}

// ErrSiteRevoked: the partner site is revoked, so nothing new may be bound to it.
var ErrSiteRevoked = errors.New("the partner site is revoked")

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Keys lists the keys issued to a site.
func (s *Store) Keys(ctx context.Context, siteID uuid.UUID) ([]domain.PartnerKey, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+keyCols+` FROM partner_keys WHERE site_id = $1 ORDER BY created_at`, siteID)
	return pgx.CollectRows(rows, scanKey)
}

// RevokeKey revokes one key of a site.
func (s *Store) RevokeKey(ctx context.Context, actor Actor, siteID, keyID uuid.UUID) (domain.PartnerKey, error) {
	var k domain.PartnerKey
	audit := &AuditEntry{Actor: actor, Action: "partner.key.revoke", EntityType: "partner_site", EntityID: siteID.String(),
		Detail: map[string]any{"keyId": keyID}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE partner_keys SET revoked_at = coalesce(revoked_at, now())
			WHERE id = $1 AND site_id = $2 RETURNING `+keyCols, keyID, siteID)
		var err error
		k, err = pgx.CollectExactlyOneRow(rows, scanKey)
		return err
	})
	return k, err
}

// KeyHolder is the site and key behind a presented partner key.
type KeyHolder struct {
	Key  domain.PartnerKey
	Site domain.PartnerSite
}

// ErrBadKey covers a malformed, unknown, revoked or expired key, and a key of a revoked site, alike.
var ErrBadKey = errors.New("invalid API key")

// KeyPrefixOf returns the public prefix of a presented key ("" when it has none), for the audit log.
func KeyPrefixOf(presented string) string {
	rest, ok := strings.CutPrefix(presented, partnerKeyPrefix)
	if !ok {
		return ""
	}
	prefix, _, ok := strings.Cut(rest, "_")
	if !ok || len(prefix) != 8 {
		return ""
	}
	return prefix
}

// AuthenticateKey finds the live key a partner presented, comparing its hash in constant time, and
// records its use (to the minute).
func (s *Store) AuthenticateKey(ctx context.Context, presented string) (KeyHolder, error) {
	prefix := KeyPrefixOf(presented)
	if prefix == "" {
		return KeyHolder{}, ErrBadKey
	}
	var h KeyHolder
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT k.id, k.site_id, k.name, k.prefix, k.scopes, k.ip_allow::text[], k.expires_at,
		k.revoked_at, k.last_used_at, k.created_at, k.secret_hash,
		s.id, s.org_name, s.base_url, s.status, s.contact_name, s.contact_email, s.revoked_at, s.health_checked_at,
		s.health_ok, s.health_error, s.audit_origin, s.audit_verifier_key, s.audit_witness, s.audit_checked_at,
		s.audit_problem, s.supplier_id, s.created_at
		FROM partner_keys k JOIN partner_sites s ON s.id = k.site_id WHERE k.prefix = $1`, prefix).Scan(
		&h.Key.ID, &h.Key.SiteID, &h.Key.Name, &h.Key.Prefix, &h.Key.Scopes, &h.Key.IPAllow, &h.Key.ExpiresAt,
		&h.Key.RevokedAt, &h.Key.LastUsedAt, &h.Key.CreatedAt, &hash,
		&h.Site.ID, &h.Site.OrgName, &h.Site.BaseURL, &h.Site.Status, &h.Site.ContactName, &h.Site.ContactEmail,
		&h.Site.RevokedAt, &h.Site.HealthCheckedAt, &h.Site.HealthOK, &h.Site.HealthError, &h.Site.AuditOrigin,
		&h.Site.AuditVerifierKey, &h.Site.AuditWitness, &h.Site.AuditCheckedAt, &h.Site.AuditProblem, &h.Site.SupplierID,
		&h.Site.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return KeyHolder{}, ErrBadKey
	}
	if err != nil {
		return KeyHolder{}, err
	}
	now := time.Now()
	if subtle.ConstantTimeCompare(hash, hashSecret(presented)) != 1 || h.Key.RevokedAt != nil ||
		(h.Key.ExpiresAt != nil && !h.Key.ExpiresAt.After(now)) || h.Site.Status != "active" {
		return KeyHolder{}, ErrBadKey
	}
	if h.Key.LastUsedAt == nil || now.Sub(*h.Key.LastUsedAt) > time.Minute {
		_, err = s.pool.Exec(ctx, `UPDATE partner_keys SET last_used_at = now() WHERE id = $1`, h.Key.ID)
	}
	return h, err
}

// AllowsIP reports whether a key may be used from addr (any address when its allow-list is empty).
func AllowsIP(k domain.PartnerKey, addr netip.Addr) bool {
	if len(k.IPAllow) == 0 {
		return true
	}
	for _, c := range k.IPAllow {
		if p, err := netip.ParsePrefix(c); err == nil && p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

const credentialCols = `id, site_id, name, key_id, sealed, active, revoked_at, created_at`

func scanCredential(r pgx.CollectableRow) (domain.PartnerCredential, error) {
	var c domain.PartnerCredential
	err := r.Scan(&c.ID, &c.SiteID, &c.Name, &c.KeyID, &c.Sealed, &c.Active, &c.RevokedAt, &c.CreatedAt)
	return c, err
}

// AddCredential stores a sealed bearer secret a partner issued to us. seal seals the secret given the
// credential's id (bound into the ciphertext), so the id is made first.
func (s *Store) AddCredential(ctx context.Context, actor Actor, c domain.PartnerCredential,
	seal func(id uuid.UUID) (keyID string, sealed []byte, err error)) (domain.PartnerCredential, error) {
	c.ID = uuid.New()
	keyID, sealed, err := seal(c.ID)
	if err != nil {
		return c, err
	}
	audit := &AuditEntry{Actor: actor, Action: "partner.credential.add", EntityType: "partner_site", EntityID: c.SiteID.String(),
		Detail: map[string]any{"credentialId": c.ID, "name": c.Name}}
	err = s.tx(ctx, audit, func(tx pgx.Tx) error {
		var active bool
		if err := tx.QueryRow(ctx, `SELECT status = 'active' FROM partner_sites WHERE id = $1 FOR SHARE`, c.SiteID).Scan(&active); err != nil {
			return err
		}
		if !active {
			return ErrSiteRevoked
		}
		rows, _ := tx.Query(ctx, `INSERT INTO partner_credentials (id, site_id, name, key_id, sealed) VALUES ($1, $2, $3, $4, $5)
			RETURNING `+credentialCols, c.ID, c.SiteID, c.Name, keyID, sealed)
		var err error
		c, err = pgx.CollectExactlyOneRow(rows, scanCredential)
		return err
	})
	return c, err
}

// Credentials lists the credentials a site issued us.
func (s *Store) Credentials(ctx context.Context, siteID uuid.UUID) ([]domain.PartnerCredential, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+credentialCols+` FROM partner_credentials WHERE site_id = $1 ORDER BY created_at`, siteID)
	return pgx.CollectRows(rows, scanCredential)
}

// ActiveCredential is the newest active credential of an active site.
func (s *Store) ActiveCredential(ctx context.Context, siteID uuid.UUID) (domain.PartnerCredential, error) {
	rows, _ := s.pool.Query(ctx, `SELECT c.id, c.site_id, c.name, c.key_id, c.sealed, c.active, c.revoked_at, c.created_at
		FROM partner_credentials c JOIN partner_sites s ON s.id = c.site_id
		WHERE c.site_id = $1 AND c.active AND s.status = 'active' ORDER BY c.created_at DESC LIMIT 1`, siteID)
	c, err := pgx.CollectExactlyOneRow(rows, scanCredential)
	return c, classify(err)
}

// SetSiteSupplier links a partner site to the supplier it is (nil: to none). An archived supplier is
// refused, naming supplierId.
func (s *Store) SetSiteSupplier(ctx context.Context, actor Actor, siteID uuid.UUID, supplierID *uuid.UUID) (domain.PartnerSite, error) {
	audit := &AuditEntry{Actor: actor, Action: "partner.supplier", EntityType: "partner_site", EntityID: siteID.String(),
		Detail: map[string]any{"supplierId": supplierID}}
	var site domain.PartnerSite
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if err := supplierInUse(ctx, tx, supplierID, "supplierId"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `UPDATE partner_sites SET supplier_id = $2, updated_at = now() WHERE id = $1
			RETURNING `+siteCols, siteID, supplierID)
		var err error
		site, err = pgx.CollectExactlyOneRow(rows, scanSite)
		return err
	})
	return site, err
}
