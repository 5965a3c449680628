package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// The status page (docs/design.md#the-person-who-fixes-the-token) in a real headless Chromium: a person sees
// the profile paused with its waiting calls, pastes a new token, and sees
// the calls answered and the profile ok without reloading; a page of
// another origin cannot submit the form.

// startChromium starts a headless Chromium for the test (startBrowser)
// and returns a browser context (one tab) bounded by timeout. The test
// fails, never skips, when Chromium is missing.
func startChromium(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return startBrowser(t, ctx)
}

// waitJS evaluates the JavaScript expression expr in the tab of ctx until
// it is true, failing the test after timeout. Errors (a page being
// navigated away) count as false.
func waitJS(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (%s; last error %v)", timeout, what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// textIs is a JavaScript expression: the element sel shows text want.
func textIs(sel, want string) string {
	return fmt.Sprintf("document.querySelector(%q)?.textContent.trim() === %q", sel, want)
}

func TestStatusPageInChromium(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "", tokA))
	fake.Revoke(tokA)
	const waiting = 2
	var chs []<-chan reply
	for i := range waiting {
		id := fmt.Sprintf("browser-%d", i)
		chs = append(chs, sendAsync(context.Background(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(id), callHeader(id)))
		p.waitProfile(t, "default", "the call waiting", pausedWith(i+1))
	}
	ctx := startChromium(t, 60*time.Second)
	prof := `section[data-profile="default"]`

	t.Run("the page shows the profile paused with its waiting calls", func(t *testing.T) {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.baseURL()+"/-/")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, ctx, "the profile paused", textIs(prof+" .state", "paused"), 10*time.Second)
		waitJS(t, ctx, "the waiting calls", textIs(prof+" .waiting", fmt.Sprint(waiting)), 10*time.Second)
		// A mark that a reload would erase.
		err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(prof+` input[name="token"]`)),
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := chromedp.Evaluate[bool](`window.notReloaded = true`)(ctx, tg)
				return err
			}))
		if err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(prof)))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Regenerate", "rejected", rewrite.Fingerprint(tokA)} {
			if !strings.Contains(text, want) {
				t.Errorf("the profile's section does not show %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, tokA) {
			t.Errorf("the page shows the token")
		}
		if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("admin").checkVisibility()`)); shown {
			t.Error("the page asks for an admin token though admin_token is not set")
		}
		if path := os.Getenv("NOTION_PROXY_SCREENSHOT"); path != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("the polls leave the keyboard focus where it is", func(t *testing.T) {
		// Count the page's polls: each starts after the last one rendered.
		countPolls := `window.polls = 0; { const f = window.fetch;
			window.fetch = (...a) => { if (String(a[0]).includes("/-/summary")) window.polls++; return f(...a); }; } true`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](countPolls)); err != nil {
			t.Fatal(err)
		}
		link := prof + " .todo a"
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
			"document.querySelector(%[1]q).focus(); window.pollsAtFocus = window.polls; "+
				// Nodes a selection would be lost with if a poll replaced them.
				"window.before = {event: document.querySelector(%[2]q), overall: document.getElementById('overall').firstChild}; "+
				"document.activeElement === document.querySelector(%[1]q)", link, prof+" .events li")))
		if err != nil || !focused {
			t.Fatalf("the link to Notion's integration settings cannot take the focus (%v)", err)
		}
		// Poll n+1 starts after the render of poll n: at pollsAtFocus+3,
		// two polls begun after the focus have rendered.
		waitJS(t, ctx, "two polls after the focus", "window.polls >= window.pollsAtFocus + 3", 10*time.Second)
		still, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
			"document.activeElement.matches(%q) ? 'the link' : document.activeElement.tagName", link)))
		if err != nil || still != "the link" {
			t.Errorf("after two polls the focus is on %s, want the link it was on (%v)", still, err)
		}
		for _, js := range []string{`before.event !== null && before.event === document.querySelector(` + fmt.Sprintf("%q", prof+" .events li") + `)`,
			`before.overall === document.getElementById('overall').firstChild`} {
			if same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !same {
				t.Errorf("a poll replaced what had not changed: %s (%v)", js, err)
			}
		}
	})
	t.Run("a token pasted with the keyboard resumes the calls and the page shows ok without a reload", func(t *testing.T) {
		fake.AddToken(tokB)
		input := chromedp.CSS(prof + ` input[name="token"]`)
		err := chromedp.Do(ctx, chromedp.Focus(input), chromedp.SendKeys(input, tokB+kb.Enter))
		if err != nil {
			t.Fatal(err)
		}
		for i, ch := range chs {
			if r := await(t, "a waiting call", ch, 10*time.Second); r.code != 200 {
				t.Errorf("waiting call %d: %v", i, r)
			}
		}
		for i := range waiting {
			id := fmt.Sprintf("browser-%d", i)
			ok := 0
			for _, req := range withID(fake, id) {
				if req.Status == 200 {
					ok++
				}
			}
			if ok != 1 || fake.Applied()[id] != 1 {
				t.Errorf("%s: answered 200 by the fake %d times, applied %d times; want once", id, ok, fake.Applied()[id])
			}
		}
		waitJS(t, ctx, "the profile ok", textIs(prof+" .state", "ok"), 10*time.Second)
		waitJS(t, ctx, "no call waiting", textIs(prof+" .waiting", "0"), 10*time.Second)
		notReloaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded === true`))
		if err != nil {
			t.Fatal(err)
		}
		if !notReloaded {
			t.Error("the page was reloaded")
		}
		if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q).checkVisibility()", prof+" form"))); shown {
			t.Error("the form is still shown for a profile that is ok")
		}
		if data, _ := os.ReadFile(p.cfgPath); !strings.Contains(string(data), "token: "+tokB) {
			t.Errorf("the config does not hold the pasted token:\n%s", data)
		}
		if n := len(withPath(fake, "/favicon.ico")); n != 0 {
			t.Errorf("the page made the browser send %d GET /favicon.ico to Notion", n)
		}
	})
	t.Run("a page on another origin cannot submit the form", func(t *testing.T) {
		before, _ := os.ReadFile(p.cfgPath)
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>evil</title>
<form id="f" method="POST" action="%[1]s/-/token" enctype="text/plain">
<input name='{"profile":"default","token":"%[2]s","x":"' value='"}'></form>
<script>
(async () => {
  const body = JSON.stringify({profile: "default", token: %[2]q});
  try { await fetch(%[1]q + "/-/token", {method: "POST", mode: "no-cors", body}); } catch (e) {}
  try { await fetch(%[1]q + "/-/token", {method: "POST", headers: {"Content-Type": "application/json", "X-Notion-Proxy-Page": "guess"}, body}); } catch (e) {}
  document.getElementById("f").submit();
})();
</script>`, p.baseURL(), tokC)
		}))
		defer evil.Close()
		if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL)); err != nil {
			t.Fatal(err)
		}
		// The form's navigation lands on the proxy's answer.
		waitJS(t, ctx, "the form's POST answered", fmt.Sprintf("location.href.startsWith(%q) && document.body.textContent.length > 0", p.baseURL()), 10*time.Second)
		body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.textContent`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "proxy_page_forbidden") && !strings.Contains(body, "proxy_browser_refused") {
			t.Errorf("the form's POST was not refused: %s", body)
		}
		if after, _ := os.ReadFile(p.cfgPath); string(after) != string(before) || strings.Contains(string(after), tokC) {
			t.Errorf("another origin changed the config:\n%s", after)
		}
		if p.countLogs("status page: new token written") != 1 {
			t.Errorf("%d tokens written, want only the person's one", p.countLogs("status page: new token written"))
		}
	})
	p.stop()
	secretsIn(t, p, tokA, tokB, tokC)
}

