package thread

import (
	"net/mail"
	"testing"
)

const cv = "cv_019aa1b2c3d4e5f60718293a4b5c6d7e"

func TestAddressAndSESMessageID(t *testing.T) {
	if got := Address("support@example.com", cv); got != "support+"+cv+"@example.com" {
		t.Errorf("ReplyAddress = %q", got)
	}
	for id, want := range map[string]string{
		"0100019a-1@email.amazonses.com":     "0100019a-1",
		"0100019a-2@eu-west-1.amazonses.com": "0100019a-2",
		"CAFirst.1@mail.gmail.com":           "",
		"x@notamazonses.com":                 "",
	} {
		if got := SESMessageID(id); got != want {
			t.Errorf("SESMessageID(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestToken(t *testing.T) {
	for addr, want := range map[string]string{
		"support+" + cv + "@example.com":  cv,
		"Support+" + cv + "@Example.com":  cv,
		"support@example.com":             "",
		"support+cv_short@example.com":    "",
		"support+" + cv + "x@example.com": "",
	} {
		if got := Token(nil, &mail.Address{Address: addr}); got != want {
			t.Errorf("Token(%q) = %q, want %q", addr, got, want)
		}
	}
}
