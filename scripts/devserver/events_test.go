package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/eventsout/schemas"
)

// TestDevServerPostsEvents: with EVENTS_WEBHOOK_URL set, the dev server
// posts each domain event there, signed with EVENTS_WEBHOOK_SECRET (its
// embedded default), each matching its schema: a first SMS is
// conversation.opened and message.received.
func TestDevServerPostsEvents(t *testing.T) {
	v, err := standardwebhooks.NewWebhook(devenv.EventsWebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var types []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Verify(body, r.Header); err != nil {
			t.Errorf("event signature: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var e eventsout.Event
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("event body %s: %v", body, err)
			return
		}
		var raw struct{ Data json.RawMessage }
		_ = json.Unmarshal(body, &raw)
		e.Data = raw.Data
		if err := schemas.Validate(e); err != nil {
			t.Error(err)
		}
		mu.Lock()
		types = append(types, e.Type)
		mu.Unlock()
	}))
	t.Cleanup(sink.Close)
	target := startDev(t, "EVENTS_WEBHOOK_URL", sink.URL)
	sms(t, target, "SMevents000000000000000000000009", "+14155550909", "events please")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		done := slices.Contains(types, eventsout.ConversationOpened) && slices.Contains(types, eventsout.MessageReceived)
		got := slices.Clone(types)
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events posted: %v; want conversation.opened and message.received", got)
		}
	}
}
