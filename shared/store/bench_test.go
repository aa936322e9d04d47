package store_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/store"
)

// meter counts DynamoDB calls and the capacity DynamoDB reports for them. Its
// middleware asks every call for its consumed capacity, so only the client
// under measurement changes, never the store's code.
type meter struct {
	mu       sync.Mutex
	calls    map[string]int
	wcu, rcu float64
}

func (m *meter) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls, m.wcu, m.rcu = map[string]int{}, 0, 0
}

func (m *meter) total() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.calls {
		n += c
	}
	return n
}

// add counts reported capacity as write or read units by the operation
// (DynamoDB Local reports only the total CapacityUnits, tables and indexes).
func (m *meter) add(op string, cc ...types.ConsumedCapacity) {
	for _, c := range cc {
		if c.CapacityUnits == nil {
			continue
		}
		switch op {
		case "GetItem", "Query", "BatchGetItem":
			m.rcu += *c.CapacityUnits
		default:
			m.wcu += *c.CapacityUnits
		}
	}
}

func (m *meter) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("meter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				total := types.ReturnConsumedCapacityIndexes
				switch p := in.Parameters.(type) {
				case *dynamodb.GetItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.PutItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.UpdateItemInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.QueryInput:
					p.ReturnConsumedCapacity = total
				case *dynamodb.TransactWriteItemsInput:
					p.ReturnConsumedCapacity = total
				}
				out, md, err := next.HandleInitialize(ctx, in)
				m.mu.Lock()
				defer m.mu.Unlock()
				op := awsmiddleware.GetOperationName(ctx)
				m.calls[op]++
				switch r := out.Result.(type) {
				case *dynamodb.GetItemOutput:
					m.add(op, deref(r.ConsumedCapacity)...)
				case *dynamodb.PutItemOutput:
					m.add(op, deref(r.ConsumedCapacity)...)
				case *dynamodb.UpdateItemOutput:
					m.add(op, deref(r.ConsumedCapacity)...)
				case *dynamodb.QueryOutput:
					m.add(op, deref(r.ConsumedCapacity)...)
				case *dynamodb.TransactWriteItemsOutput:
					m.add(op, r.ConsumedCapacity...)
				}
				return out, md, err
			}), middleware.After)
	})
}

type nopSender struct{}

func (nopSender) Send(context.Context, routing.Sink, notify.Notification) error { return nil }

