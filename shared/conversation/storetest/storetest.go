// Package storetest is the contract every conversation.Store must meet. The
// memory and DynamoDB stores run the same suite, so the dev server and the
// unit tests behave as production does.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/phone"
)

// NewStore returns an empty store for one test.
type NewStore func(t *testing.T) conversation.Store

var norm = phone.Normalizer("US")

type harness struct {
	t     *testing.T
	store conversation.Store
	svc   *conversation.Service
	clock time.Time
	// step is how far the clock moves per reading (1 ms unless a test
	// wants time to pass at a human pace).
	step time.Duration
	mu   sync.Mutex
}

func newHarness(t *testing.T, ns NewStore) *harness {
	st := ns(t)
	h := &harness{t: t, store: st, clock: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	h.svc = &conversation.Service{Store: st, Team: "support", Now: h.now}
	return h
}

// now advances a step (one millisecond) per call so that messages order by
// arrival.
func (h *harness) now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clock = h.clock.Add(max(h.step, time.Millisecond))
	return h.clock
}

func (h *harness) phone(raw string) conversation.Identity {
	id, err := norm.Phone(raw)
	if err != nil {
		h.t.Fatalf("normalize %q: %v", raw, err)
	}
	return id
}

func (h *harness) sms(key, from, body string) conversation.Inbound {
	return conversation.Inbound{
		Key: "twilio:" + key, Channel: conversation.ChannelSMS, From: h.phone(from), FromAddress: from,
		To: "+18005550100", Body: body, Provider: "twilio", ProviderMessageID: key,
	}
}

// ingest stores in and, like the stream, projects what was stored.
func (h *harness) ingest(in conversation.Inbound) conversation.Result {
	h.t.Helper()
	ctx := context.Background()
	res, err := h.svc.Ingest(ctx, in)
	if err != nil {
		h.t.Fatalf("ingest %s: %v", in.Key, err)
	}
	if !res.Duplicate {
		if _, err := h.svc.Project(ctx, res.Message); err != nil {
			h.t.Fatalf("project %s: %v", in.Key, err)
		}
	}
	return res
}

func (h *harness) conversation(id string) (conversation.Conversation, []conversation.Message) {
	h.t.Helper()
	c, msgs, err := h.store.Conversation(context.Background(), id)
	if err != nil {
		h.t.Fatalf("get conversation %s: %v", id, err)
	}
	return c, msgs
}

func (h *harness) open() []conversation.Conversation {
	h.t.Helper()
	return h.list(conversation.InboxFilter{Status: conversation.StatusOpen}, 100)
}

// Run runs the whole contract against stores made by ns.
func Run(t *testing.T, ns NewStore) {
	t.Run("FirstMessageCreatesContactAndConversation", func(t *testing.T) { firstMessage(t, ns) })
	t.Run("FollowUpJoinsOpenConversation", func(t *testing.T) { followUp(t, ns) })
	t.Run("DuplicateChangesNothing", func(t *testing.T) { duplicate(t, ns) })
	t.Run("SMSAndWhatsAppAreOneConversation", func(t *testing.T) { crossChannel(t, ns) })
	t.Run("ConcurrentCopiesStoreOnce", func(t *testing.T) { concurrentCopies(t, ns) })
	t.Run("ConcurrentFirstMessagesShareConversation", func(t *testing.T) { concurrentDistinct(t, ns) })
	t.Run("ProjectionIsIdempotentAndOrderFree", func(t *testing.T) { projection(t, ns) })
	t.Run("ProjectionKeepsNotificationWindow", func(t *testing.T) { window(t, ns) })
	t.Run("ProfileNameNamesUnnamedContactOnce", func(t *testing.T) { profileName(t, ns) })
	t.Run("OptOutRecordedOnIdentity", func(t *testing.T) { optOut(t, ns) })
	t.Run("StatusNeverMovesBackwards", func(t *testing.T) { status(t, ns) })
	t.Run("ListNewestFirst", func(t *testing.T) { listOrder(t, ns) })
	RunInbox(t, ns)
	t.Run("Merge", func(t *testing.T) { RunMerge(t, ns) })
	RunReports(t, ns)
	RunReplies(t, ns)
	t.Run("MediaAndBodyRoundTrip", func(t *testing.T) { roundTrip(t, ns) })
	t.Run("EmailThreadScopedToSender", func(t *testing.T) { thread(t, ns) })
	t.Run("OutboundFoundByProviderID", func(t *testing.T) { outbound(t, ns) })
	t.Run("FailuresKeptOnce", func(t *testing.T) { failures(t, ns) })
	t.Run("SparseMessageRoundTrips", func(t *testing.T) { sparse(t, ns) })
	t.Run("EditsLandOnTheOriginal", func(t *testing.T) { edits(t, ns) })
	t.Run("CallsAndAmends", func(t *testing.T) { calls(t, ns) })
	t.Run("EchoIsOutboundAndReadReceipts", func(t *testing.T) { echoes(t, ns) })
	t.Run("NotFound", func(t *testing.T) { notFound(t, ns) })
	t.Run("Lifecycle", func(t *testing.T) { RunLifecycle(t, ns) })
	t.Run("Erasure", func(t *testing.T) { RunErasure(t, ns) })
}

