package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/eventsout/schemas"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/twilio"
)

// eventLog records every event the stream publishes and holds each to its
// JSON Schema; check (at a test's end) reports any that failed.
type eventLog struct {
	mu     sync.Mutex
	events []eventsout.Event
	bad    []string
}

func (l *eventLog) Publish(_ context.Context, evs []eventsout.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range evs {
		if err := schemas.Validate(e); err != nil {
			l.bad = append(l.bad, err.Error())
		}
		l.events = append(l.events, e)
	}
	return nil
}

func (l *eventLog) check(t testing.TB) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bad {
		t.Errorf("an emitted event does not match its schema: %s", b)
	}
}

func (l *eventLog) types() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Type)
	}
	return out
}

// eventBus is a bus on moto's EventBridge whose rule sends every
// Switchboard event to an SQS queue, as a CRM's rule would an API
// destination.
type eventBus struct {
	name, queue string
	sqs         *sqs.Client
}

// subscriber is a webhook subscription that verifies each delivery with
// the standard-webhooks library; failFor makes it refuse one type (4xx).
type subscriber struct {
	mu       sync.Mutex
	verifier *standardwebhooks.Webhook
	got      map[string]int // event id → verified deliveries
	types    map[string]string
	bad      int
	failFor  string
	refused  int
}

func (s *subscriber) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.verifier.Verify(body, r.Header); err != nil {
		s.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var e struct{ ID, Type string }
	_ = json.Unmarshal(body, &e)
	if e.Type == s.failFor {
		s.refused++
		w.WriteHeader(http.StatusGone)
		return
	}
	if e.ID != r.Header.Get("webhook-id") {
		s.bad++
	}
	s.got[e.ID]++
	s.types[e.ID] = e.Type
}

const eventsSecret = "whsec_ZTJlLWV2ZW50cy1zdWJzY3JpcHRpb24ta2V5"

func (s *system) wireEvents(fanout *stream.Handler, n *notify.Notifier) {
	t := s.t
	eb := localaws.EventBridge(t)
	name := "switchboard-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	q := localaws.BusToQueue(t, eb, s.sqs, name, eventsout.Source)
	s.bus = &eventBus{name: name, queue: q, sqs: s.sqs}
	v, err := standardwebhooks.NewWebhook(eventsSecret)
	if err != nil {
		t.Fatal(err)
	}
	s.subscriber = &subscriber{verifier: v, got: map[string]int{}, types: map[string]string{}, failFor: eventsout.ConversationAssigned}
	hook := httptest.NewServer(s.subscriber)
	t.Cleanup(hook.Close)
	if n.Events, err = notify.NewWebhookSender(&http.Client{Timeout: 5 * time.Second}, eventsSecret, nil); err != nil {
		t.Fatal(err)
	}
	fanout.Events = eventsout.Publishers{s.events, &eventsout.Bus{API: eventsout.NewEventBridge(localaws.Config(), localaws.Endpoint(t, "EVENTBRIDGE_ENDPOINT")), Name: name},
		&notify.EventQueue{Queue: &notify.SQSQueue{API: s.sqs, URL: s.queue}, URLs: []string{hook.URL}}}
}

