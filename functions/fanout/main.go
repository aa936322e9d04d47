// Command fanout is the Lambda function on the table's stream. For each new
// message it applies what derives from it (the conversation summary, the
// contact's name, opt-out state) and, when the message opens a notification
// window, queues one job per agent and sink on SQS; it answers customers
// automatically (shared/care: acknowledgements in their language, the
// out-of-hours reply, surveys at close, escalation timers), queues the
// sends of agents' and those automatic replies and the media copies, and
// sends every domain event out (EVENT_BUS_NAME, EVENTS_WEBHOOK_URL:
// shared/eventsout). The stream is the outbox: the ingest
// path calls nothing but DynamoDB.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
)

func main() { launch.Event(setup) }

// setup returns the stream batch handler.
func setup(ctx context.Context, log *slog.Logger) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	h, err := handler(ctx, log)
	if err != nil {
		return nil, err
	}
	return h.Handle, nil
}

func handler(ctx context.Context, log *slog.Logger) (*stream.Handler, error) {
	var cfg config.Notify
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg.Common)
	if err != nil {
		return nil, err
	}
	if cfg.NotifyQueueURL == "" {
		return nil, errors.New("configuration: required key NOTIFY_QUEUE_URL missing value")
	}
	rt, err := routing.Load(ctx, cfg.RoutingConfigFile, params)
	if err != nil {
		return nil, err
	}
	st := store.New(config.DynamoDB(awsCfg, cfg.Common), cfg.TableName)
	svc := &conversation.Service{Store: st, Team: rt.DefaultTeam, Window: rt.Window(), CanSend: notify.ReplyChannels(os.Getenv)}
	queue := &notify.SQSQueue{API: notify.SQSClient(awsCfg, cfg.Common), URL: cfg.NotifyQueueURL}
	d := &notify.Dispatcher{Routing: rt, Queue: queue, Webhook: cfg.NotifyWebhookURL, Log: log}
	base, err := params.Get(ctx, "PUBLIC_BASE_URL", false)
	if err != nil {
		return nil, err
	}
	// Automatic replies in the customer's language, surveys at close,
	// escalation timers: through the same outbox as agents' replies.
	c := &care.Automation{Routing: rt, Service: svc, Timers: st, Queue: queue, AckText: cfg.AckText, PublicBaseURL: base, Log: log}
	h := &stream.Handler{Service: svc, Dispatch: d, Outbox: d, Care: c, Log: log}
	if cfg.MediaBucket != "" {
		h.Media = d // media jobs ride the notify queue to the notifier's copier
	}
	// Domain events out: to the EventBridge bus, and as signed webhook jobs
	// on the same queue (the notifier posts them).
	var pubs eventsout.Publishers
	if cfg.EventBusName != "" {
		pubs = append(pubs, &eventsout.Bus{API: eventsout.NewEventBridge(awsCfg, cfg.EventBridgeEndpoint), Name: cfg.EventBusName})
	}
	if urls := notify.SubscriptionURLs(cfg.EventsWebhookURL); len(urls) > 0 {
		pubs = append(pubs, &notify.EventQueue{Queue: queue, URLs: urls})
	}
	if len(pubs) > 0 {
		h.Events = pubs
	}
	return h, nil
}
