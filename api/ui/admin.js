// SignetAssure console: the screens of auditors and administrators (the audit log, partner sites and
// their keys, the organisation's settings) and the notifications screen. Loaded after app.js, whose
// helpers (h, call, form, input, show, when, badge, has) it uses; every value is put on the page as text.
"use strict";

// The screens of this file by the first part of the route (see screens in app.js).
Object.assign(screens, {
  audit: (params) => auditLog(params),
  partners: (params, parts) => (parts[1] ? partnerDetail(parts[1]) : partnerSites()),
  organisation: () => organisation(),
});

// pluralise counts a thing in words: 1 entry, 2 entries.
const counted = (n, one, many) => n + " " + (n === 1 ? one : many);

// auditStatusLine says how far the audit log is sequenced and signed, without verifying it.
function auditStatusLine(st) {
  const parts = ["Audit log: tree of " + counted(st.treeSize, "entry", "entries")];
  parts.push(st.checkpointSize === null || st.checkpointSize === undefined ? "no signed checkpoint yet"
    : "newest signed checkpoint " + st.checkpointSize + " at " + when(st.checkpointSignedAt));
  parts.push(st.pending + " waiting for the sequencer");
  return h("p", { id: "audit-status", role: "status" }, parts.join(", "));
}

// auditVerificationBox says how the newest verification of the whole log came out, and verifies it again
// on request (on a worker, which holds the keys and the witness), following the verification until it ends.
function auditVerificationBox(last) {
  const outcome = h("div", { id: "audit-verification", role: "status" },
    !last ? "The whole log has not been verified from the console yet."
      : last.intact ? ["Verified intact ", when(last.at), " by ", last.byName || "a former user", ": ",
        counted(last.treeSize, "entry", "entries"), " and ", counted(last.treeCheckpoints, "signed checkpoint", "signed checkpoints"), "."]
        : h("strong", { class: "error" }, "NOT intact at ", when(last.at), ": ", last.problem ? last.problem.message : "see the report",
          last.problem && last.problem.auditId ? [" (entry ", last.problem.auditId, ")"] : ""));
  return h("div", { class: "card" }, outcome, form([], "Verify the whole log now", async () => {
    let v = await call("POST", "/audit/verifications");
    outcome.replaceChildren("Verifying…");
    while (v.status === "running") {
      await new Promise((done) => setTimeout(done, 1000));
      v = await call("GET", "/audit/verifications/" + v.id);
    }
    if (v.status === "failed") throw new Error("The verification could not be carried out; try again.");
  }));
}

// entityLink links an audit entry's entity to its screen, when it has one.
function entityLink(a) {
  const screen = { person: "#/persons/", vetting_case: "#/cases/", staff_user: has("admin") ? "#/users/" : null,
    partner_site: has("admin") ? "#/partners/" : null }[a.entityType];
  const id = h("code", {}, a.entityId);
  return screen ? h("a", { href: screen + encodeURIComponent(a.entityId) }, id) : id;
}

const auditFilters = ["action", "entityType", "entityId", "actor", "from", "to"];

// auditLog browses the audit log: filters (kept in the address, so a view can be shared), a page of
// entries newest first, each opening onto its detail and the proof of its inclusion in the tree.
async function auditLog(params) {
  const q = new URLSearchParams();
  for (const f of auditFilters) if (params.get(f)) q.set(f, params.get(f));
  const limit = 50;
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  q.set("limit", String(limit));
  q.set("offset", String(offset));
  const [st, list] = await Promise.all([call("GET", "/audit/status"), call("GET", "/audit/entries?" + q)]);
  const at = (off) => {
    const p = new URLSearchParams(q);
    p.delete("limit");
    if (off) p.set("offset", String(off)); else p.delete("offset");
    return "#/audit?" + p;
  };
  const value = (f) => ({ value: params.get(f) || "" });
  const filters = form([input("action", "Action starts with", "text", { ...value("action"), placeholder: "person.create" }),
    input("entityType", "Entity type", "text", value("entityType")), input("entityId", "Entity id", "text", value("entityId")),
    input("actor", "Actor (user id)", "text", { ...value("actor"), size: 36 }),
    input("from", "From", "date", value("from")), input("to", "To (included)", "date", value("to"))], "Filter",
  async (v) => {
    const p = new URLSearchParams();
    for (const f of auditFilters) if (v[f]) p.set(f, v[f]);
    location.hash = "#/audit?" + p;
  });
  const entry = (a) => h("tr", {},
    h("td", {}, when(a.at)), h("td", {}, a.actorName || (a.actorId ? "a former user" : "the system")),
    h("td", {}, h("code", {}, a.action)), h("td", {}, a.entityType + " ", entityLink(a)),
    h("td", {}, h("details", {}, h("summary", {}, "Entry " + a.id + (a.leafIndex === null ? " (waiting)" : ", leaf " + a.leafIndex)),
      h("pre", { class: "pre" }, JSON.stringify(a.detail, null, 2)),
      a.leafIndex === null ? h("p", { class: "muted" }, "Not in the tree yet: its proof follows the next checkpoint.")
        : h("a", { href: api + "/audit/entries/" + a.id + "/inclusion", target: "_blank", rel: "noopener" },
          "proof of inclusion (entry " + a.id + ")"))));
  const pages = h("nav", { "aria-label": "Pages of the audit log", class: "pages" },
    offset > 0 ? h("a", { href: at(Math.max(0, offset - limit)) }, "Newer") : null, " ",
    h("span", {}, list.total ? (offset + 1) + "–" + Math.min(offset + limit, list.total) + " of " + list.total : "no entries"), " ",
    offset + limit < list.total ? h("a", { href: at(offset + limit) }, "Older") : null);
  show(h("h1", {}, "Audit log"), auditStatusLine(st), auditVerificationBox(st.lastVerification),
    h("p", { class: "muted" }, "Read only. Check one entry with its proof against a signed checkpoint; signetassure audit verify checks the whole log offline."),
    filters,
    list.items.length ? h("table", { id: "audit-entries" },
      h("tr", {}, ["When", "Who", "Action", "Entity", "Entry"].map((t) => h("th", { scope: "col" }, t))),
      list.items.map(entry)) : h("p", { class: "muted" }, "No audit entries match."),
    pages);
}

