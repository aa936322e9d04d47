// Command fanout is the Lambda function on the table's stream: it applies each
// new message to what derives from it (the conversation summary, the
// contact's name, opt-out state). The stream is the outbox: nothing on the
// ingest path calls anything but DynamoDB.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
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
	var cfg config.Common
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	awsCfg, err := config.AWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Team: cfg.Team}
	return &stream.Handler{Service: svc, Log: log}, nil
}
