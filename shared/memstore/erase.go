package memstore

import (
	"context"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// erasure is what erasures left: tombstones, erased ids, the audit.
type erasure struct {
	tombstones    map[string]bool
	conversations map[string]bool
	contacts      map[string]bool
	audit         []conversation.AuditEntry
}

func (s *Store) erasedLocked() *erasure {
	if s.erasure == nil {
		s.erasure = &erasure{tombstones: map[string]bool{}, conversations: map[string]bool{}, contacts: map[string]bool{}}
	}
	return s.erasure
}

// Tombstone implements conversation.EraseStore.
func (s *Store) Tombstone(_ context.Context, hashes []string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range hashes {
		s.erasedLocked().tombstones[h] = true
	}
	return nil
}

// Tombstoned implements conversation.EraseStore.
func (s *Store) Tombstoned(_ context.Context, hash string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.erasedLocked().tombstones[hash], nil
}

// EraseIdentity implements conversation.EraseStore.
func (s *Store) EraseIdentity(_ context.Context, id conversation.Identity, contactID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec := s.identities[id.Key()]; rec != nil && rec.route.ContactID == contactID {
		delete(s.identities, id.Key())
	}
	return nil
}

// EraseMessages implements conversation.EraseStore (memstore keeps no
// delivery records on the store: Deliveries is apart).
func (s *Store) EraseMessages(_ context.Context, conversationID string, keys, _ []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if m := s.messages[conversationID][k]; m != nil && m.ProviderMessageID != "" {
			delete(s.byProviderID, m.Provider+":"+m.ProviderMessageID)
		}
		delete(s.messages[conversationID], k)
		delete(s.keys, k)
		delete(s.facts, k)
	}
	return nil
}

// EraseConversation implements conversation.EraseStore. The conversation's
// message map stays (empty), so that a message racing the erasure is
// stored as DynamoDB would store it, and erased when projected.
func (s *Store) EraseConversation(_ context.Context, id string, timers []conversation.Timer, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conversations, id)
	if s.messages[id] == nil {
		s.messages[id] = map[string]*conversation.Message{}
	}
	s.erasedLocked().conversations[id] = true
	for _, tm := range timers {
		tm.Due = tm.Due.UTC()
		delete(s.timers, tm)
	}
	return nil
}

// EraseContact implements conversation.EraseStore.
func (s *Store) EraseContact(_ context.Context, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.contacts, id)
	s.erasedLocked().contacts[id] = true
	return nil
}

// Audit implements conversation.EraseStore.
func (s *Store) Audit(_ context.Context, a conversation.AuditEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.erasedLocked().audit = append(s.erasedLocked().audit, a)
	return nil
}

// AuditLog is every audit entry, oldest first.
func (s *Store) AuditLog() []conversation.AuditEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]conversation.AuditEntry(nil), s.erasedLocked().audit...)
}

// gone answers ErrErased for an erased conversation, else ErrNotFound.
func (s *Store) goneLocked(conversationID string) error {
	if s.erasure != nil && s.erasure.conversations[conversationID] {
		return conversation.ErrErased
	}
	return conversation.ErrNotFound
}
