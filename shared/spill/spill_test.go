package spill_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/switchboard/switchboard/shared/spill"
	"github.com/switchboard/switchboard/shared/webhook"
)

type fakeSQS struct{ bodies []string }

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.bodies = append(f.bodies, *in.MessageBody)
	return &sqs.SendMessageOutput{}, nil
}

// TestQueueKeepsTheRequestAndRefusesTheOversize: a spill is one message
// holding the request as the consumer reads it back; one over SQS's limit
// is refused (and the provider then gets the 5xx).
func TestQueueKeepsTheRequestAndRefusesTheOversize(t *testing.T) {
	f := &fakeSQS{}
	q := &spill.Queue{API: f, URL: "https://sqs.example/q"}
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	in := webhook.Spilled{Method: "POST", Path: "/webhooks/meta", ContentType: "application/json", Body: []byte(`{"object":"page"}`), ReceivedAt: at}
	if err := q.Spill(context.Background(), in); err != nil || len(f.bodies) != 1 {
		t.Fatalf("spill: %v, %d messages", err, len(f.bodies))
	}
	var out webhook.Spilled
	if err := json.Unmarshal([]byte(f.bodies[0]), &out); err != nil || out.Path != in.Path || string(out.Body) != string(in.Body) || !out.ReceivedAt.Equal(at) {
		t.Errorf("kept %+v, %v", out, err)
	}
	big := in
	big.Body = []byte(strings.Repeat("x", spill.MaxMessage))
	if err := q.Spill(context.Background(), big); !errors.Is(err, spill.ErrTooLarge) || len(f.bodies) != 1 {
		t.Errorf("oversize spill: %v, %d messages", err, len(f.bodies))
	}
}

// TestConsumerReportsWhatIsNotStoredYet: a 2xx replay is done; a 5xx, or an
// undecodable record, is a batch item failure for SQS to redeliver; each
// replay carries its first receive time.
func TestConsumerReportsWhatIsNotStoredYet(t *testing.T) {
	at := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	var seen []time.Time
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ok", func(w http.ResponseWriter, r *http.Request) { seen = append(seen, webhook.ReceivedAt(r)) })
	mux.HandleFunc("POST /down", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusInternalServerError) })
	rec := func(id, path string) events.SQSMessage {
		b, _ := json.Marshal(webhook.Spilled{Method: "POST", Path: path, Body: []byte("x"), ReceivedAt: at})
		return events.SQSMessage{MessageId: id, Body: string(b)}
	}
	c := &spill.Consumer{Handler: mux}
	resp, err := c.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{rec("a", "/ok"), rec("b", "/down"), {MessageId: "c", Body: "{"}, rec("d", "/ok")}})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if strings.Join(failed, ",") != "b,c" {
		t.Errorf("failures %v, want b,c", failed)
	}
	if len(seen) != 2 || !seen[0].Equal(at) {
		t.Errorf("replayed receive times %v, want %v twice", seen, at)
	}
}
