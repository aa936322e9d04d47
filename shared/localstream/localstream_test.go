package localstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	dstypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/switchboard/switchboard/shared/localstream"
)

// trimmingStreams answers GetRecords on its first iterator with
// TrimmedDataAccessException (what DynamoDB Local did to an iterator taken
// on an empty shard, stalling a CI run), then serves one record.
type trimmingStreams struct {
	iterators int
	asked     []string
}

func (f *trimmingStreams) DescribeStream(context.Context, *dynamodbstreams.DescribeStreamInput, ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: &dstypes.StreamDescription{Shards: []dstypes.Shard{{ShardId: aws.String("s1")}}}}, nil
}

func (f *trimmingStreams) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.iterators++
	f.asked = append(f.asked, string(in.ShardIteratorType))
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprint("it", f.iterators))}, nil
}

func (f *trimmingStreams) GetRecords(_ context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	switch aws.ToString(in.ShardIterator) {
	case "it1":
		return nil, &dstypes.TrimmedDataAccessException{Message: aws.String("read past the oldest stream record")}
	case "it2":
		return &dynamodbstreams.GetRecordsOutput{NextShardIterator: aws.String("it2-next"), Records: []dstypes.Record{{
			EventName: dstypes.OperationTypeInsert, Dynamodb: &dstypes.StreamRecord{SequenceNumber: aws.String("100")}}}}, nil
	}
	return &dynamodbstreams.GetRecordsOutput{NextShardIterator: in.ShardIterator}, nil
}

func TestPollerRecoversFromATrimmedIterator(t *testing.T) {
	f := &trimmingStreams{}
	got := make(chan string, 10)
	p := &localstream.Poller{Streams: f, StreamARN: "arn", Interval: time.Millisecond,
		Handle: func(_ context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			for _, r := range ev.Records {
				got <- r.Change.SequenceNumber
			}
			return events.DynamoDBEventResponse{}, nil
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { _ = p.Run(ctx) }()
	select {
	case seq := <-got:
		if seq != "100" {
			t.Errorf("record %s", seq)
		}
	case <-ctx.Done():
		t.Fatalf("the poller never got past the trimmed iterator (iterators asked: %v)", f.asked)
	}
}
