package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

var update = flag.Bool("update", false, "rewrite events/sqs/spill-sms.json")

const eventPath = "../../events/sqs/spill-sms.json"

// sampleSpill is the SMS the sample event carries, as the messaging
// function spilled it while the table failed.
func sampleSpill() webhook.Spilled {
	form := url.Values{"MessageSid": {"SMspill0a1b2c3d4e5f60718293a4b5c6d7"}, "AccountSid": {"ACexample"}, "From": {"+14155550199"},
		"To": {"+18005550100"}, "Body": {"Sent while the table was down"}}
	return webhook.Spilled{Method: "POST", Path: twilio.MessagingPath, ContentType: "application/x-www-form-urlencoded",
		Body: []byte(form.Encode()), ReceivedAt: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}
}

// TestSpilledSMSOnDynamoDBLocal runs main's setup on the sample event: the
// spilled SMS is stored with its first receive time, once however often
// the record comes; an undecodable record is reported for redelivery.
func TestSpilledSMSOnDynamoDBLocal(t *testing.T) {
	if *update {
		body, _ := json.Marshal(sampleSpill())
		ev := events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: "5f1e8a52-6c1b-4a7e-9d55-2b8a4f0c9e11", ReceiptHandle: "MessageReceiptHandle", Body: string(body),
			Attributes:  map[string]string{"ApproximateReceiveCount": "3", "SentTimestamp": "1793523600000"},
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:switchboard-SpillQueue", AWSRegion: "us-east-1",
		}}}
		b, _ := json.MarshalIndent(ev, "", "  ")
		if err := os.WriteFile(eventPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(eventPath)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("%s: %v", eventPath, err)
	}
	var s webhook.Spilled
	if err := json.Unmarshal([]byte(ev.Records[0].Body), &s); err != nil || string(s.Body) != string(sampleSpill().Body) {
		t.Fatalf("%s is out of step with sampleSpill (go test -update): %v", eventPath, err)
	}

	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	for k, v := range map[string]string{"TABLE_NAME": table, "PUBLIC_BASE_URL": devenv.PublicBaseURL, "TWILIO_AUTH_TOKEN": devenv.TwilioAuthToken,
		"ROUTING_CONFIG": devenv.Routing, "AWS_REGION": "us-east-1"} {
		t.Setenv(k, v)
	}
	handle, err := setup(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		resp, err := handle(context.Background(), ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("handle: %+v %v", resp, err)
		}
	}
	st := store.New(localaws.DynamoDB(t), table)
	from, _ := conversation.Normalizer{}.Phone("+14155550199")
	route, err := st.Route(context.Background(), from)
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, err := st.Conversation(context.Background(), route.ConversationID)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "Sent while the table was down" || !msgs[0].CreatedAt.Equal(sampleSpill().ReceivedAt) {
		t.Fatalf("stored %+v %v", msgs, err)
	}
	bad := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "broken", Body: "{"}}}
	if resp, _ := handle(context.Background(), bad); len(resp.BatchItemFailures) != 1 {
		t.Errorf("an undecodable record: %+v, want it reported", resp)
	}
}
