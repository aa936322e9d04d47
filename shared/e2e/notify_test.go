package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/telegram"
)

// TestSMSReachesTheAgent: inbound SMS → DynamoDB → stream → fan-out → SQS →
// notifier → the agent's signed webhook and an SMS through Twilio's API.
func TestSMSReachesTheAgent(t *testing.T) {
	s := newSystem(t, options{visibility: 5, sinks: []routing.Sink{{Type: routing.SinkWebhook}, {Type: routing.SinkSMS, To: agentPhone}}})
	if code := s.postSMS("SMe2e00000000000000000000000000001", "+14155550123", "my parcel never came"); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	s.waitFor("both notifications", patience, func() bool { h, x, _ := s.counts(); return h >= 1 && x >= 1 })
	s.settle()
	if h, x, _ := s.counts(); h != 1 || x != 1 {
		t.Errorf("webhook notifications %d, agent texts %d; want exactly 1 each", h, x)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.badSigs != 0 {
		t.Errorf("%d notifications failed signature verification", s.badSigs)
	}
	txt := s.texts[0]
	if txt.Get("To") != agentPhone || txt.Get("From") != "+18005550100" || txt.Get("Body") != `New message from a customer on SMS: "my parcel never came"` {
		t.Errorf("agent SMS = %v", txt)
	}
}

// TestDuplicateStorm: 200 messages from 200 customers (50 outside the full
// run: scaled), each delivered 5 times at once → exactly one job per
// message and one delivery per job.
func TestDuplicateStorm(t *testing.T) {
	messages, copies := scaled(200, 4), 5
	s := newSystem(t, options{visibility: 10, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	var wg sync.WaitGroup
	sem := make(chan struct{}, 24)
	for i := range messages {
		for range copies {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if code := s.postSMS(fmt.Sprintf("SMstorm%026d", i), fmt.Sprintf("+1415556%04d", i), "help"); code != 200 {
					t.Errorf("message %d: %d", i, code)
				}
			}()
		}
	}
	wg.Wait()
	s.waitFor(fmt.Sprint(messages, " deliveries"), patience, func() bool { h, _, _ := s.counts(); return h >= messages })
	s.settle()
	if got := s.jobsSent.Load(); got != int64(messages) {
		t.Errorf("jobs queued = %d, want %d", got, messages)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	perJob := map[string]int{}
	convs := map[string]bool{}
	for _, d := range s.webhooks {
		perJob[d.job]++
		convs[d.conv] = true
	}
	for job, n := range perJob {
		if n != 1 {
			t.Errorf("job %s delivered %d times", job, n)
		}
	}
	if len(perJob) != messages || len(convs) != messages || s.badSigs != 0 {
		t.Errorf("%d jobs delivered for %d conversations (%d bad signatures), want %d", len(perJob), len(convs), s.badSigs, messages)
	}
}

// TestSQSOutageLosesNothing: SQS unreachable for 10 s while customers write;
// the webhooks still answer 2xx and every notification arrives once it is
// back. (moto is reached through a proxy that refuses connections: a moto
// restart would also drop its in-memory queues, which is not what an SQS
// outage does.)
func TestSQSOutageLosesNothing(t *testing.T) {
	const messages = 20
	s := newSystem(t, options{visibility: 5, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	s.proxy.Stop()
	down := time.Now()
	for i := range messages {
		if code := s.postSMS(fmt.Sprintf("SMdown%028d", i), fmt.Sprintf("+1415557%04d", i), "anyone?"); code != 200 {
			t.Errorf("webhook during the outage answered %d", code)
		}
	}
	time.Sleep(10*time.Second - time.Since(down))
	if h, _, _ := s.counts(); h != 0 {
		t.Fatalf("%d notifications arrived while SQS was down", h)
	}
	s.proxy.Start()
	s.waitFor("every notification after the outage", patience, func() bool { h, _, _ := s.counts(); return h >= messages })
	s.settle()
	if h, _, _ := s.counts(); h != messages {
		t.Errorf("delivered %d, want %d", h, messages)
	}
}

// TestPoisonJobsOnlyReachTheDLQ: 4 malformed jobs among 200 → only those 4
// are dead-lettered; the 196 others are delivered once. Deterministic on a
// loaded machine: the visibility timeout (180 s) is far above the poller's
// bound on a batch (60 s), as Lambda's is above its timeout, so a good job
// is never redelivered for being slow; a failed one is retried at once.
func TestPoisonJobsOnlyReachTheDLQ(t *testing.T) {
	const good, poison = 196, 4
	s := newSystem(t, options{visibility: 180, maxReceives: 2, retryFailedNow: true, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	bodies := []string{`{not json`, `{"id":"job_x"}`, `{"id":"x","conversationId":"cv","surprise":true}`, `[]`}
	for _, b := range bodies {
		if _, err := s.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: &s.queue, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	sem := make(chan struct{}, 24)
	var wg sync.WaitGroup
	for i := range good {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.postSMS(fmt.Sprintf("SMgood%028d", i), fmt.Sprintf("+1415558%04d", i), "hello")
		}()
	}
	wg.Wait()
	s.waitFor("196 deliveries and 4 dead letters", patience, func() bool {
		h, _, _ := s.counts()
		return h >= good && s.queueDepth(s.dlq) >= poison
	})
	s.settle()
	if h, _, _ := s.counts(); h != good {
		t.Errorf("delivered %d, want %d", h, good)
	}
	if n := s.queueDepth(s.dlq); n != poison {
		t.Errorf("dead letters = %d, want %d", n, poison)
	}
}

// TestDuplicateStormEveryChannel: 30 customers (10 outside the full run:
// scaled) on each of SMS, WhatsApp Cloud, Messenger, Telegram and email,
// every event delivered 4 times at once → exactly one inbound message and
// one agent notification, delivered once, per customer and channel (150 in
// the full run), and one email acknowledgement per new email conversation
// (30): 180 jobs in the full run.
func TestDuplicateStormEveryChannel(t *testing.T) {
	perChannel, copies := scaled(30, 3), 4
	s := newSystem(t, options{visibility: 10, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	ctx := context.Background()
	s3c := localaws.S3(t)
	bucket := localaws.Bucket(t, s3c)
	mail := &email.S3Handler{S3: s3c, Intake: &email.Intake{Service: s.svc, Address: supportEmail,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	ts := time.Now().Unix()
	deliveries := map[string]func() error{}
	for i := range perChannel {
		deliveries[fmt.Sprintf("sms-%d", i)] = func() error {
			return status(s.postSMS(fmt.Sprintf("SMevery%027d", i), fmt.Sprintf("+1415554%04d", i), "storm"))
		}
		wa := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messages":[{"from":"1650555%04d","id":"wamid.storm%d","timestamp":"%d","type":"text","text":{"body":"storm"}}]}}]}]}`, i, i, ts)
		deliveries[fmt.Sprintf("whatsapp-%d", i)] = func() error {
			return status(s.post(meta.Path, wa, map[string]string{"X-Hub-Signature-256": meta.Sign(metaSecret, []byte(wa)), "Content-Type": "application/json"}))
		}
		fb := fmt.Sprintf(`{"object":"page","entry":[{"id":"P1","time":%d,"messaging":[{"sender":{"id":"psid%d"},"recipient":{"id":"P1"},"timestamp":%d,"message":{"mid":"m_storm%d","text":"storm"}}]}]}`, ts*1000, i, ts*1000, i)
		deliveries[fmt.Sprintf("messenger-%d", i)] = func() error {
			return status(s.post(meta.Path, fb, map[string]string{"X-Hub-Signature-256": meta.Sign(metaSecret, []byte(fb)), "Content-Type": "application/json"}))
		}
		tg := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":1,"date":%d,"chat":{"id":%d},"from":{"id":%d,"first_name":"T"},"text":"storm"}}`, 9000+i, ts, 700+i, 700+i)
		deliveries[fmt.Sprintf("telegram-%d", i)] = func() error {
			return status(s.post(telegram.Path, tg, map[string]string{telegram.SecretHeader: telegramSecret, "Content-Type": "application/json"}))
		}
		key := fmt.Sprintf("inbound/storm-%d", i)
		// As SES stores it: its verdict header first (DMARC passed, so the sender is acknowledged).
		raw := fmt.Sprintf("Authentication-Results: amazonses.com;\r\n spf=pass envelope-from=c%d@example.net;\r\n dkim=pass header.i=@example.net;\r\n dmarc=pass header.from=example.net;\r\n"+
			"From: c%d@example.net\r\nTo: %s\r\nSubject: storm\r\nMessage-ID: <storm-%d@example.net>\r\n\r\nstorm\r\n", i, i, supportEmail, i)
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(raw)}); err != nil {
			t.Fatal(err)
		}
		deliveries[fmt.Sprintf("email-%d", i)] = func() error {
			return mail.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{{EventTime: time.Now(),
				S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key, URLDecodedKey: key}}}}})
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 24)
	for name, deliver := range deliveries {
		for range copies {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := deliver(); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}()
		}
	}
	wg.Wait()
	total := len(deliveries)
	s.waitFor("a delivery per message and every acknowledgement", patience, func() bool {
		h, _, _ := s.counts()
		s.mu.Lock()
		defer s.mu.Unlock()
		return h >= total && len(s.mails) >= perChannel
	})
	s.settle()
	if got := s.jobsSent.Load(); got != int64(total+perChannel) {
		t.Errorf("jobs queued = %d, want %d (%d notifications, %d email acknowledgements)", got, total+perChannel, total, perChannel)
	}
	open, err := conversation.All(ctx, s.store, conversation.StatusOpen)
	if err != nil || len(open) != total {
		t.Fatalf("open conversations = %d, %v; want %d", len(open), err, total)
	}
	for _, c := range open {
		_, msgs, err := s.store.Conversation(ctx, c.ID)
		inbound, acks := 0, 0
		for _, m := range msgs {
			if m.Direction == conversation.DirectionInbound {
				inbound++
			} else if m.Kind == conversation.KindAuto && m.Channel == conversation.ChannelEmail {
				acks++
			}
		}
		wantAcks := 0
		if c.Channels[0] == conversation.ChannelEmail {
			wantAcks = 1
		}
		if err != nil || inbound != 1 || acks != wantAcks || len(msgs) != 1+wantAcks {
			t.Errorf("conversation %s (%v): %d inbound, %d acknowledgements of %d entries; want 1 and %d", c.ID, c.Channels, inbound, acks, len(msgs), wantAcks)
		}
	}
	s.mu.Lock()
	if len(s.mails) != perChannel {
		t.Errorf("SES sends = %d, want %d acknowledgements", len(s.mails), perChannel)
	}
	s.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	perJob := map[string]int{}
	for _, d := range s.webhooks {
		perJob[d.job]++
	}
	for job, n := range perJob {
		if n != 1 {
			t.Errorf("job %s delivered %d times", job, n)
		}
	}
	if len(perJob) != total {
		t.Errorf("%d jobs delivered, want %d", len(perJob), total)
	}
}

func status(code int) error {
	if code != 200 {
		return fmt.Errorf("answered %d", code)
	}
	return nil
}
