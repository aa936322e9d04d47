package eventsout

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard/switchboard/shared/config"
)

// Entry is one event for PutEvents. Time is sent as EventBridge's JSON
// protocol encodes timestamps: epoch seconds, to the millisecond.
type Entry struct {
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Time         time.Time
}

// EntryResult is PutEvents' answer for one entry: its id, or why it was
// refused.
type EntryResult struct {
	EventID, ErrorCode, ErrorMessage string
}

// EventBridgeAPI is PutEvents: the results, in the entries' order, and how
// many EventBridge refused.
type EventBridgeAPI interface {
	PutEvents(ctx context.Context, entries []Entry) (results []EntryResult, failed int, err error)
}

// EventBridge is PutEvents by hand (config.JSONService), not the SDK's
// eventbridge client: that client's schemas were 0.4 ms and 0.3 MB of
// package init in every function that links this package (the fan-out,
// the notifier, the sweeper), for its one operation. The SDK's client
// stays the reference: TestEventBridgeAgreesWithTheSDK puts the same
// events both ways on moto and compares what a rule's target received.
type EventBridge struct{ config.JSONService }

// NewEventBridge is the client for cfg's region and credentials, on
// endpoint (EVENTBRIDGE_ENDPOINT) when set.
func NewEventBridge(cfg aws.Config, endpoint string) *EventBridge {
	return &EventBridge{config.NewJSONService(cfg, "events", endpoint)}
}

// PutEvents implements EventBridgeAPI.
func (e *EventBridge) PutEvents(ctx context.Context, entries []Entry) ([]EntryResult, int, error) {
	type entry struct {
		EventBusName, Source, DetailType, Detail string
		Time                                     json.Number
	}
	in := struct{ Entries []entry }{make([]entry, len(entries))}
	for i, x := range entries {
		in.Entries[i] = entry{x.EventBusName, x.Source, x.DetailType, x.Detail, json.Number(fmt.Sprintf("%.3f", float64(x.Time.UnixMilli())/1000))}
	}
	var out struct {
		FailedEntryCount int
		Entries          []struct{ EventId, ErrorCode, ErrorMessage string }
	}
	if err := e.Call(ctx, "AWSEvents.PutEvents", in, &out); err != nil {
		return nil, 0, fmt.Errorf("put events: %w", err)
	}
	results := make([]EntryResult, len(out.Entries))
	for i, r := range out.Entries {
		results[i] = EntryResult{EventID: r.EventId, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
	}
	return results, out.FailedEntryCount, nil
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
		entries := make([]Entry, 0, n)
		for _, e := range evs[:n] {
			detail, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode %s: %w", e.Type, err)
			}
			entries = append(entries, Entry{EventBusName: b.Name, Source: Source, DetailType: e.Type, Detail: string(detail), Time: e.Time})
		}
		evs = evs[n:]
		results, failed, err := b.API.PutEvents(ctx, entries)
		if err != nil {
			return err
		}
		if failed > 0 {
			for _, r := range results {
				if r.ErrorCode != "" {
					return fmt.Errorf("put events: %d refused, first %s: %s", failed, r.ErrorCode, r.ErrorMessage)
				}
			}
			return fmt.Errorf("put events: %d refused", failed)
		}
	}
	return nil
}
