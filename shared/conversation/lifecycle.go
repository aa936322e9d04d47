package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// StatusSnoozed is a conversation set aside until a time, or until the
// customer writes (SnoozeUntil zero); the customer's message wakes it.
const StatusSnoozed = "snoozed"

// Timeline entries that are not messages (Message.Kind).
const (
	// KindEvent is an agent's action (Message.Event names it, Message.Agent
	// did it): assigned, closed, reopened, snoozed, woke, labelled, …
	KindEvent = "event"
	// KindNote is an agent's private note: on the timeline, never sent,
	// never a notification.
	KindNote = "note"
)

// Events on the timeline (Message.Event).
const (
	EventClosed      = "closed"
	EventReopened    = "reopened"
	EventSnoozed     = "snoozed"
	EventWoke        = "woke"
	EventAssigned    = "assigned"
	EventUnassigned  = "unassigned"
	EventTeamChanged = "team_changed"
	EventLabelled    = "labelled"
	EventPriority    = "priority_changed"
)

// Lifecycle refusals; callers test with errors.Is. Each is a 409 at the API,
// its Code the error's code.
var (
	// ErrTransition: the conversation's status does not allow the change
	// (the error names both statuses).
	ErrTransition = &RuleError{Code: "bad_transition", Reason: "the conversation's status does not allow that change"}
	// ErrNewerOpen: an agent reopening an old conversation while the contact
	// has a newer one open.
	ErrNewerOpen = &RuleError{Code: "newer_open", Reason: "the contact has a newer open conversation"}
)

// RuleError is a refusal a caller can act on, with a stable code.
type RuleError struct {
	Code, Reason string
}

func (e *RuleError) Error() string { return e.Reason + " (" + e.Code + ")" }

// Is makes every RuleError of one code match its sentinel.
func (e *RuleError) Is(target error) bool {
	t, ok := target.(*RuleError)
	return ok && t.Code == e.Code
}

func badTransition(from, to string) error {
	return &RuleError{Code: ErrTransition.Code, Reason: "a " + from + " conversation cannot become " + to}
}

// Pointer says what a change does to the identities' open-conversation
// pointer (Route.ConversationID), in the same atomic write.
type Pointer int

// Pointer operations.
const (
	// PointerKeep leaves the identities alone.
	PointerKeep Pointer = iota
	// PointerClear: the conversation closes; every identity pointing at it
	// points nowhere and remembers it (LastConversationID, LastClosedAt), so
	// the customer's next message opens a new one, or reopens this one
	// within the reopen window.
	PointerClear
	// PointerSet: the conversation reopens; every identity of the contact
	// points at it, provided none points at another (else ErrNewerOpen).
	PointerSet
)

// Change is one atomic change of a conversation: the summary as read
// (Before, whose Version the write is conditioned on) becomes After, the
// contact's identities' pointer follows (Pointer), and entries are added to
// the timeline (Events: agent actions; Message: the customer's message that
// reopened it, a dedupe-checked insert).
type Change struct {
	Before, After Conversation
	Pointer       Pointer
	Identities    []Identity
	Events        []Message
	Message       *Message
	// Timers are set in the same write (a snooze's wake-up).
	Timers []Timer
}

// Patch is what an agent asks of a conversation (PATCH
// /api/conversations/{id}); nil fields are left as they are.
type Patch struct {
	Status      *string
	SnoozeUntil *time.Time
	Assignee    *string // "" unassigns
	Team        *string
	Labels      *[]string
	Priority    *string
	// Key is the request's idempotency key ("" for none): the events of a
	// patch sent again with the same key are not written twice.
	Key string
}

// AgentCheck reports whether an agent id is known (the routing document);
// nil accepts any.
type AgentCheck func(id string) bool

// maxChangeAttempts bounds the optimistic loop of change: only a message
// projected at the same moment makes it retry.
const maxChangeAttempts = 8

