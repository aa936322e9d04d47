package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

var update = flag.Bool("update", false, "rewrite events/email from the sample list")

const (
	eventsDir = "../../events/email"
	// bucket is the EMAIL_BUCKET the envelopes name; the test makes it on moto.
	bucket = "switchboard-email-example"
)

// sample is one envelope in events/email: the S3 notification for an object
// SES stored, made from a message in shared/email/testdata.
type sample struct {
	event, fixture, key string
}

var samples = []sample{
	{"first-email", "first.eml", "inbound/0100019aa1b2c3d4-first"},
	{"reply-with-quote", "gmail_reply.eml", "inbound/0100019aa1b2c3d4-reply"},
	{"out-of-office", "out_of_office.eml", "inbound/0100019aa1b2c3d4-ooo"},
	{"unparseable", "no_from.eml", "inbound/0100019aa1b2c3d4-nofrom"},
	{"missing-object", "", "inbound/0100019aa1b2c3d4-gone"},
	// What SES writes when the receipt rule is created: skipped, not a failed email.
	{"ses-setup-notification", "ses_setup_notification.txt", "inbound/AMAZON_SES_SETUP_NOTIFICATION"},
}

// envelope is an S3 ObjectCreated:Put notification in the shape of
// ../shared/corpus/aws-lambda-envelopes/aws-lambda-go-s3-event.json.
func envelope(s sample, size int) events.S3Event {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i := range samples {
		if samples[i].event == s.event {
			at = at.Add(time.Duration(i) * time.Minute) // in the order the customer wrote
		}
	}
	return events.S3Event{Records: []events.S3EventRecord{{
		EventVersion: "2.1", EventSource: "aws:s3", AWSRegion: "us-east-1", EventTime: at, EventName: "ObjectCreated:Put",
		PrincipalID:       events.S3UserIdentity{PrincipalID: "AWS:AROAEXAMPLE:ses"},
		RequestParameters: events.S3RequestParameters{SourceIPAddress: "10.0.0.1"},
		S3: events.S3Entity{
			SchemaVersion: "1.0", ConfigurationID: "email-function",
			Bucket: events.S3Bucket{Name: bucket, Arn: "arn:aws:s3:::" + bucket, OwnerIdentity: events.S3UserIdentity{PrincipalID: "EXAMPLE"}},
			Object: events.S3Object{Key: s.key, Size: int64(size), ETag: "d41d8cd98f00b204e9800998ecf8427e", Sequencer: "0055AED6DCD90281E5"},
		},
	}}}
}

func fixture(t *testing.T, s sample) []byte {
	if s.fixture == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join("../../shared/email/testdata", s.fixture))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEventsInStep keeps events/email equal to what the samples make.
