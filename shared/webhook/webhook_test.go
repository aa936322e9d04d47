package webhook_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/webhook"
)

func TestURLUsesPublicBaseNotHost(t *testing.T) {
	tests := []struct{ base, target, want string }{
		{"https://hooks.example.com", "/webhooks/twilio/messaging", "https://hooks.example.com/webhooks/twilio/messaging"},
		{"https://hooks.example.com/", "/webhooks/twilio/messaging?a=1&b=two%20words", "https://hooks.example.com/webhooks/twilio/messaging?a=1&b=two%20words"},
		{"http://127.0.0.1:3000", "/x/y%2Fz", "http://127.0.0.1:3000/x/y%2Fz"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, tt.target, nil)
		r.Host = "attacker.example"
		if got := webhook.URL(tt.base, r); got != tt.want {
			t.Errorf("URL(%q, %q) = %q, want %q", tt.base, tt.target, got, tt.want)
		}
	}
}

func TestReadBodyCap(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("12345"))
	if b, err := webhook.ReadBody(r, 5); err != nil || string(b) != "12345" {
		t.Errorf("at the cap: %q, %v", b, err)
	}
	for _, declared := range []int64{6, -1} { // declared too long, and unknown length (chunked)
		r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("123456"))
		r.ContentLength = declared
		_, err := webhook.ReadBody(r, 5)
		var e *webhook.Error
		if !errors.As(err, &e) || e.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("over the cap (length %d): %v", declared, err)
		}
	}
}

func TestFailMapsErrors(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	r := httptest.NewRequest(http.MethodPost, "/", nil)

	rec := httptest.NewRecorder()
	webhook.Fail(rec, r, log, "test", webhook.Errorf(http.StatusBadRequest, "missing %s", "From"))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "missing From") {
		t.Errorf("caller error: %d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	webhook.Fail(rec, r, log, "test", errors.New("put message: dial tcp 10.0.0.1:443: i/o timeout"))
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "10.0.0.1") {
		t.Errorf("system error: %d %q", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "i/o timeout") || !strings.Contains(logs.String(), `"reason":"missing From"`) {
		t.Errorf("logs: %s", logs.String())
	}
}

func TestRequireForm(t *testing.T) {
	for ct, ok := range map[string]bool{
		"":                                  true,
		"application/x-www-form-urlencoded": true,
		"Application/X-WWW-Form-Urlencoded; charset=UTF-8": true,
		"application/json":                false,
		"multipart/form-data; boundary=x": false,
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.Header.Set("Content-Type", ct)
		if err := webhook.RequireForm(r); (err == nil) != ok {
			t.Errorf("RequireForm(%q) = %v", ct, err)
		}
	}
}
