// Command cost turns what scripts/bench.sh measures into the AWS cost of one
// million inbound messages, at published on-demand prices:
//
//	go test -run '^$' -bench 'InboundSMS|ProjectFirstMessage|NotifierJob|DynamoDBPerMessage|WebhookToSink' … | go run ./scripts/cost
//
// It reads `go test -bench` lines on stdin: the counts (ack-RCU/msg,
// stream-RCU/msg, total-WCU/msg, notify-RCU/notif, notify-WCU/notif,
// send-req/notif, consume-req/notif, ack-calls/msg, stream-calls/msg,
// notify-calls/notif) and the handlers' own CPU (the ns/op of
// BenchmarkInboundSMS, BenchmarkProjectFirstMessage, BenchmarkNotifierJob;
// the median of their runs).
//
// The model, per inbound message from a known contact: one HTTP API request
// and one invocation of the webhook function; worst case, one notification
// to one agent sink (no coalescing). The fan-out and the notifier run once
// per batch: -batch records per invocation (1, the default, is the worst
// case: a quiet desk; the template allows 100 stream records and 10 jobs a
// batch), and the fan-out's SendMessageBatch and the event source's receive
// and delete are per batch too.
//
// Lambda bills wall time, not CPU, so a duration is the measured CPU scaled
// to the function's share of a vCPU (Lambda gives one vCPU at 1769 MB: a
// 256 MB function runs 6.9 times slower than one core here, taken to be as
// fast as a Graviton core), plus each DynamoDB call's round trip (-ddb-ms),
// the fan-out's SQS send (-sqs-ms) and the notifier's wait for the sink to
// answer (-send-ms), rounded up to Lambda's 1 ms per invocation. The round
// trips are assumptions (local servers do not measure AWS's): they are
// printed with the result. Stream reads by Lambda are free; Twilio's and
// SES's own charges for the notification are not AWS request costs and are
// left out. Prices are us-east-1 list prices (flags override them).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

type prices struct {
	httpAPI, lambdaReq, lambdaGBs, wru, rru, sqs float64 // USD per one (request, GB-s, unit)
}

// latency is what the model assumes of AWS and the sinks, and the share of
// a vCPU each function has.
type latency struct {
	ddbMs, sqsMs, sendMs float64
	webhookMB, fanoutMB  float64
	notifierMB           float64
	batch                float64
}

func main() {
	p := prices{}
	flag.Float64Var(&p.httpAPI, "http-api", 1.00, "USD per million API Gateway HTTP API requests")
	flag.Float64Var(&p.lambdaReq, "lambda-req", 0.20, "USD per million Lambda requests")
	flag.Float64Var(&p.lambdaGBs, "lambda-gbs", 0.0000133334, "USD per GB-second, Lambda on arm64")
	flag.Float64Var(&p.wru, "wru", 0.625, "USD per million DynamoDB on-demand write request units")
	flag.Float64Var(&p.rru, "rru", 0.125, "USD per million DynamoDB on-demand read request units")
	flag.Float64Var(&p.sqs, "sqs", 0.40, "USD per million SQS standard requests")
	l := latency{webhookMB: 256, fanoutMB: 256, notifierMB: 512}
	flag.Float64Var(&l.ddbMs, "ddb-ms", 4, "assumed DynamoDB round trip in the region, ms")
	flag.Float64Var(&l.sqsMs, "sqs-ms", 10, "assumed SQS SendMessageBatch round trip, ms")
	flag.Float64Var(&l.sendMs, "send-ms", 100, "assumed wait for the agent's sink (Slack, a webhook, Twilio) to answer, ms")
	flag.Float64Var(&l.batch, "batch", 1, "records per fan-out and notifier invocation (1: the worst case)")
	flag.Parse()
	m, err := metrics(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	if err := report(os.Stdout, m, p, l); err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
}

// measured holds the metrics by unit ("ack-RCU/msg"), and each benchmark's
// ns/op by its name without the -GOMAXPROCS suffix ("InboundSMS"), the
// median of its runs.
type measured struct {
	units map[string]float64
	ns    map[string]float64
}

// metrics collects "value unit" pairs from benchmark lines.
func metrics(r io.Reader) (measured, error) {
	m := measured{units: map[string]float64{}, ns: map[string]float64{}}
	runs := map[string][]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			if f[i+1] == "ns/op" {
				runs[name] = append(runs[name], v)
			} else {
				m.units[f[i+1]] = v
			}
		}
	}
	for name, vs := range runs {
		slices.Sort(vs)
		m.ns[name] = vs[len(vs)/2]
	}
	return m, sc.Err()
}

