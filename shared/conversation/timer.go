package conversation

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Timer is work due later (DESIGN.md section 5c): one durable item per due
// action, indexed by the minute it falls in, fired by the sweeper at most a
// minute late. Firing is idempotent — it acts only if the thing it was set
// for still holds (Ref) — so a sweeper run that repeats, or two that
// overlap, act once.
type Timer struct {
	Due            time.Time `dynamodbav:"due"`
	Kind           string    `dynamodbav:"kind"`
	ConversationID string    `dynamodbav:"conversationId"`
	// Ref is what the timer was set for: a snooze's SnoozeUntil (RFC 3339),
	// so that a snooze changed or ended since makes the old timer a no-op.
	Ref string `dynamodbav:"ref"`
}

// Timer kinds.
const (
	// TimerWake wakes a snoozed conversation at its SnoozeUntil.
	TimerWake = "wake"
	// TimerEscalate tells the team's escalation target of a customer
	// still waiting (Ref: the key of the message that waits); TimerSurvey
	// sends a closed conversation's satisfaction survey after the team's
	// delay (Ref: the close's time). The care package fires both.
	TimerEscalate = "escalate"
	TimerSurvey   = "csat_survey"
	// TimerChatOffline follows a web chat reply nobody saw (no live
	// socket, no sync since: its status still "sent") with an email to
	// the address the visitor gave. Ref is the reply's key.
	TimerChatOffline = "chat_offline"
)

// wakeTimer is the timer that wakes conversation id, snoozed until until
// (its Ref the snooze's time, so a changed snooze makes it a no-op).
func wakeTimer(id string, until time.Time) Timer {
	return Timer{Due: until, Kind: TimerWake, ConversationID: id, Ref: until.Format(time.RFC3339Nano)}
}

// TimerWriter sets a timer on its own (not in a conversation's change).
type TimerWriter interface {
	PutTimer(ctx context.Context, t Timer) error
}

// ChatMailPrefix begins the key of a web chat reply's email follow-up.
const ChatMailPrefix = "chatmail:"

// Minute is the bucket a time falls in: timers are stored and swept by it.
func Minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// TimerStore keeps timers and the sweeper's progress.
type TimerStore interface {
	// DueTimers lists the timers of one minute's bucket.
	DueTimers(ctx context.Context, minute time.Time) ([]Timer, error)
	// DeleteTimer removes a fired timer (deleting one already gone is fine).
	DeleteTimer(ctx context.Context, t Timer) error
	// Swept returns the last minute the sweeper finished (zero if none);
	// SetSwept records it.
	Swept(ctx context.Context) (time.Time, error)
	SetSwept(ctx context.Context, minute time.Time) error
}

// FirstSweepBack is how far back a sweeper with no recorded progress looks.
const FirstSweepBack = 2 * time.Hour

// Sweep fires every timer due by now, once: the minutes after the last one
// swept up to now's, each bucket read once; minutes wholly past are recorded
// as swept, so a later run starts after them. It returns how many fired.
func (s *Service) Sweep(ctx context.Context, timers TimerStore) (int, error) {
	now := s.now().UTC()
	last, err := timers.Swept(ctx)
	if err != nil {
		return 0, fmt.Errorf("read sweep progress: %w", err)
	}
	from := Minute(now.Add(-FirstSweepBack))
	if !last.IsZero() && last.Add(time.Minute).After(from) {
		from = last.Add(time.Minute)
	}
	fired := 0
	for m := from; !m.After(Minute(now)); m = m.Add(time.Minute) {
		due, err := timers.DueTimers(ctx, m)
		if err != nil {
			return fired, fmt.Errorf("read timers of %s: %w", m.Format(time.RFC3339), err)
		}
		done := true
		for _, t := range due {
			if t.Due.After(now) {
				done = false // later this minute: the next run
				continue
			}
			if err := s.fire(ctx, t); err != nil {
				return fired, err
			}
			if err := timers.DeleteTimer(ctx, t); err != nil {
				return fired, fmt.Errorf("delete timer: %w", err)
			}
			fired++
		}
		if done && m.Before(Minute(now)) {
			if err := timers.SetSwept(ctx, m); err != nil {
				return fired, fmt.Errorf("record sweep progress: %w", err)
			}
		}
	}
	return fired, nil
}

// fire does what a timer was set for, if it still holds.
func (s *Service) fire(ctx context.Context, t Timer) error {
	switch t.Kind {
	case TimerWake:
		_, err := s.change(ctx, t.ConversationID, func(before Conversation) (Change, error) {
			if before.Status != StatusSnoozed || before.SnoozeUntil.IsZero() || before.SnoozeUntil.Format(time.RFC3339Nano) != t.Ref {
				return Change{}, errNoChange // woken, closed or snoozed anew since: nothing to do
			}
			ch := Change{Before: before, After: before}
			wake(&ch.After)
			ch.Events = []Message{s.event(before, "", EventWoke, "the snooze ended", t.Due, 0)}
			return ch, nil
		})
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	case TimerChatOffline:
		return s.chatOffline(ctx, t)
	}
	if f := s.Timers[t.Kind]; f != nil {
		return f(ctx, t)
	}
	return nil // a kind this version does not know: dropped, not retried for ever
}

// chatOffline sends a web chat reply the visitor has not seen by email, if
// they gave an address: a new outbound email on the same conversation,
// through the same outbox, keyed by the reply so that a timer fired twice
// queues it once. A reply seen since (delivered), a failed one, a blocked
// contact or one without an address: nothing.
func (s *Service) chatOffline(ctx context.Context, t Timer) error {
	m, err := s.Store.Message(ctx, t.ConversationID, t.Ref)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read chat reply: %w", err)
	}
	if m.Status != StatusSent || m.Channel != ChannelWebchat {
		return nil
	}
	c, err := s.Store.Contact(ctx, m.ContactID)
	if err != nil {
		return fmt.Errorf("read contact: %w", err)
	}
	if c.Email == "" || c.Blocked || s.ChatEmailFrom == "" {
		return nil
	}
	now := s.now().UTC()
	mail := Message{
		ID: s.newID("msg"), Key: ChatMailPrefix + m.Key, ConversationID: m.ConversationID, ContactID: m.ContactID,
		Channel: ChannelEmail, Direction: DirectionOutbound, From: s.ChatEmailFrom, To: c.Email, Provider: "ses",
		Subject: "Re: your chat with us", Body: m.Body + "\n\n(You were away when we answered your chat; reply to this email to continue.)",
		Status: StatusQueued, Agent: m.Agent, Identity: Identity{Kind: KindEmail, Address: c.Email},
		CreatedAt: now, ReceivedAt: now, Seq: now.UnixNano(), StatusHistory: []StatusChange{{Status: StatusQueued, At: now}},
	}
	_, _, err = s.queueOnce(ctx, mail, func(prev Message) (Message, bool, error) { return prev, false, nil })
	return err
}
