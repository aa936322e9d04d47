package conversation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// EventMerged is the timeline entry of a merge of contacts, on the
// conversations it touched.
const EventMerged = "merged"

// Merge refusals (409 at the API).
var (
	// ErrMergeSelf: a contact merged into itself.
	ErrMergeSelf = &RuleError{Code: "merge_self", Reason: "a contact cannot be merged into itself"}
	// ErrMerged: one of the two was merged into another contact already.
	ErrMerged = &RuleError{Code: "merged", Reason: "the contact was merged into another one"}
)

// Repoint is an identity's route after a merge: its contact and open
// conversation, written conditioned on Route.Version (ErrConflict if a
// message moved it meanwhile).
type Repoint struct {
	Route                    Route
	ContactID                string
	ConversationID, OpenedBy string
	Blocked, Named           bool
}

// Merge is a contact absorbing another, as one atomic write: From is marked
// merged into Into, Into gains From's identities and conversation ids
// (neither may have been merged since they were read, else ErrConflict),
// every identity of both is repointed, and the conversation changes (each
// conditioned on its version) are written with their timeline events.
type Merge struct {
	Into, From Contact
	Identities []Repoint
	Changes    []Change
}

// maxMergeAttempts bounds the merge's optimistic loop (a message opening a
// conversation, or another merge, makes it read again).
const maxMergeAttempts = 8

// Merge merges contact from into contact into: one contact with both's
// identities and conversations. Into's open conversation stays open; from's
// open one, if both have one, is closed by the merge (a merged event on
// both, and a message that still lands on it moves to into's); if only
// from has one, it becomes into's open conversation. Merging a contact
// already merged into into finishes what a failed call left (the
// conversations' contact ids) and changes nothing else.
func (s *Service) Merge(ctx context.Context, intoID, fromID, agent string) (Contact, error) {
	if intoID == fromID {
		return Contact{}, ErrMergeSelf
	}
	for attempt := range maxMergeAttempts {
		if attempt > 0 {
			if err := mergeBackoff(ctx, attempt); err != nil {
				return Contact{}, err
			}
		}
		into, err := s.Store.Contact(ctx, intoID)
		if err != nil {
			return Contact{}, err
		}
		from, err := s.Store.Contact(ctx, fromID)
		if err != nil {
			return Contact{}, err
		}
		if from.MergedInto == into.ID && into.MergedInto == "" {
			return s.finishMerge(ctx, into, from)
		}
		if into.MergedInto != "" || from.MergedInto != "" {
			return Contact{}, ErrMerged
		}
		m, err := s.planMerge(ctx, into, from, agent)
		if err != nil {
			return Contact{}, err
		}
		err = s.Store.Merge(ctx, m)
		if errors.Is(err, ErrConflict) {
			continue // a message or another merge moved something: read again
		}
		if err != nil {
			return Contact{}, fmt.Errorf("merge %s into %s: %w", from.ID, into.ID, err)
		}
		from.MergedInto = into.ID
		return s.finishMerge(ctx, into, from)
	}
	return Contact{}, fmt.Errorf("merge %s into %s: %w after %d attempts", fromID, intoID, ErrConflict, maxMergeAttempts)
}

// mergeBackoff waits before the merge's next attempt: a conversation that
// takes messages faster than a merge reads and writes would otherwise win
// every race (the merge's write is conditioned on its version). Jittered,
// doubling from 8 ms: the eight attempts span up to a second.
func mergeBackoff(ctx context.Context, attempt int) error {
	d := time.Duration(4<<attempt) * time.Millisecond
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// planMerge reads both contacts' routes and open conversations and builds
// the write.
func (s *Service) planMerge(ctx context.Context, into, from Contact, agent string) (Merge, error) {
	m := Merge{Into: into, From: from}
	routes := map[string][]Route{}
	open := map[string]Route{} // contact id → a route pointing at its open conversation
	for _, c := range []Contact{into, from} {
		for _, id := range c.Identities {
			r, err := s.Store.Route(ctx, id)
			if err != nil {
				return m, fmt.Errorf("read route %s: %w", id.Key(), err)
			}
			routes[c.ID] = append(routes[c.ID], r)
			if r.ConversationID != "" {
				open[c.ID] = r
			}
		}
	}
	target := open[into.ID]
	if target.ConversationID == "" {
		target = open[from.ID]
	}
	for _, c := range []Contact{into, from} {
		for _, r := range routes[c.ID] {
			m.Identities = append(m.Identities, Repoint{Route: r, ContactID: into.ID,
				ConversationID: target.ConversationID, OpenedBy: target.OpenedBy, Blocked: into.Blocked, Named: into.Name != "" || r.Named})
		}
	}
	now := s.now().UTC()
	change := func(id, detail string, edit func(*Conversation)) error {
		before, err := s.Store.Summary(ctx, id)
		if err != nil {
			return fmt.Errorf("read conversation %s: %w", id, err)
		}
		ch := Change{Before: before, After: before}
		ch.After.ContactID = into.ID
		ch.After.Version = before.Version + 1
		if edit != nil {
			edit(&ch.After)
		}
		ch.Events = []Message{s.event(ch.After, agent, EventMerged, detail, now, len(m.Changes))}
		m.Changes = append(m.Changes, ch)
		return nil
	}
	a, b := open[from.ID].ConversationID, open[into.ID].ConversationID
	if a == b {
		a = ""
	}
	if b != "" {
		if err := change(b, "merged with contact "+from.ID, nil); err != nil {
			return m, err
		}
	}
	if a != "" && b != "" {
		// Both open: from's closes into into's.
		err := change(a, "merged into conversation "+b+" of contact "+into.ID, func(c *Conversation) {
			c.Status, c.ClosedAt, c.ClosedBy, c.MergedInto = StatusClosed, now, agent, b
			c.SnoozeUntil = time.Time{}
			c.Touch(now)
		})
		if err != nil {
			return m, err
		}
	} else if a != "" {
		if err := change(a, "its contact merged into contact "+into.ID, nil); err != nil {
			return m, err
		}
	}
	return m, nil
}

// finishMerge points from's other conversations at into (idempotent: each
// moves only if it still names from) and returns into as it is now.
func (s *Service) finishMerge(ctx context.Context, into, from Contact) (Contact, error) {
	ids := slices.Clone(from.ConversationIDs)
	if err := s.Store.MoveConversations(ctx, from.ID, into.ID, ids); err != nil {
		return Contact{}, fmt.Errorf("move conversations of %s: %w", from.ID, err)
	}
	return s.Store.Contact(ctx, into.ID)
}

// rehome moves an inbound message that landed on a conversation a merge
// closed (its write raced the merge) to the conversation it was merged
// into, and projects it there. It reports whether it did.
func (s *Service) rehome(ctx context.Context, c Conversation, m Message) (Conversation, bool, error) {
	if c.Status != StatusClosed || c.MergedInto == "" || m.Direction != DirectionInbound || m.Kind == KindEvent || m.Kind == KindNote {
		return c, false, nil
	}
	if err := s.Store.MoveMessage(ctx, m.Key, c.ID, c.MergedInto); err != nil {
		return c, false, fmt.Errorf("move message %s: %w", m.Key, err)
	}
	m.ConversationID = c.MergedInto
	moved, err := s.Store.Project(ctx, m, s.Window, s.now())
	return moved, true, err
}