func firstMessage(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	res := h.ingest(h.sms("SM1", "+14155550101", "my order is late"))
	if !res.NewConversation || res.Duplicate {
		t.Fatalf("first message: got %+v, want new conversation", res)
	}
	route, err := h.store.Route(context.Background(), h.phone("+14155550101"))
	if err != nil {
		t.Fatalf("route: %v", err)
	}
	if route.ConversationID != res.Message.ConversationID || route.ContactID != res.Message.ContactID {
		t.Errorf("route = %+v, want conversation %s contact %s", route, res.Message.ConversationID, res.Message.ContactID)
	}
	c, msgs := h.conversation(res.Message.ConversationID)
	if c.Status != conversation.StatusOpen || c.ContactID != res.Message.ContactID || c.Team != "support" {
		t.Errorf("conversation = %+v", c)
	}
	if len(msgs) != 1 || msgs[0].Body != "my order is late" || msgs[0].Direction != conversation.DirectionInbound {
		t.Fatalf("messages = %+v, want the one inbound message", msgs)
	}
	if c.Unread != 1 || !c.LastMessageAt.Equal(msgs[0].CreatedAt) || c.LastPreview != "my order is late" {
		t.Errorf("summary = unread %d last %v preview %q", c.Unread, c.LastMessageAt, c.LastPreview)
	}
	contact, err := h.store.Contact(context.Background(), res.Message.ContactID)
	if err != nil {
		t.Fatalf("contact: %v", err)
	}
	if !slices.Equal(contact.Identities, []conversation.Identity{h.phone("+14155550101")}) {
		t.Errorf("identities = %v", contact.Identities)
	}
	if !slices.Equal(contact.ConversationIDs, []string{c.ID}) {
		t.Errorf("contact conversations = %v, want [%s]", contact.ConversationIDs, c.ID)
	}
}

func followUp(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SM1", "+14155550101", "hello"))
	second := h.ingest(h.sms("SM2", "+14155550101", "are you there?"))
	if second.NewConversation || second.Duplicate {
		t.Fatalf("follow-up: got %+v", second)
	}
	if second.Message.ConversationID != first.Message.ConversationID {
		t.Fatalf("follow-up went to %s, want %s", second.Message.ConversationID, first.Message.ConversationID)
	}
	c, msgs := h.conversation(first.Message.ConversationID)
	if got := bodies(msgs); !slices.Equal(got, []string{"hello", "are you there?"}) {
		t.Errorf("timeline = %q", got)
	}
	if c.Unread != 2 || c.LastPreview != "are you there?" {
		t.Errorf("summary unread=%d preview=%q", c.Unread, c.LastPreview)
	}
	// Another customer gets a conversation of their own.
	other := h.ingest(h.sms("SM3", "+14155550102", "hi"))
	if !other.NewConversation || other.Message.ConversationID == first.Message.ConversationID {
		t.Errorf("second customer: %+v", other)
	}
	if got := len(h.open()); got != 2 {
		t.Errorf("open conversations = %d, want 2", got)
	}
}

func duplicate(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SM1", "+14155550101", "hello"))
	for range 3 {
		again := h.ingest(h.sms("SM1", "+14155550101", "hello"))
		if !again.Duplicate || again.NewConversation {
			t.Fatalf("redelivery: got %+v, want duplicate", again)
		}
	}
	c, msgs := h.conversation(first.Message.ConversationID)
	if len(msgs) != 1 || c.Unread != 1 {
		t.Errorf("after duplicates: %d messages, unread %d; want 1, 1", len(msgs), c.Unread)
	}
}

