package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `BenchmarkDynamoDBPerMessage-2   	      50	  89173456 ns/op	         1.000 ack-RCU/msg	         1.000 ack-WCU/msg	         2.000 ack-calls/msg	         0 dup-WCU	         2.000 dup-calls	         1.500 notify-RCU/notif	         2.000 notify-WCU/notif	         4.000 notify-calls/notif	         1.000 stream-RCU/msg	         2.000 stream-calls/msg	         2.000 total-WCU/msg
BenchmarkWebhookToSink-2   	     200	  20000000 ns/op	        85.00 p50-ms	       150.0 p99-ms	         1.000 send-req/notif	         2.000 consume-req/notif
BenchmarkInboundSMS 	   97802	     13000 ns/op	    3966 B/op	      16 allocs/op
BenchmarkInboundSMS 	   97802	     99000 ns/op	    3966 B/op	      16 allocs/op
BenchmarkInboundSMS 	   97802	     14000 ns/op	    3966 B/op	      16 allocs/op
BenchmarkProjectFirstMessage 	   9000	    130000 ns/op	    3966 B/op	      212 allocs/op
BenchmarkNotifierJob 	   97802	     14000 ns/op	    3966 B/op	      46 allocs/op
`

// TestReport checks the arithmetic on known counts: 3.5 RRU, 4 WRU and 3 SQS
// requests per message at the default prices, durations from the median CPU.
func TestReport(t *testing.T) {
	m, err := metrics(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if m.ns["InboundSMS"] != 14000 {
		t.Errorf("InboundSMS median %v, want 14000 (not the outlier)", m.ns["InboundSMS"])
	}
	var out bytes.Buffer
	p := prices{httpAPI: 1, lambdaReq: 0.2, lambdaGBs: 0.0000133334, wru: 0.625, rru: 0.125, sqs: 0.4}
	l := latency{ddbMs: 4, sqsMs: 10, sendMs: 100, webhookMB: 256, fanoutMB: 256, notifierMB: 512, batch: 1}
	if err := report(&out, m, p, l); err != nil {
		t.Fatal(err)
	}
	// webhook 0.014 ms × 1769/256 + 2 × 4 = 8.10 -> 9 ms; fan-out 0.13 × 6.91 + 2 × 4 + 10 = 18.9 -> 19;
	// notifier 0.014 × 3.46 + 4 × 4 + 100 = 116.05 -> 117.
	// GB-s (256×9 + 256×19 + 512×117)/1024/1000 = 0.0655 -> 0.87 USD.
	// 1 + 0.6 + 0.87 + 3.5×0.125 (0.44) + 4×0.625 (2.50) + 3×0.4 (1.20) = 6.61
	for _, want := range []string{"9/19.0/117 ms", "0.87", "3.50 RRU", "0.44", "4.00 WRU", "2.50", "3.00 requests", "1.20", "6.61"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	// Ten records a batch: a tenth of the fan-out's and notifier's requests
	// and of SQS's, the SQS send shared.
	out.Reset()
	l.batch = 10
	if err := report(&out, m, p, l); err != nil {
		t.Fatal(err)
	}
	// 1 + 0.24 + SQS 0.3×0.4 (0.12); fan-out 0.898 + 8 + 1 = 9.898 ×10 -> 99/10 = 9.9 ms
	for _, want := range []string{"1.20 (webhook 1, fan-out and notifier 1/10)", "0.24", "0.30 requests", "0.12", "9/9.9/"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("batch 10: report lacks %q:\n%s", want, out.String())
		}
	}
	if err := report(&out, measured{units: map[string]float64{}, ns: map[string]float64{}}, p, l); err == nil {
		t.Error("a report without the measured counts should fail")
	}
}
