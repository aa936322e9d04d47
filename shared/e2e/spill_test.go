package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/spill"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

// TestDynamoDBOutageSpillsAndLosesNothing is DESIGN.md section 8's zero-loss
// case for providers that never retry: DynamoDB fails for 10 s while 100
// SMS (50 customers, 2 each; Twilio does not retry a 5xx) and 50 WhatsApp
// Cloud messages (25 batches of 2) arrive. Every answer is the provider's
// normal one (none ≥ 500): each verified request goes to the spill queue
// (moto's SQS), whose consumer — polling all along, failing while DynamoDB
// is down — stores exactly 150 messages once it is back. Every request is
// also delivered twice, as a retrying provider would, and the spill is
// re-ingested idempotently.
func TestDynamoDBOutageSpillsAndLosesNothing(t *testing.T) {
	const customers, smsEach, waBatches = 50, 2, 25
	const outageFor = 10 * time.Second
	o := &outage{}
	db := localaws.DynamoDB(t, o.option)
	st := store.New(db, localaws.Table(t, db))
	svc := &conversation.Service{Store: st, Team: "support"}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	wh, err := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(twilioToken), Service: svc, PublicBaseURL: publicBase, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wh.Register(mux)
	meta.NewHandler(meta.Config{AppSecret: metaSecret, VerifyToken: "v", Service: svc, Log: quiet}).Register(mux)

	sq := localaws.SQS(t)
	queue, dlq := localaws.Queue(t, sq, 1, 1000) // redelivered every second; the DLQ only for the undecodable
	var spilled atomic.Int64
	spiller := countingSpiller{next: &spill.Queue{API: sq, URL: queue}, n: &spilled}
	edge := webhook.Receive(mux, spiller)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var replayed, notYet atomic.Int64
	consumer := &spill.Consumer{Handler: mux, Log: quiet}
	poller := &notify.SQSPoller{API: sq, URL: queue, Handle: func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		resp, err := consumer.Handle(ctx, ev)
		replayed.Add(int64(len(ev.Records) - len(resp.BatchItemFailures)))
		notYet.Add(int64(len(resp.BatchItemFailures)))
		return resp, err
	}}
	go func() { _ = poller.Run(ctx) }()

	post := func(path, body string, header map[string]string) int {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		edge.ServeHTTP(rec, req)
		return rec.Code
	}
	sms := func(i, j int) int {
		form := url.Values{"MessageSid": {fmt.Sprintf("SMspill%02d%d", i, j)}, "From": {fmt.Sprintf("+1415556%04d", i)}, "To": {"+18005550100"}, "Body": {fmt.Sprintf("message %d", j)}}
		return post(twilio.MessagingPath, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			"X-Twilio-Signature": twilio.Sign(twilioToken, publicBase+twilio.MessagingPath, form)})
	}
	whatsapp := func(b int) int {
		var msgs []string
		for k := range 2 {
			msgs = append(msgs, fmt.Sprintf(`{"from":"4915112%04d","id":"wamid.spill%02d%d","timestamp":"1700000000","type":"text","text":{"body":"wa %d"}}`, b, b, k, k))
		}
		body := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"display_phone_number":"15550001111"},"messages":[` +
			strings.Join(msgs, ",") + `]}}]}]}`
		return post(meta.Path, body, map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": meta.Sign(metaSecret, []byte(body))})
	}

	// The outage: every request arrives within it, spread over 10 s, each
	// twice and concurrently.
	o.on.Store(true)
	start := time.Now()
	var requests []func() int
	for i := range customers {
		for j := range smsEach {
			requests = append(requests, func() int { return sms(i, j) })
		}
	}
	for b := range waBatches {
		requests = append(requests, func() int { return whatsapp(b) })
	}
	var wg sync.WaitGroup
	var answers sync.Map // status → count
	var failed atomic.Int64
	for n, req := range requests {
		time.Sleep(time.Until(start.Add(outageFor * time.Duration(n) / time.Duration(len(requests)+1))))
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code := req()
				if code >= 500 {
					failed.Add(1)
				}
				v, _ := answers.LoadOrStore(code, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}()
		}
	}
	wg.Wait()
	time.Sleep(time.Until(start.Add(outageFor)))
	o.on.Store(false)
	if failed.Load() != 0 {
		t.Errorf("%d answers ≥ 500 during the outage", failed.Load())
	}

	want := customers*smsEach + waBatches*2
	count := func() int {
		total := 0
		cs, err := conversation.All(context.Background(), st, conversation.StatusOpen)
		if err != nil {
			return -1
		}
		for _, c := range cs {
			_, ms, err := st.Conversation(context.Background(), c.ID)
			if err != nil {
				return -1
			}
			total += len(ms)
		}
		return total
	}
	deadline := time.Now().Add(3 * time.Minute)
	for (count() != want || depth(t, sq, queue) != 0) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	got := count()
	var summary []string
	answers.Range(func(k, v any) bool {
		summary = append(summary, fmt.Sprintf("%d×%d", v.(*atomic.Int64).Load(), k))
		return true
	})
	fmt.Printf("spill outage: %d requests (2 copies each) in %v of DynamoDB failing; answers %s; answers ≥500: %d; spilled %d; "+
		"replays failed while down %d, stored after %d; messages %d of %d; dead letters %d\n",
		len(requests), outageFor, strings.Join(summary, ", "), failed.Load(), spilled.Load(), notYet.Load(), replayed.Load(), got, want, depth(t, sq, dlq))
	if got != want {
		t.Errorf("messages = %d, want %d", got, want)
	}
	if spilled.Load() != int64(2*len(requests)) {
		t.Errorf("spilled %d, want every request of the outage (%d)", spilled.Load(), 2*len(requests))
	}
	if n := depth(t, sq, dlq); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

// countingSpiller counts what reaches the spill queue.
type countingSpiller struct {
	next webhook.Spiller
	n    *atomic.Int64
}

func (c countingSpiller) Spill(ctx context.Context, s webhook.Spilled) error {
	if err := c.next.Spill(ctx, s); err != nil {
		return err
	}
	c.n.Add(1)
	return nil
}

// depth is how many messages a queue holds, visible, in flight or delayed; -1 if
// it cannot be read.
func depth(t testing.TB, client *sqs.Client, u string) int {
	if u == "" {
		return -1
	}
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: &u,
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"}})
	if err != nil {
		return -1
	}
	n := 0
	for _, v := range out.Attributes {
		var i int
		fmt.Sscan(v, &i)
		n += i
	}
	return n
}
