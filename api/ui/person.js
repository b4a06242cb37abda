// SignetAssure console: the persons list and a person's page (their details and edit, clearances, cases,
// disclosures, partner verifications, consents and messages, door access with its live events). Loaded
// after app.js, admin.js, queue.js and casepage.js, whose helpers it uses; every value is put on the page
// as text. Its own top-level names start with person.
"use strict";

Object.assign(screens, { persons: (params, parts) => (parts[1] ? personPage(decodeURIComponent(parts[1])) : persons(params)) });

// The roles the API lets do each thing (api/persons.go, partners.go, consents.go, access.go).
const personWriterRoles = ["case_worker", "vetting_officer", "admin"];
const personRevealRoles = ["case_worker", "vetting_officer"];
const personConsentRoles = ["case_worker", "vetting_officer", "security_controller"];
const personGrantRoles = ["case_worker", "vetting_officer", "security_controller"];
const personAskRoles = ["case_worker", "vetting_officer", "security_controller"];

// Statuses and codes in words.
const personWords = {
  clearance: { active: "Active", expired: "Expired", suspended: "Suspended", revoked: "Revoked", superseded: "Superseded" },
  grant: { scheduled: "Scheduled", active: "Active", ended: "Ended", revoked: "Revoked", blocked: "Blocked: its level is gone from the badge system" },
  link: { active: "Active", disabled: "Disabled", removed: "Removed" },
  consent: { opted_in: "Consented", opted_out: "Opted out" },
  channel: { sms: "SMS", whatsapp: "WhatsApp", email: "E-mail" },
  method: { written: "In writing", web_form: "Web form", verbal: "Spoken", whatsapp_optin: "WhatsApp opt-in", keyword: "Replied with a keyword" },
  source: { partner_lookup: "Partner lookup", manual: "Recorded by hand" },
};
const personWord = (kind, s) => inWords(personWords[kind], s);
const personBadge = (kind, s) => wordBadge(personWords[kind], s);
const personEmpty = (text) => h("p", { class: "muted" }, text);
const personTable = (id, heads, rows) => h("table", { id }, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t))), rows);

// personNotice is what the person page says once it is drawn again after a change ("Saved."), once.
let personNotice = null;

async function persons(params) {
  const q = params.get("q") || "";
  const list = await call("GET", "/persons?" + new URLSearchParams({ q, limit: "100" }));
  const search = form([input("q", "Search names, e-mail, employee number", "search", { value: q })], "Search",
    async (v) => { location.hash = "#/persons?q=" + encodeURIComponent(v.q || ""); });
  show(h("h1", {}, "Persons"), search,
    list.items.length ? personTable("persons", ["Name", "Date of birth", "Employee no.", "Mobile", "Active"],
      list.items.map((p) => h("tr", { class: "link", onclick: () => (location.hash = "#/persons/" + p.id) },
        h("td", {}, h("a", { href: "#/persons/" + p.id }, p.lastName + ", " + p.firstName)), h("td", {}, date(p.dateOfBirth)),
        h("td", {}, p.employeeNumber || "—"), h("td", {}, p.mobile || "—"), h("td", {}, p.active ? "yes" : "no"))))
      : personEmpty(q ? "Nobody matches." : "No persons yet."),
    has(...personWriterRoles) ? h("div", { class: "card" }, h("h2", {}, "New person"),
      form([input("firstName", "First name", "text", { required: true }), input("lastName", "Last name", "text", { required: true }),
        input("dateOfBirth", "Date of birth", "date", { required: true }), input("mobile", "UK mobile"), input("email", "E-mail", "email")],
      "Create", async (v) => { const p = await call("POST", "/persons", v); location.hash = "#/persons/" + p.id; })) : null);
}

// personSettled is a read that fails on its own: the section it feeds shows the error, the page the rest.
const personSettled = (promise) => promise.then((value) => ({ value }), (err) => {
  if (err.message === "signed out") throw err;
  return { err };
});
const personSection = (id, title, r, draw) => h("section", { id, "aria-labelledby": id + "-title" },
  h("h2", { id: id + "-title" }, title), r.err ? failure(r.err) : draw(r.value));

