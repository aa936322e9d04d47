package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email/thread"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/localstream"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/notify/sesmail"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/twilio"
)

const (
	twilioToken    = "e2e-twilio-token"
	publicBase     = "https://hooks.example.com"
	webhookSecret  = "whsec_ZTJlLXdlYmhvb2stc2lnbmluZy1rZXk="
	agentPhone     = "+14155550001"
	supportEmail   = "support@example.com"
	metaSecret     = "e2e-meta-app-secret"
	telegramSecret = "e2e-telegram-secret"
	lineSecret     = "e2e-line-channel-secret"
)

// delivery is one notification a sink received.
type delivery struct {
	job     string
	conv    string
	preview string
	at      time.Time
}

// system is Switchboard on the local services, with recording sinks.
type system struct {
	t        testing.TB
	mail     *sesmail.EmailSender // SES on moto, recording (mailer)
	web      *httptest.Server     // the messaging webhook
	store    *store.Store
	db       *dynamodb.Client
	table    string
	sqs      *sqs.Client
	queue    string
	dlq      string
	proxy    *localaws.Proxy
	sqsCalls map[string]*atomic.Int64
	jobsSent atomic.Int64

	svc      *conversation.Service
	trouble  ring // the pipeline's warnings and the pollers' errors, latest last
	mu       sync.Mutex
	webhooks []delivery // verified webhook notifications
	texts    []url.Values
	mails    []*sesmail.SendEmailInput // what the notifier sent through SES (moto)
	badSigs  int
	replies  *providers // the reply stand-ins (options.replies)
	// With options.replies: moto's S3, the media bucket (uploads, copied
	// media) and a raw email bucket.
	s3                       *s3.Client
	mediaBucket, emailBucket string
	// events is every domain event the stream published, each held to
	// its schema; with options.events, bus and subscriber are the far ends.
	events     *eventLog
	bus        *eventBus
	subscriber *subscriber
}

type options struct {
	sinks       []routing.Sink
	visibility  int
	maxReceives int
	// retryFailedNow: a failed job is received again at once (see
	// notify.SQSPoller.RetryFailedNow), not after the visibility timeout.
	retryFailedNow bool
	// replies wires the outbox: the agents' API on the webhook server,
	// reply senders pointed at provider stand-ins (see reply_test.go).
	replies bool
	// events wires events out: a bus on moto's EventBridge and a webhook
	// subscription (see events_test.go).
	events bool
	// care, if set, replaces the routing document (shared/care's
	// automatic replies, surveys, escalations: see care_test.go).
	care string
}

