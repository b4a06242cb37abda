// SignetAssure case worker console: a thin client of the REST API (/api/v1). Every value from the API
// is put on the page as text, never as HTML.
"use strict";

const api = "/api/v1";
const main = document.getElementById("main");
let me = null;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const badge = (s) => h("span", { class: "badge " + (s || "") }, s || "—");
const date = (s) => (s ? String(s).slice(0, 10) : "—");
const has = (...roles) => me && me.roles.some((r) => roles.includes(r));

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    headers: { Authorization: "Bearer " + sessionStorage.getItem("token"), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401) { sessionStorage.removeItem("token"); signIn(); throw new Error("signed out"); }
  if (!res.ok) {
    const fields = (data && data.errors || []).map((e) => e.field + ": " + e.message).join("; ");
    throw new Error((data && (fields || data.detail)) || res.statusText);
  }
  return data;
}

function show(...nodes) { main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined)); }
function failure(err) { return h("div", { class: "error", role: "alert" }, err.message); }

// form builds a form whose submit calls fn(values) and re-renders on success.
function form(fields, label, fn) {
  const errBox = h("div");
  const f = h("form", { class: "inline" }, fields, h("button", { type: "submit" }, label), errBox);
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const values = {};
    for (const el of f.elements) if (el.name && el.value !== "") values[el.name] = el.value;
    try { await fn(values); route(); } catch (err) { errBox.replaceChildren(failure(err)); }
  });
  return f;
}
const input = (name, label, type = "text", extra = {}) => h("label", {}, label, h("input", { name, type, ...extra }));
const select = (name, label, options) => h("label", {}, label, h("select", { name }, options.map((o) => h("option", { value: o }, o))));

function signIn() {
  document.getElementById("nav").hidden = true;
  document.getElementById("who").textContent = "";
  show(h("div", { class: "card" }, h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Paste your API token (make run prints the demo tokens)."),
    form([input("token", "API token", "password", { size: 60, required: true })], "Sign in", async (v) => {
      sessionStorage.setItem("token", v.token);
      me = null;
    })));
}

async function cases(params) {
  const status = params.get("status") || "";
  const q = new URLSearchParams({ limit: "100" });
  if (status) q.set("status", status);
  const list = await call("GET", "/cases?" + q);
  const filter = h("select", { onchange: (e) => (location.hash = "#/cases?status=" + e.target.value) },
    ["", "with_officer", "awaiting_information", "cleared", "refused", "with_advisory", "withdrawn"]
      .map((s) => h("option", { value: s, selected: s === status }, s || "all statuses")));
  show(h("h1", {}, "Vetting cases"), h("p", {}, filter, " ", h("span", { class: "muted" }, list.total + " cases")),
    h("table", {}, h("tr", {}, ["Person", "Case", "Type", "Level", "Status", "Owner", "Due"].map((t) => h("th", {}, t))),
      list.items.map((c) => h("tr", { class: "link", onclick: () => (location.hash = "#/cases/" + c.caseRef) },
        h("td", {}, c.personName), h("td", {}, h("code", {}, c.caseRef)), h("td", {}, c.type), h("td", {}, c.requestedLevel), h("td", {}, badge(c.status)),
        h("td", {}, c.ownerId ? (c.ownerId === me.id ? "me" : "assigned") : "—"), h("td", {}, date(c.dueAt))))));
}

