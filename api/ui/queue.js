// The work queue: the console's home page (#/cases). It lists cases by work queue (mine, unassigned,
// overdue, due soon, waiting on the subject, all open, closed) with each queue's count, finds them by
// name, case reference or employee number, filters, sorts and pages them, all through GET /cases and
// GET /cases/counts. It shows names, never ids, statuses in words and dates in the organisation's zone.
// It uses app.js's helpers (h, call, show, me, has) and is loaded after it.
"use strict";

// caseStatusWords says each case status in words: the one mapping the console uses.
const caseStatusWords = {
  opened: "Opened", identity_check: "Identity check", with_officer: "With the officer",
  awaiting_information: "Information requested", with_partner: "With a partner site", cleared: "Cleared",
  refused: "Refused", with_advisory: "Cleared with advisory", withdrawn: "Withdrawn",
};
const statusWord = (s) => inWords(caseStatusWords, s);
const openStatuses = ["opened", "identity_check", "with_officer", "awaiting_information", "with_partner"];
const closedStatuses = ["cleared", "refused", "with_advisory", "withdrawn"];
const caseTypeWords = { new: "New", renewal: "Renewal", upgrade: "Upgrade", transfer: "Transfer", aftercare: "Aftercare" };

// The queues, as tabs, in order.
const caseQueues = [
  ["mine", "My cases"], ["unassigned", "Unassigned"], ["overdue", "Overdue"], ["due_soon", "Due within 7 days"],
  ["waiting_on_subject", "Waiting on the subject"], ["open", "All open"], ["closed", "Closed"],
];
// The sortable columns: the API's sort key, and which way a first click sorts.
const caseSorts = { person: "Person", opened: "Opened", due: "Due", updated: "Updated" };
const queuePageSizes = [25, 50, 100];

// homeQueue is the queue a role starts on: an officer their own cases, a security controller the
// overdue ones, everyone else all open cases.
function homeQueue() {
  if (has("vetting_officer")) return "mine";
  if (has("security_controller")) return "overdue";
  return "open";
}

const queueDayMs = 86400000;
const dayCount = (n) => (n === 1 ? "1 day" : n + " days");
// waitedFor says how long ago an instant was, in whole days.
function waitedFor(s) {
  const n = Math.floor((Date.now() - new Date(s).getTime()) / queueDayMs);
  return n < 1 ? "less than a day" : dayCount(n);
}
// dueWords says when an open case is due relative to now.
function dueWords(c) {
  if (c.closedAt) return null;
  const ms = new Date(c.dueAt).getTime() - Date.now();
  if (ms < 0) return h("span", { class: "overdue" }, "overdue by " + dayCount(Math.max(1, Math.floor(-ms / queueDayMs))));
  const n = Math.ceil(ms / queueDayMs);
  return n <= 7 ? h("span", { class: "due-soon" }, "due in " + dayCount(n)) : null;
}

// queueFocus is the id of the control to focus once the queue is drawn again (the one just used).
let queueFocus = null;

// queueHash is the console address of the queue with params changed (a value "" removes one).
function queueHash(params, changes) {
  const p = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) { if (v === "" || v === null || v === undefined) p.delete(k); else p.set(k, v); }
  if (!("offset" in changes)) p.delete("offset");
  const s = p.toString();
  return "#/cases" + (s ? "?" + s : "");
}
function queueGo(params, changes, focusID) {
  queueFocus = focusID || null;
  const next = queueHash(params, changes);
  if (location.hash === next) route(); else location.hash = next;
}

async function workQueue(params) {
  const queue = params.get("queue") || homeQueue();
  const sort = params.get("sort") || (queue === "closed" ? "-updated" : "due");
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const limit = Math.min(200, Math.max(1, parseInt(params.get("limit") || "25", 10) || 25));
  const q = new URLSearchParams({ queue, sort, limit: String(limit), offset: String(offset) });
  for (const k of ["q", "type", "level", "status"]) if (params.get(k)) q.set(k, params.get(k));

  const at = location.hash;
  if (!document.getElementById("queue-page")) show(h("p", { role: "status", class: "muted" }, "Loading cases…"));
  const [counts, result] = await Promise.all([call("GET", "/cases/counts"),
    call("GET", "/cases?" + q).then((l) => ({ list: l }), (err) => { if (!err.status) throw err; return { err }; })]);
  if (location.hash !== at) return; // the person went elsewhere meanwhile: that page draws itself

  // Only vetting officers own cases: the others have no "My cases".
  const shown = caseQueues.filter(([key]) => key !== "mine" || has("vetting_officer") || queue === "mine");
  const tabs = h("nav", { "aria-label": "Work queues", class: "queues" }, h("ul", {}, shown.map(([key, label]) =>
    h("li", {}, h("a", { href: queueHash(new URLSearchParams({ queue: key }), {}), id: "queue-" + key,
      "aria-current": key === queue ? "page" : null, class: key === queue ? "current" : null },
    label, " ", h("span", { class: "count" }, String(counts.queues[key] || 0)))))));

  const statusChoices = queue === "closed" ? closedStatuses : openStatuses;
  const choice = (name, label, values, words) => h("label", {}, label, h("select", { name, id: "queue-" + name },
    h("option", { value: "" }, "Any"),
    values.map((v) => h("option", { value: v, selected: params.get(name) === v }, words ? words(v) : v))));
  const search = h("form", { role: "search", class: "inline", id: "queue-search", onsubmit: (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    queueGo(params, { q: f.q.value.trim(), type: f.type.value, level: f.level.value, status: f.status.value }, "queue-q");
  } },
  h("label", {}, "Search", h("input", { type: "search", name: "q", id: "queue-q", value: params.get("q") || "", size: 34,
    placeholder: "Name, case reference or employee number", maxlength: 200 })),
  choice("type", "Type", Object.keys(caseTypeWords), (t) => caseTypeWords[t]),
  choice("level", "Level", clearanceLevels),
  choice("status", "Status", statusChoices, statusWord),
  h("button", { type: "submit" }, "Search"),
  h("button", { type: "button", class: "secondary", onclick: () => queueGo(new URLSearchParams({ queue }), {}, "queue-q") }, "Clear"));

  const live = h("p", { id: "queue-result", role: "status", "aria-live": "polite" });
  let body, said;
  if (result.err) {
    said = "No cases shown";
    body = h("div", { class: "error", role: "alert" }, result.err.message);
  } else {
    const list = result.list;
    const label = (caseQueues.find(([k]) => k === queue) || [queue, queue])[1];
    said = list.total === 0 ? "No cases in " + label.toLowerCase() + (params.get("q") ? " match “" + params.get("q") + "”" : "")
      : (list.total === 1 ? "1 case" : list.total + " cases") + " in " + label.toLowerCase() +
        (list.total > list.items.length ? ", showing " + (offset + 1) + " to " + (offset + list.items.length) : "");
    body = list.items.length ? [queueTable(list.items, params, sort), queuePager(list, params, offset)]
      : h("p", { class: "empty muted" }, queue === "mine" ? "You own no open cases." : "Nothing here.");
  }
  show(h("div", { id: "queue-page" }, h("h1", {}, "Vetting cases"), tabs, search, live, body));
  // Said after the region is on the page, so that screen readers announce it.
  setTimeout(() => { live.textContent = said; }, 50);
  let el = queueFocus && document.getElementById(queueFocus);
  queueFocus = null;
  // On the last (or first) page, Next (or Previous) is disabled: the other one takes the focus.
  if (el && el.disabled) el = document.getElementById(el.id === "page-next" ? "page-previous" : "page-next");
  if (el) el.focus();
}