// vcpuMB is the memory at which Lambda gives a function one whole vCPU.
const vcpuMB = 1769

// billed is the billed ms per message of a function that handles batch
// messages an invocation, each taking ms: rounded up to 1 ms an invocation.
func billed(ms, batch float64) float64 { return math.Ceil(ms*batch) / batch }

func report(w io.Writer, m measured, p prices, l latency) error {
	need := []string{"ack-RCU/msg", "stream-RCU/msg", "total-WCU/msg", "notify-RCU/notif", "notify-WCU/notif", "send-req/notif",
		"consume-req/notif", "ack-calls/msg", "stream-calls/msg", "notify-calls/notif"}
	for _, k := range need {
		if _, ok := m.units[k]; !ok {
			return fmt.Errorf("no %s in the benchmark output (run BenchmarkDynamoDBPerMessage and BenchmarkWebhookToSink)", k)
		}
	}
	for _, k := range []string{"InboundSMS", "ProjectFirstMessage", "NotifierJob"} {
		if _, ok := m.ns[k]; !ok {
			return fmt.Errorf("no ns/op of Benchmark%s in the benchmark output", k)
		}
	}
	if l.batch < 1 {
		return fmt.Errorf("a batch is at least one record, not %v", l.batch)
	}
	u := m.units
	cpu := func(bench string, mb float64) float64 { return m.ns[bench] / 1e6 * vcpuMB / mb }
	webhookMs := billed(cpu("InboundSMS", l.webhookMB)+u["ack-calls/msg"]*l.ddbMs, 1)
	fanoutMs := billed(cpu("ProjectFirstMessage", l.fanoutMB)+u["stream-calls/msg"]*l.ddbMs+u["send-req/notif"]*l.sqsMs/l.batch, l.batch)
	notifierMs := billed(cpu("NotifierJob", l.notifierMB)+u["notify-calls/notif"]*l.ddbMs+l.sendMs, l.batch)

	const million = 1e6
	rru := u["ack-RCU/msg"] + u["stream-RCU/msg"] + u["notify-RCU/notif"]
	wru := u["total-WCU/msg"] + u["notify-WCU/notif"]
	sqs := (u["send-req/notif"] + u["consume-req/notif"]) / l.batch
	gbs := (l.webhookMB*webhookMs + l.fanoutMB*fanoutMs + l.notifierMB*notifierMs) / 1024 / 1000
	rows := []struct {
		what  string
		units string
		usd   float64
	}{
		{"API Gateway HTTP API", "1 request", p.httpAPI},
		{"Lambda requests", fmt.Sprintf("%.2f (webhook 1, fan-out and notifier 1/%g)", 1+2/l.batch, l.batch), (1 + 2/l.batch) * p.lambdaReq},
		{"Lambda duration", fmt.Sprintf("%.4f GB-s (%.0f/%.1f/%.0f ms billed)", gbs, webhookMs, fanoutMs, notifierMs), gbs * million * p.lambdaGBs},
		{"DynamoDB reads", fmt.Sprintf("%.2f RRU", rru), rru * p.rru},
		{"DynamoDB writes", fmt.Sprintf("%.2f WRU", wru), wru * p.wru},
		{"SQS", fmt.Sprintf("%.2f requests", sqs), sqs * p.sqs},
	}
	total := 0.0
	fmt.Fprintf(w, "%-30s %-44s %s\n", fmt.Sprintf("cost per million (batch %g)", l.batch), "per message", "USD")
	for _, r := range rows {
		fmt.Fprintf(w, "%-30s %-44s %8.2f\n", r.what, r.units, r.usd)
		total += r.usd
	}
	fmt.Fprintf(w, "%-30s %-44s %8.2f\n", "total", "", total)
	fmt.Fprintf(w, "durations: measured CPU (SMS %.1f µs, stream record %.1f µs, notifier job %.1f µs) × %g/MB of a vCPU, + %.0f/%.0f/%.0f DynamoDB calls × %g ms, + SQS %g ms, + the sink's answer %g ms (assumed)\n",
		m.ns["InboundSMS"]/1e3, m.ns["ProjectFirstMessage"]/1e3, m.ns["NotifierJob"]/1e3, float64(vcpuMB),
		u["ack-calls/msg"], u["stream-calls/msg"], u["notify-calls/notif"], l.ddbMs, l.sqsMs, l.sendMs)
	if d, ok := u["dup-calls"]; ok {
		fmt.Fprintf(w, "a duplicate delivery: %.0f DynamoDB calls (in AWS its failed conditional put is billed 1 WRU: +%.3f USD per million)\n", d, p.wru)
	}
	return nil
}
