// Package localstream reads a DynamoDB stream the way Lambda's event source
// mapping does, for DynamoDB Local (the dev server, the integration tests).
// It is apart from package stream so that the fan-out, which Lambda feeds
// in AWS, does not link the DynamoDB Streams client.
package localstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	st "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// StreamsAPI is the part of the DynamoDB Streams client the poller uses.
type StreamsAPI interface {
	DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(context.Context, *dynamodbstreams.GetShardIteratorInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(context.Context, *dynamodbstreams.GetRecordsInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// Poller reads every shard of a stream from its start and hands batches to
// Handle as Lambda would: in order per shard, retrying from a reported batch
// item failure. It stands in for the event source mapping on DynamoDB Local
// (dev server, integration tests); in AWS, Lambda does this.
type Poller struct {
	Streams   StreamsAPI
	StreamARN string
	Handle    func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
	// Interval between polls of an idle shard; default 100 ms.
	Interval time.Duration
	// OnError, if set, is told of errors the poller retries.
	OnError func(error)
	// Timeout bounds each stream call and each Handle, as Lambda's function
	// timeout does: a call that hangs is abandoned and retried, never waited
	// on forever. Default 30 s.
	Timeout time.Duration
}

func (p *Poller) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	d := p.Timeout
	if d == 0 {
		d = 30 * time.Second
	}
	return context.WithTimeout(ctx, d)
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context) error {
	interval := p.Interval
	if interval == 0 {
		interval = 100 * time.Millisecond
	}
	iters := map[string]*string{} // shard id → next iterator
	done := map[string]bool{}
	last := map[string]string{} // shard id → sequence number of the last record handled
	for {
		if err := p.discover(ctx, iters, done, last); err != nil {
			p.report(err)
		}
		for id, it := range iters {
			next, seq, err := p.poll(ctx, it)
			if seq != "" {
				last[id] = seq
			}
			var trimmed *st.TrimmedDataAccessException
			var expired *st.ExpiredIteratorException
			if errors.As(err, &trimmed) || errors.As(err, &expired) {
				// The iterator is no good (DynamoDB Local answers an
				// iterator taken on an empty shard this way): take a new
				// one after the last record handled, or from the start.
				delete(iters, id)
			}
			if err != nil {
				p.report(fmt.Errorf("shard %s: %w", id, err))
				continue
			}
			if next == nil {
				delete(iters, id)
				done[id] = true
				continue
			}
			iters[id] = next
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func (p *Poller) report(err error) {
	if p.OnError != nil && !errors.Is(err, context.Canceled) {
		p.OnError(err)
	}
}

func (p *Poller) discover(ctx context.Context, iters map[string]*string, done map[string]bool, last map[string]string) error {
	ctx, cancel := p.bounded(ctx)
	defer cancel()
	out, err := p.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &p.StreamARN})
	if err != nil {
		return fmt.Errorf("describe stream: %w", err)
	}
	for _, sh := range out.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, ok := iters[id]; ok || done[id] {
			continue
		}
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: &p.StreamARN, ShardId: sh.ShardId, ShardIteratorType: st.ShardIteratorTypeTrimHorizon}
		if seq := last[id]; seq != "" {
			in.ShardIteratorType, in.SequenceNumber = st.ShardIteratorTypeAfterSequenceNumber, aws.String(seq)
		}
		it, err := p.Streams.GetShardIterator(ctx, in)
		if err != nil {
			return fmt.Errorf("shard iterator %s: %w", id, err)
		}
		iters[id] = it.ShardIterator
	}
	return nil
}

// poll reads one batch from it and hands it over; it returns the iterator to
// read next (the same position again after a failure), nil at a closed
// shard's end, and the sequence number of the last record handled ("" for
// none).
func (p *Poller) poll(ctx context.Context, it *string) (*string, string, error) {
	gctx, cancel := p.bounded(ctx)
	out, err := p.Streams.GetRecords(gctx, &dynamodbstreams.GetRecordsInput{ShardIterator: it})
	cancel()
	if err != nil {
		return it, "", fmt.Errorf("get records: %w", err)
	}
	if len(out.Records) == 0 {
		return out.NextShardIterator, "", nil
	}
	ev := events.DynamoDBEvent{Records: make([]events.DynamoDBEventRecord, len(out.Records))}
	for i, r := range out.Records {
		ev.Records[i] = toLambda(r)
	}
	for len(ev.Records) > 0 {
		hctx, cancel := p.bounded(ctx)
		resp, err := p.Handle(hctx, ev)
		cancel()
		if err == nil && len(resp.BatchItemFailures) == 0 {
			break
		}
		if err != nil {
			p.report(err)
		} else {
			// Retry from the failed record, as Lambda does.
			failed := resp.BatchItemFailures[0].ItemIdentifier
			for i, r := range ev.Records {
				if r.Change.SequenceNumber == failed {
					ev.Records = ev.Records[i:]
					break
				}
			}
			p.report(fmt.Errorf("record %s failed; retrying", failed))
		}
		select {
		case <-ctx.Done():
			return it, "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return out.NextShardIterator, ev.Records[len(ev.Records)-1].Change.SequenceNumber, nil
}

func toLambda(r st.Record) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{
		EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventSource: aws.ToString(r.EventSource),
		EventVersion: aws.ToString(r.EventVersion), AWSRegion: aws.ToString(r.AwsRegion),
	}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{
			SequenceNumber: aws.ToString(d.SequenceNumber), StreamViewType: string(d.StreamViewType),
			Keys: imageToLambda(d.Keys), NewImage: imageToLambda(d.NewImage),
		}
		if d.SizeBytes != nil {
			rec.Change.SizeBytes = *d.SizeBytes
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return rec
}

func imageToLambda(img map[string]st.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if img == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(img))
	for k, v := range img {
		out[k] = valueToLambda(v)
	}
	return out
}

func valueToLambda(v st.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *st.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *st.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *st.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *st.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *st.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *st.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *st.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *st.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, e := range v.Value {
			l[i] = valueToLambda(e)
		}
		return events.NewListAttribute(l)
	case *st.AttributeValueMemberM:
		return events.NewMapAttribute(imageToLambda(v.Value))
	}
	return events.NewNullAttribute()
}
