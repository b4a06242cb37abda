// SignetAssure console: broadcasts (an emergency SMS to a contact group, with its replies collected) and
// the contact groups they are sent to. Loaded after app.js, whose helpers (h, call, form, field, input,
// select, show, failure, showErrors, when, date, has) it uses; every value is put on the page
// as text. Persons are picked by name, never by pasted ids, and a broadcast is sent only once a summary
// naming its group and how many people it texts is confirmed.
"use strict";

Object.assign(screens, {
  broadcasts: (params, parts) => (parts[1] ? broadcastDetail(parts[1]) : broadcasts()),
});

const broadcastMaxText = 612;
const broadcastPollEvery = 2000;
const broadcastStatusWords = { preparing: "Preparing", sending: "Sending", collecting: "Collecting replies", closed: "Closed" };
const broadcastMessageWords = { pending: "Waiting to send", queued: "Queued", sent: "Sent", delivered: "Delivered", read: "Read",
  undelivered: "Not delivered", failed: "Failed", suppressed: "Not sent (opted out or no provider)" };
const broadcastKindWords = { site: "Everyone at a site", supplier: "Everyone of a supplier", level: "Everyone cleared at a level",
  manual: "Persons picked by name" };
const broadcastWindows = [["", "The usual (the deployment's)"], ["1h", "1 hour"], ["4h", "4 hours"], ["12h", "12 hours"],
  ["24h", "24 hours"], ["2d", "2 days"], ["7d", "7 days"]];

const broadcastPeople = (n) => (n === 1 ? "1 person" : n + " people");
const broadcastBadge = (s) => wordBadge(broadcastStatusWords, s);
const broadcastSender = (b) => (!b.createdBy ? "—" : me && b.createdBy === me.id ? (b.createdByName || "you") + " (you)"
  : b.createdByName || "a former user");
const broadcastPersonName = (p) => [p.firstName, p.lastName].filter(Boolean).join(" ");
// broadcastLength counts characters as the API does (a character outside the BMP is one, not two).
const broadcastLength = (s) => [...(s || "")].length;
// broadcastMadeGroup is the group just made here: the new broadcast form starts with it chosen.
let broadcastMadeGroup = null;
// broadcastSent is the broadcast just sent here: until a worker writes it, its page says it is being prepared.
let broadcastSent = null;

// broadcastFieldErrors names the field of a list's item ("keywords[1]") by the list's field, saying which
// item, so that the error shows next to the one field the list was typed in.
function broadcastFieldErrors(err, list, given) {
  for (const e of (err.problem && err.problem.errors) || []) {
    const m = /^(\w+)\[(\d+)\]$/.exec(e.field || "");
    if (!m || m[1] !== list) continue;
    e.field = list;
    const item = given[+m[2]];
    if (item !== undefined && !e.message.toUpperCase().includes(String(item).toUpperCase())) e.message = item + ": " + e.message;
  }
  return err;
}

// broadcastFocusError moves the focus to the first field marked wrong (else to fallback), so that its
// error is read out next.
function broadcastFocusError(f, fallback) {
  (f.querySelector('[aria-invalid="true"]:not([type="hidden"])') || fallback).focus();
}

