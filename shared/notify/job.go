// Package notify tells agents that a customer is waiting. The fan-out side
// (Dispatcher) turns a message that opened a notification window into jobs,
// one per agent and sink, and queues them (SQS in AWS, delayed until the
// window closes); the notifier side (Notifier) consumes them, reads the
// conversation as it then is ("3 new messages from Ana"), and sends through
// the sink: SMS through Twilio, email through SES, Slack, or a webhook signed
// the Standard Webhooks way.
//
// The same queue is Switchboard's one outbox to customers: an agent's reply
// (reply.go: Dispatcher.QueueSend, then a ReplySender per channel —
// twilio-go for SMS and WhatsApp, Telegram's sendMessage, SES), the text
// after a missed call, the acknowledgement of a first email.
//
// Every job has a deterministic id, and the notifier records each delivery
// with a conditional write before sending, so a redelivered stream record or
// SQS message is never sent twice.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

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
)

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
