package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

const routingDoc = `{
  "defaultTeam": "support",
  "teams": [{"id": "support", "timeZone": "UTC"}],
  "agents": [{"id": "ana", "teams": ["support"], "sinks": [{"type": "sms", "to": "+14155550001"}, {"type": "slack", "to": "https://hooks.slack.example/T/B/X"}]}]
}`

// fakeSender records sends and answers with err.
type fakeSender struct {
	mu    sync.Mutex
	sent  []notify.Notification
	err   error
	calls int
}

func (f *fakeSender) Send(_ context.Context, _ routing.Sink, n notify.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return f.err
	}
	f.sent = append(f.sent, n)
	return nil
}

// memQueue collects jobs.
type memQueue struct {
	mu   sync.Mutex
	jobs []notify.Job
}

func (q *memQueue) Send(_ context.Context, jobs []notify.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

type world struct {
	svc      *conversation.Service
	store    *memstore.Store
	queue    *memQueue
	dispatch *notify.Dispatcher
	notifier *notify.Notifier
	sms      *fakeSender
	slack    *fakeSender
}

func newWorld(t *testing.T, window time.Duration) *world {
	cfg, err := routing.Parse([]byte(routingDoc))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{queue: &memQueue{}, sms: &fakeSender{}, slack: &fakeSender{}}
	w.store = memstore.New(nil)
	w.svc = &conversation.Service{Store: w.store, Team: "support", Window: window}
	w.dispatch = &notify.Dispatcher{Routing: cfg, Queue: w.queue}
	w.notifier = &notify.Notifier{Store: w.store, Deliveries: memstore.NewDeliveries(),
		Senders: map[string]notify.Sender{routing.SinkSMS: w.sms, routing.SinkSlack: w.slack}}
	return w
}

// receive ingests an inbound message and runs the stream's part.
func (w *world) receive(t *testing.T, key, from, body string) {
	t.Helper()
	id, _ := conversation.Normalizer{}.Phone(from)
	res, err := w.svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:" + key, Channel: conversation.ChannelSMS,
		From: id, FromAddress: from, Body: body, Provider: "twilio", ProviderMessageID: key, ProfileName: "Ana García"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := w.svc.Project(context.Background(), res.Message)
	if err != nil {
		t.Fatal(err)
	}
	if conv.NotifyKey == res.Message.Key {
		if err := w.dispatch.Dispatch(context.Background(), conv, res.Message); err != nil {
			t.Fatal(err)
		}
	}
}

func sqsEvent(t *testing.T, jobs ...notify.Job) events.SQSEvent {
	var ev events.SQSEvent
	for i, j := range jobs {
		b, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: fmt.Sprint("m", i), Body: string(b)})
	}
	return ev
}

func TestBurstCoalescesToOneNotificationPerSink(t *testing.T) {
	w := newWorld(t, time.Minute)
	for i := range 3 {
		w.receive(t, fmt.Sprint("SM", i), "+14155550123", fmt.Sprint("part ", i+1))
	}
	if len(w.queue.jobs) != 2 {
		t.Fatalf("jobs = %d, want 2 (one window × sms and slack)", len(w.queue.jobs))
	}
	resp, _ := w.notifier.Handle(context.Background(), sqsEvent(t, w.queue.jobs...))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	if len(w.sms.sent) != 1 || len(w.slack.sent) != 1 {
		t.Fatalf("sent sms %d slack %d", len(w.sms.sent), len(w.slack.sent))
	}
	n := w.sms.sent[0]
	if n.Unread != 3 || n.Text != `3 new messages from Ana García on SMS: "part 3"` || n.Preview != "part 3" || n.Agent != "ana" {
		t.Errorf("notification = %+v", n)
	}
	// Redelivered jobs are not sent again.
	resp, _ = w.notifier.Handle(context.Background(), sqsEvent(t, w.queue.jobs...))
	if len(resp.BatchItemFailures) != 0 || w.sms.calls != 1 || w.slack.calls != 1 {
		t.Errorf("redelivery sent again: sms %d slack %d calls", w.sms.calls, w.slack.calls)
	}
}

func TestAnsweredBeforeWindowClosesIsSkipped(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.receive(t, "SM1", "+14155550123", "hello")
	open, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	reply := conversation.Message{ID: "msg_r", Key: "agent:r", ConversationID: open[0].ID, ContactID: open[0].ContactID,
		Channel: conversation.ChannelSMS, Direction: conversation.DirectionOutbound, Body: "hi!", CreatedAt: time.Now()}
	if err := w.store.PutMessage(context.Background(), reply); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Project(context.Background(), reply); err != nil {
		t.Fatal(err)
	}
	resp, _ := w.notifier.Handle(context.Background(), sqsEvent(t, w.queue.jobs...))
	if len(resp.BatchItemFailures) != 0 || w.sms.calls+w.slack.calls != 0 {
		t.Errorf("answered conversation notified: failures %v, calls %d", resp.BatchItemFailures, w.sms.calls+w.slack.calls)
	}
}

