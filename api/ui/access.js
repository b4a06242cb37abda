// SignetAssure console: the security controller's screens. Access (the levels of the access control system
// with the clearance each demands, the findings of its syncs to resolve, the changes that failed, and the
// syncs with their progress, live) and the reminder policy. Loaded after app.js, whose helpers (h, call,
// form, input, field, show, when, badge, has) it uses; every value is put on the page as text.
"use strict";

Object.assign(screens, {
  access: () => accessScreen(),
  reminders: () => reminderPolicy(),
});

const accessStatusWords = { running: "running", completed: "completed", completed_with_errors: "completed with errors",
  failed: "failed", pending: "waiting", done: "done" };
const accessStatus = (s) => wordBadge(accessStatusWords, s);
const accessTriggers = { manual: "on demand", schedule: "scheduled", scheduled: "scheduled" };
const accessOpKinds = { create: "Create badge record", update: "Update badge record", set_access: "Set door access",
  delete: "Remove badge record" };
const accessErrorKinds = { auth: "sign-in to the badge system refused", forbidden: "not permitted by the badge system",
  not_found: "badge record not found", conflict: "conflicting badge record", validation: "refused by the badge system",
  rate_limited: "badge system busy", transient: "badge system unreachable", wrong_record: "linked to someone else's record",
  refused: "refused by the badge system", error: "an error of SignetAssure" };
// accessPerson links a person by name (a person outside the reader's reach, or of no name, by "a person").
const accessPerson = (id, name) => (id ? h("a", { href: "#/persons/" + id }, name || "a person") : "—");
const accessTable = (id, caption, heads, rows) => h("table", { id }, h("caption", { class: "sr-only" }, caption),
  h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t))), rows);
const accessAdmin = () => has("security_controller", "admin");

// accessLevelRow is a level with the clearance it demands, and for those who may, a form to change it.
function accessLevelRow(l) {
  const choice = h("select", { name: "requiredLevel" },
    h("option", { value: "", selected: !l.requiredLevel }, "none: not grantable"),
    clearanceLevels.map((x) => h("option", { value: x, selected: x === l.requiredLevel }, x)));
  return h("tr", { "data-level": l.id }, h("th", { scope: "row" }, l.name),
    h("td", {}, l.requiredLevel ? l.requiredLevel + " or above" : h("span", { class: "muted" }, "not grantable")),
    h("td", {}, l.present ? "yes" : h("strong", {}, "gone from the badge system")),
    h("td", {}, when(l.refreshedAt)),
    accessAdmin() ? h("td", {}, form([field(h("span", { class: "sr-only" }, "Clearance " + l.name + " demands"), choice)], "Save",
      (v) => call("PUT", "/access/levels/" + encodeURIComponent(l.id) + "/policy", { requiredLevel: v.requiredLevel || null }))) : null);
}

// accessFindingRow is a finding in words, naming its person, with a form to resolve it.
function accessFindingRow(f) {
  const fields = [input("note", "Note (optional)", "text", { maxlength: 500 })];
  if (f.kind === "duplicate") fields.unshift(input("keepUserId", "Badge record to keep", "text", { value: f.acsUserId || "" }));
  return h("tr", { "data-finding": f.id }, h("td", {}, when(f.foundAt)), h("td", {}, f.title || inWords({}, f.kind)),
    h("td", {}, accessPerson(f.personId, f.personName)), h("td", {}, f.acsUserId || "—"), h("td", {}, f.action || "—"),
    accessAdmin() ? h("td", {}, form(fields, "Resolve", (v) => call("POST", "/access/findings/" + encodeURIComponent(f.id) + "/resolve", v))) : null);
}

function accessOperationRow(o) {
  return h("tr", { "data-operation": o.id }, h("td", {}, when(o.updatedAt)), h("td", {}, inWords(accessOpKinds, o.kind)),
    h("td", {}, accessPerson(o.personId, o.personName)), h("td", {}, String(o.attempts)), h("td", {}, o.error || "—"),
    h("td", {}, o.personId ? form([], "Replay", () => call("POST", "/access/operations/" + encodeURIComponent(o.id) + "/replay")) : null));
}

