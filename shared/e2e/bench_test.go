package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/routing"
)

// BenchmarkWebhookToSink measures, on the local services, the time from
// Twilio's POST to the agent's webhook sink receiving the notification, and
// the SQS requests per notification. The local pollers stand in for Lambda's
// event source mappings: the stream is read every 20 ms and SQS long-polled
// by two consumers, so the figures are the pipeline's plus those intervals.
// Run: go test -run '^$' -bench WebhookToSink -benchtime 100x ./shared/e2e
func BenchmarkWebhookToSink(b *testing.B) {
	s := newSystem(b, options{visibility: 10, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	posted := map[string]time.Time{}
	b.ResetTimer()
	for i := range b.N {
		body := fmt.Sprintf("bench message %d", i)
		posted[body] = time.Now()
		if code := s.postSMS(fmt.Sprintf("SMbench%027d", i), fmt.Sprintf("+1415559%04d", i), body); code != 200 {
			b.Fatalf("webhook answered %d", code)
		}
		time.Sleep(20 * time.Millisecond) // a steady stream, not one burst
	}
	s.waitFor("every notification", 120*time.Second, func() bool { h, _, _ := s.counts(); return h >= b.N })
	b.StopTimer()
	s.mu.Lock()
	var lat []float64
	for _, d := range s.webhooks {
		if at, ok := posted[d.preview]; ok {
			lat = append(lat, float64(d.at.Sub(at).Microseconds())/1000)
		}
	}
	s.mu.Unlock()
	if len(lat) != b.N {
		b.Fatalf("matched %d of %d notifications", len(lat), b.N)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	n := float64(b.N)
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(s.sqsCalls["SendMessageBatch"].Load())/n, "send-req/notif")
	b.ReportMetric(float64(s.sqsCalls["ReceiveMessage"].Load()+s.sqsCalls["DeleteMessageBatch"].Load())/n, "consume-req/notif")
}
