package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/email/thread"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/twilio"
)

const (
	// replySID and replyToken are the account the reply sender uses
	// (twilio-go's client wants an alphanumeric token).
	replySID    = "AC0123456789abcdef0123456789abcdef"
	replyToken  = "0123456789abcdef0123456789abcdef"
	botToken    = "4242:e2e-bot-token"
	pageToken   = "e2e-page-token"
	lineToken   = "e2e-line-token"
	agentToken  = "e2e-agent-token"
	phoneNumber = "106540352242922" // the WhatsApp Cloud number customers write to
)

// providerCall is one request a provider stand-in accepted.
type providerCall struct {
	provider, path string
	form           url.Values     // Twilio
	json           map[string]any // Telegram, Graph
	id             string         // the id it answered with
}

// providers are loopback stand-ins for Twilio's Messages resource, the
// Telegram Bot API and the Graph API's Send API; each checks a request as
// its provider documents it (the path, the credentials, the required
// fields) and answers as the provider does. What a stand-in refuses is a
// test failure.
type providers struct {
	t     testing.TB
	mu    sync.Mutex
	calls []providerCall
}

func (p *providers) record(c providerCall) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.id = fmt.Sprintf("%s-%d", c.provider, len(p.calls)+1)
	if c.provider == "twilio" {
		c.id = fmt.Sprintf("SM%032d", len(p.calls)+1)
	}
	p.calls = append(p.calls, c)
	return c.id
}

func (p *providers) all() []providerCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]providerCall{}, p.calls...)
}

func (p *providers) twilio(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if err := r.ParseForm(); err != nil || r.URL.Path != "/2010-04-01/Accounts/"+replySID+"/Messages.json" || !ok || user != replySID || pass != replyToken ||
		r.PostForm.Get("To") == "" || r.PostForm.Get("From") == "" || r.PostForm.Get("StatusCallback") != publicBase+twilio.StatusPath ||
		r.PostForm.Get("Body") == "" && r.PostForm.Get("MediaUrl") == "" {
		p.t.Errorf("twilio stand-in refused %s %v", r.URL.Path, r.PostForm)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":21604,"message":"A 'To' phone number is required.","status":400}`)
		return
	}
	id := p.record(providerCall{provider: "twilio", path: r.URL.Path, form: r.PostForm})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":%q,"status":"queued"}`, id)
}

func (p *providers) telegram(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	method, _ := strings.CutPrefix(r.URL.Path, "/bot"+botToken+"/")
	if json.Unmarshal(raw, &body) != nil || method != "sendMessage" || body["chat_id"] == nil || body["text"] == "" {
		p.t.Errorf("telegram stand-in refused %s %s", r.URL.Path, raw)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: message text is empty"}`)
		return
	}
	id := p.record(providerCall{provider: "telegram", path: method, json: body})
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "telegram-"))
	fmt.Fprintf(w, `{"ok":true,"result":{"message_id":%d}}`, 500+n)
}

func (p *providers) graph(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	ok := json.Unmarshal(raw, &body) == nil && r.Header.Get("Authorization") == "Bearer "+pageToken
	switch r.URL.Path {
	case "/" + notify.GraphVersion + "/me/messages":
		msg, _ := body["message"].(map[string]any)
		if !ok || body["recipient"] == nil || msg["text"] == nil || body["messaging_type"] != "RESPONSE" {
			break
		}
		id := p.record(providerCall{provider: "graph", path: r.URL.Path, json: body})
		fmt.Fprintf(w, `{"recipient_id":"x","message_id":"m_%s"}`, id)
		return
	case "/" + notify.GraphVersion + "/" + phoneNumber + "/messages":
		if !ok || body["messaging_product"] != "whatsapp" || body["type"] != "text" || body["to"] == nil {
			break
		}
		id := p.record(providerCall{provider: "whatsapp", path: r.URL.Path, json: body})
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.%s"}]}`, id)
		return
	}
	p.t.Errorf("graph stand-in refused %s %s", r.URL.Path, raw)
	w.WriteHeader(http.StatusBadRequest)
	fmt.Fprint(w, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`)
}

// line checks a push as LINE documents it (the bearer token, a UUID
// X-Line-Retry-Key, to and 1–5 messages) and answers with the sent id.
func (p *providers) line(w http.ResponseWriter, r *http.Request) {
	var body struct {
		To       string           `json:"to"`
		Messages []map[string]any `json:"messages"`
	}
	raw, _ := io.ReadAll(r.Body)
	if json.Unmarshal(raw, &body) != nil || r.URL.Path != "/v2/bot/message/push" || r.Header.Get("Authorization") != "Bearer "+lineToken ||
		len(r.Header.Get("X-Line-Retry-Key")) != 36 || body.To == "" || len(body.Messages) == 0 || body.Messages[0]["type"] != "text" {
		p.t.Errorf("line stand-in refused %s %s", r.URL.Path, raw)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"message":"The request body has 1 error(s)"}`)
		return
	}
	id := p.record(providerCall{provider: "line", path: r.URL.Path, json: map[string]any{"to": body.To, "retryKey": r.Header.Get("X-Line-Retry-Key")}})
	fmt.Fprintf(w, `{"sentMessages":[{"id":%q,"quoteToken":"q"}]}`, id)
}

