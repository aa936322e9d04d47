package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/twilio"
)

// postEvent posts a signed sample of events/ (as scripts/send does).
func postEvent(t *testing.T, target, file string) {
	t.Helper()
	envelope, err := os.ReadFile("../../events/" + file + ".json")
	if err != nil {
		t.Fatal(err)
	}
	req, err := devenv.Request(envelope, target)
	if err != nil {
		t.Fatal(err)
	}
	do200(t, req, file)
}

// postTwilio posts a form to a Twilio webhook, signed as Twilio signs it.
func postTwilio(t *testing.T, target, path string, form url.Values) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(devenv.TwilioAuthToken, devenv.PublicBaseURL+path, form))
	do200(t, req, path)
}

func sms(t *testing.T, target, sid, from, body string) {
	t.Helper()
	postTwilio(t, target, twilio.MessagingPath, url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {devenv.TwilioAccountSID},
		"From": {from}, "To": {"+18005550100"}, "Body": {body}, "NumMedia": {"0"}})
}

func mail(t *testing.T, target, raw string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target+email.DevPath, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
	do200(t, req, "email")
}

func do200(t *testing.T, req *http.Request, what string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d", what, resp.StatusCode)
	}
}

const mailHead = `Authentication-Results: amazonses.com; spf=pass smtp.mailfrom=example.com; dkim=pass header.i=@example.com; dmarc=pass header.from=example.com
From: %s
To: Support <support@example.com>
Subject: %s
Message-ID: <%s@mail.example.com>
Date: %s
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"

%s
`

func rawMail(from, subject, id, body string) string {
	return fmt.Sprintf(mailHead, from, subject, id, time.Now().UTC().Format(time.RFC1123Z), body)
}

// waitJS polls a boolean expression in the page until it holds (bounded
// generously), failing with what the page shows.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.Run(wctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s never happened (%v); the page shows:\n%s", what, err, page)
	}
}

func evalJS[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

// openConversationOf is the open conversation whose preview says want.
// The preview is the in-process stream's projection, which follows the
// webhook's answer by a moment: it waits for it (10 s at most).
func openConversationOf(t *testing.T, target, want string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, c := range agentGet(t, target, "/api/conversations?status=open")["conversations"].([]any) {
			if conv := c.(map[string]any); strings.Contains(fmt.Sprint(conv["lastPreview"]), want) {
				return conv
			}
		}
	}
	t.Fatalf("no open conversation shows %q", want)
	return nil
}

