package xdm_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/xdm"
)

// FuzzWebhook feeds arbitrary bodies, correctly signed, through the whole
// handler on the in-memory store, seeded with the corpus: each is answered
// 200 (stored or a documented no-op), 400 or 413, never a 5xx or a panic.
func FuzzWebhook(f *testing.F) {
	files, _ := filepath.Glob(corpus + "*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := newWorld(&testing.T{}, memstore.New(nil), secret)
		if code := w.post(body, xdm.Sign(secret, body)); code != http.StatusOK && code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Fatalf("answered %d to %q", code, body)
		}
	})
}
