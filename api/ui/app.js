// SignetAssure case worker console: a thin client of the REST API (/api/v1). Every value from the API
// is put on the page as text, never as HTML. It is signed in by a session cookie (HttpOnly: this code
// never sees it), started by Sign in with Microsoft, a directory password or an API token.
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
// inWords is a code of the API (a status, a kind) in words: the words given for it, or its own.
const inWords = (words, code) => words[code] || String(code || "—").replace(/_/g, " ");
// wordBadge is a code as a badge coloured by the code, reading in words.
const wordBadge = (words, code) => h("span", { class: "badge " + (code || ""), "data-status": code || "" }, inWords(words, code));
// Dates and times are shown in the organisation's time zone (orgZone, read once after sign-in); a plain date
// (a validity's end, a birthday) is a day wherever it is read, and is shown as it is.
let orgZone = "UTC";
async function loadOrganisationZone() {
  let zone = "UTC";
  try { zone = (await call("GET", "/organisation")).timeZone || "UTC"; } catch (err) { if (!err.status) throw err; }
  try { new Intl.DateTimeFormat("en-GB", { timeZone: zone }); } catch { zone = "UTC"; }
  orgZone = zone;
}
const plainDay = /^\d{4}-\d{2}-\d{2}$/;
const dayFormat = (zone) => ({ timeZone: zone, day: "numeric", month: "short", year: "numeric" });
// date is the day of an instant in the organisation's zone, or a plain date: "6 Dec 2026".
const date = (s) => (!s ? "—" : plainDay.test(s)
  ? new Intl.DateTimeFormat("en-GB", dayFormat("UTC")).format(new Date(s + "T00:00:00Z"))
  : new Intl.DateTimeFormat("en-GB", dayFormat(orgZone)).format(new Date(s)));
// today is the organisation's date now, as an ISO date.
const today = () => new Intl.DateTimeFormat("en-CA", { timeZone: orgZone }).format(new Date());
// when is an instant's day and time in the organisation's zone: "6 Dec 2026, 14:05".
const when = (s) => (!s ? "—" : plainDay.test(s) ? date(s)
  : new Intl.DateTimeFormat("en-GB", { ...dayFormat(orgZone), hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(s)));
// clearanceLevels are the vetting levels, lowest first (domain.Level).
const clearanceLevels = ["BPSS", "CTC", "SC", "eSC", "DV", "eDV"];
const has = (...roles) => me && me.roles.some((r) => roles.includes(r));

// randomID is a random 128-bit id (crypto.randomUUID needs a secure context; getRandomValues does not).
const randomID = () => crypto.randomUUID ? crypto.randomUUID()
  : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

// acting is the user action being carried out (a form's submission) while its handler starts. Every write
// carries an Idempotency-Key: the action's id and the write's place in it, so the same action sent again
// (a double click, or a retry after a failure) is carried out once; a write outside an action gets a
// random key. A handler that waits before it writes takes its key first (nextKey).
let acting = null;
const nextKey = () => (acting ? acting.id + "." + acting.n++ : randomID());

// callTimeout bounds every call to the API, so no screen waits for ever on one that does not answer.
const callTimeout = 30000;

async function call(method, path, body, key, extraHeaders) {
  const headers = { "Content-Type": "application/json", ...(extraHeaders || {}) };
  if (method !== "GET") headers["Idempotency-Key"] = key || nextKey();
  let res;
  try {
    res = await fetch(api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(callTimeout) });
  } catch (err) {
    throw new Error(err.name === "TimeoutError" ? "SignetAssure did not answer in time: try again (a retry is safe)."
      : "SignetAssure could not be reached: check the connection and try again (a retry is safe).");
  }
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  // A 401 means the session has ended, except in answer to a sign-in (a wrong password or token): its form shows it.
  const signingIn = path.startsWith("/sign-in") || (extraHeaders && extraHeaders.Authorization);
  if (res.status === 401 && !signingIn) { const wasIn = me !== null; me = null; signIn(wasIn); throw new Error("signed out"); }
  if (!res.ok) {
    const fields = (data && data.errors || []).map((e) => e.field + ": " + e.message).join("; ");
    throw Object.assign(new Error((data && (fields || data.detail)) || res.statusText), { status: res.status, problem: data });
  }
  return data;
}

function show(...nodes) { main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false)); }
function failure(err) { return h("div", { class: "error", role: "alert" }, err.message); }

let fieldSeq = 0;

