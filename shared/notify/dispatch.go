package notify

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/routing"
)

// Dispatcher makes the jobs for a message that opened a notification window.
// It implements stream.Dispatcher.
type Dispatcher struct {
	Routing *routing.Config
	Queue   Queue
	// Webhook, if set, is a sink every notified agent also gets
	// (NOTIFY_WEBHOOK_URL).
	Webhook string
	Log     *slog.Logger
}

// Jobs returns the jobs for message m, which opened conv's current window.
func (d *Dispatcher) Jobs(conv conversation.Conversation, m conversation.Message) []Job {
	var jobs []Job
	for _, r := range d.Routing.Route(conv, m) {
		sinks := r.Agent.Sinks
		if d.Webhook != "" {
			sinks = append(sinks[:len(sinks):len(sinks)], routing.Sink{Type: routing.SinkWebhook, To: d.Webhook})
		}
		for _, s := range sinks {
			jobs = append(jobs, Job{
				ID: JobID(conv.ID, m.Key, r.Agent.ID, s), ConversationID: conv.ID, ContactID: conv.ContactID,
				Channel: string(m.Channel), WindowKey: m.Key, Agent: r.Agent.ID, Reason: r.Reason, Sink: s,
				NotBefore: conv.NotifyUntil, MessageAt: m.ArrivedAt(),
			})
		}
	}
	return jobs
}

// QueueMedia queues the copy of m's media (stream.MediaQueue). The job id
// is the message's, so a redelivered record makes the same job.
func (d *Dispatcher) QueueMedia(ctx context.Context, m conversation.Message) error {
	job := Job{
		ID: JobID(m.ConversationID, m.Key, "", MediaSink), Kind: KindMedia, ConversationID: m.ConversationID,
		ContactID: m.ContactID, Channel: string(m.Channel), WindowKey: m.Key, Sink: MediaSink, MessageAt: m.ArrivedAt(),
	}
	if err := d.Queue.Send(ctx, []Job{job}); err != nil {
		return fmt.Errorf("queue media job: %w", err)
	}
	d.log().LogAttrs(ctx, slog.LevelInfo, "media.dispatch", slog.String("outcome", "queued"),
		slog.String("conversation", m.ConversationID), slog.Int("media", len(m.Media)))
	return nil
}

// Dispatch queues the jobs for m.
func (d *Dispatcher) Dispatch(ctx context.Context, conv conversation.Conversation, m conversation.Message) error {
	jobs := d.Jobs(conv, m)
	if len(jobs) == 0 {
		d.log().LogAttrs(ctx, slog.LevelWarn, "notify.dispatch", slog.String("outcome", "no_recipient"),
			slog.String("conversation", conv.ID))
		return nil
	}
	if err := d.Queue.Send(ctx, jobs); err != nil {
		return fmt.Errorf("queue %d jobs: %w", len(jobs), err)
	}
	d.log().LogAttrs(ctx, slog.LevelInfo, "notify.dispatch", slog.String("outcome", "queued"),
		slog.String("conversation", conv.ID), slog.Int("jobs", len(jobs)))
	return nil
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}
