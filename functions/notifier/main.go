// Command notifier is the Lambda function on the notify queue: it sends each
// job to its agent (SMS through Twilio, email through SES, Slack, a signed
// webhook), at most once, and reports the jobs to retry.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email/thread"
	"github.com/switchboard/switchboard/shared/launch"
	"github.com/switchboard/switchboard/shared/media"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/notify/sesmail"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/webchat"
)

func main() {
	launch.Event(func(ctx context.Context, log *slog.Logger) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
		n, err := setup(ctx, log, &http.Client{Timeout: 10 * time.Second})
		if err != nil {
			return nil, err
		}
		return n.Handle, nil
	})
}

// setup builds the notifier with a sender for every sink whose settings are
// present; a job for another sink is recorded as failed with the reason.
func setup(ctx context.Context, log *slog.Logger, httpClient *http.Client) (*notify.Notifier, error) {
	var cfg config.Notify
	awsCfg, params, err := config.Setup(ctx, &cfg, &cfg.Common)
	if err != nil {
		return nil, err
	}
	senders := map[string]notify.Sender{routing.SinkSlack: &notify.SlackSender{Client: httpClient}}
	secret, err := params.Get(ctx, "NOTIFY_WEBHOOK_SECRET", cfg.NotifyWebhookURL != "")
	if err != nil {
		return nil, err
	}
	if secret != "" {
		wh, err := notify.NewWebhookSender(httpClient, secret, nil)
		if err != nil {
			return nil, err
		}
		senders[routing.SinkWebhook] = wh
	}
	var twilioToken string
	if cfg.TwilioAccountSID != "" {
		if twilioToken, err = params.Get(ctx, "TWILIO_AUTH_TOKEN", true); err != nil {
			return nil, err
		}
	}
	if cfg.TwilioAccountSID != "" && cfg.NotifySMSFrom != "" {
		sms := &notify.SMSSender{API: notify.NewTwilioAPI(cfg.TwilioAccountSID, twilioToken, httpClient), From: cfg.NotifySMSFrom}
		senders[routing.SinkSMS] = sms
	}
	// Replies to customers (and automatic ones) are from the address they
	// wrote to; agents' email needs NOTIFY_EMAIL_FROM.
	mailer := &sesmail.EmailSender{API: sesmail.NewClient(awsCfg, cfg), From: cfg.NotifyEmailFrom, ConfigurationSet: cfg.SESConfigurationSet}
	if cfg.NotifyEmailFrom != "" {
		senders[routing.SinkEmail] = mailer
	}
	st := store.New(config.DynamoDB(awsCfg, cfg.Common), cfg.TableName)
	n := &notify.Notifier{Store: st, Deliveries: st, Senders: senders, Log: log}
	// A web chat reply nobody saw goes by email after this long.
	if v := os.Getenv("CHAT_OFFLINE_AFTER"); v != "" {
		if n.ChatOfflineAfter, err = time.ParseDuration(v); err != nil {
			return nil, fmt.Errorf("CHAT_OFFLINE_AFTER: %w", err)
		}
	}
	// Agents' replies: Twilio (SMS, WhatsApp), Telegram, SES; each rechecked
	// against its channel's rules at send time.
	base, err := params.Get(ctx, "PUBLIC_BASE_URL", false)
	if err != nil {
		return nil, err
	}
	// Notifications link to the conversation in the console.
	n.ConsoleURL = consoleURL(os.Getenv("PUBLIC_CONSOLE_URL"), base)
	// Domain events to webhook subscriptions (KindEvent jobs), signed with
	// their own secret.
	evSecret, err := params.Get(ctx, "EVENTS_WEBHOOK_SECRET", cfg.EventsWebhookURL != "")
	if err != nil {
		return nil, err
	}
	if evSecret != "" {
		if n.Events, err = notify.NewWebhookSender(httpClient, evSecret, nil); err != nil {
			return nil, fmt.Errorf("EVENTS_WEBHOOK_SECRET: %w", err)
		}
	}
	botToken, err := params.Get(ctx, "TELEGRAM_BOT_TOKEN", false)
	if err != nil {
		return nil, err
	}
	metaToken, err := params.Get(ctx, "META_ACCESS_TOKEN", false)
	if err != nil {
		return nil, err
	}
	lineToken, err := params.Get(ctx, "LINE_CHANNEL_TOKEN", false)
	if err != nil {
		return nil, err
	}
	xToken, err := params.Get(ctx, "X_ACCESS_TOKEN", false)
	if err != nil {
		return nil, err
	}
	wechatSecret, err := params.Get(ctx, "WECHAT_APP_SECRET", false)
	if err != nil {
		return nil, err
	}
	var links notify.MediaLinks // agents' attachments, linked for the providers
	if cfg.MediaBucket != "" {
		links = attach.NewUploads(config.S3(awsCfg, cfg.Common), cfg.MediaBucket)
	}
	n.Replies = notify.NewReplies(notify.ReplyConfig{
		TwilioAccountSID: cfg.TwilioAccountSID, TwilioAuthToken: twilioToken, TwilioAPIURL: cfg.TwilioAPIURL, PublicBaseURL: base,
		TelegramBotToken: botToken, TelegramURL: cfg.TelegramAPIURL, Mailer: mailer, ReplyTo: thread.Address,
		MetaAccessToken: metaToken, MetaGraphURL: cfg.MetaGraphURL, Media: links,
		LineChannelToken: lineToken, LineAPIURL: cfg.LineAPIURL, XAccessToken: xToken, XAPIURL: cfg.XAPIURL,
		WeChatAppID: cfg.WeChatAppID, WeChatAppSecret: wechatSecret, WeChatAPIURL: cfg.WeChatAPIURL,
		Chat: webchat.FromEnv(os.Getenv, awsCfg, st, httpClient, log),
	}, httpClient)
	n.Service = &conversation.Service{Store: st}
	if cfg.MediaBucket != "" {
		tgToken := botToken
		sources := map[string]media.Source{"meta": media.Meta(metaToken), "wechat": media.WeChat()}
		if lineToken != "" {
			sources["line"] = media.LINE(lineToken)
		}
		if cfg.TwilioAccountSID != "" {
			sources["twilio"] = media.Twilio(cfg.TwilioAccountSID, twilioToken)
		}
		n.Media = &media.Copier{Store: st, S3: config.S3(awsCfg, cfg.Common), Bucket: cfg.MediaBucket, EmailBucket: cfg.EmailBucket,
			Fetcher: &media.Fetcher{}, Sources: sources, TelegramToken: tgToken, Log: log}
	}
	return n, nil
}

// consoleURL is PUBLIC_CONSOLE_URL, else the console the api function
// serves at PUBLIC_BASE_URL + /app/ (empty without either).
func consoleURL(console, base string) string {
	if console != "" || base == "" {
		return console
	}
	return strings.TrimRight(base, "/") + "/app/"
}
