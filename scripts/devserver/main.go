// Command devserver serves every built Switchboard route on one local port
// with the very handlers the Lambda functions mount, and runs the stream
// projection, the fan-out and the notifier in process:
//
//	go run ./scripts/devserver
//
// Defaults (shared/devenv) need no setup: the in-memory store, its change
// hook standing in for the DynamoDB stream, an in-process queue, and
// local-only tokens. NOTIFY_WEBHOOK_URL sends every agent notification to any
// local listener, signed with NOTIFY_WEBHOOK_SECRET. STORE=dynamodb uses
// DynamoDB Local and polls its stream; QUEUE=sqs uses moto's SQS and polls
// it (the endpoints from scripts/local-services.sh start).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/console"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/localstream"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/phone"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webchat"
	"github.com/switchboard/switchboard/shared/webhook"
	"github.com/switchboard/switchboard/shared/wechat"
	"github.com/switchboard/switchboard/shared/xdm"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, log *slog.Logger, out io.Writer) error {
	port := env("PORT", "3000")
	base := env("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	twilioToken := env("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
	agentToken := env("AGENT_API_TOKEN", devenv.AgentAPIToken)
	webhookURL := os.Getenv("NOTIFY_WEBHOOK_URL")

	doc, routingName := []byte(devenv.Routing), "built-in (one always-open team)"
	if f := os.Getenv("ROUTING_CONFIG_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("ROUTING_CONFIG_FILE: %w", err)
		}
		doc, routingName = b, f
	}
	rt, err := routing.Parse(doc)
	if err != nil {
		return err
	}
	reopen, err := time.ParseDuration(env("REOPEN_WINDOW", "0s"))
	if err != nil {
		return fmt.Errorf("REOPEN_WINDOW: %w", err)
	}
	agentTokens := map[string]string{}
	if v := os.Getenv("AGENT_TOKENS"); v != "" {
		if err := json.Unmarshal([]byte(v), &agentTokens); err != nil {
			return fmt.Errorf(`AGENT_TOKENS: want {"token":"agent id",…}: %w`, err)
		}
	}
	svc := &conversation.Service{Team: rt.DefaultTeam, Window: rt.Window(), ReopenWindow: reopen, Templates: rt.Templates, ChatEmailFrom: rt.Email.Address}
	chatOffline, err := time.ParseDuration(env("CHAT_OFFLINE_AFTER", "10m"))
	if err != nil {
		return fmt.Errorf("CHAT_OFFLINE_AFTER: %w", err)
	}
	sh := &stream.Handler{Service: svc, Log: log}

	var deliveries delivery.Records
	var storeName string
	switch s := env("STORE", "memory"); s {
	case "memory":
		svc.Store = memstore.New(inProcessStream(ctx, sh, log))
		deliveries = memstore.NewDeliveries()
		storeName = "in-memory store"
	case "dynamodb":
		st, err := dynamoStore(ctx, sh, log)
		if err != nil {
			return err
		}
		svc.Store, deliveries = st, st
		storeName = "DynamoDB at " + os.Getenv("DYNAMODB_ENDPOINT")
	default:
		return fmt.Errorf("STORE=%s: want memory or dynamodb", s)
	}

	httpClient := &http.Client{Timeout: 10 * time.Second}
	wh, err := notify.NewWebhookSender(httpClient, env("NOTIFY_WEBHOOK_SECRET", devenv.NotifyWebhookSecret), nil)
	if err != nil {
		return err
	}
	notifier := &notify.Notifier{Store: svc.Store, Deliveries: deliveries, Log: log, ChatOfflineAfter: chatOffline,
		Senders: map[string]notify.Sender{routing.SinkWebhook: wh, routing.SinkSlack: &notify.SlackSender{Client: httpClient}}}
	var queue notify.Queue
	var queueName string
	switch q := env("QUEUE", "memory"); q {
	case "memory":
		queue, queueName = notify.NewMemQueue(ctx, notifier.Deliver, log), "in-process queue"
	case "sqs":
		sq, url, err := sqsQueue(ctx, notifier, log)
		if err != nil {
			return err
		}
		queue, queueName = sq, "SQS "+url
	default:
		return fmt.Errorf("QUEUE=%s: want memory or sqs", q)
	}
	sh.Dispatch = &notify.Dispatcher{Routing: rt, Queue: queue, Webhook: webhookURL, Log: log}
	sh.Outbox = sh.Dispatch.(*notify.Dispatcher)
	// Domain events to EVENTS_WEBHOOK_URL (comma-separated), through the
	// same queue, signed with EVENTS_WEBHOOK_SECRET (DESIGN.md 6b).
	if urls := notify.SubscriptionURLs(os.Getenv("EVENTS_WEBHOOK_URL")); len(urls) > 0 {
		if notifier.Events, err = notify.NewWebhookSender(httpClient, env("EVENTS_WEBHOOK_SECRET", devenv.EventsWebhookSecret), nil); err != nil {
			return fmt.Errorf("EVENTS_WEBHOOK_SECRET: %w", err)
		}
		sh.Events = &notify.EventQueue{Queue: queue, URLs: urls}
	}
	// Agents' replies go nowhere but GET /dev/outbox, unless a provider's
	// API URL points a real sender somewhere (a stand-in).
	outbox := &notify.DevOutbox{}
	// Web chat: visitors' tokens, and the socket replies are pushed to.
	chatSigner, err := webchat.NewSigner(env("CHAT_SIGNING_KEY", devenv.ChatSigningKey))
	if err != nil {
		return err
	}
	hub := &webchat.Hub{Signer: chatSigner}
	// Agents' attachments: in memory, behind presigned URLs of its own.
	uploads := &attach.DevUploads{}
	notifier.Replies = notify.NewReplies(notify.ReplyConfig{
		TwilioAccountSID: env("TWILIO_ACCOUNT_SID", devenv.TwilioAccountSID), TwilioAuthToken: twilioToken,
		TwilioAPIURL: os.Getenv("TWILIO_API_URL"), PublicBaseURL: base,
		TelegramBotToken: env("TELEGRAM_BOT_TOKEN", devenv.TelegramBotToken), TelegramURL: os.Getenv("TELEGRAM_API_URL"),
		MetaAccessToken: env("META_ACCESS_TOKEN", devenv.MetaAccessToken), MetaGraphURL: os.Getenv("META_GRAPH_URL"), Dev: outbox, Media: uploads,
		LineChannelToken: env("LINE_CHANNEL_TOKEN", devenv.LineChannelToken), LineAPIURL: os.Getenv("LINE_API_URL"),
		XAccessToken: env("X_ACCESS_TOKEN", devenv.XAccessToken), XAPIURL: os.Getenv("X_API_URL"),
		WeChatAppID: env("WECHAT_APP_ID", devenv.WeChatAppID), WeChatAppSecret: env("WECHAT_APP_SECRET", devenv.WeChatAppSecret), WeChatAPIURL: os.Getenv("WECHAT_API_URL"),
		Chat: hub,
	}, httpClient)
	notifier.Service = svc
	// Automatic replies in the customer's language, the survey at close,
	// escalations: decided on the stream, sent through the outbox.
	if tw, ok := svc.Store.(conversation.TimerWriter); ok {
		c := &care.Automation{Routing: rt, Service: svc, Timers: tw, Queue: queue, PublicBaseURL: base, Log: log,
			AckText: env("ACK_TEXT", "Thanks for your message! An agent will reply here shortly.")}
		sh.Care, svc.Timers = c, c.Fire()
	}

	wt, err := twilio.NewHandler(twilio.Config{
		Verifier: twilio.NewVerifier(twilioToken), Service: svc,
		Normalizer:    phone.Normalizer(env("PHONE_DEFAULT_REGION", "US")),
		PublicBaseURL: base, Log: log,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	wt.Register(mux)
	norm := phone.Normalizer(env("PHONE_DEFAULT_REGION", "US"))
	twilio.NewVoiceHandler(twilio.VoiceConfig{Verifier: twilio.NewVerifier(twilioToken), Service: svc, Normalizer: norm,
		PublicBaseURL: base, Routing: rt, Log: log}).Register(mux)
	meta.NewHandler(meta.Config{AppSecret: env("META_APP_SECRET", devenv.MetaAppSecret), VerifyToken: env("META_VERIFY_TOKEN", devenv.MetaVerifyToken),
		Service: svc, Normalizer: norm, Log: log}).Register(mux)
	tg, err := telegram.NewHandler(telegram.Config{SecretToken: env("TELEGRAM_SECRET_TOKEN", devenv.TelegramSecretToken), Service: svc, Normalizer: norm, Log: log})
	if err != nil {
		return err
	}
	tg.Register(mux)
	lh, err := line.NewHandler(line.Config{ChannelSecret: env("LINE_CHANNEL_SECRET", devenv.LineChannelSecret), Service: svc, Log: log})
	if err != nil {
		return err
	}
	lh.Register(mux)
	xh, err := xdm.NewHandler(xdm.Config{ConsumerSecret: env("X_CONSUMER_SECRET", devenv.XConsumerSecret), Service: svc, Log: log})
	if err != nil {
		return err
	}
	xh.Register(mux)
	wch, err := wechat.NewHandler(wechat.Config{Token: env("WECHAT_TOKEN", devenv.WeChatToken), EncodingAESKey: os.Getenv("WECHAT_ENCODING_AES_KEY"),
		AppID: env("WECHAT_APP_ID", devenv.WeChatAppID), Service: svc, Log: log})
	if err != nil {
		return err
	}
	wch.Register(mux)
	(&care.Surveys{Service: svc, Log: log}).Register(mux)
	(&api.Handler{Store: svc.Store, Service: svc, Token: agentToken, Tokens: agentTokens, Agents: rt, Log: log, Uploads: uploads, Chat: hub, Objects: uploads}).Register(mux)
	uploads.Register(mux)
	poll, err := time.ParseDuration(env("CONSOLE_POLL", "3s"))
	if err != nil {
		return fmt.Errorf("CONSOLE_POLL: %w", err)
	}
	// The console signs in with the agent token; CONSOLE_AUTH=cognito tries
	// the hosted-UI flow against COGNITO_DOMAIN (a stand-in, in the tests).
	con, err := console.New(console.Config{Auth: env("CONSOLE_AUTH", console.AuthToken), PollMillis: int(poll.Milliseconds()),
		CognitoDomain: os.Getenv("COGNITO_DOMAIN"), ClientID: os.Getenv("COGNITO_CLIENT_ID"), RedirectURL: os.Getenv("CONSOLE_REDIRECT_URL")})
	if err != nil {
		return err
	}
	con.Register(mux)
	mux.HandleFunc("GET /dev/outbox", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sends": outbox.Sends()})
	})
	mail := &email.DevHandler{Intake: &email.Intake{Service: svc, Normalizer: norm, Address: rt.Email.Address, Log: log}}
	mail.Register(mux)

	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return err
	}
	// Upload and media URLs are this server's own (PUBLIC_BASE_URL when
	// set, the listening address when not); so are the chat's pages.
	uploads.Base = env("PUBLIC_BASE_URL", "http://"+ln.Addr().String())
	hub.Self = uploads.Base
	notifier.ConsoleURL = env("PUBLIC_CONSOLE_URL", uploads.Base+"/app/")
	chat, err := webchat.NewHandler(webchat.Config{Service: svc, Sites: rt.Sites, Signer: chatSigner,
		IdentitySecret: env("CHAT_IDENTITY_SECRET", devenv.ChatIdentitySecret), Self: uploads.Base, SocketURL: os.Getenv("CHAT_WS_URL"), Uploads: uploads, Log: log})
	if err != nil {
		return err
	}
	chat.Register(mux)
	hub.Register(mux, rt.Origins)
	notes := "NOTIFY_WEBHOOK_URL is unset: set it to any local listener to receive them"
	if webhookURL != "" {
		notes = "each is POSTed to NOTIFY_WEBHOOK_URL=" + webhookURL + ", signed (Standard Webhooks) with NOTIFY_WEBHOOK_SECRET"
	}
	fmt.Fprintf(out, `Switchboard dev server on http://%s (%s, %s)

  POST %s        Twilio SMS, MMS, WhatsApp (answers TwiML)
  POST %s Twilio delivery status
  POST /webhooks/twilio/voice[/status|/recording|/transcription]  Twilio Voice (answers TwiML)
  GET  /webhooks/meta                   Meta subscription handshake (META_VERIFY_TOKEN)
  POST /webhooks/meta                   Messenger, Instagram, WhatsApp Cloud API (META_APP_SECRET)
  POST /webhooks/telegram               Telegram bot updates (TELEGRAM_SECRET_TOKEN)
  POST /webhooks/line                   LINE Messaging API (LINE_CHANNEL_SECRET)
  GET  /webhooks/x, POST /webhooks/x    X DMs: the CRC, then DM events (X_CONSUMER_SECRET)
  GET  /webhooks/wechat, POST …         WeChat Official Account: the URL check, then pushes (WECHAT_TOKEN)
  POST /dev/email                       a raw RFC 5322 message, as SES stores it in S3
  GET  /dev/outbox                      every reply the dev senders recorded (TWILIO_API_URL, TELEGRAM_API_URL, META_GRAPH_URL, LINE_API_URL, X_API_URL, WECHAT_API_URL send for real)
  GET  /app/                            the agent console (sign in with the agent token below)
  GET  /api/conversations?status=open   agents' inbox
  GET  /api/conversations/{id}          a timeline
  PATCH /api/conversations/{id}         {"status":"closed"}, assignee, team, labels, priority, snooze
  POST /api/conversations/{id}/notes    a private note; …/read clears unread
  POST /api/conversations/{id}/messages a reply (Idempotency-Key), media from POST /api/uploads
  POST /api/uploads                     {"contentType","size"}: a presigned PUT (kept in memory here)
  GET  /api/contacts/{id}               a contact
  GET  /chat/demo                       the web chat widget on a demo page (site "demo"); /chat/widget.js, /chat/config
  POST /chat/sessions, /chat/messages   the visitor API; GET /chat/ws?token= its socket; POST /dev/chat/disconnect drops every socket

Webhooks are verified against PUBLIC_BASE_URL=%s with TWILIO_AUTH_TOKEN%s.
Agent notifications: routing %s; %s.
Post a signed sample (events/twilio, events/meta, events/telegram), then read the inbox:
  go run ./scripts/send events/twilio/sms-inbound.json events/meta/whatsapp-text.json
  curl -H 'Authorization: Bearer %s' http://127.0.0.1:%s/api/conversations?status=open
Post an email the way SES would have stored it:
  curl --data-binary @shared/email/testdata/first.eml http://127.0.0.1:%[11]s/dev/email
`, ln.Addr(), storeName, queueName, twilio.MessagingPath, twilio.StatusPath, base, defaultNote(twilioToken), routingName, notes, agentToken, port)

	// Receive stamps each webhook's receive time, as in the functions; the
	// in-memory store does not fail, so nothing is spilled.
	// The timer sweeper, as the scheduled function runs it every minute.
	sweep, err := time.ParseDuration(env("DEV_SWEEP_EVERY", "10s"))
	if err != nil {
		return fmt.Errorf("DEV_SWEEP_EVERY: %w", err)
	}
	if ts, ok := svc.Store.(conversation.TimerStore); ok {
		go sweepEvery(ctx, sweep, svc, ts, log)
	}
	srv := &http.Server{Handler: webhook.Receive(mux, nil), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweepEvery fires due timers (snooze wake-ups) every d until ctx is done.
func sweepEvery(ctx context.Context, d time.Duration, svc *conversation.Service, ts conversation.TimerStore, log *slog.Logger) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := svc.Sweep(ctx, ts); err != nil && ctx.Err() == nil {
				log.Warn("timers.sweep", "error", err.Error())
			}
		}
	}
}

