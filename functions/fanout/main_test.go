package main

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/localstream"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
)

var update = flag.Bool("update", false, "capture events/dynamodb/message-insert.json from DynamoDB Local's stream")

const eventPath = "../../events/dynamodb/message-insert.json"

// seed stores the sample SMS with fixed ids and clock, so the captured
// stream event and a fresh table agree.
func seed(t *testing.T, st conversation.Store) {
	ids := map[string]string{"ct": "ct_sample", "cv": "cv_sample", "msg": "msg_sample"}
	svc := &conversation.Service{Store: st, Team: "support",
		Now:   func() time.Time { return time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC) },
		NewID: func(p string) string { return ids[p] }}
	from, _ := conversation.Normalizer{}.Phone("+14155550123")
	_, err := svc.Ingest(context.Background(), conversation.Inbound{
		Key: "twilio:SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", Channel: conversation.ChannelSMS, From: from,
		FromAddress: "+14155550123", To: "+18005550100", Body: "Hi, my order #41 hasn't arrived",
		Provider: "twilio", ProviderMessageID: "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
	})
	if err != nil {
		t.Fatal(err)
	}
}

func capture(t *testing.T, db *dynamodb.Client, table string) {
	desc, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan events.DynamoDBEvent, 1)
	p := &localstream.Poller{
		Streams: dynamodbstreams.NewFromConfig(localaws.Config(), func(o *dynamodbstreams.Options) {
			o.BaseEndpoint = aws.String(os.Getenv("DYNAMODB_ENDPOINT"))
		}),
		StreamARN: aws.ToString(desc.Table.LatestStreamArn),
		Handle: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			var msgs []events.DynamoDBEventRecord
			for _, r := range ev.Records {
				if _, ok, _ := stream.Message(r); ok {
					r.AWSRegion, r.EventSourceArn = "us-east-1", "arn:aws:dynamodb:us-east-1:123456789012:table/switchboard/stream/2026-11-22T09:00:00.000"
					msgs = append(msgs, r)
				}
			}
			if len(msgs) > 0 {
				select {
				case got <- events.DynamoDBEvent{Records: msgs}:
				default:
				}
			}
			return events.DynamoDBEventResponse{}, nil
		},
	}
	go func() { _ = p.Run(ctx) }()
	select {
	case ev := <-got:
		b, _ := json.MarshalIndent(ev, "", "  ")
		if err := os.MkdirAll("../../events/dynamodb", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(eventPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("no message on the stream")
	}
}

// TestStreamEventOnDynamoDBLocal replays the sample stream batch through
// main's setup and checks the summary it projects.
func TestStreamEventOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	st := store.New(db, table)
	seed(t, st)
	if *update {
		capture(t, db, table)
	}
	raw, err := os.ReadFile(eventPath)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	sqsClient := localaws.SQS(t)
	queue, _ := localaws.Queue(t, sqsClient, 30, 0)
	t.Setenv("TABLE_NAME", table)
	t.Setenv("NOTIFY_QUEUE_URL", queue)
	t.Setenv("ROUTING_CONFIG_FILE", "")
	t.Setenv("ROUTING_CONFIG_PARAM", "")
	t.Setenv("ROUTING_CONFIG", `{"defaultTeam":"support","teams":[{"id":"support"}],"agents":[{"id":"ana","teams":["support"],"sinks":[{"type":"slack","to":"https://hooks.slack.example/x"}]}]}`)
	t.Setenv("NOTIFY_WEBHOOK_URL", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	h, err := setup(context.Background(), slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a redelivered batch changes nothing
		resp, err := h(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle: %v %+v", err, resp)
		}
	}
	c, _, err := st.Conversation(context.Background(), "cv_sample")
	if err != nil {
		t.Fatal(err)
	}
	if c.Unread != 1 || len(c.Channels) != 1 || c.Channels[0] != conversation.ChannelSMS || c.LastPreview != "Hi, my order #41 hasn't arrived" {
		t.Errorf("summary = %+v", c)
	}
	// One job per agent and sink, queued once per handling (the notifier
	// dedupes the redelivered copy by its id).
	out, err := sqsClient.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, m := range out.Messages {
		j, err := notify.ParseJob(aws.ToString(m.Body))
		if err != nil {
			t.Fatalf("queued job: %v", err)
		}
		if j.Agent != "ana" || j.Sink.Type != "slack" || j.ConversationID != "cv_sample" {
			t.Errorf("job = %+v", j)
		}
		ids[j.ID]++
	}
	if len(out.Messages) != 2 || len(ids) != 1 {
		t.Errorf("queued %d messages with %d distinct ids, want 2 copies of one job", len(out.Messages), len(ids))
	}
}

func TestSetupNamesMissingSettings(t *testing.T) {
	t.Setenv("TABLE_NAME", "t-x")
	t.Setenv("NOTIFY_QUEUE_URL", "")
	if _, err := setup(context.Background(), slog.Default()); err == nil || !strings.Contains(err.Error(), "NOTIFY_QUEUE_URL") {
		t.Errorf("err = %v, want one naming NOTIFY_QUEUE_URL", err)
	}
	t.Setenv("NOTIFY_QUEUE_URL", "http://127.0.0.1:1/q")
	t.Setenv("ROUTING_CONFIG_FILE", "")
	t.Setenv("ROUTING_CONFIG_PARAM", "")
	t.Setenv("ROUTING_CONFIG", `{"defaultTeam":"support","teams":[{"id":"support","timeZone":"Moon/Base"}]}`)
	if _, err := setup(context.Background(), slog.Default()); err == nil || !strings.Contains(err.Error(), "Moon/Base") {
		t.Errorf("err = %v, want one naming the bad time zone", err)
	}
}