const partnerScopes = ["vetting:read", "vetting:return", "audit:witness"];

// partnerSites lists the partner sites and adds one.
async function partnerSites() {
  const sites = await call("GET", "/partners");
  show(h("h1", {}, "Partner sites"),
    sites.length ? h("table", { id: "partner-sites" },
      h("tr", {}, ["Organisation", "Address", "Status", "Health", "Added"].map((t) => h("th", { scope: "col" }, t))),
      sites.map((s) => h("tr", {}, h("td", {}, h("a", { href: "#/partners/" + s.id }, s.orgName)), h("td", {}, s.baseUrl),
        h("td", {}, badge(s.status)), h("td", {}, s.healthOk === null ? "not checked" : s.healthOk ? "reachable" : "unreachable"),
        h("td", {}, when(s.createdAt)))))
      : h("p", { class: "muted" }, "No partner sites yet."),
    h("h2", {}, "Add a partner site"),
    form([input("orgName", "Organisation", "text", { required: true, maxlength: 200 }),
      input("baseUrl", "Their SignetAssure address", "url", { required: true, placeholder: "https://", size: 40 }),
      input("contactName", "Contact name"), input("contactEmail", "Contact e-mail", "email")], "Add site",
    async (v) => { const s = await call("POST", "/partners", v); location.hash = "#/partners/" + s.id; }));
}

// issuedKey is a partner key just issued, whose secret the site's page shows once, when drawn next.
let issuedKey = null;

