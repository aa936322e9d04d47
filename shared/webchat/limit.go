package webchat

import (
	"strconv"
	"sync"
	"time"
)

// A visitor may send DefaultBurst messages at once and DefaultRate a second
// after that (a person typing never comes near it; a script flooding a
// session does).
const (
	DefaultBurst = 20
	DefaultRate  = 1.0
)

// Limiter is a token bucket per visitor, in the process: a flood is
// answered 429 before anything is stored, and what was accepted stays
// accepted. Deployed, each function instance keeps its own buckets (API
// Gateway's route throttling bounds the sum); the buckets are forgotten
// when more than maxVisitors are tracked.
type Limiter struct {
	mu      sync.Mutex
	burst   float64
	rate    float64
	buckets map[string]*bucket
	Now     func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxVisitors = 100_000

// NewLimiter allows burst requests at once and rate a second.
func NewLimiter(burst int, rate float64) *Limiter {
	return &Limiter{burst: float64(burst), rate: rate, buckets: map[string]*bucket{}}
}

// Allow takes one token of key's bucket; when there is none it says how
// many seconds to wait (Retry-After).
func (l *Limiter) Allow(key string) (string, bool) {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxVisitors {
			clear(l.buckets)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return strconv.Itoa(int((1-b.tokens)/l.rate) + 1), false
	}
	b.tokens--
	return "", true
}
