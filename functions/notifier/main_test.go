package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

var update = flag.Bool("update", false, "rewrite events/sqs/notify-job.json")

const eventPath = "../../events/sqs/notify-job.json"

// sampleJob is the job the sample event carries: agent dev-agent, webhook sink.
func sampleJob(sinkURL string) notify.Job {
	sink := routing.Sink{Type: routing.SinkWebhook, To: sinkURL}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	return notify.Job{
		ID: notify.JobID("cv_sample", "twilio:SMsample", "dev-agent", sink), ConversationID: "cv_sample", ContactID: "ct_sample",
		Channel: "sms", WindowKey: "twilio:SMsample", Agent: "dev-agent", Reason: "on-duty", Sink: sink, NotBefore: at, MessageAt: at,
	}
}

// TestSQSEventOnDynamoDBLocal runs main's setup on the sample SQS event:
// the job reaches its webhook sink once, signed, however often it comes.
func TestSQSEventOnDynamoDBLocal(t *testing.T) {
	if *update {
		body, _ := json.Marshal(sampleJob("http://127.0.0.1:9000"))
		ev := events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: "19dd0b57-b21e-4ac1-bd88-01bbb068cb78", ReceiptHandle: "MessageReceiptHandle", Body: string(body),
			Attributes:  map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1793523600000"},
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:switchboard-NotifyQueue", AWSRegion: "us-east-1",
		}}}
		b, _ := json.MarshalIndent(ev, "", "  ")
		if err := os.WriteFile(eventPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	st := store.New(db, table)
	ids := map[string]string{"ct": "ct_sample", "cv": "cv_sample", "msg": "msg_sample"}
	svc := &conversation.Service{Store: st, NewID: func(p string) string { return ids[p] }}
	from, _ := conversation.Normalizer{}.Phone("+14155550123")
	res, err := svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:SMsample", Channel: conversation.ChannelSMS,
		From: from, FromAddress: "+14155550123", Body: "where is my order?", Provider: "twilio", ProviderMessageID: "SMsample"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Project(context.Background(), res.Message); err != nil {
		t.Fatal(err)
	}

	verifier, _ := standardwebhooks.NewWebhook(devenv.NotifyWebhookSecret)
	received := 0
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := verifier.Verify(body, r.Header); err != nil {
			t.Errorf("signature: %v", err)
		}
		if !strings.Contains(string(body), `"preview":"where is my order?"`) {
			t.Errorf("notification = %s", body)
		}
		received++
	}))
	defer sink.Close()

	raw, err := os.ReadFile(eventPath)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	// Point the sample's sink at the local listener: the job id covers the
	// sink, so the job is rebuilt rather than edited.
	body, _ := json.Marshal(sampleJob(sink.URL))
	ev.Records[0].Body = string(body)

	t.Setenv("TABLE_NAME", table)
	t.Setenv("NOTIFY_WEBHOOK_URL", sink.URL)
	t.Setenv("NOTIFY_WEBHOOK_SECRET", devenv.NotifyWebhookSecret)
	t.Setenv("NOTIFY_WEBHOOK_SECRET_PARAM", "")
	t.Setenv("TWILIO_ACCOUNT_SID", "")
	t.Setenv("NOTIFY_EMAIL_FROM", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	n, err := setup(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), sink.Client())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		resp, err := n.Handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle: %v %+v", err, resp)
		}
	}
	if received != 1 {
		t.Errorf("sink received %d notifications, want 1", received)
	}
}

func TestSetupNamesMissingSecret(t *testing.T) {
	t.Setenv("TABLE_NAME", "t-x")
	t.Setenv("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:9000")
	t.Setenv("NOTIFY_WEBHOOK_SECRET", "")
	t.Setenv("NOTIFY_WEBHOOK_SECRET_PARAM", "")
	if _, err := setup(context.Background(), slog.Default(), http.DefaultClient); err == nil || !strings.Contains(err.Error(), "NOTIFY_WEBHOOK_SECRET") {
		t.Errorf("err = %v, want one naming NOTIFY_WEBHOOK_SECRET", err)
	}
}

func TestConsoleURL(t *testing.T) {
	for _, c := range []struct{ console, base, want string }{
		{"", "https://api.example.com", "https://api.example.com/app/"},
		{"", "https://api.example.com/", "https://api.example.com/app/"},
		{"https://desk.example.com/", "https://api.example.com", "https://desk.example.com/"},
		{"", "", ""},
	} {
		if got := consoleURL(c.console, c.base); got != c.want {
			t.Errorf("consoleURL(%q, %q) = %q, want %q", c.console, c.base, got, c.want)
		}
	}
}
