// Command messaging is the Lambda function behind POST /webhooks/twilio/messaging
// and /webhooks/twilio/messaging/status: Twilio SMS, MMS and WhatsApp.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/phone"
	"github.com/switchboard/switchboard/shared/spill"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

func main() { launch.HTTP(setup) }

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg config.Messaging
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg.Common)
	if err != nil {
		return nil, err
	}
	base, verifier, err := twilio.Settings(ctx, params)
	if err != nil {
		return nil, err
	}
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg.Common), cfg.TableName), Team: cfg.Team, ReopenWindow: cfg.ReopenWindow}
	h, err := twilio.NewHandler(twilio.Config{
		Verifier: verifier, Service: svc,
		Normalizer:    phone.Normalizer(cfg.PhoneRegion),
		PublicBaseURL: base, MaxBody: cfg.MaxBody, Log: log,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	h.Register(mux)
	// A verified webhook our store cannot take is kept on the spill queue.
	return webhook.Receive(mux, spill.FromConfig(awsCfg, cfg.Common)), nil
}
