package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Inbound is one provider event from a customer, normalized. Channels build it;
// [Service.Ingest] stores it.
type Inbound struct {
	// Key is the provider event's idempotency key ("twilio:SM…"): two
	// deliveries of the same event carry the same key.
	Key               string
	Channel           Channel
	From              Identity
	FromAddress       string
	To                string
	Body              string
	Media             []Media
	Provider          string
	ProviderMessageID string
	Status            string
	// ProfileName names the contact if it has no name yet.
	ProfileName string
	// Language (BCP 47, "pt-BR") is the contact's language, when the channel
	// tells it; it is kept when the contact is created.
	Language string
	OptOut   OptOut
	// ReceivedAt is when Switchboard received the event (the zero value:
	// now). SentAt is the provider's own timestamp of it, if it gives one;
	// the message's CreatedAt is SentAt, else ReceivedAt.
	ReceivedAt time.Time
	SentAt     time.Time
	// Seq is the provider's own order of its events (Telegram's
	// update_id), or 0: then the arrival order orders messages with the
	// same SentAt (see Message.Cursor). A handler of a batch adds each
	// event's position to its receive time's nanoseconds.
	Seq int64
	// ReactsTo and ReplyTo are the provider message ids a reaction or a
	// reply refers to; ProviderType names what a KindUnsupported event was;
	// UnverifiedSender: see Message.
	ReactsTo         string
	ReplyTo          string
	ProviderType     string
	UnverifiedSender bool
	// Kind, DurationSeconds, Subject, FullBody, Source, Reason: see Message.
	Kind            string
	DurationSeconds int
	Subject         string
	FullBody        string
	Source          string
	Reason          string
	// Thread is the conversation the event says it continues (an email's
	// reply token or references). Ingest honours it only when that
	// conversation is open and belongs to the sender's contact; otherwise the
	// event goes where any other would.
	Thread string
	// Direction is inbound (the zero value) for what the customer sent;
	// outbound for a message the business sent from another inbox that the
	// platform echoes back (Meta is_echo): it joins the timeline, clears the
	// unread count, and notifies no one.
	Direction Direction
	// Account is the business's endpoint as the provider names it, when To
	// is not it (WhatsApp Cloud: the phone_number_id a reply is sent from).
	Account string
}

// ErrInvalid wraps a reason an Inbound cannot be ingested (a caller error).
var ErrInvalid = errors.New("invalid event")

// Validate reports why in cannot be ingested (ErrInvalid, naming the
// field), or nil. Ingest calls it; a handler of a batch calls it first for
// every event, so that a bad one changes nothing.
func (in *Inbound) Validate() error {
	var missing []string
	if in.Key == "" {
		missing = append(missing, "key")
	}
	if in.Channel == "" {
		missing = append(missing, "channel")
	}
	if in.From.IsZero() {
		missing = append(missing, "from")
	}
	if in.Provider == "" {
		missing = append(missing, "provider")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrInvalid, strings.Join(missing, ", "))
	}
	fields := []struct{ name, v string }{
		{"key", in.Key}, {"from", in.From.Address}, {"from address", in.FromAddress}, {"to", in.To},
		{"body", in.Body}, {"provider message id", in.ProviderMessageID}, {"status", in.Status},
		{"profile name", in.ProfileName}, {"language", in.Language}, {"subject", in.Subject},
		{"full body", in.FullBody}, {"source", in.Source}, {"reason", in.Reason}, {"thread", in.Thread},
		{"reacts to", in.ReactsTo}, {"reply to", in.ReplyTo}, {"provider type", in.ProviderType},
	}
	for _, m := range in.Media {
		fields = append(fields, struct{ name, v string }{"media url", m.URL}, struct{ name, v string }{"media content type", m.ContentType},
			struct{ name, v string }{"media filename", m.Filename})
	}
	for _, f := range fields {
		if err := CheckText(f.v); err != nil {
			return fmt.Errorf("%w: %s %v", ErrInvalid, f.name, err)
		}
	}
	return nil
}

// ErrBadText is CheckText's reason: text DynamoDB would refuse, or that no
// reader could show.
var ErrBadText = errors.New("is not valid UTF-8 text without NUL bytes")

// CheckText reports whether s is valid UTF-8 without NUL bytes: every
// string a provider sends must be, before anything is stored (DynamoDB
// refuses invalid UTF-8, as a 5xx too late to tell the sender).
func CheckText(s string) error {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return ErrBadText
	}
	return nil
}

// Result is what Ingest did.
type Result struct {
	Message Message
	// Duplicate: the event was stored before; nothing changed.
	Duplicate bool
	// NewConversation: this event opened a conversation. Of any number of
	// concurrent deliveries of one event, exactly one sees it.
	NewConversation bool
}

