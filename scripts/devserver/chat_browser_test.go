package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
)

// ScreenshotDir is where browser tests write what they saw (README:
// "Screenshots"); SCREENSHOT_DIR overrides it.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		dir = "../../.local/screenshots"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts headless Chromium (Debian's chromium package, which
// scripts/test.sh installs when missing) for one test. Without it the
// test skips, unless the test command requires the local tools.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv(localaws.RequireEnv) != "" {
			t.Fatal("chromium is not installed: scripts/test.sh installs it (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed (scripts/test.sh installs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	ctx, cancelC := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelC(); cancelB(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Any alert, confirm or prompt is a failure: customer text must never run.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			t.Errorf("a dialog opened: %q", ev.Message)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir(t), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitText waits (bounded generously) until the chat log shows text, and
// says how long that took.
func waitText(t *testing.T, ctx context.Context, text string) time.Duration {
	t.Helper()
	start := time.Now()
	js := fmt.Sprintf(`Array.from(document.querySelectorAll('#sbchat-log .sbchat-body')).some(e => e.textContent === %q)`, text)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		log, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#sbchat-panel")))
		t.Fatalf("%q never appeared in the chat (%v); the panel shows %q", text, err, log)
	}
	return time.Since(start)
}

// TestWebChatInTheBrowser is issue 15's promise, in a real browser on the
// dev server: a visitor opens the demo page and writes; the message is
// stored once; an agent answers through the API and the answer appears in
// the page; a reload shows the history; a dropped socket reconnects and
// resyncs what was said meanwhile. The reply's push latency is printed.
func TestWebChatInTheBrowser(t *testing.T) {
	ctx := browser(t)
	target := startDev(t)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(target+"/chat/demo"),
		chromedp.WaitVisible(chromedp.CSS("#sbchat-launcher")),
		chromedp.Click(chromedp.CSS("#sbchat-launcher")),
		chromedp.WaitVisible(chromedp.CSS("#sbchat-email-input")),
		chromedp.SendKeys(chromedp.CSS("#sbchat-email-input"), "ana@example.com"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#sbchat-input")),
		chromedp.WaitVisible(chromedp.CSS(`#sbchat-panel[data-connected="true"]`)),
		chromedp.SendKeys(chromedp.CSS("#sbchat-input"), "Hi, my order 1042 has not arrived"),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#sbchat-log li[data-status="sent"]`)),
	); err != nil {
		t.Fatalf("visitor writes: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#sbchat-log li[data-status="sent"] .sbchat-meta`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "Sent") {
		t.Errorf("the visitor's message says %q, want Sent", status)
	}
	shot(t, ctx, "webchat-desktop-sent.png")

	// The agent sees one conversation with the message, once.
	convs := agentGet(t, target, "/api/conversations?status=open")["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("%d conversations, want 1", len(convs))
	}
	conv := convs[0].(map[string]any)
	if ch := fmt.Sprint(conv["channels"]); ch != "[webchat]" {
		t.Errorf("channels %s, want [webchat]", ch)
	}
	id := conv["id"].(string)
	timeline := notAuto(agentGet(t, target, "/api/conversations/"+id)["messages"].([]any))
	if len(timeline) != 1 || timeline[0].(map[string]any)["body"] != "Hi, my order 1042 has not arrived" {
		t.Fatalf("timeline %v, want the one message", timeline)
	}
	// The visitor sees the acknowledgement the dev routing document
	// automates, pushed over the socket like any reply.
	waitText(t, ctx, "Thanks for your message! An agent will reply here shortly.")

	// The agent replies; the page shows it, pushed over the socket.
	agentReply(t, target, id, "reply-1", "Sorry about that! It ships today.")
	latency := waitText(t, ctx, "Sorry about that! It ships today.")
	fmt.Printf("webchat: agent reply visible in the browser %.1f ms after the API accepted it\n", float64(latency.Microseconds())/1000)
	shot(t, ctx, "webchat-desktop-reply.png")

	// A reload resumes: the same visitor, the history back.
	if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#sbchat-launcher")),
		chromedp.Click(chromedp.CSS("#sbchat-launcher"))); err != nil {
		t.Fatalf("reload: %v", err)
	}
	waitText(t, ctx, "Hi, my order 1042 has not arrived")
	waitText(t, ctx, "Sorry about that! It ships today.")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#sbchat-panel[data-connected="true"]`))); err != nil {
		t.Fatal(err)
	}

	// The socket dies; a reply written meanwhile arrives by the resync.
	resp, err := http.Post(target+"/dev/chat/disconnect", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var closed struct{ Closed int }
	_ = json.NewDecoder(resp.Body).Decode(&closed)
	resp.Body.Close()
	if closed.Closed != 1 {
		t.Fatalf("%d sockets closed, want the page's 1", closed.Closed)
	}
	agentReply(t, target, id, "reply-2", "Tracking number: ZX-88")
	waitText(t, ctx, "Tracking number: ZX-88")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#sbchat-panel[data-connected="true"]`))); err != nil {
		t.Fatalf("the widget did not reconnect: %v", err)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#sbchat-log li').length`))
	if err != nil {
		t.Fatal(err)
	}
	// The visitor's message, the acknowledgement and the two replies.
	if n != 4 {
		t.Errorf("the log shows %d entries, want 4 (each once)", n)
	}
	if got := len(agentGet(t, target, "/api/conversations/"+id)["messages"].([]any)); got != 4 {
		t.Errorf("the timeline has %d entries, want 4", got)
	}

	// Customer text is text: markup the visitor types shows as typed.
	evil := `<img src=x onerror=alert(1)>`
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#sbchat-input"), evil), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, evil)
	agentReply(t, target, id, "reply-3", `<b>bold?</b><script>alert(2)</script>`)
	waitText(t, ctx, `<b>bold?</b><script>alert(2)</script>`)

	// A photo: uploaded by its presigned PUT, shown in the page, on the agent's timeline.
	png := filepath.Join(t.TempDir(), "parcel.png")
	if err := os.WriteFile(png, parcelPNG, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.CSS("#sbchat-file"), []string{png})); err != nil {
		t.Fatal(err)
	}
	imgJS := `Array.from(document.querySelectorAll('#sbchat-log .sbchat-media img')).some(i => i.complete && i.naturalWidth === 120 && i.alt === 'parcel.png')`
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](imgJS, chromedp.WithPollingInterval(10*time.Millisecond))); err != nil {
		t.Fatalf("the photo never showed: %v", err)
	}
	cancel()
	var withMedia int
	for _, m := range agentGet(t, target, "/api/conversations/"+id)["messages"].([]any) {
		if md, _ := m.(map[string]any)["media"].([]any); len(md) == 1 && md[0].(map[string]any)["contentType"] == "image/png" {
			withMedia++
		}
	}
	if withMedia != 1 {
		t.Errorf("%d messages with the photo on the timeline, want 1", withMedia)
	}
	shot(t, ctx, "webchat-desktop-photo.png")

	// The agent types, then closes: the page says so, pushed.
	agentDo(t, http.MethodPost, target, "/api/conversations/"+id+"/typing", `{"on":true}`, http.StatusNoContent)
	waitTyping(t, ctx, "An agent is typing…")
	agentDo(t, http.MethodPatch, target, "/api/conversations/"+id, `{"status":"closed"}`, http.StatusOK)
	waitTyping(t, ctx, "This conversation was closed. Write again any time.")
	agentDo(t, http.MethodPost, target, "/api/conversations/cv_nope/typing", `{"on":true}`, http.StatusNotFound)

	// A phone-sized screen: the panel fills it.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "webchat-mobile.png")
}

