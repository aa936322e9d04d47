// Package memstore is an in-memory [conversation.Store]: the dev server's
// default and the fast unit tests' store. It passes the same contract suite
// (conversation/storetest) as the DynamoDB store, so code tested against it
// behaves the same in AWS.
//
// Stored messages are handed to an optional OnStored hook after the write,
// as DynamoDB Streams hands them to the fan-out function in AWS.
package memstore

import (
	"context"
	"crypto/rand"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
)

type identity struct {
	route conversation.Route
	state conversation.IdentityState
	// optCursor is the cursor of the last opt-out keyword applied.
	optCursor string
}

type msgRef struct{ conv, key string }

// Store is the in-memory store. The zero value is not usable; call New.
type Store struct {
	mu            sync.Mutex
	identities    map[string]*identity
	contacts      map[string]*conversation.Contact
	conversations map[string]*conversation.Conversation
	messages      map[string]map[string]*conversation.Message
	// keys are every stored message's key, whatever its conversation: the
	// dedupe markers (as the DynamoDB store keys messages by it alone).
	keys         map[string]bool
	byProviderID map[string]msgRef
	failures     map[string]conversation.Failure
	timers       map[conversation.Timer]bool
	swept        time.Time
	secrets      map[string][]byte
	facts        map[string]bool
	rollups      map[[2]string]*conversation.Rollup
	erasure      *erasure

	onStored func(conversation.Message)
}

var _ conversation.Store = (*Store)(nil)

// New returns an empty store. onStored, if not nil, is called (outside the
// store's lock) with every message after it is stored.
func New(onStored func(conversation.Message)) *Store {
	return &Store{
		identities:    map[string]*identity{},
		contacts:      map[string]*conversation.Contact{},
		conversations: map[string]*conversation.Conversation{},
		messages:      map[string]map[string]*conversation.Message{},
		keys:          map[string]bool{},
		byProviderID:  map[string]msgRef{},
		failures:      map[string]conversation.Failure{},
		timers:        map[conversation.Timer]bool{},
		onStored:      onStored,
	}
}

func (s *Store) stored(m conversation.Message) {
	if s.onStored != nil {
		s.onStored(m)
	}
}

// Route implements conversation.Store.
func (s *Store) Route(_ context.Context, id conversation.Identity) (conversation.Route, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.identities[id.Key()]
	if !ok {
		return conversation.Route{}, conversation.ErrNotFound
	}
	return rec.route, nil
}

// PutMessage implements conversation.Store.
func (s *Store) PutMessage(_ context.Context, m conversation.Message) error {
	s.mu.Lock()
	msgs, ok := s.messages[m.ConversationID]
	if !ok {
		s.mu.Unlock()
		return conversation.ErrNotFound
	}
	if _, dup := msgs[m.Key]; dup || s.keys[m.Key] {
		s.mu.Unlock()
		return conversation.ErrDuplicate
	}
	s.putLocked(m)
	s.mu.Unlock()
	s.stored(m)
	return nil
}

func (s *Store) putLocked(m conversation.Message) {
	m.Media = slices.Clone(m.Media)
	s.messages[m.ConversationID][m.Key] = &m
	s.keys[m.Key] = true
	if m.Direction == conversation.DirectionOutbound && m.ProviderMessageID != "" {
		s.byProviderID[m.Provider+":"+m.ProviderMessageID] = msgRef{m.ConversationID, m.Key}
	}
}