func crossChannel(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	sms := h.ingest(h.sms("SM1", "+14155550101", "texting"))
	wa := h.sms("SM2", "whatsapp:+14155550101", "now on whatsapp")
	wa.Channel = conversation.ChannelWhatsApp
	res := h.ingest(wa)
	if res.Message.ConversationID != sms.Message.ConversationID || res.Message.ContactID != sms.Message.ContactID {
		t.Fatalf("whatsapp landed on %s/%s, want %s/%s", res.Message.ContactID, res.Message.ConversationID,
			sms.Message.ContactID, sms.Message.ConversationID)
	}
	open := h.open()
	if len(open) != 1 {
		t.Fatalf("open conversations = %d, want 1", len(open))
	}
	want := []conversation.Channel{conversation.ChannelSMS, conversation.ChannelWhatsApp}
	if !slices.Equal(open[0].Channels, want) {
		t.Errorf("channels = %v, want %v", open[0].Channels, want)
	}
}

func concurrentCopies(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	const copies = 16
	results := make([]conversation.Result, copies)
	errs := make([]error, copies)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = h.svc.Ingest(context.Background(), h.sms("SMdup", "+14155550199", "once"))
		}()
	}
	close(start)
	wg.Wait()
	stored, opened := 0, 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("copy %d: %v", i, errs[i])
		}
		if !r.Duplicate {
			stored++
			if _, err := h.svc.Project(context.Background(), r.Message); err != nil {
				t.Fatal(err)
			}
		}
		if r.NewConversation {
			opened++
		}
	}
	if stored != 1 || opened != 1 {
		t.Fatalf("%d copies: stored %d, opened %d; want 1, 1", copies, stored, opened)
	}
	open := h.open()
	if len(open) != 1 {
		t.Fatalf("open conversations = %d, want 1", len(open))
	}
	_, msgs := h.conversation(open[0].ID)
	if len(msgs) != 1 {
		t.Errorf("messages = %d, want 1", len(msgs))
	}
}

func concurrentDistinct(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	// As many as the summary tracks unread: projected in any order, each
	// counts (beyond that, one overtaken by all tracked is taken as seen).
	const n = conversation.MaxUnreadTracked
	results := make([]conversation.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = h.svc.Ingest(context.Background(), h.sms(fmt.Sprintf("SM%02d", i), "+14155550198", fmt.Sprint("part ", i)))
		}()
	}
	close(start)
	wg.Wait()
	convs := map[string]bool{}
	contacts := map[string]bool{}
	opened := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("message %d: %v", i, errs[i])
		}
		if r.Duplicate {
			t.Errorf("message %d reported duplicate", i)
		}
		if r.NewConversation {
			opened++
		}
		convs[r.Message.ConversationID] = true
		contacts[r.Message.ContactID] = true
		if _, err := h.svc.Project(context.Background(), r.Message); err != nil {
			t.Fatal(err)
		}
	}
	if len(convs) != 1 || len(contacts) != 1 || opened != 1 {
		t.Fatalf("conversations %d, contacts %d, opened %d; want 1 each", len(convs), len(contacts), opened)
	}
	for id := range convs {
		c, msgs := h.conversation(id)
		if len(msgs) != n || c.Unread != n {
			t.Errorf("messages %d unread %d, want %d", len(msgs), c.Unread, n)
		}
	}
}

