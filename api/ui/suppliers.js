// SignetAssure console: suppliers (issue 17). The list (search, in use or archived, add one) and a
// supplier's page: its details, chain, sites, contacts and contracts (edited by administrators, the API's
// field errors beside the fields they name), archive and restore, its compliance view (people by
// clearance state, open cases, exportable as CSV) and the access its people hold at our sites. Loaded after
// app.js, whose helpers it uses; every value is put on the page as text. Its top-level names start with
// supplier.
"use strict";

Object.assign(screens, { suppliers: (params, parts) => (parts[1] ? supplierPage(decodeURIComponent(parts[1])) : supplierList(params)) });

const supplierWords = {
  state: { cleared: "Cleared", expiring: "Expiring within 90 days", in_progress: "In progress", lapsed: "Lapsed", uncleared: "Not cleared" },
  status: { active: "In use", archived: "Archived", all: "All" },
};
const supplierStates = ["cleared", "expiring", "in_progress", "lapsed", "uncleared"];
const supplierTable = (id, heads, rows) => h("table", { id }, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t))), rows);
const supplierName = (list, id) => (list.find((s) => s.id === id) || {}).name;
// supplierNotice is what the supplier page says once, when drawn again after a change.
let supplierNotice = null;

// supplierOptions is a select's options: none, then the suppliers in use (and current, even if archived).
const supplierOptions = (list, current, except) => [h("option", { value: "", selected: !current }, "None"),
  list.filter((s) => s.id !== except && (!s.archivedAt || s.id === current))
    .map((s) => h("option", { value: s.id, selected: s.id === current }, s.name + " (tier " + s.tier + ")"))];

// supplierFields are the form fields of a supplier's own details.
function supplierFields(all, sp = {}) {
  return [input("name", "Name", "text", { required: true, maxlength: 200, value: sp.name || "" }),
    input("tier", "Tier", "number", { required: true, min: 1, max: 9, value: sp.tier || 1 }),
    field("Above it in the chain", h("select", { name: "parentId" }, supplierOptions(all, sp.parentId, sp.id))),
    input("companyNumber", "Company number", "text", { maxlength: 50, value: sp.companyNumber || "" }),
    input("contactEmail", "Contact e-mail", "email", { value: sp.contactEmail || "" }),
    input("sponsorReference", "Sponsor reference", "text", { maxlength: 100, value: sp.sponsorReference || "" })];
}

// supplierDetails reads the details fields' values as the API takes them.
const supplierDetails = (v) => ({ name: v.name || "", tier: Number(v.tier), parentId: v.parentId || "", companyNumber: v.companyNumber || "",
  contactEmail: v.contactEmail || "", sponsorReference: v.sponsorReference || "" });

async function supplierList(params) {
  const status = params.get("status") || "active";
  const q = params.get("q") || "";
  const [list, all] = await Promise.all([call("GET", "/suppliers?" + new URLSearchParams({ status, q })), call("GET", "/suppliers?status=all")]);
  show(h("h1", {}, "Suppliers"),
    form([input("q", "Name", "search", { value: q }),
      field("Show", h("select", { name: "status" }, Object.entries(supplierWords.status).map(([k, w]) =>
        h("option", { value: k, selected: k === status }, w))))], "Show",
    async (v) => { location.hash = "#/suppliers?" + new URLSearchParams({ status: v.status, q: v.q || "" }); }, { id: "supplier-filter" }),
    list.length ? supplierTable("suppliers", ["Name", "Tier", "Above it", "Company number", "Sites", "Status"],
      list.map((s) => h("tr", {}, h("td", {}, h("a", { href: "#/suppliers/" + s.id }, s.name)), h("td", {}, String(s.tier)),
        h("td", {}, supplierName(all, s.parentId) || "—"), h("td", {}, s.companyNumber || "—"), h("td", {}, String(s.siteIds.length)),
        h("td", {}, s.archivedAt ? "Archived " + date(s.archivedAt) : "In use"))))
      : h("p", { class: "muted" }, q || status !== "active" ? "No supplier matches." : "No suppliers yet."),
    has("admin") ? h("div", { class: "card" }, h("h2", {}, "Add a supplier"),
      form(supplierFields(all), "Add supplier", async (v) => {
        const s = await call("POST", "/suppliers", supplierDetails(v));
        location.hash = "#/suppliers/" + s.id;
      }, { id: "supplier-new" })) : null);
}

// supplierRows reads the numbered rows of a list from a form's values (contacts[0].name, ...), leaving out
// rows left empty; at maps each row's place in the list sent to its place on the form.
function supplierRows(v, prefix, keys) {
  const rows = [];
  const at = [];
  for (let i = 0; (prefix + "[" + i + "]." + keys[0]) in supplierSeen; i++) {
    const row = {};
    for (const k of keys) if (v[prefix + "[" + i + "]." + k]) row[k] = v[prefix + "[" + i + "]." + k];
    if (Object.keys(row).length) { rows.push(row); at.push(i); }
  }
  return { rows, at };
}
// supplierSeen holds the row fields the edit form drew, so rows left empty do not end the reading early.
let supplierSeen = {};

