package twilio_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/lambdatest"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/twilio"
)

// signedRequests makes n distinct signed inbound SMS from one customer, ready
// to serve, so that building and signing them is not measured.
func signedRequests(b *testing.B, n int) []*http.Request {
	b.Helper()
	tmpl := fixture(&testing.T{}, "sms-inbound.form")
	reqs := make([]*http.Request, n)
	for i := range reqs {
		sid := fmt.Sprintf("SM%032x", i+1)
		reqs[i] = signedPost(twilio.MessagingPath, strings.ReplaceAll(tmpl, "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", sid))
	}
	return reqs
}

// signedPost is a Twilio webhook POST of the form body to path, signed as
// Twilio signs it.
func signedPost(path, body string) *http.Request {
	form, _ := url.ParseQuery(body)
	req, _ := http.NewRequest(http.MethodPost, "http://internal"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(token, base+path, form))
	return req
}

// BenchmarkInboundSMS is the whole handler for a new message from a known
// contact on the in-memory store: read, verify, parse, normalize, ingest,
// log, answer. Run with GOMAXPROCS=1 (scripts/bench.sh does).
func BenchmarkInboundSMS(b *testing.B) {
	svc := &conversation.Service{Store: memstore.New(nil), Team: "support"}
	h, err := twilio.NewHandler(twilio.Config{
		Verifier: twilio.NewVerifier(token), Service: svc, Normalizer: conversation.Normalizer{},
		PublicBaseURL: base, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	// The contact and its conversation exist: this is the common case.
	reqs := signedRequests(b, b.N+1)
	w := lambdatest.NewDiscard()
	lambdatest.ServeLoop(b, func(i int) {
		w.Code = 0
		h.Messaging(w, reqs[i])
		if w.Code != 0 {
			b.Fatalf("status %d", w.Code)
		}
	})
	b.StopTimer()
	cs, _ := conversation.All(context.Background(), svc.Store, conversation.StatusOpen)
	if len(cs) != 1 {
		b.Fatalf("conversations = %d, want 1", len(cs))
	}
}

// BenchmarkFloor is the least any Twilio webhook must do: read and parse the
// form, check the signature, write an empty TwiML answer.
func BenchmarkFloor(b *testing.B) {
	v := twilio.NewVerifier(token)
	empty := []byte(emptyTwiML)
	reqs := signedRequests(b, b.N)
	w := lambdatest.NewDiscard()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := twilio.VerifiedForm(reqs[i], v, base, 0); err != nil {
			b.Fatal(err)
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(empty)
	}
}

// BenchmarkVoiceCall is the whole voice webhook for an incoming call from a
// known caller while the team is open, on the in-memory store: verify,
// parse, ingest the call, answer the TwiML that rings the agent.
func BenchmarkVoiceCall(b *testing.B) {
	rt, err := routing.Parse([]byte(routingDoc(true)))
	if err != nil {
		b.Fatal(err)
	}
	svc := &conversation.Service{Store: memstore.New(nil), Team: "support"}
	mux := http.NewServeMux()
	twilio.NewVoiceHandler(twilio.VoiceConfig{Verifier: twilio.NewVerifier(token), Service: svc, PublicBaseURL: base, Routing: rt,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}).Register(mux)
	reqs := make([]*http.Request, b.N+1)
	for i := range reqs {
		reqs[i] = signedPost(twilio.VoicePath, callForm("CallSid", fmt.Sprintf("CA%032x", i+1)).Encode())
	}
	w := lambdatest.NewDiscard()
	lambdatest.ServeLoop(b, func(i int) {
		mux.ServeHTTP(w, reqs[i])
		if w.Code != 0 {
			b.Fatalf("status %d", w.Code)
		}
	})
}
