package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/wechat"
)

// TestNewcomerPath is the README's promise: start the dev server on its
// defaults, post a signed sample, see the conversation in the inbox.
func TestNewcomerPath(t *testing.T) {
	// A local listener for agent notifications, as a newcomer would run.
	verifier, err := standardwebhooks.NewWebhook(devenv.NotifyWebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	notes := make(chan map[string]any, 10)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("notification signature: %v", err)
		}
		var n map[string]any
		_ = json.Unmarshal(body, &n)
		notes <- n
	}))
	defer sink.Close()
	target := startDev(t, "NOTIFY_WEBHOOK_URL", sink.URL)

	inbox := func() (int, []map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, target+"/api/conversations?status=open", nil)
		req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var body struct{ Conversations []map[string]any }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Conversations
	}
	deadline := time.Now().Add(10 * time.Second)
	for code, _ := inbox(); code != http.StatusOK; code, _ = inbox() {
		if time.Now().After(deadline) {
			t.Fatal("dev server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, ev := range []struct {
		file string
		want int
	}{{"twilio/sms-inbound", 200}, {"twilio/whatsapp-inbound", 200}, {"twilio/sms-forged", 403},
		{"meta/whatsapp-text", 200}, {"meta/handshake", 200}, {"meta/forged", 403},
		{"telegram/message-text", 200}, {"telegram/forged", 403}, {"line/message-text", 200}, {"line/forged", 403},
		{"x/dm-received", 200}, {"x/crc", 200}, {"x/forged", 403},
		{"wechat/message-text", 200}, {"wechat/verify", 200}, {"wechat/forged", 403},
		{"twilio/voice-incoming", 200}, {"twilio/voice-forged", 403}} {
		envelope, err := os.ReadFile("../../events/" + ev.file + ".json")
		if err != nil {
			t.Fatal(err)
		}
		req, err := devenv.Request(envelope, target)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(ev.file, "wechat/") && ev.want == 200 {
			// Signed in the query, within WeChat's 5-minute window: as scripts/send does.
			req.URL.RawQuery = wechat.SignQuery(req.URL.Query(), devenv.WeChatToken, time.Now()).Encode()
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != ev.want {
			t.Errorf("%s: %d, want %d", ev.file, resp.StatusCode, ev.want)
		}
	}
	// The README's email line: a raw message, then a broken one.
	for file, want := range map[string]int{"first.eml": 200, "no_from.eml": 400} {
		raw, err := os.Open("../../shared/email/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(target+"/dev/email", "message/rfc822", raw)
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST /dev/email %s: %d, want %d", file, resp.StatusCode, want)
		}
	}
	select {
	case n := <-notes:
		if n["conversationId"] == "" || n["contactId"] == "" || n["channel"] == "" || n["preview"] == "" {
			t.Errorf("notification = %v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no agent notification reached NOTIFY_WEBHOOK_URL")
	}
	for {
		_, convs := inbox()
		// The Twilio customer (sms + whatsapp), the WhatsApp Cloud one, the
		// Telegram one, the LINE one, the X one, the WeChat one and the email one.
		if len(convs) == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbox = %v; want seven conversations", convs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDev runs the dev server on its defaults on a free port, with the
// environment pairs given.
func startDev(t *testing.T, env ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	for _, k := range []string{"STORE", "QUEUE", "TWILIO_AUTH_TOKEN", "AGENT_API_TOKEN", "PUBLIC_BASE_URL", "ROUTING_CONFIG_FILE",
		"NOTIFY_WEBHOOK_SECRET", "NOTIFY_WEBHOOK_URL", "REOPEN_WINDOW", "AGENT_TOKENS", "CHAT_OFFLINE_AFTER", "DEV_SWEEP_EVERY", "CONSOLE_POLL", "CONSOLE_AUTH", "COGNITO_DOMAIN", "COGNITO_CLIENT_ID", "CONSOLE_REDIRECT_URL", "EVENTS_WEBHOOK_URL", "EVENTS_WEBHOOK_SECRET"} {
		t.Setenv(k, "")
	}
	for i := 0; i+1 < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	t.Setenv("PORT", strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	target := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get(target + "/api/conversations"); err == nil {
			resp.Body.Close()
			return target
		}
		if time.Now().After(deadline) {
			t.Fatal("dev server did not come up")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCloseThenNextSMSOpensANewConversation is the README's lifecycle
// walk-through: an SMS, the agent closes the conversation with one PATCH,
// and the customer's next SMS opens a new conversation.
func TestCloseThenNextSMSOpensANewConversation(t *testing.T) {
	target := startDev(t)
	api := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, target+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	sms := func(sid, body string, from ...string) {
		t.Helper()
		sender := "+14155550177"
		if len(from) > 0 {
			sender = from[0]
		}
		form := url.Values{"MessageSid": {sid}, "From": {sender}, "To": {"+18005550100"}, "Body": {body}}
		req, _ := http.NewRequest(http.MethodPost, target+twilio.MessagingPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilio.Sign(devenv.TwilioAuthToken, devenv.PublicBaseURL+twilio.MessagingPath, form))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("sms: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	openIDs := func() []string {
		var ids []string
		for _, c := range api("GET", "/api/conversations?status=open", "")["conversations"].([]any) {
			ids = append(ids, c.(map[string]any)["id"].(string))
		}
		return ids
	}
	// waitAutos waits for the automatic replies in the dev outbox to be
	// want, by conversation and kind.
	waitAutos := func(want map[string]int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			autos := map[string]int{}
			for _, s := range outbox(t, target) {
				if s.Auto != "" {
					autos[s.ConversationID+" "+s.Auto]++
				}
			}
			if maps.Equal(autos, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("automatic replies: %v, want %v", autos, want)
			}
		}
	}
	sms("SMdevclose1", "my order is late")
	first := openIDs()
	if len(first) != 1 {
		t.Fatalf("open after the first SMS: %v", first)
	}
	// The agent closes it once the customer has been acknowledged: a close
	// that beats the stream's projection of the first message leaves it
	// unannounced, and so unacknowledged (conversation.Apply), by design.
	waitAutos(map[string]int{first[0] + " ack": 1})
	closed := api("PATCH", "/api/conversations/"+first[0], `{"status":"closed"}`)["conversation"].(map[string]any)
	if closed["status"] != "closed" || closed["closedBy"] != "dev" {
		t.Fatalf("after the PATCH: %v", closed)
	}
	if ids := openIDs(); len(ids) != 0 {
		t.Fatalf("open after the close: %v", ids)
	}
	sms("SMdevclose2", "it came, thanks!")
	next := openIDs()
	if len(next) != 1 || next[0] == first[0] {
		t.Fatalf("open after the next SMS: %v (the closed one was %s)", next, first[0])
	}

	// The agent answers: the dev sender records it in /dev/outbox, once
	// however often the POST is repeated.
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, target+"/api/conversations/"+next[0]+"/messages", strings.NewReader(`{"body":"Glad it came!"}`))
		req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
		req.Header.Set("Idempotency-Key", "reply-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
			t.Fatalf("reply: %d", resp.StatusCode)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		sends := agentSends(outbox(t, target))
		if len(sends) == 1 && sends[0].To == "+14155550177" && sends[0].Body == "Glad it came!" && sends[0].Channel == "sms" {
			break
		}
		if len(sends) > 1 || time.Now().After(deadline) {
			t.Fatalf("dev outbox: %+v", sends)
		}
	}
	// Besides the agent's reply, the customer got what the dev routing
	// document automates: an acknowledgement for each conversation's first
	// message and, at the close, the satisfaction survey, each once.
	waitAutos(map[string]int{first[0] + " ack": 1, first[0] + " csat_survey": 1, next[0] + " ack": 1})

	// The README goes on: the same customer from another phone, merged
	// into one contact; the inbox pages by its cursor; today's report.
	sms("SMdevother", "it's me, from my work phone", "+14155550178")
	both := api("GET", "/api/conversations?limit=1", "")
	page2 := api("GET", "/api/conversations?limit=1&cursor="+url.QueryEscape(both["next"].(string)), "")
	a := both["conversations"].([]any)[0].(map[string]any)
	b := page2["conversations"].([]any)[0].(map[string]any)
	if a["id"] == b["id"] {
		t.Fatalf("two pages of one: %v", a["id"])
	}
	merged := api("POST", "/api/contacts/"+b["contactId"].(string)+"/merge", `{"from":"`+a["contactId"].(string)+`"}`)
	if ids := merged["identities"].([]any); len(ids) != 2 {
		t.Errorf("merged contact: %v", merged)
	}
	if ids := openIDs(); len(ids) != 1 || ids[0] != b["id"] {
		t.Errorf("open after the merge: %v, want %v", ids, b["id"])
	}
	// The stream tallies the report as it projects, a moment after each
	// answer: wait for it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		rep := api("GET", "/api/reports", "")["report"].(map[string]any)
		if rep["opened"] == 3.0 && rep["closed"] == 2.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("today's report, 10 s on: %v", rep)
		}
	}
}

// TestReplyWithAttachment is the README's attachment walk-through: an
// upload (POST /api/uploads, then the PUT it presigned), a reply naming its
// key, the dev outbox recording it, and GET /api/media/{key} redirecting
// to the file.
func TestReplyWithAttachment(t *testing.T) {
	target := startDev(t)
	call := func(method, path, key, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, target+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	form := url.Values{"MessageSid": {"SMdevattach1"}, "From": {"+14155550179"}, "To": {"+18005550100"}, "Body": {"photo of the label?"}}
	req, _ := http.NewRequest(http.MethodPost, target+twilio.MessagingPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(devenv.TwilioAuthToken, devenv.PublicBaseURL+twilio.MessagingPath, form))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("sms: %v %v", resp, err)
	}
	_, list := call(http.MethodGet, "/api/conversations", "", "")
	conv := list["conversations"].([]any)[0].(map[string]any)["id"].(string)

	label := []byte("\x89PNG\r\n\x1a\n label")
	code, out := call(http.MethodPost, "/api/uploads", "", fmt.Sprintf(`{"contentType":"image/png","size":%d,"filename":"label.png"}`, len(label)))
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	up := out["upload"].(map[string]any)
	put, _ := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader(label))
	put.Header.Set("Content-Type", up["headers"].(map[string]any)["Content-Type"].(string))
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %v %v", resp, err)
	}
	key := up["key"].(string)
	if code, out := call(http.MethodPost, "/api/conversations/"+conv+"/messages", "attach-1", `{"body":"Here it is","media":[{"key":"`+key+`"}]}`); code != http.StatusAccepted {
		t.Fatalf("reply: %d %v", code, out)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		sends := agentSends(outbox(t, target))
		if len(sends) == 1 && len(sends[0].Media) == 1 && sends[0].Media[0] == key {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev outbox: %+v", sends)
		}
	}
	// The console shows it through GET /api/media/{key}: a redirect to the file.
	get, _ := http.NewRequest(http.MethodGet, target+"/api/media/"+key, nil)
	get.Header.Set("Authorization", "Bearer "+devenv.AgentAPIToken)
	resp, err := http.DefaultClient.Do(get)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, label) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("GET /api/media: %d %q %s", resp.StatusCode, got, resp.Header.Get("Content-Type"))
	}
	if code, _ := call(http.MethodGet, "/api/media/../../etc/passwd", "", ""); code != http.StatusNotFound && code != http.StatusMovedPermanently {
		t.Errorf("a path outside the media: %d", code)
	}
}

// agentSends drops the automatic replies (acknowledgements, surveys) from
// sends, leaving the agents'.
func agentSends(sends []notify.DevSend) []notify.DevSend {
	return slices.DeleteFunc(sends, func(s notify.DevSend) bool { return s.Auto != "" })
}

// outbox is what the dev server's senders recorded (GET /dev/outbox).
func outbox(t *testing.T, target string) []notify.DevSend {
	t.Helper()
	resp, err := http.Get(target + "/dev/outbox")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Sends []notify.DevSend `json:"sends"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.Sends
}