func newSystem(t testing.TB, o options) *system {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &system{t: t, sqsCalls: map[string]*atomic.Int64{}}
	for _, op := range []string{"SendMessageBatch", "ReceiveMessage", "DeleteMessageBatch"} {
		s.sqsCalls[op] = &atomic.Int64{}
	}

	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	s.store, s.db, s.table = store.New(db, table), db, table

	// SQS through a proxy that can play an outage.
	direct := localaws.SQS(t)
	s.queue, s.dlq = localaws.Queue(t, direct, o.visibility, o.maxReceives)
	s.proxy = localaws.NewProxy(t, strings.TrimPrefix(os.Getenv("SQS_ENDPOINT"), "http://"))
	s.sqs = localaws.SQS(t, func(opts *sqs.Options) {
		opts.BaseEndpoint = aws.String(s.proxy.URL())
		opts.APIOptions = append(opts.APIOptions, s.countSQS)
		// Back off at most a second and never run out of retry tokens: the
		// pollers retry on their own cadence, as Lambda's do, so that the end
		// of an outage is seen within a second, not after the SDK's 20 s
		// backoff (which made the outage test slow and, under load, late).
		opts.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = time.Second
			o.RateLimiter = ratelimit.None
		})
	})

	// Sinks: a webhook endpoint that verifies signatures, and Twilio.
	verifier, err := standardwebhooks.NewWebhook(webhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n notify.Notification
		_ = json.Unmarshal(body, &n)
		s.mu.Lock()
		defer s.mu.Unlock()
		if verifier.Verify(body, r.Header) != nil {
			s.badSigs++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		s.webhooks = append(s.webhooks, delivery{job: r.Header.Get("webhook-id"), conv: n.ConversationID, preview: n.Preview, at: time.Now()})
	}))
	t.Cleanup(hook.Close)
	twilioAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		s.texts = append(s.texts, r.PostForm)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SMagent","status":"queued"}`)
	}))
	t.Cleanup(twilioAPI.Close)
	target, _ := url.Parse(twilioAPI.URL)

	sinks := o.sinks
	for i := range sinks {
		if sinks[i].Type == routing.SinkWebhook {
			sinks[i].To = hook.URL
		}
	}
	agent, _ := json.Marshal(sinks)
	doc := `{"defaultTeam":"support","teams":[{"id":"support"}],
		"email":{"address":"` + supportEmail + `","ack":"Thanks, we got your message and will answer soon."},
		"agents":[{"id":"ana","teams":["support"],"sinks":` + string(agent) + `}]}`
	if o.care != "" {
		doc = o.care
	}
	rt, err := routing.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}

	// Warnings and errors of the pipeline, kept for a timeout's report.
	quiet := slog.New(slog.NewTextHandler(&s.trouble, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc := &conversation.Service{Store: s.store, Team: "support", Window: rt.Window()}
	s.svc = svc
	wh, err := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(twilioToken), Service: svc, PublicBaseURL: publicBase, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wh.Register(mux)
	meta.NewHandler(meta.Config{AppSecret: metaSecret, VerifyToken: "v", Service: svc, Log: quiet}).Register(mux)
	tg, err := telegram.NewHandler(telegram.Config{SecretToken: telegramSecret, Service: svc, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tg.Register(mux)
	lh, err := line.NewHandler(line.Config{ChannelSecret: lineSecret, Service: svc, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	lh.Register(mux)
	s.web = httptest.NewServer(mux)
	t.Cleanup(s.web.Close)

	// The stream, as Lambda's event source mapping reads it, into the fan-out.
	fanout := &stream.Handler{Service: svc, Log: quiet,
		Dispatch: &notify.Dispatcher{Routing: rt, Queue: &notify.SQSQueue{API: s.sqs, URL: s.queue}, Log: quiet}}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	sp := &localstream.Poller{
		Streams: dynamodbstreams.NewFromConfig(localaws.Config(), func(o *dynamodbstreams.Options) {
			o.BaseEndpoint = aws.String(os.Getenv("DYNAMODB_ENDPOINT"))
		}),
		StreamARN: aws.ToString(desc.Table.LatestStreamArn), Handle: fanout.Handle, Interval: 20 * time.Millisecond,
		OnError: func(err error) { fmt.Fprintf(&s.trouble, "stream poller: %v\n", err) },
	}

	// The queue, as the notifier's event source mapping reads it.
	httpClient := &http.Client{Timeout: 5 * time.Second}
	whSender, err := notify.NewWebhookSender(httpClient, webhookSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	smsClient := &http.Client{Timeout: 5 * time.Second, Transport: rewrite{target}}
	s.mail = s.mailer(t)
	n := &notify.Notifier{Store: s.store, Deliveries: s.store, Log: quiet, Senders: map[string]notify.Sender{
		routing.SinkWebhook: whSender,
		routing.SinkSMS:     &notify.SMSSender{API: notify.NewTwilioAPI("AC123", "secret", smsClient), From: "+18005550100"},
	}}
	// Automatic replies, as the deployed fan-out always makes them (with the
	// default document, an email's acknowledgement alone), through the
	// outbox to the notifier's reply senders: SES here, every provider's
	// stand-in with replies.
	c := &care.Automation{Routing: rt, Service: svc, Timers: s.store, Queue: &notify.SQSQueue{API: s.sqs, URL: s.queue},
		PublicBaseURL: publicBase, Log: quiet}
	fanout.Care, svc.Timers = c, c.Fire()
	fanout.Outbox, n.Service = fanout.Dispatch.(*notify.Dispatcher), svc
	n.Replies = notify.NewReplies(notify.ReplyConfig{Mailer: s.mail, ReplyTo: thread.Address}, httpClient)
	if o.replies {
		s.wireReplies(mux, fanout, n)
	}
	s.events = &eventLog{}
	t.Cleanup(func() { s.events.check(t) }) // before the pollers stop: registered after their cancel
	fanout.Events = s.events
	if o.events {
		s.wireEvents(fanout, n)
	}
	go func() { _ = sp.Run(ctx) }()
	for range 2 { // two concurrent consumers, as Lambda scales out
		qp := &notify.SQSPoller{API: s.sqs, URL: s.queue, Handle: n.Handle, WaitSeconds: 1, RetryFailedNow: o.retryFailedNow,
			OnError: func(err error) { fmt.Fprintf(&s.trouble, "queue poller: %v\n", err) }}
		go func() { _ = qp.Run(ctx) }()
	}
	return s
}

// mailer is SES v2 on moto, recording what it sends.
func (s *system) mailer(t testing.TB) *sesmail.EmailSender {
	ep := localaws.Endpoint(t, "MOTO_ENDPOINT")
	sdk := sesv2.NewFromConfig(localaws.Config(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(ep) })
	if _, err := sdk.CreateEmailIdentity(context.Background(), &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(supportEmail)}); err != nil {
		t.Fatal(err)
	}
	return &sesmail.EmailSender{API: &recordingSES{API: sesmail.NewClient(localaws.Config(), config.Notify{SESEndpoint: ep}), s: s}}
}

// recordingSES sends through moto and keeps each mail SES took.
type recordingSES struct {
	sesmail.API
	s *system
}

func (r *recordingSES) SendEmail(ctx context.Context, in *sesmail.SendEmailInput) (string, error) {
	id, err := r.API.SendEmail(ctx, in)
	if err == nil {
		r.s.mu.Lock()
		r.s.mails = append(r.s.mails, in)
		r.s.mu.Unlock()
	}
	return id, err
}

// countSQS counts SQS requests by operation, and the jobs sent.
func (s *system) countSQS(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("count",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			if c := s.sqsCalls[awsmiddleware.GetOperationName(ctx)]; c != nil {
				c.Add(1)
			}
			if b, ok := in.Parameters.(*sqs.SendMessageBatchInput); ok && err == nil {
				if o, ok := out.Result.(*sqs.SendMessageBatchOutput); ok {
					s.jobsSent.Add(int64(len(b.Entries) - len(o.Failed)))
				}
			}
			return out, md, err
		}), middleware.After)
}

type rewrite struct{ to *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	return http.DefaultTransport.RoundTrip(req)
}

// postSMS sends one signed Twilio webhook, as Twilio would.
func (s *system) postSMS(sid, from, body string) int {
	form := url.Values{"MessageSid": {sid}, "AccountSid": {"AC123"}, "From": {from}, "To": {"+18005550100"}, "Body": {body}, "NumMedia": {"0"}}
	req, _ := http.NewRequest(http.MethodPost, s.web.URL+twilio.MessagingPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(twilioToken, publicBase+twilio.MessagingPath, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Errorf("post %s: %v", sid, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// post sends one webhook body with headers, as a provider would.
func (s *system) post(path, body string, header map[string]string) int {
	req, _ := http.NewRequest(http.MethodPost, s.web.URL+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Errorf("post %s: %v", path, err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// patience bounds how long a test waits for the pipeline to settle. It is
// generous because CI runs every package at once under -race against one
// moto and one DynamoDB Local (the 200 x 5 storm takes ~20 s alone, 45 s and
// more under that load); waiting ends as soon as the condition holds, and
// no test asserts on time (benchmarks measure it).
const patience = 5 * time.Minute

// waitFor polls cond until it holds or the time is up.
func (s *system) waitFor(what string, d time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			h, x, bad := s.counts()
			s.t.Fatalf("timed out waiting for %s: %d webhook deliveries, %d texts, %d bad signatures, %d jobs queued, "+
				"%d in the queue, %d dead letters; latest trouble:\n%s", what, h, x, bad, s.jobsSent.Load(),
				s.queueDepth(s.queue), s.queueDepth(s.dlq), s.trouble.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until the notify queue holds nothing, visible or in flight:
// every job the pipeline made has been handled, so a duplicate delivery, if
// there were one, has happened. (Jobs are made before the deliveries the
// tests wait for, and a stream record applied again makes the same job ids,
// which the notifier's claim turns away.) It replaces sleeps that waited a
// duplicate out.
func (s *system) settle() {
	s.t.Helper()
	s.waitFor("the notify queue to drain", patience, func() bool { return s.queueDepth(s.queue) == 0 })
}

// ring keeps the last lines written to it.
type ring struct {
	mu    sync.Mutex
	lines []string
}

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, strings.TrimRight(string(p), "\n"))
	if len(r.lines) > 30 {
		r.lines = r.lines[len(r.lines)-30:]
	}
	return len(p), nil
}

func (r *ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

func (s *system) counts() (hooks, texts, bad int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.webhooks), len(s.texts), s.badSigs
}

// queueDepth is what waits in a queue, visible or in flight; -1 when it
// cannot be read (no such queue, SQS unreachable).
func (s *system) queueDepth(u string) int { return depth(s.t, s.sqs, u) }

// scaled is n in the full run (scripts/test.sh --full, what CI runs, sets
// SWITCHBOARD_FULL=1), else n/div: the README's test command runs the same
// storms at a fraction of their size, within its 10 minutes.
func scaled(n, div int) int {
	if os.Getenv("SWITCHBOARD_FULL") != "" {
		return n
	}
	return n / div
}
