package conversation_test

import (
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
)

// BenchmarkNormalizePhone is the per-message cost of E.164 normalization.
func BenchmarkNormalizePhone(b *testing.B) {
	n := conversation.Normalizer{DefaultRegion: "US"}
	b.ReportAllocs()
	for range b.N {
		if _, err := n.Phone("whatsapp:+14155550123"); err != nil {
			b.Fatal(err)
		}
	}
}
