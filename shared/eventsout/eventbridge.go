package eventsout

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridgeAPI is the part of the EventBridge client the bus uses.
type EventBridgeAPI interface {
	PutEvents(context.Context, *eventbridge.PutEventsInput, ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Bus puts events on an EventBridge bus (EVENT_BUS_NAME): Source
// "switchboard", DetailType the event's type, Detail the whole event (its
// id is the consumer's dedupe key: a stream record applied again puts the
// same event again). PutEvents takes 10 entries a call.
type Bus struct {
	API  EventBridgeAPI
	Name string
}

// Publish implements Publisher. Entries EventBridge refuses (FailedEntryCount)
// are an error, so the stream retries the record.
func (b *Bus) Publish(ctx context.Context, evs []Event) error {
	for len(evs) > 0 {
		n := min(10, len(evs))
		entries := make([]types.PutEventsRequestEntry, 0, n)
		for _, e := range evs[:n] {
			detail, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode %s: %w", e.Type, err)
			}
			entries = append(entries, types.PutEventsRequestEntry{EventBusName: aws.String(b.Name), Source: aws.String(Source),
				DetailType: aws.String(e.Type), Detail: aws.String(string(detail)), Time: aws.Time(e.Time)})
		}
		evs = evs[n:]
		out, err := b.API.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put events: %w", err)
		}
		if out.FailedEntryCount > 0 {
			for _, r := range out.Entries {
				if r.ErrorCode != nil {
					return fmt.Errorf("put events: %d refused, first %s: %s", out.FailedEntryCount, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
				}
			}
			return fmt.Errorf("put events: %d refused", out.FailedEntryCount)
		}
	}
	return nil
}