// broadcasts lists the broadcasts and the contact groups, with forms to send one and to make a group for
// those who may send.
async function broadcasts() {
  // Drawn again (after a form's success) it stays as it is until the new drawing is ready, without a jump.
  if (!document.getElementById("broadcasts-title")) show(h("h1", { id: "broadcasts-title" }, "Broadcasts"),
    h("p", { class: "muted", role: "status" }, "Loading broadcasts…"));
  const sender = has("vetting_officer", "security_controller");
  const [list, groups, locations, suppliers] = await Promise.all([call("GET", "/broadcasts?limit=100"), call("GET", "/groups"),
    sender ? call("GET", "/locations") : [], sender ? call("GET", "/suppliers?status=all") : []]);
  const groupName = (b) => b.groupName || (groups.find((g) => g.id === b.groupId) || { name: "a removed group" }).name;
  const excerpt = (s) => (broadcastLength(s) > 80 ? [...s].slice(0, 80).join("") + "…" : s);
  show(h("h1", { id: "broadcasts-title" }, "Broadcasts"),
    h("p", { class: "muted" }, "An emergency SMS to everyone in a contact group, with their replies counted by keyword."),
    list.items.length ? h("table", { id: "broadcasts-list" },
      h("caption", { class: "sr-only" }, "Broadcasts, newest first"),
      h("tr", {}, ["Started", "Group", "Text", "Sent by", "Status"].map((t) => h("th", { scope: "col" }, t))),
      list.items.map((b) => h("tr", {}, h("td", {}, h("a", { href: "#/broadcasts/" + b.id }, when(b.createdAt))),
        h("td", {}, groupName(b)), h("td", {}, excerpt(b.body)), h("td", {}, broadcastSender(b)), h("td", {}, broadcastBadge(b.status)))))
      : h("p", { class: "muted", id: "broadcasts-empty" }, "No broadcasts yet."),
    sender ? h("section", { class: "card", id: "broadcast-new-card", "aria-labelledby": "broadcast-new-title" },
      h("h2", { id: "broadcast-new-title" }, "New broadcast"),
      groups.length ? broadcastForm(groups) : h("p", { class: "muted" }, "Make a contact group first (below).")) : null,
    h("h2", {}, "Contact groups"),
    groups.length ? h("table", { id: "broadcast-groups" },
      h("tr", {}, ["Name", "Who", "Members"].map((t) => h("th", { scope: "col" }, t))),
      groups.map((g) => h("tr", {}, h("td", {}, g.name), h("td", {}, broadcastGroupWho(g, locations, suppliers)),
        h("td", {}, broadcastMembers(g)))))
      : h("p", { class: "muted" }, "No contact groups yet."),
    sender ? h("section", { class: "card", "aria-labelledby": "group-new-title" }, h("h3", { id: "group-new-title" }, "New group"),
      broadcastGroupForm(locations, suppliers)) : null);
}

// broadcastGroupWho says in words who a group is.
function broadcastGroupWho(g, locations, suppliers) {
  const named = (items, id) => (items.find((x) => x.id === id) || {}).name;
  if (g.kind === "site") return "Everyone at " + (named(locations, g.locationId) || "a site");
  if (g.kind === "supplier") return "Everyone of " + (named(suppliers, g.supplierId) || "a supplier");
  if (g.kind === "level") return "Everyone cleared at " + (g.level || "a level");
  return broadcastKindWords[g.kind] || g.kind;
}

// broadcastMembers is a group's member count, opening onto its members by name (read when opened).
function broadcastMembers(g) {
  const list = h("div", { class: "group-members", id: "group-members-" + g.id });
  const d = h("details", {}, h("summary", {}, broadcastPeople(g.members)), list);
  let loaded = false;
  d.addEventListener("toggle", async () => {
    if (!d.open || loaded) return;
    loaded = true;
    list.replaceChildren(h("span", { class: "muted", role: "status" }, "Loading members…"));
    try {
      const m = await call("GET", "/groups/" + g.id + "/members?limit=200");
      list.replaceChildren(m.items.length ? h("ul", {}, m.items.map((p) => h("li", {},
        h("a", { href: "#/persons/" + p.id }, broadcastPersonName(p)), p.mobile ? "" : h("span", { class: "muted" }, " (no mobile)"))))
        : h("span", { class: "muted" }, "No members now."),
      m.total > m.items.length ? h("p", { class: "muted" }, "and " + (m.total - m.items.length) + " more") : "");
    } catch (err) {
      loaded = false;
      if (err.message !== "signed out") list.replaceChildren(failure(err));
    }
  });
  return d;
}