func TestStatusPageAsksForTheAdminToken(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, tokenConfig(fake, fakeCA, "admin_token: the-admin-token\n", tokA))
	admin(t, p, "/-/revoke", "the-admin-token")
	ch := sendAsync(context.Background(), p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
	p.waitProfile(t, "default", "the call waiting", pausedWith(1))
	ctx := startChromium(t, 60*time.Second)
	prof := `section[data-profile="default"]`
	input := chromedp.CSS(prof + ` input[name="token"]`)
	if err := chromedp.Do(ctx, chromedp.Navigate(p.baseURL()+"/-/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the profile paused", textIs(prof+" .state", "paused"), 10*time.Second)
	waitJS(t, ctx, "the admin token field", `document.getElementById("admin-token").checkVisibility()`, 10*time.Second)

	if err := chromedp.Do(ctx, chromedp.SendKeys(input, tokB+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the refusal shown", fmt.Sprintf("document.querySelector(%q).textContent.startsWith('Not written')", prof+" .result"), 10*time.Second)
	if data, _ := os.ReadFile(p.cfgPath); strings.Contains(string(data), tokB) {
		t.Fatal("written without the admin token")
	}
	// The token is still in its field: type the admin token and send again.
	value, err := chromedp.Run(ctx, chromedp.Value(input))
	if err != nil || value != tokB {
		t.Fatalf("the token field lost its value after the refusal (%v)", err)
	}
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#admin-token"), "the-admin-token"),
		chromedp.SendKeys(input, kb.Enter))
	if err != nil {
		t.Fatal(err)
	}
	if r := await(t, "the waiting call", ch, 10*time.Second); r.code != 200 {
		t.Errorf("waiting call: %v", r)
	}
	waitJS(t, ctx, "the profile ok", textIs(prof+" .state", "ok"), 10*time.Second)
	if data, _ := os.ReadFile(p.cfgPath); !strings.Contains(string(data), "token: "+tokB) {
		t.Errorf("not written with the admin token:\n%s", data)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB, "the-admin-token")
}

// withPath returns the fake's records of calls to path.
func withPath(fake *fakenotion.Server, path string) []fakenotion.Request {
	var out []fakenotion.Request
	for _, r := range fake.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}
