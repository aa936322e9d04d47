package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/lambdatest"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

const root = "../.."

var functions = []string{"./functions/messaging", "./functions/voice", "./functions/social", "./functions/api",
	"./functions/fanout", "./functions/notifier", "./functions/email", "./functions/spill", "./functions/sweeper", "./functions/chatsocket", "./functions/signin", "./shared/lambdatest/testdata/hello", "./shared/lambdatest/testdata/hellodynamo"}

// emailBucket is the bucket events/email names.
const emailBucket = "switchboard-email-example"

// The Twilio account the notifier binary replies through (a stand-in);
// twilio-go takes alphanumeric tokens only, as Twilio issues them.
const (
	binaryTwilioSID   = "AC11111111111111111111111111111111"
	binaryTwilioToken = "22222222222222222222222222222222"
)

const binaryRouting = `{"defaultTeam":"support","teams":[{"id":"support"}],"agents":[{"id":"ana","teams":["support"],"phone":"+14155550001","sinks":[]}],"sites":[{"id":"demo"}]}`

func event(t *testing.T, name string) []byte {
	b, err := os.ReadFile(root + "/events/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// httpStatus reads an API Gateway v2 response.
func httpStatus(t *testing.T, resp []byte) (int, string) {
	var r struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("not an API Gateway response: %s", resp)
	}
	return r.StatusCode, r.Body
}

// TestBinariesAsDeployed builds every function's bootstrap as the deployment
// does and drives each through the Lambda Runtime API with its events/
// envelopes, against DynamoDB Local and moto.
func TestBinariesAsDeployed(t *testing.T) {
	bins := lambdatest.Build(t, root, lambdatest.NativeArch(), t.TempDir(), functions...)
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	sqsClient := localaws.SQS(t)
	queue, _ := localaws.Queue(t, sqsClient, 30, 0)
	st := store.New(db, table)
	// The conversation the stream and queue samples name (as functions/fanout's test seeds it).
	ids := map[string]string{"ct": "ct_sample", "cv": "cv_sample", "msg": "msg_sample"}
	svc := &conversation.Service{Store: st, Team: "support",
		Now:   func() time.Time { return time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC) },
		NewID: func(p string) string { return ids[p] }}
	from, _ := conversation.Normalizer{}.Phone("+14155550123")
	if _, err := svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
		Channel: conversation.ChannelSMS, From: from, FromAddress: "+14155550123", To: "+18005550100",
		Body: "Hi, my order #41 hasn't arrived", Provider: "twilio", ProviderMessageID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9"}); err != nil {
		t.Fatal(err)
	}
	received := make(chan string, 10)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		received <- string(b)
	}))
	defer sink.Close()

	base := map[string]string{"TABLE_NAME": table, "DYNAMODB_ENDPOINT": os.Getenv("DYNAMODB_ENDPOINT"), "SQS_ENDPOINT": os.Getenv("SQS_ENDPOINT")}
	env := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	ctx := context.Background()
	invoke := func(f *lambdatest.Function, name string) []byte {
		t.Helper()
		out, err := f.Invoke(ctx, event(t, name))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, f.Output())
		}
		return out
	}
	// Every function's AWS calls go through an audit proxy, held to its
	// policy in template.yaml at the end.
	audits := map[string]*audit{}
	audited := func(logicalID string, e map[string]string) map[string]string {
		a := newAudit()
		audits[logicalID] = a
		return a.endpoints(t, e)
	}
	web := func(fn string, e map[string]string, cases map[string]int, contains map[string]string) *lambdatest.Function {
		f := lambdatest.Start(t, bins[fn], audited(strings.ToUpper(fn[:1])+fn[1:]+"Function", e))
		for name, want := range cases {
			code, body := httpStatus(t, invoke(f, name))
			if code != want || !strings.Contains(body, contains[name]) {
				t.Errorf("%s %s: %d %q, want %d containing %q", fn, name, code, body, want, contains[name])
			}
		}
		return f
	}

	var started []*lambdatest.Function
	started = append(started, web("messaging", env("PUBLIC_BASE_URL", devenv.PublicBaseURL, "TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken),
		map[string]int{"twilio/sms-inbound": 200, "twilio/whatsapp-inbound": 200, "twilio/sms-forged": 403},
		map[string]string{"twilio/sms-inbound": "<Response", "twilio/sms-forged": "invalid X-Twilio-Signature"}))
	started = append(started, web("voice", env("PUBLIC_BASE_URL", devenv.PublicBaseURL, "TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken, "ROUTING_CONFIG", binaryRouting),
		map[string]int{"twilio/voice-incoming": 200, "twilio/voice-forged": 403}, map[string]string{"twilio/voice-incoming": "<Dial"}))
	social := web("social", env("META_APP_SECRET", devenv.MetaAppSecret, "META_VERIFY_TOKEN", devenv.MetaVerifyToken, "TELEGRAM_SECRET_TOKEN", devenv.TelegramSecretToken,
		"CHAT_SIGNING_KEY", devenv.ChatSigningKey, "ROUTING_CONFIG", binaryRouting, "PUBLIC_BASE_URL", devenv.PublicBaseURL),
		map[string]int{"meta/whatsapp-text": 200, "meta/handshake": 200, "meta/forged": 403, "telegram/message-text": 200, "webchat/session": 200},
		map[string]string{"meta/handshake": "1158201444", "webchat/session": `"token"`})
	started = append(started, social)

	// The web chat socket binary: a visitor's session token through the
	// $connect authorizer, then $connect and $disconnect.
	_, sessionBody := httpStatus(t, invoke(social, "webchat/session"))
	var session struct{ Token string }
	_ = json.Unmarshal([]byte(sessionBody), &session)
	chatSocket := lambdatest.Start(t, bins["chatsocket"], audited("ChatSocketFunction", env("CHAT_SIGNING_KEY", devenv.ChatSigningKey,
		"ROUTING_CONFIG", binaryRouting, "PUBLIC_BASE_URL", devenv.PublicBaseURL)))
	started = append(started, chatSocket)
	authorize := strings.ReplaceAll(string(event(t, "webchat/authorize")), "<a token from POST /chat/sessions>", session.Token)
	authOut, err := chatSocket.Invoke(ctx, []byte(authorize))
	var policy events.APIGatewayCustomAuthorizerResponse
	if err != nil || json.Unmarshal(authOut, &policy) != nil || len(policy.PolicyDocument.Statement) != 1 || policy.PolicyDocument.Statement[0].Effect != "Allow" {
		t.Fatalf("chat authorizer: %s %v\n%s", authOut, err, chatSocket.Output())
	}
	var connect map[string]any
	_ = json.Unmarshal(event(t, "webchat/connect"), &connect)
	connect["requestContext"].(map[string]any)["authorizer"] = policy.Context
	raw, _ := json.Marshal(connect)
	if out, err := chatSocket.Invoke(ctx, raw); err != nil || !strings.Contains(string(out), `"statusCode":200`) {
		t.Errorf("chat $connect: %s %v", out, err)
	}
	visitor, _ := policy.Context["visitor"].(string)
	if ids, err := st.Connections(ctx, visitor); err != nil || len(ids) != 1 {
		t.Errorf("connections after $connect: %v %v", ids, err)
	}
	if out := invoke(chatSocket, "webchat/disconnect"); !strings.Contains(string(out), `"statusCode":200`) {
		t.Errorf("chat $disconnect: %s", out)
	}
	if ids, _ := st.Connections(ctx, visitor); len(ids) != 0 {
		t.Errorf("connections after $disconnect: %v", ids)
	}
	started = append(started, web("api", env("AGENT_API_TOKEN", devenv.AgentAPIToken, "ROUTING_CONFIG", binaryRouting),
		map[string]int{"api/conversations-open": 200}, map[string]string{"api/conversations-open": "cv_sample"}))

	// The spill binary stores the SMS a webhook function spilled.
	spiller := lambdatest.Start(t, bins["spill"], audited("SpillFunction", env("PUBLIC_BASE_URL", devenv.PublicBaseURL,
		"TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken, "ROUTING_CONFIG", binaryRouting)))
	started = append(started, spiller)
	if out := invoke(spiller, "sqs/spill-sms"); strings.Contains(string(out), "itemIdentifier") {
		t.Errorf("spill reported failures: %s\n%s", out, spiller.Output())
	}
	if r, err := st.Route(ctx, conversation.Identity{Kind: conversation.KindPhone, Address: "+14155550199"}); err != nil || r.ConversationID == "" {
		t.Errorf("the spill binary stored no conversation for the spilled SMS: %+v %v", r, err)
	}

	// The sweeper binary on the schedule's event (no timer due: it reads
	// and records its progress).
	sweeper := lambdatest.Start(t, bins["sweeper"], audited("SweeperFunction", env()))
	started = append(started, sweeper)
	invoke(sweeper, "eventbridge/scheduled")

	// The email binary on moto's S3: the bucket and objects the events/email
	// envelopes name.
	s3c := localaws.S3(t)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(emailBucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		t.Fatal(err)
	}
	for key, file := range map[string]string{"inbound/0100019aa1b2c3d4-first": "first.eml", "inbound/0100019aa1b2c3d4-nofrom": "no_from.eml",
		"inbound/0100019aa1b2c3d4-ru": "windows1251.eml"} {
		raw, err := os.ReadFile(root + "/shared/email/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(emailBucket), Key: aws.String(key), Body: strings.NewReader(string(raw))}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(emailBucket), Key: aws.String("inbound/0100019aa1b2c3d4-gone")})
	mail := lambdatest.Start(t, bins["email"], audited("EmailFunction", env("S3_ENDPOINT", os.Getenv("S3_ENDPOINT"), "ROUTING_CONFIG", binaryRouting)))
	started = append(started, mail)
	invoke(mail, "email/first-email")
	invoke(mail, "email/unparseable")
	if _, err := mail.Invoke(ctx, event(t, "email/missing-object")); !errors.Is(err, lambdatest.ErrFunction) || !strings.Contains(err.Error(), "NoSuchKey") {
		t.Errorf("email binary on a missing object: %v, want a function error for the trigger to retry", err)
	}
	if r, err := st.Route(ctx, conversation.Identity{Kind: conversation.KindEmail, Address: "ana@example.com"}); err != nil || r.ConversationID == "" {
		t.Errorf("the email binary stored no conversation for ana@example.com: %+v %v", r, err)
	}
	// An email with an attachment, for the notifier's media copy below.
	withAttachment, _ := json.Marshal(events.S3Event{Records: []events.S3EventRecord{{EventSource: "aws:s3", EventTime: time.Now(),
		EventName: "ObjectCreated:Put", S3: events.S3Entity{Bucket: events.S3Bucket{Name: emailBucket},
			Object: events.S3Object{Key: "inbound/0100019aa1b2c3d4-ru"}}}}})
	if _, err := mail.Invoke(ctx, withAttachment); err != nil {
		t.Fatalf("email with an attachment: %v", err)
	}
	ivan, err := st.Route(ctx, conversation.Identity{Kind: conversation.KindEmail, Address: "ivan@example.ru"})
	if err != nil {
		t.Fatal(err)
	}

	fanout := lambdatest.Start(t, bins["fanout"], audited("FanoutFunction", env("NOTIFY_QUEUE_URL", queue, "ROUTING_CONFIG", strings.Replace(binaryRouting, `"sinks":[]`, `"sinks":[{"type":"webhook","to":"`+sink.URL+`"}]`, 1))))
	started = append(started, fanout)
	if out := invoke(fanout, "dynamodb/message-insert"); strings.Contains(string(out), "itemIdentifier") {
		t.Errorf("fanout reported failures: %s", out)
	}
	msgs, err := sqsClient.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil || len(msgs.Messages) != 1 {
		t.Fatalf("jobs queued by the fanout binary: %v %d", err, len(msgs.Messages))
	}

	// The notifier binary delivers the job the fanout binary queued.
	mediaBucket := localaws.Bucket(t, s3c)
	// Twilio's Messages API stand-in, for the agent's reply below.
	twilioSends := make(chan string, 10)
	twilioAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		_ = r.ParseForm()
		if r.URL.Path != "/2010-04-01/Accounts/"+binaryTwilioSID+"/Messages.json" || user != binaryTwilioSID || pass != binaryTwilioToken ||
			r.PostForm.Get("StatusCallback") != devenv.PublicBaseURL+"/webhooks/twilio/messaging/status" {
			t.Errorf("twilio stand-in: %s %q %v", r.URL.Path, user, r.PostForm)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		twilioSends <- r.PostForm.Encode()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"sid":"SMbinaryreply00000000000000000001","status":"queued"}`)
	}))
	defer twilioAPI.Close()
	// Its secrets come from moto's SSM, as deployed: one GetParameters call.
	ssmc := ssm.NewFromConfig(localaws.Config(), func(o *ssm.Options) { o.BaseEndpoint = aws.String(os.Getenv("SSM_ENDPOINT")) })
	ssmPrefix := "/switchboard/e2e/" + strconv.FormatInt(time.Now().UnixNano(), 36) + "/"
	for name, value := range map[string]string{"twilio-auth-token": binaryTwilioToken, "public-base-url": devenv.PublicBaseURL} {
		if _, err := ssmc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(ssmPrefix + name), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
	}
	// The console's sign-in bounce: Cognito's code on to PUBLIC_BASE_URL's /app/, the URL from SSM.
	signin := lambdatest.Start(t, bins["signin"], audited("SigninFunction", env("PUBLIC_BASE_URL_PARAM", ssmPrefix+"public-base-url", "SSM_ENDPOINT", os.Getenv("SSM_ENDPOINT"))))
	started = append(started, signin)
	if out := string(invoke(signin, "console/signin-callback")); !strings.Contains(out, `"statusCode":302`) ||
		!strings.Contains(out, devenv.PublicBaseURL+"/app/?code=0f5e8c2a-7b1d-4f3e-9a6c-2d8b4e1f7a90\u0026state=Yk3mQ9xR2vL8pT4w") {
		t.Errorf("signin: %s\n%s", out, signin.Output())
	}
	notifier := lambdatest.Start(t, bins["notifier"], audited("NotifierFunction", env("NOTIFY_WEBHOOK_SECRET", devenv.NotifyWebhookSecret,
		"S3_ENDPOINT", os.Getenv("S3_ENDPOINT"), "MEDIA_BUCKET", mediaBucket, "EMAIL_BUCKET", emailBucket,
		"TWILIO_ACCOUNT_SID", binaryTwilioSID, "TWILIO_AUTH_TOKEN_PARAM", ssmPrefix+"twilio-auth-token", "TWILIO_API_URL", twilioAPI.URL,
		"PUBLIC_BASE_URL_PARAM", ssmPrefix+"public-base-url", "SSM_ENDPOINT", os.Getenv("SSM_ENDPOINT"))))
	started = append(started, notifier)
	job, err := notify.ParseJob(aws.ToString(msgs.Messages[0].Body))
	if err != nil || job.Sink.Type != routing.SinkWebhook {
		t.Fatalf("job = %+v, %v", job, err)
	}
	sqsEvent, _ := json.Marshal(map[string]any{"Records": []map[string]any{{"messageId": "m1", "body": aws.ToString(msgs.Messages[0].Body), "eventSource": "aws:sqs"}}})
	out, err := notifier.Invoke(ctx, sqsEvent)
	if err != nil || strings.Contains(string(out), "itemIdentifier") {
		t.Fatalf("notifier: %v %s\n%s", err, out, notifier.Output())
	}
	select {
	case n := <-received:
		if !strings.Contains(n, `"conversationId":"cv_sample"`) {
			t.Errorf("notification = %s", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the notifier binary delivered nothing")
	}

	// The notifier binary copies the email's attachment to the media bucket.
	_, ivanMsgs, err := st.Conversation(ctx, ivan.ConversationID)
	if err != nil || len(ivanMsgs) != 1 {
		t.Fatalf("Ivan's conversation: %v %d", err, len(ivanMsgs))
	}
	mediaJob := notify.Job{ID: notify.JobID(ivan.ConversationID, ivanMsgs[0].Key, "", notify.MediaSink), Kind: notify.KindMedia,
		ConversationID: ivan.ConversationID, WindowKey: ivanMsgs[0].Key, Sink: notify.MediaSink}
	body, _ := json.Marshal(mediaJob)
	mediaEvent, _ := json.Marshal(map[string]any{"Records": []map[string]any{{"messageId": "m2", "body": string(body), "eventSource": "aws:sqs"}}})
	if out, err := notifier.Invoke(ctx, mediaEvent); err != nil || strings.Contains(string(out), "itemIdentifier") {
		t.Fatalf("notifier media job: %v %s\n%s", err, out, notifier.Output())
	}
	if _, msgs, err := st.Conversation(ctx, ivan.ConversationID); err != nil || msgs[0].Media[0].Status != conversation.MediaStored {
		t.Errorf("attachment after the notifier's copy: %+v %v", msgs[0].Media, err)
	} else if _, err := s3c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(mediaBucket), Key: aws.String(msgs[0].Media[0].Key)}); err != nil {
		t.Errorf("no object %s in the media bucket: %v", msgs[0].Media[0].Key, err)
	}

	// An agent's reply by SMS to the sample conversation (the customer's
	// latest message was on WhatsApp): the notifier binary sends its job
	// through Twilio once, from the number they texted, and records it sent.
	reply, _, err := (&conversation.Service{Store: st}).Reply(ctx, "cv_sample", conversation.ReplyRequest{Body: "It ships today", Key: "binary-1", Agent: "ana", Channel: conversation.ChannelSMS})
	if err != nil {
		t.Fatal(err)
	}
	replyJob, _ := json.Marshal(notify.Job{ID: notify.SendJobID(reply.ID), Kind: notify.KindReply, ConversationID: reply.ConversationID,
		ContactID: reply.ContactID, Channel: string(reply.Channel), WindowKey: reply.Key, Sink: notify.ReplySink(reply.To),
		MessageAt: reply.CreatedAt, Agent: reply.Agent, MessageID: reply.ID})
	replyEvent, _ := json.Marshal(map[string]any{"Records": []map[string]any{{"messageId": "m3", "body": string(replyJob), "eventSource": "aws:sqs"}}})
	for range 2 { // SQS delivers it twice: one send
		if out, err := notifier.Invoke(ctx, replyEvent); err != nil || strings.Contains(string(out), "itemIdentifier") {
			t.Fatalf("notifier reply job: %v %s\n%s", err, out, notifier.Output())
		}
	}
	if len(twilioSends) != 1 {
		t.Errorf("twilio stand-in got %d sends, want 1", len(twilioSends))
	} else if f := <-twilioSends; !strings.Contains(f, "Body=It+ships+today") || !strings.Contains(f, "To=%2B14155550123") || !strings.Contains(f, "From=%2B18005550100") {
		t.Errorf("reply sent as %s", f)
	}
	if m, err := st.Message(ctx, "cv_sample", reply.Key); err != nil || m.Status != "sent" || m.ProviderMessageID != "SMbinaryreply00000000000000000001" {
		t.Errorf("reply after the notifier: %+v %v", m, err)
	}

	for id, a := range audits {
		a.check(t, id)
	}

	// What every binary logged: JSON lines, each with its request id, and no
	// customer's number, words or our secrets. Output reaches us through a
	// pipe copied in the background, so give the last lines a moment.
	nonEmpty := func() int {
		n := 0
		for _, f := range started {
			if f.Output() != "" {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(5 * time.Second); nonEmpty() < 5 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	logged := 0
	for _, f := range started {
		logs := f.Output()
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			// aws-lambda-go itself prints a failed invocation's error
			// ({"errorMessage":…}), as Lambda's platform reports it.
			if line != "" && !strings.Contains(line, `"message":"start"`) && !strings.Contains(line, `"requestId":"req-`) &&
				!strings.Contains(line, `{"errorMessage":`) {
				t.Errorf("a log line without the request id: %s", line)
			}
		}
		if logs != "" {
			logged++
		}
		for _, leak := range []string{"4155550123", "6505551234", "order #41", "Does it come", "ana@example.com", "order #1234", "who am I",
			"ivan@example.ru", "Посылка", "It ships today", binaryTwilioToken,
			devenv.TwilioAuthToken, devenv.MetaAppSecret, devenv.AgentAPIToken} {
			if strings.Contains(logs, leak) {
				t.Errorf("logs contain %q:\n%s", leak, logs)
			}
		}
	}
	if !strings.Contains(started[0].Output(), `"_aws":{"CloudWatchMetrics":[{"Dimensions":[["Event","Outcome","Channel"]]`) {
		t.Errorf("the messaging function's event lines carry no metrics:\n%s", started[0].Output())
	}
	if logged < 5 {
		for _, f := range started {
			t.Logf("output: %q", f.Output())
		}
		t.Errorf("only %d of %d functions logged anything", logged, len(started))
	}
}

// BenchmarkColdStart starts each function's bootstrap (native arch, the
// deployment's flags) and measures the time to its first Runtime API call,
// against the floor DESIGN.md section 8 names — aws-lambda-go's hello world
// with a DynamoDB client from LoadDefaultConfig (hellodynamo), started the
// same way — and the bare hello world; it reports the ratio to the floor
// and each stripped arm64 binary's size beside the floor's. Every one,
// the floors too, runs with the GOGC template.yaml's Globals set.
// Run: go test -run '^$' -bench ColdStart -benchtime 20x ./shared/e2e
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	bins := lambdatest.Build(b, root, lambdatest.NativeArch(), dir+"/native", functions...)
	arm := lambdatest.Build(b, root, "arm64", dir+"/arm64", functions...)
	envs := map[string]map[string]string{
		"messaging":   {"TABLE_NAME": "t", "PUBLIC_BASE_URL": devenv.PublicBaseURL, "TWILIO_AUTH_TOKEN": "x"},
		"voice":       {"TABLE_NAME": "t", "PUBLIC_BASE_URL": devenv.PublicBaseURL, "TWILIO_AUTH_TOKEN": "x", "ROUTING_CONFIG": binaryRouting},
		"social":      {"TABLE_NAME": "t", "TELEGRAM_SECRET_TOKEN": "x"},
		"api":         {"TABLE_NAME": "t", "AGENT_API_TOKEN": "x", "ROUTING_CONFIG": binaryRouting},
		"fanout":      {"TABLE_NAME": "t", "NOTIFY_QUEUE_URL": "http://127.0.0.1:1/q", "ROUTING_CONFIG": binaryRouting, "PUBLIC_BASE_URL": devenv.PublicBaseURL},
		"sweeper":     {"TABLE_NAME": "t", "NOTIFY_QUEUE_URL": "http://127.0.0.1:1/q", "ROUTING_CONFIG": binaryRouting, "PUBLIC_BASE_URL": devenv.PublicBaseURL},
		"notifier":    {"TABLE_NAME": "t"},
		"email":       {"TABLE_NAME": "t", "ROUTING_CONFIG": binaryRouting},
		"chatsocket":  {"TABLE_NAME": "t", "CHAT_SIGNING_KEY": devenv.ChatSigningKey, "ROUTING_CONFIG": binaryRouting},
		"signin":      {"PUBLIC_BASE_URL": devenv.PublicBaseURL},
		"hello":       {},
		"hellodynamo": {"AWS_REGION": "us-east-1"},
	}
	gogc := globalEnv(b, "GOGC")
	names := make([]string, 0, len(envs))
	for n, env := range envs {
		names = append(names, n)
		if gogc != "" {
			env["GOGC"] = gogc
		}
	}
	sort.Strings(names)
	median := map[string]time.Duration{}
	b.ResetTimer()
	for _, name := range names {
		var d []time.Duration
		for range b.N {
			f := lambdatest.Start(b, bins[name], envs[name])
			d = append(d, f.InitDuration)
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		median[name] = d[len(d)/2]
	}
	b.StopTimer()
	for _, name := range names {
		fi, _ := os.Stat(arm[name])
		b.ReportMetric(float64(median[name].Microseconds())/1000, name+"-init-ms")
		b.ReportMetric(float64(fi.Size())/(1<<20), name+"-arm64-MiB")
		if name != "hello" && name != "hellodynamo" {
			b.ReportMetric(float64(median[name])/float64(median["hellodynamo"]), name+"-init-ratio")
		}
	}
}
