package lambdatest

import "net/http"

// Discard is an http.ResponseWriter that keeps nothing but the status, so
// that a benchmark measures the handler, not a recorder.
type Discard struct {
	H    http.Header
	Code int // 0 until WriteHeader is called
}

// NewDiscard returns a Discard with an empty header.
func NewDiscard() *Discard { return &Discard{H: http.Header{}} }

func (d *Discard) Header() http.Header         { return d.H }
func (d *Discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *Discard) WriteHeader(code int)        { d.Code = code }
