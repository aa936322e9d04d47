package phone_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/phone"
)

func TestNational(t *testing.T) {
	for _, tt := range []struct {
		number, region, want string
		ok                   bool
	}{
		{"(415) 555-0100", "US", "+14155550100", true},
		{"1-415-555-0100", "US", "+14155550100", true},
		{"+44 7911 123456", "US", "+447911123456", true},
		{"07911 123456", "GB", "+447911123456", true},
		{"030 1234567", "DE", "+49301234567", true},
		{"12345", "US", "", false}, // a short code
		{"12", "US", "", false},
		{"+0123456789", "US", "", false},
	} {
		got, ok := phone.National(tt.number, tt.region)
		if got != tt.want || ok != tt.ok {
			t.Errorf("National(%q, %s) = %q, %v; want %q, %v", tt.number, tt.region, got, ok, tt.want, tt.ok)
		}
	}
}

// BenchmarkNational is what a number not in canonical E.164 costs (the
// canonical ones never get here: BenchmarkNormalizePhone).
func BenchmarkNational(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		if _, ok := phone.National("(415) 555-0123", "US"); !ok {
			b.Fatal("not read")
		}
	}
}

// TestOnlyTheTwilioIntakeLinksIt: the functions that never see a number
// outside E.164 must not pay phonenumbers' init (about 10 ms) and size
// (it about doubles a stripped binary); the Twilio intake does.
func TestOnlyTheTwilioIntakeLinksIt(t *testing.T) {
	links := map[string]bool{"messaging": true, "voice": true, "spill": true,
		"api": false, "fanout": false, "notifier": false, "sweeper": false, "email": false, "social": false, "chatsocket": false, "signin": false}
	for fn, want := range links {
		out, err := exec.Command("go", "list", "-deps", "../../functions/"+fn).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		if got := strings.Contains(string(out), "github.com/nyaruka/phonenumbers\n"); got != want {
			t.Errorf("functions/%s links nyaruka/phonenumbers: %v, want %v", fn, got, want)
		}
	}
}
