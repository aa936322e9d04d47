package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/routing"
)

// Notification is what a sink delivers.
type Notification struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	ConversationID string    `json:"conversationId"`
	ContactID      string    `json:"contactId"`
	ContactName    string    `json:"contactName,omitempty"`
	Channel        string    `json:"channel"`
	Preview        string    `json:"preview"`
	Unread         int       `json:"unread"`
	Agent          string    `json:"agent"`
	Reason         string    `json:"reason"`
	Text           string    `json:"text"`
	MessageAt      time.Time `json:"messageAt"`
	// ConsoleURL opens the conversation in the agent console
	// (PUBLIC_CONSOLE_URL + "#/conversations/{id}"); Text ends with it.
	ConsoleURL string `json:"consoleUrl,omitempty"`
}

// Mailer sends an email reply to a customer and returns its SES message id
// (sesmail.EmailSender does).
type Mailer interface {
	Reply(ctx context.Context, r Reply) (string, error)
}

// MediaCopier copies one message's media (media.Copier does).
type MediaCopier interface {
	Copy(ctx context.Context, conversationID, key string) error
}

// Reply is an email answer to a customer's message.
type Reply struct {
	From, To, ReplyTo, Subject, Text string
	// InReplyTo is the Message-ID answered, without brackets.
	InReplyTo string
	// Auto marks an automatic answer (Auto-Submitted: auto-replied), so
	// that the customer's auto-responder stays quiet; an agent's is not.
	Auto bool
	// Attachments go with the text (an agent's reply's media).
	Attachments []Attachment
}

// Attachment is one file of a Reply.
type Attachment struct {
	Filename, ContentType string
	Data                  []byte
}

// Sender delivers a notification on one kind of sink.
type Sender interface {
	Send(ctx context.Context, sink routing.Sink, n Notification) error
}

// PermanentError is a sink's refusal that no retry will change (an HTTP 4xx,
// an invalid number): the delivery is recorded as failed with the reason.
type PermanentError struct{ Code, Reason string }

func (e *PermanentError) Error() string { return e.Reason }

// Store is what the notifier reads of a conversation (and writes: an
// acknowledgement on the timeline).
type Store interface {
	conversation.Reader
	PutMessage(ctx context.Context, m conversation.Message) error
	conversation.OutboxStore
}

// Notifier consumes jobs.
type Notifier struct {
	Store      Store
	Deliveries delivery.Records
	// Senders by sink type (routing.SinkSMS, …).
	Senders map[string]Sender
	// Events signs domain events posted to webhook subscriptions
	// (EVENTS_WEBHOOK_SECRET; KindEvent jobs); nil: such jobs fail.
	Events *WebhookSender
	// Replies send agents' replies, by channel; a channel without one fails
	// its replies as channel_not_configured.
	Replies map[conversation.Channel]ReplySender
	// Service, if set, holds each reply to its channel's rules again at
	// send time.
	Service *conversation.Service
	// Media copies a message's media to the media bucket (media.Copier);
	// nil: media jobs are dropped with a warning (no MEDIA_BUCKET).
	Media MediaCopier
	// Lease is how long a claim holds (≥ a sink's timeout); default 1m.
	Lease time.Duration
	// SinkTimeout bounds one send; default 10s.
	SinkTimeout time.Duration
	// ChatOfflineAfter is how long a web chat reply nobody saw waits
	// before it goes by email (CHAT_OFFLINE_AFTER; 0: never).
	ChatOfflineAfter time.Duration
	// ConsoleURL is the agent console (PUBLIC_CONSOLE_URL, else
	// PUBLIC_BASE_URL + "/app/"); notifications link into it. Empty: no
	// link.
	ConsoleURL string
	Now        func() time.Time
	Log        *slog.Logger
}

// Handle processes an SQS batch and reports the jobs to retry; a malformed
// job is reported too, so that after the queue's receives it goes to the
// dead-letter queue without holding up the others.
func (n *Notifier) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		if err := n.handle(ctx, rec); err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