// OpenConversation implements conversation.Store.
func (s *Store) OpenConversation(_ context.Context, o conversation.Open) error {
	s.mu.Lock()
	key := o.Route.Identity.Key()
	rec, exists := s.identities[key]
	if (o.Route.Version == 0 && exists) || (o.Route.Version != 0 && (!exists || rec.route.Version != o.Route.Version)) {
		s.mu.Unlock()
		return conversation.ErrConflict
	}
	if s.keys[o.Message.Key] {
		s.mu.Unlock()
		return conversation.ErrDuplicate // stored before, on a conversation since closed
	}
	conv := o.Conversation
	if !exists {
		rec = &identity{
			route: conversation.Route{Identity: o.Route.Identity, ContactID: conv.ContactID, Named: o.Name != "", Erased: o.Route.Erased},
			state: conversation.IdentityState{Identity: o.Route.Identity, ContactID: conv.ContactID},
		}
		s.identities[key] = rec
		s.contacts[conv.ContactID] = &conversation.Contact{
			ID: conv.ContactID, Name: o.Name, Language: o.Language, CreatedAt: conv.CreatedAt,
			Identities: []conversation.Identity{o.Route.Identity},
		}
	}
	rec.route.ConversationID = conv.ID
	rec.route.OpenedBy = conv.OpenedBy
	rec.route.Version++
	c := s.contacts[conv.ContactID]
	c.ConversationIDs = append(c.ConversationIDs, conv.ID)
	s.conversations[conv.ID] = &conv
	s.messages[conv.ID] = map[string]*conversation.Message{}
	s.putLocked(o.Message)
	s.mu.Unlock()
	s.stored(o.Message)
	return nil
}

// Project implements conversation.Store.
func (s *Store) Project(_ context.Context, m conversation.Message, window time.Duration, at time.Time) (conversation.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conv, ok := s.conversations[m.ConversationID]
	if !ok {
		return conversation.Conversation{}, s.goneLocked(m.ConversationID)
	}
	if conv.Project(&m, window, at) {
		conv.Version++
	}
	if m.ProfileName != "" {
		if c := s.contacts[m.ContactID]; c != nil && c.Name == "" {
			c.Name = m.ProfileName
			if rec := s.identities[m.Identity.Key()]; rec != nil {
				rec.route.Named = true
			}
		}
	}
	if m.OptOut == conversation.OptOutStop || m.OptOut == conversation.OptOutStart {
		if rec := s.identities[m.Identity.Key()]; rec != nil && m.Cursor() > rec.optCursor {
			rec.optCursor = m.Cursor()
			rec.state.OptedOut = m.OptOut == conversation.OptOutStop
			rec.state.OptOutAt = m.CreatedAt
		}
	}
	return copyConv(conv), nil
}

// UpdateStatus implements conversation.Store.
func (s *Store) UpdateStatus(_ context.Context, provider, providerMessageID string, u conversation.StatusUpdate) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.byProviderID[provider+":"+providerMessageID]
	if !ok {
		return false, conversation.ErrNotFound
	}
	m := s.messages[ref.conv][ref.key]
	if conversation.StatusRank(u.Status) <= conversation.StatusRank(m.Status) {
		return false, nil
	}
	m.Status, m.ErrorCode, m.UpdatedAt = u.Status, u.ErrorCode, u.At.UTC()
	m.StatusHistory = append(slices.Clone(m.StatusHistory), conversation.StatusChange{Status: u.Status, At: u.At.UTC()})
	return true, nil
}

// RecordSend implements conversation.Store.
func (s *Store) RecordSend(_ context.Context, sent conversation.Message, r conversation.SendResult) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	conversationID, key := sent.ConversationID, sent.Key
	m, ok := s.messages[conversationID][key]
	if !ok {
		return false, conversation.ErrNotFound
	}
	if conversation.StatusRank(r.Status) <= conversation.StatusRank(m.Status) {
		return false, nil
	}
	m.Status, m.ErrorCode, m.Reason, m.UpdatedAt = r.Status, r.ErrorCode, r.Reason, r.At.UTC()
	m.StatusHistory = append(slices.Clone(m.StatusHistory), conversation.StatusChange{Status: r.Status, At: r.At.UTC()})
	if r.ProviderMessageID != "" {
		m.ProviderMessageID = r.ProviderMessageID
		s.byProviderID[m.Provider+":"+r.ProviderMessageID] = msgRef{conversationID, key}
	}
	return true, nil
}

