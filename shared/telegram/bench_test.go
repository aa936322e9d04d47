package telegram_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/lambdatest"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/telegram"
)

// BenchmarkTelegramUpdate is the whole Telegram handler for one text
// update from a known chat on the in-memory store: check the secret token,
// decode, ingest, answer. Run with GOMAXPROCS=1.
func BenchmarkTelegramUpdate(b *testing.B) {
	svc := &conversation.Service{Store: memstore.New(nil), Team: "support"}
	h, err := telegram.NewHandler(telegram.Config{SecretToken: secret, Service: svc, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	bodies := make([][]byte, b.N+1)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":1733000000,"chat":{"id":7001,"type":"private"},`+
			`"from":{"id":7001,"is_bot":false,"first_name":"Ana","language_code":"es"},"text":"Hola, ¿dónde está mi pedido %d?"}}`, 10000+i, i+1, i)
	}
	lambdatest.ServeLoop(b, func(i int) {
		body := bodies[i]
		req, _ := http.NewRequest(http.MethodPost, telegram.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(telegram.SecretHeader, secret)
		w := lambdatest.NewDiscard()
		mux.ServeHTTP(w, req)
		if w.Code != 0 && w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	})
}
