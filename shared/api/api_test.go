package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/routing"
)

const token = "agent-test-token"

func setup(t *testing.T) (*http.ServeMux, *conversation.Service) {
	svc := &conversation.Service{Team: "support"}
	st := memstore.New(func(m conversation.Message) { _, _ = svc.Project(context.Background(), m) })
	svc.Store = st
	mux := http.NewServeMux()
	(&api.Handler{Store: st, Service: svc, Token: token}).Register(mux)
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

func send(t *testing.T, mux http.Handler, method, path, tok, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, rec.Body)
	}
	return rec.Code, out
}

// TestAgentsChangeConversations: PATCH, notes and read as two agents (the
// dev token and one of AGENT_TOKENS); every refusal a JSON error with its
// code, changing nothing.
func TestAgentsChangeConversations(t *testing.T) {
	svc := &conversation.Service{Team: "support"}
	st := memstore.New(func(m conversation.Message) { _, _ = svc.Project(context.Background(), m) })
	svc.Store = st
	rt, err := routing.Parse([]byte(`{"defaultTeam":"support","teams":[{"id":"support"}],"agents":[{"id":"dev","teams":["support"],"sinks":[]},{"id":"bea","teams":["support"],"sinks":[]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&api.Handler{Store: st, Service: svc, Token: token, Tokens: map[string]string{"bea-token": "bea"}, Agents: rt}).Register(mux)
	res := ingest(t, svc, "SMp1", "+14155550100", conversation.ChannelSMS, "help")
	ingest(t, svc, "SMp2", "+14155550100", conversation.ChannelSMS, "anyone?")
	path := "/api/conversations/" + res.Message.ConversationID

	if code, body := send(t, mux, "PATCH", path, token, `{"assignee":"bea","labels":["vip"],"priority":"high"}`); code != 200 ||
		body["conversation"].(map[string]any)["assignee"] != "bea" {
		t.Fatalf("assign: %d %v", code, body)
	}
	if code, body := send(t, mux, "POST", path+"/notes", "bea-token", `{"body":"refund approved"}`); code != 201 ||
		body["message"].(map[string]any)["agent"] != "bea" || body["message"].(map[string]any)["kind"] != "note" {
		t.Fatalf("note: %d %v", code, body)
	}
	if code, body := send(t, mux, "POST", path+"/read", "bea-token", ``); code != 200 || body["conversation"].(map[string]any)["unread"] != 0.0 {
		t.Fatalf("read: %d %v", code, body)
	}
	if code, body := send(t, mux, "PATCH", path, "bea-token", `{"status":"closed"}`); code != 200 || body["conversation"].(map[string]any)["status"] != "closed" {
		t.Fatalf("close: %d %v", code, body)
	}
	if code, _ := send(t, mux, "PATCH", path, "bea-token", `{"status":"closed"}`); code != 200 {
		t.Errorf("closing a closed conversation: %d, want a 200 no-op", code)
	}
	for _, c := range []struct {
		name, method, path, tok, body string
		status                        int
		code                          string
	}{
		{"no token", "PATCH", path, "", `{"status":"open"}`, 401, "unauthorized"},
		{"wrong token", "PATCH", path, "guess", `{"status":"open"}`, 401, "unauthorized"},
		{"unknown field", "PATCH", path, token, `{"stauts":"open"}`, 400, "invalid"},
		{"wrong type", "PATCH", path, token, `{"labels":"vip"}`, 400, "invalid"},
		{"not JSON", "PATCH", path, token, `{`, 400, "invalid"},
		{"unknown assignee", "PATCH", path, token, `{"assignee":"zed"}`, 400, "invalid"},
		{"bad transition", "PATCH", path, token, `{"status":"snoozed"}`, 409, "bad_transition"},
		{"unknown conversation", "PATCH", "/api/conversations/cv_nope", token, `{"status":"closed"}`, 404, "not_found"},
		{"empty note", "POST", path + "/notes", token, `{"body":""}`, 400, "invalid"},
	} {
		code, body := send(t, mux, c.method, c.path, c.tok, c.body)
		if code != c.status || body["code"] != c.code || body["error"] == "" {
			t.Errorf("%s: %d %v, want %d %s", c.name, code, body, c.status, c.code)
		}
	}
	_, body := get(t, mux, path, token)
	var entries []string
	for _, m := range body["messages"].([]any) {
		mm := m.(map[string]any)
		entries = append(entries, fmt.Sprint(mm["kind"], ":", mm["event"], ":", mm["agent"]))
	}
	want := "[<nil>:<nil>:<nil> <nil>:<nil>:<nil> event:assigned:dev event:labelled:dev event:priority_changed:dev note:<nil>:bea event:closed:bea]"
	if fmt.Sprint(entries) != want {
		t.Errorf("timeline %v\nwant     %s", entries, want)
	}
}

// TestPatchContact: block and name a contact; its page shows it and lists
// its conversations.
func TestPatchContact(t *testing.T) {
	mux, svc := setup(t)
	res := ingest(t, svc, "SMct1", "+14155550111", conversation.ChannelSMS, "hi")
	path := "/api/contacts/" + res.Message.ContactID
	if code, body := send(t, mux, "PATCH", path, token, `{"blocked":true,"name":"Sam","language":"pt-BR"}`); code != 200 ||
		body["contact"].(map[string]any)["blocked"] != true {
		t.Fatalf("patch: %d %v", code, body)
	}
	code, body := get(t, mux, path, token)
	c := body["contact"].(map[string]any)
	convs := body["conversations"].([]any)
	if code != 200 || c["name"] != "Sam" || c["language"] != "pt-BR" || len(convs) != 1 ||
		convs[0].(map[string]any)["id"] != res.Message.ConversationID || convs[0].(map[string]any)["status"] != "open" {
		t.Errorf("contact page: %d %v", code, body)
	}
	for name, b := range map[string]string{"unknown field": `{"vip":true}`, "wrong type": `{"blocked":"yes"}`} {
		if code, body := send(t, mux, "PATCH", path, token, b); code != 400 || body["code"] != "invalid" {
			t.Errorf("%s: %d %v", name, code, body)
		}
	}
	if code, _ := send(t, mux, "PATCH", "/api/contacts/ct_nope", token, `{"blocked":true}`); code != 404 {
		t.Errorf("unknown contact: %d", code)
	}
}

// TestMergeContacts: POST /api/contacts/{id}/merge → one contact with both
// identities; refusals are 4xx JSON errors with their code and change
// nothing.
func TestMergeContacts(t *testing.T) {
	mux, svc := setup(t)
	a := ingest(t, svc, "SMm1", "+14155550121", conversation.ChannelSMS, "from my phone")
	b := ingest(t, svc, "SMm2", "whatsapp:+14155550122", conversation.ChannelWhatsApp, "from WhatsApp")
	c := ingest(t, svc, "SMm3", "+14155550123", conversation.ChannelSMS, "someone else")
	path := "/api/contacts/" + a.Message.ContactID + "/merge"
	for name, tt := range map[string]struct {
		path, body string
		code       int
		errCode    string
	}{
		"no from":       {path, `{}`, 400, "invalid"},
		"unknown field": {path, `{"from":"x","force":true}`, 400, "invalid"},
		"itself":        {path, `{"from":"` + a.Message.ContactID + `"}`, 409, "merge_self"},
		"unknown from":  {path, `{"from":"ct_nobody"}`, 404, "not_found"},
		"unknown into":  {"/api/contacts/ct_nobody/merge", `{"from":"` + b.Message.ContactID + `"}`, 404, "not_found"},
	} {
		if code, body := send(t, mux, "POST", tt.path, token, tt.body); code != tt.code || body["code"] != tt.errCode {
			t.Errorf("%s: %d %v, want %d %s", name, code, body, tt.code, tt.errCode)
		}
	}
	code, body := send(t, mux, "POST", path, token, `{"from":"`+b.Message.ContactID+`"}`)
	if code != 200 || len(body["identities"].([]any)) != 2 {
		t.Fatalf("merge: %d %v", code, body)
	}
	_, gone := get(t, mux, "/api/contacts/"+b.Message.ContactID, token)
	if gone["contact"].(map[string]any)["mergedInto"] != a.Message.ContactID {
		t.Errorf("merged contact: %v", gone)
	}
	if code, body := send(t, mux, "POST", "/api/contacts/"+c.Message.ContactID+"/merge", token, `{"from":"`+b.Message.ContactID+`"}`); code != 409 || body["code"] != "merged" {
		t.Errorf("merging a merged contact elsewhere: %d %v", code, body)
	}
	_, conv := get(t, mux, "/api/conversations/"+b.Message.ConversationID, token)
	if cv := conv["conversation"].(map[string]any); cv["status"] != "closed" || cv["contactId"] != a.Message.ContactID || cv["mergedInto"] != a.Message.ConversationID {
		t.Errorf("the merged contact's conversation: %v", cv)
	}
}

// TestReportsAPI: a conversation opened and closed today is in today's
// report; bad days are a 400.
func TestReportsAPI(t *testing.T) {
	mux, svc := setup(t)
	res := ingest(t, svc, "SMrep", "+14155550131", conversation.ChannelSMS, "hi")
	if _, err := svc.Update(context.Background(), res.Message.ConversationID, "dev", conversation.Patch{Status: strp("closed")}, nil); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, mux, "/api/reports", token)
	if code != 200 {
		t.Fatalf("report: %d %v", code, body)
	}
	rep := body["report"].(map[string]any)
	if rep["opened"] != 1.0 || rep["closed"] != 1.0 || rep["volumeByChannel"].(map[string]any)["sms"] != 1.0 ||
		rep["resolution"].(map[string]any)["count"] != 1.0 || len(rep["days"].([]any)) != 1 {
		t.Errorf("report: %v", rep)
	}
	for _, path := range []string{"/api/reports?from=yesterday", "/api/reports?from=2026-12-02&to=2026-12-01", "/api/reports?from=2020-01-01&to=2026-01-01", "/api/reports?teams=x"} {
		if code, body := get(t, mux, path, token); code != 400 || body["code"] != "invalid" {
			t.Errorf("%s: %d %v", path, code, body)
		}
	}
}

// TestIdempotencyKey: a note or a PATCH sent again with its Idempotency-Key
// answers as the first did and writes nothing twice.
func TestIdempotencyKey(t *testing.T) {
	mux, svc := setup(t)
	res := ingest(t, svc, "SMidem", "+14155550141", conversation.ChannelSMS, "hi")
	path := "/api/conversations/" + res.Message.ConversationID
	do := func(method, p, key, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, p, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	c1, b1 := do("POST", path+"/notes", "n-1", `{"body":"called back"}`)
	c2, b2 := do("POST", path+"/notes", "n-1", `{"body":"called back"}`)
	if c1 != 201 || c2 != 200 || b1["message"].(map[string]any)["id"] != b2["message"].(map[string]any)["id"] {
		t.Errorf("note twice: %d %v / %d %v", c1, b1, c2, b2)
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for range 2 {
		if code, body := do("PATCH", path, "p-1", `{"status":"snoozed","snoozeUntil":"`+until+`"}`); code != 200 {
			t.Fatalf("snooze: %d %v", code, body)
		}
	}
	if code, body := do("PATCH", path, "a:b", `{"priority":"high"}`); code != 400 || body["code"] != "invalid" {
		t.Errorf("a key with ':': %d %v", code, body)
	}
	_, conv := get(t, mux, path, token)
	var notes, snoozes int
	for _, m := range conv["messages"].([]any) {
		m := m.(map[string]any)
		if m["kind"] == "note" {
			notes++
		}
		if m["event"] == "snoozed" {
			snoozes++
		}
	}
	if notes != 1 || snoozes != 1 {
		t.Errorf("%d notes, %d snoozed events; want 1 each", notes, snoozes)
	}
}

// TestTemplatesAPI lists the routing document's WhatsApp templates; other
// channels have none.
func TestTemplatesAPI(t *testing.T) {
	svc := &conversation.Service{Team: "support", Templates: []conversation.Template{{Name: "order_update", Language: "en_US", Body: "Your order {{1}} ships."}}}
	st := memstore.New(nil)
	svc.Store = st
	mux := http.NewServeMux()
	(&api.Handler{Store: st, Service: svc, Token: token}).Register(mux)
	if code, body := get(t, mux, "/api/templates?channel=whatsapp", token); code != 200 || len(body["templates"].([]any)) != 1 ||
		body["templates"].([]any)[0].(map[string]any)["name"] != "order_update" {
		t.Errorf("whatsapp templates: %d %v", code, body)
	}
	if code, body := get(t, mux, "/api/templates?channel=sms", token); code != 200 || len(body["templates"].([]any)) != 0 {
		t.Errorf("sms templates: %d %v", code, body)
	}
}
