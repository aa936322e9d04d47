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
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/outbox"
	"github.com/switchboard/switchboard/shared/routing"
)

// The job format is shared/outbox's; these names keep the notifier's code
// and its callers reading as before.
type (
	Job   = outbox.Job
	Queue = outbox.Queue
)

const (
	KindFollowUp = outbox.KindFollowUp
	KindEmailAck = outbox.KindEmailAck
	KindMedia    = outbox.KindMedia
	KindReply    = outbox.KindReply
	KindEvent    = outbox.KindEvent
)

var (
	MediaSink    = outbox.MediaSink
	ErrMalformed = outbox.ErrMalformed
)

// JobID is outbox.JobID.
func JobID(conversationID, windowKey, agent string, sink routing.Sink) string {
	return outbox.JobID(conversationID, windowKey, agent, sink)
}

// ParseJob is outbox.ParseJob.
func ParseJob(body string) (Job, error) { return outbox.ParseJob(body) }

// SendJobID is outbox.SendJobID.
func SendJobID(messageID string) string { return outbox.SendJobID(messageID) }

// ReplyChannels is outbox.ReplyChannels.
func ReplyChannels(getenv func(string) string) func(conversation.Channel) bool {
	return outbox.ReplyChannels(getenv)
}
