package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/meta"
)

const (
	secret      = "meta-test-app-secret"
	verifyToken = "meta-test-verify-token"
	corpus      = "../../../shared/corpus/meta/"
)

// world is the Meta handler on memstore, with stored messages projected at
// once and the messages that would notify agents recorded.
type world struct {
	t        *testing.T
	mux      *http.ServeMux
	store    conversation.Store
	svc      *conversation.Service
	mu       sync.Mutex
	notified []string
}

func newWorld(t *testing.T, ns storetest.NewStore) *world {
	w := &world{t: t}
	w.svc = &conversation.Service{Team: "support"}
	w.store = backends.Streamed{Store: ns(t), OnStored: func(m conversation.Message) {
		conv, err := w.svc.Project(context.Background(), m)
		if err != nil {
			t.Errorf("project: %v", err)
		}
		if m.Direction == conversation.DirectionInbound && conv.NotifyKey == m.Key {
			w.mu.Lock()
			w.notified = append(w.notified, m.Key)
			w.mu.Unlock()
		}
	}}
	w.svc.Store = w.store
	w.mux = http.NewServeMux()
	meta.NewHandler(meta.Config{AppSecret: secret, VerifyToken: verifyToken, Service: w.svc,
		Normalizer: conversation.Normalizer{DefaultRegion: "US"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(w.mux)
	return w
}

func (w *world) post(body []byte, sig ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, meta.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	s := meta.Sign(secret, body)
	if len(sig) > 0 {
		s = sig[0]
	}
	if s != "" {
		req.Header.Set("x-hub-signature-256", s)
	}
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	return rec
}

func (w *world) messages() []conversation.Message {
	var all []conversation.Message
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	for _, c := range cs {
		_, ms, _ := w.store.Conversation(context.Background(), c.ID)
		all = append(all, ms...)
	}
	return all
}

func read(t *testing.T, name string) []byte {
	b, err := os.ReadFile(corpus + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// page wraps Messenger event objects from the corpus in a page envelope.
func page(t *testing.T, object string, events ...[]byte) []byte {
	var evs []json.RawMessage
	for _, e := range events {
		evs = append(evs, e)
	}
	b, err := json.Marshal(map[string]any{"object": object, "entry": []any{map[string]any{"id": "PAGE", "time": 1458692752478, "messaging": evs}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testWhatsAppCloudText(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	if rec := w.post(read(t, "official-whatsapp-text.json")); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	msgs := w.messages()
	if len(msgs) != 1 {
		t.Fatalf("messages = %d", len(msgs))
	}
	m := msgs[0]
	if m.Channel != conversation.ChannelWhatsApp || m.Body != "Does it come in another color?" || m.Identity.Key() != "phone:+16505551234" ||
		m.ProviderMessageID != "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=" || !m.CreatedAt.Equal(time.Unix(1749416383, 0)) {
		t.Errorf("stored %+v", m)
	}
	c, _ := w.store.Contact(context.Background(), m.ContactID)
	if c.Name != "Sheena Nelson" {
		t.Errorf("contact name = %q", c.Name)
	}
}

func testWhatsAppCloudAndSMSAreOneContact(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	id, _ := conversation.Normalizer{}.Phone("+16505551234")
	sms, err := w.svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:SM1", Channel: conversation.ChannelSMS, From: id,
		FromAddress: "+16505551234", Body: "texting first", Provider: "twilio", ProviderMessageID: "SM1"})
	if err != nil {
		t.Fatal(err)
	}
	w.post(read(t, "official-whatsapp-text.json"))
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	if len(cs) != 1 || cs[0].ID != sms.Message.ConversationID || len(cs[0].Channels) != 2 {
		t.Errorf("conversations = %+v; want the SMS conversation with sms and whatsapp", cs)
	}
}

func testMessengerTextAttachmentAndBatchDuplicates(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	text := read(t, "official-messenger-messages-text.event.json")
	var entry struct{ Messaging []json.RawMessage }
	if err := json.Unmarshal(read(t, "official-messenger-messages-attachment.entry.json"), &entry); err != nil {
		t.Fatal(err)
	}
	// One batch holding the text twice and the attachment; then the batch again.
	batch := page(t, "page", text, text, entry.Messaging[0])
	for range 2 {
		if rec := w.post(batch); rec.Code != http.StatusOK || rec.Body.String() != "EVENT_RECEIVED" {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	msgs := w.messages()
	if len(msgs) != 2 {
		t.Fatalf("messages = %d, want 2 (each mid once)", len(msgs))
	}
	var sawText, sawMedia bool
	for _, m := range msgs {
		if m.Identity.Key() != "messenger:<PSID>" || m.Channel != conversation.ChannelMessenger {
			t.Errorf("identity %s channel %s", m.Identity.Key(), m.Channel)
		}
		if m.Body == "hello, world!" && m.ProviderMessageID == "mid.1457764197618:41d102a3e1ae206a38" {
			sawText = true
		}
		if len(m.Media) == 1 && m.Media[0].URL == "<ATTACHMENT_URL>" {
			sawMedia = true
		}
	}
	if !sawText || !sawMedia {
		t.Errorf("messages = %+v", msgs)
	}
}

func testEchoAndReceiptsTouchOnlyOutboundAndNotifyNoOne(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	// The customer writes (mid m-in), the page answers from its own inbox
	// (the corpus echo), Meta reports delivery and read.
	in := []byte(`{"sender":{"id":"<PSID>"},"recipient":{"id":"<PAGE_ID>"},"timestamp":1457764190000,"message":{"mid":"m-in","text":"is it in stock?"}}`)
	w.post(page(t, "page", in))
	if len(w.notified) != 1 {
		t.Fatalf("the customer's message notified %d times", len(w.notified))
	}
	w.post(page(t, "page", read(t, "official-messenger-message-echoes.event.json")))
	delivery := []byte(`{"sender":{"id":"<PSID>"},"recipient":{"id":"<PAGE_ID>"},"delivery":{"mids":["mid.1457764197618:41d102a3e1ae206a38"],"watermark":1457764198000}}`)
	w.post(page(t, "page", delivery))
	msgs := w.messages()
	if len(msgs) != 2 {
		t.Fatalf("messages = %d", len(msgs))
	}
	for _, m := range msgs {
		switch m.Direction {
		case conversation.DirectionOutbound:
			if m.ProviderMessageID != "mid.1457764197618:41d102a3e1ae206a38" || m.Status != "delivered" {
				t.Errorf("echo = %+v", m)
			}
		default:
			if m.Status != "received" {
				t.Errorf("inbound status changed: %+v", m)
			}
		}
	}
	readEv := []byte(`{"sender":{"id":"<PSID>"},"recipient":{"id":"<PAGE_ID>"},"timestamp":1457764199000,"read":{"watermark":1457764199000}}`)
	w.post(page(t, "page", readEv))
	for _, m := range w.messages() {
		if m.Direction == conversation.DirectionOutbound && m.Status != "read" {
			t.Errorf("after read: %s", m.Status)
		}
	}
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	if len(w.notified) != 1 || cs[0].Unread != 0 {
		t.Errorf("notified %v, unread %d; want only the customer's message, and the echo clearing unread", w.notified, cs[0].Unread)
	}
	// The corpus receipts for messages we never sent change nothing.
	for _, f := range []string{"official-messenger-message-deliveries.event.json", "official-messenger-message-reads.event.json"} {
		if rec := w.post(page(t, "page", read(t, f))); rec.Code != http.StatusOK {
			t.Errorf("%s: %d", f, rec.Code)
		}
	}
}

func testWhatsAppStatus(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	w.post(read(t, "official-whatsapp-text.json"))
	c, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	out := conversation.Message{ID: "msg_o", Key: "meta:out", ConversationID: c[0].ID, ContactID: c[0].ContactID,
		Channel: conversation.ChannelWhatsApp, Direction: conversation.DirectionOutbound, Provider: meta.Provider,
		ProviderMessageID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA", Status: "sent", Body: "yes, in blue"}
	if err := w.store.PutMessage(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	if rec := w.post(read(t, "official-whatsapp-status-delivered.json")); rec.Code != http.StatusOK {
		t.Fatal(rec.Code)
	}
	for _, m := range w.messages() {
		if m.Key == out.Key && m.Status != "delivered" {
			t.Errorf("status = %s", m.Status)
		}
	}
}

func testInstagramUsesItsOwnIdentity(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	ev := []byte(`{"sender":{"id":"17841400000000000"},"recipient":{"id":"IGACCOUNT"},"timestamp":1700000000000,"message":{"mid":"aWdfZAG1","text":"hi from insta"}}`)
	w.post(page(t, "instagram", ev))
	msgs := w.messages()
	if len(msgs) != 1 || msgs[0].Channel != conversation.ChannelInstagram || msgs[0].Identity.Key() != "instagram:17841400000000000" {
		t.Errorf("instagram message = %+v", msgs)
	}
}

func testSignatureIsOverRawBytes(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	// The same content, encoded two ways: each passes with its own signature,
	// and neither with the other's.
	plain := []byte(`{"object":"page","entry":[{"id":"P","messaging":[{"sender":{"id":"u1"},"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m/1","text":"café"}}]}]}`)
	escaped := []byte(`{"object":"page","entry":[{"id":"P","messaging":[{"sender":{"id":"u1"},"recipient":{"id":"P"},"timestamp":1,"message":{"mid":"m\/1","text":"caf\u00e9"}}]}]}`)
	if rec := w.post(escaped, meta.Sign(secret, plain)); rec.Code != http.StatusForbidden {
		t.Errorf("re-encoded body with the original signature: %d", rec.Code)
	}
	if rec := w.post(escaped); rec.Code != http.StatusOK {
		t.Errorf("escaped body with its own signature: %d", rec.Code)
	}
	if rec := w.post(plain); rec.Code != http.StatusOK {
		t.Errorf("plain body: %d", rec.Code)
	}
	if msgs := w.messages(); len(msgs) != 1 || msgs[0].Body != "café" || msgs[0].ProviderMessageID != "m/1" {
		t.Errorf("both encodings are one message: %+v", msgs)
	}
}

func testBadInput(t *testing.T, ns storetest.NewStore) {
	body := read(t, "official-whatsapp-text.json")
	for _, tt := range []struct {
		name string
		body []byte
		sig  []string
		want int
	}{
		{"no signature", body, []string{""}, http.StatusForbidden},
		{"wrong signature", body, []string{meta.Sign("other", body)}, http.StatusForbidden},
		{"not sha256", body, []string{"sha1=abc"}, http.StatusForbidden},
		{"not hex", body, []string{"sha256=zz"}, http.StatusForbidden},
		{"not JSON", []byte(`{"object":`), nil, http.StatusBadRequest},
		{"wrong shape", []byte(`{"object":"page","entry":"nope"}`), nil, http.StatusBadRequest},
		{"no object", []byte(`{"entry":[]}`), nil, http.StatusBadRequest},
		{"unknown object: 200, nothing stored", []byte(`{"object":"user","entry":[{"id":"1","changes":[{"field":"photos"}]}]}`), nil, http.StatusOK},
		{"unknown WhatsApp field", []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{}}]}]}`), nil, http.StatusOK},
		{"oversize", append([]byte(`{"object":"page","pad":"`), append(bytes.Repeat([]byte("x"), meta.MaxBody), '"', '}')...), nil, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ns)
			if rec := w.post(tt.body, tt.sig...); rec.Code != tt.want {
				t.Errorf("%d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if n := len(w.messages()); n != 0 {
				t.Errorf("stored %d messages", n)
			}
		})
	}
	// The corpus Graph API sample is an object we do not handle.
	w := newWorld(t, ns)
	if rec := w.post(read(t, "official-graph-user-photos.json")); rec.Code != http.StatusOK || len(w.messages()) != 0 {
		t.Errorf("graph sample: %d", rec.Code)
	}
}

func TestHandshake(t *testing.T) {
	w := newWorld(t, backends.Stores()["memstore"])
	for _, tt := range []struct {
		query string
		code  int
		body  string
	}{
		{"hub.mode=subscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1158201444", 200, "1158201444"},
		{"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1", 403, ""},
		{"hub.mode=unsubscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1", 403, ""},
		{"hub.challenge=1", 403, ""},
	} {
		rec := httptest.NewRecorder()
		w.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, meta.Path+"?"+tt.query, nil))
		if rec.Code != tt.code || (tt.body != "" && rec.Body.String() != tt.body) {
			t.Errorf("%s: %d %q", tt.query, rec.Code, rec.Body)
		}
	}
	if !strings.HasPrefix(meta.Sign("k", []byte("x")), "sha256=") || meta.Verify("", []byte("x"), meta.Sign("", []byte("x"))) {
		t.Error("an empty app secret must verify nothing")
	}
}

// TestOnEveryStore runs each case on memstore and on DynamoDB Local.
func TestOnEveryStore(t *testing.T) {
	cases := map[string]func(*testing.T, storetest.NewStore){
		"WhatsAppCloudText":                              testWhatsAppCloudText,
		"WhatsAppCloudAndSMSAreOneContact":               testWhatsAppCloudAndSMSAreOneContact,
		"MessengerTextAttachmentAndBatchDuplicates":      testMessengerTextAttachmentAndBatchDuplicates,
		"EchoAndReceiptsTouchOnlyOutboundAndNotifyNoOne": testEchoAndReceiptsTouchOnlyOutboundAndNotifyNoOne,
		"WhatsAppStatus":                                 testWhatsAppStatus,
		"InstagramUsesItsOwnIdentity":                    testInstagramUsesItsOwnIdentity,
		"SignatureIsOverRawBytes":                        testSignatureIsOverRawBytes,
		"BadInput":                                       testBadInput,
		"EveryMessageType":                               testEveryMessageType,
		"MessengerEditLandsOnTheOriginal":                testMessengerEditLandsOnTheOriginal,
		"BatchStrictness":                                testBatchStrictness,
		"BatchKeepsItsOrder":                             testBatchKeepsItsOrder,
	}
	for store, ns := range backends.Stores() {
		for name, run := range cases {
			t.Run(store+"/"+name, func(t *testing.T) { run(t, ns) })
		}
	}
}

// TestVerifyKnownAnswers holds Verify to signatures computed outside this
// package, so a key/message swap in both Sign and Verify cannot pass: RFC
// 4231's test case 2 for HMAC-SHA256, and a corpus payload signed with
// `openssl dgst -sha256 -hmac meta-known-answer-secret`.
func TestVerifyKnownAnswers(t *testing.T) {
	sample, err := os.ReadFile(corpus + "official-whatsapp-text.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, secret string
		body         []byte
		hex          string
	}{
		{"RFC 4231 case 2", "Jefe", []byte("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{"corpus WhatsApp text", "meta-known-answer-secret", sample, "d79616e173464374129021b3016ec2c0cc589d87a976b4ae7b795cc2183d85ba"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !meta.Verify(c.secret, c.body, "sha256="+c.hex) {
				t.Errorf("Verify refused the known answer")
			}
			if got := meta.Sign(c.secret, c.body); got != "sha256="+c.hex {
				t.Errorf("Sign = %s, want sha256=%s", got, c.hex)
			}
			// The same inputs swapped (key as message, message as key) must fail.
			if meta.Verify(string(c.body), []byte(c.secret), "sha256="+c.hex) {
				t.Errorf("Verify accepted the signature with key and message swapped")
			}
			if meta.Verify(c.secret, c.body, "sha1="+c.hex) || meta.Verify(c.secret, c.body, c.hex) {
				t.Errorf("Verify accepted a signature without the sha256= prefix")
			}
		})
	}
}
