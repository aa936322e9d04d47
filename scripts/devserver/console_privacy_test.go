package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/shared/devenv"
)

// TestConsoleExportsAndErases: from the contact panel, an agent downloads
// everything about the person as JSON (the file lands in the download
// folder, whole), then erases them: the first press only arms the button,
// the second erases; the conversation leaves the inbox, and the API says
// the contact is gone (410) while another customer's stays.
func TestConsoleExportsAndErases(t *testing.T) {
	ctx := browser(t)
	target := startDev(t, "CONSOLE_POLL", "250ms")
	sms(t, target, "SMprivacy000000000000000000000001", "+14155550444", "please forget me after this")
	sms(t, target, "SMprivacy000000000000000000000002", "+14155550445", "someone else stays")
	conv := openConversationOf(t, target, "forget me")
	openConversationOf(t, target, "someone else")
	contactID := conv["contactId"].(string)
	downloads := t.TempDir()

	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior,
		cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(target+"/app/"),
		chromedp.WaitVisible(chromedp.CSS("#token-input")),
		chromedp.SendKeys(chromedp.CSS("#token-input"), devenv.AgentAPIToken),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#conv-list a[data-id="`+conv["id"].(string)+`"]`)),
		chromedp.Click(chromedp.CSS(`#conv-list a[data-id="`+conv["id"].(string)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#export")),
		chromedp.Click(chromedp.CSS("#export")),
	); err != nil {
		t.Fatal(err)
	}
	var export []byte
	for deadline := time.Now().Add(20 * time.Second); export == nil && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		export, _ = os.ReadFile(filepath.Join(downloads, "contact-"+contactID+".json"))
	}
	var ex struct {
		Export struct {
			Contact       struct{ ID string } `json:"contact"`
			Conversations []struct {
				Messages []struct{ Body string } `json:"messages"`
			} `json:"conversations"`
		} `json:"export"`
	}
	if err := json.Unmarshal(export, &ex); err != nil || ex.Export.Contact.ID != contactID || len(ex.Export.Conversations) != 1 ||
		len(ex.Export.Conversations[0].Messages) == 0 || ex.Export.Conversations[0].Messages[0].Body != "please forget me after this" {
		t.Fatalf("the downloaded export (%d bytes): %+v, %v", len(export), ex, err)
	}

	// Erase: one press arms, nothing is erased yet.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#erase"))); err != nil {
		t.Fatal(err)
	}
	if got := evalJS[string](t, ctx, `document.getElementById('erase').textContent`); !strings.HasPrefix(got, "Confirm") {
		t.Errorf("after one press the button says %q, want a confirmation", got)
	}
	agentDo(t, http.MethodGet, target, "/api/contacts/"+contactID, "", http.StatusOK)
	// The customer writes again while the agent confirms: the poll redraws
	// the timeline and the contact panel, and the button stays armed.
	sms(t, target, "SMprivacy000000000000000000000003", "+14155550444", "one more thing")
	waitJS(t, ctx, "the new message on the timeline", `[...document.querySelectorAll('#timeline .body')].some(e => e.textContent === 'one more thing')`)
	if got := evalJS[string](t, ctx, `document.getElementById('erase').textContent`); !strings.HasPrefix(got, "Confirm") {
		t.Errorf("after a redraw the armed button says %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#erase"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the erased conversation out of the inbox", `!document.querySelector('#conv-list a[data-id="`+conv["id"].(string)+`"]') && document.querySelectorAll('#conv-list a').length === 1`)
	agentDo(t, http.MethodGet, target, "/api/contacts/"+contactID, "", http.StatusGone)
	openConversationOf(t, target, "someone else")
	if toast := evalJS[string](t, ctx, `document.getElementById('toast').textContent`); !strings.Contains(toast, "Erased") {
		t.Errorf("the toast says %q", toast)
	}
}