// broadcastGroupForm makes a contact group; only the fields of the chosen kind show, and a group of
// persons picked is made by searching their names.
function broadcastGroupForm(locations, suppliers) {
  const kind = h("select", { name: "kind", id: "group-kind" },
    Object.entries(broadcastKindWords).map(([v, w]) => h("option", { value: v }, w)));
  const none = (what) => h("option", { value: "" }, "No " + what + " yet");
  const part = (k, ...controls) => h("span", { class: "kind-fields", "data-kind": k }, controls);
  const picker = broadcastPersonPicker();
  const parts = [
    part("site", field("Site", h("select", { name: "locationId" }, locations.length
      ? locations.map((l) => h("option", { value: l.id }, l.name)) : none("sites")))),
    // A group is named for any supplier, archived too; a new one is made only of a supplier in use.
    part("supplier", field("Supplier", h("select", { name: "supplierId" }, suppliers.some((s) => !s.archivedAt)
      ? suppliers.filter((s) => !s.archivedAt).map((s) => h("option", { value: s.id }, s.name)) : none("suppliers")))),
    part("level", select("level", "Clearance level", clearanceLevels)),
    part("manual", picker.node)];
  const toggle = () => {
    for (const p of parts) {
      p.hidden = p.dataset.kind !== kind.value;
      for (const el of p.querySelectorAll("input, select, button")) el.disabled = p.hidden;
    }
  };
  kind.addEventListener("change", toggle);
  toggle();
  return form([input("name", "Name", "text", { required: true, maxlength: 200, autocomplete: "off" }), field("Who", kind), parts],
    "Create group", async (v) => {
      const body = { name: v.name, kind: v.kind };
      if (v.kind === "site") body.locationId = v.locationId || "";
      if (v.kind === "supplier") body.supplierId = v.supplierId || "";
      if (v.kind === "level") body.level = v.level;
      if (v.kind === "manual") body.memberIds = picker.ids();
      try {
        broadcastMadeGroup = (await call("POST", "/groups", body)).id;
      } catch (err) { throw broadcastFieldErrors(err, "memberIds", picker.names()); }
    }, { id: "group-form", class: "inline stacked" });
}

// broadcastPersonPicker finds persons by name and keeps the ones chosen, shown by name and removable. The
// chosen ids travel in a hidden field (memberIds), which is where the API's errors about them show.
function broadcastPersonPicker() {
  const chosen = new Map(); // id -> name
  const ids = h("input", { type: "hidden", name: "memberIds", value: "" });
  const err = h("span", { class: "field-error", id: "group-persons-error", hidden: true });
  ids.dataset.errorId = err.id;
  const search = h("input", { type: "search", id: "group-person-search", autocomplete: "off",
    "aria-describedby": "group-persons-hint group-persons-error", "aria-controls": "group-person-results" });
  const found = h("p", { class: "muted", id: "group-person-found", role: "status", "aria-live": "polite" });
  const results = h("ul", { class: "picker-results", id: "group-person-results", "aria-label": "Persons found" });
  const list = h("ul", { class: "picker-chosen", id: "group-chosen", "aria-label": "Chosen persons" });
  const count = h("p", { id: "group-chosen-count" });
  let seq = 0;
  let timer = null;
  const draw = () => {
    ids.value = [...chosen.keys()].join(",");
    count.textContent = chosen.size ? broadcastPeople(chosen.size) + " chosen:" : "Nobody chosen yet.";
    list.replaceChildren(...[...chosen].map(([id, name]) => h("li", {}, name, " ",
      h("button", { type: "button", class: "secondary", "aria-label": "Remove " + name, onclick: () => {
        chosen.delete(id);
        draw();
        found.textContent = "Removed " + name + ".";
        search.focus();
      } }, "Remove"))));
  };
  const find = async () => {
    clearTimeout(timer);
    const q = search.value.trim();
    const mine = ++seq;
    if (q.length < 2) { results.replaceChildren(); found.textContent = q ? "Type at least two letters." : ""; return; }
    found.textContent = "Searching…";
    try {
      const page = await call("GET", "/persons?" + new URLSearchParams({ q, limit: "10" }));
      if (mine !== seq) return; // a later search took over
      const people = page.items.filter((p) => p.active !== false);
      found.textContent = people.length ? broadcastPeople(people.length) + " found" + (page.total > 10 ? " (the first 10; type more of the name)" : "") + "."
        : "Nobody found by “" + q + "”.";
      results.replaceChildren(...people.map((p) => {
        const name = broadcastPersonName(p);
        const about = [p.dateOfBirth ? "born " + date(p.dateOfBirth) : "", p.mobile ? "mobile " + p.mobile : "no mobile"].filter(Boolean).join(", ");
        return h("li", {}, h("span", {}, name, " ", h("span", { class: "muted" }, "(" + about + ")")), " ",
          chosen.has(p.id) ? h("span", { class: "muted" }, "chosen")
            : h("button", { type: "button", "aria-label": "Add " + name, onclick: () => {
              clearTimeout(timer);
              seq++; // a search still under way is for what was typed before: its answer is not drawn
              chosen.set(p.id, name);
              draw();
              search.value = "";
              results.replaceChildren();
              found.textContent = "Added " + name + ".";
              search.focus();
            } }, "Add"));
      }));
    } catch (e) {
      if (mine === seq && e.message !== "signed out") { results.replaceChildren(); found.textContent = "Could not search: " + e.message; }
    }
  };
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
  // Enter searches at once, and never submits the group (nor does the keypress some keyboards send after it).
  search.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); find(); } });
  search.addEventListener("keypress", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
  draw();
  const node = h("fieldset", { class: "picker", id: "group-persons" }, h("legend", {}, "Persons"),
    h("label", {}, "Find a person by name", search),
    h("span", { class: "muted", id: "group-persons-hint" }, "Type part of a name, then Add each person."),
    found, results, count, list, ids, err);
  return { node, ids: () => [...chosen.keys()], names: () => [...chosen.values()] };
}

