package wechat_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/wechat"
)

// FuzzPush feeds arbitrary bodies, correctly signed (plain mode), through
// the whole handler on the in-memory store, seeded with the corpus: each
// is answered "success" (200), 400 or 413, never a 5xx or a panic.
func FuzzPush(f *testing.F) {
	backends.Seed(f, corpus+"*.xml")
	now := time.Now()
	f.Fuzz(func(t *testing.T, body []byte) {
		w := newWorld(&testing.T{}, memstore.New(nil), wechat.Config{Now: func() time.Time { return now }})
		if code := w.do(http.MethodPost, signed(token, now), string(body)).Code; code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Fatalf("answered %d to %q", code, body)
		}
	})
}
