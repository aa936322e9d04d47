package meta

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Envelope is a webhook POST: one object type, many entries.
type Envelope struct {
	Object string  `json:"object"`
	Entry  []Entry `json:"entry"`
}

// Entry is one page's, Instagram account's or WhatsApp business account's
// batch.
type Entry struct {
	ID        string      `json:"id"`
	Time      int64       `json:"time"`
	Messaging []Messaging `json:"messaging"`
	Changes   []Change    `json:"changes"`
}

// Messaging is one Messenger or Instagram event.
type Messaging struct {
	Sender    struct{ ID string } `json:"sender"`
	Recipient struct{ ID string } `json:"recipient"`
	Timestamp int64               `json:"timestamp"`
	Message   *struct {
		MID         string `json:"mid"`
		Text        string `json:"text"`
		IsEcho      bool   `json:"is_echo"`
		Attachments []struct {
			Type    string `json:"type"`
			Payload struct {
				URL         string `json:"url"`
				Title       string `json:"title"`
				Coordinates *struct {
					Lat  float64 `json:"lat"`
					Long float64 `json:"long"`
				} `json:"coordinates"`
			} `json:"payload"`
		} `json:"attachments"`
		QuickReply *struct {
			Payload string `json:"payload"`
		} `json:"quick_reply"`
		ReplyTo *struct {
			MID string `json:"mid"`
		} `json:"reply_to"`
	} `json:"message"`
	MessageEdit *struct {
		MID     string          `json:"mid"`
		Text    string          `json:"text"`
		NumEdit json.RawMessage `json:"num_edit"` // a number; Meta's example quotes it
	} `json:"message_edit"`
	Postback *struct {
		MID     string `json:"mid"`
		Title   string `json:"title"`
		Payload string `json:"payload"`
	} `json:"postback"`
	Reaction *struct {
		MID    string `json:"mid"`
		Action string `json:"action"`
		Emoji  string `json:"emoji"`
	} `json:"reaction"`
	Delivery *struct {
		MIDs      []string `json:"mids"`
		Watermark int64    `json:"watermark"`
	} `json:"delivery"`
	// Read is Messenger's message_reads (a watermark: everything sent
	// before it) or Instagram's messaging_seen (the mid read).
	Read *struct {
		Watermark int64  `json:"watermark"`
		MID       string `json:"mid"`
	} `json:"read"`
}

// Change is one WhatsApp Cloud API change.
type Change struct {
	Field string `json:"field"`
	Value struct {
		Metadata struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []struct {
			Profile struct{ Name string } `json:"profile"`
			WaID    string                `json:"wa_id"`
		} `json:"contacts"`
		Messages []WAMessage `json:"messages"`
		Statuses []struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			Timestamp   string `json:"timestamp"`
			RecipientID string `json:"recipient_id"`
			Errors      []struct {
				Code  int    `json:"code"`
				Title string `json:"title"`
			} `json:"errors"`
		} `json:"statuses"`
	} `json:"value"`
}

// WAMedia is a WhatsApp media object: fetched later through the Graph API.
type WAMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

