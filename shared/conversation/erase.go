package conversation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrErased: the contact or conversation was erased (410 at the API).
var ErrErased = errors.New("erased")

// ErasureSecret names the Store.Secret that keys tombstones' hashes.
const ErasureSecret = "erasure"

// Tombstone kinds: what a tombstone's hash stands for.
const (
	TombIdentity = "identity"
	TombMessage  = "message"
)

// EraseStore is what an erasure writes (Service.Erase) and what the ingest
// path asks of it afterwards. Every step is idempotent, so an erasure that
// failed halfway is finished by running it again.
type EraseStore interface {
	// Tombstone records hashes (TombstoneHash: no identifier in them) of
	// identities and message keys an erasure removed.
	Tombstone(ctx context.Context, hashes []string, at time.Time) error
	// Tombstoned reports whether hash was recorded.
	Tombstoned(ctx context.Context, hash string) (bool, error)
	// EraseIdentity deletes an identity's route and consent state if the
	// identity still belongs to contactID (a later message made it someone
	// else's: it is not theirs).
	EraseIdentity(ctx context.Context, id Identity, contactID string) error
	// EraseMessages deletes messages of a conversation by key, with what
	// derives from them: their report facts and the delivery records named.
	// A message already gone is fine.
	EraseMessages(ctx context.Context, conversationID string, keys, deliveries []string) error
	// EraseConversation replaces a conversation's summary with a tombstone
	// that keeps its id alone (Summary, Conversation and Timeline answer
	// ErrErased, the inbox no longer lists it), and deletes its timers.
	EraseConversation(ctx context.Context, id string, timers []Timer, at time.Time) error
	// EraseContact replaces a contact with a tombstone that keeps its id and
	// when it was erased (Contact answers ErrErased).
	EraseContact(ctx context.Context, id string, at time.Time) error
	// Audit records who exported or erased which contact, when.
	Audit(ctx context.Context, a AuditEntry) error
}

// AuditEntry is one export or erasure: who, when, which contact id; no
// personal data.
type AuditEntry struct {
	ID        string    `json:"id" dynamodbav:"auditId"`
	Action    string    `json:"action" dynamodbav:"action"`
	Agent     string    `json:"agent" dynamodbav:"agent"`
	ContactID string    `json:"contactId" dynamodbav:"contactId"`
	At        time.Time `json:"at" dynamodbav:"at"`
}

// Audit actions.
const (
	AuditExport = "contact.exported"
	AuditErase  = "contact.erased"
)

// Export is everything Switchboard keeps about a person (GDPR article 15,
// CCPA's right to know): the contact, its identities with their consent
// state, and every conversation with its whole timeline.
type Export struct {
	Contact       Contact          `json:"contact"`
	Identities    []IdentityState  `json:"identities"`
	Conversations []ExportedThread `json:"conversations"`
	// Merged are contacts merged into this one (their own records).
	Merged     []Contact `json:"merged,omitempty"`
	ExportedAt time.Time `json:"exportedAt"`
}

// ExportedThread is one conversation and its timeline.
type ExportedThread struct {
	Conversation Conversation `json:"conversation"`
	Messages     []Message    `json:"messages"`
}

// Erased counts what an erasure removed.
type Erased struct {
	ContactID     string
	Conversations int
	Messages      int
	Objects       int
}

// EraseHooks reach what an erasure removes outside the table.
type EraseHooks struct {
	// Deliveries names a message's delivery records (its send job's).
	Deliveries func(Message) []string
	// Objects deletes a conversation's media objects (Media.Key, in the
	// media bucket) and raw events kept as s3://bucket/key (Message.Source:
	// raw emails); deleting one already gone is fine. It runs before the
	// messages naming them are deleted, so a failure leaves them to a retry.
	Objects func(ctx context.Context, mediaKeys, sources []string) error
}

