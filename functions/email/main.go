// Command email is the Lambda function on EMAIL_BUCKET: SES's receipt rule
// stores each inbound message there, and the object's creation invokes this
// function, which reads the raw message and ingests it (shared/email). It
// also takes SES's sending events (delivery, bounce, complaint of the
// replies it sent), delivered by SNS, onto the replies' status.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

func main() { launch.Event(setup) }

func setup(ctx context.Context, log *slog.Logger) (func(context.Context, json.RawMessage) error, error) {
	var cfg config.Common
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg)
	if err != nil {
		return nil, err
	}
	rt, err := routing.Load(ctx, cfg.RoutingConfigFile, params)
	if err != nil {
		return nil, err
	}
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Team: rt.DefaultTeam, ReopenWindow: cfg.ReopenWindow}
	h := &email.S3Handler{
		Intake: &email.Intake{Service: svc, Normalizer: conversation.Normalizer{DefaultRegion: cfg.PhoneRegion}, Address: rt.Email.Address, Log: log},
		S3:     config.S3(awsCfg, cfg),
	}
	sent := &email.EventsHandler{Service: svc, Log: log}
	return func(ctx context.Context, raw json.RawMessage) error {
		if email.IsSNS(raw) {
			var ev events.SNSEvent
			if err := json.Unmarshal(raw, &ev); err != nil {
				return fmt.Errorf("decode SNS event: %w", err)
			}
			return sent.Handle(ctx, ev)
		}
		var ev events.S3Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return fmt.Errorf("decode S3 event: %w", err)
		}
		return h.Handle(ctx, ev)
	}, nil
}
