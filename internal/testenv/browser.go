package testenv

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumBinary is Debian's Chromium (package chromium), the browser the console's tests drive.
const ChromiumBinary = "/usr/bin/chromium"

const chromiumHint = "Debian's Chromium is not installed: run `DEBIAN_FRONTEND=noninteractive apt-get install -y chromium` (.ci/run does)"

// BrowserTimeout bounds a test's whole use of its tab: every wait in it ends by then.
const BrowserTimeout = 2 * time.Minute

var (
	browserOnce   sync.Once
	browserCtx    context.Context // the browser: every test's tab is opened in it
	browserStop   func()
	browserErr    error
	browserDataIn string
)

// Browser opens a tab for the test in the test binary's headless Chromium (started on first use, stopped
// by Main) and returns its context, for chromedp.Run; the tab closes when the test ends, or after
// BrowserTimeout. Each test's tab has a browser context of its own: its cookies are not another test's,
// though every test's server is on 127.0.0.1. Without Chromium the test is skipped (with how to install
// it), or fails on CI (CI=true).
func Browser(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(chromiumHint)
		}
		t.Skip(chromiumHint)
	}
	browserOnce.Do(startBrowser)
	if browserErr != nil {
		t.Fatalf("chromium: %v", browserErr)
	}
	tab, closeTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	ctx, cancel := context.WithTimeout(tab, BrowserTimeout)
	t.Cleanup(func() {
		cancel()
		closeTab()
	})
	if err := chromedp.Do(ctx); err != nil { // opens the tab now, so a test's first step is not the one to wait for it
		t.Fatalf("chromium: open a tab: %v", err)
	}
	return ctx
}

// startBrowser starts Chromium headless with a fresh profile and nothing that reaches past this machine
// (its background connections are refused on a closed network, and slow every start).
func startBrowser() {
	browserDataIn, browserErr = os.MkdirTemp("", "sa-chromium-")
	if browserErr != nil {
		return
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], // headless, no first run, no background networking, sync or extensions
		chromedp.ExecPath(ChromiumBinary),
		chromedp.UserDataDir(browserDataIn),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, stopAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, stopBrowser := chromedp.NewContext(alloc)
	browserCtx, browserStop = ctx, func() {
		stopBrowser()
		stopAlloc()
		os.RemoveAll(browserDataIn)
	}
	// The first Run starts the browser, for as long as ctx lasts (a timeout here would end it too).
	if browserErr = chromedp.Do(ctx); browserErr != nil {
		browserStop()
	}
}

// stopBrowser stops the test binary's Chromium, if it started.
func stopBrowser() {
	if browserStop != nil {
		browserStop()
	}
}

// axeSource is axe-core (testdata/axe.min.js, MPL-2.0, from the npm package axe-core), the accessibility
// checker a test injects into the page; the console never serves it.
//
//go:embed testdata/axe.min.js
var axeSource string

// A11yViolation is one rule axe-core found broken on the page, with the elements that break it.
type A11yViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // CSS selectors of the elements
}

func (v A11yViolation) String() string {
	return fmt.Sprintf("%s (%s): %s: %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, ", "))
}

// SeriousA11yViolations runs axe-core inside the tab's page, as it shows now (WCAG 2 A and AA rules and
// best practices), and returns the violations of serious or critical impact. It injects axe-core through
// the DevTools protocol, which the page's Content-Security-Policy does not govern, once per page.
func SeriousA11yViolations(ctx context.Context) ([]A11yViolation, error) {
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+"\n;true")); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	run := `axe.run(document, {resultTypes: ["violations"], runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
		.then((r) => JSON.stringify(r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
			.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" "))}))))`
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var vs []A11yViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		return nil, fmt.Errorf("axe-core's answer: %w", err)
	}
	return vs, nil
}