func projection(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	a, err := h.svc.Ingest(ctx, h.sms("SMa", "+14155550101", "first"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.svc.Ingest(ctx, h.sms("SMb", "+14155550101", "second"))
	if err != nil {
		t.Fatal(err)
	}
	reply := conversation.Message{
		ID: "msg_reply", Key: "agent:r1", ConversationID: a.Message.ConversationID, ContactID: a.Message.ContactID,
		Channel: conversation.ChannelSMS, Direction: conversation.DirectionOutbound, From: "+18005550100", To: "+14155550101",
		Body: "we're on it", Provider: "twilio", ProviderMessageID: "SMr1", Status: "queued",
		CreatedAt: h.now(), Identity: a.Message.Identity,
	}
	if err := h.store.PutMessage(ctx, reply); err != nil {
		t.Fatal(err)
	}
	c3, err := h.svc.Ingest(ctx, h.sms("SMc", "+14155550101", "thanks!"))
	if err != nil {
		t.Fatal(err)
	}
	// The stream may deliver out of order and more than once.
	for _, m := range []conversation.Message{c3.Message, b.Message, reply, a.Message, b.Message, c3.Message, reply} {
		if _, err := h.svc.Project(ctx, m); err != nil {
			t.Fatalf("project %s: %v", m.Key, err)
		}
	}
	c, msgs := h.conversation(a.Message.ConversationID)
	if got := bodies(msgs); !slices.Equal(got, []string{"first", "second", "we're on it", "thanks!"}) {
		t.Errorf("timeline = %q", got)
	}
	if c.Unread != 1 || c.LastPreview != "thanks!" || !c.LastMessageAt.Equal(c3.Message.CreatedAt) {
		t.Errorf("summary unread=%d preview=%q last=%v; want 1, thanks!, %v", c.Unread, c.LastPreview, c.LastMessageAt, c3.Message.CreatedAt)
	}
	if !slices.Equal(c.Channels, []conversation.Channel{conversation.ChannelSMS}) {
		t.Errorf("channels = %v", c.Channels)
	}
}

func window(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	h.svc.Window = time.Hour
	ctx := context.Background()
	var opener conversation.Message
	for i, key := range []string{"SMw1", "SMw2", "SMw3"} {
		res, err := h.svc.Ingest(ctx, h.sms(key, "+14155550161", "part"))
		if err != nil {
			t.Fatal(err)
		}
		conv, err := h.svc.Project(ctx, res.Message)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			opener = res.Message
		}
		if conv.NotifyKey != opener.Key || !conv.NotifyUntil.Equal(opener.CreatedAt.Add(time.Hour)) || conv.Unread != i+1 {
			t.Fatalf("after %s: notify %s until %v, unread %d; want %s until %v", key, conv.NotifyKey, conv.NotifyUntil, conv.Unread, opener.Key, opener.CreatedAt.Add(time.Hour))
		}
	}
	// A redelivered opener still reports that it opened the window.
	conv, err := h.svc.Project(ctx, opener)
	if err != nil || conv.NotifyKey != opener.Key {
		t.Errorf("redelivered opener: %v, notify key %s", err, conv.NotifyKey)
	}
	stored, err := h.store.Summary(ctx, opener.ConversationID)
	if err != nil || stored.Unread != 3 {
		t.Errorf("summary: %+v, %v", stored, err)
	}
	if stored.NotifyKey != opener.Key || !stored.NotifyUntil.Equal(opener.CreatedAt.Add(time.Hour)) {
		t.Errorf("stored summary: notify %s until %v", stored.NotifyKey, stored.NotifyUntil)
	}
}

func profileName(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	// Named on the first message.
	in := h.sms("SMw1", "whatsapp:+14155550111", "hola")
	in.Channel, in.ProfileName = conversation.ChannelWhatsApp, "Ana"
	res := h.ingest(in)
	c, err := h.store.Contact(ctx, res.Message.ContactID)
	if err != nil || c.Name != "Ana" {
		t.Fatalf("contact = %+v, %v; want named Ana", c, err)
	}
	// A contact first seen by SMS is named by a later WhatsApp profile, once.
	res = h.ingest(h.sms("SMs1", "+14155550112", "hi"))
	for i, name := range []string{"Ben", "Benjamin"} {
		in := h.sms(fmt.Sprint("SMw2", i), "whatsapp:+14155550112", "hi again")
		in.Channel, in.ProfileName = conversation.ChannelWhatsApp, name
		h.ingest(in)
	}
	c, err = h.store.Contact(ctx, res.Message.ContactID)
	if err != nil || c.Name != "Ben" {
		t.Fatalf("contact = %+v, %v; want named Ben (the first profile name, not overwritten)", c, err)
	}
}

func optOut(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	id := h.phone("+14155550121")
	h.ingest(h.sms("SMo1", "+14155550121", "hello"))
	st, err := h.store.IdentityState(ctx, id)
	if err != nil || st.OptedOut {
		t.Fatalf("before STOP: %+v, %v", st, err)
	}
	stop := h.sms("SMo2", "+14155550121", "STOP")
	stop.OptOut = conversation.OptOutStop
	stopRes := h.ingest(stop)
	if st, _ = h.store.IdentityState(ctx, id); !st.OptedOut {
		t.Fatalf("after STOP: %+v, want opted out", st)
	}
	start := h.sms("SMo3", "+14155550121", "START")
	start.OptOut = conversation.OptOutStart
	h.ingest(start)
	// A redelivered STOP, older than the START, must not opt out again.
	if _, err := h.svc.Project(ctx, stopRes.Message); err != nil {
		t.Fatal(err)
	}
	if st, _ = h.store.IdentityState(ctx, id); st.OptedOut {
		t.Fatalf("after START: %+v, want opted in", st)
	}
}

func status(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	res := h.ingest(h.sms("SMi", "+14155550131", "help"))
	out := conversation.Message{
		ID: "msg_out", Key: "agent:o1", ConversationID: res.Message.ConversationID, ContactID: res.Message.ContactID,
		Channel: conversation.ChannelSMS, Direction: conversation.DirectionOutbound, From: "+18005550100", To: "+14155550131",
		Body: "hello from support", Provider: "twilio", ProviderMessageID: "SMout1", Status: "queued",
		CreatedAt: h.now(), Identity: res.Message.Identity,
	}
	if err := h.store.PutMessage(ctx, out); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status  string
		applied bool
		want    string
	}{
		{"sent", true, "sent"},
		{"delivered", true, "delivered"},
		{"sent", false, "delivered"},
		{"delivered", false, "delivered"},
		{"read", true, "read"},
	}
	for _, s := range steps {
		ok, err := h.store.UpdateStatus(ctx, "twilio", "SMout1", conversation.StatusUpdate{Status: s.status, At: h.now()})
		if err != nil || ok != s.applied {
			t.Fatalf("status %s: applied=%v err=%v; want %v", s.status, ok, err, s.applied)
		}
		_, msgs := h.conversation(res.Message.ConversationID)
		for _, m := range msgs {
			if m.Key == out.Key && m.Status != s.want {
				t.Fatalf("after %s: status %s, want %s", s.status, m.Status, s.want)
			}
		}
	}
	if _, err := h.store.UpdateStatus(ctx, "twilio", "SMunknown", conversation.StatusUpdate{Status: "delivered", At: h.now()}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("unknown sid: err = %v, want ErrNotFound", err)
	}
	// Inbound messages are not addressable by status callbacks.
	if _, err := h.store.UpdateStatus(ctx, "twilio", "SMi", conversation.StatusUpdate{Status: "delivered", At: h.now()}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("inbound sid: err = %v, want ErrNotFound", err)
	}
}

