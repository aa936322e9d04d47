package conversation

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Errors a Store returns; callers test with errors.Is.
var (
	// ErrNotFound: no such item.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate: a message with the same key is already stored.
	ErrDuplicate = errors.New("duplicate")
	// ErrConflict: the identity's route changed since it was read; read it
	// again and retry.
	ErrConflict = errors.New("route changed")
)

// Route is what one read of an identity tells the ingest path: which contact
// it belongs to and where an inbound message goes.
type Route struct {
	Identity  Identity
	ContactID string
	// ConversationID is the contact's open conversation, "" if none.
	ConversationID string
	// OpenedBy is the key of the message that opened ConversationID.
	OpenedBy string
	// Named is true once the contact has a name.
	Named bool
	// Blocked: the contact is blocked (its messages are stored quietly).
	Blocked bool
	// LastConversationID is the conversation the identity pointed at until
	// it closed, at LastClosedAt (for the reopen window).
	LastConversationID string
	LastClosedAt       time.Time
	// Version increases with every change to the route; OpenConversation
	// succeeds only if it is unchanged.
	Version int64
	// Erased: the identity belonged to an erased contact before this one
	// (its tombstone was found when it was made again), so each message's
	// key is checked against the erasure's tombstones: a replay of an old
	// webhook stores nothing.
	Erased bool
}

// Open asks the store to start a conversation with its first message in one
// atomic step. When Route.Version is 0 the identity is new and the contact is
// created too (named Name).
type Open struct {
	Route        Route
	Name         string
	Language     string
	Conversation Conversation
	Message      Message
}

// The store is split by who needs what, so that a consumer (and its test
// fake) names only the handful of methods it calls. Store is all of them:
// what an implementation provides (shared/store for DynamoDB,
// shared/memstore in memory; both pass conversation/storetest) and what the
// Service, which is every domain use at once, holds.

// IngestStore is the ingest path's (Service.Ingest): one read of the
// identity, one conditional write of the message, or the atomic opening of
// a conversation.
type IngestStore interface {
	// Route reads an identity's route: ErrNotFound if the identity is new.
	Route(ctx context.Context, id Identity) (Route, error)
	// PutMessage stores m on its conversation unless a message with the same
	// key was ever stored, on any conversation (ErrDuplicate). It is the
	// ingest path's one write.
	PutMessage(ctx context.Context, m Message) error
	// OpenConversation atomically creates the contact and identity (when
	// Route.Version is 0), the conversation, and its first message, and
	// points the identity at the conversation. It returns ErrConflict if the
	// route changed since it was read (another request got there first), and
	// ErrDuplicate if a message with the same key was stored before (on a
	// conversation since closed); it writes nothing then.
	OpenConversation(ctx context.Context, o Open) error
}

// ProjectionStore is the stream's (Service.Project): the summary, a message
// moved after a merge it raced, the reports' facts.
type ProjectionStore interface {
	// Project applies a stored message to what derives from it: the
	// conversation summary (see Conversation.Apply, with the notification
	// window), the contact's name, the identity's opt-out state, and returns
	// the summary after it (see Conversation.Project: a move stamps ActiveAt
	// with at). Applying the same message again changes nothing.
	Project(ctx context.Context, m Message, window time.Duration, at time.Time) (Conversation, error)
	// MoveMessage moves the message key from conversation from to
	// conversation to (its timeline entry too), if it is still on from.
	MoveMessage(ctx context.Context, key, from, to string) error
	FactRecorder
}

// LifecycleStore is what agents' changes write (Service.Update, Note,
// MarkSeen, UpdateContact, the timers).
type LifecycleStore interface {
	// ChangeConversation writes a lifecycle change atomically (see Change):
	// the summary, conditioned on Before.Version (ErrConflict if it moved:
	// read again), the identities' pointer (ErrNewerOpen when a reopen finds
	// an identity pointing at another conversation), the timeline events,
	// and the customer's message if any (ErrDuplicate if its key was stored
	// before). Nothing is written when it fails.
	ChangeConversation(ctx context.Context, c Change) error
	// ChangeContact writes a contact's name, language and blocked flag, and
	// the blocked flag on each of its identities (which the ingest path
	// reads), atomically, conditioned on nothing else having changed them.
	ChangeContact(ctx context.Context, before, after Contact) error
}

