// Command voice is the Lambda function behind POST /webhooks/twilio/voice and
// its status, recording and transcription callbacks: calls, missed calls and
// voicemail on the caller's conversation.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/phone"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/spill"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

func main() { launch.HTTP(setup) }

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg config.Common
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg)
	if err != nil {
		return nil, err
	}
	base, verifier, err := twilio.Settings(ctx, params)
	if err != nil {
		return nil, err
	}
	rt, err := routing.Load(ctx, cfg.RoutingConfigFile, params)
	if err != nil {
		return nil, err
	}
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Team: rt.DefaultTeam, ReopenWindow: cfg.ReopenWindow}
	mux := http.NewServeMux()
	twilio.NewVoiceHandler(twilio.VoiceConfig{
		Verifier: verifier, Service: svc, Normalizer: phone.Normalizer(cfg.PhoneRegion),
		PublicBaseURL: base, Routing: rt, Log: log,
	}).Register(mux)
	// A verified webhook our store cannot take is kept on the spill queue.
	return webhook.Receive(mux, spill.FromConfig(awsCfg, cfg)), nil
}