// Service is the domain's entry point. Dependencies come in as fields; the
// zero values of Now and NewID use the clock and UUIDv7.
type Service struct {
	Store Store
	// Team is the team new conversations are routed to.
	Team string
	// Window is the notification coalescing window (see Conversation.Apply).
	Window time.Duration
	// ReopenWindow is how long after a close the customer's next message
	// reopens the closed conversation instead of starting a new one
	// (REOPEN_WINDOW; 0: always a new one).
	ReopenWindow time.Duration
	// CanSend reports whether replies can be sent on a channel (a sender is
	// configured); nil: every channel.
	CanSend func(Channel) bool
	// Templates are the approved WhatsApp templates (the routing document).
	Templates []Template
	// ChatEmailFrom is the address a web chat reply nobody saw is emailed
	// from (the routing document's email.address; empty: none is sent).
	ChatEmailFrom string
	// EraseObjects deletes stored objects (EraseHooks.Objects) of a
	// message that raced its contact's erasure; nil: such a message's raw
	// source (a raw email) is left to the bucket's expiry.
	EraseObjects func(ctx context.Context, mediaKeys, sources []string) error
	// Timers fires the timer kinds other packages set (care: escalation,
	// a delayed survey); a kind nobody fires is dropped.
	Timers map[string]func(context.Context, Timer) error
	Now    func() time.Time
	NewID  func(prefix string) string
}

// maxAttempts bounds how often Ingest re-reads a route that changed under it
// (only concurrent first messages of one identity race like that).
const maxAttempts = 8

// Ingest stores an inbound event on its contact's open conversation, creating
// the contact and the conversation when there are none. On a known contact's
// open conversation it costs one read and one conditional write; a duplicate
// costs the same and changes nothing. A new identity costs a read more: the
// erasure tombstone of an identity of that key (see Erase).
func (s *Service) Ingest(ctx context.Context, in Inbound) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = s.now()
	}
	for range maxAttempts {
		route, err := s.Store.Route(ctx, in.From)
		switch {
		case errors.Is(err, ErrNotFound):
			// A new identity, or one of an erased contact: then its
			// messages' keys are checked against the erasure's tombstones.
			route = Route{Identity: in.From}
			if route.Erased, err = s.tombstoned(ctx, TombIdentity, in.From.Key()); err != nil {
				return Result{}, fmt.Errorf("read tombstone: %w", err)
			}
		case err != nil:
			return Result{}, fmt.Errorf("read route: %w", err)
		}
		if route.Erased {
			gone, err := s.tombstoned(ctx, TombMessage, in.Key)
			if err != nil {
				return Result{}, fmt.Errorf("read tombstone: %w", err)
			}
			if gone { // a replay of a message erased with its contact
				return Result{Message: s.message(in, route), Duplicate: true}, nil
			}
		}
		if in.Thread != "" && in.Thread != route.ConversationID && route.ContactID != "" {
			c, err := s.Store.Summary(ctx, in.Thread)
			switch {
			case err == nil && c.ContactID == route.ContactID && c.Status == StatusOpen:
				route.ConversationID = c.ID
			case err != nil && !errors.Is(err, ErrNotFound):
				return Result{}, fmt.Errorf("read thread: %w", err)
			}
		}
		msg := s.message(in, route)

		// A score answering the survey of the conversation just closed is
		// its CSAT: recorded there, without reopening it.
		if surveyed, score, ok, err := s.surveyAnswer(ctx, in, route, msg.CreatedAt); err != nil {
			return Result{}, err
		} else if ok {
			msg.ConversationID, msg.Kind, msg.Score = surveyed.ID, KindCSAT, score
			route.ConversationID = surveyed.ID
		}

		if route.ConversationID != "" {
			msg.ConversationID = route.ConversationID
			err := s.Store.PutMessage(ctx, msg)
			if errors.Is(err, ErrDuplicate) {
				return Result{Message: msg, Duplicate: true}, nil
			}
			if err != nil {
				return Result{}, fmt.Errorf("put message: %w", err)
			}
			return Result{Message: msg}, nil
		}

		// Closed a moment ago: the customer's message reopens it.
		if route.LastConversationID != "" && s.ReopenWindow > 0 && in.ReceivedAt.Sub(route.LastClosedAt) < s.ReopenWindow {
			res, err := s.reopenWith(ctx, route, msg)
			if errors.Is(err, ErrConflict) || errors.Is(err, ErrNewerOpen) {
				continue // the route changed meanwhile: read it again
			}
			return res, err
		}

		// No open conversation: open one with this message, atomically.
		conv := Conversation{
			ID:        s.newID("cv"),
			ContactID: msg.ContactID,
			Status:    StatusOpen,
			Team:      s.Team,
			OpenedBy:  in.Key,
			CreatedAt: msg.CreatedAt,
			ActiveAt:  s.now().UTC(),
			Channel:   in.Channel,
		}
		msg.ConversationID = conv.ID
		err = s.Store.OpenConversation(ctx, Open{Route: route, Name: in.ProfileName, Language: in.Language, Conversation: conv, Message: msg})
		if errors.Is(err, ErrConflict) {
			continue
		}
		if errors.Is(err, ErrDuplicate) { // stored before, on a conversation closed since
			return Result{Message: msg, Duplicate: true}, nil
		}
		if err != nil {
			return Result{}, fmt.Errorf("open conversation: %w", err)
		}
		return Result{Message: msg, NewConversation: true}, nil
	}
	return Result{}, fmt.Errorf("open conversation: %w after %d attempts", ErrConflict, maxAttempts)
}

