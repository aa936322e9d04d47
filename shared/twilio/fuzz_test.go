package twilio_test

import (
	"os"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

// FuzzParseMessage feeds arbitrary form bodies to the messaging parser: it
// may refuse them, never panic, and what it accepts normalizes or refuses
// cleanly. Seeds: the fixtures and the official vectors' parameters.
func FuzzParseMessage(f *testing.F) {
	for _, name := range []string{"sms-inbound.form", "mms-inbound.form", "whatsapp-inbound.form", "sms-stop.form", "status-delivered.form"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212")
	f.Add("MessageSid=SM1&From=client%3Aalice&NumMedia=1&MediaUrl0=x")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := webhook.ParseForm([]byte(body))
		if err != nil {
			return
		}
		m, err := twilio.ParseMessage(form)
		if err != nil {
			return
		}
		if m.MessageSid == "" || m.From == "" || len(m.Media) != m.NumMedia {
			t.Fatalf("accepted an incomplete message: %+v", m)
		}
		in, err := m.Inbound(conversation.Normalizer{DefaultRegion: "US"})
		if err == nil && (in.From.IsZero() || in.Key != "twilio:"+m.MessageSid) {
			t.Fatalf("normalized badly: %+v", in)
		}
		_ = m.OptOut()
	})
}
