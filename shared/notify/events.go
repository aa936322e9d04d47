package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/routing"
)

// SubscriptionURLs is EVENTS_WEBHOOK_URL's comma-separated subscriptions,
// blanks trimmed and empties dropped.
func SubscriptionURLs(v string) []string {
	var out []string
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// EventsSink is a subscription's sink.
func EventsSink(url string) routing.Sink { return routing.Sink{Type: KindEvent, To: url} }

// EventQueue queues each event for each webhook subscription, through the
// notify queue: retried with SQS's backoff, dead-lettered after the
// queue's receives, and sent once (the delivery record); a subscriber's
// 4xx is final (the job fails, its log line says so).
type EventQueue struct {
	Queue Queue
	URLs  []string
}

// Publish implements eventsout.Publisher.
func (q *EventQueue) Publish(ctx context.Context, evs []eventsout.Event) error {
	var jobs []Job
	for _, u := range q.URLs {
		sink := EventsSink(u)
		for _, e := range evs {
			body, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode %s: %w", e.Type, err)
			}
			subject := e.Subject()
			jobs = append(jobs, Job{ID: JobID(subject, e.ID, "", sink), Kind: KindEvent, ConversationID: subject, WindowKey: e.ID,
				Sink: sink, Text: string(body), MessageAt: e.Time, Reason: e.Type})
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	return q.Queue.Send(ctx, jobs)
}

// postEvent delivers a KindEvent job, signed with the events secret.
func (n *Notifier) postEvent(ctx context.Context, job Job, attrs []slog.Attr) error {
	attrs = append(attrs, slog.String("event", job.Reason), slog.String("event_id", job.WindowKey))
	if n.Events == nil {
		return n.finish(ctx, job, attrs, delivery.Failed, "no events webhook secret configured (EVENTS_WEBHOOK_SECRET)")
	}
	sctx, cancel := context.WithTimeout(ctx, n.sinkTimeout())
	err := n.Events.PostSigned(sctx, job.Sink.To, job.WindowKey, []byte(job.Text))
	cancel()
	var perm *PermanentError
	if errors.As(err, &perm) {
		return n.finish(ctx, job, attrs, delivery.Failed, "the subscription refused it: "+perm.Reason)
	}
	if err != nil {
		return n.release(ctx, job, attrs, fmt.Errorf("post event: %w", err))
	}
	return n.finish(ctx, job, attrs, delivery.Sent, "")
}