// wireReplies is options.replies: the outbox from the stream to the
// notifier's reply senders, pointed at the stand-ins (email through moto's
// SES, attachments in moto's S3), and the agents' API on the webhook
// server.
func (s *system) wireReplies(mux *http.ServeMux, fanout *stream.Handler, n *notify.Notifier) {
	s.replies = &providers{t: s.t}
	tw, tg, gr := httptest.NewServer(http.HandlerFunc(s.replies.twilio)), httptest.NewServer(http.HandlerFunc(s.replies.telegram)),
		httptest.NewServer(http.HandlerFunc(s.replies.graph))
	s.t.Cleanup(tw.Close)
	s.t.Cleanup(tg.Close)
	s.t.Cleanup(gr.Close)
	ln := httptest.NewServer(http.HandlerFunc(s.replies.line))
	s.t.Cleanup(ln.Close)
	s3c := localaws.S3(s.t)
	s.s3, s.mediaBucket, s.emailBucket = s3c, localaws.Bucket(s.t, s3c), localaws.Bucket(s.t, s3c)
	uploads := attach.NewUploads(s3c, s.mediaBucket)
	fanout.Outbox = fanout.Dispatch.(*notify.Dispatcher)
	n.Service = s.svc
	n.Replies = notify.NewReplies(notify.ReplyConfig{
		TwilioAccountSID: replySID, TwilioAuthToken: replyToken, TwilioAPIURL: tw.URL, PublicBaseURL: publicBase,
		TelegramBotToken: botToken, TelegramURL: tg.URL, MetaAccessToken: pageToken, MetaGraphURL: gr.URL,
		Mailer: s.mail, ReplyTo: thread.Address, Media: uploads, LineChannelToken: lineToken, LineAPIURL: ln.URL,
	}, &http.Client{Timeout: 5 * time.Second})
	(&api.Handler{Store: s.store, Service: s.svc, Token: agentToken, Uploads: uploads, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Objects: &attach.Objects{S3: s3c, MediaBucket: s.mediaBucket, EmailBucket: s.emailBucket}}).Register(mux)
}