// TombstoneHash is the hex HMAC-SHA256, under the store's erasure secret, of
// a tombstone kind and the value (an identity's key, a message's key).
func (s *Service) TombstoneHash(ctx context.Context, kind, value string) (string, error) {
	key, err := s.Store.Secret(ctx, ErasureSecret)
	if err != nil {
		return "", fmt.Errorf("erasure secret: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

func (s *Service) tombstoned(ctx context.Context, kind, value string) (bool, error) {
	h, err := s.TombstoneHash(ctx, kind, value)
	if err != nil {
		return false, err
	}
	return s.Store.Tombstoned(ctx, h)
}

// people is a contact and every contact merged into it, transitively.
func (s *Service) people(ctx context.Context, id string) ([]Contact, error) {
	var out []Contact
	seen := map[string]bool{}
	queue := []string{id}
	for len(queue) > 0 {
		cid := queue[0]
		queue = queue[1:]
		if seen[cid] {
			continue
		}
		seen[cid] = true
		c, err := s.Store.Contact(ctx, cid)
		if errors.Is(err, ErrErased) && cid != id {
			continue // erased on its own before
		}
		if err != nil {
			return nil, err
		}
		if cid == id && c.MergedInto != "" {
			return nil, fmt.Errorf("%w: contact %s was merged into %s", ErrMergedAway, id, c.MergedInto)
		}
		out = append(out, c)
		queue = append(queue, c.MergedFrom...)
	}
	return out, nil
}

// ErrMergedAway: the contact was merged into another; export or erase that one.
var ErrMergedAway = &RuleError{Code: "merged", Reason: "the contact was merged into another one: export or erase that one"}

// Export gathers everything about contact id; agent's export is audited.
// ErrNotFound for no such contact, ErrErased for an erased one.
func (s *Service) Export(ctx context.Context, id, agent string) (Export, error) {
	people, err := s.people(ctx, id)
	if err != nil {
		return Export{}, err
	}
	out := Export{Contact: people[0], Merged: people[1:], ExportedAt: s.now().UTC(), Identities: []IdentityState{}, Conversations: []ExportedThread{}}
	for _, ident := range people[0].Identities {
		st, err := s.Store.IdentityState(ctx, ident)
		if errors.Is(err, ErrNotFound) {
			st = IdentityState{Identity: ident}
		} else if err != nil {
			return Export{}, fmt.Errorf("read identity: %w", err)
		}
		out.Identities = append(out.Identities, st)
	}
	err = s.eachThread(ctx, people, func(c Conversation, msgs []Message) error {
		out.Conversations = append(out.Conversations, ExportedThread{Conversation: c, Messages: nonNilMessages(msgs)})
		return nil
	})
	if err != nil {
		return Export{}, err
	}
	if err := s.Store.Audit(ctx, AuditEntry{ID: s.newID("audit"), Action: AuditExport, Agent: agent, ContactID: id, At: out.ExportedAt}); err != nil {
		return Export{}, fmt.Errorf("audit export: %w", err)
	}
	return out, nil
}

func nonNilMessages(m []Message) []Message {
	if m == nil {
		return []Message{}
	}
	return m
}

// eachThread calls fn with each conversation of people that is still one
// of theirs (a conversation gone, erased, or moved to someone else since is
// skipped), and its whole timeline, one conversation at a time.
func (s *Service) eachThread(ctx context.Context, people []Contact, fn func(Conversation, []Message) error) error {
	for _, cid := range conversationsOf(people) {
		c, msgs, err := s.Store.Conversation(ctx, cid)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrErased) {
			continue
		}
		if err != nil {
			return fmt.Errorf("read conversation %s: %w", cid, err)
		}
		if !slices.ContainsFunc(people, func(p Contact) bool { return p.ID == c.ContactID }) {
			continue
		}
		if err := fn(c, msgs); err != nil {
			return err
		}
	}
	return nil
}

// conversationsOf is every conversation id of the contacts, once each.
func conversationsOf(people []Contact) []string {
	var ids []string
	for _, p := range people {
		for _, c := range p.ConversationIDs {
			if !slices.Contains(ids, c) {
				ids = append(ids, c)
			}
		}
	}
	return ids
}

// Erase removes a person (GDPR article 17, CCPA's right to delete): the
// contact and every contact merged into it, their identities, their
// conversations with every message, note, event, report fact, timer, the
// delivery records and objects (media, raw emails) the hooks reach. What stays
// is tombstones: the contact's and conversations' ids marked erased (410),
// and HMACs of their identities and message keys, so that a replay of an
// old webhook stores nothing of them, while a new message from the same
// address after the erasure starts a new contact. Another customer's
// conversation is not touched. Erasing it again finishes an erasure that
// failed halfway; ErrErased once it is done.
//
// Order makes a race with new messages safe: identities go first (a message
// after that finds no route and, not being a replay, starts a new
// contact), then each conversation's messages and its summary; a message
// that read its route before and is written onto a conversation being
// erased finds it erased when the stream projects it, and is erased then
// (Project).
func (s *Service) Erase(ctx context.Context, id, agent string, hooks EraseHooks) (Erased, error) {
	people, err := s.people(ctx, id)
	if err != nil {
		return Erased{}, err
	}
	now := s.now().UTC()
	out := Erased{ContactID: id}
	var idents []string
	for _, p := range people {
		for _, ident := range p.Identities {
			h, err := s.TombstoneHash(ctx, TombIdentity, ident.Key())
			if err != nil {
				return out, err
			}
			idents = append(idents, h)
		}
	}
	if err := s.Store.Tombstone(ctx, idents, now); err != nil {
		return out, fmt.Errorf("tombstone identities: %w", err)
	}
	for _, p := range people {
		for _, ident := range p.Identities {
			if err := s.Store.EraseIdentity(ctx, ident, p.ID); err != nil {
				return out, fmt.Errorf("erase identity: %w", err)
			}
		}
	}
	err = s.eachThread(ctx, people, func(c Conversation, msgs []Message) error {
		cid := c.ID
		if err := s.eraseMessages(ctx, cid, msgs, hooks, now, &out); err != nil {
			return err
		}
		var timers []Timer
		if !c.SnoozeUntil.IsZero() {
			timers = append(timers, wakeTimer(cid, c.SnoozeUntil))
		}
		if err := s.Store.EraseConversation(ctx, cid, timers, now); err != nil {
			return fmt.Errorf("erase conversation %s: %w", cid, err)
		}
		out.Conversations++
		return nil
	})
	if err != nil {
		return out, err
	}
	for _, p := range slices.Backward(people) { // the asked-for contact last: until then a retry finds it
		if err := s.Store.EraseContact(ctx, p.ID, now); err != nil {
			return out, fmt.Errorf("erase contact %s: %w", p.ID, err)
		}
	}
	if err := s.Store.Audit(ctx, AuditEntry{ID: s.newID("audit"), Action: AuditErase, Agent: agent, ContactID: id, At: now}); err != nil {
		return out, fmt.Errorf("audit erasure: %w", err)
	}
	return out, nil
}

// eraseMessages tombstones and deletes msgs of conversation cid, their
// objects first.
func (s *Service) eraseMessages(ctx context.Context, cid string, msgs []Message, hooks EraseHooks, now time.Time, out *Erased) error {
	var hashes, keys, delivs, media, sources []string
	for _, m := range msgs {
		if m.Direction == DirectionInbound {
			h, err := s.TombstoneHash(ctx, TombMessage, m.Key)
			if err != nil {
				return err
			}
			hashes = append(hashes, h)
		}
		keys = append(keys, m.Key)
		if hooks.Deliveries != nil {
			delivs = append(delivs, hooks.Deliveries(m)...)
		}
		for _, md := range m.Media {
			if md.Key != "" {
				media = append(media, md.Key)
			}
		}
		if strings.HasPrefix(m.Source, "s3://") {
			sources = append(sources, m.Source)
		}
	}
	if len(media)+len(sources) > 0 {
		if hooks.Objects == nil {
			return fmt.Errorf("conversation %s has %d stored objects and nothing can delete them", cid, len(media)+len(sources))
		}
		if err := hooks.Objects(ctx, media, sources); err != nil {
			return fmt.Errorf("delete objects of %s: %w", cid, err)
		}
		out.Objects += len(media) + len(sources)
	}
	if err := s.Store.Tombstone(ctx, hashes, now); err != nil {
		return fmt.Errorf("tombstone messages: %w", err)
	}
	if err := s.Store.EraseMessages(ctx, cid, keys, delivs); err != nil {
		return fmt.Errorf("erase messages of %s: %w", cid, err)
	}
	out.Messages += len(keys)
	return nil
}

// eraseLate erases a message the stream found on an erased conversation (it
// raced the erasure), so nothing of the person is left behind; its media,
// still pending (the stream queues them after this), are never copied.
func (s *Service) eraseLate(ctx context.Context, m Message) error {
	var out Erased
	m.Media = nil
	if s.EraseObjects == nil {
		m.Source = "" // left to the bucket's expiry (RawEmailRetentionDays)
	}
	return s.eraseMessages(ctx, m.ConversationID, []Message{m}, EraseHooks{Objects: s.EraseObjects}, s.now().UTC(), &out)
}