// supplierRenumber names the form's rows in the API's field errors, whose places count only the rows sent.
function supplierRenumber(err, prefix, at) {
  for (const e of (err.problem && err.problem.errors) || []) {
    e.field = e.field.replace(new RegExp("^" + prefix.replace(/[[\].]/g, "\\$&") + "\\[(\\d+)\\]"), (m, i) => prefix + "[" + (at[i] ?? i) + "]");
  }
}

// supplierEdit changes the supplier: its details, sites, contacts and contracts, each list sent only when
// changed (and then whole, replacing the one held).
function supplierEdit(sp, all, sites) {
  supplierSeen = {};
  const seen = (name) => { supplierSeen[name] = true; return name; };
  const text = (name, label, value, extra = {}) => input(seen(name), label, "text", { value: value || "", ...extra });
  const contacts = [...sp.contacts, {}].map((c, i) => h("fieldset", { class: "choices" }, h("legend", {}, c.name ? "Contact " + (i + 1) : "New contact"),
    text("contacts[" + i + "].name", "Name", c.name), text("contacts[" + i + "].role", "Role", c.role),
    input(seen("contacts[" + i + "].email"), "E-mail", "email", { value: c.email || "" }),
    input(seen("contacts[" + i + "].phone"), "Phone", "tel", { value: c.phone || "" })));
  const siteSelect = (name, current) => field("Site", h("select", { name: seen(name) }, h("option", { value: "" }, "None"),
    sites.map((l) => h("option", { value: l.id, selected: l.id === current }, l.name))));
  const levelSelect = (name, current) => field("Clearance required", h("select", { name: seen(name) }, h("option", { value: "" }, "—"),
    clearanceLevels.map((l) => h("option", { value: l, selected: l === current }, l))));
  const contracts = [...sp.contracts, { sites: [] }].map((k, i) => {
    const at = "contracts[" + i + "].";
    return h("fieldset", { class: "choices" }, h("legend", {}, k.reference ? "Contract " + k.reference : "New contract"),
      text(at + "reference", "Reference", k.reference), text(at + "title", "Title", k.title),
      input(seen(at + "startsOn"), "Starts", "date", { value: k.startsOn || "" }), input(seen(at + "endsOn"), "Ends", "date", { value: k.endsOn || "" }),
      [...k.sites, {}].map((s, j) => [siteSelect(at + "sites[" + j + "].locationId", s.locationId),
        levelSelect(at + "sites[" + j + "].requiredLevel", s.requiredLevel)]));
  });
  const siteBoxes = h("fieldset", { class: "choices" }, h("legend", {}, "Sites they work at"),
    sites.map((l) => h("label", {}, h("input", { type: "checkbox", name: "site:" + l.id, checked: sp.siteIds.includes(l.id) }), l.name)));
  return h("details", { class: "card", id: "supplier-edit-details" }, h("summary", {}, "Edit the supplier"),
    form([...supplierFields(all, sp), siteBoxes, h("h3", {}, "Contacts"), contacts, h("h3", {}, "Contracts"), contracts], "Save changes",
      async (v) => {
        const body = {};
        const details = supplierDetails(v);
        for (const [k, val] of Object.entries(details)) if (val !== (sp[k] ?? "")) body[k] = val;
        const siteIds = chosen(v, "site");
        if (JSON.stringify([...siteIds].sort()) !== JSON.stringify([...sp.siteIds].sort())) body.siteIds = siteIds;
        const cs = supplierRows(v, "contacts", ["name", "role", "email", "phone"]);
        if (JSON.stringify(cs.rows) !== JSON.stringify(sp.contacts.map((c) => Object.fromEntries(Object.entries(c).filter(([, x]) => x))))) body.contacts = cs.rows;
        const ks = supplierRows(v, "contracts", ["reference", "title", "startsOn", "endsOn"]);
        const siteMaps = ks.at.map((i, n) => {
          const rows = supplierRows(v, "contracts[" + i + "].sites", ["locationId", "requiredLevel"]);
          ks.rows[n].sites = rows.rows;
          return rows.at;
        });
        const held = sp.contracts.map((k) => ({ ...Object.fromEntries(["reference", "title", "startsOn", "endsOn"].filter((f) => k[f]).map((f) => [f, k[f]])), sites: k.sites }));
        if (JSON.stringify(ks.rows) !== JSON.stringify(held)) body.contracts = ks.rows;
        if (!Object.keys(body).length) throw new Error("Nothing was changed.");
        try {
          await call("PATCH", "/suppliers/" + sp.id, body);
        } catch (err) {
          supplierRenumber(err, "contacts", cs.at);
          ks.at.forEach((i, n) => supplierRenumber(err, "contracts[" + n + "].sites", siteMaps[n]));
          supplierRenumber(err, "contracts", ks.at);
          throw err;
        }
        supplierNotice = "Saved.";
      }, { id: "supplier-edit" }));
}