// MergeStore is a merge's (Service.Merge).
type MergeStore interface {
	// Merge writes a merge of contacts atomically (see Merge); ErrConflict
	// if either contact was merged, or an identity's route or a
	// conversation's version moved, since they were read.
	Merge(ctx context.Context, m Merge) error
	// MoveConversations sets the contact of each of ids that still names
	// contact from to contact to (the rest of a merge; idempotent).
	MoveConversations(ctx context.Context, from, to string, ids []string) error
}

// Reader is what everyone reads: summaries, timelines, contacts, messages,
// consent.
type Reader interface {
	// Summary returns one conversation without its messages.
	Summary(ctx context.Context, id string) (Conversation, error)
	// Conversation returns one conversation and its messages, oldest first.
	Conversation(ctx context.Context, id string) (Conversation, []Message, error)
	// Timeline returns a page of a conversation's timeline: the newest
	// limit entries before the cursor before ("" for the newest), oldest
	// first, and the cursor of the page before it ("" when there is none).
	// ErrNotFound if there is no such conversation.
	Timeline(ctx context.Context, id, before string, limit int) ([]Message, string, error)
	// Message returns one message of a conversation by its key; ErrNotFound
	// if there is none.
	Message(ctx context.Context, conversationID, key string) (Message, error)
	// Contact returns a contact.
	Contact(ctx context.Context, id string) (Contact, error)
	// IdentityState returns an identity's consent state.
	IdentityState(ctx context.Context, id Identity) (IdentityState, error)
}

// MessageStore is what providers' later events do to stored messages:
// delivery statuses, edits, amends (a call's outcome, media copied),
// threading by provider id.
type MessageStore interface {
	// UpdateStatus sets the delivery status of the outbound message the
	// provider knows as providerMessageID, if the new status ranks above the
	// stored one (see StatusRank). It returns ErrNotFound for an unknown
	// message, and false when the status was not newer.
	UpdateStatus(ctx context.Context, provider, providerMessageID string, s StatusUpdate) (bool, error)
	// EditMessage replaces the body of the message key on a conversation,
	// keeping the first body, unless a later edit is already recorded; false
	// then. ErrNotFound if there is no such message.
	EditMessage(ctx context.Context, conversationID, key, body string, editedAt time.Time) (bool, error)
	// AmendMessage sets the non-zero fields of a on the message key;
	// ErrNotFound if there is none.
	AmendMessage(ctx context.Context, conversationID, key string, a Amend) error
	// OutboundConversation returns the conversation of the outbound message
	// the provider knows as providerMessageID (email threading by
	// In-Reply-To); ErrNotFound if there is none.
	OutboundConversation(ctx context.Context, provider, providerMessageID string) (string, error)
}

// FailureStore keeps inbound events that could not be ingested.
type FailureStore interface {
	// RecordFailure keeps an inbound event that could not be ingested (an
	// unparseable email), so that it is never silently lost; recording the
	// same Source and Ref again overwrites.
	RecordFailure(ctx context.Context, f Failure) error
	// Failures lists the recorded failures of one source, oldest first.
	Failures(ctx context.Context, source string, limit int) ([]Failure, error)
}

// Secrets keeps the keys Switchboard makes itself.
type Secrets interface {
	// Secret returns the random 32-byte key named name, made on first use
	// and the same ever after, for every caller (it signs cursors).
	Secret(ctx context.Context, name string) ([]byte, error)
}

// Store is every part: what an implementation provides.
type Store interface {
	IngestStore
	ProjectionStore
	LifecycleStore
	MergeStore
	Reader
	MessageStore
	FailureStore
	InboxReader
	RollupReader
	Secrets
	OutboxStore
	EraseStore
}

// OldestFirst sorts failures by time, then reference, and keeps at most limit
// (all when limit is 0): the order Store.Failures lists them in.
func OldestFirst(fs []Failure, limit int) []Failure {
	slices.SortFunc(fs, func(a, b Failure) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.Ref, b.Ref)
	})
	if limit > 0 && len(fs) > limit {
		fs = fs[:limit]
	}
	return fs
}

// Failure is an inbound event that could not be ingested.
type Failure struct {
	// Source is the intake ("email"); Ref where the raw event is
	// ("s3://bucket/key").
	Source string    `json:"source" dynamodbav:"source"`
	Ref    string    `json:"ref" dynamodbav:"ref"`
	Reason string    `json:"reason" dynamodbav:"reason"`
	At     time.Time `json:"at" dynamodbav:"at"`
}

// StatusUpdate is a delivery status event for an outbound message.
type StatusUpdate struct {
	Status    string
	ErrorCode string
	At        time.Time
}
