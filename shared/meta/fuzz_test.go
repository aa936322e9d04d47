package meta_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/meta"
)

// FuzzParse feeds arbitrary bodies to the Meta parser and flattener, seeded
// with every Meta payload of ../shared/corpus: never a panic, and every
// message it yields has a key and an identity.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(corpus + "*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := meta.Parse(body)
		if err != nil {
			return
		}
		for _, ev := range meta.Events(env, conversation.Normalizer{DefaultRegion: "US"}) {
			if m := ev.Message; m != nil && (m.Key == "" || m.From.IsZero() || m.Provider != meta.Provider) {
				t.Fatalf("message without key or identity: %+v", m)
			}
		}
	})
}
