// SignetAssure console: the case page (route() calls caseDetail by name). It uses app.js's identity parts
// (identityAttempt, identityUpload) and queue.js's statuses in words, so it is loaded after both. The page
// reads the case and its identity checks again every two seconds while it is open (route() stops it by
// clearing `polling`) and redraws what changed: the summary, the timeline and the identity check at once,
// the actions only when the case's status or owner changed, so that what is being typed into a form is
// kept. Every value from the API is put on the page as text.
"use strict";

const caseOutcomeWords = { cleared: "Cleared", with_advisory: "Cleared with advisory", refused: "Refused", withdrawn: "Withdrawn" };
const casePollEvery = 2000;

// caseBadge is a status in words, coloured by its code.
const caseBadge = (s) => wordBadge(caseStatusWords, s);

// caseAddPeriod is the ISO date period (years, months, days) after the ISO date from, as the server's
// calendar counts it (a 29 February plus a year is 1 March).
function caseAddPeriod(from, p) {
  const d = new Date(from + "T00:00:00Z");
  if (isNaN(d)) return "";
  d.setUTCFullYear(d.getUTCFullYear() + (p.years || 0), d.getUTCMonth() + (p.months || 0), d.getUTCDate() + (p.days || 0));
  return d.toISOString().slice(0, 10);
}

// caseOutcomeForm records the outcome in two steps: the form, whose level starts at the case's requested
// level and whose expiry follows the level's policy (CLEARANCE_MAX_VALIDITY, from the case's validity),
// then a summary naming the person, outcome, level and dates, recorded only on Confirm. One intended
// action has one Idempotency-Key: Confirm clicked twice, or again after a failure, records once.
function caseOutcomeForm(c, post) {
  const policies = c.validity && c.validity.length ? c.validity
    : [{ level: c.requestedLevel, validFrom: today(), period: {} }];
  const policy = (level) => policies.find((p) => p.level === level) || policies[0];
  const outcome = h("select", { name: "outcome", id: "outcome-outcome" },
    Object.entries(caseOutcomeWords).map(([v, w]) => h("option", { value: v }, w)));
  const level = h("select", { name: "level", id: "outcome-level" },
    policies.map((p) => h("option", { value: p.level, selected: p.level === c.requestedLevel }, p.level)));
  level.value = policy(c.requestedLevel).level;
  const from = h("input", { name: "validFrom", id: "outcome-valid-from", type: "date", value: policy(level.value).validFrom, required: true });
  const to = h("input", { name: "validTo", id: "outcome-valid-to", type: "date", value: policy(level.value).validTo || "", required: true });
  const hint = h("span", { class: "muted", id: "outcome-policy" });
  let toChanged = false; // the officer typed an expiry of their own: the policy no longer moves it
  const follow = () => {
    const p = policy(level.value);
    hint.textContent = p.maxValidity ? p.level + " clearances are valid for at most " + p.maxValidity + "." : "";
    if (!toChanged && p.period && from.value) to.value = caseAddPeriod(from.value, p.period) || to.value;
  };
  const grants = () => outcome.value === "cleared" || outcome.value === "with_advisory";
  const clearanceFields = h("span", { class: "clearance-fields" }, field("Level", level), field("Valid from", from),
    field("Expires (valid to)", to));
  const toggle = () => {
    clearanceFields.hidden = !grants();
    for (const el of [level, from, to]) { el.disabled = !grants(); el.required = grants() && el !== level; }
  };
  level.addEventListener("change", () => { toChanged = false; follow(); });
  from.addEventListener("change", follow);
  to.addEventListener("input", () => { toChanged = true; });
  outcome.addEventListener("change", toggle);
  follow();
  toggle();

  const errBox = h("div");
  const review = h("button", { type: "submit", id: "outcome-review" }, "Review outcome");
  const f = h("form", { class: "inline", id: "outcome-form" }, field("Outcome", outcome), clearanceFields, review, hint, errBox);
  const confirmBox = h("div", { class: "card confirm", id: "outcome-confirm", hidden: true, role: "dialog", "aria-labelledby": "outcome-confirm-title" });
  let action = null;
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(f, errBox);
    const v = formValues(f);
    if (!grants()) { delete v.level; delete v.validFrom; delete v.validTo; }
    const sent = JSON.stringify(v);
    if (!action || action.values !== sent) action = { values: sent, id: randomID() };
    const confirm = h("button", { type: "button", id: "outcome-confirm-button" }, "Confirm");
    const back = h("button", { type: "button", class: "secondary", id: "outcome-back" }, "Back");
    const sending = h("div");
    const row = (k, val, id) => [h("dt", {}, k), h("dd", { id }, val)];
    confirmBox.replaceChildren(h("h3", { id: "outcome-confirm-title" }, "Record this outcome?"),
      h("dl", { class: "grid", id: "outcome-summary" },
        row("Person", c.personName || "the subject", "outcome-summary-person"),
        row("Case", c.caseRef + " (" + c.type + ", requested " + c.requestedLevel + ")"),
        row("Outcome", caseOutcomeWords[v.outcome] || v.outcome, "outcome-summary-outcome"),
        grants() ? [row("Level", v.level, "outcome-summary-level"), row("Valid from", v.validFrom || "—", "outcome-summary-from"),
          row("Expires", v.validTo || "—", "outcome-summary-to")] : null),
      grants() && v.level !== c.requestedLevel
        ? h("div", { class: "warning", role: "note" }, "The level is lower than the " + c.requestedLevel + " the case was opened at.") : null,
      h("p", {}, confirm, " ", back), sending);
    const mine = action;
    confirm.addEventListener("click", async () => {
      if (confirm.disabled) return;
      confirm.disabled = back.disabled = true;
      sending.replaceChildren(h("span", { class: "muted", role: "status" }, "Recording…"));
      try {
        await post("/outcome", v, mine.id);
        action = null;
        route();
      } catch (err) {
        if (err.message === "signed out") return;
        confirmBox.hidden = true;
        f.hidden = false;
        showErrors(f, errBox, err);
      } finally { confirm.disabled = back.disabled = false; sending.replaceChildren(); }
    });
    back.addEventListener("click", () => { confirmBox.hidden = true; f.hidden = false; review.focus(); });
    f.hidden = true;
    confirmBox.hidden = false;
    confirm.focus();
  });
  return h("div", { id: "outcome" }, h("h3", {}, "Outcome"), f, confirmBox);
}