// personPage is a person's page. Moving to another person shows that it is loading; drawn again after a
// change, it replaces what it showed.
async function personPage(id) {
  const shown = document.getElementById("person-page");
  if (!shown || shown.dataset.person !== id) show(h("p", { class: "muted", role: "status" }, "Loading the person…"));
  const p = await call("GET", "/persons/" + encodeURIComponent(id));
  const get = (path) => personSettled(call("GET", path));
  const base = "/persons/" + p.id;
  const [suppliers, sites, partnerSites, cls, cs, disclosures, verifications, consents, msgs, access] = await Promise.all([
    get("/suppliers?status=all"), get("/locations"), get("/partners"), get(base + "/clearances"),
    get("/cases?" + new URLSearchParams({ personId: p.id, limit: "100" })), get(base + "/disclosures"), get(base + "/verifications"),
    get(base + "/consents"), get("/messages?" + new URLSearchParams({ personId: p.id, limit: "50" })), personSettled(personAccessData(p.id))]);
  const named = (r, key, id) => id ? ((r.value || []).find((x) => x.id === id) || {})[key] || "(unknown)" : "—";
  // Left while it was read (another page asked for), it is not drawn over that page.
  if (!location.hash.startsWith("#/persons/" + id)) return;
  const notice = personNotice;
  personNotice = null;
  const events = h("ul", { class: "events", id: "door-events", "aria-live": "polite" }, h("li", { class: "muted" }, "No door events yet."));
  show(h("div", { id: "person-page", "data-person": p.id },
    h("h1", {}, [p.firstName, p.middleNames, p.lastName].filter(Boolean).join(" ")),
    h("div", { id: "person-notice", role: "status" }, notice ? h("p", { class: "card" }, notice) : null),
    personDetails(p, p.supplierId ? h("a", { href: "#/suppliers/" + p.supplierId }, named(suppliers, "name", p.supplierId)) : "—",
      named(sites, "name", p.locationId)),
    has(...personWriterRoles) ? personEdit(p, suppliers.value || [], sites.value || []) : null,
    personSection("person-clearances", "Clearances", cls, (list) => list.length
      ? personTable("clearances", ["Level", "Status", "Valid from", "Valid to", "Issuing authority"],
        list.map((c) => h("tr", {}, h("td", {}, c.level), h("td", {}, personBadge("clearance", c.status)), h("td", {}, date(c.validFrom)),
          h("td", {}, date(c.validTo)), h("td", {}, c.issuingAuthority || "—"))))
      : personEmpty("No clearances.")),
    personSection("person-cases", "Cases", cs, (page) => page.items.length
      ? personTable("cases", ["Case", "Type", "Level", "Status", "Due"],
        page.items.map((c) => h("tr", { class: "link", onclick: () => (location.hash = "#/cases/" + c.caseRef) },
          h("td", {}, h("a", { href: "#/cases/" + c.caseRef }, c.caseRef)), h("td", {}, caseTypeWords[c.type] || c.type),
          h("td", {}, c.requestedLevel), h("td", {}, caseBadge(c.status)), h("td", {}, date(c.dueAt)))))
      : personEmpty("No cases.")),
    has("case_worker", "vetting_officer", "security_controller") ? h("div", { class: "card" }, h("h3", {}, "Open a case"),
      form([options("type", "Type", Object.keys(caseTypeWords), (k) => k, (k) => caseTypeWords[k]), select("level", "Level", clearanceLevels)],
        "Open case", async (v) => { const c = await call("POST", "/cases", { personId: p.id, ...v }); location.hash = "#/cases/" + c.caseRef; })) : null,
    has("case_worker", "vetting_officer", "security_controller") ? h("p", {}, h("a", { href: "#/travel?personId=" + p.id, id: "person-travel" },
      "Foreign travel: trips reported, or report one")) : null,
    personSection("person-disclosures", "Disclosures", disclosures, (list) => personDisclosures(p, list, partnerSites.value || [])),
    personSection("person-verifications", "Partner verifications", verifications, (list) => personVerifications(p, list, partnerSites.value || [])),
    personSection("person-consents", "Consent and opt-out", consents, (list) => personConsents(p, list)),
    personSection("person-messages", "Messages", msgs, (page) => page.items.length ? messageRows(page.items, false) : personEmpty("No messages yet.")),
    personSection("person-access", "Door access", access, (a) => [personAccess(p.id, a), h("h3", {}, "Door events (live)"), events])));
  if (!access.err) personFollowEvents(p.id, events);
}

