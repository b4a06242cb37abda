// SignetAssure console: webhook subscriptions, for administrators (issue 16): subscribe a receiver (its
// signing secret shown once) in a format (CloudEvents, or Splunk HEC with its token, never shown again),
// pause, resume, rotate the secret (and replace a HEC token), ping, delete, and read the delivery log.
// Loaded after app.js, whose helpers (h, call, form, input, show, when, badge, has) it uses; every value is
// put on the page as text.
"use strict";

Object.assign(screens, {
  webhooks: (params, parts) => (parts[1] ? webhookDetail(parts[1]) : webhookList()),
});

// webhookSecret is a secret just given (a new subscription's or a rotated one's): its subscription's page
// shows it until the administrator does something else (another action, another screen); it is never
// fetched again.
let webhookSecret = null;

function webhookSecretOnce(id) {
  if (webhookSecret && webhookSecret.id !== id) webhookSecret = null;
  const s = webhookSecret ? webhookSecret.secret : null;
  return s ? h("div", { class: "card secret", role: "status" }, h("strong", {}, "Signing secret: copy it now, it is not shown again"),
    h("pre", { id: "webhook-secret" }, s)) : null;
}

// webhookPinged is how the last test event went, shown when the subscription's page is drawn next.
let webhookPinged = null;

const webhookTypes = (w) => (w.eventTypes.length ? w.eventTypes.join(" ") : "every event");

// webhookFormats are the delivery formats in words.
const webhookFormats = { cloudevents: "CloudEvents (signed webhook)", "splunk-hec": "Splunk HTTP Event Collector" };

// splunkTokenField is the HEC token's field: shown, and sent, only while the format is splunk-hec (a token
// with another format is refused). It is a password field: the token is never shown, nor fetched back.
function splunkTokenField(label, shown) {
  const f = h("span", { class: "kind-fields", id: "splunk-token" },
    input("splunkToken", label, "password", { autocomplete: "off", size: 40 }));
  f.hidden = !shown;
  return f;
}

// webhookList lists the subscriptions and subscribes a new receiver.
async function webhookList() {
  const subs = await call("GET", "/webhooks");
  webhookSecret = null;
  show(h("h1", {}, "Webhooks"),
    h("p", { class: "muted" }, "Lifecycle events sent to receivers as signed webhooks (Standard Webhooks), or to a Splunk HTTP Event Collector, in order, at least once."),
    subs.length ? h("table", { id: "webhooks" },
      h("tr", {}, ["Receiver", "Events", "Status", "Failing since", "Created"].map((t) => h("th", { scope: "col" }, t))),
      subs.map((w) => h("tr", {}, h("td", {}, h("a", { href: "#/webhooks/" + w.id }, w.description || w.url)),
        h("td", {}, webhookTypes(w)), h("td", {}, badge(w.status)), h("td", {}, when(w.failingSince)), h("td", {}, when(w.createdAt)))))
      : h("p", { class: "muted" }, "No subscriptions yet."),
    h("h2", {}, "Subscribe a receiver"),
    webhookSubscribeForm());
}

// webhookSubscribeForm subscribes a receiver: its events in the format chosen (a Splunk HEC with its token).
function webhookSubscribeForm() {
  const token = splunkTokenField("Splunk HEC token", false);
  const format = field("Format", h("select", { name: "format" },
    Object.entries(webhookFormats).map(([v, t]) => h("option", { value: v }, t))));
  format.querySelector("select").addEventListener("change", (ev) => {
    token.hidden = ev.target.value !== "splunk-hec";
    if (token.hidden) token.querySelector("input").value = "";
  });
  return form([input("url", "Receiver URL", "url", { required: true, placeholder: "https://", size: 40 }),
      format, token,
      input("description", "Description", "text", { maxlength: 500 }),
      input("eventTypes", "Event types (space-separated; empty: every event)", "text", { size: 40, placeholder: "case.opened clearance.granted" }),
      h("label", {}, h("input", { type: "checkbox", name: "includeNames" }), "Include the names events concern")], "Subscribe",
    async (v) => {
      const body = { url: v.url, description: v.description || "", includeNames: !!v.includeNames,
        eventTypes: (v.eventTypes || "").split(/[\s,]+/).filter(Boolean), format: v.format };
      if (v.format === "splunk-hec") body.splunkToken = v.splunkToken || "";
      const w = await call("POST", "/webhooks", body);
      webhookSecret = { id: w.id, secret: w.secret };
      location.hash = "#/webhooks/" + w.id;
    });
}