// caseDelegationForm hands the case to an active partner site, with the day its outcome is due.
async function caseDelegationForm(post) {
  let sites;
  try { sites = (await call("GET", "/partners")).filter((s) => s.status === "active"); } catch (err) {
    if (!err.status) throw err;
    return null;
  }
  if (!sites.length) return null;
  const picker = h("select", { name: "siteId", id: "delegation-site", required: true },
    h("option", { value: "" }, "Choose a partner site"), sites.map((s) => h("option", { value: s.id }, s.orgName)));
  return [h("h3", {}, "Delegate to a partner"),
    form([field("Partner site", picker), input("dueDate", "Outcome due", "date", { required: true })], "Delegate",
      (v) => post("/delegation", v), { id: "delegation-form" })];
}

// caseActions are the forms the user may use on the case as it is.
async function caseActions(c, post) {
  const closed = closedStatuses.includes(c.status);
  const out = [];
  if (!closed && has("vetting_officer") && c.ownerId !== me.id)
    out.push(form([], "Assign to me", () => post("/owner", { ownerId: me.id })));
  if (!closed && has("case_worker", "vetting_officer", "security_controller"))
    out.push(form([input("text", "Note", "text", { size: 50, required: true })], "Add note", (v) => post("/notes", v)));
  if (c.status === "with_officer" && has("case_worker", "vetting_officer"))
    out.push(form([input("description", "Information needed from the subject", "text", { size: 40, required: true }),
      input("dueDate", "Due", "date", { required: true })], "Request information", (v) => post("/information-requests", v),
    { id: "information-request-form" }));
  if (c.status === "awaiting_information" && has("case_worker", "vetting_officer"))
    out.push(form([input("note", "The subject's answer (note)", "text", { size: 50 })], "Information received",
      (v) => post("/information-received", v), { id: "information-received-form" }));
  if (c.status === "with_officer" && has("case_worker", "vetting_officer", "security_controller"))
    out.push(await caseDelegationForm(post));
  if (!closed && has("vetting_officer") && c.ownerId === me.id) out.push(caseOutcomeForm(c, post));
  return out.filter(Boolean);
}