func (s *Service) message(in Inbound, route Route) Message {
	contactID := route.ContactID
	if contactID == "" {
		contactID = s.newID("ct")
	}
	dir := in.Direction
	if dir == "" {
		dir = DirectionInbound
	}
	created := in.ReceivedAt
	if !in.SentAt.IsZero() {
		created = in.SentAt
	}
	seq := in.Seq
	if seq == 0 {
		seq = in.ReceivedAt.UnixNano()
	}
	status := in.Status
	if status == "" && dir == DirectionInbound {
		status = "received"
	} else if status == "" {
		status = "sent"
	}
	m := Message{
		ID:                s.newID("msg"),
		Key:               in.Key,
		ContactID:         contactID,
		Channel:           in.Channel,
		Direction:         dir,
		From:              in.FromAddress,
		To:                in.To,
		Body:              in.Body,
		Media:             pending(in.Media),
		Provider:          in.Provider,
		ProviderMessageID: in.ProviderMessageID,
		Status:            status,
		OptOut:            in.OptOut,
		CreatedAt:         created.UTC(),
		ReceivedAt:        in.ReceivedAt.UTC(),
		Seq:               seq,
		ReactsToRef:       in.ReactsTo,
		ReplyToRef:        in.ReplyTo,
		ProviderType:      in.ProviderType,
		UnverifiedSender:  in.UnverifiedSender,
		Identity:          in.From,
		Kind:              in.Kind,
		DurationSeconds:   in.DurationSeconds,
		Subject:           in.Subject,
		FullBody:          in.FullBody,
		Source:            in.Source,
		Reason:            in.Reason,
		Account:           in.Account,
	}
	if !route.Named && route.Version != 0 {
		m.ProfileName = in.ProfileName
	}
	m.Blocked = route.Blocked
	return m
}

// pending marks media the pipeline has yet to copy (those without a status).
func pending(media []Media) []Media {
	if len(media) == 0 {
		return nil
	}
	out := slices.Clone(media)
	for i := range out {
		if out[i].Status == "" {
			out[i].Status = MediaPending
		}
	}
	return out
}

// Project applies a stored message to the state derived from it and returns
// the conversation summary after it. The stream consumer calls it for every
// new message; it is idempotent. Service.Window is the notification window.
func (s *Service) Project(ctx context.Context, m Message) (Conversation, error) {
	c, err := s.Store.Project(ctx, m, s.Window, s.now())
	if errors.Is(err, ErrErased) { // it raced its contact's erasure
		if err := s.eraseLate(ctx, m); err != nil {
			return c, fmt.Errorf("erase message %s: %w", m.ID, err)
		}
		return c, ErrErased
	}
	if err != nil {
		return c, fmt.Errorf("project message %s: %w", m.ID, err)
	}
	// A message projected after its conversation was merged away moves to
	// the survivor's; if it opened the merged one, the reports still count
	// that opening (the merge closed it): tally on it before the move.
	if err := s.tally(ctx, c, m); err != nil {
		return c, err
	}
	c, moved, err := s.rehome(ctx, c, m)
	if err != nil || !moved {
		return c, err
	}
	m.ConversationID = c.ID
	return c, s.tally(ctx, c, m)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Clock is the service's time: Now, else the wall clock (for the code
// around the service, so that one fake clock drives both).
func (s *Service) Clock() time.Time { return s.now() }

func (s *Service) newID(prefix string) string {
	if s.NewID != nil {
		return s.NewID(prefix)
	}
	return NewID(prefix)
}

// NewID returns prefix + "_" + a time-ordered UUIDv7 without dashes.
func NewID(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	var b [32]byte
	const hex = "0123456789abcdef"
	for i, c := range u {
		b[i*2] = hex[c>>4]
		b[i*2+1] = hex[c&0xf]
	}
	return prefix + "_" + string(b[:])
}

// RecordStatus records a delivery status of an outbound message. It returns
// ErrNotFound for a message Switchboard did not send, false when the status
// is not newer than the stored one.
func (s *Service) RecordStatus(ctx context.Context, provider, providerMessageID string, u StatusUpdate) (bool, error) {
	if u.At.IsZero() {
		u.At = s.now()
	}
	ok, err := s.Store.UpdateStatus(ctx, provider, providerMessageID, u)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("record status: %w", err)
	}
	return ok, err
}