// field is a labelled input, select or textarea with a place for the error the API names it in.
function field(label, control) {
  const err = h("span", { class: "field-error", id: "field-error-" + ++fieldSeq, hidden: true });
  control.dataset.errorId = err.id;
  return h("label", {}, label, control, err);
}
const input = (name, label, type = "text", extra = {}) => field(label, h("input", { name, type, ...extra }));
const select = (name, label, options) => field(label, h("select", { name }, options.map((o) => h("option", { value: o }, o))));

// showErrors puts a problem's field errors next to the fields they name (aria-invalid, and
// aria-describedby pointing at the message); what names no field of the form goes into box.
function showErrors(f, box, err) {
  clearErrors(f, box);
  const rest = [];
  const errors = (err.problem && err.problem.errors) || [];
  for (const e of errors) {
    const el = [...f.elements].find((x) => x.name === e.field);
    const msg = el && el.dataset.errorId && document.getElementById(el.dataset.errorId);
    if (!msg) { rest.push(e.field + ": " + e.message); continue; }
    msg.textContent = e.message;
    msg.hidden = false;
    el.setAttribute("aria-invalid", "true");
    el.setAttribute("aria-describedby", msg.id);
  }
  if (!errors.length) rest.push(err.message);
  else if (rest.length) rest.unshift(err.problem.detail || "");
  const text = rest.filter(Boolean).join("; ");
  box.replaceChildren(h("div", { class: "error", role: "alert" }, text || "Correct the fields marked."));
}
function clearErrors(f, box) {
  box.replaceChildren();
  for (const el of f.elements) {
    if (!el.dataset || !el.dataset.errorId) continue;
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
    const msg = document.getElementById(el.dataset.errorId);
    if (msg) { msg.textContent = ""; msg.hidden = true; }
  }
}

// formValues are a form's named values (empty ones and unticked boxes left out).
function formValues(f) {
  const values = {};
  for (const el of f.elements) if (el.name && el.value !== "" && (el.type !== "checkbox" || el.checked)) values[el.name] = el.value;
  return values;
}

// form builds a form whose submit calls fn(values) and re-renders on success; the API's field errors are
// shown next to their fields. Each submission is a user action (see acting): submitted again with the same
// values (a double click, or a retry after a failure) it is the same action, with the same
// Idempotency-Keys; changed values make a new one.
function form(fields, label, fn, attrs = {}) {
  const errBox = h("div");
  const button = h("button", { type: "submit" }, label);
  const f = h("form", { class: "inline", ...attrs }, fields, button, errBox);
  let action = null;
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (button.disabled) return;
    const values = formValues(f);
    const sent = JSON.stringify(values);
    if (!action || action.values !== sent) action = { values: sent, id: randomID() };
    action.n = 0;
    button.disabled = true;
    let done;
    const at = location.hash;
    acting = action;
    try { done = Promise.resolve(fn(values)); } catch (err) { done = Promise.reject(err); } finally { acting = null; }
    // The screen is drawn again after the action, unless the action went elsewhere: the new address draws
    // its own screen (drawing it here too drew it twice, the second over the first).
    try { await done; action = null; if (location.hash === at) route(); } catch (err) { if (err.message !== "signed out") showErrors(f, errBox, err); } finally { button.disabled = false; }
  });
  return f;
}

// signIn shows the ways to sign in the deployment offers, why the last sign-in failed, if it did, or that
// the session ended (expired, or ended elsewhere) while the console was in use; signing in again returns
// to the screen the user was on.
let signInShown = false;
async function signIn(ended) {
  if (signInShown) return;
  signInShown = true;
  if (polling) { clearInterval(polling); polling = null; }
  if (streaming) { streaming.abort(); streaming = null; }
  document.getElementById("nav").hidden = true;
  document.getElementById("who").replaceChildren();
  const methods = await fetch(api + "/sign-in").then((r) => r.json()).catch(() => ({ token: true }));
  const failed = new URLSearchParams(location.search).get("signInError");
  const returnTo = "/ui/" + location.hash;
  show(h("div", { class: "card", id: "sign-in" }, h("h1", {}, "Sign in"),
    ended ? h("div", { class: "notice", role: "alert", id: "session-ended" },
      "Your session has ended. Sign in again to carry on where you were; nothing you saved is lost.") : null,
    failed ? h("div", { class: "error", role: "alert" }, failed === "refused" ? "Sign-in was refused; try again."
      : failed === "unavailable" ? "The directory could not be reached; try again shortly." : failed) : null,
    methods.entra ? h("p", {}, h("a", { class: "button", id: "sign-in-microsoft",
      href: api + "/sign-in/entra?returnTo=" + encodeURIComponent(returnTo) }, "Sign in with Microsoft")) : null,
    methods.ldap ? [h("h2", {}, "Directory account"), form([input("username", "User name", "text", { required: true, autocomplete: "username" }),
      input("password", "Password", "password", { required: true, autocomplete: "current-password" })], "Sign in",
    async (v) => { await call("POST", "/sign-in/ldap", v); me = null; history.replaceState(null, "", "/ui/" + location.hash); })] : null,
    h("h2", {}, "API token"),
    h("p", { class: "muted" }, "A token an administrator issued you (make run prints the demo tokens); the console keeps a session, not the token."),
    form([input("token", "API token", "password", { size: 60, required: true })], "Sign in", async (v) => {
      await call("POST", "/session", undefined, undefined, { Authorization: "Bearer " + v.token });
      me = null;
      history.replaceState(null, "", "/ui/" + location.hash);
    })));
}

