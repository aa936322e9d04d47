package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSAPI is the part of the SQS client the queue and the local poller use.
type SQSAPI interface {
	SendMessageBatch(context.Context, *sqs.SendMessageBatchInput, ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
	ReceiveMessage(context.Context, *sqs.ReceiveMessageInput, ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(context.Context, *sqs.DeleteMessageBatchInput, ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(context.Context, *sqs.ChangeMessageVisibilityBatchInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// SQSQueue sends jobs to an SQS queue, ten to a request, each delayed until
// its window closes (at most SQS's 15 minutes).
type SQSQueue struct {
	API SQSAPI
	URL string
	Now func() time.Time
}

// Send implements Queue. If any entry fails, it returns an error and the
// caller (the stream record) is retried: the jobs sent already are sent
// again, and the notifier's delivery records make that harmless.
func (q *SQSQueue) Send(ctx context.Context, jobs []Job) error {
	now := time.Now()
	if q.Now != nil {
		now = q.Now()
	}
	for start := 0; start < len(jobs); start += 10 {
		batch := jobs[start:min(start+10, len(jobs))]
		entries := make([]types.SendMessageBatchRequestEntry, len(batch))
		for i, j := range batch {
			body, err := json.Marshal(j)
			if err != nil {
				return fmt.Errorf("encode job %s: %w", j.ID, err)
			}
			entries[i] = types.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)),
				DelaySeconds: delaySeconds(j.NotBefore, now),
			}
		}
		out, err := q.API.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &q.URL, Entries: entries})
		if err != nil {
			return fmt.Errorf("send jobs: %w", err)
		}
		if len(out.Failed) > 0 {
			f := out.Failed[0]
			return fmt.Errorf("send jobs: %d of %d failed, first: %s %s", len(out.Failed), len(batch), aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	return nil
}

func delaySeconds(notBefore, now time.Time) int32 {
	d := notBefore.Sub(now).Seconds()
	if d <= 0 {
		return 0
	}
	return int32(min(math.Ceil(d), 900))
}

// SQSPoller consumes a queue the way Lambda's event source mapping does, for
// the dev server and the integration tests: up to ten messages at a time,
// handed to Handle as an SQS event; the ones not reported as failures are
// deleted, the rest reappear after the visibility timeout and, after the
// queue's maxReceiveCount, move to its dead-letter queue.
type SQSPoller struct {
	API    SQSAPI
	URL    string
	Handle func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	// WaitSeconds is the long-poll wait; default 1.
	WaitSeconds int32
	OnError     func(error)
	// Timeout bounds each Handle, as the function's timeout does in Lambda,
	// and each queue call (beyond the long poll): a hung call is abandoned,
	// never waited on forever. Default 60 s.
	Timeout time.Duration
	// RetryFailedNow makes a batch item failure visible again at once
	// instead of after the queue's visibility timeout. Tests use it with a
	// visibility timeout well above Timeout (as Lambda's is above the
	// function's), so that a message is redelivered only because it failed,
	// never because a loaded machine was slow.
	RetryFailedNow bool
}

// Run polls until ctx is done.
func (p *SQSPoller) Run(ctx context.Context) error {
	wait := p.WaitSeconds
	if wait == 0 {
		wait = 1
	}
	timeout := p.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, time.Duration(wait)*time.Second+timeout)
		out, err := p.API.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{
			QueueUrl: &p.URL, MaxNumberOfMessages: 10, WaitTimeSeconds: wait,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		cancel()
		if err != nil {
			p.report(fmt.Errorf("receive: %w", err))
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		if len(out.Messages) == 0 {
			continue
		}
		ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
		for i, m := range out.Messages {
			attrs := map[string]string{}
			for k, v := range m.Attributes {
				attrs[k] = v
			}
			ev.Records[i] = events.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Attributes: attrs, EventSource: "aws:sqs",
			}
		}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		resp, err := p.Handle(hctx, ev)
		cancel()
		failed := map[string]bool{}
		if err != nil {
			p.report(err)
			continue // the whole batch reappears
		}
		for _, f := range resp.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		var del []types.DeleteMessageBatchRequestEntry
		var again []types.ChangeMessageVisibilityBatchRequestEntry
		for i, m := range out.Messages {
			if !failed[aws.ToString(m.MessageId)] {
				del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			} else if p.RetryFailedNow {
				again = append(again, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
			}
		}
		if len(again) > 0 {
			vctx, cancel := context.WithTimeout(ctx, timeout)
			_, err := p.API.ChangeMessageVisibilityBatch(vctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &p.URL, Entries: again})
			cancel()
			if err != nil {
				p.report(fmt.Errorf("change visibility: %w", err))
			}
		}
		if len(del) > 0 {
			dctx, cancel := context.WithTimeout(ctx, timeout)
			_, err := p.API.DeleteMessageBatch(dctx, &sqs.DeleteMessageBatchInput{QueueUrl: &p.URL, Entries: del})
			cancel()
			if err != nil {
				p.report(fmt.Errorf("delete: %w", err))
			}
		}
	}
	return ctx.Err()
}

func (p *SQSPoller) report(err error) {
	if p.OnError != nil && !errors.Is(err, context.Canceled) {
		p.OnError(err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
