package telegram_test

import (
	"testing"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/telegram"
)

// FuzzParse feeds arbitrary bodies to the update parser, seeded with the
// official samples: it refuses or accepts, never panics, and an accepted
// update has an update_id.
func FuzzParse(f *testing.F) {
	backends.Seed(f, corpus+"*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		u, err := telegram.Parse(body)
		if err == nil && u.UpdateID == 0 {
			t.Fatal("accepted an update without update_id")
		}
	})
}
