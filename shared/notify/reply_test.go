package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/stream"
)

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "0123456789abcdef0123456789abcdef" // twilio-go takes alphanumeric tokens only, as Twilio issues
	botToken    = "424242:reply-test-bot-token"
	agentToken  = "reply-test-agent"
	publicBase  = "https://switchboard.example.com"
)

// twilioAPI checks each request as Twilio documents the Messages
// resource (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP
// Basic auth of the account SID and auth token, form To, From, Body and
// StatusCallback) and answers as Twilio does: 201 with the message's SID,
// or the configured failure.
type twilioAPI struct {
	t      *testing.T
	mu     sync.Mutex
	forms  []url.Values
	calls  []url.Values // Calls.json (callbacks.go's stand-in)
	answer atomic.Int32 // 0: 201; else that status
}

func (s *twilioAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/2010-04-01/Accounts/"+twilioSID+"/Calls.json" {
		s.call(w, r)
		return
	}
	user, pass, ok := r.BasicAuth()
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+twilioSID+"/Messages.json" || !ok || user != twilioSID || pass != twilioToken {
		s.t.Errorf("twilio stand-in: %s %s auth %v %q", r.Method, r.URL.Path, ok, user)
		http.Error(w, `{"code":20003,"message":"Authenticate","status":401}`, http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.t.Error(err)
	}
	for _, f := range []string{"To", "From", "StatusCallback"} {
		if r.PostForm.Get(f) == "" {
			s.t.Errorf("twilio stand-in: no %s in %v", f, r.PostForm)
		}
	}
	// A message has a Body or MediaUrl (absolute URLs, up to 10), or is a
	// Content API template (ContentSid HX… and its ContentVariables, a
	// JSON object).
	for _, u := range r.PostForm["MediaUrl"] {
		if p, err := url.Parse(u); err != nil || !p.IsAbs() || len(r.PostForm["MediaUrl"]) > 10 {
			s.t.Errorf("twilio stand-in: MediaUrl %q", u)
		}
	}
	var vars map[string]string
	if body, sid := r.PostForm.Get("Body"), r.PostForm.Get("ContentSid"); body == "" && r.PostForm.Get("MediaUrl") == "" && (!strings.HasPrefix(sid, "HX") ||
		json.Unmarshal([]byte(r.PostForm.Get("ContentVariables")), &vars) != nil) || body != "" && sid != "" {
		s.t.Errorf("twilio stand-in: neither a Body nor a template: %v", r.PostForm)
	}
	w.Header().Set("Content-Type", "application/json")
	switch code := int(s.answer.Load()); code {
	case 0:
	case http.StatusBadRequest:
		w.WriteHeader(code)
		fmt.Fprint(w, `{"code":21211,"message":"The 'To' number is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`)
		return
	default:
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"code":20500,"message":"Internal Server Error","status":%d}`, code)
		return
	}
	s.mu.Lock()
	s.forms = append(s.forms, r.PostForm)
	n := len(s.forms)
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"SM%032d","status":"queued","to":%q,"from":%q,"body":%q}`, n, r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body"))
}

func (s *twilioAPI) sent() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values{}, s.forms...)
}

// telegramAPI checks sendMessage, sendPhoto and sendDocument as the Bot
// API documents them (POST /bot<token>/<method>, JSON chat_id and text, or
// photo / document as an HTTP URL with an optional caption) and answers
// ok with a message_id. Each call is recorded with its "method".
type telegramAPI struct {
	t     *testing.T
	mu    sync.Mutex
	calls []map[string]any
}