func TestEventsInStep(t *testing.T) {
	for _, s := range samples {
		want, err := json.MarshalIndent(envelope(s, len(fixture(t, s))), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		path := filepath.Join(eventsDir, s.event+".json")
		if *update {
			if err := os.MkdirAll(eventsDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is out of step (go test ./functions/email -run TestEventsInStep -update): %v", path, err)
		}
	}
}

func readEvent(t *testing.T, name string) json.RawMessage {
	b, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s is not JSON", name)
	}
	return b
}

// TestEnvelopesOnLocalServices runs main's setup on moto's S3 and DynamoDB
// Local with every envelope: the first email opens a conversation, the
// reply (quoted history) and the out-of-office join it with their new text
// only, the out-of-office quiet; the unparseable message is recorded as a
// failure; the missing object is an error for the trigger to retry; a
// redelivered event changes nothing.
func TestEnvelopesOnLocalServices(t *testing.T) {
	ctx := context.Background()
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	s3c := localaws.S3(t)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		t.Fatal(err)
	}
	for _, s := range samples {
		if raw := fixture(t, s); raw != nil {
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(s.key), Body: strings.NewReader(string(raw))}); err != nil {
				t.Fatal(err)
			}
		} else {
			_, _ = s3c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(s.key)})
		}
	}
	t.Setenv("TABLE_NAME", table)
	t.Setenv("ROUTING_CONFIG_FILE", "")
	t.Setenv("ROUTING_CONFIG_PARAM", "")
	t.Setenv("ROUTING_CONFIG", `{"defaultTeam":"support","teams":[{"id":"support"}],"email":{"address":"support@example.com","ack":"Thanks"}}`)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	h, err := setup(ctx, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"first-email", "reply-with-quote", "out-of-office", "unparseable", "first-email", "ses-setup-notification"} {
		if err := h(ctx, readEvent(t, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var nsk *s3types.NoSuchKey
	if err := h(ctx, readEvent(t, "missing-object")); err == nil || !errorsAs(err, &nsk) {
		t.Errorf("missing object: err = %v, want NoSuchKey for the trigger to retry", err)
	}

	st := store.New(db, table)
	route, err := st.Route(ctx, conversation.Identity{Kind: conversation.KindEmail, Address: "ana@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, err := st.Conversation(ctx, route.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ body, kind string }{
		{"Hi, my order #1234 hasn't arrived. Can you check?\n\nAna", ""},
		{"It's order 1234, placed on the 2nd.", ""},
		{"I am out of the office until Monday.", conversation.KindAutomated},
	}
	if len(msgs) != len(want) {
		t.Fatalf("conversation has %d messages, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		m := msgs[i]
		if m.Body != w.body || m.Kind != w.kind || m.Channel != conversation.ChannelEmail || !strings.HasPrefix(m.Source, "s3://"+bucket+"/inbound/") {
			t.Errorf("message %d: body %q kind %q source %q, want %q %q", i, m.Body, m.Kind, m.Source, w.body, w.kind)
		}
	}
	if !strings.Contains(msgs[1].FullBody, "> Thanks, we got your message") || msgs[0].Subject != "My order #1234 is late" {
		t.Errorf("full text %q subject %q", msgs[1].FullBody, msgs[0].Subject)
	}
	fails, err := st.Failures(ctx, "email", 10)
	if err != nil || len(fails) != 1 || fails[0].Ref != "s3://"+bucket+"/inbound/0100019aa1b2c3d4-nofrom" || !strings.Contains(fails[0].Reason, "no From") {
		t.Errorf("failures = %+v, %v", fails, err)
	}

	// Two replies to Ana went out through SES (the ids events/email/
	// sending-events.json names); SES's events come back by SNS: one
	// delivered, one bounced (5.1.1); an Open moves nothing. Twice: once.
	svc := &conversation.Service{Store: st}
	var replies []conversation.Message
	for i, id := range []string{"0100019aa1b2c3d4-reply0001-000000", "0100019aa1b2c3d4-reply0002-000000"} {
		r, _, err := svc.Reply(ctx, route.ConversationID, conversation.ReplyRequest{Body: "We are on it", Key: fmt.Sprint("ses-", i), Agent: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordSend(ctx, r, conversation.SendResult{Status: conversation.StatusSent, ProviderMessageID: id, At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	for range 2 {
		if err := h(ctx, readEvent(t, "sending-events")); err != nil {
			t.Fatalf("sending events: %v", err)
		}
	}
	for i, want := range []struct{ status, code string }{{"delivered", ""}, {"undelivered", "5.1.1"}} {
		m, err := st.Message(ctx, route.ConversationID, replies[i].Key)
		if err != nil || m.Status != want.status || m.ErrorCode != want.code || len(m.StatusHistory) != 3 {
			t.Errorf("reply %d after SES's events: %s %q history %v (%v); want %s %q", i, m.Status, m.ErrorCode, m.StatusHistory, err, want.status, want.code)
		}
	}
}

func TestSetupNamesMissingSettings(t *testing.T) {
	t.Setenv("TABLE_NAME", "")
	if _, err := setup(context.Background(), slog.Default()); err == nil || !strings.Contains(err.Error(), "TABLE_NAME") {
		t.Errorf("err = %v, want one naming TABLE_NAME", err)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
