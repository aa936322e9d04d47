// Command social is the Lambda function behind GET and POST /webhooks/meta
// (Messenger, Instagram, WhatsApp Cloud API), POST /webhooks/telegram and
// POST /webhooks/line, GET and POST /webhooks/x and /webhooks/wechat, and
// the web chat's visitor API and widget (/chat/*: CHAT_SIGNING_KEY; the
// sites from the routing document).
// A platform whose secrets are not configured is not served (404); with none
// configured the function serves nothing and says so in its start log.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/spill"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/webchat"
	"github.com/switchboard/switchboard/shared/webhook"
	"github.com/switchboard/switchboard/shared/wechat"
	"github.com/switchboard/switchboard/shared/xdm"
)

func main() { launch.HTTP(setup) }

func setup(ctx context.Context, log *slog.Logger) (http.Handler, error) {
	var cfg config.Common
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg)
	if err != nil {
		return nil, err
	}
	secrets := map[string]string{}
	for _, name := range []string{"META_APP_SECRET", "META_VERIFY_TOKEN", "TELEGRAM_SECRET_TOKEN", "LINE_CHANNEL_SECRET", "X_CONSUMER_SECRET",
		"WECHAT_TOKEN", "WECHAT_ENCODING_AES_KEY", "CHAT_SIGNING_KEY", "CHAT_IDENTITY_SECRET"} {
		if secrets[name], err = params.Get(ctx, name, false); err != nil {
			return nil, err
		}
	}
	appSecret, verifyToken, tgToken := secrets["META_APP_SECRET"], secrets["META_VERIFY_TOKEN"], secrets["TELEGRAM_SECRET_TOKEN"]
	svc := &conversation.Service{Store: store.New(config.DynamoDB(awsCfg, cfg), cfg.TableName), Team: cfg.Team, ReopenWindow: cfg.ReopenWindow}
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
		tg, err := telegram.NewHandler(telegram.Config{SecretToken: tgToken, Service: svc, Normalizer: norm, Log: log})
		if err != nil {
			return nil, err
		}
		tg.Register(mux)
		enabled = append(enabled, "telegram")
	}
	if lineSecret := secrets["LINE_CHANNEL_SECRET"]; lineSecret != "" {
		lc := line.Config{ChannelSecret: lineSecret, Service: svc, Log: log}
		// With the channel token, a new LINE user's display name and language.
		token, err := params.Get(ctx, "LINE_CHANNEL_TOKEN", false)
		if err != nil {
			return nil, err
		}
		if token != "" {
			if lc.Profile, err = line.Profiles(token, os.Getenv("LINE_API_URL"), &http.Client{Timeout: 3 * time.Second}); err != nil {
				return nil, err
			}
		}
		lh, err := line.NewHandler(lc)
		if err != nil {
			return nil, err
		}
		lh.Register(mux)
		enabled = append(enabled, "line")
	}
	if xSecret := secrets["X_CONSUMER_SECRET"]; xSecret != "" {
		xh, err := xdm.NewHandler(xdm.Config{ConsumerSecret: xSecret, Service: svc, Log: log})
		if err != nil {
			return nil, err
		}
		xh.Register(mux)
		enabled = append(enabled, "x")
	}
	if tok := secrets["WECHAT_TOKEN"]; tok != "" {
		wh, err := wechat.NewHandler(wechat.Config{Token: tok, EncodingAESKey: secrets["WECHAT_ENCODING_AES_KEY"], AppID: os.Getenv("WECHAT_APP_ID"), Service: svc, Log: log})
		if err != nil {
			return nil, err
		}
		wh.Register(mux)
		enabled = append(enabled, "wechat")
	}
	if key := secrets["CHAT_SIGNING_KEY"]; key != "" {
		chat, err := chatHandler(ctx, awsCfg, key, secrets["CHAT_IDENTITY_SECRET"], cfg, params, svc, log)
		if err != nil {
			return nil, err
		}
		chat.Register(mux)
		enabled = append(enabled, "webchat")
	}
	if len(enabled) == 0 {
		log.Warn("start", "platforms", "none", "hint", "set META_APP_SECRET and META_VERIFY_TOKEN, TELEGRAM_SECRET_TOKEN, LINE_CHANNEL_SECRET, X_CONSUMER_SECRET, WECHAT_TOKEN and/or CHAT_SIGNING_KEY (or their _PARAM)")
	} else {
		log.Info("start", "platforms", enabled)
	}
	// A verified webhook our store cannot take is kept on the spill queue.
	return webhook.Receive(mux, spill.FromConfig(awsCfg, cfg)), nil
}

// chatHandler is the web chat's visitor API: tokens signed with key, the
// sites of the routing document, the widget pointed at CHAT_WS_URL.
func chatHandler(ctx context.Context, awsCfg aws.Config, key, identitySecret string, cfg config.Common, params config.Params, svc *conversation.Service, log *slog.Logger) (*webchat.Handler, error) {
	d, err := webchat.LoadDeployed(ctx, key, cfg, params)
	if err != nil {
		return nil, err
	}
	var uploads webchat.Uploads
	if bucket := os.Getenv("MEDIA_BUCKET"); bucket != "" {
		uploads = attach.NewUploads(config.S3(awsCfg, cfg), bucket)
	}
	return webchat.NewHandler(webchat.Config{Service: svc, Sites: d.Routing.Sites, Signer: d.Signer, IdentitySecret: identitySecret,
		Self: d.Base, SocketURL: os.Getenv("CHAT_WS_URL"), Uploads: uploads, Log: log})
}