func defaultNote(token string) string {
	if token == devenv.TwilioAuthToken {
		return " (the local default, which signed events/)"
	}
	return " (from the environment: sign with go run ./scripts/send -sign)"
}

// inProcessStream hands stored messages to the stream handler in the
// background, in order, as DynamoDB Streams and the fan-out function do in
// AWS; a failed message is retried, like a stream record.
func inProcessStream(ctx context.Context, sh *stream.Handler, log *slog.Logger) func(conversation.Message) {
	ch := make(chan conversation.Message, 1024)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-ch:
				for attempt := 1; sh.Apply(ctx, m) != nil && attempt < 5 && ctx.Err() == nil; attempt++ {
					time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
				}
			}
		}
	}()
	return func(m conversation.Message) { ch <- m }
}

// dynamoStore opens (creating if needed) the dev table in DynamoDB Local and
// polls its stream into the stream handler.
func dynamoStore(ctx context.Context, sh *stream.Handler, log *slog.Logger) (*store.Store, error) {
	ep := os.Getenv("DYNAMODB_ENDPOINT")
	if ep == "" {
		return nil, errors.New("STORE=dynamodb needs DYNAMODB_ENDPOINT: run scripts/local-services.sh start and source .local/services.env")
	}
	c := config.Common{TableName: env("TABLE_NAME", devenv.TableName), AWSRegion: env("AWS_REGION", "us-east-1"), DynamoDBEndpoint: ep}
	awsCfg, err := config.AWS(ctx, c)
	if err != nil {
		return nil, err
	}
	db := config.DynamoDB(awsCfg, c)
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.TableName})
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		if err := store.CreateTable(ctx, db, c.TableName); err != nil {
			return nil, err
		}
		desc, err = db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.TableName})
	}
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", c.TableName, err)
	}
	p := &localstream.Poller{
		Streams:   dynamodbstreams.NewFromConfig(awsCfg, func(o *dynamodbstreams.Options) { o.BaseEndpoint = aws.String(ep) }),
		StreamARN: aws.ToString(desc.Table.LatestStreamArn), Handle: sh.Handle,
		OnError: func(err error) { log.Warn("stream.poll", "error", err.Error()) },
	}
	go func() { _ = p.Run(ctx) }()
	return store.New(db, c.TableName), nil
}