// agent calls the API as an agent would.
func (s *system) agent(method, path, key, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.web.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+agentToken)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// signedForm posts a Twilio webhook form to path, signed as Twilio signs.
func (s *system) signedForm(path string, form url.Values) int {
	req, _ := http.NewRequest(http.MethodPost, s.web.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(twilioToken, publicBase+path, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (s *system) metaEvent(body string) int {
	return s.post(meta.Path, body, map[string]string{"X-Hub-Signature-256": meta.Sign(metaSecret, []byte(body)), "Content-Type": "application/json"})
}

// TestRepliesEndToEnd is the replies issue's "done means" on DynamoDB
// Local's stream, moto's SQS, S3 and SES and the provider stand-ins: a
// customer writes on SMS (and an agent answers with an attachment
// uploaded to S3 through the presigned PUT), WhatsApp through Twilio,
// WhatsApp through the Cloud API, Messenger, Telegram and email; an
// agent replies on each; each provider receives exactly one correct
// request; each provider's own callback (Twilio's status callback, Meta's
// delivery receipt and WhatsApp status, SES's delivery event through SNS)
// moves the reply to delivered, so that the timeline reads
// queued → sent → delivered. Telegram's Bot API and LINE's push API report
// no deliveries: their replies end at sent; Instagram reports reads only
// (messaging_seen).
func TestRepliesEndToEnd(t *testing.T) {
	s := newSystem(t, options{visibility: 5, replies: true, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	ctx := context.Background()
	ts := time.Now().Unix()

	// The customers write.
	if code := s.postSMS("SMe2ereply000000000000000000001", "+14155550201", "my parcel is damaged"); code != 200 {
		t.Fatalf("sms: %d", code)
	}
	if code := s.signedForm(twilio.MessagingPath, url.Values{"MessageSid": {"SMe2ereply000000000000000000002"}, "AccountSid": {"AC123"},
		"From": {"whatsapp:+14155550202"}, "To": {"whatsapp:+14155238886"}, "Body": {"hola"}, "NumMedia": {"0"}}); code != 200 {
		t.Fatalf("whatsapp: %d", code)
	}
	if code := s.metaEvent(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":%q},"messages":[{"from":"16505550203","id":"wamid.in203","timestamp":"%d","type":"text","text":{"body":"cloud hello"}}]}}]}]}`, phoneNumber, ts)); code != 200 {
		t.Fatalf("whatsapp cloud: %d", code)
	}
	if code := s.metaEvent(fmt.Sprintf(`{"object":"page","entry":[{"id":"P1","time":%d,"messaging":[{"sender":{"id":"psid204"},"recipient":{"id":"P1"},"timestamp":%d,"message":{"mid":"m_in204","text":"messenger hello"}}]}]}`, ts*1000, ts*1000)); code != 200 {
		t.Fatalf("messenger: %d", code)
	}
	if code := s.metaEvent(fmt.Sprintf(`{"object":"instagram","entry":[{"id":"IG1","time":%d,"messaging":[{"sender":{"id":"igsid207"},"recipient":{"id":"IG1"},"timestamp":%d,"message":{"mid":"m_in207","text":"instagram hello"}}]}]}`, ts*1000, ts*1000)); code != 200 {
		t.Fatalf("instagram: %d", code)
	}
	if code := s.post(telegram.Path, fmt.Sprintf(`{"update_id":9205,"message":{"message_id":1,"date":%d,"chat":{"id":205},"from":{"id":205,"first_name":"T"},"text":"telegram hello"}}`, ts),
		map[string]string{telegram.SecretHeader: telegramSecret, "Content-Type": "application/json"}); code != 200 {
		t.Fatalf("telegram: %d", code)
	}
	lineBody := fmt.Sprintf(`{"destination":"Uab012345678901234567890123456789","events":[{"type":"message","mode":"active","timestamp":%d,"source":{"type":"user","userId":"U208"},"webhookEventId":"01HE2E208","deliveryContext":{"isRedelivery":false},"replyToken":"r","message":{"id":"208","type":"text","text":"line hello","quoteToken":"q"}}]}`, ts*1000)
	if code := s.post(line.Path, lineBody, map[string]string{line.SignatureHeader: line.Sign(lineSecret, []byte(lineBody)), "Content-Type": "application/json"}); code != 200 {
		t.Fatalf("line: %d", code)
	}
	s3c := localaws.S3(t)
	bucket := localaws.Bucket(t, s3c)
	raw := "Authentication-Results: amazonses.com;\r\n spf=pass envelope-from=mia@example.net;\r\n dkim=pass header.i=@example.net;\r\n dmarc=pass header.from=example.net;\r\n" +
		"From: Mia <mia@example.net>\r\nTo: " + supportEmail + "\r\nSubject: Refund\r\nMessage-ID: <refund-206@example.net>\r\n\r\nWhere is my refund?\r\n"
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("inbound/206"), Body: strings.NewReader(raw)}); err != nil {
		t.Fatal(err)
	}
	mail := &email.S3Handler{S3: s3c, Intake: &email.Intake{Service: s.svc, Address: supportEmail, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	if err := mail.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{{EventTime: time.Now(),
		S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: "inbound/206", URLDecodedKey: "inbound/206"}}}}}); err != nil {
		t.Fatal(err)
	}

	customers := map[string]conversation.Identity{
		"sms":            {Kind: conversation.KindPhone, Address: "+14155550201"},
		"whatsapp":       {Kind: conversation.KindPhone, Address: "+14155550202"},
		"whatsapp-cloud": {Kind: conversation.KindPhone, Address: "+16505550203"},
		"messenger":      {Kind: conversation.KindMessenger, Address: "psid204"},
		"instagram":      {Kind: conversation.KindInstagram, Address: "igsid207"},
		"telegram":       {Kind: conversation.KindTelegram, Address: "205"},
		"line":           {Kind: conversation.KindLINE, Address: "U208"},
		"email":          {Kind: conversation.KindEmail, Address: "mia@example.net"},
	}
	convs := map[string]string{}
	s.waitFor("every customer's conversation", patience, func() bool {
		for name, id := range customers {
			if r, err := s.store.Route(ctx, id); err == nil && r.ConversationID != "" {
				convs[name] = r.ConversationID
			}
		}
		return len(convs) == len(customers)
	})

	// The agent attaches a photo to the SMS answer: uploaded to S3 through
	// the presigned PUT, as a browser would.
	photo := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{9}, 2048)...)
	code, out := s.agent(http.MethodPost, "/api/uploads", "", fmt.Sprintf(`{"contentType":"image/png","size":%d,"filename":"damage.png"}`, len(photo)))
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	up := out["upload"].(map[string]any)
	put, _ := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader(photo))
	for k, v := range up["headers"].(map[string]any) {
		if strings.EqualFold(k, "Content-Length") {
			put.ContentLength, _ = strconv.ParseInt(v.(string), 10, 64)
		} else {
			put.Header.Set(k, v.(string))
		}
	}
	if resp, err := http.DefaultClient.Do(put); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to S3: %v %v", resp, err)
	}

	replies := map[string]string{} // channel → reply message id
	for name, conv := range convs {
		body := `{"body":"We are on it."}`
		if name == "sms" || name == "email" {
			body = fmt.Sprintf(`{"body":"We are on it.","media":[{"key":%q}]}`, up["key"])
		}
		// The console's double click: the same key twice sends once.
		for range 2 {
			code, out := s.agent(http.MethodPost, "/api/conversations/"+conv+"/messages", "reply-"+name, body)
			if code != http.StatusAccepted && code != http.StatusOK {
				t.Fatalf("reply on %s: %d %v", name, code, out)
			}
			replies[name] = out["message"].(map[string]any)["id"].(string)
		}
	}
	reply := func(name string) conversation.Message {
		_, msgs, _ := s.store.Conversation(ctx, convs[name])
		for _, m := range msgs {
			if m.ID == replies[name] {
				return m
			}
		}
		return conversation.Message{}
	}
	s.waitFor("every reply sent", patience, func() bool {
		for name := range convs {
			if reply(name).Status != conversation.StatusSent {
				return false
			}
		}
		return true
	})

	// Exactly one correct request per provider and channel.
	byProvider := map[string][]providerCall{}
	for _, c := range s.replies.all() {
		byProvider[c.provider] = append(byProvider[c.provider], c)
	}
	if len(byProvider["twilio"]) != 2 || len(byProvider["telegram"]) != 1 || len(byProvider["graph"]) != 2 || len(byProvider["whatsapp"]) != 1 || len(byProvider["line"]) != 1 {
		t.Fatalf("provider requests: %v", byProvider)
	}
	for _, c := range byProvider["twilio"] {
		switch c.form.Get("To") {
		case "+14155550201":
			if c.form.Get("From") != "+18005550100" || len(c.form["MediaUrl"]) != 1 {
				t.Errorf("SMS reply: %v", c.form)
				continue
			}
			// Twilio fetches the MediaUrl: the presigned GET on S3 gives the photo.
			resp, err := http.Get(c.form.Get("MediaUrl"))
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, photo) {
				t.Errorf("MediaUrl gave %d bytes (%d), want the %d uploaded", len(got), resp.StatusCode, len(photo))
			}
		case "whatsapp:+14155550202":
			if c.form.Get("From") != "whatsapp:+14155238886" || c.form.Get("Body") != "We are on it." {
				t.Errorf("WhatsApp reply: %v", c.form)
			}
		default:
			t.Errorf("twilio request to %v", c.form)
		}
	}
	if c := byProvider["whatsapp"][0]; c.json["to"] != "16505550203" {
		t.Errorf("WhatsApp Cloud reply: %v", c.json)
	}
	graphTo := map[any]bool{}
	for _, c := range byProvider["graph"] {
		graphTo[c.json["recipient"].(map[string]any)["id"]] = true
	}
	if !graphTo["psid204"] || !graphTo["igsid207"] {
		t.Errorf("Messenger and Instagram replies: %v", byProvider["graph"])
	}
	if c := byProvider["line"][0]; c.json["to"] != "U208" || c.json["retryKey"] != notify.SendJobID(replies["line"]) {
		t.Errorf("LINE reply: %v", c.json)
	}
	if c := byProvider["telegram"][0]; c.json["chat_id"] != 205.0 || c.json["text"] != "We are on it." {
		t.Errorf("Telegram reply: %v", c.json)
	}
	s.mu.Lock()
	var agentMail []string
	for _, m := range s.mails {
		if m.Content.Simple.Subject.Data == "Re: Refund" && len(m.Content.Simple.Headers) > 0 {
			agentMail = append(agentMail, m.Content.Simple.Body.Text.Data)
			if text := m.Content.Simple.Body.Text.Data; strings.Contains(text, "We are on it.") {
				// moto's SES took the photo attached.
				if a := m.Content.Simple.Attachments; len(a) != 1 || a[0].FileName != "damage.png" || !bytes.Equal(a[0].RawContent, photo) {
					t.Errorf("email reply's attachments: %d", len(a))
				}
			}
		}
	}
	s.mu.Unlock()
	// The acknowledgement and the agent's answer both answer the refund
	// mail; only one says "We are on it.".
	if n := strings.Count(strings.Join(agentMail, "\n"), "We are on it."); n != 1 {
		t.Errorf("SES sends of the agent's email reply: %d (%q)", n, agentMail)
	}

	// The providers' callbacks.
	for _, name := range []string{"sms", "whatsapp"} {
		m := reply(name)
		if code := s.signedForm(twilio.StatusPath, url.Values{"MessageSid": {m.ProviderMessageID}, "MessageStatus": {"delivered"},
			"AccountSid": {"AC123"}, "To": {m.To}, "From": {m.From}}); code != 200 {
			t.Errorf("twilio status callback for %s: %d", name, code)
		}
	}
	if code := s.metaEvent(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":%q},"statuses":[{"id":%q,"status":"delivered","timestamp":"%d","recipient_id":"16505550203"}]}}]}]}`,
		phoneNumber, reply("whatsapp-cloud").ProviderMessageID, time.Now().Unix())); code != 200 {
		t.Errorf("whatsapp status: %d", code)
	}
	if code := s.metaEvent(fmt.Sprintf(`{"object":"page","entry":[{"id":"P1","time":%d,"messaging":[{"sender":{"id":"psid204"},"recipient":{"id":"P1"},"timestamp":%d,"delivery":{"mids":[%q],"watermark":%d}}]}]}`,
		ts*1000, ts*1000, reply("messenger").ProviderMessageID, time.Now().UnixMilli())); code != 200 {
		t.Errorf("messenger delivery: %d", code)
	}
	// Instagram sends no delivery receipts, only reads (messaging_seen).
	if code := s.metaEvent(fmt.Sprintf(`{"object":"instagram","entry":[{"id":"IG1","time":%d,"messaging":[{"sender":{"id":"igsid207"},"recipient":{"id":"IG1"},"timestamp":%d,"read":{"mid":%q}}]}]}`,
		ts*1000, ts*1000, reply("instagram").ProviderMessageID)); code != 200 {
		t.Errorf("instagram read: %d", code)
	}
	sesEvent, _ := json.Marshal(map[string]any{"eventType": "Delivery",
		"mail":     map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339), "messageId": reply("email").ProviderMessageID, "source": supportEmail, "destination": []string{"mia@example.net"}},
		"delivery": map[string]any{"timestamp": time.Now().UTC().Format(time.RFC3339), "recipients": []string{"mia@example.net"}, "smtpResponse": "250 2.6.0 Message received"}})
	sns := events.SNSEvent{Records: []events.SNSEventRecord{{EventSource: "aws:sns", SNS: events.SNSEntity{Type: "Notification", Message: string(sesEvent)}}}}
	if err := (&email.EventsHandler{Service: s.svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handle(ctx, sns); err != nil {
		t.Errorf("SES delivery event: %v", err)
	}

	for name := range convs {
		want := "queued → sent → delivered"
		switch name {
		case "telegram", "line":
			want = "queued → sent"
		case "instagram":
			want = "queued → sent → read"
		}
		if got := history(reply(name)); got != want {
			t.Errorf("%s reply's timeline: %s, want %s", name, got, want)
		}
	}
	// Nothing more goes out once the queue is drained.
	s.settle()
	if n := len(s.replies.all()); n != 7 {
		t.Errorf("provider requests after the queue drained: %d, want 7", n)
	}
}

func history(m conversation.Message) string {
	var out []string
	for _, h := range m.StatusHistory {
		out = append(out, h.Status)
	}
	return strings.Join(out, " → ")
}
