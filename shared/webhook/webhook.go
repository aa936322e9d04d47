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
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
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

// Fail answers err: a caller error with its status and reason, anything else
// with 500. It logs one line with event and attrs.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, event string, err error, attrs ...slog.Attr) {
	var e *Error
	if errors.As(err, &e) {
		log.LogAttrs(r.Context(), slog.LevelWarn, event, append(attrs, slog.String("outcome", "rejected"), slog.Int("status", e.Status), slog.String("reason", e.Reason))...)
		http.Error(w, e.Reason, e.Status)
		return
	}
	log.LogAttrs(r.Context(), slog.LevelError, event, append(attrs, slog.String("outcome", "error"), slog.Int("status", http.StatusInternalServerError), slog.String("error", err.Error()))...)
	http.Error(w, "internal error, please retry", http.StatusInternalServerError)
}
