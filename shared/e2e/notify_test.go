package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/routing"
)

// TestSMSReachesTheAgent: inbound SMS → DynamoDB → stream → fan-out → SQS →
// notifier → the agent's signed webhook and an SMS through Twilio's API.
func TestSMSReachesTheAgent(t *testing.T) {
	s := newSystem(t, options{visibility: 5, sinks: []routing.Sink{{Type: routing.SinkWebhook}, {Type: routing.SinkSMS, To: agentPhone}}})
	if code := s.postSMS("SMe2e00000000000000000000000000001", "+14155550123", "my parcel never came"); code != 200 {
		t.Fatalf("webhook answered %d", code)
	}
	s.waitFor("both notifications", 60*time.Second, func() bool { h, x, _ := s.counts(); return h >= 1 && x >= 1 })
	time.Sleep(time.Second) // let a duplicate, if any, surface
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

// TestDuplicateStorm: 200 messages from 200 customers, each delivered 5
// times at once → exactly 200 jobs and one delivery per job.
func TestDuplicateStorm(t *testing.T) {
	const messages, copies = 200, 5
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
	s.waitFor("200 deliveries", 90*time.Second, func() bool { h, _, _ := s.counts(); return h >= messages })
	time.Sleep(2 * time.Second) // let any duplicate surface
	if got := s.jobsSent.Load(); got != messages {
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
	s.waitFor("every notification after the outage", 60*time.Second, func() bool { h, _, _ := s.counts(); return h >= messages })
	time.Sleep(time.Second)
	if h, _, _ := s.counts(); h != messages {
		t.Errorf("delivered %d, want %d", h, messages)
	}
}

// TestPoisonJobsOnlyReachTheDLQ: 4 malformed jobs among 200 → only those 4
// are dead-lettered; the 196 others are delivered once.
func TestPoisonJobsOnlyReachTheDLQ(t *testing.T) {
	const good, poison = 196, 4
	s := newSystem(t, options{visibility: 1, maxReceives: 2, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
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
	s.waitFor("196 deliveries and 4 dead letters", 90*time.Second, func() bool {
		h, _, _ := s.counts()
		return h >= good && s.queueDepth(s.dlq) >= poison
	})
	time.Sleep(2 * time.Second)
	if h, _, _ := s.counts(); h != good {
		t.Errorf("delivered %d, want %d", h, good)
	}
	if n := s.queueDepth(s.dlq); n != poison {
		t.Errorf("dead letters = %d, want %d", n, poison)
	}
}