func listOrder(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	a := h.ingest(h.sms("SM1", "+14155550141", "a"))
	b := h.ingest(h.sms("SM2", "+14155550142", "b"))
	h.ingest(h.sms("SM3", "+14155550141", "a again"))
	open := h.open()
	if len(open) != 2 || open[0].ID != a.Message.ConversationID || open[1].ID != b.Message.ConversationID {
		t.Fatalf("order = %v, want [%s %s]", ids(open), a.Message.ConversationID, b.Message.ConversationID)
	}
	if closed := h.list(conversation.InboxFilter{Status: conversation.StatusClosed}, 10); len(closed) != 0 {
		t.Errorf("closed = %v; want none", ids(closed))
	}
}

func roundTrip(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	in := h.sms("MM1", "+14155550151", "ünïcødé ✓ and a photo")
	in.Media = []conversation.Media{
		{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", ContentType: "image/jpeg"},
		{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", ContentType: "application/pdf"},
	}
	in.Subject, in.FullBody, in.Source = "Ré: ✓", "new\n> old", "s3://raw/k"
	res := h.ingest(in)
	_, msgs := h.conversation(res.Message.ConversationID)
	if len(msgs) != 1 {
		t.Fatalf("messages = %d", len(msgs))
	}
	got := msgs[0]
	want := slices.Clone(in.Media)
	for i := range want {
		want[i].Status = conversation.MediaPending // the pipeline's to do
	}
	one, err := h.store.Message(context.Background(), res.Message.ConversationID, res.Message.Key)
	if err != nil || one.ID != got.ID || !slices.Equal(one.Media, got.Media) || one.Body != got.Body {
		t.Errorf("Message = %+v, %v; want the timeline's %+v", one, err, got)
	}
	if _, err := h.store.Message(context.Background(), res.Message.ConversationID, "twilio:nope"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Message of an unknown key: %v, want ErrNotFound", err)
	}
	if got.Subject != in.Subject || got.FullBody != in.FullBody || got.Source != in.Source {
		t.Errorf("email fields: got %q %q %q", got.Subject, got.FullBody, got.Source)
	}
	if got.Body != in.Body || !slices.Equal(got.Media, want) || !slices.Equal(res.Message.Media, want) || got.From != in.FromAddress || got.To != in.To ||
		got.ProviderMessageID != "MM1" || got.Provider != "twilio" || got.Channel != conversation.ChannelSMS ||
		got.ID != res.Message.ID || !got.CreatedAt.Equal(res.Message.CreatedAt) || got.Identity != in.From {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, res.Message)
	}
}

// sparse: empty optional fields (a media-only message with no To, a
// conversation with no team) store and read back as empty.
func sparse(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	h.svc.Team = ""
	in := h.sms("MMsparse", "+14155550171", "")
	in.To = ""
	in.Media = []conversation.Media{{URL: "https://api.twilio.com/m/ME9", ContentType: "image/png"}}
	res := h.ingest(in)
	c, msgs := h.conversation(res.Message.ConversationID)
	if len(msgs) != 1 || msgs[0].Body != "" || msgs[0].To != "" || len(msgs[0].Media) != 1 || c.Team != "" || c.LastPreview != "[image/png]" {
		t.Errorf("sparse round trip: %+v / %+v", c, msgs)
	}
	// A bodiless outbound message without an identity (a platform's echo of
	// a sticker) stores and projects too.
	out := conversation.Message{ID: "msg_sparse_out", Key: "meta:sparse", ConversationID: c.ID, ContactID: c.ContactID,
		Channel: conversation.ChannelMessenger, Direction: conversation.DirectionOutbound, CreatedAt: h.now()}
	if err := h.store.PutMessage(context.Background(), out); err != nil {
		t.Fatalf("bodiless outbound: %v", err)
	}
	if _, err := h.svc.Project(context.Background(), out); err != nil {
		t.Fatalf("project bodiless outbound: %v", err)
	}
	if c, _ = h.conversation(c.ID); c.LastPreview != "" || c.Unread != 0 {
		t.Errorf("after a bodiless reply: preview %q unread %d", c.LastPreview, c.Unread)
	}
}

func edits(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	tg, _ := norm.Platform(conversation.KindTelegram, "1111111")
	in := conversation.Inbound{Key: "telegram:10000", Channel: conversation.ChannelTelegram, From: tg, FromAddress: "1111111",
		Body: "helo", Provider: "telegram", ProviderMessageID: "1111111:1365", Language: "pt-BR"}
	res := h.ingest(in)
	contact, err := h.store.Contact(ctx, res.Message.ContactID)
	if err != nil || contact.Language != "pt-BR" {
		t.Errorf("contact language = %q, %v", contact.Language, err)
	}
	t1 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, e := range []struct {
		body string
		at   time.Time
	}{{"hello", t1}, {"hello!", t1.Add(time.Minute)}, {"hello", t1}, {"hello!", t1.Add(time.Minute)}} {
		if err := h.svc.Edit(ctx, tg, "telegram", "1111111:1365", e.body, e.at); err != nil {
			t.Fatalf("edit: %v", err)
		}
	}
	_, msgs := h.conversation(res.Message.ConversationID)
	if len(msgs) != 1 || msgs[0].Body != "hello!" || msgs[0].OriginalBody != "helo" || !msgs[0].EditedAt.Equal(t1.Add(time.Minute)) {
		t.Errorf("after edits: %+v", msgs)
	}
	if err := h.svc.Edit(ctx, tg, "telegram", "1111111:9999", "x", t1); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("edit of an unknown message: %v", err)
	}
}