// caseSummary is what the case is and where it stands, with names for the people and partners.
function caseSummary(c) {
  const row = (k, v, id) => [h("dt", {}, k), h("dd", { id }, v)];
  const staff = (name, id) => (id ? (id === me.id ? (name || "you") + " (you)" : name || "a former user") : "—");
  return h("dl", { class: "grid" },
    row("Person", h("a", { href: "#/persons/" + c.personId }, c.personName || "the subject"), "case-person"),
    row("Status", caseBadge(c.status), "case-status"),
    row("Type / level", c.type + " / " + c.requestedLevel),
    row("Owner", staff(c.ownerName, c.ownerId), "case-owner"),
    row("Opened", date(c.openedAt) + (c.openedBy ? " by " + staff(c.openedByName, c.openedBy) : "")),
    row("Due", [date(c.dueAt), c.escalatedAt ? " (escalated)" : ""]),
    row("Issuing authority", c.issuingAuthority),
    c.infoRequested ? row("Information requested", ["“" + c.infoRequested + "”", c.infoDueAt ? " — due " + date(c.infoDueAt) : ""], "case-info-requested") : null,
    c.delegatedSiteId ? row("Delegated to", [c.delegatedSiteName || "a partner site", c.delegationDueAt ? " — outcome due " + date(c.delegationDueAt) : ""], "case-delegated") : null,
    c.forSiteId ? row("Checked for", [c.forSiteName || "a partner site", c.forCaseRef ? " (their case " + c.forCaseRef + ")" : ""]) : null,
    c.outcome ? row("Outcome", (caseOutcomeWords[c.outcome] || c.outcome) +
      (c.outcomeLevel ? " at " + c.outcomeLevel + ", valid " + c.validFrom + " to " + c.validTo : ""), "case-outcome") : null);
}

// caseEventDetail is what an event carries beyond its summary: the text of a request, an answer, a note,
// the owner and partner named.
function caseEventDetail(e) {
  const d = e.detail || {};
  const quote = (label, text) => h("div", { class: "event-text" }, h("span", { class: "muted" }, label + ": "), "“" + text + "”");
  switch (e.kind) {
    case "information_requested": return d.description ? quote("Request", d.description) : null;
    case "information_received": return d.note ? quote("Answer", d.note) : null;
    case "note": return d.text ? quote("Note", d.text) : null;
    case "owner_assigned": return d.ownerName ? h("div", {}, "Owner: " + d.ownerName) : null;
    case "recording_failed": return d.reason ? h("div", { class: "muted" }, d.reason) : null;
    default: return d.text ? quote("Note", d.text) : null;
  }
}

function caseTimeline(c) {
  return [h("h2", {}, "Timeline"), h("ol", { class: "timeline", id: "case-timeline-list" }, c.timeline.map((e) =>
    h("li", { "data-kind": e.kind }, h("span", { class: "muted" }, when(e.at) + " · " + (e.actorName || (e.actorId ? "a former user" : "system")) + " · "),
      e.summary, caseEventDetail(e))))];
}