func TestSinkFailures(t *testing.T) {
	w := newWorld(t, 0)
	w.receive(t, "SM1", "+14155550123", "hello")
	w.sms.err = &notify.PermanentError{Reason: "Twilio 400 (code 21211): invalid To"}
	w.slack.err = errors.New("HTTP 503")
	resp, _ := w.notifier.Handle(context.Background(), sqsEvent(t, w.queue.jobs...))
	// The 4xx is recorded as failed and not retried; the 503 is retried.
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures = %+v, want only the 503", resp.BatchItemFailures)
	}
	w.slack.err = nil
	resp, _ = w.notifier.Handle(context.Background(), sqsEvent(t, w.queue.jobs...))
	if len(resp.BatchItemFailures) != 0 || len(w.slack.sent) != 1 || w.sms.calls != 1 {
		t.Errorf("retry: failures %v, slack sent %d, sms calls %d (the refused one must not be tried again)", resp.BatchItemFailures, len(w.slack.sent), w.sms.calls)
	}
}

func TestMalformedJobsFailAlone(t *testing.T) {
	w := newWorld(t, 0)
	w.receive(t, "SM1", "+14155550123", "hello")
	ev := sqsEvent(t, w.queue.jobs...)
	tampered := w.queue.jobs[0]
	tampered.Sink.To = "+19995550000" // id no longer matches
	tb, _ := json.Marshal(tampered)
	ev.Records = append(ev.Records,
		events.SQSMessage{MessageId: "bad-json", Body: "{not json"},
		events.SQSMessage{MessageId: "bad-schema", Body: `{"id":"job_x"}`},
		events.SQSMessage{MessageId: "unknown-field", Body: `{"id":"x","surprise":1}`},
		events.SQSMessage{MessageId: "tampered", Body: string(tb)})
	resp, _ := w.notifier.Handle(context.Background(), ev)
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if strings.Join(failed, ",") != "bad-json,bad-schema,unknown-field,tampered" {
		t.Errorf("failures = %v", failed)
	}
	if len(w.sms.sent) != 1 || len(w.slack.sent) != 1 {
		t.Errorf("good jobs not delivered: sms %d slack %d", len(w.sms.sent), len(w.slack.sent))
	}
}

func TestWebhookSenderSignsStandardWebhooks(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	verifier, _ := standardwebhooks.NewWebhook(secret)
	var got notify.Notification
	status := http.StatusNoContent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
		if r.Header.Get("webhook-id") != "job_1" {
			t.Errorf("webhook-id = %q", r.Header.Get("webhook-id"))
		}
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s, err := notify.NewWebhookSender(srv.Client(), secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := notify.Notification{ID: "job_1", ConversationID: "cv_1", ContactID: "ct_1", Channel: "sms", Preview: "hello", Unread: 1}
	sink := routing.Sink{Type: routing.SinkWebhook, To: srv.URL}
	if err := s.Send(context.Background(), sink, n); err != nil {
		t.Fatal(err)
	}
	if got.ConversationID != "cv_1" || got.ContactID != "ct_1" || got.Channel != "sms" || got.Preview != "hello" {
		t.Errorf("delivered %+v", got)
	}
	status = http.StatusGone
	var perm *notify.PermanentError
	if err := s.Send(context.Background(), sink, n); !errors.As(err, &perm) {
		t.Errorf("410: %v, want permanent", err)
	}
	for _, st := range []int{http.StatusInternalServerError, http.StatusTooManyRequests} {
		status = st
		if err := s.Send(context.Background(), sink, n); err == nil || errors.As(err, &perm) {
			t.Errorf("%d: %v, want a retryable error", st, err)
		}
	}
	if _, err := notify.NewWebhookSender(nil, "whsec_!!!", nil); err == nil {
		t.Error("a secret that is not base64 was accepted")
	}
}

func TestSlackSender(t *testing.T) {
	var text string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		text = body["text"]
	}))
	defer srv.Close()
	s := &notify.SlackSender{Client: srv.Client()}
	if err := s.Send(context.Background(), routing.Sink{Type: routing.SinkSlack, To: srv.URL}, notify.Notification{Text: "New message from Ana"}); err != nil || text != "New message from Ana" {
		t.Errorf("slack: %v, text %q", err, text)
	}
}

// twilioStandIn answers like Twilio's Messages endpoint.
func twilioStandIn(t *testing.T, status int) (*http.Client, *[]url.Values) {
	var mu sync.Mutex
	var got []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		if user != "AC123" || pass != "secret" || r.URL.Path != "/2010-04-01/Accounts/AC123/Messages.json" {
			t.Errorf("request %s %s as %s", r.Method, r.URL.Path, user)
		}
		_ = r.ParseForm()
		mu.Lock()
		got = append(got, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status >= 400 {
			fmt.Fprint(w, `{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}`)
			return
		}
		fmt.Fprint(w, `{"sid":"SM123","status":"queued"}`)
	}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	client := &http.Client{Timeout: 5 * time.Second, Transport: rewrite{target}}
	return client, &got
}

