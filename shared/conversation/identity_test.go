package conversation_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	phonelib "github.com/switchboard/switchboard/shared/phone"
)

func TestNormalizerPhone(t *testing.T) {
	n := phonelib.Normalizer("US")
	phone := func(a string) conversation.Identity {
		return conversation.Identity{Kind: conversation.KindPhone, Address: a}
	}
	tests := []struct {
		raw  string
		want conversation.Identity
	}{
		{"+14155550100", phone("+14155550100")},
		{"whatsapp:+14155550100", phone("+14155550100")},
		{"WhatsApp:+14155550100", phone("+14155550100")},
		{" tel:+1 (415) 555-0100 ", phone("+14155550100")},
		{"(415) 555-0100", phone("+14155550100")},
		{"+447911123456", phone("+447911123456")},
		{"+44 7911 123456", phone("+447911123456")},
		{"+0123456789", conversation.Identity{Kind: conversation.KindAddress, Address: "+0123456789"}},
		{"client:alice", conversation.Identity{Kind: conversation.KindClient, Address: "alice"}},
		{"Anonymous", conversation.Identity{Kind: conversation.KindAddress, Address: "anonymous"}},
		{"MyShop", conversation.Identity{Kind: conversation.KindAddress, Address: "myshop"}},
		{"12", conversation.Identity{Kind: conversation.KindAddress, Address: "12"}},
	}
	for _, tt := range tests {
		got, err := n.Phone(tt.raw)
		if err != nil || got != tt.want {
			t.Errorf("Phone(%q) = %v, %v; want %v", tt.raw, got, err, tt.want)
		}
	}
	// The canonical fast path and phonenumbers agree on canonical input.
	for _, e164 := range []string{"+14155550100", "+447911123456", "+5511987654321", "+81312345678", "+390612345678"} {
		fast, _ := n.Phone(e164)
		slow, _ := n.Phone("tel: " + e164[:4] + " " + e164[4:]) // not canonical: parsed by phonenumbers
		if fast != slow || fast != phone(e164) {
			t.Errorf("%s: fast path %v, phonenumbers %v", e164, fast, slow)
		}
	}
	// A national number reads in the configured region.
	gb := phonelib.Normalizer("GB")
	if got, err := gb.Phone("07911 123456"); err != nil || got != phone("+447911123456") {
		t.Errorf("GB national: %v, %v", got, err)
	}
	for _, bad := range []string{"", "  ", "whatsapp:", "client:"} {
		if _, err := n.Phone(bad); !errors.Is(err, conversation.ErrBadAddress) {
			t.Errorf("Phone(%q): err = %v, want ErrBadAddress", bad, err)
		}
	}
}

// TestNormalizerWithoutNational: a function that links no phone library
// keeps canonical E.164 and makes every other form an address identity (it
// never guesses a country).
func TestNormalizerWithoutNational(t *testing.T) {
	n := conversation.Normalizer{DefaultRegion: "US"}
	for raw, want := range map[string]string{
		"+14155550100":          "phone:+14155550100",
		"whatsapp:+14155550100": "phone:+14155550100",
		"(415) 555-0100":        "address:(415) 555-0100",
		"+44 7911 123456":       "address:+44 7911 123456",
		"MyShop":                "address:myshop",
	} {
		if got, err := n.Phone(raw); err != nil || got.Key() != want {
			t.Errorf("Phone(%q) = %v, %v; want %s", raw, got.Key(), err, want)
		}
	}
}

func TestNormalizerEmailAndPlatform(t *testing.T) {
	var n conversation.Normalizer
	if got, err := n.Email("  Ana@Example.COM "); err != nil || got.Key() != "email:ana@example.com" {
		t.Errorf("Email = %v, %v", got, err)
	}
	for _, bad := range []string{"", "ana", "@example.com", "ana@"} {
		if _, err := n.Email(bad); !errors.Is(err, conversation.ErrBadAddress) {
			t.Errorf("Email(%q): err = %v", bad, err)
		}
	}
	if got, err := n.Platform(conversation.KindTelegram, "42"); err != nil || got.Key() != "telegram:42" {
		t.Errorf("Platform = %v, %v", got, err)
	}
	if _, err := n.Platform(conversation.KindMessenger, " "); !errors.Is(err, conversation.ErrBadAddress) {
		t.Errorf("empty platform id: %v", err)
	}
}

