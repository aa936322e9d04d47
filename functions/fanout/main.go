// Command fanout is the Lambda function on the table's stream. For each new
// message it applies what derives from it (the conversation summary, the
// contact's name, opt-out state) and, when the message opens a notification
// window, queues one job per agent and sink on SQS. The stream is the outbox:
// the ingest path calls nothing but DynamoDB.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := setup(context.Background(), log)
	if err != nil {
		log.Error("start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

func setup(ctx context.Context, log *slog.Logger) (*stream.Handler, error) {
	var cfg config.Notify
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	if cfg.NotifyQueueURL == "" {
		return nil, errors.New("configuration: required key NOTIFY_QUEUE_URL missing value")
	}
	awsCfg, err := config.AWS(ctx, cfg.Common)
	if err != nil {
		return nil, err
	}
	rt, err := routing.Load(ctx, cfg.RoutingConfigFile, config.Params{SSM: config.SSM(awsCfg, cfg.Common)})
	if err != nil {
		return nil, err
	}
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg.Common), cfg.TableName), Team: rt.DefaultTeam, Window: rt.Window()}
	queue := &notify.SQSQueue{API: notify.SQSClient(awsCfg, cfg.Common), URL: cfg.NotifyQueueURL}
	return &stream.Handler{
		Service:  svc,
		Dispatch: &notify.Dispatcher{Routing: rt, Queue: queue, Webhook: cfg.NotifyWebhookURL, Log: log},
		Log:      log,
	}, nil
}
