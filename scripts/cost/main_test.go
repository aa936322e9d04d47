package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `BenchmarkDynamoDBPerMessage-2   	      50	  89173456 ns/op	         1.000 ack-RCU/msg	         1.000 ack-WCU/msg	         2.000 ack-calls/msg	         0 dup-WCU	         2.000 dup-calls	         1.500 notify-RCU/notif	         2.000 notify-WCU/notif	         4.000 notify-calls/notif	         1.000 stream-RCU/msg	         2.000 stream-calls/msg	         2.000 total-WCU/msg
BenchmarkWebhookToSink-2   	     200	  20000000 ns/op	        85.00 p50-ms	       150.0 p99-ms	         1.000 send-req/notif	         2.000 consume-req/notif
`

// TestReport checks the arithmetic on known counts: 3.5 RRU, 4 WRU and 3 SQS
// requests per message at the default prices.
func TestReport(t *testing.T) {
	m, err := metrics(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	p := prices{httpAPI: 1, lambdaReq: 0.2, lambdaGBs: 0.0000133334, wru: 0.625, rru: 0.125, sqs: 0.4}
	if err := report(&out, m, p, 20, 20, 60); err != nil {
		t.Fatal(err)
	}
	// 1 + 0.6 + (0.005+0.005+0.03)*1e6*0.0000133334 (=0.53) + 3.5*0.125 (=0.44) + 4*0.625 (=2.50) + 3*0.4 (=1.20) = 6.27
	for _, want := range []string{"3.50 RRU", "0.44", "4.00 WRU", "2.50", "3.00 requests", "1.20", "total", "6.27"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
	if err := report(&out, map[string]float64{}, p, 1, 1, 1); err == nil {
		t.Error("a report without the measured counts should fail")
	}
}