func agentGet(t *testing.T, target, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target+path, nil)
	req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
	}
	return out
}

func agentReply(t *testing.T, target, conv, key, body string) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"body": body})
	req, _ := http.NewRequest(http.MethodPost, target+"/api/conversations/"+conv+"/messages", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("reply: %d, want 202", resp.StatusCode)
	}
}

func waitTyping(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	js := fmt.Sprintf(`document.querySelector('#sbchat-typing').textContent === %q`, text)
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(5*time.Millisecond))); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#sbchat-typing")))
		t.Fatalf("the chat never said %q (it says %q): %v", text, got, err)
	}
}

// agentDo makes an agent's request and wants the status.
func agentDo(t *testing.T, method, target, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, target+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
	}
}

// parcelPNG is a 120×80 blue PNG.
var parcelPNG = []byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x78, 0x00, 0x00, 0x00, 0x50, 0x08, 0x06, 0x00, 0x00, 0x00, 0xd2, 0x9b, 0xb1, 0x89, 0x00, 0x00, 0x00, 0x95, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0xed, 0xd1, 0x41, 0x11, 0x00, 0x00, 0x04, 0x00, 0x41, 0x4d, 0x44, 0x13, 0x55, 0x34, 0x4a, 0x78, 0x99, 0x7d, 0x5c, 0x81, 0xdb, 0xc8, 0xea, 0xd1, 0xdf, 0xc2, 0x04, 0xc0, 0x02, 0x2c, 0xc0, 0x02, 0x2c, 0xc0, 0x02, 0x2c, 0xc0, 0x80, 0x05, 0x58, 0x80, 0x05, 0x58, 0x80, 0x05, 0x58, 0x80, 0x01, 0x0b, 0xb0, 0x00, 0x0b, 0xb0, 0x00, 0x0b, 0xb0, 0x00, 0x0b, 0x30, 0x60, 0x01, 0x16, 0x60, 0x01, 0x16, 0x60, 0x01, 0x16, 0x60, 0xc0, 0x02, 0x2c, 0xc0, 0x02, 0x2c, 0xc0, 0x02, 0x2c, 0xc0, 0x80, 0x05, 0x58, 0x80, 0x05, 0x58, 0x80, 0x05, 0x58, 0x80, 0x05, 0x18, 0xb0, 0x00, 0x0b, 0xb0, 0x00, 0x0b, 0xb0, 0x00, 0x0b, 0x30, 0x60, 0x01, 0x16, 0x60, 0x01, 0x16, 0x60, 0x01, 0x16, 0x60, 0xc0, 0x26, 0x00, 0x16, 0x60, 0x01, 0x16, 0x60, 0x01, 0x16, 0x60, 0x01, 0x06, 0x2c, 0xc0, 0x02, 0x2c, 0xc0, 0x02, 0x2c, 0xc0, 0x02, 0x0c, 0x58, 0x80, 0x05, 0x58, 0x80, 0x05, 0x58, 0x57, 0x2d, 0xf3, 0xb2, 0xce, 0xde, 0xe8, 0xc5, 0xac, 0x15, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82}