// personDetails is what the person page says of them, by name; the sensitive fields are shown on
// request, a read the audit log records.
function personDetails(p, supplier, site) {
  const row = (k, v, id) => [h("dt", {}, k), h("dd", { id }, v === undefined || v === null || v === "" ? "—" : v)];
  return h("div", { class: "card" }, h("dl", { class: "grid", id: "person-details" },
    row("Date of birth", date(p.dateOfBirth)), row("E-mail", p.email, "person-email"), row("Mobile", p.mobile, "person-mobile"),
    row("Preferred channel", personWord("channel", p.preferredChannel || "email")), row("Employee number", p.employeeNumber),
    row("Supplier", supplier, "person-supplier"), row("Site", site, "person-site"), row("Active", p.active ? "yes" : "no"),
    has(...personRevealRoles) ? [h("dt", {}, "Sensitive details"), h("dd", { id: "sensitive" },
      h("button", { type: "button", onclick: () => personReveal(p.id) }, "Show (audited)"))] : null));
}

// personReveal shows a person's address, NI number and line manager in place of its button, with a form
// to change them for those who may.
async function personReveal(id) {
  const box = document.getElementById("sensitive");
  let p;
  try { p = await call("GET", "/persons/" + id + "?reveal=sensitive"); } catch (err) { box.replaceChildren(failure(err)); return; }
  const row = (k, v) => [h("dt", {}, k), h("dd", {}, v || "—")];
  box.replaceChildren(h("dl", { class: "grid" }, row("Address", p.address), row("NI number", p.niNumber), row("Line manager", p.lineManager)),
    has(...personWriterRoles) ? form([textarea("address", "Address", { value: p.address || "" }),
      input("niNumber", "NI number", "text", { value: p.niNumber || "" }), input("lineManager", "Line manager", "text", { value: p.lineManager || "" })],
    "Save sensitive details", async (v) => {
      await call("PATCH", "/persons/" + id, personChanges(v, p, ["address", "niNumber", "lineManager"]));
      personNotice = "Saved.";
    }, { id: "person-sensitive-edit" }) : null);
  const area = box.querySelector("textarea[name=address]");
  if (area) area.value = p.address || "";
}

// personChanges are the named values that differ from the person's: an emptied field is sent as "" (which
// clears it), an unchanged one not at all.
function personChanges(v, p, names) {
  const out = {};
  for (const n of names) if ((v[n] || "") !== (p[n] || "")) out[n] = v[n] || "";
  return out;
}

// personEdit changes the person's details, supplier and site; the API checks them, and what it refuses
// is shown next to its field.
function personEdit(p, suppliers, sites) {
  // An archived supplier is offered only to the person who has it; one the user does not see is kept as it is.
  const choose = (name, label, items, current) => field(label, h("select", { name },
    h("option", { value: "", selected: !current }, "None"),
    items.filter((x) => !x.archivedAt || x.id === current).map((x) => h("option", { value: x.id, selected: x.id === current }, x.name)),
    current && !items.some((x) => x.id === current) ? h("option", { value: current, selected: true }, "(unchanged)") : null));
  const channel = field("Preferred channel", h("select", { name: "preferredChannel" },
    channels.map((c) => h("option", { value: c, selected: c === (p.preferredChannel || "email") }, personWord("channel", c)))));
  const names = ["firstName", "middleNames", "lastName", "dateOfBirth", "email", "mobile", "employeeNumber", "supplierId", "locationId", "preferredChannel"];
  return h("details", { class: "card", id: "person-edit-details" }, h("summary", {}, "Edit details"),
    form([input("firstName", "First name", "text", { value: p.firstName, required: true, autocomplete: "off" }),
      input("middleNames", "Middle names", "text", { value: p.middleNames || "", autocomplete: "off" }),
      input("lastName", "Last name", "text", { value: p.lastName, required: true, autocomplete: "off" }),
      input("dateOfBirth", "Date of birth", "date", { value: p.dateOfBirth, required: true }),
      input("email", "E-mail", "email", { value: p.email || "", autocomplete: "off" }),
      input("mobile", "UK mobile", "tel", { value: p.mobile || "", autocomplete: "off" }),
      input("employeeNumber", "Employee number", "text", { value: p.employeeNumber || "", autocomplete: "off" }),
      channel, choose("supplierId", "Supplier", suppliers, p.supplierId), choose("locationId", "Site", sites, p.locationId),
      h("label", {}, h("input", { name: "active", type: "checkbox", value: "true", checked: p.active }), " Active")],
    "Save changes", async (v) => {
      const body = personChanges(v, p, names);
      if ((v.active === "true") !== p.active) body.active = v.active === "true";
      if (!Object.keys(body).length) throw new Error("Nothing was changed.");
      await call("PATCH", "/persons/" + p.id, body);
      personNotice = "Saved.";
    }, { id: "person-edit" }));
}