// Update applies an agent's patch to a conversation, recording each action as
// an event on the timeline, in one atomic write per attempt: a close points
// the contact's identities nowhere (the next message opens a new
// conversation), a reopen points them back (ErrNewerOpen if a newer one is
// open). Closing a closed conversation changes nothing; a status the current
// one cannot go to is ErrTransition; an unknown assignee is ErrInvalid.
func (s *Service) Update(ctx context.Context, id, agent string, p Patch, known AgentCheck) (Conversation, error) {
	if p.Assignee != nil && *p.Assignee != "" && known != nil && !known(*p.Assignee) {
		return Conversation{}, fmt.Errorf("%w: assignee %q is not a known agent", ErrInvalid, *p.Assignee)
	}
	if p.Status != nil {
		switch *p.Status {
		case StatusOpen, StatusClosed, StatusSnoozed:
		default:
			return Conversation{}, fmt.Errorf("%w: status must be open, snoozed or closed", ErrInvalid)
		}
	}
	return s.change(ctx, id, func(before Conversation) (Change, error) {
		now := s.now().UTC()
		ch := Change{Before: before, After: before}
		ev := func(event, detail string) {
			e := s.event(before, agent, event, detail, now, len(ch.Events))
			if p.Key != "" {
				e.Key = fmt.Sprintf("agent:%s:%s:%d", id, p.Key, len(ch.Events))
			}
			ch.Events = append(ch.Events, e)
		}
		a := &ch.After
		if p.Status != nil && *p.Status != before.Status {
			switch to := *p.Status; {
			case to == StatusClosed:
				a.Status, a.ClosedAt, a.ClosedBy, a.SnoozeUntil = StatusClosed, now, agent, time.Time{}
				ch.Pointer = PointerClear
				ev(EventClosed, "")
			case before.Status == StatusClosed && to == StatusSnoozed:
				return Change{}, badTransition(before.Status, to)
			case before.Status == StatusClosed:
				reopen(&ch)
				ev(EventReopened, "")
			case to == StatusOpen: // from snoozed
				wake(a)
				ev(EventWoke, "")
			}
		}
		resnooze := before.Status == StatusSnoozed && (p.SnoozeUntil == nil && before.SnoozeUntil.IsZero() ||
			p.SnoozeUntil != nil && p.SnoozeUntil.Equal(before.SnoozeUntil))
		if p.Status != nil && *p.Status == StatusSnoozed && resnooze {
			// snoozed as asked already: nothing to do
		} else if p.Status != nil && *p.Status == StatusSnoozed {
			a.Status, a.SnoozeUntil = StatusSnoozed, time.Time{}
			if p.SnoozeUntil != nil {
				if !p.SnoozeUntil.After(now) {
					return Change{}, fmt.Errorf("%w: snoozeUntil must be in the future", ErrInvalid)
				}
				a.SnoozeUntil = p.SnoozeUntil.UTC()
				ch.Timers = []Timer{wakeTimer(before.ID, a.SnoozeUntil)}
			}
			detail := "until the customer writes"
			if !a.SnoozeUntil.IsZero() {
				detail = "until " + a.SnoozeUntil.Format(time.RFC3339)
			}
			ev(EventSnoozed, detail)
		} else if p.SnoozeUntil != nil {
			return Change{}, fmt.Errorf("%w: snoozeUntil goes with status snoozed", ErrInvalid)
		}
		if p.Assignee != nil && *p.Assignee != before.Assignee {
			a.Assignee = *p.Assignee
			if a.Assignee == "" {
				ev(EventUnassigned, before.Assignee)
			} else {
				ev(EventAssigned, a.Assignee)
			}
		}
		if p.Team != nil && *p.Team != before.Team {
			if *p.Team == "" {
				return Change{}, fmt.Errorf("%w: team cannot be empty", ErrInvalid)
			}
			a.Team = *p.Team
			ev(EventTeamChanged, a.Team)
		}
		if p.Labels != nil {
			labels := slices.Clone(*p.Labels)
			slices.Sort(labels)
			labels = slices.Compact(labels)
			labels = slices.DeleteFunc(labels, func(l string) bool { return strings.TrimSpace(l) == "" })
			if !slices.Equal(labels, before.Labels) {
				a.Labels = labels
				ev(EventLabelled, strings.Join(labels, ", "))
			}
		}
		if p.Priority != nil && *p.Priority != before.Priority {
			a.Priority = *p.Priority
			ev(EventPriority, a.Priority)
		}
		if len(ch.Events) == 0 {
			return Change{}, errNoChange // closing a closed one is a no-op
		}
		return ch, nil
	})
}

// errNoChange is what a change's build func says when nothing is to be
// written.
var errNoChange = errors.New("no change")

// change is the one optimistic loop of every lifecycle write: read the
// summary, let build turn it into a Change (errNoChange: nothing to write,
// the summary is answered as it is), read the contact's identities when the
// pointer moves, and write it conditioned on the version read, reading
// again when a projection moved the summary meanwhile.
func (s *Service) change(ctx context.Context, id string, build func(before Conversation) (Change, error)) (Conversation, error) {
	for range maxChangeAttempts {
		before, err := s.Store.Summary(ctx, id)
		if err != nil {
			return Conversation{}, err
		}
		ch, err := build(before)
		if errors.Is(err, errNoChange) {
			return before, nil
		}
		if err != nil {
			return Conversation{}, err
		}
		if ch.Pointer != PointerKeep && ch.Identities == nil {
			c, err := s.Store.Contact(ctx, before.ContactID)
			if err != nil {
				return Conversation{}, fmt.Errorf("read contact: %w", err)
			}
			ch.Identities = c.Identities
		}
		ch.After.Version = before.Version + 1
		if ch.After.Status != before.Status {
			ch.After.Touch(s.now()) // to the top of the list it joins
		}
		err = s.Store.ChangeConversation(ctx, ch)
		if errors.Is(err, ErrConflict) {
			continue // a message was projected meanwhile: read again
		}
		if errors.Is(err, ErrDuplicate) && ch.Message == nil {
			// Its events are stored: the same request (idempotency key)
			// succeeded before. Answer as it is now.
			return s.Store.Summary(ctx, id)
		}
		if err != nil {
			return Conversation{}, err
		}
		return ch.After, nil
	}
	return Conversation{}, fmt.Errorf("change conversation %s: %w after %d attempts", id, ErrConflict, maxChangeAttempts)
}