func (n *Notifier) handle(ctx context.Context, rec events.SQSMessage) error {
	job, err := ParseJob(rec.Body)
	if err != nil {
		n.log().LogAttrs(ctx, slog.LevelError, "notify.job", slog.String("outcome", "malformed"),
			slog.String("sqs_message", rec.MessageId), slog.String("receives", rec.Attributes["ApproximateReceiveCount"]),
			slog.String("error", err.Error()))
		return err
	}
	return n.Deliver(ctx, job)
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

// errInFlight: another consumer holds the job's lease; try again later.
var errInFlight = errors.New("delivery in flight elsewhere")

// Deliver sends one job unless it was delivered before. A sink's permanent
// refusal is recorded and not retried; any other failure is returned, for
// the queue to redeliver.
func (n *Notifier) Deliver(ctx context.Context, job Job) error {
	attrs := []slog.Attr{slog.String("job", job.ID), slog.String("conversation", job.ConversationID),
		slog.String("agent", job.Agent), slog.String("sink", job.Sink.Type)}
	if job.Kind == KindMedia {
		// Copying is idempotent (see media.Copier): no claim needed, and a
		// failure is simply redelivered.
		if n.Media == nil {
			n.log().LogAttrs(ctx, slog.LevelWarn, "media.copy", append(attrs, slog.String("outcome", "not_configured"))...)
			return nil
		}
		if err := n.Media.Copy(ctx, job.ConversationID, job.WindowKey); err != nil {
			return n.fail(ctx, attrs, err)
		}
		return nil
	}
	lease := n.Lease
	if lease == 0 {
		lease = time.Minute
	}
	claim, err := n.Deliveries.Claim(ctx, job.ID, n.now(), lease)
	if err != nil {
		return n.fail(ctx, attrs, fmt.Errorf("claim delivery: %w", err))
	}
	if !claim.OK {
		if claim.State == delivery.Sending {
			return n.fail(ctx, attrs, errInFlight)
		}
		n.log().LogAttrs(ctx, slog.LevelInfo, "notify.deliver", append(attrs, slog.String("outcome", "already_"+claim.State))...)
		return nil
	}
	switch job.Kind {
	case KindReply:
		return n.sendReply(ctx, job, attrs)
	case KindFollowUp, KindEmailAck:
		// Queued by a fan-out from before automatic messages went through
		// the outbox (care): the one in flight at a deploy is dropped, not
		// sent to the customer as an agent's notification.
		return n.finish(ctx, job, attrs, delivery.Skipped, "retired job kind "+job.Kind)
	case KindEvent:
		return n.postEvent(ctx, job, attrs)
	}
	note, skip, err := n.compose(ctx, job)
	if err != nil {
		return n.release(ctx, job, attrs, err)
	}
	if skip != "" {
		return n.finish(ctx, job, attrs, delivery.Skipped, skip)
	}
	sender := n.Senders[job.Sink.Type]
	if sender == nil {
		return n.finish(ctx, job, attrs, delivery.Failed, "no sender configured for sink type "+job.Sink.Type)
	}
	sctx, cancel := context.WithTimeout(ctx, n.sinkTimeout())
	err = sender.Send(sctx, job.Sink, note)
	cancel()
	var perm *PermanentError
	if errors.As(err, &perm) {
		return n.finish(ctx, job, attrs, delivery.Failed, perm.Reason)
	}
	if err != nil {
		return n.release(ctx, job, attrs, fmt.Errorf("send: %w", err))
	}
	attrs = append(attrs, slog.Int64("latency_ms", n.now().Sub(job.MessageAt).Milliseconds()))
	return n.finish(ctx, job, attrs, delivery.Sent, "")
}

func (n *Notifier) sinkTimeout() time.Duration {
	if n.SinkTimeout == 0 {
		return 10 * time.Second
	}
	return n.SinkTimeout
}

func (n *Notifier) compose(ctx context.Context, job Job) (Notification, string, error) {
	conv, err := n.Store.Summary(ctx, job.ConversationID)
	if errors.Is(err, conversation.ErrNotFound) {
		return Notification{}, "conversation not found", nil
	}
	if err != nil {
		return Notification{}, "", fmt.Errorf("read conversation: %w", err)
	}
	if conv.Unread == 0 {
		return Notification{}, "answered before the window closed", nil
	}
	note := Notification{
		ID: job.ID, Type: "conversation.waiting", ConversationID: conv.ID, ContactID: conv.ContactID,
		Channel: job.Channel, Preview: conv.LastPreview, Unread: conv.Unread, Agent: job.Agent, Reason: job.Reason,
		MessageAt: job.MessageAt,
	}
	who := "a customer"
	if c, err := n.Store.Contact(ctx, conv.ContactID); err == nil && c.Name != "" {
		note.ContactName, who = c.Name, c.Name
	}
	what := "New message"
	if conv.Unread > 1 {
		what = fmt.Sprintf("%d new messages", conv.Unread)
	}
	note.Text = fmt.Sprintf("%s from %s on %s: %q", what, who, channelName(job.Channel), conv.LastPreview)
	if job.Reason == routing.ReasonEscalated {
		note.Type = "conversation.escalated"
		note.Text = "Escalated, nobody has answered yet: " + note.Text
	}
	if n.ConsoleURL != "" {
		note.ConsoleURL = n.ConsoleURL + "#/conversations/" + url.PathEscape(conv.ID)
		note.Text += " " + note.ConsoleURL
	}
	return note, "", nil
}

func channelName(ch string) string {
	switch ch {
	case "sms":
		return "SMS"
	case "whatsapp":
		return "WhatsApp"
	case "":
		return "an unknown channel"
	}
	return strings.ToUpper(ch[:1]) + ch[1:]
}

// recordTimeout bounds writing a delivery's outcome.
const recordTimeout = 5 * time.Second

// afterSend is the context for what follows a send: not cancelled with the
// handler's (a send that went out is recorded even if the function's time
// ran out just after it, else a redelivery would send it again), bounded.
func afterSend(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

func (n *Notifier) finish(ctx context.Context, job Job, attrs []slog.Attr, state, reason string) error {
	ctx, cancel := afterSend(ctx)
	defer cancel()
	if err := n.Deliveries.Finish(ctx, job.ID, state, reason, n.now()); err != nil {
		// Sent but not recorded: the lease expires and a redelivery may send
		// again. Report it so the queue retries the record.
		return n.fail(ctx, attrs, fmt.Errorf("record %s: %w", state, err))
	}
	level := slog.LevelInfo
	if state == delivery.Failed {
		level = slog.LevelWarn
	}
	if reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	n.log().LogAttrs(ctx, level, "notify.deliver", append(attrs, slog.String("outcome", state))...)
	return nil
}

func (n *Notifier) release(ctx context.Context, job Job, attrs []slog.Attr, cause error) error {
	ctx, cancel := afterSend(ctx)
	defer cancel()
	if err := n.Deliveries.Finish(ctx, job.ID, delivery.Retry, cause.Error(), n.now()); err != nil {
		cause = errors.Join(cause, fmt.Errorf("release claim: %w", err))
	}
	return n.fail(ctx, attrs, cause)
}

func (n *Notifier) fail(ctx context.Context, attrs []slog.Attr, err error) error {
	n.log().LogAttrs(ctx, slog.LevelWarn, "notify.deliver", append(attrs, slog.String("outcome", "retry"), slog.String("error", err.Error()))...)
	return err
}

func (n *Notifier) log() *slog.Logger {
	if n.Log == nil {
		return slog.Default()
	}
	return n.Log
}