// WAMessage is one inbound WhatsApp Cloud API message.
type WAMessage struct {
	From      string `json:"from"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *WAMedia `json:"image"`
	Audio    *WAMedia `json:"audio"`
	Video    *WAMedia `json:"video"`
	Document *WAMedia `json:"document"`
	Sticker  *WAMedia `json:"sticker"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	Contacts []struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
		} `json:"name"`
		Phones []struct {
			Phone string `json:"phone"`
		} `json:"phones"`
	} `json:"contacts"`
	Interactive *struct {
		ButtonReply *struct{ Title string } `json:"button_reply"`
		ListReply   *struct{ Title string } `json:"list_reply"`
	} `json:"interactive"`
	Button *struct {
		Text string `json:"text"`
	} `json:"button"`
	Reaction *struct {
		MessageID string `json:"message_id"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Context *struct {
		ID string `json:"id"`
	} `json:"context"`
}

// Parse reads a webhook body; anything but a JSON object of the envelope's
// shape is a 400 with the reason.
func Parse(body []byte) (Envelope, error) {
	var env Envelope
	if err := webhook.CheckJSON(body); err != nil {
		return env, err
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return env, webhook.Errorf(http.StatusBadRequest, "body is not a Meta webhook: %v", err)
	}
	if env.Object == "" {
		return env, webhook.Errorf(http.StatusBadRequest, "body has no \"object\"")
	}
	return env, nil
}

// Event is what one item of a batch asks of the domain.
type Event struct {
	// Message to ingest (inbound, or an outbound echo).
	Message *conversation.Inbound
	// Status update of an outbound message.
	Status *StatusEvent
	// Read: everything sent to Reader up to Watermark was read.
	Reader    conversation.Identity
	Watermark time.Time
	// Edit of a message the customer sent earlier (Messenger
	// message_edit): applied to the original, or stored as Message when
	// the original is not on the conversation.
	Edit *EditEvent
	// Ignored says why an item was not used (logged, nothing stored).
	Ignored string
}

// StatusEvent is a delivery status of one of our messages.
type StatusEvent struct {
	ProviderMessageID string
	Status            string
	ErrorCode         string
	At                time.Time
}

// EditEvent is a customer's edit of one of their messages.
type EditEvent struct {
	Customer          conversation.Identity
	ProviderMessageID string
	Body              string
	At                time.Time
}

// Provider is the provider name Meta's messages are stored under.
const Provider = "meta"

// Events flattens an envelope into events, in order. Unknown objects and
// fields become Ignored events.
func Events(env Envelope, n conversation.Normalizer) []Event {
	var out []Event
	switch env.Object {
	case "page", "instagram":
		kind, ch := conversation.KindMessenger, conversation.ChannelMessenger
		if env.Object == "instagram" {
			kind, ch = conversation.KindInstagram, conversation.ChannelInstagram
		}
		for _, e := range env.Entry {
			for _, m := range e.Messaging {
				out = append(out, messaging(m, kind, ch, n)...)
			}
			if len(e.Messaging) == 0 {
				out = append(out, Event{Ignored: "entry without messaging events"})
			}
		}
	case "whatsapp_business_account":
		for _, e := range env.Entry {
			for _, c := range e.Changes {
				if c.Field != "messages" {
					out = append(out, Event{Ignored: "field " + c.Field})
					continue
				}
				out = append(out, whatsapp(c, n)...)
			}
		}
	default:
		out = append(out, Event{Ignored: "object " + env.Object})
	}
	return out
}

func millis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func messaging(m Messaging, kind conversation.Kind, ch conversation.Channel, n conversation.Normalizer) []Event {
	if m.Delivery != nil {
		if len(m.Delivery.MIDs) == 0 { // a watermark alone names nothing we track
			return []Event{{Ignored: "delivery without mids"}}
		}
		var out []Event
		for _, mid := range m.Delivery.MIDs {
			out = append(out, Event{Status: &StatusEvent{ProviderMessageID: mid, Status: "delivered", At: millis(m.Delivery.Watermark)}})
		}
		return out
	}
	return []Event{messagingOne(m, kind, ch, n)}
}

func messagingOne(m Messaging, kind conversation.Kind, ch conversation.Channel, n conversation.Normalizer) Event {
	at := millis(m.Timestamp)
	switch {
	case m.Message != nil:
		msg := m.Message
		if msg.MID == "" {
			return Event{Ignored: "message without mid"}
		}
		customer, dir := m.Sender.ID, conversation.DirectionInbound
		if msg.IsEcho {
			customer, dir = m.Recipient.ID, conversation.DirectionOutbound
		}
		id, err := n.Platform(kind, customer)
		if err != nil {
			return Event{Ignored: "message without a customer id"}
		}
		in := &conversation.Inbound{
			Key: Provider + ":" + msg.MID, Channel: ch, From: id, FromAddress: m.Sender.ID, To: m.Recipient.ID,
			Body: msg.Text, Provider: Provider, ProviderMessageID: msg.MID, SentAt: at, Direction: dir,
		}
		if msg.ReplyTo != nil {
			in.ReplyTo = msg.ReplyTo.MID
		}
		for _, a := range msg.Attachments {
			switch {
			case a.Type == "location" && a.Payload.Coordinates != nil:
				in.Body = join(in.Body, fmt.Sprintf("📍 %.6f,%.6f %s", a.Payload.Coordinates.Lat, a.Payload.Coordinates.Long, a.Payload.Title))
			case a.Payload.URL != "":
				in.Media = append(in.Media, conversation.Media{URL: a.Payload.URL, ContentType: a.Type})
			default:
				in.Body = join(in.Body, "["+a.Type+"]")
			}
		}
		if msg.QuickReply != nil && in.Body == "" {
			in.Body = msg.QuickReply.Payload
		}
		if in.Body == "" && len(in.Media) == 0 {
			in.Body, in.Kind, in.ProviderType = "[message]", conversation.KindUnsupported, "message"
		}
		return Event{Message: in}
	case m.MessageEdit != nil:
		id, err := n.Platform(kind, m.Sender.ID)
		if err != nil || m.MessageEdit.MID == "" {
			return Event{Ignored: "message_edit without a customer id or mid"}
		}
		num := strings.Trim(string(m.MessageEdit.NumEdit), `"`)
		// The edit itself, should the original not be found: a message of its own.
		in := &conversation.Inbound{Key: Provider + ":edit:" + m.MessageEdit.MID + ":" + num, Channel: ch, From: id,
			FromAddress: m.Sender.ID, To: m.Recipient.ID, Body: m.MessageEdit.Text, Provider: Provider,
			ProviderMessageID: m.MessageEdit.MID, SentAt: at}
		return Event{Message: in, Edit: &EditEvent{Customer: id, ProviderMessageID: m.MessageEdit.MID, Body: m.MessageEdit.Text, At: at}}
	case m.Postback != nil:
		id, err := n.Platform(kind, m.Sender.ID)
		if err != nil {
			return Event{Ignored: "postback without a customer id"}
		}
		key := m.Postback.MID
		if key == "" { // older postbacks carry no mid: the sender and time identify it
			key = m.Sender.ID + ":" + strconv.FormatInt(m.Timestamp, 10)
		}
		body := m.Postback.Title
		if body == "" {
			body = m.Postback.Payload
		}
		return Event{Message: &conversation.Inbound{Key: Provider + ":postback:" + key, Channel: ch, From: id,
			FromAddress: m.Sender.ID, To: m.Recipient.ID, Body: body, Provider: Provider, ProviderMessageID: key, SentAt: at}}
	case m.Reaction != nil:
		id, err := n.Platform(kind, m.Sender.ID)
		if err != nil {
			return Event{Ignored: "reaction without a customer id"}
		}
		key := m.Reaction.MID + ":" + m.Reaction.Action + ":" + m.Reaction.Emoji + ":" + strconv.FormatInt(m.Timestamp, 10)
		return Event{Message: &conversation.Inbound{Key: Provider + ":reaction:" + key, Channel: ch, From: id,
			FromAddress: m.Sender.ID, To: m.Recipient.ID, Body: reactionBody(m.Reaction.Emoji, m.Reaction.Action == "unreact"),
			Kind: conversation.KindReaction, ReactsTo: m.Reaction.MID, Provider: Provider, ProviderMessageID: key, SentAt: at}}
	case m.Read != nil && m.Read.MID != "": // Instagram: the message read
		return Event{Status: &StatusEvent{ProviderMessageID: m.Read.MID, Status: "read", At: at}}
	case m.Read != nil:
		id, err := n.Platform(kind, m.Sender.ID)
		if err != nil {
			return Event{Ignored: "read without a reader"}
		}
		return Event{Reader: id, Watermark: millis(m.Read.Watermark)}
	}
	return Event{Ignored: "messaging event of an unhandled kind"}
}