async function signOut() {
  await call("DELETE", "/session").catch(() => null);
  me = null;
  signIn();
}

// The cases list is the work queue (queue.js); the case page is casepage.js, which uses the identity parts below.

const identityMismatches = { name: "Name differs from the person record",
  dateOfBirth: "Date of birth differs from the person record", documentExpired: "Document expired" };
const imageTypes = ["image/png", "image/jpeg"];
const maxImageBytes = 10 << 20;

function identityAttempt(a) {
  const mismatches = a.mismatches || [];
  const r = a.result;
  const row = (k, v, flag) => [h("dt", {}, k), h("dd", { class: flag && mismatches.includes(flag) ? "mismatch" : null },
    v === undefined || v === null || v === "" ? "—" : v)];
  const link = a.status === "pending" && /^https?:\/\//i.test(a.captureUrl || "")
    ? h("a", { href: a.captureUrl, target: "_blank", rel: "noopener noreferrer" }, a.captureUrl) : null;
  const deleted = a.dossierDeletedAt || a.processDeletedAt;
  return h("div", { class: "card" },
    h("h3", {}, "Attempt " + a.attempt, " · " + a.mode + " ", badge(a.status)),
    mismatches.map((m) => h("div", { class: "warning", role: "note" }, identityMismatches[m] || "Differs from the person record: " + m)),
    h("dl", { class: "grid" },
      row("Provider", [a.provider, a.processId ? [" · process ", h("code", {}, a.processId)] : ""]),
      row("Started", when(a.startedAt)),
      a.finishedAt ? row("Finished", when(a.finishedAt)) : row("Last update", when(a.updatedAt)),
      link ? row("Capture link", [link, h("div", { class: "muted" }, "Send it to the person by hand if they did not receive it.")]) : null,
      a.failReason ? row("Reason", a.failReason) : null,
      r ? [row("Name", [r.firstName, r.lastName].filter(Boolean).join(" "), "name"), row("Date of birth", r.dateOfBirth, "dateOfBirth"),
        row("Document", r.documentType), row("Document expiry", r.documentExpiry, "documentExpired"),
        row("Issuing country", r.issuingCountry), row("Nationality", r.nationality)] : null,
      a.evidenceSha256 ? row("Evidence SHA-256", [h("code", { class: "digest", title: a.evidenceSha256 }, a.evidenceSha256.slice(0, 16) + "…"),
        a.evidenceBytes ? h("span", { class: "muted" }, " " + a.evidenceBytes + " bytes") : "",
        has("vetting_officer", "security_controller")
          ? [" ", h("button", { type: "button", onclick: (ev) => downloadEvidence(a, ev.target) }, "Download (audited)")] : ""]) : null,
      deleted ? row("Provider copy", "Deleted at Signicat " + when(deleted)) : null));
}

