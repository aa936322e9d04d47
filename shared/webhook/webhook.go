// Package webhook is the HTTP edge every provider handler shares: the capped
// body read, errors that carry their HTTP status and a reason safe to show the
// caller, and the one log line per request.
//
// Caller errors (bad signature, malformed input, oversize body) are answered
// with their 4xx and logged with the reason only; system errors are answered
// 500 with a fixed text, so the provider retries and no internal detail leaks,
// and logged with the error. Nothing here logs a body, a phone number or a
// secret: callers pass only safe attributes.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/shared/conversation"
)

// DefaultMaxBody caps a webhook body when a handler sets no cap of its own.
const DefaultMaxBody = 64 << 10

// Error is a caller error: its Status and Reason are shown to the caller.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Reason) }

// Errorf returns a caller error with a formatted reason.
func Errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// ReadBody reads the whole body, refusing one longer than max with 413.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if r.ContentLength > max {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body over %d bytes", max)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, Errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	if int64(len(b)) > max {
		return nil, Errorf(http.StatusRequestEntityTooLarge, "body over %d bytes", max)
	}
	if rc := receiptOf(r); rc != nil {
		rc.body = b
	}
	return b, nil
}

// RequireForm answers 415 unless the body is form-encoded.
func RequireForm(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return nil
	}
	return Errorf(http.StatusUnsupportedMediaType, "content type %q is not application/x-www-form-urlencoded", ct)
}

// URL is the address the provider called, as it signed it: the configured
// public base URL plus the request's path and raw query. The Host header is
// never used (behind API Gateway it is not the public name, and a caller
// controls it).
func URL(publicBase string, r *http.Request) string {
	u := strings.TrimRight(publicBase, "/") + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// Fail answers err: a caller error with its status and reason (an event the
// domain refused as invalid is a 400), anything else — a failure of ours —
// with 500, unless the request was verified and can be spilled (see
// Receive): then the provider gets its normal answer and the request is
// re-ingested later. It logs one line with event and attrs.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, event string, err error, attrs ...slog.Attr) {
	var e *Error
	if !errors.As(err, &e) && errors.Is(err, conversation.ErrInvalid) {
		e = &Error{Status: http.StatusBadRequest, Reason: err.Error()}
	}
	if e != nil {
		log.LogAttrs(r.Context(), slog.LevelWarn, event, append(attrs, slog.String("outcome", "rejected"), slog.Int("status", e.Status), slog.String("reason", e.Reason))...)
		http.Error(w, e.Reason, e.Status)
		return
	}
	spilled, spillErr := spill(r)
	if spilled {
		log.LogAttrs(r.Context(), slog.LevelWarn, event, append(attrs, slog.String("outcome", "spilled"), slog.String("error", err.Error()))...)
		receiptOf(r).answer(w)
		return
	}
	if spillErr != nil {
		attrs = append(attrs, slog.String("spill_error", spillErr.Error()))
	}
	log.LogAttrs(r.Context(), slog.LevelError, event, append(attrs, slog.String("outcome", "error"), slog.Int("status", http.StatusInternalServerError), slog.String("error", err.Error()))...)
	http.Error(w, "internal error, please retry", http.StatusInternalServerError)
}

// Digits reports whether s is one or more ASCII digits (a phone number's
// digits as providers send them without "+", a short code).
func Digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CheckJSON refuses a JSON body that is not valid UTF-8: encoding/json
// would quietly replace the bad bytes. (A NUL, which JSON can only escape,
// reaches the domain, whose Inbound.Validate refuses it naming the field.)
func CheckJSON(body []byte) error {
	if !utf8.Valid(body) {
		return Errorf(http.StatusBadRequest, "body is not valid UTF-8")
	}
	return nil
}