// partnerDetail shows a site with its keys: issue a key (its secret shown once), revoke one, revoke the site.
async function partnerDetail(id) {
  const [s, suppliers] = await Promise.all([call("GET", "/partners/" + id), call("GET", "/suppliers?status=all")]);
  const fresh = issuedKey && issuedKey.siteId === s.id ? issuedKey : null;
  issuedKey = null;
  const active = s.status === "active";
  show(h("h1", {}, s.orgName), h("p", {}, s.baseUrl, " · ", badge(s.status), s.revokedAt ? " since " + when(s.revokedAt) : "",
    s.contactName || s.contactEmail ? " · contact " + [s.contactName, s.contactEmail].filter(Boolean).join(", ") : "",
    s.supplierId ? [" · is the supplier ", h("a", { href: "#/suppliers/" + s.supplierId }, supplierName(suppliers, s.supplierId) || "a supplier")] : ""),
    fresh ? h("div", { class: "card secret", role: "status" }, h("strong", {}, "Key " + fresh.name + ": copy it now, it is not shown again"),
      h("pre", { id: "partner-key-secret" }, fresh.key)) : null,
    h("h2", {}, "Keys we issued them"),
    s.keys.length ? h("table", { id: "partner-keys" },
      h("tr", {}, ["Name", "Prefix", "Scopes", "Addresses", "Status", "Last used", "Expires", ""].map((t) => h("th", { scope: "col" }, t))),
      s.keys.map((k) => h("tr", {}, h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)), h("td", {}, k.scopes.join(" ")),
        h("td", {}, k.ipAllow && k.ipAllow.length ? k.ipAllow.join(" ") : "any"),
        h("td", {}, badge(k.revokedAt ? "revoked" : "active")), h("td", {}, when(k.lastUsedAt)), h("td", {}, when(k.expiresAt)),
        h("td", {}, k.revokedAt ? null : form([], "Revoke key " + k.name, () => call("POST", "/partners/" + s.id + "/keys/" + k.id + "/revoke"))))))
      : h("p", { class: "muted" }, "No keys yet."),
    active ? [h("h3", {}, "Issue a key"),
      form([input("name", "Key name", "text", { required: true, maxlength: 200 }),
        h("fieldset", { class: "choices" }, h("legend", {}, "Scopes"), partnerScopes.map((sc) =>
          h("label", {}, h("input", { type: "checkbox", name: "scope:" + sc, checked: sc === "vetting:read" }), sc))),
        input("ipAllow", "Allowed addresses (CIDRs, space-separated; empty: any)", "text", { size: 30 }),
        input("expires", "Expires on", "date")], "Issue key",
      async (v) => {
        const body = { name: v.name, scopes: chosen(v, "scope") };
        if (v.ipAllow) body.ipAllow = v.ipAllow.split(/[\s,]+/).filter(Boolean);
        if (v.expires) body.expiresAt = endOfDay(v.expires);
        const k = await call("POST", "/partners/" + s.id + "/keys", body);
        issuedKey = { ...k, siteId: s.id };
      }),
      h("h2", {}, "Revoke the site"),
      h("p", { class: "muted" }, "Revoking the site revokes every key and credential of it at once; its records and audit entries stay."),
      form([], "Revoke site " + s.orgName, () => call("POST", "/partners/" + s.id + "/revoke"))] : null,
    h("h2", {}, "The supplier they are"),
    form([field("Supplier", h("select", { name: "supplierId" }, supplierOptions(suppliers, s.supplierId)))], "Save supplier",
      (v) => call("PUT", "/partners/" + s.id + "/supplier", { supplierId: v.supplierId || "" }), { id: "partner-supplier" }),
    h("h2", {}, "Credentials they issued us"),
    s.credentials.length ? h("ul", {}, s.credentials.map((c) => h("li", {}, c.name + " · " + (c.active ? "active" : "revoked") + " · added " + when(c.createdAt))))
      : h("p", { class: "muted" }, "None."),
    h("p", {}, h("a", { href: "#/partners" }, "All partner sites")));
}

// organisation shows this organisation's settings and lets an administrator change them.
async function organisation() {
  const o = await call("GET", "/organisation");
  show(h("h1", {}, "Organisation"),
    form([input("name", "Name", "text", { required: true, value: o.name, maxlength: 200 }),
      input("issuingAuthority", "Issuing authority", "text", { required: true, value: o.issuingAuthority, maxlength: 200 }),
      input("timeZone", "Time zone (IANA)", "text", { value: o.timeZone || "" }),
      h("label", {}, h("input", { type: "checkbox", name: "scopeCaseWorkers", value: "true", checked: o.scopeCaseWorkers }),
        "Case workers see only the persons of their sites and suppliers")], "Save settings",
    (v) => call("PUT", "/organisation", { name: v.name, issuingAuthority: v.issuingAuthority, timeZone: v.timeZone,
      scopeCaseWorkers: v.scopeCaseWorkers === "true" })));
}

// notifications lists the signed-in user's notifications in words, each naming its case's person and
// linking the case, and marks one or all read.
async function notifications() {
  const ns = await call("GET", "/me/notifications?limit=100");
  const unread = ns.filter((n) => !n.readAt);
  show(h("h1", {}, "Notifications"),
    h("p", { id: "notifications-unread" }, unread.length ? counted(unread.length, "unread notification", "unread notifications") : "All read."),
    unread.length ? form([], "Mark all read", () => call("POST", "/me/notifications/read", { all: true })) : null,
    ns.length ? h("ul", { id: "notifications", class: "notifications" }, ns.map((n) => h("li", { class: n.readAt ? "read" : "unread" },
      h("strong", {}, n.title), " ", h("span", { class: "muted" }, when(n.createdAt)), n.readAt ? null : h("span", { class: "badge" }, "unread"),
      h("div", {}, n.personName ? [h("a", { href: "#/persons/" + n.personId }, n.personName), " · "] : null,
        n.caseRef ? [h("a", { href: "#/cases/" + n.caseRef }, "case " + n.caseRef), " · "] : null, n.text || n.message),
      n.readAt ? null : form([], "Mark read", () => call("POST", "/me/notifications/read", { ids: [n.id] })))))
      : h("p", { class: "muted" }, "Nothing yet."));
}
