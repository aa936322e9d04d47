// Command spill is the Lambda function on the spill queue: it serves each
// webhook request that a webhook function kept there during a store outage
// again, through the same handlers (shared/spill), so that the messages of
// providers that never retry (Twilio) are stored once DynamoDB answers.
// Channels whose secrets are unset are not served, as in their functions; a
// spilled request for one stays on the queue and reaches the dead-letter
// queue.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/phone"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/spill"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/wechat"
	"github.com/switchboard/switchboard/shared/xdm"
)

func main() { launch.Event(setup) }

func setup(ctx context.Context, log *slog.Logger) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
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
	norm := phone.Normalizer(cfg.PhoneRegion)
	mux := http.NewServeMux()
	base, verifier, err := twilio.Settings(ctx, params)
	if err != nil {
		return nil, err
	}
	// No acknowledgement text: a replayed request's answer reaches no one.
	th, err := twilio.NewHandler(twilio.Config{Verifier: verifier, Service: svc, Normalizer: norm, PublicBaseURL: base, Log: log})
	if err != nil {
		return nil, err
	}
	th.Register(mux)
	twilio.NewVoiceHandler(twilio.VoiceConfig{Verifier: verifier, Service: svc, Normalizer: norm, PublicBaseURL: base, Routing: rt, Log: log}).Register(mux)
	secrets := map[string]string{}
	for _, name := range []string{"META_APP_SECRET", "META_VERIFY_TOKEN", "TELEGRAM_SECRET_TOKEN", "LINE_CHANNEL_SECRET", "X_CONSUMER_SECRET",
		"WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY"} {
		if secrets[name], err = params.Get(ctx, name, false); err != nil {
			return nil, err
		}
	}
	if s := secrets["META_APP_SECRET"]; s != "" {
		meta.NewHandler(meta.Config{AppSecret: s, VerifyToken: secrets["META_VERIFY_TOKEN"], Service: svc, Normalizer: norm, Log: log}).Register(mux)
	}
	if s := secrets["TELEGRAM_SECRET_TOKEN"]; s != "" {
		tg, err := telegram.NewHandler(telegram.Config{SecretToken: s, Service: svc, Normalizer: norm, Log: log})
		if err != nil {
			return nil, err
		}
		tg.Register(mux)
	}
	if s := secrets["LINE_CHANNEL_SECRET"]; s != "" {
		lh, err := line.NewHandler(line.Config{ChannelSecret: s, Service: svc, Log: log})
		if err != nil {
			return nil, err
		}
		lh.Register(mux)
	}
	if s := secrets["X_CONSUMER_SECRET"]; s != "" {
		xh, err := xdm.NewHandler(xdm.Config{ConsumerSecret: s, Service: svc, Log: log})
		if err != nil {
			return nil, err
		}
		xh.Register(mux)
	}
	if tok := secrets["WECHAT_TOKEN"]; tok != "" {
		wh, err := wechat.NewHandler(wechat.Config{Token: tok, EncodingAESKey: secrets["WECHAT_ENCODING_AES_KEY"], AppID: os.Getenv("WECHAT_APP_ID"), Service: svc, Log: log})
		if err != nil {
			return nil, err
		}
		wh.Register(mux)
	}
	return (&spill.Consumer{Handler: mux, Log: log}).Handle, nil
}