// supplierPage is a supplier's page.
async function supplierPage(id) {
  const settled = (p) => p.then((value) => ({ value }), (err) => { if (err.message === "signed out") throw err; return { err }; });
  const [sp, all, sites, view, grants] = await Promise.all([call("GET", "/suppliers/" + encodeURIComponent(id)),
    call("GET", "/suppliers?status=all"), call("GET", "/locations"), call("GET", "/suppliers/" + encodeURIComponent(id) + "/compliance"),
    settled(call("GET", "/access/grants?" + new URLSearchParams({ supplierId: id, status: "scheduled,active", limit: "200" })))]);
  const siteName = (lid) => supplierName(sites, lid) || "a site";
  const notice = supplierNotice;
  supplierNotice = null;
  const row = (k, v) => [h("dt", {}, k), h("dd", {}, v || "—")];
  show(h("h1", {}, sp.name),
    h("p", {}, "Tier " + sp.tier, sp.parentId ? [" · below ", h("a", { href: "#/suppliers/" + sp.parentId }, supplierName(all, sp.parentId) || "its parent")] : " · a prime",
      " · ", sp.archivedAt ? "Archived " + date(sp.archivedAt) : "In use"),
    notice ? h("div", { class: "notice", role: "status" }, notice) : null,
    h("dl", { class: "grid card", id: "supplier-details" }, row("Company number", sp.companyNumber), row("Contact e-mail", sp.contactEmail),
      row("Sponsor reference", sp.sponsorReference), row("Sites", sp.siteIds.map(siteName).join(", ")),
      row("Below it", all.filter((s) => s.parentId === sp.id).map((s) => s.name).join(", ")),
      row("Contacts", sp.contacts.map((c) => [c.name, c.role, c.email, c.phone].filter(Boolean).join(", ")).join("; ")),
      row("Contracts", sp.contracts.map((k) => [k.reference, k.title, k.startsOn || k.endsOn ? date(k.startsOn) + " – " + date(k.endsOn) : "",
        k.sites.map((s) => siteName(s.locationId) + ": " + s.requiredLevel).join(", ")].filter(Boolean).join(" · ")).join("; "))),
    has("admin") ? [sp.archivedAt ? null : supplierEdit(sp, all, sites),
      form([], sp.archivedAt ? "Restore " + sp.name : "Archive " + sp.name, async () => {
        await call("POST", "/suppliers/" + sp.id + (sp.archivedAt ? "/restore" : "/archive"));
        supplierNotice = sp.archivedAt ? "Restored." : "Archived: kept for its people and history, offered for nothing new.";
      }, { id: "supplier-archive" })] : null,
    h("section", { id: "supplier-compliance", "aria-labelledby": "supplier-compliance-title" },
      h("h2", { id: "supplier-compliance-title" }, "Compliance on " + date(view.asOf)),
      h("div", { class: "counters" }, supplierStates.map((s) => h("div", { class: "counter", "data-state": s },
        h("div", { class: "n" }, String(view.counts[s] || 0)), inWords(supplierWords.state, s)))),
      h("p", {}, h("a", { class: "button", id: "supplier-export", href: api + "/suppliers/" + sp.id + "/compliance.csv", download: "" }, "Download as CSV")),
      view.people.length ? supplierTable("supplier-people", ["Person", "Employee no.", "State", "Clearance", "Valid to", "Open case"],
        view.people.map((p) => h("tr", {}, h("td", {}, h("a", { href: "#/persons/" + p.personId }, p.name)), h("td", {}, p.employeeNumber || "—"),
          h("td", {}, wordBadge(supplierWords.state, p.state)), h("td", {}, p.level || "—"), h("td", {}, date(p.validTo)),
          h("td", {}, p.openCaseRef ? h("a", { href: "#/cases/" + p.openCaseRef }, p.openCaseRef) : "—"))))
        : h("p", { class: "muted" }, "No active people of this supplier."),
      h("h3", {}, "Open cases (" + view.openCasesTotal + ")"),
      view.openCases.length ? supplierTable("supplier-cases", ["Person", "Case", "Level", "Status", "Due"],
        view.openCases.map((c) => h("tr", {}, h("td", {}, c.personName), h("td", {}, h("a", { href: "#/cases/" + c.caseRef }, c.caseRef)),
          h("td", {}, c.requestedLevel), h("td", {}, inWords({}, c.status)), h("td", {}, date(c.dueAt)))))
        : h("p", { class: "muted" }, "None open.")),
    h("section", { id: "supplier-access", "aria-labelledby": "supplier-access-title" },
      h("h2", { id: "supplier-access-title" }, "Access held at our sites"),
      grants.err ? failure(grants.err) : grants.value.items.length ? supplierTable("supplier-grants", ["Person", "Level", "Site", "From", "To", "Status"],
        grants.value.items.map((g) => h("tr", {}, h("td", {}, h("a", { href: "#/persons/" + g.personId }, g.personName)), h("td", {}, g.levelName),
          h("td", {}, g.locationName || "—"), h("td", {}, when(g.startsAt)), h("td", {}, when(g.endsAt)), h("td", {}, inWords({}, g.status)))))
        : h("p", { class: "muted" }, "None held.")),
    h("p", {}, h("a", { href: "#/suppliers" }, "All suppliers")));
}