// calls: a ringing call is on the timeline but not unread; a missed call
// and a voicemail are; amends set fields whatever their order.
func calls(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	call := h.sms("CAcall", "+14155550181", "Incoming call")
	call.Key, call.Channel, call.Kind = "twilio:call:CAcall", conversation.ChannelVoice, conversation.KindCall
	res := h.ingest(call)
	c, _ := h.conversation(res.Message.ConversationID)
	if c.Unread != 0 || c.NotifyKey != "" {
		t.Errorf("a ringing call: unread %d, notify %q; want neither", c.Unread, c.NotifyKey)
	}
	vm := h.sms("RErec", "+14155550181", "Voicemail")
	vm.Key, vm.Channel, vm.Kind = "twilio:rec:RErec", conversation.ChannelVoice, conversation.KindVoicemail
	res = h.ingest(vm)
	if c, _ = h.conversation(res.Message.ConversationID); c.Unread != 1 || c.NotifyKey != vm.Key {
		t.Errorf("a voicemail: unread %d, notify %q", c.Unread, c.NotifyKey)
	}
	media := []conversation.Media{{URL: "https://api.twilio.com/Recordings/RErec", ContentType: "audio/mpeg"}}
	for _, a := range []conversation.Amend{
		{Transcript: "call me back", TranscriptStatus: "completed"},
		{Status: "completed", DurationSeconds: 14, Media: media},
		{Transcript: "call me back", TranscriptStatus: "completed"},
		{Status: "completed", DurationSeconds: 14, Media: media},
	} {
		if err := h.svc.Amend(ctx, res.Message.ConversationID, vm.Key, a); err != nil {
			t.Fatal(err)
		}
	}
	_, msgs := h.conversation(res.Message.ConversationID)
	got := msgs[len(msgs)-1]
	if got.Transcript != "call me back" || got.TranscriptStatus != "completed" || got.DurationSeconds != 14 ||
		got.Status != "completed" || len(got.Media) != 1 || got.Kind != conversation.KindVoicemail {
		t.Errorf("voicemail = %+v", got)
	}
	if err := h.svc.Amend(ctx, res.Message.ConversationID, "twilio:rec:nope", conversation.Amend{Status: "x"}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("amend of a missing message: %v", err)
	}
}