// Inbox implements conversation.Store, as the DynamoDB store's index query
// does: entries of the status by activity key, highest first, Scan of them
// examined.
func (s *Store) Inbox(_ context.Context, r conversation.InboxRange) (conversation.InboxRead, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var in []conversation.Conversation
	for _, c := range s.conversations {
		k := c.ActivityKey()
		if c.Status == r.Filter.Status && (r.Above == "" || k > r.Above) && (r.Below == "" || k < r.Below) {
			in = append(in, copyConv(c))
		}
	}
	conversation.SortByActivity(in)
	var res conversation.InboxRead
	for i, c := range in {
		if i == r.Scan {
			res.Last = in[i-1].ActivityKey()
			break
		}
		if !r.Filter.Match(c) {
			continue
		}
		if len(res.Conversations) == r.Limit {
			res.Last = res.Conversations[r.Limit-1].ActivityKey()
			break
		}
		res.Conversations = append(res.Conversations, c)
	}
	return res, nil
}

// EditMessage implements conversation.Store.
func (s *Store) EditMessage(_ context.Context, conversationID, key, body string, editedAt time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[conversationID][key]
	if !ok {
		return false, conversation.ErrNotFound
	}
	if !m.EditedAt.IsZero() && !m.EditedAt.Before(editedAt) {
		return false, nil
	}
	if m.EditedAt.IsZero() {
		m.OriginalBody = m.Body
	}
	m.Body, m.EditedAt = body, editedAt.UTC()
	return true, nil
}

// AmendMessage implements conversation.Store.
func (s *Store) AmendMessage(_ context.Context, conversationID, key string, a conversation.Amend) error {
	s.mu.Lock()
	m, ok := s.messages[conversationID][key]
	if !ok {
		s.mu.Unlock()
		return conversation.ErrNotFound
	}
	if a.Status != "" {
		m.Status = a.Status
	}
	if a.DurationSeconds != 0 {
		m.DurationSeconds = a.DurationSeconds
	}
	if len(a.Media) > 0 {
		m.Media = slices.Clone(a.Media)
	}
	if a.Transcript != "" {
		m.Transcript = a.Transcript
	}
	if a.TranscriptStatus != "" {
		m.TranscriptStatus = a.TranscriptStatus
	}
	if a.Unsent {
		m.Unsent = true
	}
	// Media to copy arrived by amendment: the stream hears of it, as the
	// DynamoDB stream's filter passes such a modification.
	notify := len(a.Media) > 0 && m.PendingMedia()
	cp := *m
	cp.Media = slices.Clone(m.Media)
	s.mu.Unlock()
	if notify {
		s.stored(cp)
	}
	return nil
}

// Summary implements conversation.Store.
func (s *Store) Summary(_ context.Context, id string) (conversation.Conversation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conversations[id]
	if !ok {
		return conversation.Conversation{}, s.goneLocked(id)
	}
	return copyConv(c), nil
}

// Conversation implements conversation.Store.
func (s *Store) Conversation(_ context.Context, id string) (conversation.Conversation, []conversation.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conversations[id]
	if !ok {
		return conversation.Conversation{}, nil, s.goneLocked(id)
	}
	msgs := make([]conversation.Message, 0, len(s.messages[id]))
	for _, m := range s.messages[id] {
		msgs = append(msgs, *m)
	}
	conversation.SortMessages(msgs)
	return copyConv(c), msgs, nil
}

// Contact implements conversation.Store.
func (s *Store) Contact(_ context.Context, id string) (conversation.Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[id]
	if !ok && s.erasure != nil && s.erasure.contacts[id] {
		return conversation.Contact{}, conversation.ErrErased
	}
	if !ok {
		return conversation.Contact{}, conversation.ErrNotFound
	}
	out := *c
	out.Identities = slices.Clone(c.Identities)
	out.ConversationIDs = slices.Clone(c.ConversationIDs)
	out.MergedFrom = slices.Clone(c.MergedFrom)
	return out, nil
}

// IdentityState implements conversation.Store.
func (s *Store) IdentityState(_ context.Context, id conversation.Identity) (conversation.IdentityState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.identities[id.Key()]
	if !ok {
		return conversation.IdentityState{}, conversation.ErrNotFound
	}
	return rec.state, nil
}

func copyConv(c *conversation.Conversation) conversation.Conversation {
	out := *c
	out.Channels = slices.Clone(c.Channels)
	out.Labels = slices.Clone(c.Labels)
	out.UnreadCursors = slices.Clone(c.UnreadCursors)
	out.Unread = len(out.UnreadCursors) + out.UnreadOverflow
	return out
}

