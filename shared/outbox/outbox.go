// Package outbox is the job every queued delivery is: a notification to an
// agent, a reply or automatic message to a customer, a media copy, an event
// to a subscriber — its format (the SQS message body), its deterministic id,
// the queue it goes on, and which channels the notifier can send replies
// on. It is a leaf package so that what only queues or checks (the api, the
// care rules) does not link the senders and their SDK clients (shared/notify:
// SES, SQS, EventBridge, Twilio's REST API).
package outbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/routing"
)

// Job is one notification to one agent on one sink: the SQS message body.
type Job struct {
	ID             string `json:"id"`
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	Channel        string `json:"channel"`
	// WindowKey is the key of the message that opened the window.
	WindowKey string       `json:"windowKey"`
	Agent     string       `json:"agent"`
	Reason    string       `json:"reason"`
	Sink      routing.Sink `json:"sink"`
	// NotBefore is when the window closes; the job is sent after it.
	NotBefore time.Time `json:"notBefore"`
	// MessageAt is when the window's first message arrived (for latency).
	MessageAt time.Time `json:"messageAt"`
	// Kind is "" for an agent notification, else one of the kinds below.
	Kind string `json:"kind,omitempty"`
	// Text is a KindEvent job's event (JSON).
	Text string `json:"text,omitempty"`
	// MessageID is a KindReply job's message (its id is SendJobID of it).
	MessageID string `json:"messageId,omitempty"`
}

// Kinds of customer-facing job.
const (
	// KindFollowUp and KindEmailAck are retired (the missed-call text and
	// the email acknowledgement are automatic messages through the outbox
	// now: care); a job of theirs still queued is skipped.
	KindFollowUp = "followup"
	KindEmailAck = "email_ack"
	// KindMedia is the job of copying a message's media to the media
	// bucket (WindowKey is the message's key).
	KindMedia = "media"
	// KindReply is the job of sending an agent's reply (WindowKey is the
	// message's key).
	KindReply = "reply"
	// KindEvent is an event out to a subscription (EVENTS_WEBHOOK_URL):
	// Text is the event's JSON, WindowKey its id, which is also the
	// webhook-id the subscriber dedupes by.
	KindEvent = "event"
)

// Queue carries jobs to the notifier.
type Queue interface {
	Send(ctx context.Context, jobs []Job) error
}

// SendJobID is the send job's id for message id (delivery.SendJobID).
func SendJobID(messageID string) string { return delivery.SendJobID(messageID) }

// MediaSink is the sink a media job names: the media bucket.
var MediaSink = routing.Sink{Type: KindMedia, To: "bucket"}

// JobID is deterministic in what a job is, so that a job made twice (a
// redelivered stream record) is recognized as one delivery.
func JobID(conversationID, windowKey, agent string, sink routing.Sink) string {
	h := sha256.Sum256([]byte(strings.Join([]string{conversationID, windowKey, agent, sink.Type, sink.To}, "\x00")))
	return "job_" + hex.EncodeToString(h[:16])
}

// ErrMalformed wraps the reason a job cannot be read.
var ErrMalformed = errors.New("malformed job")

// ParseJob reads and checks an SQS message body.
func ParseJob(body string) (Job, error) {
	var j Job
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return j, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	var missing []string
	required := map[string]string{"id": j.ID, "conversationId": j.ConversationID,
		"sink.type": j.Sink.Type, "sink.to": j.Sink.To, "windowKey": j.WindowKey}
	switch j.Kind {
	case "":
		required["agent"] = j.Agent
	case KindMedia, KindFollowUp, KindEmailAck:
	case KindEvent:
		required["text"] = j.Text
	case KindReply:
		required["messageId"] = j.MessageID
	default:
		return j, fmt.Errorf("%w: unknown kind %q", ErrMalformed, j.Kind)
	}
	for name, v := range required {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return j, fmt.Errorf("%w: missing %s", ErrMalformed, strings.Join(missing, ", "))
	}
	if j.Kind == KindReply && j.ID != SendJobID(j.MessageID) || j.Kind != KindReply && j.ID != JobID(j.ConversationID, j.WindowKey, j.Agent, j.Sink) {
		return j, fmt.Errorf("%w: id does not match its content", ErrMalformed)
	}
	return j, nil
}

// ReplyChannels says which channels the notifier has a reply sender for
// (notify.NewReplies), by the settings the template gives both functions
// (only their presence: no secret is read): a reply on another channel is
// refused before it is queued.
func ReplyChannels(getenv func(string) string) func(conversation.Channel) bool {
	set := func(name string) bool { return getenv(name) != "" }
	return func(ch conversation.Channel) bool {
		switch ch {
		case conversation.ChannelSMS, conversation.ChannelWhatsApp, conversation.ChannelVoice: // texts, callbacks
			return set("TWILIO_ACCOUNT_SID")
		case conversation.ChannelTelegram:
			return set("TELEGRAM_BOT_TOKEN_PARAM")
		case conversation.ChannelLINE:
			return set("LINE_CHANNEL_TOKEN_PARAM")
		case conversation.ChannelX:
			return set("X_ACCESS_TOKEN_PARAM")
		case conversation.ChannelWeChat:
			return set("WECHAT_APP_SECRET_PARAM")
		case conversation.ChannelMessenger, conversation.ChannelInstagram, conversation.RouteWhatsAppCloud:
			return set("META_ACCESS_TOKEN_PARAM")
		case conversation.ChannelEmail:
			return true
		case conversation.ChannelWebchat: // pushed through the WebSocket API
			return set("CHAT_WS_URL")
		}
		return false
	}
}
