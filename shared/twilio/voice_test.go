package twilio_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/twilio"
)

const (
	caller     = "+14155550142"
	supportNo  = "+18005550100"
	agentPhone = "+14155550001"
)

// voiceWorld is the messaging and voice handlers on one store, the stream
// simulated (projection, then the dispatcher's jobs collected).
type voiceWorld struct {
	t     *testing.T
	mux   *http.ServeMux
	store conversation.Store
	svc   *conversation.Service
	mu    sync.Mutex
	jobs  []notify.Job
}

func routingDoc(open bool) string {
	hours := ``
	if !open {
		hours = `,"hours":{"sun":"00:00-00:01"}`
	}
	return `{"defaultTeam":"support","teams":[{"id":"support","timeZone":"UTC"` + hours + `}],
	  "agents":[{"id":"ana","teams":["support"],"phone":"` + agentPhone + `","sinks":[{"type":"slack","to":"https://hooks.slack.example/x"}]}],
	  "voice":{"blocked":["+19005550666"],"dialTimeout":15,"missedCallSms":"Sorry we missed you, reply here and we'll help","greetings":{"es":"Gracias por llamar."}}}`
}

func newVoiceWorld(t *testing.T, ns storetest.NewStore, open bool) *voiceWorld {
	rt, err := routing.Parse([]byte(routingDoc(open)))
	if err != nil {
		t.Fatal(err)
	}
	w := &voiceWorld{t: t, svc: &conversation.Service{Team: "support"}}
	d := &notify.Dispatcher{Routing: rt, Queue: w, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c := &care.Automation{Routing: rt, Service: w.svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w.store = backends.Streamed{Store: ns(t), OnStored: func(m conversation.Message) {
		conv, err := w.svc.Project(context.Background(), m)
		if err != nil {
			t.Errorf("project: %v", err)
			return
		}
		if m.Direction == conversation.DirectionInbound && conv.NotifyKey == m.Key {
			_ = d.Dispatch(context.Background(), conv, m)
		}
		if err := c.After(context.Background(), conv, m); err != nil {
			t.Errorf("care: %v", err)
		}
	}}
	w.svc.Store = w.store
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.mux = http.NewServeMux()
	mh, _ := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(token), Service: w.svc, PublicBaseURL: base, Log: quiet})
	mh.Register(w.mux)
	twilio.NewVoiceHandler(twilio.VoiceConfig{Verifier: twilio.NewVerifier(token), Service: w.svc, PublicBaseURL: base, Routing: rt, Log: quiet}).Register(w.mux)
	return w
}

// Send implements notify.Queue: the jobs are kept for the test to deliver.
func (w *voiceWorld) Send(_ context.Context, jobs []notify.Job) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs = append(w.jobs, jobs...)
	return nil
}

// post signs form for path (with its query) and posts it.
func (w *voiceWorld) post(pathQuery string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, pathQuery, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(token, base+pathQuery, form))
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		w.t.Fatalf("%s: %d %s", pathQuery, rec.Code, rec.Body)
	}
	return rec
}