type deliveryRec struct {
	state      string
	leaseUntil time.Time
	reason     string
}

// Deliveries is memstore's delivery.Records.
type Deliveries struct {
	mu   sync.Mutex
	recs map[string]*deliveryRec
}

var _ delivery.Records = (*Deliveries)(nil)

// NewDeliveries returns empty delivery records.
func NewDeliveries() *Deliveries { return &Deliveries{recs: map[string]*deliveryRec{}} }

// Claim implements delivery.Records.
func (d *Deliveries) Claim(_ context.Context, id string, now time.Time, lease time.Duration) (delivery.Claim, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.recs[id]
	if ok && !(r.state == delivery.Retry || (r.state == delivery.Sending && now.After(r.leaseUntil))) {
		return delivery.Claim{State: r.state}, nil
	}
	d.recs[id] = &deliveryRec{state: delivery.Sending, leaseUntil: now.Add(lease)}
	return delivery.Claim{OK: true}, nil
}

// Finish implements delivery.Records.
func (d *Deliveries) Finish(_ context.Context, id, state, reason string, _ time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.recs[id] = &deliveryRec{state: state, reason: reason}
	return nil
}

// OutboundConversation implements conversation.Store.
func (s *Store) OutboundConversation(_ context.Context, provider, providerMessageID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ref, ok := s.byProviderID[provider+":"+providerMessageID]
	if !ok {
		return "", conversation.ErrNotFound
	}
	return ref.conv, nil
}

// RecordFailure implements conversation.Store.
func (s *Store) RecordFailure(_ context.Context, f conversation.Failure) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.At = f.At.UTC()
	s.failures[f.Source+"\x00"+f.Ref] = f
	return nil
}

// Failures implements conversation.Store.
func (s *Store) Failures(_ context.Context, source string, limit int) ([]conversation.Failure, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []conversation.Failure
	for _, f := range s.failures {
		if f.Source == source {
			out = append(out, f)
		}
	}
	return conversation.OldestFirst(out, limit), nil
}

// Message implements conversation.Store.
func (s *Store) Message(_ context.Context, conversationID, key string) (conversation.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[conversationID][key]
	if !ok {
		return conversation.Message{}, conversation.ErrNotFound
	}
	cp := *m
	cp.Media = slices.Clone(m.Media)
	return cp, nil
}

// ChangeConversation implements conversation.Store, all or nothing.
func (s *Store) ChangeConversation(_ context.Context, ch conversation.Change) error {
	s.mu.Lock()
	recs, err := s.checkChangeLocked(ch)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	added := s.applyChangeLocked(ch, recs)
	s.mu.Unlock()
	for _, m := range added {
		s.stored(m)
	}
	return nil
}

// checkChangeLocked holds ch to its conditions, as the DynamoDB
// transaction's would, and returns the identities it repoints.
func (s *Store) checkChangeLocked(ch conversation.Change) ([]*identity, error) {
	c, ok := s.conversations[ch.After.ID]
	if !ok {
		return nil, conversation.ErrNotFound
	}
	if c.Version != ch.Before.Version {
		return nil, conversation.ErrConflict
	}
	var recs []*identity
	for _, id := range ch.Identities {
		rec := s.identities[id.Key()]
		if rec == nil {
			return nil, conversation.ErrConflict
		}
		if ch.Pointer != conversation.PointerKeep && rec.route.ConversationID != "" && rec.route.ConversationID != ch.After.ID {
			if ch.Pointer == conversation.PointerSet {
				return nil, conversation.ErrNewerOpen
			}
			return nil, conversation.ErrConflict
		}
		recs = append(recs, rec)
	}
	if ch.Message != nil && s.keys[ch.Message.Key] {
		return nil, conversation.ErrDuplicate
	}
	for _, e := range ch.Events {
		if s.keys[e.Key] {
			return nil, conversation.ErrDuplicate
		}
	}
	return recs, nil
}

