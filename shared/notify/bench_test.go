package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
)

// BenchmarkNotifierJob is the notifier's own work for one agent
// notification on the in-memory stores: decode the SQS record, claim the
// delivery, read the conversation as it is now, render the text, hand it to
// the sink (a sender that keeps it: the sink's network call is the
// provider's, not ours) and record it sent.
func BenchmarkNotifierJob(b *testing.B) {
	cfg, err := routing.Parse([]byte(routingDoc))
	if err != nil {
		b.Fatal(err)
	}
	st := memstore.New(nil)
	svc := &conversation.Service{Store: st, Team: "support"}
	q := &memQueue{}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	d := &notify.Dispatcher{Routing: cfg, Queue: q, Log: quiet}
	sms, slack := &fakeSender{}, &fakeSender{}
	n := &notify.Notifier{Store: st, Deliveries: memstore.NewDeliveries(), Log: quiet,
		Senders: map[string]notify.Sender{routing.SinkSMS: sms, routing.SinkSlack: slack}}
	ctx := context.Background()
	for i := range (b.N + 1) / 2 {
		from := fmt.Sprintf("+1415%07d", i)
		id, _ := conversation.Normalizer{}.Phone(from)
		res, err := svc.Ingest(ctx, conversation.Inbound{Key: fmt.Sprintf("twilio:SM%d", i), Channel: conversation.ChannelSMS, From: id,
			FromAddress: from, Body: "Hi, where is my order? It should have come on Monday.", Provider: "twilio", ProfileName: "Ana García"})
		if err != nil {
			b.Fatal(err)
		}
		conv, err := svc.Project(ctx, res.Message)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Dispatch(ctx, conv, res.Message); err != nil {
			b.Fatal(err)
		}
	}
	recs := make([]events.SQSEvent, b.N)
	for i := range recs {
		body, _ := json.Marshal(q.jobs[i])
		recs[i] = events.SQSEvent{Records: []events.SQSMessage{{MessageId: fmt.Sprint("m", i), Body: string(body)}}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		resp, err := n.Handle(ctx, recs[i])
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("job %d: %v %+v", i, err, resp)
		}
	}
	b.StopTimer()
	if got := len(sms.sent) + len(slack.sent); got != b.N {
		b.Fatalf("sent %d, want %d", got, b.N)
	}
}