// accessSyncRow is a sync: when, why, its status, its progress as a bar, and who it could not reconcile, by name.
function accessSyncRow(s) {
  const failed = (s.result || {}).failed || [];
  const names = s.personNames || {};
  const label = s.done + " of " + s.total + " persons reconciled";
  return h("tr", { "data-sync": s.id }, h("td", {}, when(s.startedAt)), h("td", {}, inWords(accessTriggers, s.trigger)),
    h("td", {}, accessStatus(s.status)),
    h("td", {}, h("progress", { max: Math.max(s.total, 1), value: s.total ? s.done : 0, "aria-label": label }), " ",
      h("span", { class: "sync-progress" }, label)),
    h("td", {}, String(s.errors)),
    h("td", {}, failed.length ? failed.map((f) => h("div", {}, accessPerson(f.personId, names[f.personId]), ": ",
      inWords(accessErrorKinds, f.kind))) : "—"));
}

// accessSyncs draws the syncs into box, and the running one's progress into line; unchanged, nothing is redrawn.
async function accessSyncs(box, line) {
  const list = await call("GET", "/access/syncs?limit=20");
  const key = JSON.stringify(list.items);
  if (box.dataset.shown === key) return;
  box.dataset.shown = key;
  const running = list.items.find((s) => s.status === "running");
  line.textContent = running ? "A sync is running: " + running.done + " of " + running.total + " persons reconciled."
    : list.items.length ? "Last sync " + inWords(accessStatusWords, list.items[0].status) + " " + when(list.items[0].finishedAt || list.items[0].startedAt) + "."
      : "";
  box.replaceChildren(list.items.length ? accessTable("access-syncs", "Syncs, newest first",
    ["Started", "Trigger", "Status", "Progress", "Errors", "Not reconciled"], list.items.map(accessSyncRow))
    : h("p", { class: "muted" }, "No syncs yet."));
}

// accessScreen is the Access screen; its syncs are read again every 2 seconds while it shows.
async function accessScreen() {
  main.replaceChildren(h("h1", {}, "Access"), h("p", { class: "muted", role: "status" }, "Loading…"));
  const admin = accessAdmin();
  const [levels, findings, ops] = await Promise.all([call("GET", "/access/levels"), call("GET", "/access/findings?limit=100"),
    admin ? call("GET", "/access/operations?failed=true&limit=100") : null]);
  const syncBox = h("div", { id: "access-syncs-box" });
  const syncLine = h("p", { id: "access-sync-status", role: "status" });
  const syncErr = h("div");
  await accessSyncs(syncBox, syncLine);
  show(h("h1", {}, "Access"),
    h("h2", {}, "Access levels"),
    h("p", { class: "muted" }, "A level can be granted only to a person holding the clearance it demands, or a higher one."),
    levels.length ? accessTable("access-levels", "Access levels and the clearance each demands",
      ["Level", "Demands", "In the badge system", "Last read", admin ? "Change" : null].filter(Boolean), levels.map(accessLevelRow))
      : h("p", { class: "muted" }, "No levels yet: a sync reads them from the badge system."),
    h("h2", {}, "Findings to resolve"),
    findings.items.length ? [accessTable("access-findings", "Findings to resolve, newest first",
      ["Found", "What", "Person", "Badge record", "What was done", admin ? "Resolve" : null].filter(Boolean), findings.items.map(accessFindingRow)),
    findings.total > findings.items.length ? h("p", { class: "muted" }, findings.items.length + " of " + findings.total + " shown.") : null]
      : h("p", { class: "muted", id: "access-findings-none" }, "Nothing to resolve."),
    admin ? [h("h2", {}, "Failed changes"),
      ops.items.length ? accessTable("access-operations", "Changes to the badge system that failed",
        ["Last tried", "Change", "Person", "Attempts", "Error", "Replay"], ops.items.map(accessOperationRow))
        : h("p", { class: "muted" }, "No failed changes.")] : null,
    h("h2", {}, "Syncs"),
    admin ? form([], "Sync now", () => call("POST", "/access/syncs"), { id: "sync-now" }) : null,
    syncLine, syncErr, syncBox);
  polling = setInterval(() => accessSyncs(syncBox, syncLine).then(() => syncErr.replaceChildren(),
    (err) => syncErr.replaceChildren(failure(err))), 2000);
}