// broadcastForm sends a broadcast in two steps: the form (the group by name with its member count, the
// text with its length against the limit, the reply keywords, window and rate), then a summary — "Send to
// N people in <group>?" — sent only on Send. One intended broadcast has one Idempotency-Key: Send clicked
// twice, or again after a failure, sends it once.
function broadcastForm(groups) {
  const group = h("select", { name: "groupId", id: "broadcast-group", required: true },
    h("option", { value: "" }, "Choose a group"),
    groups.map((g) => h("option", { value: g.id, selected: g.id === broadcastMadeGroup }, g.name + " (" + broadcastPeople(g.members) + ")")));
  broadcastMadeGroup = null;
  const counter = h("span", { class: "muted", id: "broadcast-text-count" });
  const text = h("textarea", { name: "text", id: "broadcast-text", rows: 4, cols: 60, required: true, "aria-describedby": counter.id });
  const textErr = h("span", { class: "field-error", id: "broadcast-text-error", hidden: true });
  text.dataset.errorId = textErr.id;
  const count = () => {
    const n = broadcastLength(text.value);
    counter.textContent = n > broadcastMaxText ? n + " of " + broadcastMaxText + " characters: " + (n - broadcastMaxText) + " too many"
      : n + " of " + broadcastMaxText + " characters";
    counter.classList.toggle("over", n > broadcastMaxText);
  };
  text.addEventListener("input", count);
  count();
  const keywords = h("input", { name: "keywords", id: "broadcast-keywords", type: "text", value: "SAFE, HELP", autocomplete: "off" });
  const windowSelect = h("select", { name: "replyWindow", id: "broadcast-window" },
    broadcastWindows.map(([v, w]) => h("option", { value: v }, w)));
  const rate = h("input", { name: "rate", id: "broadcast-rate", type: "number", min: 0.1, step: 0.1, placeholder: "the most allowed" });
  const errBox = h("div");
  const review = h("button", { type: "submit", id: "broadcast-review" }, "Review broadcast");
  const f = h("form", { class: "inline stacked", id: "broadcast-form", novalidate: true },
    field("Group", group),
    h("label", {}, "Text", text, counter, textErr),
    field("Reply keywords (comma separated)", keywords), field("Collect replies for", windowSelect),
    field("Messages a second", rate), review, errBox);
  const confirmBox = h("div", { class: "card confirm", id: "broadcast-confirm", hidden: true, role: "dialog",
    "aria-labelledby": "broadcast-confirm-title" });
  let action = null;
  f.addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearErrors(f, errBox);
    const v = formValues(f);
    const given = (v.keywords || "").split(/[\s,]+/).filter(Boolean);
    const errors = []; // what is wrong before anything is sent, shown as the API's errors are
    const g = groups.find((x) => x.id === v.groupId);
    if (!g) errors.push({ field: "groupId", message: "choose the group to send to" });
    else if (!g.members) errors.push({ field: "groupId", message: "has nobody in it now" });
    if (!(v.text || "").trim()) errors.push({ field: "text", message: "write the text to send" });
    else if (broadcastLength(v.text) > broadcastMaxText) errors.push({ field: "text", message: "must be at most " + broadcastMaxText + " characters" });
    if (errors.length) { showErrors(f, errBox, { message: "", problem: { errors } }); broadcastFocusError(f, review); return; }
    const body = { groupId: v.groupId, text: v.text };
    if (given.length) body.keywords = given;
    if (v.replyWindow) body.replyWindow = v.replyWindow;
    if (v.rate) body.rate = Number(v.rate);
    const sent = JSON.stringify(body);
    if (!action || action.values !== sent) action = { values: sent, id: randomID() };
    const mine = action;
    const send = h("button", { type: "button", id: "broadcast-send" }, "Send");
    const back = h("button", { type: "button", class: "secondary", id: "broadcast-back" }, "Back");
    const sending = h("div");
    const row = (k, val, id) => [h("dt", {}, k), h("dd", { id }, val)];
    confirmBox.replaceChildren(h("h3", { id: "broadcast-confirm-title" }, "Send to " + broadcastPeople(g.members) + " in " + g.name + "?"),
      h("p", {}, "This texts real people now, and cannot be taken back. Members without a UK mobile are listed as skipped."),
      h("dl", { class: "grid", id: "broadcast-summary" },
        row("Group", g.name + " (" + broadcastPeople(g.members) + ")", "broadcast-summary-group"),
        row("Text", h("div", { class: "pre" }, v.text), "broadcast-summary-text"),
        row("Reply keywords", (given.length ? given.map((k) => k.toUpperCase()) : ["SAFE", "HELP"]).join(", "), "broadcast-summary-keywords"),
        row("Replies collected for", (broadcastWindows.find(([w]) => w === (v.replyWindow || "")) || ["", v.replyWindow])[1])),
      h("p", {}, send, " ", back), sending);
    send.addEventListener("click", async () => {
      if (send.disabled) return;
      send.disabled = back.disabled = true;
      sending.replaceChildren(h("span", { class: "muted", role: "status" }, "Sending…"));
      try {
        const b = await call("POST", "/broadcasts", body, mine.id);
        action = null;
        broadcastSent = b.id;
        location.hash = "#/broadcasts/" + b.id;
      } catch (err) {
        if (err.message === "signed out") return;
        confirmBox.hidden = true;
        f.hidden = false;
        showErrors(f, errBox, broadcastFieldErrors(err, "keywords", given));
        broadcastFocusError(f, review);
      } finally { send.disabled = back.disabled = false; sending.replaceChildren(); }
    });
    back.addEventListener("click", () => { confirmBox.hidden = true; f.hidden = false; review.focus(); });
    f.hidden = true;
    confirmBox.hidden = false;
    send.focus();
  });
  return h("div", { id: "broadcast-new" }, f, confirmBox);
}