// rewrite sends every request to the stand-in, as if it were api.twilio.com.
type rewrite struct{ to *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

func TestSMSSenderThroughTwilioREST(t *testing.T) {
	client, got := twilioStandIn(t, http.StatusCreated)
	s := &notify.SMSSender{API: notify.NewTwilioAPI("AC123", "secret", client), From: "+18005550100"}
	if err := s.Send(context.Background(), routing.Sink{Type: routing.SinkSMS, To: "+14155550001"}, notify.Notification{Text: "New message"}); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 || (*got)[0].Get("To") != "+14155550001" || (*got)[0].Get("From") != "+18005550100" || (*got)[0].Get("Body") != "New message" {
		t.Errorf("Twilio got %v", *got)
	}
	client, _ = twilioStandIn(t, http.StatusBadRequest)
	s = &notify.SMSSender{API: notify.NewTwilioAPI("AC123", "secret", client), From: "MG0000"}
	var perm *notify.PermanentError
	if err := s.Send(context.Background(), routing.Sink{Type: routing.SinkSMS, To: "bad"}, notify.Notification{Text: "x"}); !errors.As(err, &perm) || !strings.Contains(perm.Reason, "21211") {
		t.Errorf("400: %v, want permanent with Twilio's code", err)
	}
}

// cancellingSender sends, then the function's time runs out (its context is
// cancelled) before the delivery is recorded.
type cancellingSender struct {
	fakeSender
	cancel context.CancelFunc
}

func (c *cancellingSender) Send(ctx context.Context, s routing.Sink, n notify.Notification) error {
	err := c.fakeSender.Send(ctx, s, n)
	c.cancel()
	return err
}

// TestSentIsRecordedWhenTimeRunsOutAfterTheSend: a send that went out is
// recorded even if the handler's context ends right after it, so the
// job's redelivery sends nothing more (it would otherwise wait out the
// lease and send again).
func TestSentIsRecordedWhenTimeRunsOutAfterTheSend(t *testing.T) {
	w := newWorld(t, 0)
	// Delivery records on DynamoDB Local: a cancelled context fails a call
	// there, as it does in AWS (memstore's records ignore contexts).
	db := localaws.DynamoDB(t)
	w.notifier.Deliveries = store.New(db, localaws.Table(t, db))
	ctx, cancel := context.WithCancel(context.Background())
	cs := &cancellingSender{cancel: cancel}
	w.notifier.Senders[routing.SinkSMS] = cs
	clock := time.Now()
	w.notifier.Now = func() time.Time { return clock }
	w.receive(t, "SMlate", "+14155550123", "hello")
	if len(w.queue.jobs) == 0 {
		t.Fatal("no jobs")
	}
	var smsJobs []notify.Job
	for _, j := range w.queue.jobs {
		if j.Sink.Type == routing.SinkSMS {
			smsJobs = append(smsJobs, j)
		}
	}
	if _, err := w.notifier.Handle(ctx, sqsEvent(t, smsJobs...)); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute) // the redelivery comes after the claim's lease
	if _, err := w.notifier.Handle(context.Background(), sqsEvent(t, smsJobs...)); err != nil {
		t.Fatal(err)
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.calls != len(smsJobs) {
		t.Errorf("%d sends for %d jobs delivered twice; want each sent once", cs.calls, len(smsJobs))
	}
}

// TestNotificationLinksToTheConsole: with the console's URL set, every
// notification carries consoleUrl (PUBLIC_CONSOLE_URL + #/conversations/
// {id}, DESIGN.md section 6) and its text ends with it, so an SMS or a
// Slack message opens the conversation in one tap.
func TestNotificationLinksToTheConsole(t *testing.T) {
	w := newWorld(t, time.Minute)
	w.notifier.ConsoleURL = "https://desk.example.com/app/"
	w.receive(t, "SM1", "+14155550123", "where is my parcel?")
	if resp, _ := w.notifier.Handle(context.Background(), sqsEvent(t, w.queue.jobs...)); len(resp.BatchItemFailures) != 0 || len(w.sms.sent) != 1 {
		t.Fatalf("failures %+v, sms %d", resp.BatchItemFailures, len(w.sms.sent))
	}
	n := w.sms.sent[0]
	want := "https://desk.example.com/app/#/conversations/" + n.ConversationID
	if n.ConsoleURL != want || !strings.HasSuffix(n.Text, " "+want) {
		t.Errorf("consoleUrl %q, text %q; want %q at the end", n.ConsoleURL, n.Text, want)
	}
}
