package meta_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/lambdatest"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/meta"
)

// batch50 is a WhatsApp Cloud delivery of 50 text messages (Meta batches
// up to 1 000 changes; 50 is a busy second), from 50 customers.
func batch50(round int) []byte {
	var msgs []string
	for i := range 50 {
		msgs = append(msgs, fmt.Sprintf(`{"from":"1650555%04d","id":"wamid.bench%d.%d","timestamp":"1733000000","type":"text","text":{"body":"Where is my order %d?"}}`, i, round, i, i))
	}
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550001111","phone_number_id":"PN1"},"messages":[` + strings.Join(msgs, ",") + `]}}]}]}`)
}

// BenchmarkMetaBatch50 is the whole Meta handler for a signed 50-message
// WhatsApp Cloud batch on the in-memory store (every customer known after
// the warm-up): read, verify the HMAC-SHA256, decode, normalize, ingest 50,
// answer. It reports the cost per event too. Run with GOMAXPROCS=1.
func BenchmarkMetaBatch50(b *testing.B) {
	svc := &conversation.Service{Store: memstore.New(nil), Team: "support"}
	mux := http.NewServeMux()
	meta.NewHandler(meta.Config{AppSecret: secret, VerifyToken: verifyToken, Service: svc,
		Normalizer: conversation.Normalizer{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}).Register(mux)
	bodies := make([][]byte, b.N+1)
	for i := range bodies {
		bodies[i] = batch50(i)
	}
	lambdatest.ServeLoop(b, func(i int) {
		body := bodies[i]
		req, _ := http.NewRequest(http.MethodPost, meta.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", meta.Sign(secret, body))
		w := lambdatest.NewDiscard()
		mux.ServeHTTP(w, req)
		if w.Code != 0 && w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*50), "ns/event")
}
