package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/notify"
)

const lineToken = "line-test-channel-access-token"

// lineAPI checks the push API as LINE documents it (POST
// /v2/bot/message/push, the channel access token as the bearer, JSON to
// and 1–5 messages of a known type, X-Line-Retry-Key a UUID) and answers
// as LINE does: 200 with the sent messages' ids, and for a retry key it
// accepted before, 409 with X-Line-Accepted-Request-Id and the same ids.
type lineAPI struct {
	t      *testing.T
	mu     sync.Mutex
	pushes []map[string]any
	keys   map[string]string // retry key → sent message id
	answer atomic.Int32
}

func (s *lineAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		To       string           `json:"to"`
		Messages []map[string]any `json:"messages"`
	}
	key := r.Header.Get("X-Line-Retry-Key")
	okTypes := true
	_ = json.Unmarshal(raw, &body)
	for _, m := range body.Messages {
		switch m["type"] {
		case "text":
			okTypes = okTypes && m["text"] != ""
		case "image":
			u, _ := m["originalContentUrl"].(string)
			okTypes = okTypes && u != "" && m["previewImageUrl"] != nil
		default:
			okTypes = false
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/bot/message/push" || r.Header.Get("Authorization") != "Bearer "+lineToken ||
		uuid.Validate(key) != nil || body.To == "" || len(body.Messages) == 0 || len(body.Messages) > 5 || !okTypes {
		s.t.Errorf("line stand-in: %s %s key %q %s", r.Method, r.URL.Path, key, raw)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}`)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch code := int(s.answer.Load()); code {
	case 0:
	case http.StatusBadRequest:
		w.WriteHeader(code)
		fmt.Fprint(w, `{"message":"The request body has 1 error(s)","details":[{"message":"Size must be between 1 and 5000","property":"messages[0].text"}]}`)
		return
	default:
		w.WriteHeader(code)
		fmt.Fprint(w, `{"message":"Internal server error"}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.keys[key]; ok {
		w.Header().Set("X-Line-Accepted-Request-Id", "req-"+key)
		w.WriteHeader(http.StatusConflict)
		fmt.Fprintf(w, `{"message":"The retry key is already accepted","sentMessages":[{"id":%q,"quoteToken":"q"}]}`, id)
		return
	}
	id := fmt.Sprintf("4610%08d", len(s.pushes)+1)
	s.keys[key] = id
	var b map[string]any
	_ = json.Unmarshal(raw, &b)
	s.pushes = append(s.pushes, b)
	fmt.Fprintf(w, `{"sentMessages":[{"id":%q,"quoteToken":"q"}]}`, id)
}

// TestLineReply: a LINE user writes, the agent answers with text and an
// image; LINE gets one push to the user with both; the same job sent again
// (its answer lost) is the same push, by its retry key, never a second;
// LINE's 400 fails the reply with its reason, a 500 is retried.
func TestLineReply(t *testing.T) {
	o := newOutbox(t)
	id, _ := conversation.Normalizer{}.Platform(conversation.KindLINE, "U4af4980629")
	in := o.customer("line:01HLINE1", conversation.ChannelLINE, id, "U4af4980629", "U4af4980629", "is my order shipped?", o.clock)
	img := o.upload("image/png", "map.png", []byte("\x89PNG\r\n\x1a\nmap"))
	if code, out := o.post(in.ConversationID, "l1", `{"body":"Yes, here is the route","media":[{"key":"`+img+`"}]}`); code != http.StatusAccepted {
		t.Fatalf("reply: %d %v", code, out)
	}
	// A PDF is not something a LINE bot can send.
	pdf := o.upload("application/pdf", "r.pdf", []byte("%PDF-1.7"))
	if code, out := o.post(in.ConversationID, "l2", `{"media":[{"key":"`+pdf+`"}]}`); code != http.StatusUnsupportedMediaType {
		t.Errorf("pdf on LINE: %d %v", code, out)
	}
	if failed := o.deliver(); failed != 0 {
		t.Fatalf("%d failed", failed)
	}
	o.line.mu.Lock()
	pushes := append([]map[string]any{}, o.line.pushes...)
	o.line.mu.Unlock()
	if len(pushes) != 1 || pushes[0]["to"] != "U4af4980629" {
		t.Fatalf("pushes: %v", pushes)
	}
	msgs := pushes[0]["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["text"] != "Yes, here is the route" || msgs[1].(map[string]any)["type"] != "image" {
		t.Errorf("push messages: %v", msgs)
	}
	_, timeline, _ := o.store.Conversation(context.Background(), in.ConversationID)
	reply := timeline[len(timeline)-1]
	if reply.Status != "sent" || reply.ProviderMessageID != "461000000001" {
		t.Fatalf("reply: %s %q", reply.Status, reply.ProviderMessageID)
	}

	// The job again, as after a lost answer: LINE says 409 for its key.
	sender := o.notifier.Replies[conversation.ChannelLINE]
	if got, err := sender.SendReply(context.Background(), reply); err != nil || got != reply.ProviderMessageID {
		t.Errorf("resend: %q %v, want the first id", got, err)
	}
	o.line.mu.Lock()
	if len(o.line.pushes) != 1 {
		t.Errorf("LINE accepted %d pushes, want 1", len(o.line.pushes))
	}
	o.line.mu.Unlock()

	other := reply
	other.ID, other.Body, other.Media = "msg_other", "far too long, say", nil
	o.line.answer.Store(http.StatusBadRequest)
	_, err := sender.SendReply(context.Background(), other)
	var perm *notify.PermanentError
	if !errors.As(err, &perm) || perm.Code != "400" || !strings.Contains(perm.Reason, "messages[0].text: Size must be between 1 and 5000") {
		t.Errorf("a 400: %v", err)
	}
	o.line.answer.Store(http.StatusInternalServerError)
	other.ID, other.Body = "msg_other2", "hello"
	if _, err := sender.SendReply(context.Background(), other); err == nil || errors.As(err, &perm) {
		t.Errorf("a 500: %v, want an error to retry", err)
	}
}

// TestXReply: an X user's DM is answered through POST
// /2/dm_conversations/with/:participant_id/messages (a stand-in checking
// the bearer, the path and the JSON text), once; X's 403 fails the reply
// with its reason, and media are refused before queueing.
func TestXReply(t *testing.T) {
	var mu sync.Mutex
	var sends []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text string `json:"text"`
		}
		raw, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/2/dm_conversations/with/") || !strings.HasSuffix(r.URL.Path, "/messages") ||
			r.Header.Get("Authorization") != "Bearer x-user-token" || json.Unmarshal(raw, &body) != nil || body.Text == "" {
			t.Errorf("x stand-in: %s %s %s", r.Method, r.URL.Path, raw)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if body.Text == "blocked" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"title":"Forbidden","detail":"You cannot send messages to this user.","type":"about:blank","status":403}`)
			return
		}
		mu.Lock()
		sends = append(sends, r.URL.Path+" "+body.Text)
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"data":{"dm_conversation_id":"100-200","dm_event_id":"1582838223558127620"}}`)
	}))
	defer api.Close()
	o := newOutbox(t)
	o.notifier.Replies[conversation.ChannelX] = &notify.XReplies{BaseURL: api.URL, Token: "x-user-token", Client: api.Client()}
	id, _ := conversation.Normalizer{}.Platform(conversation.KindX, "200")
	in := o.customer("x:dm:100:777", conversation.ChannelX, id, "200", "100", "where is my order?", o.clock)
	if code, out := o.post(in.ConversationID, "x1", `{"body":"On its way"}`); code != http.StatusAccepted {
		t.Fatalf("reply: %d %v", code, out)
	}
	img := o.upload("image/png", "a.png", []byte("\x89PNG\r\n\x1a\n"))
	if code, out := o.post(in.ConversationID, "x2", `{"media":[{"key":"`+img+`"}]}`); code != http.StatusBadRequest || out["code"] != "media_not_supported" {
		t.Errorf("media on X: %d %v", code, out)
	}
	if code, _ := o.post(in.ConversationID, "x3", `{"body":"blocked"}`); code != http.StatusAccepted {
		t.Fatal(code)
	}
	if failed := o.deliver(); failed != 0 {
		t.Fatalf("%d failed", failed)
	}
	o.deliver()
	if len(sends) != 1 || sends[0] != "/2/dm_conversations/with/200/messages On its way" {
		t.Errorf("sends: %q", sends)
	}
	_, msgs, _ := o.store.Conversation(context.Background(), in.ConversationID)
	got := map[string]conversation.Message{}
	for _, m := range msgs {
		got[m.Body] = m
	}
	if m := got["On its way"]; m.Status != "sent" || m.ProviderMessageID != "1582838223558127620" {
		t.Errorf("sent reply: %s %s", m.Status, m.ProviderMessageID)
	}
	if m := got["blocked"]; m.Status != "failed" || m.ErrorCode != "403" || !strings.Contains(m.Reason, "You cannot send messages") {
		t.Errorf("refused reply: %s %s %q", m.Status, m.ErrorCode, m.Reason)
	}
}
