package twilio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

const (
	token   = "test-auth-token"
	base    = "https://hooks.example.com"
	ackText = "Thanks, we got your message. An agent will reply shortly."
)

type env struct {
	t     *testing.T
	mux   *http.ServeMux
	store conversation.Store
	svc   *conversation.Service
	logs  *bytes.Buffer
	mu    sync.Mutex
}

// newEnv serves the handler over st (memstore when nil); stored messages are
// projected at once, as the stream does in AWS.
func newEnv(t *testing.T, st conversation.Store) *env {
	e := &env{t: t, logs: &bytes.Buffer{}}
	svc := &conversation.Service{Team: "support"}
	if st == nil {
		st = memstore.New(func(m conversation.Message) {
			if _, err := svc.Project(context.Background(), m); err != nil {
				t.Errorf("project: %v", err)
			}
		})
	}
	svc.Store = st
	e.store, e.svc = st, svc
	h, err := twilio.NewHandler(twilio.Config{
		Verifier: twilio.NewVerifier(token), Service: svc, Normalizer: conversation.Normalizer{DefaultRegion: "US"},
		PublicBaseURL: base, MaxBody: 16 << 10,
		Log: slog.New(slog.NewJSONHandler(lockedWriter{&e.mu, e.logs}, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mux = http.NewServeMux()
	h.Register(e.mux)
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func fixture(t *testing.T, name string) string {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// post sends body to path, signed for the public URL unless sig is given.
func (e *env) post(path, body string, sig ...string) *httptest.ResponseRecorder {
	form, err := url.ParseQuery(body)
	if err != nil {
		e.t.Fatalf("fixture form: %v", err)
	}
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	s := twilio.Sign(token, base+path, form)
	if len(sig) > 0 {
		s = sig[0]
	}
	if s != "" {
		// API Gateway lower-cases header names; Go canonicalizes them back.
		req.Header.Set("x-twilio-signature", s)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func (e *env) open() []conversation.Conversation {
	cs, err := conversation.All(context.Background(), e.store, conversation.StatusOpen)
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func (e *env) messages() []conversation.Message {
	var all []conversation.Message
	for _, c := range e.open() {
		_, ms, err := e.store.Conversation(context.Background(), c.ID)
		if err != nil {
			e.t.Fatal(err)
		}
		all = append(all, ms...)
	}
	return all
}

const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

func TestInboundSMS(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.post(twilio.MessagingPath, fixture(t, "sms-inbound.form"))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
		t.Fatalf("status %d type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	// No acknowledgement in TwiML: it is an automatic message through the
	// outbox, in the customer's language (shared/care).
	if rec.Body.String() != emptyTwiML {
		t.Errorf("first message answer:\n got %s\nwant %s", rec.Body, emptyTwiML)
	}
	msgs := e.messages()
	if len(msgs) != 1 {
		t.Fatalf("stored %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Body != "Hi, my order #41 hasn't arrived" || m.From != "+14155550123" || m.To != "+18005550100" ||
		m.Channel != conversation.ChannelSMS || m.ProviderMessageID != "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9" ||
		m.Provider != "twilio" || m.Direction != conversation.DirectionInbound || len(m.Media) != 0 {
		t.Errorf("stored %+v", m)
	}
	body := strings.ReplaceAll(fixture(t, "sms-inbound.form"), "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "SM0a1b2c3d4e5f60718293a4b5c6d7e8fa")
	if rec := e.post(twilio.MessagingPath, body); rec.Code != http.StatusOK || rec.Body.String() != emptyTwiML {
		t.Errorf("follow-up: %d %s", rec.Code, rec.Body)
	}
	if n := len(e.messages()); n != 2 {
		t.Errorf("messages = %d, want 2", n)
	}
}

func TestConcurrentRedeliveryStoresOnce(t *testing.T) {
	e := newEnv(t, nil)
	body := fixture(t, "sms-inbound.form")
	const copies = 5
	answers := make([]string, copies)
	var wg sync.WaitGroup
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := e.post(twilio.MessagingPath, body)
			if rec.Code != http.StatusOK {
				t.Errorf("copy %d: status %d", i, rec.Code)
			}
			answers[i] = rec.Body.String()
		}()
	}
	wg.Wait()
	for _, a := range answers {
		if a != emptyTwiML {
			t.Errorf("unexpected answer %s", a)
		}
	}
	if n := len(e.messages()); n != 1 {
		t.Errorf("messages = %d, want 1", n)
	}
	if n := len(e.open()); n != 1 {
		t.Errorf("conversations = %d, want 1", n)
	}
}

func TestMMSMediaInAnyOrder(t *testing.T) {
	e := newEnv(t, nil)
	if rec := e.post(twilio.MessagingPath, fixture(t, "mms-inbound.form")); rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	msgs := e.messages()
	if len(msgs) != 1 {
		t.Fatalf("messages = %d", len(msgs))
	}
	media := msgs[0].Media
	if len(media) != 2 || !strings.HasSuffix(media[0].URL, "/ME11111111111111111111111111111111") || media[0].ContentType != "image/jpeg" ||
		!strings.HasSuffix(media[1].URL, "/ME22222222222222222222222222222222") || media[1].ContentType != "application/pdf" {
		t.Errorf("media = %+v", media)
	}
}

func TestSMSThenWhatsAppIsOneConversation(t *testing.T) {
	e := newEnv(t, nil)
	e.post(twilio.MessagingPath, fixture(t, "sms-inbound.form"))
	rec := e.post(twilio.MessagingPath, fixture(t, "whatsapp-inbound.form"))
	if rec.Code != http.StatusOK || rec.Body.String() != emptyTwiML {
		t.Fatalf("whatsapp on open conversation: %d %s", rec.Code, rec.Body)
	}
	open := e.open()
	if len(open) != 1 {
		t.Fatalf("open conversations = %d, want 1", len(open))
	}
	if got := fmt.Sprint(open[0].Channels); got != "[sms whatsapp]" {
		t.Errorf("channels = %s", got)
	}
	contact, err := e.store.Contact(context.Background(), open[0].ContactID)
	if err != nil {
		t.Fatal(err)
	}
	if contact.Name != "Ana García" {
		t.Errorf("contact name = %q, want the WhatsApp profile name", contact.Name)
	}
}

func TestStopIsRecordedAndNotAcknowledged(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.post(twilio.MessagingPath, fixture(t, "sms-stop.form"))
	if rec.Code != http.StatusOK || rec.Body.String() != emptyTwiML {
		t.Fatalf("STOP on a new conversation: %d %s (want no acknowledgement)", rec.Code, rec.Body)
	}
	st, err := e.store.IdentityState(context.Background(), conversation.Identity{Kind: conversation.KindPhone, Address: "+14155550123"})
	if err != nil || !st.OptedOut {
		t.Errorf("identity after STOP: %+v, %v", st, err)
	}
}

func TestOptOutKeywords(t *testing.T) {
	tests := []struct {
		form string
		want conversation.OptOut
	}{
		{"Body=STOP", conversation.OptOutStop},
		{"Body=+stop+", conversation.OptOutStop},
		{"Body=Unsubscribe", conversation.OptOutStop},
		{"Body=start", conversation.OptOutStart},
		{"Body=HELP", conversation.OptOutHelp},
		{"Body=please+stop+calling+me", conversation.OptOutNone},
		{"Body=Stop+it&OptOutType=STOP", conversation.OptOutStop},
		{"Body=hello", conversation.OptOutNone},
	}
	for _, tt := range tests {
		form, _ := webhook.ParseForm([]byte(tt.form + "&MessageSid=SM1&From=%2B14155550123&To=%2B18005550100"))
		m, err := twilio.ParseMessage(form)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.OptOut(); got != tt.want {
			t.Errorf("%s: OptOut = %q, want %q", tt.form, got, tt.want)
		}
	}
}

func TestRejectsBadRequestsAndStoresNothing(t *testing.T) {
	sms := fixture(t, "sms-inbound.form")
	tests := []struct {
		name string
		body string
		sig  []string
		want int
	}{
		{"forged signature", sms, []string{"bm90IGEgc2lnbmF0dXJlIGF0IGFsbA=="}, http.StatusForbidden},
		{"missing signature", sms, []string{""}, http.StatusForbidden},
		{"signed for another body", strings.Replace(sms, "hasn%27t", "has", 1), []string{twilio.Sign(token, base+twilio.MessagingPath, mustForm(sms))}, http.StatusForbidden},
		{"signed with another token", sms, []string{twilio.Sign("other-token", base+twilio.MessagingPath, mustForm(sms))}, http.StatusForbidden},
		{"missing MessageSid", "From=%2B14155550123&Body=hi", nil, http.StatusBadRequest},
		{"missing From", "MessageSid=SM1&Body=hi", nil, http.StatusBadRequest},
		{"bad NumMedia", "MessageSid=SM1&From=%2B14155550123&NumMedia=lots", nil, http.StatusBadRequest},
		{"media url missing", "MessageSid=SM1&From=%2B14155550123&NumMedia=2&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fx", nil, http.StatusBadRequest},
		{"too many media", "MessageSid=SM1&From=%2B14155550123&NumMedia=11", nil, http.StatusBadRequest},
		{"oversize body", sms + "&Pad=" + strings.Repeat("x", 17<<10), nil, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			var rec *httptest.ResponseRecorder
			if tt.want == http.StatusRequestEntityTooLarge {
				rec = e.post(twilio.MessagingPath, tt.body, "irrelevant")
			} else {
				rec = e.post(twilio.MessagingPath, tt.body, tt.sig...)
			}
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if n := len(e.open()); n != 0 {
				t.Errorf("stored %d conversations", n)
			}
			assertNoPersonalData(t, e.logs.String())
		})
	}
}

func mustForm(s string) url.Values {
	f, err := url.ParseQuery(s)
	if err != nil {
		panic(err)
	}
	return f
}

func TestWrongMethodAndContentType(t *testing.T) {
	e := newEnv(t, nil)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, twilio.MessagingPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, twilio.MessagingPath, strings.NewReader(`{"MessageSid":"SM1"}`))
	req.Header.Set("Content-Type", "application/json")
	rec = httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("JSON body: %d", rec.Code)
	}
}

// failingStore fails every call, as DynamoDB does when it is unreachable.
type failingStore struct{ conversation.Store }

var errDown = errors.New("dynamodb: connection refused")

func (failingStore) Route(context.Context, conversation.Identity) (conversation.Route, error) {
	return conversation.Route{}, errDown
}

func (failingStore) UpdateStatus(context.Context, string, string, conversation.StatusUpdate) (bool, error) {
	return false, errDown
}

func TestStoreDownIs5xx(t *testing.T) {
	e := newEnv(t, failingStore{})
	rec := e.post(twilio.MessagingPath, fixture(t, "sms-inbound.form"))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "dynamodb") {
		t.Errorf("store down: %d %q; want 500 without internals", rec.Code, rec.Body)
	}
	rec = e.post(twilio.StatusPath, fixture(t, "status-delivered.form"))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status callback with store down: %d", rec.Code)
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Errorf("the system error was not logged: %s", e.logs)
	}
	assertNoPersonalData(t, e.logs.String())
}

func TestStatusCallback(t *testing.T) {
	e := newEnv(t, nil)
	e.post(twilio.MessagingPath, fixture(t, "sms-inbound.form"))
	conv := e.open()[0]
	out := conversation.Message{
		ID: "msg_out", Key: "twilio:SM55555555555555555555555555555555", ConversationID: conv.ID, ContactID: conv.ContactID,
		Channel: conversation.ChannelSMS, Direction: conversation.DirectionOutbound, Provider: "twilio",
		ProviderMessageID: "SM55555555555555555555555555555555", Status: "queued", Body: "reply",
	}
	if err := e.store.PutMessage(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		_, ms, _ := e.store.Conversation(context.Background(), conv.ID)
		for _, m := range ms {
			if m.Key == out.Key {
				return m.Status
			}
		}
		return ""
	}
	delivered := fixture(t, "status-delivered.form")
	sent := strings.ReplaceAll(delivered, "=delivered", "=sent")
	for _, step := range []struct{ body, want string }{{sent, "sent"}, {delivered, "delivered"}, {sent, "delivered"}} {
		if rec := e.post(twilio.StatusPath, step.body); rec.Code != http.StatusOK {
			t.Fatalf("status callback: %d %s", rec.Code, rec.Body)
		}
		if got := status(); got != step.want {
			t.Errorf("status = %s, want %s", got, step.want)
		}
	}
	unknown := strings.ReplaceAll(delivered, "SM55555555555555555555555555555555", "SM99999999999999999999999999999999")
	if rec := e.post(twilio.StatusPath, unknown); rec.Code != http.StatusOK {
		t.Errorf("unknown sid: %d, want 200 no-op", rec.Code)
	}
	if rec := e.post(twilio.StatusPath, "MessageSid=SM1"); rec.Code != http.StatusBadRequest {
		t.Errorf("missing MessageStatus: %d", rec.Code)
	}
	if rec := e.post(twilio.StatusPath, delivered, "forged"); rec.Code != http.StatusForbidden {
		t.Errorf("forged status: %d", rec.Code)
	}
	if got := status(); got != "delivered" {
		t.Errorf("final status = %s", got)
	}
}

// assertNoPersonalData checks logs for the fixtures' phone numbers and bodies.
func assertNoPersonalData(t *testing.T, logs string) {
	t.Helper()
	for _, secret := range []string{"4155550123", "order", "Hola", token} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestLogsNameNoPhoneOrBody(t *testing.T) {
	e := newEnv(t, nil)
	for _, f := range []string{"sms-inbound.form", "mms-inbound.form", "whatsapp-inbound.form", "sms-stop.form"} {
		e.post(twilio.MessagingPath, fixture(t, f))
	}
	logs := e.logs.String()
	if strings.Count(logs, `"msg":"twilio.message"`) != 4 {
		t.Errorf("want one log line per message:\n%s", logs)
	}
	assertNoPersonalData(t, logs)
}
