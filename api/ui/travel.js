// SignetAssure console: foreign travel (issue 17). Trips listed (by status, or one person's), a trip
// reported for a person, and a trip's page with what its policy asks, its actions (briefing acknowledged,
// approval or refusal, change, cancel, debrief) and its timeline. Loaded after app.js, whose helpers (h,
// call, form, field, input, textarea, show, date, when, has, wordBadge) it uses; every value is
// put on the page as text.
"use strict";

Object.assign(screens, {
  travel: (params, parts) => (parts[1] === "new" ? tripReport(params) : parts[1] ? tripPage(parts[1]) : tripList(params)),
});
publicScreens["trip-link"] = (token) => tripLinkPage(token);

const tripStatusWords = { pending: "Awaiting briefing or approval", ready: "Ready to travel", away: "Away",
  debrief_due: "Debrief due", closed: "Closed", refused: "Refused", cancelled: "Cancelled" };
const tripStepWords = { "travel.reported": "Reported", "travel.changed": "Changed", "travel.briefed": "Briefing acknowledged",
  "travel.decided": "Decided", "travel.cancelled": "Cancelled", "travel.departed": "Departed", "travel.returned": "Returned",
  "travel.debriefed": "Debriefed", "travel.aftercare": "Aftercare case opened" };

// tripFieldErrors puts "countries[2]" errors on the one countries field of the console's forms.
async function tripFieldErrors(fn) {
  try { return await fn(); } catch (err) {
    for (const e of (err.problem && err.problem.errors) || []) e.field = e.field.replace(/^countries\[\d+\]$/, "countries");
    throw err;
  }
}

const tripCountries = (v) => (v || "").split(/[\s,]+/).filter(Boolean).map((c) => c.toUpperCase());
const tripDetails = (v) => ({ countries: tripCountries(v.countries), departsOn: v.departsOn, returnsOn: v.returnsOn,
  purpose: v.purpose, companions: v.companions, devices: (v.devices || "").split(",").map((d) => d.trim()).filter(Boolean) });

// tripChoice is a select of choices (value and words), the one chosen selected.
const tripChoice = (name, label, choices, chosen) => field(label, h("select", { name },
  choices.map(([v, words]) => h("option", { value: v, selected: v === chosen }, words))));

// tripFields are the fields of a trip's report (or change), filled with trip t when given.
const tripFields = (t = {}) => [
  input("countries", "Destinations (ISO country codes, e.g. FR CN)", "text", { required: true, size: 24, value: (t.countries || []).join(" ") }),
  input("departsOn", "Departs on", "date", { required: true, value: t.departsOn || "" }),
  input("returnsOn", "Returns on (last day away)", "date", { required: true, value: t.returnsOn || "" }),
  textarea("purpose", "Purpose", { required: true }),
  tripChoice("companions", "Travelling", [["alone", "Alone"], ["with_others", "With others"]], t.companions || "alone"),
  input("devices", "Devices taken (comma-separated)", "text", { size: 30, value: (t.devices || []).join(", ") })];

// tripList lists trips: those of one person (personId), or by status (open ones by default).
async function tripList(params) {
  const person = params.get("personId");
  const status = params.get("status") || (person ? "" : "pending,ready,away,debrief_due");
  const q = new URLSearchParams({ limit: "100" });
  if (person) q.set("personId", person);
  if (status) q.set("status", status);
  const res = await call("GET", "/travel/trips?" + q);
  show(h("h1", {}, "Foreign travel"),
    h("p", {}, "Show: ", ...[["Open", "pending,ready,away,debrief_due"], ["Awaiting briefing or approval", "pending"],
      ["Debrief due", "debrief_due"], ["Closed", "closed,refused,cancelled"]].map(([label, s]) =>
      h("a", { href: "#/travel?status=" + s + (person ? "&personId=" + person : ""), class: "filter" }, label, " "))),
    res.items.length ? h("table", { id: "trips" },
      h("tr", {}, ["Traveller", "Destinations", "Departs", "Returns", "Clearance", "Status"].map((t) => h("th", { scope: "col" }, t))),
      res.items.map((t) => h("tr", {}, h("td", {}, h("a", { href: "#/travel/" + t.id }, t.personName || "Trip")),
        h("td", {}, t.countries.join(", ")), h("td", {}, date(t.departsOn)), h("td", {}, date(t.returnsOn)),
        h("td", {}, t.level || "none"), h("td", {}, wordBadge(tripStatusWords, t.status)))))
      : h("p", { class: "muted" }, "No trips."),
    person ? h("p", {}, h("a", { href: "#/travel/new?personId=" + person, id: "report-trip" }, "Report a trip for this person")) : null);
}

