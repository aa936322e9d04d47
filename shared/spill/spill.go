// Package spill keeps verified webhooks that could not be stored, and stores
// them later: the second durable service of DESIGN.md section 8.
//
// Twilio does not retry a 5xx by default, so a DynamoDB outage would lose an
// SMS. Every webhook function wraps its routes with webhook.Receive and a
// [Queue]: when ingesting a verified request fails on our side, webhook.Fail
// sends the request (route, query, content type, raw body, first receive
// time; no header, so no signature or secret token) to the spill queue and
// answers the provider as it normally would. The spill function's
// [Consumer] serves each kept request again through the very same handlers
// (webhook.Replay: not verified again, with its first receive time), so
// ingest stays idempotent: what the first attempt stored is a duplicate. A
// request the consumer cannot store yet is left on the queue for SQS to
// redeliver (partial batch failures), and after the queue's receive limit
// it waits in the spill dead-letter queue (alarmed). If the spill itself
// fails, the provider gets the 5xx after all (it may still retry).
package spill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/config/sqsclient"
	"github.com/switchboard/switchboard/shared/webhook"
)

// MaxMessage is the largest spill SQS takes (256 KiB, the JSON included):
// a bigger request is not spilled, and its provider gets the 5xx.
const MaxMessage = 256 << 10

// ErrTooLarge is Spill's refusal of a request over MaxMessage.
var ErrTooLarge = errors.New("spill: request too large for the spill queue")

// SQSAPI is the part of the SQS client the spill queue uses.
type SQSAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// FromConfig returns the spill queue SPILL_QUEUE_URL names, or nil (no
// spill: a store failure answers 5xx) when it is unset.
func FromConfig(awsCfg aws.Config, c config.Common) webhook.Spiller {
	if c.SpillQueueURL == "" {
		return nil
	}
	return &Queue{API: sqsclient.New(awsCfg, c), URL: c.SpillQueueURL}
}

// Queue is the spill queue (webhook.Spiller).
type Queue struct {
	API SQSAPI
	URL string
}

var _ webhook.Spiller = (*Queue)(nil)

// Spill implements webhook.Spiller: one SendMessage of the request as JSON.
func (q *Queue) Spill(ctx context.Context, s webhook.Spilled) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode spill: %w", err)
	}
	if len(b) > MaxMessage {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	body := string(b)
	if _, err := q.API.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: &body}); err != nil {
		return fmt.Errorf("send spill: %w", err)
	}
	return nil
}

// Consumer re-ingests spilled requests through Handler, the same routes the
// webhook functions serve.
type Consumer struct {
	Handler http.Handler
	Log     *slog.Logger
}

// Handle serves each record's request again. A 2xx answer is done; any
// other answer (our store still failing) or an undecodable record is
// reported as a batch item failure, so SQS redelivers it and, after the
// receive limit, moves it to the dead-letter queue.
func (c *Consumer) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	var resp events.SQSEventResponse
	for _, rec := range ev.Records {
		var s webhook.Spilled
		status := 0
		err := json.Unmarshal([]byte(rec.Body), &s)
		if err == nil && (s.Path == "" || s.Method == "") {
			err = errors.New("spill record without method or path")
		}
		if err == nil {
			w := &answer{header: http.Header{}}
			c.Handler.ServeHTTP(w, webhook.Replay(ctx, s))
			status = w.status()
		}
		attrs := []slog.Attr{slog.String("record", rec.MessageId), slog.String("path", s.Path), slog.Int("status", status)}
		switch {
		case err != nil:
			log.LogAttrs(ctx, slog.LevelError, "spill.replay", append(attrs, slog.String("outcome", "undecodable"), slog.String("error", err.Error()))...)
		case status < 200 || status > 299:
			log.LogAttrs(ctx, slog.LevelWarn, "spill.replay", append(attrs, slog.String("outcome", "not_yet"))...)
		default:
			log.LogAttrs(ctx, slog.LevelInfo, "spill.replay", append(attrs, slog.String("outcome", "stored"))...)
			continue
		}
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
	}
	return resp, nil
}

// answer keeps only the status of a replayed request's answer (the
// provider is long gone; the body is TwiML or an acknowledgement nobody
// reads).
type answer struct {
	header http.Header
	code   int
}

func (a *answer) Header() http.Header { return a.header }
func (a *answer) Write(b []byte) (int, error) {
	if a.code == 0 {
		a.code = http.StatusOK
	}
	return len(b), nil
}
func (a *answer) WriteHeader(code int) {
	if a.code == 0 {
		a.code = code
	}
}
func (a *answer) status() int {
	if a.code == 0 {
		return http.StatusOK
	}
	return a.code
}