// busTypes drains the bus's queue: the detail types EventBridge delivered.
func (b *eventBus) drain(t testing.TB, into map[string][]string) {
	out, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &b.queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.Messages {
		var env struct {
			DetailType string          `json:"detail-type"`
			Source     string          `json:"source"`
			Detail     eventsout.Event `json:"detail"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil || env.Source != eventsout.Source || env.DetailType != env.Detail.Type {
			t.Errorf("bus delivered %s (%v)", aws.ToString(m.Body), err)
		}
		into[env.Detail.ID] = append(into[env.Detail.ID], env.DetailType)
		_, _ = b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: &b.queue, ReceiptHandle: m.ReceiptHandle})
	}
}

// TestEventsOut: a customer's SMS, an agent's reply that Twilio takes and
// delivers, an assignment, a close and an erasure each leave as domain
// events — on the EventBridge bus (a rule's SQS target receives them, the
// detail the event itself) and to a webhook subscription that verifies
// every signature with the standard-webhooks library and gets each event
// once; the subscription refusing a type with a 4xx gets it once and is
// not retried. Every event matches its schema (eventLog).
func TestEventsOut(t *testing.T) {
	s := newSystem(t, options{visibility: 5, replies: true, events: true, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	ctx := context.Background()
	if code := s.postSMS("SMevents000000000000000000000001", "+14155550601", "is my order on its way?"); code != 200 {
		t.Fatalf("sms: %d", code)
	}
	var route conversation.Route
	s.waitFor("the conversation", patience, func() bool {
		r, err := s.store.Route(ctx, conversation.Identity{Kind: conversation.KindPhone, Address: "+14155550601"})
		route = r
		return err == nil && r.ConversationID != ""
	})
	conv := "/api/conversations/" + route.ConversationID
	if code, out := s.agent(http.MethodPost, conv+"/messages", "ev-reply-1", `{"body":"it ships today"}`); code != 202 {
		t.Fatalf("reply: %d %v", code, out)
	}
	var replySID string
	s.waitFor("the reply sent", patience, func() bool {
		_, msgs, _ := s.store.Conversation(ctx, route.ConversationID)
		for _, m := range msgs {
			if m.Direction == conversation.DirectionOutbound && m.Status == conversation.StatusSent {
				replySID = m.ProviderMessageID
				return true
			}
		}
		return false
	})
	// Twilio's status callback: delivered.
	if code := s.signedForm(twilio.StatusPath, map[string][]string{"MessageSid": {replySID}, "MessageStatus": {"delivered"},
		"AccountSid": {"AC123"}, "To": {"+14155550601"}, "From": {"+18005550100"}}); code != 200 {
		t.Fatalf("status callback: %d", code)
	}
	if code, out := s.agent(http.MethodPatch, conv, "", `{"assignee":"ana"}`); code != 200 {
		t.Fatalf("assign: %d %v", code, out)
	}
	if code, out := s.agent(http.MethodPatch, conv, "", `{"status":"closed"}`); code != 200 {
		t.Fatalf("close: %d %v", code, out)
	}
	// (An erasure supersedes what its conversations had still to tell: let
	// the close be told first.)
	s.waitFor("the close told", patience, func() bool { return slices.Contains(s.events.types(), eventsout.ConversationClosed) })
	if code, out := s.agent(http.MethodDelete, "/api/contacts/"+route.ContactID, "", ""); code != 204 {
		t.Fatalf("erase: %d %v", code, out)
	}

	want := []string{eventsout.ConversationOpened, eventsout.MessageReceived, eventsout.MessageSent, eventsout.MessageStatus,
		eventsout.ConversationAssigned, eventsout.ConversationClosed, eventsout.ContactErased}
	onBus := map[string][]string{}
	deadline := time.Now().Add(time.Minute)
	s.waitFor("every event on the bus and at the subscriber", patience, func() bool {
		if time.Now().After(deadline) {
			s.subscriber.mu.Lock()
			t.Fatalf("after a minute: on the bus %v; at the subscriber %v (refused %d); published %v", onBus, s.subscriber.types, s.subscriber.refused, s.events.types())
		}
		s.bus.drain(t, onBus)
		var busTypes []string
		for _, ts := range onBus {
			busTypes = append(busTypes, ts...)
		}
		s.subscriber.mu.Lock()
		var hookTypes []string
		for _, typ := range s.subscriber.types {
			hookTypes = append(hookTypes, typ)
		}
		refused := s.subscriber.refused
		s.subscriber.mu.Unlock()
		for _, w := range want {
			if !slices.Contains(busTypes, w) || (w != eventsout.ConversationAssigned && !slices.Contains(hookTypes, w)) {
				return false
			}
		}
		return refused > 0
	})
	s.settle()
	s.subscriber.mu.Lock()
	defer s.subscriber.mu.Unlock()
	if s.subscriber.bad != 0 {
		t.Errorf("%d deliveries failed the signature check or named another webhook-id", s.subscriber.bad)
	}
	for id, n := range s.subscriber.got {
		if n != 1 {
			t.Errorf("event %s (%s) delivered %d times, want once", id, s.subscriber.types[id], n)
		}
	}
	if s.subscriber.refused != 1 {
		t.Errorf("the refused conversation.assigned was posted %d times: a 4xx is final", s.subscriber.refused)
	}
	statuses := 0
	for _, typ := range s.events.types() {
		if typ == eventsout.MessageStatus {
			statuses++
		}
	}
	if statuses < 2 { // sent, delivered
		t.Errorf("%d message.status events, want sent and delivered", statuses)
	}
}
