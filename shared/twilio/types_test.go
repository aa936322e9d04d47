package twilio_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/twilio"
)

// TestEveryMessageType feeds each kind of inbound message Twilio documents
// (https://www.twilio.com/docs/messaging/guides/webhook-request) and holds
// what is stored: body, media (pending for the pipeline) and channel.
func TestEveryMessageType(t *testing.T) {
	base := url.Values{"MessageSid": {"SMtype"}, "AccountSid": {"AC1"}, "From": {"+14155550123"}, "To": {"+18005550100"}}
	for _, c := range []struct {
		name    string
		fields  url.Values
		body    string
		channel conversation.Channel
		media   []string
	}{
		{"SMS", url.Values{"Body": {"hello"}}, "hello", conversation.ChannelSMS, nil},
		{"MMS", url.Values{"Body": {"see"}, "NumMedia": {"2"}, "MediaUrl0": {"https://api.twilio.com/m/0"}, "MediaContentType0": {"image/jpeg"},
			"MediaUrl1": {"https://api.twilio.com/m/1"}, "MediaContentType1": {"video/mp4"}}, "see", conversation.ChannelSMS, []string{"image/jpeg", "video/mp4"}},
		{"WhatsApp text", url.Values{"From": {"whatsapp:+14155550123"}, "To": {"whatsapp:+18005550100"}, "Body": {"hola"}, "ProfileName": {"Ana"}},
			"hola", conversation.ChannelWhatsApp, nil},
		{"WhatsApp location pin", url.Values{"From": {"whatsapp:+14155550123"}, "Latitude": {"37.7878900"}, "Longitude": {"-122.3916640"}},
			"📍 37.787890,-122.391664", conversation.ChannelWhatsApp, nil},
		{"WhatsApp place", url.Values{"From": {"whatsapp:+14155550123"}, "Latitude": {"37.78789"}, "Longitude": {"-122.391664"},
			"Label": {"Twilio HQ"}, "Address": {"101 Spear St, San Francisco"}}, "📍 37.787890,-122.391664 Twilio HQ, 101 Spear St, San Francisco", conversation.ChannelWhatsApp, nil},
		{"WhatsApp voice note", url.Values{"From": {"whatsapp:+14155550123"}, "NumMedia": {"1"}, "MediaUrl0": {"https://api.twilio.com/m/0"}, "MediaContentType0": {"audio/ogg"}},
			"", conversation.ChannelWhatsApp, []string{"audio/ogg"}},
		{"short code", url.Values{"From": {"12345"}, "Body": {"code"}}, "code", conversation.ChannelSMS, nil},
		{"alphanumeric sender", url.Values{"From": {"ACME Bank"}, "Body": {"hi"}}, "hi", conversation.ChannelSMS, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			form := url.Values{}
			for k, v := range base {
				form[k] = v
			}
			for k, v := range c.fields {
				form[k] = v
			}
			if rec := e.post(twilio.MessagingPath, form.Encode()); rec.Code != http.StatusOK {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			msgs := e.messages()
			if len(msgs) != 1 {
				t.Fatalf("stored %d", len(msgs))
			}
			m := msgs[0]
			if m.Body != c.body || m.Channel != c.channel || len(m.Media) != len(c.media) {
				t.Fatalf("body %q channel %s media %+v; want %q %s %v", m.Body, m.Channel, m.Media, c.body, c.channel, c.media)
			}
			for i, ct := range c.media {
				if m.Media[i].ContentType != ct || m.Media[i].Status != conversation.MediaPending {
					t.Errorf("media %d: %+v, want %s pending", i, m.Media[i], ct)
				}
			}
		})
	}
}

// TestStrictInputs: what is none of Twilio's forms is a 400 naming the
// field, and nothing is stored.
func TestStrictInputs(t *testing.T) {
	ok := url.Values{"MessageSid": {"SMbad"}, "From": {"+14155550123"}, "To": {"+18005550100"}, "Body": {"x"}}
	for _, c := range []struct {
		name, field, value string
	}{
		{"From with spaces", "From", "+1 415 555 0123"},
		{"From with letters and symbols", "From", "call me!"},
		{"From too long for a sender id", "From", "ACMEBANKLTD1"},
		{"From of digits only, too long for a short code", "From", "141555501234"},
		{"WhatsApp From without E.164", "From", "whatsapp:4155550123"},
		{"voice client on messaging", "From", "client:alice"},
		{"SIP on messaging", "From", "sip:alice@example.com"},
		{"no To", "To", ""},
		{"Body not UTF-8", "Body", "\xff\xfe"},
		{"Body with NUL", "Body", "a\x00b"},
		{"ProfileName with NUL", "ProfileName", "\x00"},
		{"Latitude without Longitude", "Latitude", "1.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			form := url.Values{}
			for k, v := range ok {
				form[k] = v
			}
			if c.value == "" {
				form.Del(c.field)
			} else {
				form.Set(c.field, c.value)
			}
			if rec := e.post(twilio.MessagingPath, form.Encode()); rec.Code != http.StatusBadRequest {
				t.Errorf("%d %s, want 400", rec.Code, rec.Body)
			}
			if n := len(e.messages()); n != 0 {
				t.Errorf("stored %d", n)
			}
		})
	}
}

// TestCheckSender holds the sender forms, on voice and messaging.
func TestCheckSender(t *testing.T) {
	for _, c := range []struct {
		from      string
		messaging bool
		voice     bool
	}{
		{"+14155550123", true, true}, {"whatsapp:+14155550123", true, true}, {"12345", true, true}, {"ACME", true, true},
		{"Anonymous", true, true}, {"client:alice", false, true}, {"sip:alice@example.com", false, true},
		{"client:", false, false}, {"+0123456789", false, false}, {"+1234", false, false}, {" ACME", false, false},
		{"tel:+14155550123", false, false}, {"", false, false},
	} {
		if got := twilio.CheckSender(c.from, false) == nil; got != c.messaging {
			t.Errorf("messaging %q: ok = %v, want %v", c.from, got, c.messaging)
		}
		if got := twilio.CheckSender(c.from, true) == nil; got != c.voice {
			t.Errorf("voice %q: ok = %v, want %v", c.from, got, c.voice)
		}
	}
}