async function caseDetail(ref) {
  const c = await call("GET", "/cases/" + encodeURIComponent(ref));
  const person = await call("GET", "/persons/" + c.personId);
  const closed = ["cleared", "refused", "with_advisory", "withdrawn"].includes(c.status);
  const post = (path, body) => call("POST", "/cases/" + encodeURIComponent(ref) + path, body);
  const actions = [];
  if (!closed && has("vetting_officer") && c.ownerId !== me.id)
    actions.push(form([], "Assign to me", () => post("/owner", { ownerId: me.id })));
  if (!closed && has("case_worker", "vetting_officer", "security_controller"))
    actions.push(form([input("text", "Note", "text", { size: 50, required: true })], "Add note", (v) => post("/notes", v)));
  if (c.status === "with_officer" && has("case_worker", "vetting_officer"))
    actions.push(form([input("description", "Information needed", "text", { size: 40, required: true }), input("dueDate", "Due", "date", { required: true })],
      "Request information", (v) => post("/information-requests", v)));
  if (c.status === "awaiting_information" && has("case_worker", "vetting_officer"))
    actions.push(form([input("note", "Note")], "Information received", (v) => post("/information-received", v)));
  if (!closed && has("vetting_officer") && c.ownerId === me.id)
    actions.push(form([select("outcome", "Outcome", ["cleared", "with_advisory", "refused", "withdrawn"]),
      select("level", "Level", ["BPSS", "CTC", "SC", "eSC", "DV", "eDV"]), input("validFrom", "Valid from", "date"), input("validTo", "Valid to", "date")],
      "Record outcome", (v) => {
        if (v.outcome === "refused" || v.outcome === "withdrawn") v = { outcome: v.outcome };
        return post("/outcome", v);
      }));
  show(h("h1", {}, "Case " + c.caseRef, " ", badge(c.status)),
    h("div", { class: "card" }, h("dl", { class: "grid" },
      h("dt", {}, "Person"), h("dd", {}, h("a", { href: "#/persons/" + person.id }, person.firstName + " " + person.lastName)),
      h("dt", {}, "Type / level"), h("dd", {}, c.type + " / " + c.requestedLevel),
      h("dt", {}, "Opened"), h("dd", {}, date(c.openedAt)), h("dt", {}, "Due"), h("dd", {}, date(c.dueAt), c.escalatedAt ? " (escalated)" : ""),
      h("dt", {}, "Issuing authority"), h("dd", {}, c.issuingAuthority),
      c.outcome ? [h("dt", {}, "Outcome"), h("dd", {}, c.outcome + (c.outcomeLevel ? " at " + c.outcomeLevel + ", valid " + c.validFrom + " to " + c.validTo : ""))] : null)),
    actions.length ? h("div", { class: "card" }, h("h2", {}, "Actions"), actions) : null,
    h("h2", {}, "Timeline"), h("ol", { class: "timeline" }, c.timeline.map((e) =>
      h("li", {}, h("span", { class: "muted" }, e.at.replace("T", " ").slice(0, 16) + " · " + (e.actorName || "system") + " · "), e.summary,
        e.detail && e.detail.text ? h("div", {}, "“" + e.detail.text + "”") : null))));
}

async function persons(params) {
  const q = params.get("q") || "";
  const list = await call("GET", "/persons?" + new URLSearchParams({ q, limit: "100" }));
  const search = form([input("q", "Search names, e-mail, employee number", "search", { value: q })], "Search",
    async (v) => { location.hash = "#/persons?q=" + encodeURIComponent(v.q || ""); });
  show(h("h1", {}, "Persons"), search,
    h("table", {}, h("tr", {}, ["Name", "Date of birth", "Employee no.", "Mobile", "Active"].map((t) => h("th", {}, t))),
      list.items.map((p) => h("tr", { class: "link", onclick: () => (location.hash = "#/persons/" + p.id) },
        h("td", {}, p.lastName + ", " + p.firstName), h("td", {}, p.dateOfBirth), h("td", {}, p.employeeNumber || "—"),
        h("td", {}, p.mobile || "—"), h("td", {}, p.active ? "yes" : "no")))),
    has("case_worker", "vetting_officer", "admin") ? h("div", { class: "card" }, h("h2", {}, "New person"),
      form([input("firstName", "First name", "text", { required: true }), input("lastName", "Last name", "text", { required: true }),
        input("dateOfBirth", "Date of birth", "date", { required: true }), input("mobile", "UK mobile"), input("email", "E-mail", "email")],
        "Create", async (v) => { const p = await call("POST", "/persons", v); location.hash = "#/persons/" + p.id; })) : null);
}