func echoes(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	psid, _ := norm.Platform(conversation.KindMessenger, "psid-1")
	in := conversation.Inbound{Key: "meta:m1", Channel: conversation.ChannelMessenger, From: psid, FromAddress: "psid-1",
		Body: "hi page", Provider: "meta", ProviderMessageID: "m1", ReceivedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	first := h.ingest(in)
	echo := in
	echo.Key, echo.ProviderMessageID, echo.Body, echo.Direction = "meta:m2", "m2", "hello from the page", conversation.DirectionOutbound
	echo.ReceivedAt = in.ReceivedAt.Add(time.Minute)
	res := h.ingest(echo)
	if res.Message.ConversationID != first.Message.ConversationID || res.Message.Direction != conversation.DirectionOutbound || res.Message.Status != "sent" {
		t.Fatalf("echo = %+v", res.Message)
	}
	c, _ := h.conversation(first.Message.ConversationID)
	if c.Unread != 0 || c.LastPreview != "hello from the page" {
		t.Errorf("after echo: unread %d preview %q", c.Unread, c.LastPreview)
	}
	if ok, err := h.store.UpdateStatus(ctx, "meta", "m2", conversation.StatusUpdate{Status: "delivered", At: echo.ReceivedAt}); err != nil || !ok {
		t.Errorf("delivery of the echo: %v %v", ok, err)
	}
	n, err := h.svc.MarkRead(ctx, psid, "meta", echo.ReceivedAt.Add(time.Second))
	if err != nil || n != 1 {
		t.Errorf("read watermark marked %d, %v", n, err)
	}
	_, msgs := h.conversation(first.Message.ConversationID)
	for _, m := range msgs {
		if m.Key == "meta:m2" && m.Status != "read" {
			t.Errorf("echo status = %s, want read", m.Status)
		}
		if m.Key == "meta:m1" && m.Status != "received" {
			t.Errorf("inbound status changed to %s", m.Status)
		}
	}
}

func notFound(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	if _, err := h.store.Route(ctx, h.phone("+14155550199")); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Route: %v", err)
	}
	if _, _, err := h.store.Conversation(ctx, "cv_missing"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Conversation: %v", err)
	}
	if _, err := h.store.Summary(ctx, "cv_missing"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Summary: %v", err)
	}
	if _, err := h.store.Contact(ctx, "ct_missing"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Contact: %v", err)
	}
	if _, err := h.store.IdentityState(ctx, h.phone("+14155550199")); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("IdentityState: %v", err)
	}
}

func bodies(msgs []conversation.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Body
	}
	return out
}

