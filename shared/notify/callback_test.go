package notify_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/twilio"
)

// callTwiML is the TwiML a callback carries, as Twilio reads it.
type callTwiML struct {
	XMLName xml.Name `xml:"Response"`
	Say     string   `xml:"Say"`
	Dial    struct {
		CallerID                string `xml:"callerId,attr"`
		Action                  string `xml:"action,attr"`
		Record                  string `xml:"record,attr"`
		RecordingStatusCallback string `xml:"recordingStatusCallback,attr"`
		Number                  string `xml:"Number"`
	} `xml:"Dial"`
}

// call checks a Calls resource request as Twilio documents it (POST
// /2010-04-01/Accounts/{sid}/Calls.json, Basic auth, To, From, and the
// call's instructions: Twiml, here) and answers 201 with the call's SID.
func (s *twilioAPI) call(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	_ = r.ParseForm()
	var doc callTwiML
	if r.Method != http.MethodPost || !ok || user != twilioSID || pass != twilioToken || r.PostForm.Get("To") == "" || r.PostForm.Get("From") == "" ||
		xml.Unmarshal([]byte(r.PostForm.Get("Twiml")), &doc) != nil || doc.Dial.Number == "" || r.PostForm.Get("StatusCallback") == "" {
		s.t.Errorf("twilio calls stand-in: %s %v", r.Method, r.PostForm)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":21205,"message":"Url parameter is required.","status":400}`)
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, r.PostForm)
	n := len(s.calls)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"sid":"CA%032d","status":"queued"}`, n)
}

// TestCallback: an agent asks for a callback of an SMS customer; a double
// click places one call, which rings the agent and dials the customer from
// the support number they texted; Twilio's Dial action, recording and
// final status land on the call entry. What cannot be placed is refused
// with the rule.
func TestCallback(t *testing.T) {
	o := newOutbox(t)
	sms := o.customer("twilio:SMcb1", conversation.ChannelSMS, o.phone("+14155550301"), "+14155550301", "+18005550100", "please call me", o.clock)
	tgID, _ := conversation.Normalizer{}.Platform(conversation.KindTelegram, "3302")
	tg := o.customer("telegram:3302", conversation.ChannelTelegram, tgID, "3302", "3302", "call me?", o.clock)
	path := func(conv string) string { return "/api/conversations/" + conv + "/call" }

	for name, c := range map[string]struct {
		conv, key, body string
		code            int
		errCode         string
	}{
		"no key":                    {sms.ConversationID, "", `{"agentPhone":"+14155550999"}`, 400, "invalid"},
		"no agent phone":            {sms.ConversationID, "k0", `{}`, 409, "no_agent_phone"},
		"a phone that is not E.164": {sms.ConversationID, "k1", `{"agentPhone":"555-0199"}`, 400, "invalid"},
		"no number to call":         {tg.ConversationID, "k2", `{"agentPhone":"+14155550999"}`, 409, "no_phone"},
		"an unknown field":          {sms.ConversationID, "k3", `{"to":"+14155550999"}`, 400, "invalid"},
		"an unknown conversation":   {"cv_nope", "k4", `{"agentPhone":"+14155550999"}`, 404, "not_found"},
	} {
		if code, out := o.call(path(c.conv), c.key, c.body); code != c.code || out["code"] != c.errCode {
			t.Errorf("%s: %d %v, want %d %s", name, code, out, c.code, c.errCode)
		}
	}
	var entry string
	for range 2 { // a double click
		code, out := o.call(path(sms.ConversationID), "cb-1", `{"agentPhone":"+14155550999"}`)
		if code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("callback: %d %v", code, out)
		}
		entry = out["message"].(map[string]any)["id"].(string)
	}
	if code, _ := o.call(path(sms.ConversationID), "cb-1", `{"agentPhone":"+14155550998"}`); code != http.StatusUnprocessableEntity {
		t.Errorf("the key with another phone: %d, want 422", code)
	}
	if failed := o.deliver(); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}
	o.deliver()
	o.twilio.mu.Lock()
	calls := append([]url.Values{}, o.twilio.calls...)
	o.twilio.mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("calls placed: %d, want 1", len(calls))
	}
	var doc callTwiML
	_ = xml.Unmarshal([]byte(calls[0].Get("Twiml")), &doc)
	if calls[0].Get("To") != "+14155550999" || calls[0].Get("From") != "+18005550100" || doc.Dial.Number != "+14155550301" ||
		doc.Dial.CallerID != "+18005550100" || doc.Dial.Record != "record-from-answer" || !strings.HasPrefix(doc.Dial.Action, publicBase+twilio.VoiceStatusPath+"?") ||
		!strings.HasPrefix(doc.Dial.RecordingStatusCallback, publicBase+twilio.RecordingPath+"?") || calls[0].Get("StatusCallback") != doc.Dial.Action {
		t.Errorf("the call: %v\nTwiML %+v", calls[0], doc)
	}
	m := o.message(sms.ConversationID, entry)
	if m.Kind != conversation.KindCall || m.Status != conversation.StatusSent || !strings.HasPrefix(m.ProviderMessageID, "CA") || m.Agent != "dev" {
		t.Fatalf("call entry: %+v", m)
	}

	// Twilio reports back to the voice webhooks, signed.
	voice := http.NewServeMux()
	twilio.NewVoiceHandler(twilio.VoiceConfig{Verifier: twilio.NewVerifier(twilioToken), Service: o.svc, PublicBaseURL: publicBase}).Register(voice)
	report := func(callbackURL string, form url.Values) {
		t.Helper()
		u, _ := url.Parse(callbackURL)
		req := httptest.NewRequest(http.MethodPost, u.RequestURI(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilio.Sign(twilioToken, callbackURL, form))
		rec := httptest.NewRecorder()
		voice.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", u.Path, rec.Code, rec.Body)
		}
	}
	base := url.Values{"CallSid": {m.ProviderMessageID}, "AccountSid": {twilioSID}, "From": {"+18005550100"}, "To": {"+14155550999"}, "Direction": {"outbound-api"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	report(doc.Dial.Action, with("CallStatus", "in-progress", "DialCallStatus", "completed", "DialCallDuration", "184", "DialCallSid", "CAchild"))
	report(doc.Dial.RecordingStatusCallback, with("RecordingSid", "RE1", "RecordingStatus", "completed", "RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/"+twilioSID+"/Recordings/RE1", "RecordingDuration", "180"))
	report(calls[0].Get("StatusCallback"), with("CallStatus", "completed", "CallDuration", "200"))
	m = o.message(sms.ConversationID, entry)
	if m.Status != "completed" || m.DurationSeconds != 184 || len(m.Media) != 1 || !strings.HasSuffix(m.Media[0].URL, "/Recordings/RE1") || m.Media[0].Status != conversation.MediaPending {
		t.Errorf("after Twilio's reports: status %s, %d s, media %+v", m.Status, m.DurationSeconds, m.Media)
	}
	// Forged: refused, nothing changes.
	u, _ := url.Parse(doc.Dial.Action)
	req := httptest.NewRequest(http.MethodPost, u.RequestURI(), strings.NewReader(with("DialCallStatus", "busy").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", "forged")
	rec := httptest.NewRecorder()
	voice.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || o.message(sms.ConversationID, entry).Status != "completed" {
		t.Errorf("forged report: %d, status %s", rec.Code, o.message(sms.ConversationID, entry).Status)
	}

	// A second callback the agent does not pick up.
	code, out := o.call(path(sms.ConversationID), "cb-2", `{"agentPhone":"+14155550999"}`)
	if code != http.StatusAccepted {
		t.Fatalf("second callback: %d %v", code, out)
	}
	o.deliver()
	second := o.message(sms.ConversationID, out["message"].(map[string]any)["id"].(string))
	o.twilio.mu.Lock()
	status := o.twilio.calls[len(o.twilio.calls)-1].Get("StatusCallback")
	o.twilio.mu.Unlock()
	base.Set("CallSid", second.ProviderMessageID)
	report(status, with("CallStatus", "no-answer"))
	if got := o.message(sms.ConversationID, second.ID).Status; got != "agent-no-answer" {
		t.Errorf("unanswered by the agent: %s", got)
	}

	// A blocked contact is not called back.
	blocked := true
	if _, err := o.svc.UpdateContact(context.Background(), sms.ContactID, conversation.ContactPatch{Blocked: &blocked}); err != nil {
		t.Fatal(err)
	}
	if code, out := o.call(path(sms.ConversationID), "cb-3", `{"agentPhone":"+14155550999"}`); code != http.StatusConflict || out["code"] != "blocked" {
		t.Errorf("blocked: %d %v", code, out)
	}
}
