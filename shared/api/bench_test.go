package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/lambdatest"
	"github.com/switchboard/switchboard/shared/memstore"
)

// BenchmarkAgentReply is the api's work for an agent's SMS reply on the
// in-memory store (projected as the stream would, outside the timing): the
// bearer, the JSON body, the channel's rules on the timeline, the queued
// message keyed by its Idempotency-Key, the 202 with it.
func BenchmarkAgentReply(b *testing.B) {
	svc := &conversation.Service{Team: "support"}
	st := memstore.New(nil)
	svc.Store = st
	mux := http.NewServeMux()
	(&api.Handler{Store: st, Service: svc, Token: token, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}).Register(mux)
	ctx := context.Background()
	// Each reply answers its own customer, so that the timeline the rules
	// read is a conversation's, not b.N replies long.
	reqs := make([]*http.Request, b.N)
	for i := range reqs {
		id, _ := conversation.Normalizer{}.Phone(fmt.Sprintf("+1415%07d", i))
		res, err := svc.Ingest(ctx, conversation.Inbound{Key: fmt.Sprintf("twilio:SMb%d", i), Channel: conversation.ChannelSMS, From: id,
			FromAddress: id.Address, To: "+18005550100", Body: "Where is my order?", Provider: "twilio", ProviderMessageID: fmt.Sprintf("SMb%d", i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Project(ctx, res.Message); err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "/api/conversations/"+res.Message.ConversationID+"/messages",
			strings.NewReader(`{"body":"It ships on Monday; the tracking number follows by SMS."}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("reply-%d", i))
		reqs[i] = req
	}
	w := lambdatest.NewDiscard()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w.Code = 0
		mux.ServeHTTP(w, reqs[i])
		if w.Code != http.StatusAccepted {
			b.Fatalf("reply %d: status %d", i, w.Code)
		}
	}
}