// downloadEvidence saves an accepted attempt's result archive (a zip, as the provider gave it); the
// download is written to the audit log.
async function downloadEvidence(a, btn) {
  const res = await fetch(api + "/cases/" + encodeURIComponent(a.caseRef) + "/identity-checks/" + a.attempt + "/evidence",
    {});
  if (!res.ok) {
    const p = await res.json().catch(() => null);
    btn.after(failure(new Error((p && p.detail) || res.statusText)));
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  h("a", { href: url, download: "identity-" + a.caseRef + "-" + a.attempt + ".zip" }).click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// readImage checks a chosen image (PNG or JPEG, at most 10 MiB) and reads it as a data URL.
function readImage(field, file) {
  if (!imageTypes.includes(file.type)) return Promise.reject(new Error(field + ": must be a PNG or JPEG image"));
  if (file.size > maxImageBytes) return Promise.reject(new Error(field + ": must be at most 10 MiB"));
  return new Promise((resolve, reject) => {
    const rd = new FileReader();
    rd.onload = () => resolve(rd.result);
    rd.onerror = () => reject(new Error(field + ": could not be read"));
    rd.readAsDataURL(file);
  });
}

// identityUpload is the staff-attended form: the document type (the back is required for two-sided
// ones), the images, and submit, which sends them as data URLs.
function identityUpload(types, post) {
  const file = (name) => h("input", { name, type: "file", accept: imageTypes.join(",") });
  const files = { front: file("front"), back: file("back"), selfie: file("selfie") };
  files.front.required = files.selfie.required = true;
  const backLabel = h("span");
  const docType = h("select", { name: "documentType", required: true },
    types.map((t) => h("option", { value: t.documentType }, t.name || t.documentType)));
  const twoSided = () => (types.find((t) => t.documentType === docType.value) || {}).twoSided === true;
  const sides = () => {
    files.back.required = twoSided();
    backLabel.textContent = twoSided() ? "Back (required)" : "Back (if it has one)";
  };
  docType.addEventListener("change", sides);
  sides();
  const f = form([h("label", {}, "Document type", docType), h("label", {}, "Front (required)", files.front),
    h("label", {}, backLabel, files.back), h("label", {}, "Selfie (required)", files.selfie)], "Upload and verify", async (v) => {
    const key = nextKey(); // taken before the images are read
    const button = f.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = { documentType: v.documentType };
      for (const [name, el] of Object.entries(files)) {
        const chosen = el.files && el.files[0];
        if (chosen) body[name] = await readImage(name, chosen);
        else if (el.required) throw new Error(name + ": is required");
      }
      await post("/identity-check/images", body, key);
    } finally { button.disabled = false; }
  });
  return f;
}

// The persons list and a person's page are person.js; its live door events stream is streaming, which a change of
// page aborts (route).
let streaming = null;

// ---- messaging ----

const channels = ["sms", "whatsapp", "email"];
const messageStatuses = ["pending", "suppressed", "queued", "sent", "delivered", "read", "undelivered", "failed"];
// cost shows a provider's price (Twilio states it negative) as a cost.
const cost = (m) => (m.price ? Math.abs(Number(m.price)).toFixed(4) + " " + (m.priceUnit || "") : "—");
// messageLink is the console's address of a message; ids may hold slashes.
const messageLink = (id) => "#/messages/" + id.split("/").map(encodeURIComponent).join("/");
const messagePath = (id) => "/messages/" + id.split("/").map(encodeURIComponent).join("/");
const textarea = (name, label, extra = {}) => field(label, h("textarea", { name, rows: 3, cols: 50, ...extra }));
const options = (name, label, items, value, text) => field(label, h("select", { name },
  items.map((o) => h("option", { value: value(o) }, text(o)))));

// messageRows is a table of messages: when, channel, template, status (with why), cost.
function messageRows(items, withPerson) {
  return h("table", {}, h("tr", {}, ["Time", withPerson ? "Person" : null, "Channel", "Template", "Status", "Cost"]
    .filter(Boolean).map((t) => h("th", {}, t))),
    items.map((m) => h("tr", { class: "link", onclick: () => (location.hash = messageLink(m.id)) },
      h("td", {}, when(m.createdAt)),
      withPerson ? h("td", {}, m.personId ? h("a", { href: "#/persons/" + m.personId, onclick: (e) => e.stopPropagation() }, m.personName || "person") : "—") : null,
      h("td", {}, m.channel), h("td", {}, m.template + " v" + m.templateVersion),
      h("td", {}, badge(m.status), m.statusReason ? " " + m.statusReason : ""), h("td", {}, cost(m)))));
}

// messages is the outbox, filtered by channel, status and template, and the inbox.
async function messages(params) {
  const q = new URLSearchParams({ limit: "100" });
  for (const k of ["channel", "status", "template"]) if (params.get(k)) q.set(k, params.get(k));
  const [out, inbox, templates] = await Promise.all([call("GET", "/messages?" + q), call("GET", "/inbox?limit=100"),
    call("GET", "/message-templates")]);
  const names = [...new Set(templates.map((t) => t.name))];
  const filter = (name, label, values) => h("label", {}, label, h("select", { name },
    ["", ...values].map((v) => h("option", { value: v, selected: v === (params.get(name) || "") }, v || "any"))));
  const filters = h("form", { class: "inline" }, filter("channel", "Channel", channels), filter("status", "Status", messageStatuses),
    filter("template", "Template", names), h("button", { type: "submit" }, "Show"));
  filters.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = new URLSearchParams();
    for (const el of filters.elements) if (el.name && el.value) f.set(el.name, el.value);
    location.hash = "#/messages?" + f;
  });
  show(h("h1", {}, "Messages"), filters, h("p", { class: "muted" }, out.total + " messages"), messageRows(out.items, true),
    h("h2", {}, "Inbox"),
    inbox.items.length ? h("table", {}, h("tr", {}, ["Received", "From", "Person", "Channel", "Read as", "Message"].map((t) => h("th", {}, t))),
      inbox.items.map((m) => h("tr", {}, h("td", {}, when(m.receivedAt)), h("td", {}, m.sender),
        h("td", {}, m.personId ? h("a", { href: "#/persons/" + m.personId }, m.personName || "person") : "unknown"), h("td", {}, m.channel),
        h("td", {}, m.keyword ? badge(m.keyword) : "—", m.broadcastId ? [" ", h("a", { href: "#/broadcasts/" + m.broadcastId }, "broadcast")] : ""),
        h("td", {}, m.body)))) : h("p", { class: "muted" }, "Nothing received yet."));
}