// Spilled is a verified webhook request kept for re-ingestion because our
// store failed while it was being ingested: what the handler needs to serve
// it again, and when it first arrived. It holds no header: a replayed
// request is not verified again (see Replay), so no signature or secret
// token is ever written to the spill queue.
type Spilled struct {
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	RawQuery    string    `json:"query,omitempty"`
	ContentType string    `json:"contentType,omitempty"`
	Body        []byte    `json:"body"`
	ReceivedAt  time.Time `json:"receivedAt"`
}

// Spiller keeps a spilled request durably (shared/spill: an SQS queue).
type Spiller interface {
	Spill(ctx context.Context, s Spilled) error
}

// receipt is what the edge knows of one request, shared through its
// context between Receive, the handler and Fail: when it arrived, the body
// ReadBody read, and — once the handler verified it (Verified) — how to
// answer the provider if it is spilled.
type receipt struct {
	at       time.Time
	replayed bool
	spill    Spiller
	body     []byte
	answer   func(http.ResponseWriter)
}

type receiptKey struct{}

func receiptOf(r *http.Request) *receipt {
	rc, _ := r.Context().Value(receiptKey{}).(*receipt)
	return rc
}

// Receive wraps the webhook routes: it stamps each request's receive time
// (ReceivedAt) and, with sp set, lets Fail spill a verified request instead
// of answering 5xx when our store fails (providers such as Twilio do not
// retry a 5xx, so the message would be lost).
func Receive(next http.Handler, sp Spiller) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if receiptOf(r) != nil { // a replay keeps its own receipt
			next.ServeHTTP(w, r)
			return
		}
		rc := &receipt{at: time.Now().UTC(), spill: sp}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), receiptKey{}, rc)))
	})
}

// Replay rebuilds a spilled request for the same handler. It carries the
// first receive time, and it is marked as already verified (Replayed):
// only the spill consumer makes such requests, from the queue our own
// functions wrote after verifying them; nothing from outside can set it.
func Replay(ctx context.Context, s Spilled) *http.Request {
	u := &url.URL{Path: s.Path, RawQuery: s.RawQuery}
	r := (&http.Request{Method: s.Method, URL: u, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(s.Body)),
		ContentLength: int64(len(s.Body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RequestURI: u.RequestURI(), Host: "spill"})
	if s.ContentType != "" {
		r.Header.Set("Content-Type", s.ContentType)
	}
	rc := &receipt{at: s.ReceivedAt.UTC(), replayed: true}
	return r.WithContext(context.WithValue(ctx, receiptKey{}, rc))
}

// ReceivedAt is when the request first arrived: stamped by Receive, kept
// across a spill and its replay; now for a request that passed neither.
func ReceivedAt(r *http.Request) time.Time {
	if rc := receiptOf(r); rc != nil && !rc.at.IsZero() {
		return rc.at
	}
	return time.Now().UTC()
}

// Replayed reports whether r is a spilled request served again: it was
// verified before it was spilled, so its handler does not verify it again.
func Replayed(r *http.Request) bool {
	rc := receiptOf(r)
	return rc != nil && rc.replayed
}

// Verified records that r passed its signature check and parsed, and how to
// answer the provider if our store then fails and the request is spilled:
// the answer it would have had without the store's part (TwiML with no
// acknowledgement, Meta's EVENT_RECEIVED, an empty 200).
func Verified(r *http.Request, answer func(http.ResponseWriter)) {
	if rc := receiptOf(r); rc != nil {
		rc.answer = answer
	}
}

// spill keeps r for re-ingestion if it can: verified, read whole, not a
// replay, and a spiller configured. It reports whether it did, and why a
// spill that was tried failed.
func spill(r *http.Request) (bool, error) {
	rc := receiptOf(r)
	if rc == nil || rc.spill == nil || rc.replayed || rc.answer == nil || rc.body == nil {
		return false, nil
	}
	err := rc.spill.Spill(r.Context(), Spilled{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		ContentType: r.Header.Get("Content-Type"), Body: rc.body, ReceivedAt: rc.at})
	return err == nil, err
}
