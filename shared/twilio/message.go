package twilio

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// MaxMedia is the most media Twilio attaches to one message.
const MaxMedia = 10

// Message is the part of Twilio's inbound message webhook Switchboard uses.
type Message struct {
	MessageSid  string
	AccountSid  string
	From        string
	To          string
	Body        string
	NumMedia    int
	Media       []conversation.Media
	ProfileName string
	WaID        string
	OptOutType  string
	// A WhatsApp location: Latitude and Longitude, and when the customer
	// picked a place, its Label (name) and Address.
	Latitude, Longitude, Address, Label string
}

// ParseMessage reads an inbound message webhook's form. A missing MessageSid,
// From or To, a From that is none of Twilio's sender forms (CheckSender), a
// bad NumMedia, or a media item without its URL is a 400.
func ParseMessage(form webhook.Form) (Message, error) {
	m := Message{
		MessageSid:  form.Get("MessageSid"),
		AccountSid:  form.Get("AccountSid"),
		From:        form.Get("From"),
		To:          form.Get("To"),
		Body:        form.Get("Body"),
		ProfileName: form.Get("ProfileName"),
		WaID:        form.Get("WaId"),
		OptOutType:  form.Get("OptOutType"),
		Latitude:    form.Get("Latitude"),
		Longitude:   form.Get("Longitude"),
		Address:     form.Get("Address"),
		Label:       form.Get("Label"),
	}
	if m.MessageSid == "" {
		m.MessageSid = form.Get("SmsMessageSid")
	}
	var missing []string
	if m.MessageSid == "" {
		missing = append(missing, "MessageSid")
	}
	if m.From == "" {
		missing = append(missing, "From")
	}
	if m.To == "" {
		missing = append(missing, "To")
	}
	if len(missing) > 0 {
		return m, webhook.Errorf(http.StatusBadRequest, "missing %s", strings.Join(missing, ", "))
	}
	if err := CheckSender(m.From, false); err != nil {
		return m, err
	}
	if (m.Latitude == "") != (m.Longitude == "") {
		return m, webhook.Errorf(http.StatusBadRequest, "a location needs both Latitude and Longitude")
	}
	if m.Latitude != "" {
		lat, err1 := strconv.ParseFloat(m.Latitude, 64)
		lon, err2 := strconv.ParseFloat(m.Longitude, 64)
		if err1 != nil || err2 != nil || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			return m, webhook.Errorf(http.StatusBadRequest, "Latitude and Longitude must be coordinates")
		}
	}
	if nm := form.Get("NumMedia"); nm != "" {
		n, err := strconv.Atoi(nm)
		if err != nil || n < 0 || n > MaxMedia {
			return m, webhook.Errorf(http.StatusBadRequest, "NumMedia %q is not a number from 0 to %d", nm, MaxMedia)
		}
		m.NumMedia = n
	}
	for i := range m.NumMedia {
		u := form.Get(fmt.Sprint("MediaUrl", i))
		if u == "" {
			return m, webhook.Errorf(http.StatusBadRequest, "NumMedia is %d but MediaUrl%d is missing", m.NumMedia, i)
		}
		m.Media = append(m.Media, conversation.Media{URL: u, ContentType: form.Get(fmt.Sprint("MediaContentType", i))})
	}
	return m, nil
}

// CheckSender refuses a From that is none of the sender forms Twilio
// documents: E.164 ("+14155550100"), "whatsapp:" and E.164, a short code
// (3 to 8 digits), an alphanumeric sender id (1 to 11 letters, digits and
// spaces, at least one letter), and on voice also "client:<name>" and
// "sip:<uri>". See https://www.twilio.com/docs/glossary/what-e164,
// https://www.twilio.com/docs/messaging/guides/alphanumeric-sender-id.
func CheckSender(from string, voice bool) error {
	bad := webhook.Errorf(http.StatusBadRequest, "From is not a Twilio sender (E.164, whatsapp:+E.164, short code or alphanumeric sender id)")
	switch scheme, rest, ok := strings.Cut(from, ":"); {
	case ok && strings.EqualFold(scheme, "whatsapp"):
		if !e164(rest) {
			return bad
		}
		return nil
	case ok && voice && (strings.EqualFold(scheme, "client") || strings.EqualFold(scheme, "sip")):
		if rest == "" || strings.ContainsAny(rest, " \t\r\n") {
			return webhook.Errorf(http.StatusBadRequest, "From has an empty or spaced %s address", scheme)
		}
		return nil
	case ok:
		return bad
	}
	switch {
	case e164(from), shortCode(from), alphanumeric(from):
		return nil
	}
	return bad
}