async function messageDetail(id) {
  const m = await call("GET", messagePath(id));
  const row = (k, v) => [h("dt", {}, k), h("dd", {}, v === undefined || v === null || v === "" ? "—" : v)];
  show(h("h1", {}, "Message ", h("code", {}, m.id), " ", badge(m.status)),
    h("div", { class: "card" }, h("dl", { class: "grid" },
      row("Person", m.personId ? h("a", { href: "#/persons/" + m.personId }, m.personName || "open person") : null),
      row("Channel", m.channel), row("To", m.recipient), row("Template", m.template + " v" + m.templateVersion),
      row("Status", [m.status, m.statusReason ? " (" + m.statusReason + ")" : "", " since ", when(m.statusAt)]),
      row("Provider", m.provider ? m.provider + " " + (m.providerId || "") : null), row("Error code", m.errorCode),
      row("Cost", cost(m)), row("Segments", m.segments),
      row("Why", m.caseRef ? h("a", { href: "#/cases/" + m.caseRef }, "case " + m.caseRef)
        : m.broadcastId ? h("a", { href: "#/broadcasts/" + m.broadcastId }, "broadcast") : m.clearanceId ? "clearance " + m.clearanceId : null),
      row("Subject", m.subject), row("Text", h("div", { class: "pre" }, m.body)))),
    h("h2", {}, "History"),
    h("table", {}, h("tr", {}, ["At", "Event", "Status", "Provider's word", "Detail"].map((t) => h("th", {}, t))),
      m.events.map((e) => h("tr", {}, h("td", {}, when(e.at)), h("td", {}, h("code", {}, e.eventId)), h("td", {}, e.status ? badge(e.status) : "—"),
        h("td", {}, e.raw || "—"), h("td", {}, [e.errorCode ? "error " + e.errorCode + " " : "", e.reason || ""])))));
}

async function clearances(params) {
  const before = params.get("expiringBefore") || new Date(Date.now() + 180 * 864e5).toISOString().slice(0, 10);
  const list = await call("GET", "/clearances?" + new URLSearchParams({ status: "active", expiringBefore: before, limit: "200" }));
  show(h("h1", {}, "Clearance register"),
    form([input("expiringBefore", "Active, expiring before", "date", { value: before })], "Show",
      async (v) => { location.hash = "#/clearances?expiringBefore=" + v.expiringBefore; }),
    h("table", {}, h("tr", {}, ["Person", "Level", "Valid from", "Valid to", "Case"].map((t) => h("th", {}, t))),
      list.items.map((c) => h("tr", { class: "link", onclick: () => (location.hash = "#/persons/" + c.personId) },
        h("td", {}, h("a", { href: "#/persons/" + c.personId }, c.personName)), h("td", {}, c.level), h("td", {}, c.validFrom), h("td", {}, c.validTo), h("td", {}, c.sourceCaseRef || "—")))));
}