// tripReport reports a trip for the person named by personId.
async function tripReport(params) {
  const person = params.get("personId") || "";
  const p = person ? await call("GET", "/persons/" + encodeURIComponent(person)) : null;
  show(h("h1", {}, p ? "Report a trip for " + p.firstName + " " + p.lastName : "Report a trip"),
    form([person ? null : input("personId", "Person id", "text", { required: true, size: 36 }), ...tripFields()], "Report the trip",
      (v) => tripFieldErrors(async () => {
        const t = await call("POST", "/travel/trips", { personId: person || v.personId, ...tripDetails(v) });
        location.hash = "#/travel/" + t.id;
      }), { id: "trip-report" }));
}

// tripLinkAnswered is the link just answered: it is used, so its page thanks the traveller rather than
// reading it again.
let tripLinkAnswered = null;

// tripLinkPage is the traveller's own page, from the link they were sent (no sign-in): their trip, and
// the briefing to acknowledge or the debrief to give.
async function tripLinkPage(token) {
  if (tripLinkAnswered === token) {
    return show(h("h1", {}, "Your trip"), h("p", { id: "trip-link-done", role: "status" }, "Thank you: your answer is recorded. You can close this page."));
  }
  const path = "/travel/link/" + encodeURIComponent(token);
  const t = await call("GET", path);
  const send = (body) => call("POST", path, body).then(() => { tripLinkAnswered = token; });
  const yesNo = (name, label) => tripChoice(name, label, [["no", "No"], ["yes", "Yes"]], "no");
  show(h("h1", {}, "Your trip"),
    h("p", { id: "trip-link-trip" }, t.countries.join(", "), " · ", date(t.departsOn), " to ", date(t.returnsOn)),
    t.done ? h("p", { role: "status" }, "Nothing more is needed for this trip.")
      : t.purpose === "briefing" ? form([field("I was given the security briefing for this trip and understood it ",
        h("input", { type: "checkbox", name: "acknowledged" }))], "Acknowledge the briefing",
      (v) => send({ acknowledged: !!v.acknowledged }), { id: "trip-link-form" })
        : form([yesNo("officialContact", "Did you have contact with foreign officials beyond the routine?"),
          yesNo("approach", "Were you approached for information, or in a way that concerned you?"),
          yesNo("incident", "Was there a security incident (detained, searched, belongings tampered with)?"),
          yesNo("deviceLost", "Was a device lost, taken or out of your sight?"), textarea("details", "Anything else")],
        "Send the debrief", (v) => send({ officialContact: v.officialContact === "yes", approach: v.approach === "yes",
          incident: v.incident === "yes", deviceLost: v.deviceLost === "yes", details: v.details || "" }), { id: "trip-link-form" }),
    h("p", { class: "muted" }, "This link is yours alone and works once, until " + when(t.expiresAt) + "."));
}

// tripRequires says in words what the policy asks of the trip.
function tripRequires(t) {
  if (!t.policyApplies) return "No travel policy applies: the traveller holds no clearance.";
  const r = t.requires, asks = [];
  if (r.briefing) asks.push("a briefing before departure" + (t.briefedAt ? " (acknowledged " + when(t.briefedAt) + ")" : ""));
  if (r.approval) asks.push("a security controller's approval" + (t.decision ? " (" + t.decision + " " + when(t.decidedAt) + ")" : ""));
  if (r.debriefDays) asks.push("a debrief within " + r.debriefDays + " days of return" + (t.debriefedAt ? " (given " + when(t.debriefedAt) + ")" : ""));
  return (asks.length ? "Policy v" + t.policyVersion + " at " + t.level + " asks for " + asks.join(", ") : "Policy v" + t.policyVersion + " asks nothing of this trip") + ".";
}

