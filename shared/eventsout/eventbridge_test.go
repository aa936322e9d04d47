package eventsout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/localaws"
)

// delivered is what a rule's SQS target received for one event.
type delivered struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

// TestEventBridgeAgreesWithTheSDK puts the same events on a bus of moto's
// EventBridge with the SDK's client and with the hand-written PutEvents,
// and compares what each answered and what the bus's rule delivered to its
// SQS target; then the same refused entries both ways.
func TestEventBridgeAgreesWithTheSDK(t *testing.T) {
	ctx := context.Background()
	sdk := localaws.EventBridge(t)
	lean := eventsout.NewEventBridge(localaws.Config(), localaws.Endpoint(t, "EVENTBRIDGE_ENDPOINT"))
	bus := fmt.Sprintf("switchboard-diff-%d", time.Now().UnixNano())
	sq := localaws.SQS(t)
	queue := localaws.BusToQueue(t, sdk, sq, bus, eventsout.Source)

	at := time.Date(2026, 12, 4, 21, 5, 7, 250_000_000, time.UTC)
	entries := func(way string) []eventsout.Entry {
		var out []eventsout.Entry
		for i, typ := range []string{eventsout.ConversationAssigned, "message.received", "csat.received"} {
			detail := fmt.Sprintf(`{"id":"evt_%s_%d","type":%q,"text":"ünïcode \"quoted\" <b>"}`, way, i, typ)
			out = append(out, eventsout.Entry{EventBusName: bus, Source: eventsout.Source, DetailType: typ, Detail: detail, Time: at.Add(time.Duration(i) * time.Second)})
		}
		return out
	}
	sdkEntries := entries("sdk")
	in := &eventbridge.PutEventsInput{}
	for _, e := range sdkEntries {
		in.Entries = append(in.Entries, ebtypes.PutEventsRequestEntry{EventBusName: aws.String(e.EventBusName), Source: aws.String(e.Source),
			DetailType: aws.String(e.DetailType), Detail: aws.String(e.Detail), Time: aws.Time(e.Time)})
	}
	want, err := sdk.PutEvents(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	results, failed, err := lean.PutEvents(ctx, entries("lean"))
	if err != nil {
		t.Fatal(err)
	}
	if failed != int(want.FailedEntryCount) || len(results) != len(want.Entries) || failed != 0 {
		t.Fatalf("answers: %d refused of %d, the SDK %d of %d", failed, len(results), want.FailedEntryCount, len(want.Entries))
	}
	for i, r := range results {
		if r.EventID == "" || r.ErrorCode != "" || aws.ToString(want.Entries[i].EventId) == "" {
			t.Errorf("entry %d: %+v, the SDK's id %q", i, r, aws.ToString(want.Entries[i].EventId))
		}
	}

	// What the rule delivered, by the way it was put.
	got := map[string]delivered{}
	for deadline := time.Now().Add(10 * time.Second); len(got) < 6 && time.Now().Before(deadline); {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &queue, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var d delivered
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &d); err != nil {
				t.Fatalf("delivered %s: %v", aws.ToString(m.Body), err)
			}
			var id struct{ ID string }
			_ = json.Unmarshal(d.Detail, &id)
			got[id.ID] = d
			_, _ = sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &queue, ReceiptHandle: m.ReceiptHandle})
		}
	}
	for i, e := range sdkEntries {
		s, l := got[fmt.Sprintf("evt_sdk_%d", i)], got[fmt.Sprintf("evt_lean_%d", i)]
		if s.Source == "" || l.Source == "" {
			t.Errorf("event %d: delivered the SDK's %+v, the hand-written %+v", i, s, l)
			continue
		}
		if l.Source != s.Source || l.DetailType != s.DetailType || l.Time != s.Time || l.DetailType != e.DetailType {
			t.Errorf("event %d: the hand-written delivered as %s %s at %s, the SDK's as %s %s at %s", i, l.Source, l.DetailType, l.Time, s.Source, s.DetailType, s.Time)
		}
		var sd, ld map[string]any
		_ = json.Unmarshal(s.Detail, &sd)
		_ = json.Unmarshal(l.Detail, &ld)
		if sd["text"] != ld["text"] || sd["type"] != ld["type"] || ld["text"] != `ünïcode "quoted" <b>` {
			t.Errorf("event %d: detail %s, the SDK's %s", i, l.Detail, s.Detail)
		}
	}

	// Refused: a detail that is not JSON; a bus that does not exist. Both
	// ways report the same, entry by entry or for the whole call.
	for _, bad := range []eventsout.Entry{
		{EventBusName: bus, Source: eventsout.Source, DetailType: "x", Detail: "not json", Time: at},
		{EventBusName: "no-such-bus-" + bus, Source: eventsout.Source, DetailType: "x", Detail: `{}`, Time: at},
	} {
		want, wantErr := sdk.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{EventBusName: aws.String(bad.EventBusName),
			Source: aws.String(bad.Source), DetailType: aws.String(bad.DetailType), Detail: aws.String(bad.Detail), Time: aws.Time(bad.Time)}}})
		results, failed, err := lean.PutEvents(ctx, []eventsout.Entry{bad})
		var sdkAPI smithy.APIError
		var leanAPI *config.APIError
		switch {
		case wantErr != nil || err != nil:
			if !errors.As(wantErr, &sdkAPI) || !errors.As(err, &leanAPI) || sdkAPI.ErrorCode() != leanAPI.Code {
				t.Errorf("%s: %v, the SDK %v", bad.EventBusName, err, wantErr)
			}
		case failed != int(want.FailedEntryCount) || failed != 1 || len(results) != 1 || results[0].ErrorCode == "" ||
			results[0].ErrorCode != aws.ToString(want.Entries[0].ErrorCode):
			t.Errorf("%q: %d refused %+v, the SDK %d %+v", bad.Detail, failed, results, want.FailedEntryCount, want.Entries)
		}
		t.Logf("refused %s %q: %+v %v", bad.EventBusName, bad.Detail, results, err)
	}
}

