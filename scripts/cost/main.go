// Command cost turns the counts scripts/bench.sh measures into the AWS cost
// of one million inbound messages, at published on-demand prices:
//
//	go test -run '^$' -bench 'DynamoDBPerMessage|WebhookToSink' … | go run ./scripts/cost
//
// It reads `go test -bench` lines on stdin and uses their metrics
// (ack-RCU/msg, stream-RCU/msg, total-WCU/msg, notify-RCU/notif,
// notify-WCU/notif, send-req/notif, consume-req/notif). The model, per
// inbound message from a known contact: one HTTP API request, one invocation
// of the webhook function, and — worst case, no coalescing, one agent sink —
// one notification (a fan-out and a notifier invocation each, since batching
// only lowers it). Lambda durations are not measured locally: they are
// flags, printed as assumptions. Stream reads by Lambda are free; Twilio and
// SES charges for the notification itself are not AWS request costs and are
// left out. Prices are us-east-1 list prices (flags override them).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

type prices struct {
	httpAPI, lambdaReq, lambdaGBs, wru, rru, sqs float64 // USD per one (request, GB-s, unit)
}

func main() {
	p := prices{}
	flag.Float64Var(&p.httpAPI, "http-api", 1.00, "USD per million API Gateway HTTP API requests")
	flag.Float64Var(&p.lambdaReq, "lambda-req", 0.20, "USD per million Lambda requests")
	flag.Float64Var(&p.lambdaGBs, "lambda-gbs", 0.0000133334, "USD per GB-second, Lambda on arm64")
	flag.Float64Var(&p.wru, "wru", 0.625, "USD per million DynamoDB on-demand write request units")
	flag.Float64Var(&p.rru, "rru", 0.125, "USD per million DynamoDB on-demand read request units")
	flag.Float64Var(&p.sqs, "sqs", 0.40, "USD per million SQS standard requests")
	webhookMs := flag.Float64("webhook-ms", 20, "assumed billed duration of the webhook function (256 MB), ms")
	fanoutMs := flag.Float64("fanout-ms", 20, "assumed billed duration of the fan-out per message (256 MB), ms")
	notifierMs := flag.Float64("notifier-ms", 60, "assumed billed duration of the notifier per job (512 MB), ms")
	flag.Parse()
	m, err := metrics(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	if err := report(os.Stdout, m, p, *webhookMs, *fanoutMs, *notifierMs); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

// metrics collects "value unit" pairs from benchmark lines.
func metrics(r io.Reader) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
	}
	return m, sc.Err()
}

func report(w io.Writer, m map[string]float64, p prices, webhookMs, fanoutMs, notifierMs float64) error {
	need := []string{"ack-RCU/msg", "stream-RCU/msg", "total-WCU/msg", "notify-RCU/notif", "notify-WCU/notif", "send-req/notif", "consume-req/notif"}
	for _, k := range need {
		if _, ok := m[k]; !ok {
			return fmt.Errorf("no %s in the benchmark output (run BenchmarkDynamoDBPerMessage and BenchmarkWebhookToSink)", k)
		}
	}
	const million = 1e6
	rru := m["ack-RCU/msg"] + m["stream-RCU/msg"] + m["notify-RCU/notif"]
	wru := m["total-WCU/msg"] + m["notify-WCU/notif"]
	sqs := m["send-req/notif"] + m["consume-req/notif"]
	gbs := (0.25*webhookMs + 0.25*fanoutMs + 0.5*notifierMs) / 1000
	rows := []struct {
		what  string
		units string
		usd   float64
	}{
		{"API Gateway HTTP API", "1 request", p.httpAPI},
		{"Lambda requests", "3 (webhook, fan-out, notifier)", 3 * p.lambdaReq},
		{"Lambda duration (assumed ms)", fmt.Sprintf("%.4f GB-s (%.0f/%.0f/%.0f ms)", gbs, webhookMs, fanoutMs, notifierMs), gbs * million * p.lambdaGBs},
		{"DynamoDB reads", fmt.Sprintf("%.2f RRU", rru), rru * p.rru},
		{"DynamoDB writes", fmt.Sprintf("%.2f WRU", wru), wru * p.wru},
		{"SQS", fmt.Sprintf("%.2f requests", sqs), sqs * p.sqs},
	}
	total := 0.0
	fmt.Fprintf(w, "%-30s %-36s %s\n", "cost per million inbound messages", "per message (measured unless assumed)", "USD")
	for _, r := range rows {
		fmt.Fprintf(w, "%-30s %-36s %8.2f\n", r.what, r.units, r.usd)
		total += r.usd
	}
	fmt.Fprintf(w, "%-30s %-36s %8.2f\n", "total", "", total)
	if d, ok := m["dup-calls"]; ok {
		fmt.Fprintf(w, "a duplicate delivery: %.0f DynamoDB calls (in AWS its failed conditional put is billed 1 WRU: +%.3f USD per million)\n", d, p.wru)
	}
	return nil
}