func TestMessagePreview(t *testing.T) {
	long := ""
	for range 100 {
		long += "a"
	}
	tests := []struct {
		m    conversation.Message
		want string
	}{
		{conversation.Message{Body: "line one\nline two"}, "line one line two"},
		{conversation.Message{Body: long}, long[:79] + "…"},
		{conversation.Message{Media: []conversation.Media{{ContentType: "image/png"}}}, "[image/png]"},
	}
	for _, tt := range tests {
		if got := tt.m.Preview(); got != tt.want {
			t.Errorf("Preview(%q) = %q, want %q", tt.m.Body, got, tt.want)
		}
	}
}

func TestCursorOrdersByTimeAndIsShort(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	a := conversation.Message{Key: "twilio:SMzzz", CreatedAt: t0}
	b := conversation.Message{Key: "twilio:SMaaa", CreatedAt: t0.Add(time.Nanosecond)}
	c := conversation.Message{Key: "twilio:SMaaa", CreatedAt: t0.Add(time.Hour * 24 * 365 * 50)}
	if !(a.Cursor() < b.Cursor() && b.Cursor() < c.Cursor()) {
		t.Errorf("cursors out of time order: %s %s %s", a.Cursor(), b.Cursor(), c.Cursor())
	}
	if len(a.Cursor()) != 30 || a.Cursor() == (&conversation.Message{Key: "twilio:SMzzy", CreatedAt: t0}).Cursor() {
		t.Errorf("cursor %q: want 30 bytes, distinct per key", a.Cursor())
	}
}

// TestSameSecondBurstKeepsItsOrder: six messages a provider stamped with one
// second (Telegram, WhatsApp Cloud, LINE) sort by their sequence, whatever
// their keys hash to, and the summary previews the last one.
func TestSameSecondBurstKeepsItsOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var ms []conversation.Message
	for i, key := range []string{"telegram:906", "telegram:904", "telegram:905", "telegram:902", "telegram:903", "telegram:901"} {
		ms = append(ms, conversation.Message{ID: key, Key: key, CreatedAt: t0, Seq: int64(901 + (5 - i)), Body: key,
			Direction: conversation.DirectionInbound, Channel: conversation.ChannelTelegram})
	}
	// Seq is 906, 905, …: the order the customer sent them is the reverse of the slice.
	var c conversation.Conversation
	for i := range ms { // arrival order: any
		c.Apply(&ms[i], 0)
	}
	conversation.SortMessages(ms)
	for i, m := range ms {
		if m.Seq != int64(901+i) {
			t.Fatalf("position %d has seq %d: %v", i, m.Seq, ms)
		}
	}
	if c.LastPreview != ms[5].Body || c.Unread != 6 {
		t.Errorf("preview %q unread %d, want %q and 6", c.LastPreview, c.Unread, ms[5].Body)
	}
}

// TestArrivedAtDistrustsOddProviderClocks: latency runs from the provider's
// time unless it lies after the receive time or days before it (a 2015
// sample replayed today), then from the receive time.
func TestArrivedAtDistrustsOddProviderClocks(t *testing.T) {
	recv := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		created time.Time
		want    time.Time
	}{
		{"a second before", recv.Add(-time.Second), recv.Add(-time.Second)},
		{"in the future", recv.Add(time.Hour), recv},
		{"eleven years old", time.Date(2015, 9, 7, 17, 0, 0, 0, time.UTC), recv},
	} {
		m := conversation.Message{CreatedAt: c.created, ReceivedAt: recv}
		if got := m.ArrivedAt(); !got.Equal(c.want) {
			t.Errorf("%s: ArrivedAt = %v, want %v", c.name, got, c.want)
		}
	}
	if m := (conversation.Message{CreatedAt: recv}); !m.ArrivedAt().Equal(recv) {
		t.Errorf("without a receive time: %v", m.ArrivedAt())
	}
}
