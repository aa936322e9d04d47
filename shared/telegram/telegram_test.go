package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/telegram"
)

const (
	secret = "telegram-test-secret_token-1"
	corpus = "../../../shared/corpus/telegram/"
)

type world struct {
	mux   *http.ServeMux
	store conversation.Store
}

func newWorld(t *testing.T, ns storetest.NewStore) *world {
	svc := &conversation.Service{Team: "support"}
	st := backends.Streamed{Store: ns(t), OnStored: func(m conversation.Message) { _, _ = svc.Project(context.Background(), m) }}
	svc.Store = st
	mux := http.NewServeMux()
	h, err := telegram.NewHandler(telegram.Config{SecretToken: secret, Service: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(mux)
	return &world{mux: mux, store: st}
}

// update reads a corpus update, giving it updateID (the samples all use
// 10000) and applying edit to its message.
func update(t *testing.T, name string, updateID int64, edit func(m map[string]any)) []byte {
	b, err := os.ReadFile(corpus + name)
	if err != nil {
		t.Fatal(err)
	}
	var u map[string]any
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	u["update_id"] = updateID
	if edit != nil {
		for _, k := range []string{"message", "edited_message"} {
			if m, ok := u[k].(map[string]any); ok {
				edit(m)
			}
		}
	}
	out, _ := json.Marshal(u)
	return out
}

func (w *world) post(body []byte, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, telegram.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set(telegram.SecretHeader, token)
	}
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	return rec
}

func (w *world) messages(t *testing.T) []conversation.Message {
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	var all []conversation.Message
	for _, c := range cs {
		_, ms, _ := w.store.Conversation(context.Background(), c.ID)
		all = append(all, ms...)
	}
	return all
}

func testMessagesMediaAndDuplicates(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	lang := func(m map[string]any) { m["from"].(map[string]any)["language_code"] = "de" }
	posts := []struct {
		body []byte
		n    int
	}{
		{update(t, "official-message-text.json", 1, lang), 1},
		{update(t, "official-message-text.json", 1, lang), 1}, // redelivered
		{update(t, "official-message-voice.json", 2, func(m map[string]any) { m["message_id"] = 1366 }), 2},
		{update(t, "official-message-document.json", 3, func(m map[string]any) { m["message_id"] = 1367 }), 3},
		{update(t, "official-message-audio.json", 4, func(m map[string]any) { m["message_id"] = 1368 }), 4},
		{update(t, "official-message-text.json", 5, func(m map[string]any) {
			delete(m, "text")
			m["message_id"] = 1369
			m["location"] = map[string]any{"latitude": 52.52, "longitude": 13.405}
		}), 5},
	}
	for i, p := range posts {
		if rec := w.post(p.body, secret); rec.Code != http.StatusOK {
			t.Fatalf("post %d: %d %s", i, rec.Code, rec.Body)
		}
		if n := len(w.messages(t)); n != p.n {
			t.Fatalf("after post %d: %d messages, want %d", i, n, p.n)
		}
	}
	byID := map[string]conversation.Message{}
	for _, m := range w.messages(t) {
		byID[m.ProviderMessageID] = m
		if m.Identity.Key() != "telegram:1111111" || m.Channel != conversation.ChannelTelegram {
			t.Errorf("identity %s channel %s", m.Identity.Key(), m.Channel)
		}
	}
	if m := byID["1111111:1365"]; m.Body != "/start" || !m.CreatedAt.Equal(time.Unix(1441645532, 0)) {
		t.Errorf("text = %+v", m)
	}
	if m := byID["1111111:1366"]; len(m.Media) != 1 || m.Media[0].ContentType != "audio/ogg" || m.Media[0].URL != "telegram:file/AwADBAADbXXXXXXXXXXXGBdhD2l6_XX" {
		t.Errorf("voice = %+v", m)
	}
	if m := byID["1111111:1367"]; m.Body != "Testfile.pdf" || len(m.Media) != 1 || m.Media[0].ContentType != "application/pdf" || m.Media[0].Size != 536392 {
		t.Errorf("document = %+v", m)
	}
	if m := byID["1111111:1369"]; m.Body != "📍 52.520000,13.405000" {
		t.Errorf("location = %q", m.Body)
	}
	c, _ := w.store.Contact(context.Background(), byID["1111111:1365"].ContactID)
	if c.Name != "Test Firstname Test Lastname" || c.Language != "de" {
		t.Errorf("contact = %+v", c)
	}
}

func testEditLandsOnTheOriginal(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	w.post(update(t, "official-message-text.json", 1, nil), secret)
	edit := update(t, "official-edited-message.json", 2, nil)
	for range 2 { // redelivered edits change nothing more
		if rec := w.post(edit, secret); rec.Code != http.StatusOK {
			t.Fatalf("%d", rec.Code)
		}
	}
	msgs := w.messages(t)
	if len(msgs) != 1 || msgs[0].Body != "Edited text" || msgs[0].OriginalBody != "/start" || !msgs[0].EditedAt.Equal(time.Unix(1441646600, 0)) {
		t.Errorf("after edit: %+v", msgs)
	}
	// An edit of a message we never saw is what the customer wrote all the
	// same: kept as a message of its own, once.
	other := update(t, "official-edited-message.json", 3, func(m map[string]any) { m["message_id"] = 9 })
	for range 2 {
		if rec := w.post(other, secret); rec.Code != http.StatusOK {
			t.Errorf("edit of unknown message: %d", rec.Code)
		}
	}
	if msgs := w.messages(t); len(msgs) != 2 || msgs[1].Body != "Edited text" {
		t.Errorf("after an edit of an unknown message: %+v", msgs)
	}
}

func testBadInputAndOtherUpdates(t *testing.T, ns storetest.NewStore) {
	text := update(t, "official-message-text.json", 1, nil)
	for _, tt := range []struct {
		name  string
		body  []byte
		token string
		want  int
	}{
		{"no secret", text, "", http.StatusForbidden},
		{"wrong secret", text, "guess", http.StatusForbidden},
		{"not JSON", []byte(`{"update_id":`), secret, http.StatusBadRequest},
		{"no update_id", []byte(`{"message":{"text":"x"}}`), secret, http.StatusBadRequest},
		{"message without sender", []byte(`{"update_id":7,"message":{"message_id":1,"chat":{"id":1},"date":1,"text":"x"}}`), secret, http.StatusBadRequest},
		{"chat member update: 200, nothing stored", []byte(`{"update_id":9,"my_chat_member":{"chat":{"id":1},"from":{"id":1},"date":1}}`), secret, http.StatusOK},
		{"service message: 200, nothing stored", []byte(`{"update_id":9,"message":{"message_id":3,"chat":{"id":1},"from":{"id":1},"date":1,"pinned_message":{"message_id":2,"chat":{"id":1},"date":1,"text":"x"}}}`), secret, http.StatusOK},
		{"invalid UTF-8: 400", []byte("{\"update_id\":7,\"message\":{\"message_id\":1,\"chat\":{\"id\":1},\"from\":{\"id\":1},\"date\":1,\"text\":\"\xff\"}}"), secret, http.StatusBadRequest},
		{"NUL: 400", []byte(`{"update_id":7,"message":{"message_id":1,"chat":{"id":1},"from":{"id":1},"date":1,"text":"a\u0000b"}}`), secret, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ns)
			if rec := w.post(tt.body, tt.token); rec.Code != tt.want {
				t.Errorf("%d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if n := len(w.messages(t)); n != 0 {
				t.Errorf("stored %d", n)
			}
		})
	}
}