func callForm(extra ...string) url.Values {
	f := url.Values{"CallSid": {"CA0001"}, "AccountSid": {"AC1"}, "From": {caller}, "To": {supportNo}, "Direction": {"inbound"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return f
}

// timeline renders the caller's conversation as the story an agent reads.
func (w *voiceWorld) timeline() string {
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	if len(cs) != 1 {
		w.t.Fatalf("conversations = %d, want 1", len(cs))
	}
	_, msgs, _ := w.store.Conversation(context.Background(), cs[0].ID)
	var lines []string
	for _, m := range msgs {
		if m.Kind == conversation.KindAuto {
			continue // autos() tells those
		}
		line := fmt.Sprintf("%s/%s %q %s", m.Channel, m.Kind, m.Body, m.Status)
		if m.DurationSeconds != 0 {
			line += fmt.Sprintf(" %ds", m.DurationSeconds)
		}
		if m.Transcript != "" || m.TranscriptStatus != "" {
			line += fmt.Sprintf(" transcript=%q(%s)", m.Transcript, m.TranscriptStatus)
		}
		if len(m.Media) > 0 {
			line += " " + m.Media[0].URL
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// autos lists the open conversation's automatic messages, as the outbox
// has them: "channel from>to auto "body" status".
func (w *voiceWorld) autos() []string {
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	if len(cs) != 1 {
		w.t.Fatalf("conversations = %d, want 1", len(cs))
	}
	_, msgs, _ := w.store.Conversation(context.Background(), cs[0].ID)
	var out []string
	for _, m := range msgs {
		if m.Kind == conversation.KindAuto {
			out = append(out, fmt.Sprintf("%s %s>%s %s %q %s", m.Channel, m.From, m.To, m.Auto, m.Body, m.Status))
		}
	}
	return out
}

const recQuery = "?from=%2B14155550142"

var (
	recording     = url.Values{"CallSid": {"CA0001"}, "AccountSid": {"AC1"}, "RecordingSid": {"RE0001"}, "RecordingStatus": {"completed"}, "RecordingDuration": {"11"}, "RecordingUrl": {"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0001"}}
	transcription = url.Values{"CallSid": {"CA0001"}, "AccountSid": {"AC1"}, "RecordingSid": {"RE0001"}, "TranscriptionSid": {"TR0001"}, "TranscriptionStatus": {"completed"}, "TranscriptionText": {"Hi, it's about my order, please call back"}, "RecordingUrl": {"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0001"}}
)

// callThenVoicemail: the customer texts, calls, nobody answers, they leave a
// voicemail; then the callbacks come in the given order.
func (w *voiceWorld) callThenVoicemail(callbacks []func()) string {
	sms := url.Values{"MessageSid": {"SMvoice1"}, "From": {caller}, "To": {supportNo}, "Body": {"texting first"}}
	w.post(twilio.MessagingPath, sms)
	time.Sleep(2 * time.Millisecond)
	dial := parseTwiML(w.t, w.post(twilio.VoicePath, callForm("CallStatus", "ringing")).Body.String())
	if len(dial) != 1 || dial[0].XMLName.Local != "Dial" || dial[0].attr("timeout") != "15" || dial[0].attr("action") != base+twilio.VoiceStatusPath ||
		len(dial[0].Children) != 1 || dial[0].Children[0].XMLName.Local != "Number" || dial[0].Children[0].Text != agentPhone {
		w.t.Fatalf("incoming call answer = %+v", dial)
	}
	vm := parseTwiML(w.t, w.post(twilio.VoiceStatusPath, callForm("CallStatus", "in-progress", "DialCallStatus", "no-answer")).Body.String())
	if len(vm) != 3 || vm[0].XMLName.Local != "Say" || vm[1].XMLName.Local != "Record" || vm[1].attr("transcribe") != "true" ||
		vm[1].attr("transcribeCallback") != base+twilio.TranscriptionPath+recQuery || vm[1].attr("recordingStatusCallback") != base+twilio.RecordingPath+recQuery {
		w.t.Fatalf("no-answer answer = %+v", vm)
	}
	for _, cb := range callbacks {
		cb()
	}
	return w.timeline()
}

func testCallLandsOnTheTextersTimeline(t *testing.T, ns storetest.NewStore) {
	inOrder := newVoiceWorld(t, ns, true)
	status := func(w *voiceWorld) func() {
		return func() { w.post(twilio.VoiceStatusPath, callForm("CallStatus", "completed", "CallDuration", "42")) }
	}
	rec := func(w *voiceWorld) func() { return func() { w.post(twilio.RecordingPath+recQuery, recording) } }
	tr := func(w *voiceWorld) func() { return func() { w.post(twilio.TranscriptionPath+recQuery, transcription) } }
	recAction := func(w *voiceWorld) func() {
		return func() {
			v := parseTwiML(t, w.post(twilio.VoiceStatusPath, callForm("CallStatus", "in-progress", "RecordingUrl", recording.Get("RecordingUrl"))).Body.String())
			if len(v) != 1 || v[0].XMLName.Local != "Hangup" {
				t.Errorf("record action answer = %+v", v)
			}
		}
	}
	got := inOrder.callThenVoicemail([]func(){recAction(inOrder), status(inOrder), rec(inOrder), tr(inOrder)})
	want := strings.Join([]string{
		`sms/ "texting first" received`,
		`voice/call "Incoming call" completed 42s`,
		`voice/missed_call "Missed call" missed`,
		`voice/voicemail "Voicemail" completed 11s transcript="Hi, it's about my order, please call back"(completed) https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0001`,
	}, "\n")
	if got != want {
		t.Errorf("timeline:\n%s\nwant:\n%s", got, want)
	}

	// Every callback twice, transcription first, status last: the same story.
	shuffled := newVoiceWorld(t, ns, true)
	again := shuffled.callThenVoicemail([]func(){tr(shuffled), rec(shuffled), tr(shuffled), recAction(shuffled), rec(shuffled), status(shuffled), status(shuffled)})
	if again != want {
		t.Errorf("out of order and repeated:\n%s\nwant:\n%s", again, want)
	}
	// The missed-call text once, whatever the callbacks' order and repeats.
	if a := shuffled.autos(); len(a) != 1 || !strings.Contains(a[0], "missed_call") {
		t.Errorf("automatic messages = %q, want the missed-call text once", a)
	}
}

func testMissedCallNotifiesOnceAndTextsOnce(t *testing.T, ns storetest.NewStore) {
	w := newVoiceWorld(t, ns, true)
	w.post(twilio.VoicePath, callForm("CallStatus", "ringing"))
	// The caller hangs up while the agents' phones ring; Twilio may report it twice.
	for range 2 {
		w.post(twilio.VoiceStatusPath, callForm("CallStatus", "canceled"))
		w.post(twilio.VoiceStatusPath, callForm("CallStatus", "in-progress", "DialCallStatus", "canceled"))
	}
	if len(w.jobs) != 1 {
		t.Fatalf("jobs: %d agent notifications; want 1", len(w.jobs))
	}
	slack := &fakeSender{}
	n := &notify.Notifier{Store: w.store, Deliveries: memstore.NewDeliveries(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Senders: map[string]notify.Sender{routing.SinkSlack: slack}}
	for range 2 { // redelivered jobs
		for _, j := range w.jobs {
			if err := n.Deliver(context.Background(), j); err != nil {
				t.Fatal(err)
			}
		}
	}
	if slack.calls != 1 || !strings.Contains(slack.sent[0].Text, "Missed call") {
		t.Errorf("agent notifications = %d %+v", slack.calls, slack.sent)
	}
	tl := w.timeline()
	if !strings.Contains(tl, `voice/missed_call "Missed call" missed`) || !strings.Contains(tl, `voice/call "Incoming call" missed`) {
		t.Errorf("timeline:\n%s", tl)
	}
	// The text once, by SMS from the number called to the caller, queued in
	// the outbox (sent as a reply is).
	if a := w.autos(); len(a) != 1 || a[0] != "sms "+supportNo+">"+caller+` missed_call "Sorry we missed you, reply here and we'll help" queued` {
		t.Errorf("automatic messages = %q", a)
	}
	// The automated text is not an agent's answer: the customer still waits.
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	if cs[0].Unread != 1 {
		t.Errorf("unread after the follow-up = %d, want 1", cs[0].Unread)
	}
}

func testOutsideHoursGoesToVoicemailInTheirLanguage(t *testing.T, ns storetest.NewStore) {
	w := newVoiceWorld(t, ns, false)
	v := parseTwiML(t, w.post(twilio.VoicePath, callForm("CallStatus", "ringing")).Body.String())
	if len(v) != 3 || v[0].XMLName.Local != "Say" || v[0].attr("language") != "en" || v[0].Text != routing.DefaultGreeting ||
		v[1].XMLName.Local != "Record" || v[2].XMLName.Local != "Hangup" {
		t.Errorf("after hours = %+v", v)
	}
}

func testCallersOfEveryKind(t *testing.T, ns storetest.NewStore) {
	w := newVoiceWorld(t, ns, true)
	if v := parseTwiML(t, w.post(twilio.VoicePath, callForm("From", "+19005550666")).Body.String()); len(v) != 1 || v[0].XMLName.Local != "Reject" {
		t.Errorf("blocked caller = %+v", v)
	}
	if cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen); len(cs) != 0 {
		t.Errorf("a blocked call was stored")
	}
	w.post(twilio.VoicePath, callForm("CallSid", "CAclient", "From", "client:alice"))
	w.post(twilio.VoicePath, callForm("CallSid", "CAanon", "From", "Anonymous"))
	w.post(twilio.VoicePath, callForm("CallSid", "CAempty", "From", ""))
	ids := map[string]bool{}
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	for _, c := range cs {
		ct, _ := w.store.Contact(context.Background(), c.ContactID)
		ids[ct.Identities[0].Key()] = true
	}
	if len(ids) != 2 || !ids["client:alice"] || !ids["address:anonymous"] {
		t.Errorf("caller identities = %v", ids)
	}
}

func TestVoiceOnEveryStore(t *testing.T) {
	cases := map[string]func(*testing.T, storetest.NewStore){
		"CallLandsOnTheTextersTimeline":      testCallLandsOnTheTextersTimeline,
		"MissedCallNotifiesOnceAndTextsOnce": testMissedCallNotifiesOnceAndTextsOnce,
		"OutsideHoursGoesToVoicemail":        testOutsideHoursGoesToVoicemailInTheirLanguage,
		"CallersOfEveryKind":                 testCallersOfEveryKind,
	}
	for store, ns := range backends.Stores() {
		for name, run := range cases {
			t.Run(store+"/"+name, func(t *testing.T) { run(t, ns) })
		}
	}
}

func TestVoiceBadInput(t *testing.T) {
	w := newVoiceWorld(t, backends.Stores()["memstore"], true)
	post := func(path string, f url.Values, key string) int {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilio.Sign(key, base+path, f))
		rec := httptest.NewRecorder()
		w.mux.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := post(twilio.VoicePath, callForm(), "wrong"); code != http.StatusForbidden {
		t.Errorf("forged call: %d", code)
	}
	for _, path := range []string{twilio.VoicePath, twilio.VoiceStatusPath, twilio.RecordingPath, twilio.TranscriptionPath} {
		if code := post(path, url.Values{"From": {caller}}, token); code != http.StatusBadRequest {
			t.Errorf("%s without CallSid: %d", path, code)
		}
	}
	// A transcription without its TranscriptionSid, and callers that are
	// none of Twilio's forms, are refused like the rest.
	noSid := url.Values{}
	for k, v := range transcription {
		noSid[k] = v
	}
	noSid.Del("TranscriptionSid")
	badFrom := callForm()
	badFrom.Set("From", "call me!")
	for path, f := range map[string]url.Values{twilio.TranscriptionPath + recQuery: noSid, twilio.VoicePath: badFrom} {
		if code := post(path, f, token); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, code)
		}
	}
	if cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen); len(cs) != 0 {
		t.Error("bad input stored something")
	}
}

// fakeSender records agent notifications.
type fakeSender struct {
	mu    sync.Mutex
	calls int
	sent  []notify.Notification
}

func (f *fakeSender) Send(_ context.Context, _ routing.Sink, n notify.Notification) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.sent = append(f.sent, n)
	return nil
}

// verb is one TwiML element, parsed.
type verb struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Text     string     `xml:",chardata"`
	Children []verb     `xml:",any"`
}