// personDisclosed says in words what a disclosure gave away.
function personDisclosed(d) {
  const x = d.disclosed || {};
  if (d.source !== "partner_lookup") return x.description || "—";
  const matches = (x.matches || []).map((m) => m.clearanceLevel + " valid " + date(m.validFrom) + " to " + date(m.validTo) +
    (m.expired ? " (no longer holds)" : ""));
  return "Name and whether active" + (matches.length ? "; clearances: " + matches.join(", ") : "; no clearances");
}

// personDisclosures lists who was told what about the person, partner lookups and those recorded by
// hand, with the form to record one made outside SignetAssure.
function personDisclosures(p, list, sites) {
  const siteName = (d) => (sites.find((s) => s.id === d.siteId) || {}).orgName || d.recipient;
  return [list.length ? personTable("disclosures", ["When", "To", "How", "Why", "What was disclosed"],
    list.map((d) => h("tr", {}, h("td", {}, when(d.at)), h("td", {}, d.siteId ? siteName(d) : d.recipient),
      h("td", {}, personWord("source", d.source)), h("td", {}, d.reason || "—"), h("td", {}, personDisclosed(d)))))
    : personEmpty("No disclosures recorded."),
  has(...personWriterRoles) ? h("div", { class: "card" }, h("h3", {}, "Record a disclosure"),
    h("p", { class: "muted" }, "One made outside SignetAssure: a letter, a call."),
    form([input("recipient", "Told to", "text", { required: true, maxlength: 200 }), input("reason", "Why", "text", { required: true, size: 40 }),
      textarea("disclosed", "What was disclosed", { required: true })], "Record disclosure",
    async (v) => { await call("POST", "/persons/" + p.id + "/disclosures", v); personNotice = "Disclosure recorded."; },
    { id: "disclosure-form" })) : null];
}

// personVerifications lists what partners told us of the person, with the form to ask one.
function personVerifications(p, list, sites) {
  const siteName = (id) => (sites.find((s) => s.id === id) || { orgName: "a partner" }).orgName;
  const active = sites.filter((s) => s.status === "active");
  return [list.length ? personTable("verifications", ["When", "Partner", "Why", "Answer"],
    list.map((v) => h("tr", {}, h("td", {}, when(v.at)), h("td", {}, siteName(v.siteId)), h("td", {}, v.reason),
      h("td", {}, v.found ? "Holds a record of them" : "Holds no record of them"))))
    : personEmpty("No partner has been asked."),
  has(...personAskRoles) && active.length ? h("div", { class: "card" }, h("h3", {}, "Ask a partner"),
    form([options("siteId", "Partner", active, (s) => s.id, (s) => s.orgName), input("reason", "Why", "text", { required: true, size: 40 })],
      "Ask", async (v) => { await call("POST", "/persons/" + p.id + "/verifications", v); personNotice = "Partner asked."; },
      { id: "verification-form" })) : null];
}

// personConsents is what the person said about being messaged, per channel, in words, with the form to
// record a consent or an opt-out.
function personConsents(p, list) {
  const none = { sms: "Nothing recorded: may be sent", email: "Nothing recorded: may be sent", whatsapp: "Nothing recorded: may not be sent" };
  const rows = channels.flatMap((ch) => {
    const of = list.filter((c) => c.channel === ch);
    if (!of.length) return [h("tr", {}, h("th", { scope: "row" }, personWord("channel", ch)), h("td", { colspan: 5, class: "muted" }, none[ch]))];
    return of.map((c) => h("tr", {}, h("th", { scope: "row" }, personWord("channel", ch)), h("td", {}, c.address || "—"),
      h("td", {}, personBadge("consent", c.status)), h("td", {}, personWord("method", c.method)), h("td", {}, c.evidence || "—"), h("td", {}, when(c.at))));
  });
  return [h("p", {}, "Preferred channel: ", h("strong", {}, personWord("channel", p.preferredChannel || "email"))),
    personTable("consents", ["Channel", "Address", "Status", "How", "Evidence", "When"], rows),
    has(...personConsentRoles) ? h("div", { class: "card" }, h("h3", {}, "Record consent or opt-out"),
      h("p", { class: "muted" }, "For the person's current mobile (SMS, WhatsApp) or e-mail address. WhatsApp consent needs evidence."),
      form([options("channel", "Channel", channels, (c) => c, (c) => personWord("channel", c)),
        options("status", "What they said", ["opted_in", "opted_out"], (s) => s, (s) => (s === "opted_in" ? "Consent to be messaged" : "Opt out")),
        options("method", "How", ["written", "web_form", "verbal", "whatsapp_optin"], (m) => m, (m) => personWord("method", m)),
        input("evidence", "Evidence (e.g. form reference)", "text", { size: 30 }), input("at", "When (default now)", "date")],
      "Record", async (v) => {
        const { channel, ...body } = v;
        await call("PUT", "/persons/" + p.id + "/consents/" + channel, body);
        personNotice = "Recorded.";
      }, { id: "consent-form" })) : null];
}