async function caseDetail(ref) {
  const path = "/cases/" + encodeURIComponent(ref);
  const post = (p, body, key) => call("POST", path + p, body, key);
  const load = () => Promise.all([call("GET", path), call("GET", path + "/identity-checks")]);
  const title = h("h1", { id: "case-title" });
  const summary = h("div", { class: "card", id: "case-summary" });
  const actions = h("div", { id: "case-actions" });
  const identity = h("div", { id: "case-identity" });
  const events = h("section", { id: "case-timeline" });
  const live = h("p", { class: "muted", id: "case-live", role: "status", "aria-live": "polite" });
  const drawn = {};
  // paint redraws what changed since the last drawing; the actions only when the status or owner did.
  const paint = async (c, checks) => {
    title.replaceChildren("Case " + c.caseRef + " ", caseBadge(c.status));
    summary.replaceChildren(caseSummary(c));
    const actionsKey = [c.status, c.ownerId, c.validity && c.validity.map((v) => v.validTo).join()].join("|");
    if (drawn.actions !== actionsKey) {
      const list = await caseActions(c, post);
      actions.replaceChildren(list.length ? h("div", { class: "card" }, h("h2", {}, "Actions"), list) : "");
      drawn.actions = actionsKey;
    }
    // Not redrawn for a later "last update" alone: images chosen for the staff-attended check are kept.
    const identityKey = c.status + "|" + JSON.stringify(checks, (k, v) => (k === "updatedAt" ? undefined : v));
    if (drawn.identity !== identityKey) {
      identity.replaceChildren((await identitySection(c, checks, post)) || "");
      drawn.identity = identityKey;
    }
    if (drawn.version !== c.version) {
      events.replaceChildren(...caseTimeline(c));
      drawn.version = c.version;
    }
  };
  const [c, checks] = await load();
  await paint(c, checks.items);
  live.textContent = "Updates as it changes.";
  show(title, summary, actions, identity, events, live);
  let busy = false;
  const timer = setInterval(async () => {
    if (polling !== timer) { clearInterval(timer); return; } // another drawing of the page took over
    if (busy) return;
    busy = true;
    try {
      const [c2, ch2] = await load();
      if (polling === timer) await paint(c2, ch2.items);
      live.textContent = "Updates as it changes.";
    } catch (err) {
      if (err.status) live.textContent = "Could not refresh: " + err.message;
      else if (err.message !== "signed out") live.textContent = "Could not refresh; trying again.";
    } finally { busy = false; }
  }, casePollEvery);
  polling = timer;
}

// identitySection is the case's identity check: each attempt (the latest first), a button to start a new
// attempt once the last has finished while the case is with the officer, and the staff-attended upload
// form while the check waits for the subject. Nothing when the case has had no identity check; it shows
// as soon as the first attempt exists, the page being read again while open.
async function identitySection(c, attempts, post) {
  if (!attempts.length) return null;
  const latest = attempts[0];
  const worker = has("case_worker", "vetting_officer");
  const actions = [];
  if (worker && c.status === "with_officer" && !["pending", "processing"].includes(latest.status))
    actions.push(form([], "Retry identity check", () => post("/identity-check/retry")));
  if (worker && c.status === "identity_check" && latest.status === "pending") {
    try {
      const types = (await call("GET", "/identity/document-types")).items;
      actions.push(h("h3", {}, "Staff-attended check"),
        h("p", { class: "muted" }, "Upload photographs of the person's document and face (PNG or JPEG, at most 10 MiB each) to verify them now."),
        types.length ? identityUpload(types, post) : h("p", { class: "muted" }, "The provider offers no document types."));
    } catch (err) {
      if (!err.status) throw err; // signed out
      if (err.status !== 409) actions.push(failure(err)); // 409: no provider configured, so no upload
    }
  }
  return h("section", { id: "identity-check" }, h("h2", {}, "Identity check"), attempts.map(identityAttempt),
    actions.length ? h("div", { class: "card" }, actions) : null);
}