func deref(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

func sms(n conversation.Normalizer, key string) conversation.Inbound {
	return smsFrom(n, key, "+14155550123")
}

func smsFrom(n conversation.Normalizer, key, from string) conversation.Inbound {
	id, _ := n.Phone(from)
	return conversation.Inbound{
		Key: "twilio:" + key, Channel: conversation.ChannelSMS, From: id, FromAddress: from,
		To: "+18005550100", Body: "Hi, my order #41 hasn't arrived yet — can you check?", Provider: "twilio", ProviderMessageID: key,
	}
}

// knownContact is the benchmarks' start: a metered store on DynamoDB Local
// and a contact whose first message is stored and projected.
func knownContact(b *testing.B) (*meter, *store.Store, *conversation.Service, conversation.Normalizer, conversation.Result) {
	m := &meter{}
	m.reset()
	db := localaws.DynamoDB(b, m.option)
	st := store.New(db, localaws.Table(b, db))
	svc := &conversation.Service{Store: st, Team: "support"}
	n := conversation.Normalizer{DefaultRegion: "US"}
	ctx := context.Background()
	first, err := svc.Ingest(ctx, sms(n, "SMfirst"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Project(ctx, first.Message); err != nil {
		b.Fatal(err)
	}
	return m, st, svc, n, first
}

// BenchmarkDynamoDBPerMessage measures, against DynamoDB Local, what one
// inbound message from a known contact costs: calls and capacity units on the
// ingest (acknowledgement) path, on its projection from the stream, and for
// a duplicate delivery. Latency figures are DynamoDB Local's, not AWS's.
func BenchmarkDynamoDBPerMessage(b *testing.B) {
	m, st, svc, n, _ := knownContact(b)
	ctx := context.Background()

	// The notifier's part, per notification: claim, read the conversation
	// and contact, send (a no-op sink here), record the delivery.
	notifier := &notify.Notifier{Store: st, Deliveries: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Senders: map[string]notify.Sender{routing.SinkSlack: nopSender{}}}
	var ingestCalls, ingestWCU, ingestRCU, projCalls, projWCU, projRCU, dupCalls, dupWCU float64
	var noteCalls, noteWCU, noteRCU float64
	var newCalls, newWCU, newProjWCU float64
	b.ResetTimer()
	for i := range b.N {
		// A new customer's first message: it opens the contact and the
		// conversation (DESIGN.md section 8: at most 6 write units).
		first := smsFrom(n, fmt.Sprintf("SMnew%029d", i), fmt.Sprintf("+1415%07d", 1000000+i))
		m.reset()
		opened, err := svc.Ingest(ctx, first)
		if err != nil || !opened.NewConversation {
			b.Fatalf("first message: %v %+v", err, opened)
		}
		newCalls += float64(m.total())
		newWCU += m.wcu
		m.reset()
		if _, err := svc.Project(ctx, opened.Message); err != nil {
			b.Fatal(err)
		}
		newProjWCU += m.wcu

		in := sms(n, fmt.Sprintf("SM%032d", i))
		m.reset()
		res, err := svc.Ingest(ctx, in)
		if err != nil || res.Duplicate {
			b.Fatalf("ingest: %v %+v", err, res)
		}
		ingestCalls += float64(m.total())
		ingestWCU += m.wcu
		ingestRCU += m.rcu

		m.reset()
		if _, err := svc.Project(ctx, res.Message); err != nil {
			b.Fatal(err)
		}
		projCalls += float64(m.total())
		projWCU += m.wcu
		projRCU += m.rcu

		sink := routing.Sink{Type: routing.SinkSlack, To: "https://hooks.slack.example/x"}
		m.reset()
		if err := notifier.Deliver(ctx, notify.Job{ID: notify.JobID(res.Message.ConversationID, res.Message.Key, "ana", sink),
			ConversationID: res.Message.ConversationID, WindowKey: res.Message.Key, Agent: "ana", Sink: sink, MessageAt: res.Message.CreatedAt}); err != nil {
			b.Fatal(err)
		}
		noteCalls += float64(m.total())
		noteWCU += m.wcu
		noteRCU += m.rcu

		m.reset()
		dup, err := svc.Ingest(ctx, in)
		if err != nil || !dup.Duplicate {
			b.Fatalf("duplicate: %v %+v", err, dup)
		}
		dupCalls += float64(m.total())
		dupWCU += m.wcu
	}
	N := float64(b.N)
	b.ReportMetric(ingestCalls/N, "ack-calls/msg")
	b.ReportMetric(ingestRCU/N, "ack-RCU/msg")
	b.ReportMetric(ingestWCU/N, "ack-WCU/msg")
	b.ReportMetric(projCalls/N, "stream-calls/msg")
	b.ReportMetric(projRCU/N, "stream-RCU/msg")
	b.ReportMetric(noteCalls/N, "notify-calls/notif")
	b.ReportMetric(noteRCU/N, "notify-RCU/notif")
	b.ReportMetric(noteWCU/N, "notify-WCU/notif")
	b.ReportMetric((ingestWCU+projWCU)/N, "total-WCU/msg")
	b.ReportMetric(newCalls/N, "new-ack-calls/msg")
	b.ReportMetric(newWCU/N, "new-ack-WCU/msg")
	b.ReportMetric(newProjWCU/N, "new-stream-WCU/msg")
	b.ReportMetric(dupCalls/N, "dup-calls")
	b.ReportMetric(dupWCU/N, "dup-WCU")
}

type idSender struct{ n int }

func (s *idSender) SendReply(context.Context, conversation.Message) (string, error) {
	s.n++
	return fmt.Sprintf("SM%032d", s.n), nil
}

// BenchmarkDynamoDBPerReply measures, against DynamoDB Local, what an
// agent's reply to the customer's latest message costs: the API's part (rules read, the queued message
// written), its projection, and the notifier's send (claim, rules read
// again, sent recorded, delivery finished). The SQS part is one send job:
// SendMessage, ReceiveMessage, DeleteMessage.
func BenchmarkDynamoDBPerReply(b *testing.B) {
	m, st, svc, n, first := knownContact(b)
	ctx := context.Background()
	notifier := &notify.Notifier{Store: st, Deliveries: st, Service: svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Replies: map[conversation.Channel]notify.ReplySender{conversation.ChannelSMS: &idSender{}}}
	var apiCalls, apiWCU, apiRCU, projCalls, projWCU, projRCU, sendCalls, sendWCU, sendRCU float64
	b.ResetTimer()
	for i := range b.N {
		// The customer writes (not measured), then the agent answers.
		in, err := svc.Ingest(ctx, sms(n, fmt.Sprintf("SMq%031d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Project(ctx, in.Message); err != nil {
			b.Fatal(err)
		}
		m.reset()
		r, queued, err := svc.Reply(ctx, first.Message.ConversationID, conversation.ReplyRequest{Body: "It ships today, here is the tracking link.", Key: fmt.Sprint("k", i), Agent: "ana"})
		if err != nil || !queued {
			b.Fatalf("reply: %v %v", err, queued)
		}
		apiCalls, apiWCU, apiRCU = apiCalls+float64(m.total()), apiWCU+m.wcu, apiRCU+m.rcu

		m.reset()
		if _, err := svc.Project(ctx, r); err != nil {
			b.Fatal(err)
		}
		projCalls, projWCU, projRCU = projCalls+float64(m.total()), projWCU+m.wcu, projRCU+m.rcu

		m.reset()
		job := notify.Job{ID: notify.SendJobID(r.ID), Kind: notify.KindReply, ConversationID: r.ConversationID, ContactID: r.ContactID,
			Channel: string(r.Channel), WindowKey: r.Key, Sink: notify.ReplySink(r.To), MessageAt: r.CreatedAt, Agent: r.Agent, MessageID: r.ID}
		if err := notifier.Deliver(ctx, job); err != nil {
			b.Fatal(err)
		}
		sendCalls, sendWCU, sendRCU = sendCalls+float64(m.total()), sendWCU+m.wcu, sendRCU+m.rcu
	}
	N := float64(b.N)
	b.ReportMetric(apiCalls/N, "api-calls/reply")
	b.ReportMetric(apiRCU/N, "api-RCU/reply")
	b.ReportMetric(apiWCU/N, "api-WCU/reply")
	b.ReportMetric(projCalls/N, "stream-calls/reply")
	b.ReportMetric(projWCU/N, "stream-WCU/reply")
	b.ReportMetric(sendCalls/N, "send-calls/reply")
	b.ReportMetric(sendRCU/N, "send-RCU/reply")
	b.ReportMetric(sendWCU/N, "send-WCU/reply")
	b.ReportMetric((apiWCU+projWCU+sendWCU)/N, "total-WCU/reply")
	b.ReportMetric((apiCalls+projCalls+sendCalls)/N, "total-calls/reply")
}