// TestConsoleInTheBrowser is issue 16's promise on the dev server, in a
// real headless Chromium: one customer writes by SMS, WhatsApp and email
// and leaves a voicemail; the agent signs in with the agent token, sees one
// conversation with all four in order (the email's quoted history folded,
// the voicemail's transcript), replies by SMS with a double click (the dev
// sender records it once), assigns it to themself and closes it; the
// customer's next SMS shows as a new conversation without a reload; a
// customer's body of <img src=x onerror=alert(1)> and a name of <script>
// render as those characters (any dialog fails the test). Screenshots of
// the inbox and the timeline at desktop and 360 px widths are written to
// .local/screenshots (README: "Screenshots").
func TestConsoleInTheBrowser(t *testing.T) {
	ctx := browser(t)
	target := startDev(t, "CONSOLE_POLL", "250ms")

	// Ana's first email (a contact of its own), merged into the contact of
	// her phone number: then one customer, whichever way she writes.
	mail(t, target, rawMail(`Ana García <ana@example.com>`, "Order 1042", "first-1", "Hello, I ordered last week."))
	postEvent(t, target, "twilio/sms-inbound") // +14155550123: "Hi, my order #41 hasn't arrived"
	phone := openConversationOf(t, target, "order #41")
	mailConv := openConversationOf(t, target, "ordered last week")
	agentDo(t, http.MethodPost, target, "/api/contacts/"+phone["contactId"].(string)+"/merge",
		`{"from":"`+mailConv["contactId"].(string)+`"}`, http.StatusOK)
	postEvent(t, target, "twilio/whatsapp-inbound") // the same number on WhatsApp: "Hola, ¿sigue abierto?"
	mail(t, target, rawMail(`Ana García <ana@example.com>`, "Re: Order 1042", "second-2",
		"Any news on my order?\n\nOn Mon, Nov 30, 2026 at 9:00 AM Support <support@example.com> wrote:\n> We are looking into it.\n> Thanks for waiting."))
	for _, f := range []string{"twilio/voice-incoming", "twilio/voice-dial-no-answer", "twilio/voice-recording", "twilio/voice-transcription"} {
		postEvent(t, target, f)
	}
	// Another customer, whose words are HTML.
	sms(t, target, "SMxss0000000000000000000000000001", "+14155550999", "<img src=x onerror=alert(1)>")
	mail(t, target, rawMail(`"<script>alert(2)</script>" <mallory@example.com>`, "<b>hi</b>", "xss-3", "<script>alert(3)</script>"))
	anaConv := phone["id"].(string)

	// Sign in with the agent token, typed once.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(target+"/app/"),
		chromedp.WaitVisible(chromedp.CSS("#token-input")),
		chromedp.SendKeys(chromedp.CSS("#token-input"), devenv.AgentAPIToken),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#conv-list a")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	waitJS(t, ctx, "three open conversations", `document.querySelectorAll('#conv-list a').length === 3`)
	waitJS(t, ctx, "Ana's name in the inbox", `[...document.querySelectorAll('#conv-list .who')].some(e => e.textContent === 'Ana García')`)
	shot(t, ctx, "console-inbox-desktop.png")

	// Ana's conversation: all four channels, in the order she used them.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#conv-list a[data-id="`+anaConv+`"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the voicemail's transcript", `[...document.querySelectorAll('#timeline .transcript')].some(e => e.textContent.includes('please call me back'))`)
	kinds := evalJS[[]string](t, ctx, `[...document.querySelectorAll('#timeline > li')].filter(li => li.dataset.kind === 'message' && li.classList.contains('inbound') || li.dataset.kind === 'voicemail').map(li => li.querySelector('.ch').textContent)`)
	var firsts []string
	for _, k := range kinds {
		if len(firsts) == 0 || firsts[len(firsts)-1] != k {
			firsts = append(firsts, k)
		}
	}
	if want := []string{"SMS", "WhatsApp", "Email", "Call"}; !slices.Equal(firsts, want) {
		t.Errorf("the timeline's customer entries by channel: %v, want %v", kinds, want)
	}
	if got := evalJS[string](t, ctx, `[...document.querySelectorAll('#timeline .subject')].map(e => e.textContent).join('|')`); !strings.Contains(got, "Re: Order 1042") {
		t.Errorf("email subjects shown: %q", got)
	}
	folded := evalJS[bool](t, ctx, `[...document.querySelectorAll('#timeline details')].some(d => !d.open && d.textContent.includes('We are looking into it.'))`)
	if !folded {
		t.Error("the email's quoted history is not folded away")
	}
	if newText := evalJS[bool](t, ctx, `[...document.querySelectorAll('#timeline .body')].some(e => e.textContent === 'Any news on my order?')`); !newText {
		t.Error("the email's new text is not shown on its own")
	}
	idents := evalJS[string](t, ctx, `document.getElementById('identities').textContent`)
	for _, want := range []string{"+14155550123", "ana@example.com"} {
		if !strings.Contains(strings.ToLower(idents), want) {
			t.Errorf("contact panel identities %q lack %s", idents, want)
		}
	}
	if past := evalJS[int](t, ctx, `document.querySelectorAll('#past li').length`); past != 2 {
		t.Errorf("past conversations: %d, want 2 (the merged email one and this)", past)
	}
	shot(t, ctx, "console-timeline-desktop.png")

	// Reply by SMS, with a double click: sent once.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#reply-channel"), "sms"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('reply-channel').dispatchEvent(new Event('change'))`),
	); err != nil {
		t.Fatal(err)
	}
	if rule := evalJS[string](t, ctx, `document.getElementById('rule').textContent`); rule != "Replies allowed" {
		t.Errorf("SMS rule shows %q", rule)
	}
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#reply-channel"), "whatsapp"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('reply-channel').dispatchEvent(new Event('change'))`)); err != nil {
		t.Fatal(err)
	}
	if rule := evalJS[string](t, ctx, `document.getElementById('rule').textContent`); !strings.HasPrefix(rule, "Replies allowed until ") {
		t.Errorf("WhatsApp rule shows %q, want its 24-hour window's end", rule)
	}
	const reply = "We found it: it ships today."
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#reply-channel"), "sms"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('reply-channel').dispatchEvent(new Event('change'))`),
		chromedp.SendKeys(chromedp.CSS("#reply-body"), reply),
		chromedp.DoubleClick(chromedp.CSS("#send")),
	); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the reply on the timeline", fmt.Sprintf(`[...document.querySelectorAll('#timeline li.outbound .body')].some(e => e.textContent === %q)`, reply))
	deadline := time.Now().Add(10 * time.Second)
	var sent []notify.DevSend
	for {
		sent = slices.DeleteFunc(outbox(t, target), func(s notify.DevSend) bool { return s.Body != reply })
		if len(sent) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for a second send, were there one
	sent = slices.DeleteFunc(outbox(t, target), func(s notify.DevSend) bool { return s.Body != reply })
	if len(sent) != 1 || sent[0].Channel != conversation.ChannelSMS || sent[0].To != "+14155550123" {
		t.Fatalf("the dev sender recorded %v, want one SMS to +14155550123", sent)
	}
	waitJS(t, ctx, "the reply's status", `[...document.querySelectorAll('#timeline li.outbound [data-status]')].some(e => e.dataset.status === 'sent' || e.dataset.status === 'delivered')`)

	// Assign to me, then close.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#assign-me"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "assigned", `document.getElementById('conv-assignee').textContent === 'Assigned to dev'`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#close"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "closed", `document.getElementById('conv-status').textContent === 'closed'`)
	got := agentGet(t, target, "/api/conversations/"+anaConv)["conversation"].(map[string]any)
	if got["status"] != "closed" || got["assignee"] != "dev" {
		t.Errorf("after assign and close the API says %v/%v", got["status"], got["assignee"])
	}
	waitJS(t, ctx, "the closed conversation leaves the open inbox", `!document.querySelector('#conv-list a[data-id="`+anaConv+`"]')`)

	// Ana writes again: a new conversation, shown without a reload.
	sms(t, target, "SMnext000000000000000000000000001", "+14155550123", "One more thing: can I change the address?")
	next := openConversationOf(t, target, "change the address")
	if next["id"] == anaConv {
		t.Fatal("the SMS after the close landed on the closed conversation")
	}
	waitJS(t, ctx, "the new conversation in the inbox", `!!document.querySelector('#conv-list a[data-id="`+next["id"].(string)+`"]')`)

	// Customer text is text: the HTML bodies and the <script> name.
	xss := openConversationOf(t, target, "onerror")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#conv-list a[data-id="`+xss["id"].(string)+`"]`))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the HTML body as text", `[...document.querySelectorAll('#timeline .body')].some(e => e.textContent === '<img src=x onerror=alert(1)>')`)
	waitJS(t, ctx, "the <script> name as text", `[...document.querySelectorAll('#conv-list .who')].some(e => e.textContent === '<script>alert(2)</script>')`)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('#timeline img, #conv-list img, #conv-list script, #timeline script, #contact script').length`); n != 0 {
		t.Errorf("%d elements were made of customer text", n)
	}

	// The keyboard: k and j walk the inbox (this one is the oldest, the last).
	before := evalJS[string](t, ctx, `location.hash`)
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("k")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "k to move up", `location.hash !== `+jsString(before))
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "j to move back down", `location.hash === `+jsString(before))
	if err := chromedp.Do(ctx, chromedp.KeyEvent("r")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "r to the reply box", `document.activeElement === document.getElementById('reply-body')`)

	// 360 px wide: one pane at a time, nothing wider than the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(target+"/app/#/conversations/"+anaConv)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the timeline at 360 px", `document.querySelectorAll('#timeline > li').length > 5 && getComputedStyle(document.getElementById('inbox')).display === 'none'`)
	if w := evalJS[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("at 360 px the page is %d px wide", w)
	}
	shot(t, ctx, "console-timeline-mobile.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#back"))); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the inbox at 360 px", `getComputedStyle(document.getElementById('inbox')).display !== 'none' && document.querySelectorAll('#conv-list a').length > 0`)
	if w := evalJS[int](t, ctx, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the inbox at 360 px is %d px wide", w)
	}
	shot(t, ctx, "console-inbox-mobile.png")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
