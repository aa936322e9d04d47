package lambdatest

import (
	"net/http"
	"testing"
)

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

// ServeLoop is a handler benchmark's loop: serve(b.N) once, untimed — the
// warm-up, after which the customers and their conversations exist, the
// common case being measured — then serve(0) … serve(b.N-1), timed, with
// allocations reported. serve fails the benchmark on a wrong answer.
func ServeLoop(b *testing.B, serve func(i int)) {
	serve(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		serve(i)
	}
}