// Edit records a customer's edit of a message they sent (Telegram
// edited_message) on the original: the body changes, the first body is kept,
// and an older edit never overwrites a newer one. The original is looked up
// by its provider id on the identity's open conversation; ErrNotFound if it
// is not there.
func (s *Service) Edit(ctx context.Context, from Identity, provider, providerMessageID, body string, editedAt time.Time) error {
	m, err := s.findOnOpenConversation(ctx, from, provider, providerMessageID)
	if err != nil {
		return err
	}
	if _, err := s.Store.EditMessage(ctx, m.ConversationID, m.Key, body, editedAt); err != nil {
		return fmt.Errorf("edit message: %w", err)
	}
	return nil
}

// Unsend records that the customer took back a message they sent (LINE's
// unsend): the message stays on the timeline as a fact, and the API no
// longer shows its body or media (Message.Unsent). The original is looked
// up by its provider id on the identity's open conversation; ErrNotFound
// if it is not there.
func (s *Service) Unsend(ctx context.Context, from Identity, provider, providerMessageID string) error {
	m, err := s.findOnOpenConversation(ctx, from, provider, providerMessageID)
	if err != nil {
		return err
	}
	return s.Amend(ctx, m.ConversationID, m.Key, Amend{Unsent: true})
}

// MarkRead records that the customer read every message the business sent
// them through provider up to watermark (Messenger read receipts).
func (s *Service) MarkRead(ctx context.Context, reader Identity, provider string, watermark time.Time) (int, error) {
	route, err := s.Store.Route(ctx, reader)
	if err != nil {
		return 0, err
	}
	if route.ConversationID == "" {
		return 0, ErrNotFound
	}
	_, msgs, err := s.Store.Conversation(ctx, route.ConversationID)
	if err != nil {
		return 0, fmt.Errorf("read conversation: %w", err)
	}
	n := 0
	for _, m := range msgs {
		if m.Direction != DirectionOutbound || m.Provider != provider || m.ProviderMessageID == "" || m.CreatedAt.After(watermark) {
			continue
		}
		ok, err := s.Store.UpdateStatus(ctx, provider, m.ProviderMessageID, StatusUpdate{Status: "read", At: watermark})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return n, fmt.Errorf("mark read: %w", err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

func (s *Service) findOnOpenConversation(ctx context.Context, id Identity, provider, providerMessageID string) (Message, error) {
	route, err := s.Store.Route(ctx, id)
	if err != nil {
		return Message{}, err
	}
	if route.ConversationID == "" {
		return Message{}, ErrNotFound
	}
	_, msgs, err := s.Store.Conversation(ctx, route.ConversationID)
	if err != nil {
		return Message{}, fmt.Errorf("read conversation: %w", err)
	}
	for _, m := range msgs {
		if m.Provider == provider && m.ProviderMessageID == providerMessageID {
			return m, nil
		}
	}
	return Message{}, ErrNotFound
}

// Amend sets some fields of a stored message (a call's duration and outcome,
// a voicemail's recording or transcript). Each callback amends only the
// fields it knows, so callbacks that arrive in any order, any number of
// times, leave the same message.
type Amend struct {
	Status           string
	DurationSeconds  int
	Media            []Media
	Transcript       string
	TranscriptStatus string
	// Unsent: the customer took the message back (LINE's unsend).
	Unsent bool
}

// Amend applies a to the message key on conversationID.
func (s *Service) Amend(ctx context.Context, conversationID, key string, a Amend) error {
	a.Media = pending(a.Media)
	if err := s.Store.AmendMessage(ctx, conversationID, key, a); err != nil {
		return fmt.Errorf("amend message: %w", err)
	}
	return nil
}

// reopenWith reopens the route's last conversation with the customer's
// message, in one atomic write (the identities point back at it).
func (s *Service) reopenWith(ctx context.Context, route Route, msg Message) (Result, error) {
	msg.ConversationID = route.LastConversationID
	_, err := s.change(ctx, route.LastConversationID, func(before Conversation) (Change, error) {
		if before.Status != StatusClosed {
			return Change{}, ErrConflict // reopened or changed since the route was read
		}
		ch := Change{Before: before, After: before, Message: &msg}
		reopen(&ch)
		ev := s.event(before, "", EventReopened, "the customer wrote", msg.CreatedAt, 0)
		ev.Seq = msg.Seq - 1 // just before the message that reopened it
		ch.Events = []Message{ev}
		return ch, nil
	})
	if errors.Is(err, ErrDuplicate) {
		return Result{Message: msg, Duplicate: true}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Message: msg}, nil
}