// sortHeader is a column header that sorts by key: a button, with aria-sort on the sorted column.
function sortHeader(key, params, sort) {
  const current = sort.replace(/^-/, "") === key;
  const desc = sort.startsWith("-");
  const next = current && !desc ? "-" + key : key;
  return h("th", { scope: "col", "aria-sort": current ? (desc ? "descending" : "ascending") : null },
    h("button", { type: "button", class: "sort", id: "sort-" + key, onclick: () => queueGo(params, { sort: next }, "sort-" + key) },
      caseSorts[key], current ? (desc ? " ▼" : " ▲") : ""));
}

function queueTable(items, params, sort) {
  const col = (t) => h("th", { scope: "col" }, t);
  return h("table", { id: "queue" },
    h("caption", { class: "sr-only" }, "Cases; the column buttons sort them"),
    h("thead", {}, h("tr", {}, sortHeader("person", params, sort), col("Case"), col("Type / level"), col("Status"),
      col("Owner"), sortHeader("opened", params, sort), sortHeader("due", params, sort), sortHeader("updated", params, sort))),
    h("tbody", {}, items.map((c) => {
      const waiting = c.status === "identity_check" || c.status === "awaiting_information";
      return h("tr", { "data-ref": c.caseRef },
        h("th", { scope: "row" }, h("a", { href: "#/cases/" + encodeURIComponent(c.caseRef) }, c.personName || "Unknown person"),
          c.employeeNumber ? h("div", { class: "muted" }, c.employeeNumber) : null),
        h("td", {}, h("code", {}, c.caseRef)),
        h("td", {}, (caseTypeWords[c.type] || c.type) + " · " + c.requestedLevel),
        h("td", {}, h("span", { class: "badge " + c.status }, statusWord(c.status)),
          c.closedAt ? null : h("div", { class: "muted" }, (waiting ? "waiting " : "for ") + waitedFor(c.statusSince))),
        h("td", {}, c.ownerName ? [c.ownerName, c.ownerId === me.id ? " (you)" : ""] : h("span", { class: "muted" }, "Unassigned")),
        h("td", {}, date(c.openedAt)),
        h("td", {}, c.closedAt ? ["closed ", date(c.closedAt)] : [date(c.dueAt), " ", dueWords(c)]),
        h("td", {}, date(c.updatedAt)));
    })));
}

function queuePager(list, params, offset) {
  const sizes = queuePageSizes.includes(list.limit) ? queuePageSizes : [list.limit, ...queuePageSizes];
  const perPage = h("label", { class: "per-page" }, "Per page", h("select", { id: "page-size",
    onchange: (ev) => queueGo(params, { limit: ev.target.value === "25" ? "" : ev.target.value }, "page-size") },
  sizes.map((n) => h("option", { value: String(n), selected: n === list.limit }, String(n)))));
  if (list.total <= list.limit && offset === 0) return list.total > queuePageSizes[0] ? h("div", { class: "pager" }, perPage) : null;
  const pages = Math.ceil(list.total / list.limit);
  const page = Math.floor(offset / list.limit) + 1;
  return h("nav", { "aria-label": "Pages", class: "pager" }, perPage,
    h("button", { type: "button", id: "page-previous", disabled: page <= 1,
      onclick: () => queueGo(params, { offset: String(Math.max(0, offset - list.limit)) }, "page-previous") }, "Previous"),
    h("span", {}, " Page " + page + " of " + pages + " "),
    h("button", { type: "button", id: "page-next", disabled: page >= pages,
      onclick: () => queueGo(params, { offset: String(offset + list.limit) }, "page-next") }, "Next"));
}
