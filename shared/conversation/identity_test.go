package conversation_test

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
)

func TestNormalizerPhone(t *testing.T) {
	n := conversation.Normalizer{DefaultRegion: "US"}
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
	// A national number reads in the configured region.
	gb := conversation.Normalizer{DefaultRegion: "GB"}
	if got, err := gb.Phone("07911 123456"); err != nil || got != phone("+447911123456") {
		t.Errorf("GB national: %v, %v", got, err)
	}
	for _, bad := range []string{"", "  ", "whatsapp:", "client:"} {
		if _, err := n.Phone(bad); !errors.Is(err, conversation.ErrBadAddress) {
			t.Errorf("Phone(%q): err = %v, want ErrBadAddress", bad, err)
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