// webhookAttemptRow is one row of the delivery log.
const webhookAttemptRow = (a) => h("tr", {}, h("td", {}, when(a.at)), h("td", {}, a.eventType),
  h("td", {}, h("code", {}, a.eventId)), h("td", {}, String(a.attempt)),
  h("td", {}, a.statusCode ? String(a.statusCode) : a.error || "no answer"), h("td", {}, a.latencyMs + " ms"),
  h("td", {}, a.responseExcerpt ? h("code", {}, a.responseExcerpt.slice(0, 120)) : "—"));

// webhookDetail shows one subscription, its actions and its delivery log.
async function webhookDetail(id) {
  const [w, log] = await Promise.all([call("GET", "/webhooks/" + id), call("GET", "/webhooks/" + id + "/attempts?limit=50")]);
  const base = "/webhooks/" + w.id;
  // act is an action of this page: the secret shown so far goes with it.
  const act = (fn) => (v) => { webhookSecret = null; return fn(v); };
  const pinged = h("div", { id: "webhook-ping", role: "status" }, webhookPinged && webhookPinged.id === w.id ? webhookPinged.text : "");
  webhookPinged = null;
  show(h("h1", {}, w.description || "Webhook"),
    h("p", {}, w.url, " · ", badge(w.status), w.disabledReason ? " (" + w.disabledReason + ")" : "",
      w.failingSince ? " · failing since " + when(w.failingSince) : ""),
    webhookSecretOnce(w.id),
    h("p", { id: "webhook-format" }, "Format: ", inWords(webhookFormats, w.format),
      w.format === "splunk-hec" ? " · HEC token version " + w.splunkTokenVersion + " (never shown)" : ""),
    h("p", {}, "Events: ", webhookTypes(w), w.includeNames ? " · with names" : "", " · secret version ", String(w.secretVersion),
      w.previousSecretExpiresAt ? " (the previous one signs too until " + when(w.previousSecretExpiresAt) + ")" : ""),
    h("div", { class: "actions" },
      w.status === "active" ? form([], "Pause", act(() => call("POST", base + "/pause")))
        : form([], "Resume", act(() => call("POST", base + "/resume"))),
      form([], "Send a test event", act(async () => {
        const a = await call("POST", base + "/ping");
        webhookPinged = { id: w.id, text: a.statusCode ? "The receiver answered " + a.statusCode + " in " + a.latencyMs + " ms."
          : "No answer: " + (a.error || "the receiver could not be reached") + "." };
      })),
      form(w.format === "splunk-hec" ? [splunkTokenField("New Splunk HEC token (optional)", true)] : [], "Rotate the secret",
        async (v) => {
          const r = await call("POST", base + "/rotate-secret", v.splunkToken ? { splunkToken: v.splunkToken } : undefined);
          webhookSecret = { id: r.id, secret: r.secret };
        }),
      form([], "Delete " + (w.description || "the subscription"), act(async () => {
        await call("DELETE", base);
        location.hash = "#/webhooks";
      }))),
    pinged,
    h("h2", {}, "Send again"),
    form([input("since", "Every event since", "datetime-local", { required: true })], "Replay",
      act((v) => call("POST", base + "/replay", { since: new Date(v.since).toISOString() }))),
    h("h2", {}, "Delivery log"),
    log.length ? h("table", { id: "webhook-attempts" },
      h("tr", {}, ["When", "Event", "Id", "Attempt", "Answer", "Took", "Response"].map((t) => h("th", { scope: "col" }, t))),
      log.map(webhookAttemptRow)) : h("p", { class: "muted" }, "Nothing sent yet."),
    h("p", {}, h("a", { href: "#/webhooks" }, "All webhooks")));
}