// applyChangeLocked writes a checked change and returns the timeline
// entries it added.
func (s *Store) applyChangeLocked(ch conversation.Change, recs []*identity) []conversation.Message {
	c := s.conversations[ch.After.ID]
	after := ch.After
	after.Channels, after.Labels, after.UnreadCursors = slices.Clone(c.Channels), slices.Clone(after.Labels), slices.Clone(after.UnreadCursors)
	after.Cursor, after.LastMessageAt, after.LastPreview = c.Cursor, c.LastMessageAt, c.LastPreview
	after.NotifyKey, after.NotifyUntil, after.OpenedBy = c.NotifyKey, c.NotifyUntil, c.OpenedBy
	*c = after
	for _, rec := range recs {
		switch ch.Pointer {
		case conversation.PointerClear:
			rec.route.LastConversationID, rec.route.LastClosedAt = after.ID, after.ClosedAt
			rec.route.ConversationID, rec.route.OpenedBy = "", ""
		case conversation.PointerSet:
			rec.route.ConversationID = after.ID
		}
		if ch.Pointer != conversation.PointerKeep {
			rec.route.Version++
		}
	}
	added := slices.Clone(ch.Events)
	if ch.Message != nil {
		added = append(added, *ch.Message)
	}
	for _, m := range added {
		s.putLocked(m)
	}
	for _, tm := range ch.Timers {
		tm.Due = tm.Due.UTC()
		s.timers[tm] = true
	}
	return added
}

// Merge implements conversation.Store: every condition checked, then
// everything written, under the lock.
func (s *Store) Merge(_ context.Context, m conversation.Merge) error {
	s.mu.Lock()
	into, from := s.contacts[m.Into.ID], s.contacts[m.From.ID]
	if into == nil || from == nil || into.MergedInto != "" || from.MergedInto != "" {
		s.mu.Unlock()
		return conversation.ErrConflict
	}
	for _, r := range m.Identities {
		if rec := s.identities[r.Route.Identity.Key()]; rec == nil || rec.route.Version != r.Route.Version {
			s.mu.Unlock()
			return conversation.ErrConflict
		}
	}
	for _, ch := range m.Changes {
		if _, err := s.checkChangeLocked(ch); err != nil {
			s.mu.Unlock()
			return conversation.ErrConflict
		}
	}
	from.MergedInto = into.ID
	into.MergedFrom = append(into.MergedFrom, from.ID)
	into.Identities = append(into.Identities, m.From.Identities...)
	into.ConversationIDs = append(into.ConversationIDs, m.From.ConversationIDs...)
	for _, r := range m.Identities {
		rec := s.identities[r.Route.Identity.Key()]
		rec.route.ContactID, rec.state.ContactID = r.ContactID, r.ContactID
		rec.route.ConversationID, rec.route.OpenedBy = r.ConversationID, r.OpenedBy
		rec.route.Blocked, rec.route.Named = r.Blocked, r.Named
		rec.route.Version++
	}
	var added []conversation.Message
	for _, ch := range m.Changes {
		added = append(added, s.applyChangeLocked(ch, nil)...)
	}
	s.mu.Unlock()
	for _, msg := range added {
		s.stored(msg)
	}
	return nil
}

// MoveConversations implements conversation.Store.
func (s *Store) MoveConversations(_ context.Context, from, to string, ids []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if c := s.conversations[id]; c != nil && c.ContactID == from {
			c.ContactID = to
		}
	}
	return nil
}

// MoveMessage implements conversation.Store.
func (s *Store) MoveMessage(_ context.Context, key, from, to string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[from][key]
	if !ok || s.messages[to] == nil {
		return nil
	}
	delete(s.messages[from], key)
	m.ConversationID = to
	s.messages[to][key] = m
	return nil
}

// Timeline implements conversation.Store.
func (s *Store) Timeline(ctx context.Context, id, before string, limit int) ([]conversation.Message, string, error) {
	_, msgs, err := s.Conversation(ctx, id)
	if err != nil {
		return nil, "", err
	}
	slices.Reverse(msgs)
	var newest []conversation.Message
	for _, m := range msgs {
		if before == "" || m.Cursor() < before {
			newest = append(newest, m)
		}
		if len(newest) > limit {
			break
		}
	}
	return conversation.TimelinePage(newest, limit)
}