async function personDetail(id) {
  const [p, cls, cs] = await Promise.all([call("GET", "/persons/" + id), call("GET", "/persons/" + id + "/clearances"),
    call("GET", "/cases?" + new URLSearchParams({ personId: id, limit: "100" }))]);
  const row = (k, v) => [h("dt", {}, k), h("dd", {}, v === undefined || v === null || v === "" ? "—" : v)];
  show(h("h1", {}, p.firstName + " " + p.lastName),
    h("div", { class: "card" }, h("dl", { class: "grid" }, row("Date of birth", p.dateOfBirth), row("E-mail", p.email),
      row("Mobile", p.mobile), row("Employee number", p.employeeNumber), row("Active", p.active ? "yes" : "no"),
      "address" in p ? [row("Address", p.address), row("NI number", p.niNumber), row("Line manager", p.lineManager)] : null)),
    h("h2", {}, "Clearances"),
    h("table", {}, h("tr", {}, ["Level", "Status", "Valid from", "Valid to", "Issuing authority"].map((t) => h("th", {}, t))),
      cls.map((c) => h("tr", {}, h("td", {}, c.level), h("td", {}, badge(c.status)), h("td", {}, c.validFrom), h("td", {}, c.validTo), h("td", {}, c.issuingAuthority)))),
    h("h2", {}, "Cases"),
    h("table", {}, h("tr", {}, ["Case", "Type", "Level", "Status", "Due"].map((t) => h("th", {}, t))),
      cs.items.map((c) => h("tr", { class: "link", onclick: () => (location.hash = "#/cases/" + c.caseRef) },
        h("td", {}, c.caseRef), h("td", {}, c.type), h("td", {}, c.requestedLevel), h("td", {}, badge(c.status)), h("td", {}, date(c.dueAt))))),
    has("case_worker", "vetting_officer", "security_controller") ? h("div", { class: "card" }, h("h2", {}, "Open a case"),
      form([select("type", "Type", ["new", "renewal", "upgrade", "transfer", "aftercare"]), select("level", "Level", ["BPSS", "CTC", "SC", "eSC", "DV", "eDV"])],
        "Open case", async (v) => { const c = await call("POST", "/cases", { personId: id, ...v }); location.hash = "#/cases/" + c.caseRef; })) : null,
    await personAccess(id));
}

// personAccess is the person's door access: their badge record with the dates inactivity disables and
// removes it, their grants (revocable), what syncs found, a form to request a level, and door events live.
async function personAccess(id) {
  const [acc, levels] = await Promise.all([call("GET", "/persons/" + id + "/access"), call("GET", "/access/levels")]);
  const name = (lid) => (levels.find((l) => l.id === lid) || { name: lid }).name;
  const when = (s) => (s ? String(s).slice(0, 16).replace("T", " ") : "—");
  const l = acc.link;
  const events = h("ul", { class: "events" });
  followEvents(id, events);
  return h("section", {}, h("h2", {}, "Door access"),
    h("p", {}, l ? ["Badge record ", l.acsUserId || "—", " · ", badge(l.state), " · disabled on ", date(l.disableAt),
      " and removed on ", date(l.removeAt), " unless they badge in"] : "No badge record."),
    h("table", {}, h("tr", {}, ["Level", "From", "To", "Status", "Why", ""].map((t) => h("th", {}, t))),
      acc.grants.map((g) => h("tr", {}, h("td", {}, name(g.levelId)), h("td", {}, when(g.startsAt)), h("td", {}, when(g.endsAt)),
        h("td", {}, badge(g.status)), h("td", {}, g.endReason || g.reason),
        h("td", {}, (g.status === "scheduled" || g.status === "active") && has("case_worker", "vetting_officer", "security_controller")
          ? form([input("reason", "Reason", "text", { required: true })], "Revoke",
            (v) => call("POST", "/access/grants/" + g.id + "/revoke", v)) : "")))),
    acc.findings.length ? [h("h3", {}, "Found in the badge system"), h("ul", {}, acc.findings.map((f) =>
      h("li", {}, date(f.foundAt), " ", f.kind.replace("_", " "), " (", f.action, ")")))] : null,
    has("case_worker", "vetting_officer", "security_controller") ? h("div", { class: "card" }, h("h3", {}, "Request access"),
      form([h("label", {}, "Level", h("select", { name: "levelId" }, levels.filter((x) => x.requiredLevel && x.present)
        .map((x) => h("option", { value: x.id }, x.name + " (needs " + x.requiredLevel + ")")))),
        input("startsAt", "From", "date", { required: true }), input("endsAt", "To (inclusive)", "date", { required: true }),
        input("reason", "Reason")], "Request",
        (v) => call("POST", "/persons/" + id + "/access/grants", v))) : null,
    h("h3", {}, "Door events (live)"), events);
}