func (s *telegramAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	method, _ := strings.CutPrefix(r.URL.Path, "/bot"+botToken+"/")
	field := map[string]string{"sendMessage": "text", "sendPhoto": "photo", "sendDocument": "document"}[method]
	if r.Method != http.MethodPost || field == "" || r.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("telegram stand-in: %s %s %s", r.Method, r.URL.Path, raw)
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	if v, ok := body[field].(string); !ok || field != "text" && !strings.HasPrefix(v, "http") {
		s.t.Errorf("telegram stand-in: %s without a %s: %s", method, field, raw)
	}
	body["method"] = method
	s.mu.Lock()
	s.calls = append(s.calls, body)
	n := len(s.calls)
	s.mu.Unlock()
	fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d,"chat":{"id":%v},"text":%q}}`, 100+n, body["chat_id"], body["text"])
}

// graphAPI checks the Send API as Meta documents it (POST
// /<version>/me/messages, the page token as the bearer, JSON recipient.id,
// messaging_type, message.text; the tag with MESSAGE_TAG) and answers with
// a message_id.
type graphAPI struct {
	t              *testing.T
	mu             sync.Mutex
	calls          []map[string]any
	whatsappCalls  int
	whatsappBodies []map[string]any
}

const pageToken = "reply-test-page-token"

func (s *graphAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/"+notify.GraphVersion+"/1234567890/messages" { // WhatsApp Cloud, from the phone_number_id
		s.whatsapp(w, r, raw)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/"+notify.GraphVersion+"/me/messages" || r.Header.Get("Authorization") != "Bearer "+pageToken ||
		json.Unmarshal(raw, &body) != nil {
		s.t.Errorf("graph stand-in: %s %s %q %s", r.Method, r.URL.Path, r.Header.Get("Authorization"), raw)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190}}`)
		return
	}
	recipient, _ := body["recipient"].(map[string]any)
	message, _ := body["message"].(map[string]any)
	mt := body["messaging_type"]
	att, _ := message["attachment"].(map[string]any)
	payload, _ := att["payload"].(map[string]any)
	isAttachment := att != nil && message["text"] == nil && payload["url"] != nil &&
		(att["type"] == "image" || att["type"] == "audio" || att["type"] == "video" || att["type"] == "file")
	if recipient["id"] == nil || message["text"] == nil && !isAttachment || (mt != "RESPONSE" && !(mt == "MESSAGE_TAG" && body["tag"] == "HUMAN_AGENT")) {
		s.t.Errorf("graph stand-in: %s", raw)
	}
	s.mu.Lock()
	s.calls = append(s.calls, body)
	n := len(s.calls)
	s.mu.Unlock()
	fmt.Fprintf(w, `{"recipient_id":%q,"message_id":"m_reply%d"}`, recipient["id"], n)
}

