package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
)

const token = "agent-test-token"

func setup(t *testing.T) (*http.ServeMux, *conversation.Service) {
	svc := &conversation.Service{Team: "support"}
	st := memstore.New(func(m conversation.Message) { _, _ = svc.Project(context.Background(), m) })
	svc.Store = st
	mux := http.NewServeMux()
	(&api.Handler{Store: st, Token: token}).Register(mux)
	return mux, svc
}

func get(t *testing.T, mux http.Handler, path, tok string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: not JSON: %s", path, rec.Body)
	}
	return rec.Code, body
}

func ingest(t *testing.T, svc *conversation.Service, key, from string, ch conversation.Channel, body string, media ...conversation.Media) conversation.Result {
	t.Helper()
	id, err := conversation.Normalizer{}.Phone(from)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Ingest(context.Background(), conversation.Inbound{
		Key: "twilio:" + key, Channel: ch, From: id, FromAddress: from, To: "+18005550100", Body: body,
		Media: media, Provider: "twilio", ProviderMessageID: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func keys(m map[string]any, want ...string) []string {
	var missing []string
	for _, k := range want {
		if _, ok := m[k]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

func TestReadAPI(t *testing.T) {
	mux, svc := setup(t)
	first := ingest(t, svc, "SM1", "+14155550123", conversation.ChannelSMS, "hello")
	ingest(t, svc, "SM2", "whatsapp:+14155550123", conversation.ChannelWhatsApp, "", conversation.Media{URL: "https://api.twilio.com/m/ME1", ContentType: "image/png"})
	other := ingest(t, svc, "SM3", "+14155550999", conversation.ChannelSMS, "later customer")

	code, body := get(t, mux, "/api/conversations?status=open", token)
	if code != http.StatusOK {
		t.Fatalf("list: %d %v", code, body)
	}
	list := body["conversations"].([]any)
	if len(list) != 2 {
		t.Fatalf("conversations = %d, want 2", len(list))
	}
	newest := list[0].(map[string]any)
	if newest["id"] != other.Message.ConversationID {
		t.Errorf("newest first: got %v, want %s", newest["id"], other.Message.ConversationID)
	}
	if m := keys(newest, "id", "contactId", "status", "channels", "lastMessageAt", "unread"); m != nil {
		t.Errorf("conversation lacks %v: %v", m, newest)
	}
	if ch := list[1].(map[string]any)["channels"].([]any); len(ch) != 2 || ch[0] != "sms" || ch[1] != "whatsapp" {
		t.Errorf("channels = %v", ch)
	}

	code, body = get(t, mux, "/api/conversations/"+first.Message.ConversationID, token)
	if code != http.StatusOK {
		t.Fatalf("conversation: %d %v", code, body)
	}
	msgs := body["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %d", len(msgs))
	}
	m0, m1 := msgs[0].(map[string]any), msgs[1].(map[string]any)
	if miss := keys(m0, "id", "channel", "direction", "from", "to", "body", "media", "provider", "providerMessageId", "createdAt"); miss != nil {
		t.Errorf("message lacks %v: %v", miss, m0)
	}
	if m0["body"] != "hello" || m0["channel"] != "sms" || m1["channel"] != "whatsapp" {
		t.Errorf("timeline out of order: %v / %v", m0, m1)
	}
	if media := m0["media"].([]any); len(media) != 0 {
		t.Errorf("text message media = %v, want []", media)
	}
	if media := m1["media"].([]any); len(media) != 1 || media[0].(map[string]any)["contentType"] != "image/png" {
		t.Errorf("media = %v", media)
	}

	code, body = get(t, mux, "/api/contacts/"+first.Message.ContactID, token)
	if code != http.StatusOK || body["contact"].(map[string]any)["id"] != first.Message.ContactID {
		t.Fatalf("contact: %d %v", code, body)
	}
	ids := body["identities"].([]any)
	if len(ids) != 1 || ids[0].(map[string]any)["channel"] != "phone" || ids[0].(map[string]any)["address"] != "+14155550123" {
		t.Errorf("identities = %v", ids)
	}
}

func TestReadAPIErrors(t *testing.T) {
	mux, _ := setup(t)
	for _, tt := range []struct {
		path, tok string
		want      int
	}{
		{"/api/conversations", "", http.StatusUnauthorized},
		{"/api/conversations", "wrong", http.StatusUnauthorized},
		{"/api/conversations/cv_missing", "", http.StatusUnauthorized},
		{"/api/conversations?status=pending", token, http.StatusBadRequest},
		{"/api/conversations?limit=0", token, http.StatusBadRequest},
		{"/api/conversations/cv_missing", token, http.StatusNotFound},
		{"/api/contacts/ct_missing", token, http.StatusNotFound},
		{"/api/conversations", token, http.StatusOK},
	} {
		if code, body := get(t, mux, tt.path, tt.tok); code != tt.want {
			t.Errorf("%s (token %q): %d %v, want %d", tt.path, tt.tok, code, body, tt.want)
		}
	}
}
