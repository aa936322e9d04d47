package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
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

type fakeSpiller struct {
	err  error
	kept []webhook.Spilled
}

func (f *fakeSpiller) Spill(_ context.Context, s webhook.Spilled) error {
	if f.err != nil {
		return f.err
	}
	f.kept = append(f.kept, s)
	return nil
}

// TestSpillOnlyVerifiedRequestsOnOurFailure: a failure of ours after the
// request was verified spills it and answers as the provider expects; a
// caller error, an unverified request, a replay, or a failing spill never
// hides the failure (the answer is the 4xx or the 5xx).
func TestSpillOnlyVerifiedRequestsOnOurFailure(t *testing.T) {
	ours := errors.New("store down")
	for _, c := range []struct {
		name     string
		spillErr error
		verify   bool
		replay   bool
		fail     error
		want     int
		spilled  int
	}{
		{"verified, store failed", nil, true, false, ours, http.StatusOK, 1},
		{"verified, store failed, spill failed", errors.New("sqs down"), true, false, ours, http.StatusInternalServerError, 0},
		{"not verified", nil, false, false, ours, http.StatusInternalServerError, 0},
		{"caller error", nil, true, false, webhook.Errorf(http.StatusBadRequest, "bad"), http.StatusBadRequest, 0},
		{"domain refusal is a 400", nil, true, false, fmt.Errorf("%w: body is not text", conversation.ErrInvalid), http.StatusBadRequest, 0},
		{"a replay is not spilled again", nil, true, true, ours, http.StatusInternalServerError, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sp := &fakeSpiller{err: c.spillErr}
			var at time.Time
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := webhook.ReadBody(r, 0); err != nil {
					t.Fatal(err)
				}
				at = webhook.ReceivedAt(r)
				if c.verify {
					webhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
				}
				webhook.Fail(w, r, slog.New(slog.NewTextHandler(io.Discard, nil)), "test", c.fail)
			})
			first := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
			var req *http.Request
			if c.replay {
				req = webhook.Replay(context.Background(), webhook.Spilled{Method: "POST", Path: "/webhooks/x", Body: []byte("a=1"), ReceivedAt: first})
			} else {
				req = httptest.NewRequest(http.MethodPost, "/webhooks/x?q=1", strings.NewReader("a=1"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			webhook.Receive(h, sp).ServeHTTP(rec, req)
			if rec.Code != c.want || len(sp.kept) != c.spilled {
				t.Fatalf("answer %d, spilled %d; want %d, %d", rec.Code, len(sp.kept), c.want, c.spilled)
			}
			if c.replay && !at.Equal(first) {
				t.Errorf("a replay's receive time is %v, want the first %v", at, first)
			}
			if len(sp.kept) == 1 {
				k := sp.kept[0]
				if k.Path != "/webhooks/x" || k.RawQuery != "q=1" || string(k.Body) != "a=1" || k.ContentType != "application/x-www-form-urlencoded" || !k.ReceivedAt.Equal(at) {
					t.Errorf("kept %+v", k)
				}
			}
		})
	}
}