// e164 reports whether s is "+" and 7 to 15 digits, the first not 0.
func e164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	return webhook.Digits(s[1:])
}

func shortCode(s string) bool { return len(s) >= 3 && len(s) <= 8 && webhook.Digits(s) }

func alphanumeric(s string) bool {
	if len(s) == 0 || len(s) > 11 || strings.TrimSpace(s) != s {
		return false
	}
	letter := false
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == ' ':
		default:
			return false
		}
	}
	return letter
}

// Channel is WhatsApp when Twilio marks the sender so, SMS (or MMS) otherwise.
func (m *Message) Channel() conversation.Channel {
	if strings.HasPrefix(strings.ToLower(m.From), "whatsapp:") {
		return conversation.ChannelWhatsApp
	}
	return conversation.ChannelSMS
}

// Keywords Twilio's default opt-out handling recognizes, for accounts without
// Advanced Opt-Out (which sends OptOutType instead).
var optOutKeywords = map[string]conversation.OptOut{
	"STOP": conversation.OptOutStop, "STOPALL": conversation.OptOutStop, "UNSUBSCRIBE": conversation.OptOutStop,
	"CANCEL": conversation.OptOutStop, "END": conversation.OptOutStop, "QUIT": conversation.OptOutStop,
	"OPTOUT": conversation.OptOutStop, "REVOKE": conversation.OptOutStop,
	"START": conversation.OptOutStart, "YES": conversation.OptOutStart, "UNSTOP": conversation.OptOutStart,
	"HELP": conversation.OptOutHelp, "INFO": conversation.OptOutHelp,
}

// OptOut is the consent keyword of the message: OptOutType when Twilio sent
// it, else the body when it is exactly one of the standard keywords.
func (m *Message) OptOut() conversation.OptOut {
	if m.OptOutType != "" {
		return optOutKeywords[strings.ToUpper(m.OptOutType)]
	}
	if len(m.Body) > 12 {
		return conversation.OptOutNone
	}
	return optOutKeywords[strings.ToUpper(strings.TrimSpace(m.Body))]
}

// Inbound normalizes the message.
func (m *Message) Inbound(n conversation.Normalizer) (conversation.Inbound, error) {
	from, err := n.Phone(m.From)
	if err != nil {
		return conversation.Inbound{}, webhook.Errorf(http.StatusBadRequest, "From: %v", err)
	}
	return conversation.Inbound{
		Key:               "twilio:" + m.MessageSid,
		Channel:           m.Channel(),
		From:              from,
		FromAddress:       m.From,
		To:                m.To,
		Body:              m.body(),
		Media:             m.Media,
		Provider:          "twilio",
		ProviderMessageID: m.MessageSid,
		ProfileName:       m.ProfileName,
		OptOut:            m.OptOut(),
	}, nil
}

// body is the message's text, and a location's pin as a readable line:
// "📍 37.787890,-122.391664 Twilio HQ, 101 Spear St".
func (m *Message) body() string {
	if m.Latitude == "" {
		return m.Body
	}
	lat, _ := strconv.ParseFloat(m.Latitude, 64)
	lon, _ := strconv.ParseFloat(m.Longitude, 64)
	pin := fmt.Sprintf("📍 %.6f,%.6f", lat, lon)
	if place := strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{m.Label, m.Address}, func(s string) bool { return s == "" }), ", ")); place != "" {
		pin += " " + place
	}
	if m.Body == "" {
		return pin
	}
	return m.Body + "\n" + pin
}
