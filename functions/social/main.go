// Command social is the Lambda function behind GET and POST /webhooks/meta
// (Messenger, Instagram, WhatsApp Cloud API) and POST /webhooks/telegram.
// A platform whose secrets are not configured is not served (404); with none
// configured the function serves nothing and says so in its start log.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/telegram"
)

func main() {
	log := lambdacontext.NewLogger()
	h, err := setup(context.Background(), log)
	if err != nil {
		log.Error("start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg config.Common
	if err := config.Load(&cfg); err != nil {
		return nil, err
	}
	awsCfg, err := config.AWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	params := config.Params{SSM: config.SSM(awsCfg, cfg)}
	secrets := map[string]string{}
	for _, name := range []string{"META_APP_SECRET", "META_VERIFY_TOKEN", "TELEGRAM_SECRET_TOKEN"} {
		if secrets[name], err = params.Get(ctx, name, false); err != nil {
			return nil, err
		}
	}
	appSecret, verifyToken, tgToken := secrets["META_APP_SECRET"], secrets["META_VERIFY_TOKEN"], secrets["TELEGRAM_SECRET_TOKEN"]
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Team: cfg.Team}
	norm := conversation.Normalizer{DefaultRegion: cfg.PhoneRegion}
	mux := http.NewServeMux()
	var enabled []string
	if appSecret != "" {
		if verifyToken == "" {
			return nil, errors.New("META_APP_SECRET is set but META_VERIFY_TOKEN (or _PARAM) is not: Meta's handshake needs it")
		}
		meta.NewHandler(meta.Config{AppSecret: appSecret, VerifyToken: verifyToken, Service: svc, Normalizer: norm, Log: log}).Register(mux)
		enabled = append(enabled, "meta")
	}
	if tgToken != "" {
		telegram.NewHandler(telegram.Config{SecretToken: tgToken, Service: svc, Normalizer: norm, Log: log}).Register(mux)
		enabled = append(enabled, "telegram")
	}
	if len(enabled) == 0 {
		log.Warn("start", "platforms", "none", "hint", "set META_APP_SECRET and META_VERIFY_TOKEN, and/or TELEGRAM_SECRET_TOKEN (or their _PARAM)")
	} else {
		log.Info("start", "platforms", enabled)
	}
	return mux, nil
}