// TestEventBridgeRequestAndRefusals: the request is signed JSON 1.1 with
// PutEvents' target; a refusal is an error naming its code, not retried; a
// 5xx is tried three times.
func TestEventBridgeRequestAndRefusals(t *testing.T) {
	var calls atomic.Int32
	status := http.StatusBadRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var body struct {
			Entries []struct {
				EventBusName, Source, DetailType, Detail string
				Time                                     float64
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Entries) != 1 || body.Entries[0].Time != 1796418307.25 ||
			body.Entries[0].Source != eventsout.Source || body.Entries[0].EventBusName != "bus" {
			t.Errorf("body: %+v, %v", body, err)
		}
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			!strings.Contains(r.Header.Get("Authorization"), "/us-east-1/events/aws4_request") {
			t.Errorf("request: target %q, type %q, authorization %q", r.Header.Get("X-Amz-Target"), r.Header.Get("Content-Type"), r.Header.Get("Authorization"))
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"__type":"com.amazonaws.events#AccessDeniedException","message":"not authorized to perform events:PutEvents"}`)
	}))
	defer srv.Close()
	b := &eventsout.Bus{API: eventsout.NewEventBridge(localaws.Config(), srv.URL), Name: "bus"}
	ev := []eventsout.Event{{ID: "evt_1", Type: "message.received", Time: time.Unix(1796418307, 250_000_000)}}
	err := b.Publish(context.Background(), ev)
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || calls.Load() != 1 {
		t.Errorf("refused: %v after %d calls", err, calls.Load())
	}
	calls.Store(0)
	status = http.StatusServiceUnavailable
	if err := b.Publish(context.Background(), ev); err == nil || calls.Load() != 3 {
		t.Errorf("unavailable: %v after %d calls, want an error after 3", err, calls.Load())
	}
}