// tripPage shows a trip, its actions and its timeline.
async function tripPage(id) {
  const t = await call("GET", "/travel/trips/" + encodeURIComponent(id));
  const base = "/travel/trips/" + t.id;
  const before = t.status === "pending" || t.status === "ready";
  const yesNo = (name, label) => tripChoice(name, label, [["no", "No"], ["yes", "Yes"]], "no");
  show(h("h1", {}, "Trip of " + (t.personName || "a person")),
    h("div", { class: "card", id: "trip-summary" },
      h("p", {}, wordBadge(tripStatusWords, t.status), " ", t.countries.join(", "), " · ", date(t.departsOn), " to ", date(t.returnsOn),
        " · ", t.companions === "alone" ? "alone" : "with others", t.devices.length ? " · devices: " + t.devices.join(", ") : ""),
      h("p", {}, t.purpose),
      h("p", { id: "trip-requires" }, tripRequires(t)),
      t.concernCountries.length ? h("p", {}, "Countries of concern: ", t.concernCountries.join(", ")) : null,
      t.tooLong ? h("p", { class: "notice" }, "Longer than the travel policy allows: the clearance's owner was told.") : null,
      t.decisionReason ? h("p", {}, "Decision: ", t.decisionReason) : null,
      t.aftercareCaseRef ? h("p", {}, "Aftercare case: ", h("a", { href: "#/cases/" + t.aftercareCaseRef }, t.aftercareCaseRef)) : null,
      h("p", {}, h("a", { href: "#/persons/" + t.personId }, "The traveller"), " · ", h("a", { href: "#/travel?personId=" + t.personId }, "Their trips"))),
    h("div", { class: "actions" },
      before && t.requires.briefing && !t.briefedAt ? form([], "Briefing acknowledged", () => call("POST", base + "/briefing")) : null,
      before && t.requires.approval && !t.decision && has("security_controller")
        ? form([], "Approve", () => call("POST", base + "/decision", { decision: "approved" }), { id: "trip-approve" }) : null),
    before && has("security_controller") ? h("section", {}, h("h2", {}, "Refuse"),
      form([textarea("reason", "Why", { required: true })], "Refuse the trip",
        (v) => call("POST", base + "/decision", { decision: "refused", reason: v.reason }), { id: "trip-refuse" })) : null,
    before ? h("section", {}, h("h2", {}, "Change"),
      form(tripFields(t), "Save the change", (v) => tripFieldErrors(() => call("POST", base + "/change", tripDetails(v))), { id: "trip-change" })) : null,
    before ? h("section", {}, h("h2", {}, "Cancel"),
      form([input("reason", "Why (optional)", "text", { size: 40 })], "Cancel the trip",
        (v) => call("POST", base + "/cancel", { reason: v.reason || "" }), { id: "trip-cancel" })) : null,
    t.status === "debrief_due" ? h("section", {}, h("h2", {}, "Debrief"),
      form([yesNo("officialContact", "Contact with foreign officials"), yesNo("approach", "Approached for information"),
        yesNo("incident", "A security incident"), yesNo("deviceLost", "A device lost or out of sight"), textarea("details", "Details")],
      "Record the debrief", (v) => call("POST", base + "/debrief", { officialContact: v.officialContact === "yes",
        approach: v.approach === "yes", incident: v.incident === "yes", deviceLost: v.deviceLost === "yes", details: v.details || "" }),
      { id: "trip-debrief" })) : null,
    h("h2", {}, "Timeline"),
    h("ol", { id: "trip-timeline" }, t.timeline.map((e) => h("li", {}, when(e.at), " ", tripStepWords[e.action] || e.action,
      e.detail && e.detail.decision ? " (" + e.detail.decision + ")" : ""))));
}
