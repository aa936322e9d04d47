package stream_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/stream"
)

// jobSink is a notify.Queue that counts and drops.
type jobSink struct{ jobs int }

func (q *jobSink) Send(_ context.Context, jobs []notify.Job) error { q.jobs += len(jobs); return nil }

// BenchmarkProjectFirstMessage is the fan-out's work for one stream record
// in its costliest case, on the in-memory store: a new customer's first
// message projected onto the inbox summary, its notification job made, its
// acknowledgement written to the outbox and its escalation timer set.
// The record's decoding is not in it (attributevalue, a few µs).
func BenchmarkProjectFirstMessage(b *testing.B) {
	rt, err := routing.Parse([]byte(`{"defaultTeam":"support","teams":[{"id":"support","escalateAfter":"30m","escalateTo":{"agent":"ana"}}],
	  "agents":[{"id":"ana","teams":["support"],"sinks":[{"type":"webhook","to":"https://agents.example/notify"}]}],
	  "autoReplies":{"ack":{"en":"Thanks, we got it."}}}`))
	if err != nil {
		b.Fatal(err)
	}
	st := memstore.New(nil)
	svc := &conversation.Service{Store: st, Team: "support", Window: rt.Window()}
	q := &jobSink{}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	d := &notify.Dispatcher{Routing: rt, Queue: q, Log: quiet}
	c := &care.Automation{Routing: rt, Service: svc, Timers: st, Queue: q, Log: quiet}
	h := &stream.Handler{Service: svc, Dispatch: d, Outbox: d, Care: c, Log: quiet}
	ctx := context.Background()
	msgs := make([]conversation.Message, b.N)
	for i := range msgs {
		from, _ := conversation.Normalizer{}.Phone(fmt.Sprintf("+1415%07d", i))
		res, err := svc.Ingest(ctx, conversation.Inbound{Key: fmt.Sprintf("twilio:SM%d", i), Channel: conversation.ChannelSMS, From: from,
			FromAddress: from.Address, To: "+18005550100", Body: "Hi, where is my order? It should have come on Monday.", Provider: "twilio"})
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = res.Message
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := h.Apply(ctx, msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// One notification per message, and an acknowledgement written (its
	// send job comes with its own stream record).
	if q.jobs != b.N {
		b.Fatalf("jobs = %d, want %d", q.jobs, b.N)
	}
	_, timeline, err := st.Conversation(ctx, msgs[b.N-1].ConversationID)
	if err != nil || len(timeline) != 2 || timeline[1].Auto != conversation.AutoAck {
		b.Fatalf("the last conversation: %+v, %v; want the message and its acknowledgement", timeline, err)
	}
}