// reopen makes a closed conversation open again and points the customer
// at it.
func reopen(ch *Change) {
	ch.After.Status, ch.After.ClosedAt, ch.After.ClosedBy = StatusOpen, time.Time{}, ""
	ch.After.ReopenCount++
	ch.Pointer = PointerSet
}

// wake ends a snooze.
func wake(c *Conversation) { c.Status, c.SnoozeUntil = StatusOpen, time.Time{} }

// event is an agent action as a timeline entry; n orders the entries of one
// change.
func (s *Service) event(c Conversation, agent, event, detail string, at time.Time, n int) Message {
	return Message{
		ID: s.newID("msg"), Key: s.newID("event"), ConversationID: c.ID, ContactID: c.ContactID,
		Kind: KindEvent, Event: event, Agent: agent, Body: detail, CreatedAt: at, ReceivedAt: at, Seq: at.UnixNano() + int64(n),
	}
}

// Note adds an agent's private note to the timeline: never sent to the
// customer, never a notification.
func (s *Service) Note(ctx context.Context, conversationID, agent, body string) (Message, error) {
	m, _, err := s.NoteOnce(ctx, conversationID, agent, body, "")
	return m, err
}

// NoteOnce is Note with an idempotency key: a note sent again with the same
// key ("" for none) is the first one, not a second (added is false then).
func (s *Service) NoteOnce(ctx context.Context, conversationID, agent, body, idem string) (m Message, added bool, err error) {
	if strings.TrimSpace(body) == "" {
		return Message{}, false, fmt.Errorf("%w: a note needs a body", ErrInvalid)
	}
	if err := CheckText(body); err != nil {
		return Message{}, false, fmt.Errorf("%w: body %v", ErrInvalid, err)
	}
	c, err := s.Store.Summary(ctx, conversationID)
	if err != nil {
		return Message{}, false, err
	}
	now := s.now().UTC()
	m = Message{ID: s.newID("msg"), Key: s.newID("note"), ConversationID: c.ID, ContactID: c.ContactID,
		Kind: KindNote, Agent: agent, Body: body, CreatedAt: now, ReceivedAt: now, Seq: now.UnixNano()}
	if idem != "" {
		m.Key = "note:" + c.ID + ":" + idem
	}
	err = s.Store.PutMessage(ctx, m)
	if errors.Is(err, ErrDuplicate) && idem != "" {
		m, err = s.Store.Message(ctx, c.ID, m.Key)
		return m, false, err
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("put note: %w", err)
	}
	return m, true, nil
}

// MarkSeen clears a conversation's unread count for everyone (POST
// /api/conversations/{id}/read): everything on it so far has been read.
func (s *Service) MarkSeen(ctx context.Context, conversationID, agent string) (Conversation, error) {
	return s.change(ctx, conversationID, func(before Conversation) (Change, error) {
		if before.Unread == 0 {
			return Change{}, errNoChange
		}
		ch := Change{Before: before, After: before}
		a := &ch.After
		a.UnreadCursors, a.UnreadOverflow, a.Unread = nil, 0, 0
		if a.Cursor > a.ReadCursor {
			a.ReadCursor = a.Cursor
		}
		return ch, nil
	})
}

// ContactPatch is what an agent asks of a contact (PATCH
// /api/contacts/{id}); nil fields are left as they are.
type ContactPatch struct {
	Name     *string
	Language *string
	Blocked  *bool
	// Email is contact data (see Contact.Email), checked by the caller.
	Email *string
}

// UpdateContact changes a contact's name, language or blocked flag. A
// blocked contact's messages, on any channel, are stored quietly from then
// on: never unread, never notified.
func (s *Service) UpdateContact(ctx context.Context, id string, p ContactPatch) (Contact, error) {
	for _, f := range []*string{p.Name, p.Language, p.Email} {
		if f != nil && CheckText(*f) != nil {
			return Contact{}, fmt.Errorf("%w: name, language and email must be text", ErrInvalid)
		}
	}
	if p.Language != nil && len(*p.Language) > 35 {
		return Contact{}, fmt.Errorf("%w: language must be a BCP 47 tag (\"pt-BR\")", ErrInvalid)
	}
	for range maxChangeAttempts {
		before, err := s.Store.Contact(ctx, id)
		if err != nil {
			return Contact{}, err
		}
		after := before
		if p.Name != nil {
			after.Name = strings.TrimSpace(*p.Name)
		}
		if p.Language != nil {
			after.Language = strings.TrimSpace(*p.Language)
		}
		if p.Blocked != nil {
			after.Blocked = *p.Blocked
		}
		if p.Email != nil {
			after.Email = strings.ToLower(strings.TrimSpace(*p.Email))
		}
		if after.Name == before.Name && after.Language == before.Language && after.Blocked == before.Blocked && after.Email == before.Email {
			return before, nil
		}
		err = s.Store.ChangeContact(ctx, before, after)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Contact{}, err
		}
		return after, nil
	}
	return Contact{}, fmt.Errorf("update contact %s: %w", id, ErrConflict)
}