func (v verb) attr(name string) string {
	for _, a := range v.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// parseTwiML returns the verbs of a <Response>.
func parseTwiML(t *testing.T, doc string) []verb {
	t.Helper()
	var r verb
	if err := xml.Unmarshal([]byte(doc), &r); err != nil || r.XMLName.Local != "Response" {
		t.Fatalf("not TwiML (%v): %s", err, doc)
	}
	return r.Children
}

// TestBlockedContactsCallIsRejected: once an agent blocks the contact, their
// next call is answered <Reject> and kept on the timeline quietly.
func TestBlockedContactsCallIsRejected(t *testing.T) {
	w := newVoiceWorld(t, backends.Stores()["memstore"], true)
	w.post(twilio.VoicePath, callForm())
	id, _ := conversation.Normalizer{}.Phone(caller)
	route, err := w.svc.Store.Route(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := w.svc.UpdateContact(context.Background(), route.ContactID, conversation.ContactPatch{Blocked: &yes}); err != nil {
		t.Fatal(err)
	}
	rec := w.post(twilio.VoicePath, callForm("CallSid", "CA0002"))
	if vs := parseTwiML(t, rec.Body.String()); len(vs) != 1 || vs[0].XMLName.Local != "Reject" {
		t.Fatalf("blocked contact's call answered %s", rec.Body)
	}
	_, msgs, _ := w.svc.Store.Conversation(context.Background(), route.ConversationID)
	if len(msgs) != 2 || !msgs[1].Blocked {
		t.Errorf("the rejected call on the timeline: %+v", msgs)
	}
}