// evidencePacks lists the evidence packs with their builds' progress (read again every 2 seconds while
// the page shows), asks for a new one, and issues a signed, expiring link to a ready one, to copy.
async function evidencePacks() {
  const live = h("div");
  const errBox = h("div");
  const linkBox = h("div");
  const issue = async (p) => {
    try {
      const l = await call("POST", "/evidence/packs/" + p.id + "/link");
      const field = h("input", { id: "evidence-link", readonly: true, size: 80, value: l.url });
      linkBox.replaceChildren(h("div", { class: "card", role: "status" },
        h("strong", {}, "Download link" + (l.singleUse ? " (single use)" : "") + ", expires " + when(l.expiresAt)), " ",
        field, " ", h("button", { type: "button", onclick: async () => {
          field.select();
          if (navigator.clipboard) await navigator.clipboard.writeText(l.url).catch(() => null);
        } }, "Copy")));
    } catch (err) { linkBox.replaceChildren(failure(err)); }
  };
  const subject = (s) => s.kind === "range" ? "range " + date(s.from) + " – " + date(new Date(Date.parse(s.to) - 864e5).toISOString())
    : s.kind + " " + s.id;
  const refresh = async () => {
    const list = await call("GET", "/evidence/packs?limit=50");
    errBox.replaceChildren();
    live.replaceChildren(list.items.length ? h("table", { id: "evidence-packs" },
      h("tr", {}, ["Requested", "Of", "For role", "Status", "Progress", "Size", ""].map((t) => h("th", {}, t))),
      list.items.map((p) => h("tr", {}, h("td", {}, when(p.createdAt)), h("td", {}, subject(p.subject)), h("td", {}, p.requesterRole),
        h("td", {}, badge(p.status), p.error ? " " + p.error : ""),
        h("td", {}, p.percent + "% · " + p.entries + " / " + p.total + " audit entries · " + p.records + " records",
          p.unsequenced ? " · " + p.unsequenced + " left for a later pack" : ""),
        h("td", {}, p.size ? (p.size / 1048576).toFixed(2) + " MB" : "—"),
        h("td", {}, p.status === "ready" && !(p.singleUse && p.usedAt)
          ? h("button", { type: "button", class: "link-button", onclick: () => issue(p) }, "Copy link") : p.usedAt ? "used" : ""))))
      : h("p", { class: "muted" }, "No evidence packs yet."));
  };
  await refresh();
  show(h("h1", {}, "Evidence packs"),
    h("p", { class: "muted" }, "A zip of the records as your role sees them, every audit entry with its proof, a summary and a signed manifest; check it with signetassure evidence verify."),
    form([select("kind", "Of", ["person", "case", "supplier", "range"]), input("id", "Id or case reference"),
      input("from", "From", "date"), input("to", "To (included)", "date"), input("linkLifetime", "Link lifetime", "text", { placeholder: "24h", size: 6 }),
      h("label", {}, h("input", { name: "singleUse", type: "checkbox", value: "true" }), " single use")], "Request pack",
    (v) => call("POST", "/evidence/packs", { ...v, singleUse: v.singleUse === "true" ? true : undefined })),
    linkBox, errBox, live);
  polling = setInterval(() => refresh().catch((err) => errBox.replaceChildren(failure(err))), 2000);
}

// notifications() is in admin.js; broadcasts and contact groups are broadcasts.js.

// polling is the interval a live page reads itself again by; route() clears it when the page changes.
let polling = null;

// screens are the screens of the other files (admin.js, …) by the first part of the route: each file adds
// its own, screens[name](params, parts); a navigation link with data-roles shows only to those roles.
const screens = {};
// publicScreens are drawn without signing in (their address carries its own credential): a traveller's
// link.
const publicScreens = {};

