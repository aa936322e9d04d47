package twilio

import (
	"fmt"
	"net/http"
	"net/url"
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
}

// ParseMessage reads an inbound message webhook's form. A missing MessageSid
// or From, a bad NumMedia, or a media item without its URL is a 400.
func ParseMessage(form url.Values) (Message, error) {
	m := Message{
		MessageSid:  form.Get("MessageSid"),
		AccountSid:  form.Get("AccountSid"),
		From:        form.Get("From"),
		To:          form.Get("To"),
		Body:        form.Get("Body"),
		ProfileName: form.Get("ProfileName"),
		WaID:        form.Get("WaId"),
		OptOutType:  form.Get("OptOutType"),
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
	if len(missing) > 0 {
		return m, webhook.Errorf(http.StatusBadRequest, "missing %s", strings.Join(missing, " and "))
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
		Body:              m.Body,
		Media:             m.Media,
		Provider:          "twilio",
		ProviderMessageID: m.MessageSid,
		ProfileName:       m.ProfileName,
		OptOut:            m.OptOut(),
	}, nil
}
