package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// TestReplyRulesBeforeSending: a timeline says, per channel the customer
// wrote on, whether a reply may go now and why not — the rules the reply
// itself is held to — so the console can tell the agent before sending.
func TestReplyRulesBeforeSending(t *testing.T) {
	mux, svc := setup(t)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return now }
	res := ingest(t, svc, "SM1", "whatsapp:+14155550123", conversation.ChannelWhatsApp, "hi on WhatsApp")
	ingest(t, svc, "SM2", "+14155550123", conversation.ChannelSMS, "and by text")
	id := res.Message.ConversationID

	rules := func() map[string]any {
		t.Helper()
		code, body := get(t, mux, "/api/conversations/"+id, token)
		if code != http.StatusOK {
			t.Fatalf("%d %v", code, body)
		}
		r, ok := body["conversation"].(map[string]any)["replyRules"].(map[string]any)
		if !ok {
			t.Fatalf("no replyRules in %v", body["conversation"])
		}
		return r
	}
	r := rules()
	wa, sms := r["whatsapp"].(map[string]any), r["sms"].(map[string]any)
	if wa["allowed"] != true || sms["allowed"] != true {
		t.Fatalf("fresh conversation: %v", r)
	}
	// The WhatsApp message's own time: the window ends 24 hours after it.
	if _, err := time.Parse(time.RFC3339, wa["windowEndsAt"].(string)); err != nil {
		t.Errorf("whatsapp windowEndsAt %v: %v", wa["windowEndsAt"], err)
	}
	if _, has := sms["windowEndsAt"]; has {
		t.Errorf("SMS has no window: %v", sms)
	}

	// A day later: WhatsApp needs a template; a text still goes — and the
	// reply is refused with the code the rule showed.
	now = now.Add(25 * time.Hour)
	r = rules()
	if wa := r["whatsapp"].(map[string]any); wa["allowed"] != false || wa["code"] != "whatsapp_window" {
		t.Errorf("after 25 hours whatsapp: %v", wa)
	}
	if r["sms"].(map[string]any)["allowed"] != true {
		t.Errorf("after 25 hours sms: %v", r["sms"])
	}
	req := httptest.NewRequest(http.MethodPost, "/api/conversations/"+id+"/messages", strings.NewReader(`{"body":"late","channel":"whatsapp"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", "late-1")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"whatsapp_window"`) {
		t.Errorf("late WhatsApp reply: %d %s", rec.Code, rec.Body)
	}

	// STOP by text: SMS is refused as opted_out, and so says the rule.
	if _, err := svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:SM3", Channel: conversation.ChannelSMS,
		From: res.Message.Identity, FromAddress: "+14155550123", To: "+18005550100", Body: "STOP", OptOut: conversation.OptOutStop,
		Provider: "twilio", ProviderMessageID: "SM3"}); err != nil {
		t.Fatal(err)
	}
	r = rules()
	if s := r["sms"].(map[string]any); s["allowed"] != false || s["code"] != "opted_out" {
		t.Errorf("after STOP sms: %v", s)
	}

	// Blocked: every channel refused.
	if code, body := send(t, mux, http.MethodPatch, "/api/contacts/"+res.Message.ContactID, token, `{"blocked":true}`); code != http.StatusOK {
		t.Fatalf("block: %d %v", code, body)
	}
	for ch, v := range rules() {
		if v.(map[string]any)["code"] != "blocked" {
			t.Errorf("blocked contact, %s: %v", ch, v)
		}
	}
}

// TestInboxETag: the console polls the inbox and a timeline with
// If-None-Match; an unchanged answer is a 304 without a body, a change a
// 200 with a new ETag.
func TestInboxETag(t *testing.T) {
	mux, svc := setup(t)
	res := ingest(t, svc, "SM1", "+14155550123", conversation.ChannelSMS, "hello")
	for _, path := range []string{"/api/conversations?status=open", "/api/conversations/" + res.Message.ConversationID} {
		do := func(etag string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if etag != "" {
				req.Header.Set("If-None-Match", etag)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			return rec
		}
		first := do("")
		tag := first.Header().Get("ETag")
		if first.Code != http.StatusOK || tag == "" {
			t.Fatalf("%s: %d, ETag %q", path, first.Code, tag)
		}
		if again := do(tag); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("%s unchanged: %d with %d bytes, want 304 and none", path, again.Code, again.Body.Len())
		}
		if other := do(`"something-else"`); other.Code != http.StatusOK {
			t.Errorf("%s with a stale tag: %d", path, other.Code)
		}
	}
	// A new message changes both: the old tag is answered in full, with a new one.
	list := "/api/conversations?status=open"
	req := httptest.NewRequest(http.MethodGet, list, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	before := httptest.NewRecorder()
	mux.ServeHTTP(before, req)
	ingest(t, svc, "SM2", "+14155550123", conversation.ChannelSMS, "anyone?")
	req.Header.Set("If-None-Match", before.Header().Get("ETag"))
	after := httptest.NewRecorder()
	mux.ServeHTTP(after, req)
	if after.Code != http.StatusOK || after.Header().Get("ETag") == before.Header().Get("ETag") {
		t.Errorf("after a new message: %d, ETag %q (was %q)", after.Code, after.Header().Get("ETag"), before.Header().Get("ETag"))
	}
}
