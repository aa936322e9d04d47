package meta_test

import (
	"testing"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/meta"
)

// FuzzParse feeds arbitrary bodies to the Meta parser and flattener, seeded
// with every Meta payload of ../shared/corpus: never a panic, and every
// message it yields has a key and an identity.
func FuzzParse(f *testing.F) {
	backends.Seed(f, corpus+"*.json")
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
