// Drives the console's own code (api/ui/app.js) in Node with a stand-in DOM, its fetch going to a running
// API: a form submitted twice at once (a double click) whose answer is lost on the way back, submitted
// again with the same values (the user's retry), then with another value. Prints
// the requests the console sent, with their Idempotency-Key and the status answered, as JSON. The token
// stands in for the session cookie a browser would send.
// Usage: node console_actions.js <app.js> <API base URL> <token>
"use strict";
const fs = require("fs");
const vm = require("vm");
const [app, base, token] = process.argv.slice(2);

class El {
  constructor(tag) {
    Object.assign(this, { tag, children: [], attrs: {}, listeners: {}, hidden: false, textContent: "", disabled: false, value: "", name: "" });
    this.classList = { toggle() {} };
  }
  setAttribute(k, v) { this.attrs[k] = v; if (k === "name" || k === "value" || k === "type") this[k] = v; }
  getAttribute(k) { return this.attrs[k]; }
  removeAttribute(k) { delete this.attrs[k]; }
  addEventListener(type, fn) { (this.listeners[type] ||= []).push(fn); }
  append(...c) { this.children.push(...c); }
  replaceChildren(...c) { this.children = c; }
  get elements() {
    const out = [];
    const walk = (e) => { for (const c of e.children) { if (c.name) out.push(c); walk(c); } };
    walk(this);
    return out;
  }
  querySelector() { return null; }
}
const byID = {};
const sent = [];
let lose = true; // the answer to the first write is lost after the API carried it out
const sandbox = {
  Node: El, console, URLSearchParams, Promise, JSON, Error, Object, Array, Uint8Array, crypto: globalThis.crypto,
  setInterval, clearInterval, setTimeout, clearTimeout, AbortController, AbortSignal, TextDecoder,
  document: {
    getElementById: (id) => (byID[id] ||= new El("div")),
    createElement: (tag) => new El(tag),
    createTextNode: (t) => Object.assign(new El("#text"), { textContent: t }),
    querySelectorAll: () => [],
  },
  window: { addEventListener() {} },
  location: { hash: "" },
  fetch: async (url, opts) => {
    const res = await fetch(base + url, { ...opts, headers: { ...opts.headers, Authorization: "Bearer " + token } });
    sent.push({ method: opts.method, path: url, key: (opts.headers || {})["Idempotency-Key"] || "", status: res.status });
    if (opts.method !== "GET" && lose) { lose = false; throw new TypeError("Failed to fetch"); }
    return res;
  },
};
vm.createContext(sandbox);
vm.runInContext(fs.readFileSync(app, "utf8"), sandbox, { filename: "app.js" });

(async () => {
  const field = (name, value) => Object.assign(new El("input"), { name, value });
  const last = field("lastName", "Hopper");
  const make = vm.runInContext(`(fields) => form(fields, "Create", (v) => call("POST", "/persons", v))`, sandbox);
  const f = make([field("firstName", "Grace"), last, field("dateOfBirth", "1906-12-09")]);
  const submit = () => f.listeners.submit[0]({ preventDefault() {} });
  await Promise.all([submit(), submit()]); // a double click: the same action twice, its answer lost
  await submit(); // the user tries again: the same action
  last.value = "Hopper-Murray";
  await submit(); // another value: another action
  process.stdout.write(JSON.stringify(sent));
})().catch((err) => { console.error(err); process.exit(1); });