// reactionBody is a reaction's line on the timeline: "Reacted ❤", "Removed
// the reaction ❤", "Removed a reaction".
func reactionBody(emoji string, removed bool) string {
	switch {
	case removed && emoji != "":
		return "Removed the reaction " + emoji
	case removed:
		return "Removed a reaction"
	}
	return "Reacted " + emoji
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// GraphMediaURL is where a WhatsApp media id is resolved (with the access
// token) to its download URL; the media pipeline fetches it.
func GraphMediaURL(id string) string { return "https://graph.facebook.com/" + id }

func whatsapp(c Change, n conversation.Normalizer) []Event {
	var out []Event
	names := map[string]string{}
	for _, ct := range c.Value.Contacts {
		names[ct.WaID] = ct.Profile.Name
	}
	business := c.Value.Metadata.DisplayPhoneNumber
	if business != "" && !strings.HasPrefix(business, "+") {
		business = "+" + business
	}
	for _, m := range c.Value.Messages {
		if m.ID == "" || m.From == "" {
			out = append(out, Event{Ignored: "WhatsApp message without id or from"})
			continue
		}
		// wa_id is the number in international form without "+": digits
		// only. Anything else is refused for this message alone.
		if !webhook.Digits(m.From) {
			out = append(out, Event{Ignored: "refused: WhatsApp from is not digits"})
			continue
		}
		id, err := n.Phone("+" + m.From)
		if err != nil || id.Kind != conversation.KindPhone {
			out = append(out, Event{Ignored: "refused: WhatsApp from is not a phone number"})
			continue
		}
		in := &conversation.Inbound{
			Key: Provider + ":" + m.ID, Channel: conversation.ChannelWhatsApp, From: id, FromAddress: "whatsapp:" + id.Address,
			To: business, Provider: Provider, ProviderMessageID: m.ID, ProfileName: names[m.From], SentAt: seconds(m.Timestamp),
			Account: c.Value.Metadata.PhoneNumberID,
		}
		if m.Context != nil {
			in.ReplyTo = m.Context.ID
		}
		switch {
		case m.Text != nil:
			in.Body = m.Text.Body
		case m.Location != nil:
			in.Body = strings.TrimSpace(fmt.Sprintf("📍 %.6f,%.6f %s %s", m.Location.Latitude, m.Location.Longitude, m.Location.Name, m.Location.Address))
		case m.Interactive != nil && m.Interactive.ButtonReply != nil:
			in.Body = m.Interactive.ButtonReply.Title
		case m.Interactive != nil && m.Interactive.ListReply != nil:
			in.Body = m.Interactive.ListReply.Title
		case m.Button != nil:
			in.Body = m.Button.Text
		case m.Reaction != nil:
			// An empty emoji removes the customer's reaction.
			in.Body = reactionBody(m.Reaction.Emoji, m.Reaction.Emoji == "")
			in.Kind, in.ReactsTo, in.ReplyTo = conversation.KindReaction, m.Reaction.MessageID, ""
		case len(m.Contacts) > 0:
			var cards []string
			for _, ct := range m.Contacts {
				card := ct.Name.FormattedName
				for _, p := range ct.Phones {
					card += " " + p.Phone
				}
				cards = append(cards, "👤 "+card)
			}
			in.Body = strings.Join(cards, "\n")
		}
		for _, media := range []*WAMedia{m.Image, m.Audio, m.Video, m.Document, m.Sticker} {
			if media != nil && media.ID != "" {
				in.Media = append(in.Media, conversation.Media{URL: GraphMediaURL(media.ID), ContentType: media.MimeType})
				in.Body = join(in.Body, strings.TrimSpace(media.Caption+" "+media.Filename))
			}
		}
		if in.Body == "" && len(in.Media) == 0 {
			// order, system, unsupported, a type added after this code:
			// kept, with the provider's name for it.
			in.Body, in.Kind, in.ProviderType = "["+m.Type+"]", conversation.KindUnsupported, m.Type
		}
		out = append(out, Event{Message: in})
	}
	for _, s := range c.Value.Statuses {
		st := &StatusEvent{ProviderMessageID: s.ID, Status: s.Status, At: seconds(s.Timestamp)}
		if len(s.Errors) > 0 {
			st.ErrorCode = strconv.Itoa(s.Errors[0].Code)
		}
		out = append(out, Event{Status: st})
	}
	return out
}

func seconds(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.Unix(n, 0).UTC()
}