// sqsQueue uses NOTIFY_QUEUE_URL, or creates the dev queue in moto, and
// polls it into the notifier as Lambda's event source mapping would.
func sqsQueue(ctx context.Context, n *notify.Notifier, log *slog.Logger) (*notify.SQSQueue, string, error) {
	ep := os.Getenv("SQS_ENDPOINT")
	if ep == "" {
		return nil, "", errors.New("QUEUE=sqs needs SQS_ENDPOINT: run scripts/local-services.sh start and source .local/services.env")
	}
	c := config.Common{AWSRegion: env("AWS_REGION", "us-east-1"), SQSEndpoint: ep}
	awsCfg, err := config.AWS(ctx, c)
	if err != nil {
		return nil, "", err
	}
	client := notify.SQSClient(awsCfg, c)
	url := os.Getenv("NOTIFY_QUEUE_URL")
	if url == "" {
		out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(devenv.NotifyQueueName),
			Attributes: map[string]string{"VisibilityTimeout": "30"}})
		if err != nil {
			return nil, "", fmt.Errorf("create %s: %w", devenv.NotifyQueueName, err)
		}
		url = aws.ToString(out.QueueUrl)
	}
	p := &notify.SQSPoller{API: client, URL: url, Handle: n.Handle, OnError: func(err error) { log.Warn("notify.poll", "error", err.Error()) }}
	go func() { _ = p.Run(ctx) }()
	return &notify.SQSQueue{API: client, URL: url}, url, nil
}