var _ conversation.TimerStore = (*Store)(nil)

// DueTimers implements conversation.TimerStore.
func (s *Store) DueTimers(_ context.Context, minute time.Time) ([]conversation.Timer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []conversation.Timer
	for tm := range s.timers {
		if conversation.Minute(tm.Due).Equal(conversation.Minute(minute)) {
			out = append(out, tm)
		}
	}
	return out, nil
}

// PutTimer implements conversation.TimerWriter.
func (s *Store) PutTimer(_ context.Context, tm conversation.Timer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tm.Due = tm.Due.UTC()
	s.timers[tm] = true
	return nil
}

// DeleteTimer implements conversation.TimerStore.
func (s *Store) DeleteTimer(_ context.Context, tm conversation.Timer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tm.Due = tm.Due.UTC()
	delete(s.timers, tm)
	return nil
}

// Swept implements conversation.TimerStore.
func (s *Store) Swept(context.Context) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.swept, nil
}

// SetSwept implements conversation.TimerStore.
func (s *Store) SetSwept(_ context.Context, minute time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := conversation.Minute(minute); m.After(s.swept) {
		s.swept = m
	}
	return nil
}

// ChangeContact implements conversation.Store.
func (s *Store) ChangeContact(_ context.Context, before, after conversation.Contact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contacts[after.ID]
	if !ok {
		return conversation.ErrNotFound
	}
	c.Name, c.Language, c.Blocked, c.Email = after.Name, after.Language, after.Blocked, after.Email
	for _, id := range c.Identities {
		if rec := s.identities[id.Key()]; rec != nil {
			rec.route.Blocked = after.Blocked
			if after.Name != "" {
				rec.route.Named = true
			}
		}
	}
	return nil
}

// Secret implements conversation.Store.
func (s *Store) Secret(_ context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets == nil {
		s.secrets = map[string][]byte{}
	}
	if k, ok := s.secrets[name]; ok {
		return slices.Clone(k), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	s.secrets[name] = k
	return slices.Clone(k), nil
}

// RecordFact implements conversation.Store.
func (s *Store) RecordFact(_ context.Context, f conversation.Fact) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.facts == nil {
		s.facts, s.rollups = map[string]bool{}, map[[2]string]*conversation.Rollup{}
	}
	if s.facts[f.ID] {
		return nil
	}
	s.facts[f.ID] = true
	k := [2]string{f.Team, f.Day}
	r := s.rollups[k]
	if r == nil {
		r = &conversation.Rollup{Team: f.Team, Day: f.Day, Opened: map[conversation.Channel]int{},
			FirstResponse: make([]int, len(conversation.Buckets)+1), Resolution: make([]int, len(conversation.Buckets)+1)}
		s.rollups[k] = r
	}
	ms := f.Duration.Truncate(time.Millisecond) // as DynamoDB keeps the sums
	switch f.Kind {
	case conversation.FactOpened:
		r.Opened[f.Channel]++
	case conversation.FactReopened:
		r.Reopened++
	case conversation.FactCSAT:
		if f.Score >= 1 && f.Score <= len(r.CSAT) {
			r.CSAT[f.Score-1]++
		}
	case conversation.FactClosed:
		r.Closed++
		r.Resolution[conversation.Bucket(f.Duration)]++
		r.ResolutionSum += ms
	case conversation.FactFirstResponse:
		r.FirstResponse[conversation.Bucket(f.Duration)]++
		r.FirstResponseSum += ms
	}
	return nil
}

// Rollups implements conversation.Store.
func (s *Store) Rollups(_ context.Context, team, from, to string) ([]conversation.Rollup, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []conversation.Rollup
	for k, r := range s.rollups {
		if k[0] == team && k[1] >= from && k[1] <= to {
			c := *r
			c.Opened = maps.Clone(r.Opened)
			c.FirstResponse, c.Resolution = slices.Clone(r.FirstResponse), slices.Clone(r.Resolution)
			out = append(out, c)
		}
	}
	return out, nil
}