// route draws the screen the address names. Drawings take turns: one asked for while another reads waits
// for it (up to routeWait), so a slow screen does not draw over the one asked for after it; of the drawings
// waiting, only the newest is drawn. While it reads, the main area is marked busy, and after a moment the
// header says so, leaving what is on the screen in place.
const routeWait = 5000;
let routing = Promise.resolve();
let routeAsked = 0;
function route() {
  const asked = ++routeAsked;
  const draw = () => (asked === routeAsked ? drawRoute() : undefined);
  const before = Promise.race([routing, new Promise((done) => setTimeout(done, routeWait))]);
  routing = before.then(draw, draw);
  return routing;
}
async function drawRoute() {
  if (streaming) { streaming.abort(); streaming = null; }
  if (polling) { clearInterval(polling); polling = null; }
  const busy = document.getElementById("busy");
  const slow = setTimeout(() => { busy.hidden = false; }, 300);
  main.setAttribute("aria-busy", "true");
  try {
    const open = publicScreens[location.hash.split("/")[1]];
    if (open) return await open(location.hash.split("/").slice(2).join("/"));
    if (!me) [me] = await Promise.all([call("GET", "/me"), loadOrganisationZone()]);
    signInShown = false;
    document.getElementById("nav").hidden = false;
    for (const a of document.querySelectorAll("#nav a[data-roles]")) a.hidden = !has(...a.dataset.roles.split(" "));
    document.getElementById("who").replaceChildren(h("a", { href: "#/account" }, me.displayName), " (" + me.roles.join(", ") + ") ",
      h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"));
    const [path, query] = (location.hash.slice(1) || "/cases").split("?");
    const params = new URLSearchParams(query || "");
    const parts = path.split("/").filter(Boolean);
    for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === "#/" + parts[0]);
    if (parts[0] === "cases" && parts[1]) return await caseDetail(parts[1]);
    if (parts[0] === "clearances") return await clearances(params);
    if (parts[0] === "messages" && parts[1]) return await messageDetail(parts.slice(1).map(decodeURIComponent).join("/"));
    if (parts[0] === "messages") return await messages(params);
    if (parts[0] === "notifications") return await notifications();
    if (parts[0] === "evidence") return await evidencePacks();
    if (parts[0] === "account") return await account();
    if (screens[parts[0]]) return await screens[parts[0]](params, parts);
    if (parts[0] === "users" && parts[1]) return await userDetail(parts[1]);
    if (parts[0] === "users") return await users();
    return await workQueue(params);
  } catch (err) {
    if (err.message !== "signed out") show(failure(err));
  } finally {
    clearTimeout(slow);
    busy.hidden = true;
    main.removeAttribute("aria-busy");
    focusScreen();
  }
}

// focusScreen moves the keyboard focus to the screen's heading when another screen is drawn, or when
// what had the focus was drawn away (a form's button, after it was submitted), so that keyboard and
// screen reader users start on the screen they opened, not at the top of the page or nowhere.
let lastScreen = null;
function focusScreen() {
  const screen = location.hash.split("?")[0];
  if (screen === lastScreen && document.activeElement && document.activeElement !== document.body) return;
  lastScreen = screen;
  const heading = main.querySelector("h1");
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
}

// The scopes a token may be given, and the roles.
const scopes = ["cases:read", "cases:write", "access:read", "access:write", "messaging:read", "messaging:send",
  "partners:admin", "audit:read", "users:admin", "organisation:admin", "events:read", "webhooks:admin"];
const roles = ["case_worker", "vetting_officer", "security_controller", "admin", "auditor"];
const checkboxes = (name, options, checked = []) => h("fieldset", { class: "choices" }, h("legend", {}, name),
  options.map((o) => h("label", {}, h("input", { type: "checkbox", name: name + ":" + o, checked: checked.includes(o) }), o)));
const chosen = (values, name) => Object.keys(values).filter((k) => k.startsWith(name + ":")).map((k) => k.slice(name.length + 1));
const inDays = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
const endOfDay = (d) => new Date(d + "T23:59:59Z").toISOString().replace(".000", "");

// tokenTable lists tokens (never their secrets) with revoke (and, for one's own, rotate) buttons.
function tokenTable(tokens, base, own) {
  return h("table", { id: "tokens" }, h("tr", {}, ["Name", "Prefix", "Scopes", "Status", "Created", "Last used", "Expires", ""].map((t) => h("th", {}, t))),
    tokens.map((t) => h("tr", {}, h("td", {}, t.name), h("td", {}, h("code", {}, t.prefix || "—")),
      h("td", {}, t.scopes ? t.scopes.join(" ") : "all of the roles'"), h("td", {}, badge(t.status)), h("td", {}, when(t.createdAt)),
      h("td", {}, when(t.lastUsedAt)), h("td", {}, when(t.expiresAt)),
      h("td", {}, t.status === "active" ? [
        form([], "Revoke", () => call("DELETE", base + "/" + t.id)),
        own && t.expiresAt ? form([], "Rotate", async () => shown(await call("POST", base + "/" + t.id + "/rotate", {}))) : null] : null))));
}

// issued is a token just issued, whose secret the page shows once, when it is drawn next.
let issued = null;
const shown = (t) => { issued = t; };
function secretOnce() {
  const t = issued;
  issued = null;
  return t ? h("div", { class: "card secret", role: "status" }, h("strong", {}, "Token " + t.name + ": copy it now, it is not shown again"),
    h("pre", { id: "token-secret" }, t.token)) : null;
}