// whatsapp checks a Cloud API send (messaging_product whatsapp, to the
// wa_id, a text body) and answers with its wamid.
func (s *graphAPI) whatsapp(w http.ResponseWriter, r *http.Request, raw []byte) {
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	text, _ := body["text"].(map[string]any)
	tpl, _ := body["template"].(map[string]any)
	lang, _ := tpl["language"].(map[string]any)
	kind, _ := body["type"].(string)
	medium, _ := body[kind].(map[string]any)
	isMedia := (kind == "image" || kind == "document" || kind == "audio" || kind == "video") && medium["link"] != nil &&
		(kind != "audio" || medium["caption"] == nil)
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+pageToken || body["messaging_product"] != "whatsapp" ||
		body["to"] != "14155550173" || !(kind == "text" && text["body"] != nil || kind == "template" && tpl["name"] != nil && lang["code"] != nil || isMedia) {
		s.t.Errorf("whatsapp cloud stand-in: %s %s", r.Method, raw)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`)
		return
	}
	s.mu.Lock()
	s.whatsappCalls++
	s.whatsappBodies = append(s.whatsappBodies, body)
	s.mu.Unlock()
	fmt.Fprint(w, `{"messaging_product":"whatsapp","contacts":[{"input":"14155550173","wa_id":"14155550173"}],"messages":[{"id":"wamid.HBgLMTQxNTU1NTAxNzMVAgARGBI"}]}`)
}

// fakeMailer records email replies (SES itself is exercised on moto by the
// acknowledgement's tests).
type fakeMailer struct {
	mu      sync.Mutex
	replies []notify.Reply
}

func (f *fakeMailer) Reply(_ context.Context, r notify.Reply) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies = append(f.replies, r)
	return fmt.Sprintf("0100018f-ses-%d", len(f.replies)), nil
}

// jobQueue keeps the jobs for the test to deliver, as SQS would hand them
// to the notifier (again, after a failure).
type jobQueue struct {
	mu   sync.Mutex
	jobs []notify.Job
}

func (q *jobQueue) Send(_ context.Context, jobs []notify.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.jobs = append(q.jobs, jobs...)
	return nil
}

type outbox struct {
	t        *testing.T
	svc      *conversation.Service
	store    *memstore.Store
	queue    *jobQueue
	notifier *notify.Notifier
	mux      *http.ServeMux
	twilio   *twilioAPI
	telegram *telegramAPI
	graph    *graphAPI
	mail     *fakeMailer
	uploads  *attach.DevUploads
	line     *lineAPI
	clock    time.Time
}

func newOutbox(t *testing.T) *outbox {
	o := &outbox{t: t, queue: &jobQueue{}, twilio: &twilioAPI{t: t}, telegram: &telegramAPI{t: t}, graph: &graphAPI{t: t}, mail: &fakeMailer{},
		clock: time.Now().UTC()}
	tw, tg, gr := httptest.NewServer(o.twilio), httptest.NewServer(o.telegram), httptest.NewServer(o.graph)
	t.Cleanup(tw.Close)
	t.Cleanup(tg.Close)
	t.Cleanup(gr.Close)
	o.line = &lineAPI{t: t, keys: map[string]string{}}
	ln := httptest.NewServer(o.line)
	t.Cleanup(ln.Close)
	o.uploads = &attach.DevUploads{}
	files := http.NewServeMux()
	o.uploads.Register(files)
	up := httptest.NewServer(files)
	t.Cleanup(up.Close)
	o.uploads.Base = up.URL
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o.svc = &conversation.Service{Team: "support", Now: func() time.Time { return o.clock }}
	rt, err := routing.Parse([]byte(`{"defaultTeam":"support","teams":[{"id":"support","timeZone":"UTC"}],"agents":[{"id":"ana","name":"Ana","teams":["support"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	d := &notify.Dispatcher{Routing: rt, Queue: o.queue, Log: log}
	sh := &stream.Handler{Service: o.svc, Outbox: d, Log: log}
	o.store = memstore.New(func(m conversation.Message) {
		if err := sh.Apply(context.Background(), m); err != nil {
			t.Error(err)
		}
	})
	o.svc.Store = o.store
	o.notifier = &notify.Notifier{Store: o.store, Deliveries: memstore.NewDeliveries(), Log: log, Service: o.svc,
		Replies: notify.NewReplies(notify.ReplyConfig{
			TwilioAccountSID: twilioSID, TwilioAuthToken: twilioToken, TwilioAPIURL: tw.URL, PublicBaseURL: publicBase,
			TelegramBotToken: botToken, TelegramURL: tg.URL, Mailer: o.mail, MetaAccessToken: pageToken, MetaGraphURL: gr.URL,
			ReplyTo: func(from, id string) string { return "support+" + id + "@example.com" }, Media: o.uploads,
			LineChannelToken: lineToken, LineAPIURL: ln.URL,
		}, &http.Client{Timeout: 5 * time.Second})}
	o.mux = http.NewServeMux()
	(&api.Handler{Store: o.store, Service: o.svc, Token: agentToken, Log: log, Uploads: o.uploads}).Register(o.mux)
	return o
}

// customer stores an inbound message.
func (o *outbox) customer(key string, ch conversation.Channel, from conversation.Identity, fromAddr, to, body string, sent time.Time, account ...string) conversation.Message {
	o.t.Helper()
	res, err := o.svc.Ingest(context.Background(), conversation.Inbound{Key: key, Channel: ch, From: from, FromAddress: fromAddr, To: to,
		Account: strings.Join(account, ""),
		Body:    body, Provider: provider(key),
		ProviderMessageID: key, SentAt: sent, Subject: map[bool]string{true: "My order"}[ch == conversation.ChannelEmail]})
	if err != nil {
		o.t.Fatal(err)
	}
	return res.Message
}

// provider is the provider a test key names ("twilio:SM1" → twilio;
// email through SES).
func provider(key string) string {
	p, _, _ := strings.Cut(key, ":")
	if p == "email" {
		return "ses"
	}
	return p
}

func (o *outbox) phone(raw string) conversation.Identity {
	id, err := conversation.Normalizer{}.Phone(raw)
	if err != nil {
		o.t.Fatal(err)
	}
	return id
}

// post sends an agent's reply through the API.
func (o *outbox) post(conv, key, body string) (int, map[string]any) {
	return o.call("/api/conversations/"+conv+"/messages", key, body)
}

// call POSTs body to an /api/ path as the agent.
func (o *outbox) call(path, key, body string) (int, map[string]any) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+agentToken)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	o.mux.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// deliver hands every queued job to the notifier once, as SQS would, and
// keeps those that failed for another round.
func (o *outbox) deliver() (failed int) {
	o.queue.mu.Lock()
	jobs := o.queue.jobs
	o.queue.jobs = nil
	o.queue.mu.Unlock()
	var keep []notify.Job
	for _, j := range jobs {
		raw, _ := json.Marshal(j)
		job, err := notify.ParseJob(string(raw)) // the SQS body, as the notifier reads it
		if err != nil {
			o.t.Fatalf("job: %v", err)
		}
		if o.notifier.Deliver(context.Background(), job) != nil {
			keep = append(keep, job)
		}
	}
	o.queue.mu.Lock()
	o.queue.jobs = append(o.queue.jobs, keep...)
	o.queue.mu.Unlock()
	return len(keep)
}

func (o *outbox) message(conv, id string) conversation.Message {
	o.t.Helper()
	_, msgs, err := o.store.Conversation(context.Background(), conv)
	if err != nil {
		o.t.Fatal(err)
	}
	for _, m := range msgs {
		if m.ID == id {
			return m
		}
	}
	o.t.Fatalf("no message %s", id)
	return conversation.Message{}
}

func statuses(m conversation.Message) string {
	var s []string
	for _, h := range m.StatusHistory {
		s = append(s, h.Status)
	}
	return strings.Join(s, " → ")
}

// TestReplyOnEveryChannel: a customer writes on SMS, WhatsApp, Telegram and
// email; an agent replies on each; each provider stand-in gets exactly one
// correct request, and Twilio's status callback moves the SMS to delivered.
func TestReplyOnEveryChannel(t *testing.T) {
	o := newOutbox(t)
	now := o.clock
	sms := o.customer("twilio:SMc1", conversation.ChannelSMS, o.phone("+14155550171"), "+14155550171", "+18005550100", "where is my order?", now)
	wa := o.customer("twilio:SMc2", conversation.ChannelWhatsApp, o.phone("+14155550172"), "whatsapp:+14155550172", "whatsapp:+14155238886", "hola", now)
	tgID, _ := conversation.Normalizer{}.Platform(conversation.KindTelegram, "777")
	tg := o.customer("telegram:1001", conversation.ChannelTelegram, tgID, "777", "777", "hi from telegram", now)
	mailID, _ := conversation.Normalizer{}.Email("ana@example.net")
	mail := o.customer("email:<abc@example.net>", conversation.ChannelEmail, mailID, "ana@example.net", "support@example.com", "about my order", now)

	msID, _ := conversation.Normalizer{}.Platform(conversation.KindMessenger, "psid-71")
	ms := o.customer("meta:m_71", conversation.ChannelMessenger, msID, "psid-71", "page-1", "hi on messenger", now)
	igID, _ := conversation.Normalizer{}.Platform(conversation.KindInstagram, "igsid-72")
	ig := o.customer("meta:m_72", conversation.ChannelInstagram, igID, "igsid-72", "ig-1", "hi on instagram, 3 days ago", now.Add(-72*time.Hour))
	waCloud := o.customer("meta:wamid.73", conversation.ChannelWhatsApp, o.phone("+14155550173"), "whatsapp:+14155550173", "+15550001111", "via the Cloud API", now, "1234567890")

	replies := map[string]string{}
	for i, m := range []conversation.Message{sms, wa, tg, mail, ms, ig, waCloud} {
		code, body := o.post(m.ConversationID, fmt.Sprint("k", i), `{"body":"On its way!"}`)
		if code != http.StatusAccepted || body["message"].(map[string]any)["status"] != "queued" {
			t.Fatalf("reply on %s: %d %v", m.Channel, code, body)
		}
		replies[m.ConversationID] = body["message"].(map[string]any)["id"].(string)
	}
	if failed := o.deliver(); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	forms := o.twilio.sent()
	if len(forms) != 2 {
		t.Fatalf("twilio got %d requests, want 2", len(forms))
	}
	byTo := map[string]url.Values{forms[0].Get("To"): forms[0], forms[1].Get("To"): forms[1]}
	if f := byTo["+14155550171"]; f.Get("From") != "+18005550100" || f.Get("Body") != "On its way!" || f.Get("StatusCallback") != publicBase+"/webhooks/twilio/messaging/status" {
		t.Errorf("SMS request: %v", f)
	}
	if f := byTo["whatsapp:+14155550172"]; f.Get("From") != "whatsapp:+14155238886" {
		t.Errorf("WhatsApp request: %v (have %v)", f, byTo)
	}
	if len(o.telegram.calls) != 1 || o.telegram.calls[0]["chat_id"] != 777.0 || o.telegram.calls[0]["text"] != "On its way!" {
		t.Errorf("telegram: %v", o.telegram.calls)
	}
	if len(o.mail.replies) != 1 {
		t.Fatalf("email replies: %v", o.mail.replies)
	}
	if r := o.mail.replies[0]; r.To != "ana@example.net" || r.From != "support@example.com" || r.Subject != "Re: My order" ||
		r.InReplyTo != "email:<abc@example.net>" || r.ReplyTo != "support+"+mail.ConversationID+"@example.com" || r.Auto {
		t.Errorf("email reply: %+v", r)
	}
	if len(o.graph.calls) != 2 {
		t.Fatalf("graph calls: %v", o.graph.calls)
	}
	for _, c := range o.graph.calls {
		id := c["recipient"].(map[string]any)["id"]
		if want := map[any]string{"psid-71": "RESPONSE", "igsid-72": "MESSAGE_TAG"}[id]; c["messaging_type"] != want {
			t.Errorf("graph call to %v: %v, want %s", id, c, want)
		}
	}
	if o.graph.whatsappCalls != 1 {
		t.Errorf("WhatsApp Cloud sends: %d, want 1 (never through Twilio)", o.graph.whatsappCalls)
	}
	for _, m := range []conversation.Message{sms, wa, tg, mail, ms, ig, waCloud} {
		got := o.message(m.ConversationID, replies[m.ConversationID])
		if got.Status != "sent" || got.ProviderMessageID == "" || got.Agent != "dev" {
			t.Errorf("%s reply: %s %q by %q", m.Channel, got.Status, got.ProviderMessageID, got.Agent)
		}
	}
	// Twilio's status callback comes back: delivered.
	smsReply := o.message(sms.ConversationID, replies[sms.ConversationID])
	if _, err := o.svc.RecordStatus(context.Background(), "twilio", smsReply.ProviderMessageID, conversation.StatusUpdate{Status: "delivered"}); err != nil {
		t.Fatal(err)
	}
	if got := o.message(sms.ConversationID, smsReply.ID); statuses(got) != "queued → sent → delivered" {
		t.Errorf("timeline status: %s", statuses(got))
	}
	c, _ := o.store.Summary(context.Background(), sms.ConversationID)
	if c.Unread != 0 || c.FirstResponseAt.IsZero() {
		t.Errorf("after the reply: unread %d firstResponseAt %v", c.Unread, c.FirstResponseAt)
	}
	if o.deliver(); len(o.twilio.sent()) != 2 {
		t.Errorf("a redelivery sent again")
	}
}

// TestReplyStorms: one key POSTed 10 times at once sends once; 100 replies
// while Twilio answers 503 are all sent once it recovers, none twice; a 400
// fails the reply with Twilio's code and is not retried.
func TestReplyStorms(t *testing.T) {
	o := newOutbox(t)
	m := o.customer("twilio:SMs1", conversation.ChannelSMS, o.phone("+14155550181"), "+14155550181", "+18005550100", "hello?", o.clock)
	var wg sync.WaitGroup
	codes := make([]int, 10)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = o.post(m.ConversationID, "same-key", `{"body":"one answer"}`)
		}()
	}
	wg.Wait()
	accepted := 0
	for _, c := range codes {
		switch c {
		case http.StatusAccepted:
			accepted++
		case http.StatusOK:
		default:
			t.Errorf("a concurrent repeat answered %d", c)
		}
	}
	o.deliver()
	if accepted != 1 || len(o.twilio.sent()) != 1 {
		t.Fatalf("10 concurrent POSTs of one key: %d accepted, %d sent", accepted, len(o.twilio.sent()))
	}

	o.twilio.answer.Store(http.StatusServiceUnavailable)
	for i := range 100 {
		if code, body := o.post(m.ConversationID, fmt.Sprint("storm-", i), fmt.Sprintf(`{"body":"reply %d"}`, i)); code != http.StatusAccepted {
			t.Fatalf("reply %d: %d %v", i, code, body)
		}
	}
	for round := range 3 { // Twilio down for three rounds of redelivery
		if failed := o.deliver(); failed != 100 {
			t.Fatalf("round %d while Twilio answers 503: %d failed, want 100", round, failed)
		}
	}
	o.twilio.answer.Store(0)
	if failed := o.deliver(); failed != 0 {
		t.Fatalf("after recovery: %d failed", failed)
	}
	o.deliver()
	bodies := map[string]int{}
	for _, f := range o.twilio.sent() {
		bodies[f.Get("Body")]++
	}
	for i := range 100 {
		if n := bodies[fmt.Sprintf("reply %d", i)]; n != 1 {
			t.Errorf("reply %d sent %d times", i, n)
		}
	}
	t.Logf("100 replies through 3 rounds of 503: %d sends in all (one each)", len(o.twilio.sent())-1)

	o.twilio.answer.Store(http.StatusBadRequest)
	_, body := o.post(m.ConversationID, "bad", `{"body":"to a bad number"}`)
	id := body["message"].(map[string]any)["id"].(string)
	if failed := o.deliver(); failed != 0 {
		t.Errorf("a 400 was retried (%d jobs back in the queue)", failed)
	}
	got := o.message(m.ConversationID, id)
	if got.Status != "failed" || got.ErrorCode != "21211" || !strings.Contains(got.Reason, "not a valid phone number") {
		t.Errorf("after Twilio's 400: %s %q %q", got.Status, got.ErrorCode, got.Reason)
	}
}

// TestReplyRules: each channel rule refuses with its name before queueing,
// and a rule that starts to apply while a reply waits fails it at send
// time; bad requests are 4xx and queue nothing.
func TestReplyRules(t *testing.T) {
	o := newOutbox(t)
	ctx := context.Background()
	old := o.clock.Add(-25 * time.Hour)
	wa := o.customer("twilio:SMr1", conversation.ChannelWhatsApp, o.phone("+14155550191"), "whatsapp:+14155550191", "whatsapp:+14155238886", "yesterday", old)
	if code, body := o.post(wa.ConversationID, "w", `{"body":"late"}`); code != 409 || body["code"] != "whatsapp_window" {
		t.Errorf("WhatsApp after 25 h: %d %v", code, body)
	}
	msID, _ := conversation.Normalizer{}.Platform(conversation.KindMessenger, "psid-1")
	ms := o.customer("meta:m1", conversation.ChannelMessenger, msID, "psid-1", "page-1", "hi", o.clock.Add(-8*24*time.Hour))
	if code, body := o.post(ms.ConversationID, "m", `{"body":"a week late"}`); code != 409 || body["code"] != "meta_window" {
		t.Errorf("Messenger after 8 days: %d %v", code, body)
	}
	stop := o.customer("twilio:SMr2", conversation.ChannelSMS, o.phone("+14155550192"), "+14155550192", "+18005550100", "STOP", o.clock)
	if _, err := o.store.Project(ctx, func() conversation.Message { m := stop; m.OptOut = conversation.OptOutStop; return m }(), 0, o.clock); err != nil {
		t.Fatal(err)
	}
	if code, body := o.post(stop.ConversationID, "s", `{"body":"please come back"}`); code != 409 || body["code"] != "opted_out" {
		t.Errorf("opted out: %d %v", code, body)
	}
	sms := o.customer("twilio:SMr3", conversation.ChannelSMS, o.phone("+14155550193"), "+14155550193", "+18005550100", "hi", o.clock)
	code, _ := o.post(sms.ConversationID, "before-block", `{"body":"queued, then blocked"}`)
	if code != 202 {
		t.Fatalf("reply: %d", code)
	}
	blocked := true
	if _, err := o.svc.UpdateContact(ctx, sms.ContactID, conversation.ContactPatch{Blocked: &blocked}); err != nil {
		t.Fatal(err)
	}
	if code, body := o.post(sms.ConversationID, "after-block", `{"body":"to a blocked contact"}`); code != 409 || body["code"] != "blocked" {
		t.Errorf("blocked: %d %v", code, body)
	}
	o.deliver()
	if n := len(o.twilio.sent()); n != 0 {
		t.Errorf("%d sends to a blocked contact", n)
	}
	_, msgs, _ := o.store.Conversation(ctx, sms.ConversationID)
	var replies []conversation.Message
	for _, m := range msgs {
		if m.Direction == conversation.DirectionOutbound {
			replies = append(replies, m)
		}
	}
	if len(replies) != 1 || replies[0].Status != "failed" || replies[0].ErrorCode != "blocked" {
		t.Errorf("the reply queued before the block: %+v", replies)
	}

	fresh := o.customer("twilio:SMr4", conversation.ChannelSMS, o.phone("+14155550194"), "+14155550194", "+18005550100", "hi", o.clock)
	for name, tt := range map[string]struct {
		conv, key, body string
		code            int
		errCode         string
	}{
		"no key":          {fresh.ConversationID, "", `{"body":"x"}`, 400, "invalid"},
		"empty body":      {fresh.ConversationID, "e", `{"body":"  "}`, 400, "invalid"},
		"unknown field":   {fresh.ConversationID, "u", `{"body":"x","urgent":true}`, 400, "invalid"},
		"unknown conv":    {"cv_nope", "n", `{"body":"x"}`, 404, "not_found"},
		"no such channel": {fresh.ConversationID, "c", `{"body":"x","channel":"telegram"}`, 409, "no_address"},
	} {
		if code, body := o.post(tt.conv, tt.key, tt.body); code != tt.code || body["code"] != tt.errCode {
			t.Errorf("%s: %d %v, want %d %s", name, code, body, tt.code, tt.errCode)
		}
	}
	if code, _ := o.post(fresh.ConversationID, "k", `{"body":"first"}`); code != 202 {
		t.Fatalf("first: %d", code)
	}
	if code, body := o.post(fresh.ConversationID, "k", `{"body":"second, other text"}`); code != 422 || body["code"] != "idempotency_key_reused" {
		t.Errorf("same key, other body: %d %v", code, body)
	}
	if code, _ := o.post(fresh.ConversationID, "k", `{"body":"first"}`); code != 200 {
		t.Errorf("same key, same body: %d, want 200", code)
	}
	o.queue.mu.Lock()
	queued := len(o.queue.jobs)
	o.queue.mu.Unlock()
	if queued != 1 {
		t.Errorf("%d send jobs queued, want the one accepted reply's", queued)
	}
}

// TestReplyTemplates: past WhatsApp's 24 hours only an approved template
// goes out — through Twilio as its Content API id and variables, through
// the Cloud API as a template message — and the timeline shows its text.
func TestReplyTemplates(t *testing.T) {
	o := newOutbox(t)
	o.svc.Templates = []conversation.Template{{Name: "order_update", Language: "en_US", Body: "Your order {{1}} ships {{2}}.", ContentSID: "HX0123456789abcdef0123456789abcdef"}}
	old := o.clock.Add(-30 * time.Hour)
	tw := o.customer("twilio:SMt1", conversation.ChannelWhatsApp, o.phone("+14155550174"), "whatsapp:+14155550174", "whatsapp:+14155238886", "where is it?", old)
	cloud := o.customer("meta:wamid.t2", conversation.ChannelWhatsApp, o.phone("+14155550173"), "whatsapp:+14155550173", "+15550001111", "hello?", old, "1234567890")
	tpl := `{"template":{"name":"order_update","language":"en_US","params":["#41","today"]}}`
	for _, m := range []conversation.Message{tw, cloud} {
		if code, body := o.post(m.ConversationID, "free", `{"body":"free text"}`); code != 409 || body["code"] != "whatsapp_window" {
			t.Errorf("free text after 30 h: %d %v", code, body)
		}
		code, body := o.post(m.ConversationID, "tpl", tpl)
		if code != 202 || body["message"].(map[string]any)["body"] != "Your order #41 ships today." {
			t.Fatalf("template after 30 h: %d %v", code, body)
		}
	}
	o.deliver()
	forms := o.twilio.sent()
	if len(forms) != 1 || forms[0].Get("ContentSid") != "HX0123456789abcdef0123456789abcdef" || forms[0].Get("ContentVariables") != `{"1":"#41","2":"today"}` || forms[0].Get("Body") != "" {
		t.Errorf("twilio template send: %v", forms)
	}
	if len(o.graph.whatsappBodies) != 1 {
		t.Fatalf("cloud sends: %v", o.graph.whatsappBodies)
	}
	sent, _ := json.Marshal(o.graph.whatsappBodies[0]["template"])
	if want := `{"components":[{"parameters":[{"text":"#41","type":"text"},{"text":"today","type":"text"}],"type":"body"}],"language":{"code":"en_US"},"name":"order_update"}`; string(sent) != want {
		t.Errorf("cloud template:\n got %s\nwant %s", sent, want)
	}
	for name, body := range map[string]string{
		"unknown template":   `{"template":{"name":"nope","language":"en_US"}}`,
		"template, no lang":  `{"template":{"name":"order_update"}}`,
		"template not on wa": ``,
	} {
		conv := tw.ConversationID
		if body == "" {
			sms := o.customer("twilio:SMt3", conversation.ChannelSMS, o.phone("+14155550175"), "+14155550175", "+18005550100", "hi", o.clock)
			conv, body = sms.ConversationID, tpl
		}
		if code, out := o.post(conv, "bad-"+name, body); code != 400 || out["code"] != "invalid" {
			t.Errorf("%s: %d %v", name, code, out)
		}
	}
}
