package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signetassure/signetassure/internal/testenv"
)

// stepTimeout bounds each thing a person does at the console and the wait for what it shows.
const stepTimeout = 15 * time.Second

// page is the console in a tab of a real (headless) Chromium, as a person uses it: they open it, click,
// type, and read what it shows.
type page struct {
	t   *testing.T
	ctx context.Context
}

// browse opens a tab of the test's own; call it first, so that a test without Chromium skips before it
// starts anything.
func browse(t *testing.T) *page {
	t.Helper()
	return &page{t: t, ctx: testenv.Browser(t)}
}

// open opens the console at base (the API's address).
func (p *page) open(base string) {
	p.t.Helper()
	p.do(chromedp.Navigate(base + "/ui/"))
}

// do carries out the actions within stepTimeout; if they fail, the test fails with what the page shows.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%v\n%s", err, p.shows())
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *page, expression string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expression))
	if err != nil {
		p.t.Fatalf("%s: %v\n%s", expression, err, p.shows())
	}
	return v
}

// shows is where the page is and its text, for a failure's message.
func (p *page) shows() string {
	ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
	defer cancel()
	at, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(the page could not be read: " + err.Error() + ")"
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(the page at " + at + " could not be read: " + err.Error() + ")"
	}
	return "the page at " + at + " shows:\n" + text
}

// js is v as a JavaScript literal.
func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// waitFor waits until the JavaScript condition holds in the page, through navigations (a poll in the
// page ends with its document; it is asked again in the next one).
func (p *page) waitFor(what, condition string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](condition, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(stepTimeout)))
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			p.t.Fatalf("waiting for %s: %v\n%s", what, err, p.shows())
		}
		select { // the document changed under the poll: ask the next one once it has loaded
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// see waits until the element sel is visible and shows (as rendered text) every one of texts.
func (p *page) see(sel string, texts ...string) {
	p.t.Helper()
	if texts == nil {
		texts = []string{}
	}
	p.waitFor(sel+" showing "+js(texts), `(() => { const el = document.querySelector(`+js(sel)+`);
		return !!el && el.checkVisibility() && `+js(texts)+`.every((s) => el.innerText.includes(s)); })()`)
}

// goTo takes the console to the address hash (#/...), as a link would.
func (p *page) goTo(hash string) {
	p.t.Helper()
	eval[bool](p, `(location.hash = `+js(hash)+`, true)`)
}

// watchDrawings starts counting the headings drawn into the main area, for drawnOnce.
func (p *page) watchDrawings() {
	p.t.Helper()
	eval[bool](p, `(() => {
		window.drawnHeadings = [];
		new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach((n) => {
			if (n.nodeType === Node.ELEMENT_NODE) (n.matches("h1") ? [n] : [...n.querySelectorAll("h1")]).forEach((h) => window.drawnHeadings.push(h.textContent));
		}))).observe(document.getElementById("main"), { childList: true, subtree: true });
		return true; })()`)
}

// drawnOnce checks that since watchDrawings the screen headed heading was drawn once, once the console has
// no drawing left (a form whose action went to another address drew that screen twice, the second over
// the first and under a user typing into it).
func (p *page) drawnOnce(heading string) {
	p.t.Helper()
	p.waitFor("the console to finish drawing", `document.getElementById("main").getAttribute("aria-busy") !== "true"`)
	if n := eval[int](p, `window.drawnHeadings.filter((h) => h === `+js(heading)+`).length`); n != 1 {
		p.t.Fatalf("the screen %q was drawn %d times", heading, n)
	}
}

// seeButton waits until a button whose text is label is visible.
func (p *page) seeButton(label string) {
	p.t.Helper()
	p.waitFor("a button "+label, `[...document.querySelectorAll("button")].some((b) => b.checkVisibility() && b.innerText.trim() === `+js(label)+`)`)
}

// text is the rendered text of the element sel, once it is visible.
func (p *page) text(sel string) string {
	p.t.Helper()
	p.see(sel)
	return eval[string](p, `document.querySelector(`+js(sel)+`).innerText`)
}

// has reports whether an element sel is on the page now.
func (p *page) has(sel string) bool {
	p.t.Helper()
	return eval[bool](p, `document.querySelector(`+js(sel)+`) !== null`)
}

// click clicks the element sel once it is visible.
func (p *page) click(sel string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

// clickButton clicks the button whose text is label.
func (p *page) clickButton(label string) {
	p.t.Helper()
	p.do(chromedp.Click(chromedp.Search(`//button[normalize-space()="`+label+`"]`), chromedp.NodeVisible))
}

// fill types value into the field sel over what it held, selected (chromedp.Clear empties only the
// value attribute, not what was typed).
func (p *page) fill(sel, value string) {
	p.t.Helper()
	p.see(sel)
	eval[bool](p, `(() => { const el = document.querySelector(`+js(sel)+`); el.focus(); el.select(); return true; })()`)
	p.do(chromedp.SendKeys(chromedp.CSS(sel), value))
}

// at is where the page is.
func (p *page) at() string {
	p.t.Helper()
	return eval[string](p, `location.href`)
}

// signInWithToken signs in with an API token through the console's token form, and waits until the
// header names who is signed in.
func (p *page) signInWithToken(token, who string) {
	p.t.Helper()
	p.fill(`#sign-in input[name="token"]`, token)
	p.click(`#sign-in form:has(input[name="token"]) button[type="submit"]`)
	p.see("#who", who)
}

// keeps is what the page keeps in the browser's storage that a script could read.
func (p *page) keeps() string {
	p.t.Helper()
	return eval[string](p, `JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie`)
}