async function account() {
  const [tokens, sessions] = await Promise.all([call("GET", "/me/tokens"), call("GET", "/me/sessions")]);
  const box = secretOnce();
  show(h("h1", {}, "My account"), h("p", {}, me.email, " · ", me.directory === "local" ? "local account" : "signs in with " + me.directory),
    h("h2", {}, "API tokens"), box, tokenTable(tokens, "/me/tokens", true),
    h("h3", {}, "Issue a token"),
    form([input("name", "Name", "text", { required: true, maxlength: 100 }), input("expires", "Expires on", "date", { required: true, value: inDays(30) }),
      checkboxes("scope", scopes, ["cases:read"])], "Issue",
    async (v) => shown(await call("POST", "/me/tokens", { name: v.name, expiresAt: endOfDay(v.expires), scopes: chosen(v, "scope") }))),
    h("h2", {}, "Sessions"),
    h("table", { id: "sessions" }, h("tr", {}, ["Signed in", "How", "Last seen", "Ends by", "Status"].map((t) => h("th", {}, t))),
      sessions.map((s) => h("tr", {}, h("td", {}, when(s.createdAt)), h("td", {}, s.method), h("td", {}, when(s.lastSeenAt)),
        h("td", {}, when(s.expiresAt)), h("td", {}, s.current ? "this session" : s.endedAt ? "ended (" + s.endReason.replace(/_/g, " ") + ")" : "live")))),
    form([], "Sign out everywhere", async () => { await call("DELETE", "/me/sessions"); me = null; }));
}

async function users() {
  const [active, inactive] = await Promise.all([call("GET", "/users"), call("GET", "/users?active=false")]);
  const row = (u) => h("tr", { class: "link", onclick: () => (location.hash = "#/users/" + u.id) }, h("td", {}, u.displayName), h("td", {}, u.email),
    h("td", {}, u.roles.join(", ")), h("td", {}, u.directory), h("td", {}, u.active ? "active" : "deactivated"), h("td", {}, when(u.lastSignInAt)));
  show(h("h1", {}, "Users"),
    h("table", { id: "users" }, h("tr", {}, ["Name", "E-mail", "Roles", "Signs in with", "Status", "Last sign-in"].map((t) => h("th", {}, t))),
      active.map(row), inactive.map(row)),
    h("h2", {}, "Add a user"),
    h("p", { class: "muted" }, "A directory user is linked at their first sign-in by e-mail; their roles then come from their directory groups."),
    form([input("displayName", "Name", "text", { required: true }), input("email", "E-mail", "email", { required: true }),
      select("directory", "Signs in with", ["local", "entra", "ldap"]), checkboxes("role", roles)], "Add",
    (v) => call("POST", "/users", { displayName: v.displayName, email: v.email, directory: v.directory, roles: chosen(v, "role") })));
}

async function userDetail(id) {
  const [u, tokens, sessions] = await Promise.all([call("GET", "/users/" + id), call("GET", "/users/" + id + "/tokens"),
    call("GET", "/users/" + id + "/sessions")]);
  const box = secretOnce();
  const live = sessions.filter((s) => !s.endedAt).length;
  show(h("h1", {}, u.displayName), h("p", {}, u.email, " · ", u.directory, " · ", u.active ? "active" : "deactivated"),
    h("h2", {}, "Roles"),
    form([checkboxes("role", roles, u.roles)], "Save roles", (v) => call("PATCH", "/users/" + id, { roles: chosen(v, "role") })),
    h("h2", {}, "Access"),
    u.active ? form([], "Deactivate (ends their sessions and tokens now)", () => call("PATCH", "/users/" + id, { active: false }))
      : form([], "Reactivate", () => call("PATCH", "/users/" + id, { active: true })),
    form([], "End their " + live + " live session(s)", () => call("DELETE", "/users/" + id + "/sessions")),
    h("h2", {}, "API tokens"), box, tokenTable(tokens, "/users/" + id + "/tokens", false),
    u.active ? [h("h3", {}, "Issue a token to hand over"),
      form([input("name", "Name", "text", { required: true }), input("expires", "Expires on", "date", { required: true, value: inDays(7) }),
        checkboxes("scope", scopes, ["cases:read"])], "Issue",
      async (v) => shown(await call("POST", "/users/" + id + "/tokens", { name: v.name, expiresAt: endOfDay(v.expires), scopes: chosen(v, "scope") })))] : null);
}

window.addEventListener("hashchange", route);
// The first page is drawn once every script after this one (the screens files) has run.
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", route); else route();
