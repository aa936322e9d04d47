package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/twilio"
)

// Canary values: were any of them logged, a customer's number, name, words or
// one of our secrets would be in CloudWatch.
const (
	canaryPhone   = "+14155550987"
	canaryWA      = "16505550987"
	canaryBody    = "CANARY-BODY-kumquat"
	canaryName    = "CANARY-NAME-Zebulon"
	canaryTwilio  = "CANARY-TWILIO-TOKEN"
	canaryMeta    = "CANARY-META-SECRET"
	canaryVerify  = "CANARY-META-VERIFY"
	canaryTG      = "CANARY-TELEGRAM-SECRET"
	canaryAgent   = "CANARY-AGENT-TOKEN"
	canaryWebhook = "whsec_Q0FOQVJZLVdFQkhPT0stU0VDUkVU"
	canaryAgentNo = "+14155550986"
	canaryEmail   = "canary-kumquat@example.net"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// failing fails every read, as DynamoDB does when it is down.
type failing struct{ conversation.Store }

func (failing) Route(context.Context, conversation.Identity) (conversation.Route, error) {
	return conversation.Route{}, errors.New("dynamodb unreachable")
}

// TestLogsCarryNoCanary sends canary values through every handler — the
// webhooks (good, forged, malformed, with the store down), the stream, the
// notifier with its sinks failing and succeeding, the API — and looks for
// them in everything logged.
func TestLogsCarryNoCanary(t *testing.T) {
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	ctx := context.Background()

	rt, err := routing.Parse([]byte(`{"defaultTeam":"s","teams":[{"id":"s"}],"agents":[{"id":"a","teams":["s"],"sinks":[{"type":"sms","to":"` + canaryAgentNo + `"},{"type":"webhook","to":"WEBHOOK"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	svc := &conversation.Service{Team: "s"}
	var queued []notify.Job
	var mu sync.Mutex
	sh := &stream.Handler{Service: svc, Log: log, Dispatch: &notify.Dispatcher{Routing: rt, Log: log, Queue: queueFunc(func(jobs []notify.Job) {
		mu.Lock()
		queued = append(queued, jobs...)
		mu.Unlock()
	})}}
	st := memstore.New(func(m conversation.Message) {
		if err := sh.Apply(ctx, m); err != nil {
			t.Error(err)
		}
	})
	svc.Store = st

	mux := http.NewServeMux()
	wh, _ := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(canaryTwilio), Service: svc, PublicBaseURL: publicBase, Log: log})
	wh.Register(mux)
	meta.NewHandler(meta.Config{AppSecret: canaryMeta, VerifyToken: canaryVerify, Service: svc, Log: log}).Register(mux)
	tgh, err := telegram.NewHandler(telegram.Config{SecretToken: canaryTG, Service: svc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	tgh.Register(mux)
	(&api.Handler{Store: st, Token: canaryAgent, Log: log}).Register(mux)
	(&email.DevHandler{Intake: &email.Intake{Service: svc, Address: "support@example.com", Log: log}}).Register(mux)

	do := func(method, path string, body string, header map[string]string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		mux.ServeHTTP(httptest.NewRecorder(), req)
	}
	form := url.Values{"MessageSid": {"SMcanary"}, "From": {canaryPhone}, "To": {"+18005550100"}, "Body": {canaryBody}, "ProfileName": {canaryName}}
	sig := twilio.Sign(canaryTwilio, publicBase+twilio.MessagingPath, form)
	formCT := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig}
	do("POST", twilio.MessagingPath, form.Encode(), formCT)                                                                 // stored
	do("POST", twilio.MessagingPath, form.Encode(), formCT)                                                                 // duplicate
	do("POST", twilio.MessagingPath, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}) // forged
	bad := url.Values{"Body": {canaryBody}, "From": {canaryPhone}}
	do("POST", twilio.MessagingPath, bad.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Twilio-Signature": twilio.Sign(canaryTwilio, publicBase+twilio.MessagingPath, bad)}) // malformed
	status := url.Values{"MessageSid": {"SMx"}, "MessageStatus": {"delivered"}, "To": {canaryPhone}}
	do("POST", twilio.StatusPath, status.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
		"X-Twilio-Signature": twilio.Sign(canaryTwilio, publicBase+twilio.StatusPath, status)})

	wa := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"contacts":[{"profile":{"name":"` + canaryName +
		`"},"wa_id":"` + canaryWA + `"}],"messages":[{"from":"` + canaryWA + `","id":"wamid.canary","timestamp":"1700000000","type":"text","text":{"body":"` + canaryBody + `"}}]}}]}]}`
	do("POST", meta.Path, wa, map[string]string{"X-Hub-Signature-256": meta.Sign(canaryMeta, []byte(wa))})
	do("POST", meta.Path, wa, map[string]string{"X-Hub-Signature-256": "sha256=00"})
	do("POST", meta.Path, `{"object":`+canaryBody, map[string]string{"X-Hub-Signature-256": meta.Sign(canaryMeta, []byte(`{"object":`+canaryBody))})
	do("GET", meta.Path+"?hub.mode=subscribe&hub.verify_token="+canaryVerify+"&hub.challenge=1", "", nil)
	do("GET", meta.Path+"?hub.mode=subscribe&hub.verify_token=wrong-"+canaryVerify+"&hub.challenge=1", "", nil)
	tg := `{"update_id":77,"message":{"message_id":1,"date":1700000000,"chat":{"id":55},"from":{"id":55,"first_name":"` + canaryName + `"},"text":"` + canaryBody + `"}}`
	do("POST", telegram.Path, tg, map[string]string{telegram.SecretHeader: canaryTG})
	do("POST", telegram.Path, tg, map[string]string{telegram.SecretHeader: "wrong"})
	mail := "From: " + canaryName + " <" + canaryEmail + ">\r\nTo: support@example.com\r\nSubject: " + canaryBody +
		"\r\nMessage-ID: <canary@example.net>\r\n\r\n" + canaryBody + "\r\n"
	do("POST", email.DevPath, mail, nil)
	do("POST", email.DevPath, "To: "+canaryEmail+"\r\nSubject: "+canaryBody+"\r\n\r\n"+canaryBody, nil) // no From: malformed
	do("GET", "/api/conversations", "", map[string]string{"Authorization": "Bearer " + canaryAgent})
	do("GET", "/api/conversations", "", map[string]string{"Authorization": "Bearer wrong-" + canaryAgent})

	// The store down: webhooks answer 5xx and log the error, not the content.
	down := &conversation.Service{Store: failing{st}}
	wd, _ := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(canaryTwilio), Service: down, PublicBaseURL: publicBase, Log: log})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", twilio.MessagingPath, strings.NewReader(form.Encode()))
	for k, v := range formCT {
		req.Header.Set(k, v)
	}
	wd.Messaging(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("store down: %d", rec.Code)
	}

	// The notifier: the SMS sink refuses, then the webhook sink works.
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer sink.Close()
	whs, _ := notify.NewWebhookSender(sink.Client(), canaryWebhook, nil)
	n := &notify.Notifier{Store: st, Deliveries: memstore.NewDeliveries(), Log: log, Senders: map[string]notify.Sender{
		routing.SinkSMS:     senderFunc(func() error { return &notify.PermanentError{Reason: "Twilio 400 (code 21211): invalid To"} }),
		routing.SinkWebhook: whs,
	}}
	mu.Lock()
	jobs := append([]notify.Job(nil), queued...)
	mu.Unlock()
	if len(jobs) == 0 {
		t.Fatal("no jobs were queued: the canaries did not reach the notifier")
	}
	var ev events.SQSEvent
	for i, j := range jobs {
		if j.Sink.Type == routing.SinkWebhook {
			j.Sink.To = sink.URL
			j.ID = notify.JobID(j.ConversationID, j.WindowKey, j.Agent, j.Sink)
		}
		body, _ := jsonMarshal(j)
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: string(rune('a' + i)), Body: body})
	}
	ev.Records = append(ev.Records, events.SQSMessage{MessageId: "poison", Body: `{"id":"` + canaryBody + `"`})
	if _, err := n.Handle(ctx, ev); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)

	out := logs.String()
	if !strings.Contains(out, "twilio.message") || !strings.Contains(out, "meta.webhook") || !strings.Contains(out, "telegram.update") || !strings.Contains(out, "email.ingest") ||
		!strings.Contains(out, "notify.deliver") || !strings.Contains(out, "notify.dispatch") || !strings.Contains(out, "notify.job") {
		t.Fatalf("not every handler logged; the test would prove nothing:\n%s", out)
	}
	for _, canary := range []string{canaryPhone, strings.TrimPrefix(canaryPhone, "+1"), canaryWA, canaryBody, canaryName, canaryTwilio,
		canaryMeta, canaryVerify, canaryTG, canaryAgent, canaryWebhook, canaryAgentNo, canaryEmail} {
		if strings.Contains(out, canary) {
			t.Errorf("logs contain canary %q", canary)
		}
	}
}

type queueFunc func([]notify.Job)

func (q queueFunc) Send(_ context.Context, jobs []notify.Job) error { q(jobs); return nil }

type senderFunc func() error

func (s senderFunc) Send(context.Context, routing.Sink, notify.Notification) error { return s() }

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
