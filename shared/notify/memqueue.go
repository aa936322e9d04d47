package notify

import (
	"context"
	"log/slog"
	"time"
)

// MemQueue is the dev server's queue: each job is delivered in process once
// its window closes, and a failed one is retried a few times with backoff,
// then logged as dead-lettered — SQS and its DLQ in miniature.
type MemQueue struct {
	ctx      context.Context
	deliver  func(context.Context, Job) error
	attempts int
	backoff  time.Duration
	log      *slog.Logger
}

// NewMemQueue delivers through deliver until ctx ends.
func NewMemQueue(ctx context.Context, deliver func(context.Context, Job) error, log *slog.Logger) *MemQueue {
	return &MemQueue{ctx: ctx, deliver: deliver, attempts: 5, backoff: time.Second, log: log}
}

// Send implements Queue.
func (q *MemQueue) Send(_ context.Context, jobs []Job) error {
	for _, j := range jobs {
		go q.run(j)
	}
	return nil
}

func (q *MemQueue) run(j Job) {
	wait := time.Until(j.NotBefore)
	for attempt := 1; ; attempt++ {
		select {
		case <-q.ctx.Done():
			return
		case <-time.After(max(wait, 0)):
		}
		err := q.deliver(q.ctx, j)
		if err == nil {
			return
		}
		if attempt == q.attempts {
			q.log.LogAttrs(q.ctx, slog.LevelError, "notify.deadletter", slog.String("job", j.ID), slog.String("error", err.Error()))
			return
		}
		wait = q.backoff << (attempt - 1)
	}
}