// personAccessData reads the person's door access and the levels it names.
async function personAccessData(id) {
  const [acc, levels] = await Promise.all([call("GET", "/persons/" + id + "/access"), call("GET", "/access/levels")]);
  return { acc, levels };
}

// personAccess is the person's door access: their badge record with the dates inactivity disables and
// removes it, their grants (revocable, with a reason), what syncs found, and a form to request a level.
function personAccess(id, { acc, levels }) {
  const name = (lid) => (levels.find((l) => l.id === lid) || { name: "level " + lid }).name;
  const l = acc.link;
  const mayChange = has(...personGrantRoles);
  const requestable = levels.filter((x) => x.requiredLevel && x.present);
  return [h("p", { id: "badge-record" }, l ? ["Badge record ", l.acsUserId || "—", " · ", personBadge("link", l.state), " · disabled on ",
    date(l.disableAt), " and removed on ", date(l.removeAt), " unless they badge in"] : "No badge record."),
  acc.grants.length ? personTable("grants", ["Level", "From", "To", "Status", "Why", ""],
    acc.grants.map((g) => h("tr", { id: "grant-" + g.id }, h("td", {}, name(g.levelId)), h("td", {}, when(g.startsAt)), h("td", {}, when(g.endsAt)),
      h("td", { class: "grant-status" }, personBadge("grant", g.status)), h("td", {}, g.endReason || g.reason || "—"),
      h("td", {}, (g.status === "scheduled" || g.status === "active") && mayChange
        ? form([input("reason", "Reason for revoking " + name(g.levelId), "text", { required: true })], "Revoke",
          async (v) => { await call("POST", "/access/grants/" + g.id + "/revoke", v); personNotice = "Access revoked."; }) : ""))))
    : personEmpty("No access granted."),
  acc.findings.length ? [h("h3", {}, "Found in the badge system"), h("ul", {}, acc.findings.map((f) =>
    h("li", {}, date(f.foundAt), " ", f.kind.replace(/_/g, " "), " (", f.action.replace(/_/g, " "), ")")))] : null,
  mayChange ? h("div", { class: "card" }, h("h3", {}, "Request access"),
    requestable.length ? form([options("levelId", "Level", requestable, (x) => x.id, (x) => x.name + " (needs " + x.requiredLevel + ")"),
      input("startsAt", "From", "date", { required: true }), input("endsAt", "To (inclusive)", "date", { required: true }),
      input("reason", "Reason")], "Request",
    async (v) => { await call("POST", "/persons/" + id + "/access/grants", v); personNotice = "Access requested."; })
      : personEmpty("No level may be requested: none has a clearance policy.")) : null];
}

// personFollowEvents streams the person's door events (Server-Sent Events over fetch, with the session
// cookie) into list, newest first, while list is on the page: the stream is aborted when the page
// changes (route), when the page is left or closed (pagehide), or when an event arrives for a list no
// longer shown.
async function personFollowEvents(id, list) {
  if (streaming) streaming.abort();
  const ctl = new AbortController();
  streaming = ctl;
  try {
    const res = await fetch(api + "/persons/" + id + "/access/events/stream", { signal: ctl.signal });
    if (!res.ok) throw new Error(res.statusText);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let first = true;
    while (list.isConnected) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      for (let i; (i = buf.indexOf("\n\n")) >= 0; buf = buf.slice(i + 2)) {
        const data = buf.slice(0, i).split("\n").filter((x) => x.startsWith("data:")).map((x) => x.slice(5)).join("");
        if (!data) continue;
        const e = JSON.parse(data);
        if (first) { list.replaceChildren(); first = false; }
        list.prepend(h("li", {}, when(e.at), " ", (e.type || "").replace(/_/g, " "), " ", e.door || ""));
      }
    }
  } catch (err) {
    if (!ctl.signal.aborted && list.isConnected) list.after(h("p", { class: "muted" }, "Live door events stopped: reload the page to follow them again."));
  } finally {
    ctl.abort();
    if (streaming === ctl) streaming = null;
  }
}

window.addEventListener("pagehide", () => { if (streaming) { streaming.abort(); streaming = null; } });
