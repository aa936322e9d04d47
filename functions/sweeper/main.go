// Command sweeper is the Lambda function an EventBridge schedule runs every
// minute: it fires the durable timers that are due (a snoozed
// conversation's wake-up, a web chat reply nobody saw, an escalation, a
// delayed survey), each once (conversation.Service.Sweep).
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

func main() { launch.Event(setup) }

func setup(ctx context.Context, log *slog.Logger) (func(context.Context, events.EventBridgeEvent) error, error) {
	var cfg config.Notify
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg.Common)
	if err != nil {
		return nil, err
	}
	st := store.New(config.DynamoDB(awsCfg, cfg.Common), cfg.TableName)
	svc := &conversation.Service{Store: st, CanSend: notify.ReplyChannels(os.Getenv)}
	if cfg.RoutingConfigFile != "" || os.Getenv("ROUTING_CONFIG") != "" || os.Getenv("ROUTING_CONFIG_PARAM") != "" {
		rt, err := routing.Load(ctx, cfg.RoutingConfigFile, params)
		if err != nil {
			return nil, err
		}
		// A web chat reply nobody saw is emailed from the support address.
		svc.ChatEmailFrom = rt.Email.Address
		base, err := params.Get(ctx, "PUBLIC_BASE_URL", false)
		if err != nil {
			return nil, err
		}
		// Escalations (to the notify queue) and delayed surveys.
		c := &care.Automation{Routing: rt, Service: svc, Timers: st, PublicBaseURL: base, Log: log}
		if cfg.NotifyQueueURL != "" {
			c.Queue = &notify.SQSQueue{API: notify.SQSClient(awsCfg, cfg.Common), URL: cfg.NotifyQueueURL}
		}
		svc.Timers = c.Fire()
	}
	return func(ctx context.Context, _ events.EventBridgeEvent) error {
		n, err := svc.Sweep(ctx, st)
		if err != nil {
			log.LogAttrs(ctx, slog.LevelError, "timers.sweep", slog.String("outcome", "error"), slog.Int("fired", n), slog.String("error", err.Error()))
			return err // the next run sweeps again from the last minute finished
		}
		log.LogAttrs(ctx, slog.LevelInfo, "timers.sweep", slog.String("outcome", "swept"), slog.Int("fired", n))
		return nil
	}, nil
}