// accessSaved is what the last change of the reminder policy did, shown once when the screen is drawn next.
let accessSaved = null;

const accessHint = (text) => h("span", { class: "muted" }, " (" + text + ")");

// accessDays reads a list of day counts ("90, 30, 7"); what is not one is an error of the field named.
function accessDays(name, text) {
  const parts = (text || "").split(/[\s,]+/).filter(Boolean);
  if (parts.some((x) => !/^\d+$/.test(x))) {
    throw Object.assign(new Error(name + ": whole numbers of days, separated by commas"),
      { problem: { errors: [{ field: name, message: "must be whole numbers of days, separated by commas" }] } });
  }
  return parts.map(Number);
}

// reminderPolicy shows when people are nudged and reminded, and lets a security controller change it. An
// error the API gives for one value of a list ("nudgeDays[1]") is shown next to its list.
async function reminderPolicy() {
  main.replaceChildren(h("h1", {}, "Reminder policy"), h("p", { class: "muted", role: "status" }, "Loading…"));
  const p = await call("GET", "/reminder-policy");
  const saved = accessSaved;
  accessSaved = null;
  const days = (xs) => (xs || []).join(", ");
  const editable = has("security_controller");
  show(h("h1", {}, "Reminder policy"),
    saved ? h("div", { class: "card", role: "status", id: "reminders-saved" }, "Saved. ",
      counted(saved.workflowsTold || 0, "running clearance was", "running clearances were"), " told of the change.") : null,
    h("p", { class: "muted" }, p.updatedAt && p.updatedBy ? "Last changed " + when(p.updatedAt) + "." : "The default policy."),
    editable ? form([
      input("nudgeDays", ["Nudge a holder, days before their clearance ends", accessHint("one to ten values from 1 to 3650, e.g. 180, 90, 30")],
        "text", { value: days(p.nudgeDays), required: true, inputmode: "numeric" }),
      input("renewalLeadDays", ["Open the renewal case, days before the clearance ends", accessHint("from 1 to 3650")], "text",
        { value: String(p.renewalLeadDays), required: true, inputmode: "numeric", size: 6 }),
      input("infoReminderDays", ["Remind a subject, days before requested information is due", accessHint("up to ten values from 1 to 365; empty for none")],
        "text", { value: days(p.infoReminderDays), inputmode: "numeric" })], "Save policy", async (v) => {
      const body = { nudgeDays: accessDays("nudgeDays", v.nudgeDays), infoReminderDays: accessDays("infoReminderDays", v.infoReminderDays) };
      const lead = accessDays("renewalLeadDays", v.renewalLeadDays);
      body.renewalLeadDays = lead.length === 1 ? lead[0] : -1;
      try {
        accessSaved = await call("PUT", "/reminder-policy", body);
      } catch (err) {
        for (const e of (err.problem && err.problem.errors) || []) {
          const m = /^(\w+)\[(\d+)\]$/.exec(e.field);
          if (m) Object.assign(e, { field: m[1], message: body[m[1]][Number(m[2])] + " " + e.message });
        }
        throw err;
      }
    }, { id: "reminder-policy", class: "stacked" })
      : h("dl", { class: "grid", id: "reminder-policy" }, h("dt", {}, "Holders nudged"), h("dd", {}, days(p.nudgeDays) + " days before their clearance ends"),
        h("dt", {}, "Renewal case opened"), h("dd", {}, p.renewalLeadDays + " days before the clearance ends"),
        h("dt", {}, "Subjects reminded"), h("dd", {}, p.infoReminderDays.length ? days(p.infoReminderDays) + " days before information is due" : "never")));
}
