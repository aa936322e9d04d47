package xdm_test

import (
	"net/http"
	"testing"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/xdm"
)

// FuzzWebhook feeds arbitrary bodies, correctly signed, through the whole
// handler on the in-memory store, seeded with the corpus: each is answered
// 200 (stored or a documented no-op), 400 or 413, never a 5xx or a panic.
func FuzzWebhook(f *testing.F) {
	backends.Seed(f, corpus+"*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		w := newWorld(&testing.T{}, memstore.New(nil), secret)
		if code := w.post(body, xdm.Sign(secret, body)); code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Fatalf("answered %d to %q", code, body)
		}
	})
}
