package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
)

func messageRecord(seq, conv, key string) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq,
		NewImage: map[string]events.DynamoDBAttributeValue{
			"type": events.NewStringAttribute(store.TypeMessage), "key": events.NewStringAttribute(key),
			"conversationId": events.NewStringAttribute(conv),
		},
	}}
}

// orderStore records, per conversation, the keys projected in order; a
// key in fail fails. With barrier > 0 each Project waits until that many
// are in flight at once (or gives up after a while and says so).
type orderStore struct {
	conversation.Store
	mu       sync.Mutex
	seen     map[string][]string
	fail     string
	barrier  int
	inFlight int
	all      chan struct{}
}

func (o *orderStore) Project(_ context.Context, m conversation.Message, _ time.Duration, _ time.Time) (conversation.Conversation, error) {
	o.mu.Lock()
	o.seen[m.ConversationID] = append(o.seen[m.ConversationID], m.Key)
	o.inFlight++
	if o.barrier > 0 && o.inFlight == o.barrier {
		close(o.all)
	}
	o.mu.Unlock()
	if o.barrier > 0 {
		select {
		case <-o.all:
		case <-time.After(10 * time.Second):
			return conversation.Conversation{}, errors.New("never had the others alongside")
		}
	}
	if m.Key == o.fail {
		return conversation.Conversation{}, errors.New("throttled")
	}
	return conversation.Conversation{ID: m.ConversationID}, nil
}

// TestHandleStopsOnlyTheFailingConversation: a failure stops its own
// conversation's later records and is the one reported; another
// conversation's records in the same batch are all applied, in order.
func TestHandleStopsOnlyTheFailingConversation(t *testing.T) {
	st := &orderStore{seen: map[string][]string{}, fail: "a2"}
	h := &stream.Handler{Service: &conversation.Service{Store: st}}
	recs := []events.DynamoDBEventRecord{messageRecord("1", "cv_a", "a1"), messageRecord("2", "cv_b", "b1"), messageRecord("3", "cv_a", "a2"),
		messageRecord("4", "cv_b", "b2"), messageRecord("5", "cv_a", "a3"), messageRecord("6", "cv_b", "b3")}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "3" {
		t.Errorf("failures = %+v, want [3] (a2, the earliest)", resp.BatchItemFailures)
	}
	if got := strings.Join(st.seen["cv_a"], ","); got != "a1,a2" {
		t.Errorf("cv_a projected %s, want a1,a2 and a stop", got)
	}
	if got := strings.Join(st.seen["cv_b"], ","); got != "b1,b2,b3" {
		t.Errorf("cv_b projected %s, want b1,b2,b3 in order", got)
	}
}

// TestHandleAppliesConversationsSideBySide: four conversations' records
// are in flight at once (each waits for the others), while each
// conversation's own stay in order.
func TestHandleAppliesConversationsSideBySide(t *testing.T) {
	st := &orderStore{seen: map[string][]string{}, barrier: 4, all: make(chan struct{})}
	h := &stream.Handler{Service: &conversation.Service{Store: st}}
	var recs []events.DynamoDBEventRecord
	for i := range 12 {
		c := fmt.Sprint("cv_", i%4)
		recs = append(recs, messageRecord(fmt.Sprint(i+1), c, fmt.Sprintf("%s-%02d", c, i)))
	}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: recs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("%+v, %v", resp, err)
	}
	for c, keys := range st.seen {
		if len(keys) != 3 || !slices.IsSorted(keys) {
			t.Errorf("%s projected %v, want its 3 in order", c, keys)
		}
	}
}
