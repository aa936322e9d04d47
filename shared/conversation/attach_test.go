package conversation

import (
	"net/http"
	"strings"
	"testing"
)

func TestSafeFilename(t *testing.T) {
	for in, want := range map[string]string{
		"receipt.pdf":           "receipt.pdf",
		"../../etc/passwd":      "passwd",
		`C:\Users\ana\scan.png`: "scan.png",
		"a\x00b\r\n.png":        "a_b__.png",
		`"quoted"<x>.png`:       "_quoted__x_.png",
		"..":                    "",
		"":                      "",
		"Fotografía 1.jpg":      "Fotografía 1.jpg",
		strings.Repeat("é", 80): strings.Repeat("é", 50),
	} {
		if got := SafeFilename(in); got != want {
			t.Errorf("SafeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckMedia(t *testing.T) {
	png := Media{Key: "uploads/x/a.png", ContentType: "image/png", Size: 1000}
	gif := Media{Key: "uploads/x/a.gif", ContentType: "image/gif", Size: 1000}
	mp3 := Media{Key: "uploads/x/a.mp3", ContentType: "audio/mpeg", Size: 1000}
	big := Media{Key: "uploads/x/b.png", ContentType: "image/png", Size: 3 << 20}
	ten := make([]Media, 11)
	for i := range ten {
		ten[i] = png
	}
	for _, c := range []struct {
		route Channel
		body  string
		media []Media
		code  string // "" accepted
		http  int
	}{
		{ChannelSMS, "photo", []Media{png, png}, "", 0},
		{ChannelSMS, "", ten[:10], "", 0},
		{ChannelSMS, "", ten, "too_many_media", http.StatusBadRequest},
		{ChannelSMS, "", []Media{big, big}, "media_too_large", http.StatusRequestEntityTooLarge},
		{ChannelEmail, "", []Media{big, big, big}, "", 0},
		{ChannelEmail, "", []Media{big, big, big, big}, "media_too_large", http.StatusRequestEntityTooLarge},
		{ChannelTelegram, "caption", []Media{png}, "", 0},
		{ChannelTelegram, "", []Media{png, png}, "too_many_media", http.StatusBadRequest},
		{ChannelTelegram, strings.Repeat("x", 1025), []Media{png}, "caption_too_long", http.StatusBadRequest},
		{ChannelMessenger, "", []Media{png}, "", 0},
		{ChannelMessenger, "look", []Media{png}, "media_with_text", http.StatusBadRequest},
		{ChannelInstagram, " look ", []Media{png}, "media_with_text", http.StatusBadRequest},
		{ChannelWhatsApp, "caption", []Media{png}, "", 0},
		{ChannelWhatsApp, "", []Media{gif}, "media_type", http.StatusUnsupportedMediaType},
		{RouteWhatsAppCloud, "listen", []Media{mp3}, "media_with_text", http.StatusBadRequest},
		{RouteWhatsAppCloud, "", []Media{mp3}, "", 0},
		{ChannelSMS, "no media", nil, "", 0},
	} {
		err := CheckMedia(c.route, c.body, c.media)
		me, _ := err.(*MediaError)
		switch {
		case c.code == "" && err != nil:
			t.Errorf("%s %d media: refused %v", c.route, len(c.media), err)
		case c.code != "" && (me == nil || me.Code != c.code || me.Status != c.http):
			t.Errorf("%s %d media body %d chars: %v, want %s %d", c.route, len(c.media), len(c.body), err, c.code, c.http)
		}
	}
}

func TestCheckUpload(t *testing.T) {
	if err := CheckUpload("image/PNG; charset=binary", 10); err != nil {
		t.Errorf("parameters and case: %v", err)
	}
	for ct, size := range map[string]int64{"text/html": 10, "image/svg+xml": 10, "image/jpeg": MaxUploadBytes + 1, "application/pdf": -1} {
		if CheckUpload(ct, size) == nil {
			t.Errorf("CheckUpload(%s, %d) accepted", ct, size)
		}
	}
}