// TestEveryCorpusUpdate: every official sample is answered 200, and each one
// that is a customer's message is stored.
func testEveryCorpusUpdate(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	entries, err := os.ReadDir(corpus)
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for i, e := range entries {
		body := update(t, e.Name(), int64(100+i), func(m map[string]any) { m["message_id"] = 5000 + i })
		if rec := w.post(body, secret); rec.Code != http.StatusOK {
			t.Errorf("%s: %d %s", e.Name(), rec.Code, rec.Body)
		}
		var u map[string]any
		_ = json.Unmarshal(body, &u)
		for _, kind := range []string{"message", "callback_query", "edited_message"} {
			if _, ok := u[kind]; ok {
				stored++ // the edit's original is not there: it is kept as a message
			}
		}
	}
	if n := len(w.messages(t)); n != stored || stored < 9 {
		t.Errorf("stored %d of %d customer updates", n, stored)
	}
}

// TestOnEveryStore runs each case on memstore and on DynamoDB Local.
func TestOnEveryStore(t *testing.T) {
	cases := map[string]func(*testing.T, storetest.NewStore){
		"MessagesMediaAndDuplicates": testMessagesMediaAndDuplicates,
		"EditLandsOnTheOriginal":     testEditLandsOnTheOriginal,
		"BadInputAndOtherUpdates":    testBadInputAndOtherUpdates,
		"EveryCorpusUpdate":          testEveryCorpusUpdate,
		"EveryMessageType":           testEveryMessageType,
		"BurstKeepsItsOrder":         testBurstKeepsItsOrder,
	}
	for store, ns := range backends.Stores() {
		for name, run := range cases {
			t.Run(store+"/"+name, func(t *testing.T) { run(t, ns) })
		}
	}
}

// TestNewHandlerRefusesEmptySecret: a handler without a secret token would
// take anyone's updates, so it cannot be built (functions/social then leaves
// the route unmounted and says so at start).
func TestNewHandlerRefusesEmptySecret(t *testing.T) {
	h, err := telegram.NewHandler(telegram.Config{Service: &conversation.Service{}})
	if !errors.Is(err, telegram.ErrNoSecret) || h != nil {
		t.Fatalf("NewHandler with no secret = %v, %v; want nil, ErrNoSecret", h, err)
	}
}
