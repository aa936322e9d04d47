package telegram_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/shared/telegram"
)

// FuzzParse feeds arbitrary bodies to the update parser, seeded with the
// official samples: it refuses or accepts, never panics, and an accepted
// update has an update_id.
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
		u, err := telegram.Parse(body)
		if err == nil && u.UpdateID == 0 {
			t.Fatal("accepted an update without update_id")
		}
	})
}