// followEvents streams the person's door events (Server-Sent Events over fetch, which can send the
// bearer token) into list, newest first, until the page changes.
let streaming = null;
async function followEvents(id, list) {
  if (streaming) streaming.abort();
  streaming = new AbortController();
  try {
    const res = await fetch(api + "/persons/" + id + "/access/events/stream", { signal: streaming.signal,
      headers: { Authorization: "Bearer " + sessionStorage.getItem("token") } });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      for (let i; (i = buf.indexOf("\n\n")) >= 0; buf = buf.slice(i + 2)) {
        const data = buf.slice(0, i).split("\n").filter((x) => x.startsWith("data:")).map((x) => x.slice(5)).join("");
        if (!data) continue;
        const e = JSON.parse(data);
        list.prepend(h("li", {}, String(e.at).slice(0, 19).replace("T", " "), " ", e.type, " ", e.door));
      }
    }
  } catch (err) { /* the page changed, or the stream ended */ }
}

async function clearances(params) {
  const before = params.get("expiringBefore") || new Date(Date.now() + 180 * 864e5).toISOString().slice(0, 10);
  const list = await call("GET", "/clearances?" + new URLSearchParams({ status: "active", expiringBefore: before, limit: "200" }));
  show(h("h1", {}, "Clearance register"),
    form([input("expiringBefore", "Active, expiring before", "date", { value: before })], "Show",
      async (v) => { location.hash = "#/clearances?expiringBefore=" + v.expiringBefore; }),
    h("table", {}, h("tr", {}, ["Person", "Level", "Valid from", "Valid to", "Case"].map((t) => h("th", {}, t))),
      list.items.map((c) => h("tr", { class: "link", onclick: () => (location.hash = "#/persons/" + c.personId) },
        h("td", {}, "open person"), h("td", {}, c.level), h("td", {}, c.validFrom), h("td", {}, c.validTo), h("td", {}, c.sourceCaseRef || "—")))));
}

async function notifications() {
  const ns = await call("GET", "/me/notifications?limit=100");
  show(h("h1", {}, "Notifications"), ns.length ? h("table", {}, ns.map((n) => h("tr", {},
    h("td", {}, date(n.createdAt)), h("td", {}, n.kind), h("td", {}, n.caseRef ? h("a", { href: "#/cases/" + n.caseRef }, n.message) : n.message))))
    : h("p", { class: "muted" }, "Nothing yet."));
}

async function route() {
  if (streaming) { streaming.abort(); streaming = null; }
  if (!sessionStorage.getItem("token")) return signIn();
  try {
    if (!me) me = await call("GET", "/me");
    document.getElementById("nav").hidden = false;
    document.getElementById("who").textContent = me.displayName + " (" + me.roles.join(", ") + ")";
    const [path, query] = (location.hash.slice(1) || "/cases").split("?");
    const params = new URLSearchParams(query || "");
    const parts = path.split("/").filter(Boolean);
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === "#/" + parts[0]);
    if (parts[0] === "cases" && parts[1]) return await caseDetail(parts[1]);
    if (parts[0] === "persons" && parts[1]) return await personDetail(parts[1]);
    if (parts[0] === "persons") return await persons(params);
    if (parts[0] === "clearances") return await clearances(params);
    if (parts[0] === "notifications") return await notifications();
    return await cases(params);
  } catch (err) {
    if (err.message !== "signed out") show(failure(err));
  }
}

window.addEventListener("hashchange", route);
route();
