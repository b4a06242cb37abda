-- Suppliers as first-class records (issue 17): the supply chain below a prime (parent, tier = parent's
-- tier + 1), the sponsor reference, the sites they work at, their contacts, their contracts with the
-- clearance each requires per site, archiving in place of deletion (audit entries and persons refer to
-- suppliers), and the partner site that a supplier is.

ALTER TABLE suppliers
    ADD COLUMN parent_id uuid REFERENCES suppliers (id) CHECK (parent_id <> id),
    ADD COLUMN sponsor_reference text NOT NULL DEFAULT '',
    -- NULL: in use; set: archived, kept for what refers to it, offered for nothing new
    ADD COLUMN archived_at timestamptz;
CREATE INDEX suppliers_parent_idx ON suppliers (parent_id) WHERE parent_id IS NOT NULL;

-- The sites (locations) the supplier's people work at.
CREATE TABLE supplier_sites (
    supplier_id  uuid NOT NULL REFERENCES suppliers (id),
    location_id  uuid NOT NULL REFERENCES locations (id),
    PRIMARY KEY (supplier_id, location_id)
);

-- The supplier's contacts, in the order given.
CREATE TABLE supplier_contacts (
    supplier_id  uuid NOT NULL REFERENCES suppliers (id),
    position     smallint NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL DEFAULT '',
    email        text NOT NULL DEFAULT '',
    phone        text NOT NULL DEFAULT '',
    PRIMARY KEY (supplier_id, position)
);

-- The supplier's contracts, by their reference, and the clearance each requires at each site.
CREATE TABLE supplier_contracts (
    supplier_id  uuid NOT NULL REFERENCES suppliers (id),
    reference    text NOT NULL,
    position     smallint NOT NULL,
    title        text NOT NULL DEFAULT '',
    starts_on    date,
    ends_on      date CHECK (ends_on >= starts_on),
    PRIMARY KEY (supplier_id, reference)
);
CREATE TABLE supplier_contract_sites (
    supplier_id     uuid NOT NULL,
    reference       text NOT NULL,
    location_id     uuid NOT NULL REFERENCES locations (id),
    required_level  text NOT NULL,   -- a domain.Level
    PRIMARY KEY (supplier_id, reference, location_id),
    FOREIGN KEY (supplier_id, reference) REFERENCES supplier_contracts (supplier_id, reference) ON DELETE CASCADE
);

-- The supplier a partner site (vetting sharing) is, when it is one.
ALTER TABLE partner_sites ADD COLUMN supplier_id uuid REFERENCES suppliers (id);

---- create above / drop below ----

ALTER TABLE partner_sites DROP COLUMN supplier_id;
DROP TABLE supplier_contract_sites, supplier_contracts, supplier_contacts, supplier_sites;
DROP INDEX suppliers_parent_idx;
ALTER TABLE suppliers DROP COLUMN parent_id, DROP COLUMN sponsor_reference, DROP COLUMN archived_at;