func ids(cs []conversation.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// RunDeliveries is the contract of delivery.Records.
func RunDeliveries(t *testing.T, newRecords func(t *testing.T) delivery.Records) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	claim := func(r delivery.Records, id string, at time.Time) delivery.Claim {
		t.Helper()
		c, err := r.Claim(ctx, id, at, time.Minute)
		if err != nil {
			t.Fatalf("claim %s: %v", id, err)
		}
		return c
	}
	t.Run("OnceSentNeverAgain", func(t *testing.T) {
		r := newRecords(t)
		if c := claim(r, "j1", t0); !c.OK {
			t.Fatalf("first claim: %+v", c)
		}
		if c := claim(r, "j1", t0.Add(time.Second)); c.OK || c.State != delivery.Sending {
			t.Errorf("claim during the lease: %+v, want refused, sending", c)
		}
		if err := r.Finish(ctx, "j1", delivery.Sent, "", t0); err != nil {
			t.Fatal(err)
		}
		if c := claim(r, "j1", t0.Add(time.Hour)); c.OK || c.State != delivery.Sent {
			t.Errorf("claim after sent: %+v", c)
		}
	})
	t.Run("LeaseExpiresAndRetryReleases", func(t *testing.T) {
		r := newRecords(t)
		claim(r, "j2", t0)
		if c := claim(r, "j2", t0.Add(2*time.Minute)); !c.OK {
			t.Errorf("claim after the lease ran out: %+v", c)
		}
		if err := r.Finish(ctx, "j2", delivery.Retry, "timeout", t0); err != nil {
			t.Fatal(err)
		}
		if c := claim(r, "j2", t0.Add(2*time.Minute)); !c.OK {
			t.Errorf("claim after release: %+v", c)
		}
		if err := r.Finish(ctx, "j2", delivery.Failed, "HTTP 410", t0); err != nil {
			t.Fatal(err)
		}
		if c := claim(r, "j2", t0.Add(time.Hour)); c.OK || c.State != delivery.Failed {
			t.Errorf("claim after failed: %+v", c)
		}
	})
	t.Run("ConcurrentClaimsOneWins", func(t *testing.T) {
		r := newRecords(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := r.Claim(ctx, "j3", t0, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if c.OK {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Errorf("%d concurrent claims won, want 1", won)
		}
	})
}

func (h *harness) email(key, from, body string) conversation.Inbound {
	id, err := norm.Email(from)
	if err != nil {
		h.t.Fatalf("normalize %q: %v", from, err)
	}
	return conversation.Inbound{
		Key: "email:" + key, Channel: conversation.ChannelEmail, From: id, FromAddress: from,
		To: "support@example.com", Body: body, Provider: "ses", ProviderMessageID: key,
	}
}

// thread: an email's thread hint joins the conversation it names only when
// that conversation is open and the sender's own; another sender's token is
// ignored (their own conversation, or a new one).
func thread(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ana := h.ingest(h.email("<1@a>", "ana@example.com", "hello"))
	in := h.email("<2@a>", "Ana@Example.com", "again")
	in.Thread = ana.Message.ConversationID
	if r := h.ingest(in); r.Message.ConversationID != ana.Message.ConversationID || r.NewConversation {
		t.Errorf("own thread: conversation %s new=%v, want %s", r.Message.ConversationID, r.NewConversation, ana.Message.ConversationID)
	}
	bob := h.email("<3@b>", "bob@example.com", "I forwarded Ana's mail")
	bob.Thread = ana.Message.ConversationID
	r := h.ingest(bob)
	if r.Message.ConversationID == ana.Message.ConversationID || !r.NewConversation {
		t.Errorf("another sender's thread token joined conversation %s", r.Message.ConversationID)
	}
	bob2 := h.email("<4@b>", "bob@example.com", "still me")
	bob2.Thread = ana.Message.ConversationID
	if r2 := h.ingest(bob2); r2.Message.ConversationID != r.Message.ConversationID {
		t.Errorf("known sender with another's token: conversation %s, want their own %s", r2.Message.ConversationID, r.Message.ConversationID)
	}
	unknown := h.email("<5@a>", "ana@example.com", "token of nothing")
	unknown.Thread = "cv_00000000000000000000000000000000"
	if r := h.ingest(unknown); r.Message.ConversationID != ana.Message.ConversationID {
		t.Errorf("unknown thread: conversation %s, want the open one %s", r.Message.ConversationID, ana.Message.ConversationID)
	}
	_, msgs := h.conversation(ana.Message.ConversationID)
	if len(msgs) != 3 {
		t.Errorf("Ana's conversation has %d messages, want 3", len(msgs))
	}
}

// outbound: an outbound message is found by its provider id (what email
// threading by In-Reply-To needs); an inbound one is not indexed.
func outbound(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	res := h.ingest(h.email("<1@a>", "ana@example.com", "hello"))
	ack := res.Message
	ack.ID, ack.Key, ack.Direction, ack.Kind = conversation.NewID("msg"), "ses:ack:1", conversation.DirectionOutbound, conversation.KindAuto
	ack.ProviderMessageID = "0100018c-ack"
	if err := h.store.PutMessage(ctx, ack); err != nil {
		t.Fatal(err)
	}
	got, err := h.store.OutboundConversation(ctx, "ses", "0100018c-ack")
	if err != nil || got != res.Message.ConversationID {
		t.Errorf("OutboundConversation = %q, %v; want %q", got, err, res.Message.ConversationID)
	}
	if _, err := h.store.OutboundConversation(ctx, "ses", "<1@a>"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("inbound message found by provider id: %v", err)
	}
}

// failures: a failed intake is kept, listed oldest first, and recording it
// again overwrites rather than doubles.
func failures(t *testing.T, ns NewStore) {
	st := ns(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for _, f := range []conversation.Failure{
		{Source: "email", Ref: "s3://raw/b", Reason: "no From", At: at.Add(time.Second)},
		{Source: "email", Ref: "s3://raw/a", Reason: "empty message", At: at},
		{Source: "email", Ref: "s3://raw/a", Reason: "empty message", At: at},
		{Source: "other", Ref: "x", Reason: "y", At: at},
	} {
		if err := st.RecordFailure(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Failures(ctx, "email", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Ref != "s3://raw/a" || got[1].Ref != "s3://raw/b" || got[1].Reason != "no From" || !got[0].At.Equal(at) {
		t.Errorf("failures = %+v", got)
	}
}