// broadcastDetail is a broadcast's live view: its status in words, its progress, replies by keyword, who
// replied what and who has not, and its cost, read again every 2 seconds while the page shows (route()
// stops it by clearing `polling`); Close stops collecting replies.
async function broadcastDetail(id) {
  const path = "/broadcasts/" + encodeURIComponent(id);
  if (document.getElementById("broadcast-refresh")?.dataset.path !== path) show(h("h1", {}, "Broadcast"),
    h("p", { class: "muted", role: "status" }, "Loading the broadcast…"));
  const recipients = (replied) => call("GET", path + "/recipients?" + new URLSearchParams({ replied: String(replied), limit: "200" }));
  const load = () => Promise.all([call("GET", path), recipients(false), recipients(true)]);
  let first;
  try { first = await load(); } catch (err) {
    if (err.status !== 404 || broadcastSent !== id) throw err;
    // Accepted while no worker was free: it is written, and shows, once one takes it up.
    show(h("h1", {}, "Broadcast"), h("p", { role: "status" }, "Being prepared: it shows here as soon as it starts sending."));
    const timer = setInterval(() => {
      if (polling !== timer) { clearInterval(timer); return; }
      call("GET", path).then(() => { if (polling === timer) route(); }, () => null);
    }, broadcastPollEvery);
    polling = timer;
    return;
  }
  let [b, waiting, replied] = first;
  const g = await call("GET", "/groups/" + b.groupId).catch((err) => { if (!err.status) throw err; return null; });
  const groupName = g ? g.name : b.groupName || "a removed group";
  const title = h("h1", { id: "broadcast-title" });
  const summary = h("div", { class: "card", id: "broadcast-summary-card" });
  const live = h("div", { id: "broadcast-live" });
  const note = h("p", { class: "muted", id: "broadcast-refresh", role: "status", "aria-live": "polite", "data-path": path });
  const closeBox = h("div", { id: "broadcast-close" },
    has("vetting_officer", "security_controller")
      ? form([], "Close (stop collecting replies)", () => call("POST", path + "/close")) : null);
  const paint = () => {
    const p = b.progress || { replies: {}, cost: {} };
    const row = (k, v, rid) => [h("dt", {}, k), h("dd", { id: rid }, v)];
    title.replaceChildren("Broadcast to " + groupName + " ", broadcastBadge(b.status));
    summary.replaceChildren(h("dl", { class: "grid" },
      row("Group", g ? [g.name + " (" + broadcastPeople(g.members) + " now)"] : groupName),
      row("Text", h("div", { class: "pre" }, b.body), "broadcast-body"),
      row("Status", broadcastBadge(b.status), "broadcast-status"),
      row("Started", when(b.createdAt) + " by " + broadcastSender(b), "broadcast-started"),
      b.sentAt ? row("All sent", when(b.sentAt)) : null,
      row(b.closedAt ? "Closed" : "Replies collected until", when(b.closedAt || b.replyUntil)),
      row("Reply keywords", b.keywords.join(", "))));
    closeBox.hidden = b.status === "closed";
    const counter = (key, label, n) => h("div", { class: "counter", id: "broadcast-count-" + key },
      h("div", { class: "n" }, String(n || 0)), h("div", { class: "muted" }, label));
    const costs = Object.entries(p.cost || {}).map(([unit, sum]) => Math.abs(Number(sum)).toFixed(4) + " " + unit).join(", ");
    const keys = [...b.keywords, "OTHER"];
    const messaged = p.recipients - p.skipped;
    live.replaceChildren(
      h("h2", {}, "Progress"),
      h("p", { id: "broadcast-progress-words" }, p.sent + " of " + broadcastPeople(messaged) + " sent, " + p.delivered + " delivered, " +
        p.replied + " replied" + (p.skipped ? "; " + p.skipped + " skipped (no usable UK mobile)" : "") + "."),
      h("div", { class: "counters", id: "broadcast-progress" }, counter("recipients", "people", p.recipients),
        counter("pending", "waiting to send", p.pending), counter("sent", "sent", p.sent), counter("delivered", "delivered", p.delivered),
        counter("failed", "failed", p.failed), counter("suppressed", "not sent", p.suppressed), counter("skipped", "skipped", p.skipped),
        counter("replied", "replied", p.replied)),
      h("p", { id: "broadcast-cost" }, "Cost so far: ", costs || "none reported yet"),
      h("h2", {}, "Replies by keyword"),
      h("table", { id: "broadcast-replies" }, h("tr", {}, keys.map((k) => h("th", { scope: "col" }, k === "OTHER" ? "Other replies" : k))),
        h("tr", {}, keys.map((k) => h("td", { id: "broadcast-reply-" + k }, String((p.replies || {})[k] || 0))))),
      h("h2", {}, "Replied (" + replied.total + ")"),
      replied.items.length ? h("table", { id: "broadcast-replied" },
        h("tr", {}, ["Name", "Keyword", "Their reply", "When"].map((t) => h("th", { scope: "col" }, t))),
        replied.items.map((r) => h("tr", {}, h("td", {}, h("a", { href: "#/persons/" + r.personId }, r.name)),
          h("td", {}, r.replyKeyword === "OTHER" ? "Other" : r.replyKeyword || "—"), h("td", {}, r.replyBody || ""), h("td", {}, when(r.repliedAt)))))
        : h("p", { class: "muted", id: "broadcast-replied" }, "No replies yet."),
      h("h2", {}, "Not replied (" + waiting.total + ")"),
      waiting.items.length ? h("table", { id: "broadcast-not-replied" },
        h("tr", {}, ["Name", "Mobile", "Message"].map((t) => h("th", { scope: "col" }, t))),
        waiting.items.map((r) => h("tr", {}, h("td", {}, h("a", { href: "#/persons/" + r.personId }, r.name)), h("td", {}, r.recipient),
          h("td", {}, r.messageId ? h("a", { href: messageLink(r.messageId) }, broadcastMessageWords[r.status] || r.status || "Waiting to send")
            : "Not sent yet"))))
        : h("p", { class: "muted", id: "broadcast-not-replied" }, messaged ? "Everyone messaged has replied." : "Nobody has been messaged yet."));
  };
  paint();
  note.textContent = "Updates every few seconds.";
  show(title, summary, closeBox, live, note);
  let busy = false;
  const timer = setInterval(async () => {
    if (polling !== timer) { clearInterval(timer); return; }
    if (busy) return;
    busy = true;
    try {
      const next = await load();
      if (polling !== timer) return;
      [b, waiting, replied] = next;
      paint();
      note.textContent = "Updates every few seconds.";
    } catch (err) {
      if (err.message !== "signed out") note.textContent = "Could not refresh" + (err.status ? ": " + err.message : "; trying again.");
    } finally { busy = false; }
  }, broadcastPollEvery);
  polling = timer;
}
