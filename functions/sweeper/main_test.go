package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

// TestScheduledSweepOnDynamoDBLocal runs main's setup as the schedule would:
// a conversation snoozed until a moment ago is awake after one run.
func TestScheduledSweepOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	t.Setenv("TABLE_NAME", table)
	st := store.New(db, table)
	start := time.Now().Add(-time.Minute)
	clock := start
	svc := &conversation.Service{Store: st, Team: "support", Now: func() time.Time { return clock }}
	from, _ := conversation.Normalizer{}.Phone("+14155550123")
	res, err := svc.Ingest(context.Background(), conversation.Inbound{Key: "twilio:SMsweep", Channel: conversation.ChannelSMS, From: from,
		FromAddress: "+14155550123", Body: "later", Provider: "twilio", ProviderMessageID: "SMsweep"})
	if err != nil {
		t.Fatal(err)
	}
	until, snoozed := start.Add(30*time.Second), conversation.StatusSnoozed
	if _, err := svc.Update(context.Background(), res.Message.ConversationID, "dev", conversation.Patch{Status: &snoozed, SnoozeUntil: &until}, nil); err != nil {
		t.Fatal(err)
	}
	handle, err := setup(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(context.Background(), events.EventBridgeEvent{DetailType: "Scheduled Event", Source: "aws.events"}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.Summary(context.Background(), res.Message.ConversationID); err != nil || c.Status != conversation.StatusOpen {
		t.Errorf("after the scheduled sweep: %+v %v", c, err)
	}
}
