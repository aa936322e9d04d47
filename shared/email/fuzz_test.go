package email

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the MIME reader, seeded with the real
// messages of ../shared/corpus and our client fixtures: it refuses with
// ErrMalformed or accepts, never panics, and an accepted message has a
// sender and a reply no longer than its text.
func FuzzParse(f *testing.F) {
	var files []string
	for _, g := range []string{"../../../shared/corpus/email/*.eml", "../../../shared/corpus/ses/real-mozilla-relay/*.email", "testdata/*.eml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		type result struct {
			p   *Parsed
			err error
		}
		done := make(chan result, 1)
		go func() { p, err := Parse(bytes.NewReader(raw)); done <- result{p, err} }()
		var r result
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("Parse took over 5 s on %d bytes", len(raw))
		}
		p, err := r.p, r.err
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("an error that is not ErrMalformed: %v", err)
			}
			return
		}
		if p.From == nil || p.From.Address == "" {
			t.Fatal("accepted a message without a sender")
		}
		if len(p.Reply) > len(p.Text) {
			t.Fatalf("reply (%d bytes) longer than the text (%d)", len(p.Reply), len(p.Text))
		}
	})
}
