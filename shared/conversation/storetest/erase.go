package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// RunErasure is the contract of exports and erasures (GDPR/CCPA).
func RunErasure(t *testing.T, ns NewStore) {
	t.Run("ExportHasEverything", func(t *testing.T) { exportAll(t, ns) })
	t.Run("EraseLeavesNothingOfThemAndOthersIntact", func(t *testing.T) { eraseAll(t, ns) })
	t.Run("ReplayAfterEraseStoresNothing", func(t *testing.T) { eraseReplay(t, ns) })
	t.Run("MessageRacingTheErasureIsErased", func(t *testing.T) { eraseRace(t, ns) })
}

// person is Ana: an SMS conversation she closed and a second one, her
// email contact merged into her, a note, a snooze; and Bob, someone else.
type person struct {
	ana, anaMail, bob      string // contact ids
	first, second, bobConv string // conversation ids
	anaKeys                []string
	phone, mail, bobPhone  string
}

func seedPeople(h *harness) person {
	h.t.Helper()
	ctx := context.Background()
	p := person{phone: "+14155550301", mail: "ana@example.com", bobPhone: "+14155550399"}
	first := h.ingest(h.sms("SMera1", p.phone, "my card number is 4111 canary-sms"))
	p.ana, p.first = first.Message.ContactID, first.Message.ConversationID
	h.update(p.first, conversation.Patch{Status: str(conversation.StatusClosed)})
	second := h.ingest(h.sms("SMera2", p.phone, "still waiting canary-sms2"))
	p.second = second.Message.ConversationID
	mail := h.ingest(h.email("<era1@example.com>", p.mail, "hello from my mail canary-mail"))
	p.anaMail = mail.Message.ContactID
	p.anaKeys = []string{first.Message.Key, second.Message.Key, mail.Message.Key}
	if _, err := h.svc.Note(ctx, p.second, "ana", "she called, canary-note"); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.svc.Merge(ctx, p.ana, p.anaMail, "ana"); err != nil {
		h.t.Fatalf("merge: %v", err)
	}
	until := h.clock.Add(48 * time.Hour).Truncate(time.Second)
	h.update(p.second, conversation.Patch{Status: str(conversation.StatusSnoozed), SnoozeUntil: &until})
	bob := h.ingest(h.sms("SMbob1", p.bobPhone, "Bob's own question"))
	p.bob, p.bobConv = bob.Message.ContactID, bob.Message.ConversationID
	return p
}

func exportAll(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	p := seedPeople(h)
	ctx := context.Background()
	ex, err := h.svc.Export(ctx, p.ana, "lead")
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if ex.Contact.ID != p.ana || len(ex.Merged) != 1 || ex.Merged[0].ID != p.anaMail {
		t.Errorf("export of %s: contact %s, merged %+v", p.ana, ex.Contact.ID, ex.Merged)
	}
	var kinds []conversation.Kind
	for _, id := range ex.Identities {
		kinds = append(kinds, id.Kind)
	}
	if !slices.Contains(kinds, conversation.KindPhone) || !slices.Contains(kinds, conversation.KindEmail) {
		t.Errorf("exported identities %v, want her phone and her email", kinds)
	}
	var bodies []string
	convs := map[string]bool{}
	for _, c := range ex.Conversations {
		convs[c.Conversation.ID] = true
		for _, m := range c.Messages {
			bodies = append(bodies, m.Body)
		}
	}
	for _, want := range []string{"my card number is 4111 canary-sms", "still waiting canary-sms2", "hello from my mail canary-mail", "she called, canary-note"} {
		if !slices.Contains(bodies, want) {
			t.Errorf("export lacks %q (has %q)", want, bodies)
		}
	}
	if !convs[p.first] || !convs[p.second] || convs[p.bobConv] {
		t.Errorf("exported conversations %v: want both of hers and not Bob's", convs)
	}
	if _, err := h.svc.Export(ctx, p.anaMail, "lead"); !errors.Is(err, conversation.ErrMergedAway) {
		t.Errorf("export of a merged-away contact: %v, want ErrMergedAway", err)
	}
	if _, err := h.svc.Export(ctx, "ct_nobody", "lead"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("export of no one: %v, want ErrNotFound", err)
	}
}

func eraseAll(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	p := seedPeople(h)
	ctx := context.Background()
	out, err := h.svc.Erase(ctx, p.ana, "lead", conversation.EraseHooks{})
	if err != nil {
		t.Fatalf("erase: %v", err)
	}
	if out.Conversations < 2 || out.Messages < 4 {
		t.Errorf("erased %d conversations, %d entries; want her 2+ and every message, note and event", out.Conversations, out.Messages)
	}
	for _, id := range []string{p.ana, p.anaMail} {
		if _, err := h.store.Contact(ctx, id); !errors.Is(err, conversation.ErrErased) {
			t.Errorf("contact %s after erasure: %v, want ErrErased", id, err)
		}
	}
	for _, id := range []string{p.first, p.second} {
		if _, err := h.store.Summary(ctx, id); !errors.Is(err, conversation.ErrErased) {
			t.Errorf("summary %s after erasure: %v, want ErrErased", id, err)
		}
		if _, _, err := h.store.Conversation(ctx, id); !errors.Is(err, conversation.ErrErased) {
			t.Errorf("conversation %s after erasure: %v, want ErrErased", id, err)
		}
		if _, _, err := h.store.Timeline(ctx, id, "", 10); !errors.Is(err, conversation.ErrErased) {
			t.Errorf("timeline %s after erasure: %v, want ErrErased", id, err)
		}
	}
	for _, k := range p.anaKeys {
		if _, err := h.store.Message(ctx, p.second, k); !errors.Is(err, conversation.ErrNotFound) {
			t.Errorf("message %s after erasure: %v, want ErrNotFound", k, err)
		}
	}
	if _, err := h.store.Route(ctx, h.phone(p.phone)); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("her phone's route after erasure: %v, want none", err)
	}
	mailID, _ := norm.Email(p.mail)
	if _, err := h.store.IdentityState(ctx, mailID); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("her email's identity after erasure: %v, want none", err)
	}
	for _, st := range []string{conversation.StatusOpen, conversation.StatusSnoozed, conversation.StatusClosed} {
		for _, c := range h.list(conversation.InboxFilter{Status: st}, 100) {
			if c.ContactID != p.bob {
				t.Errorf("the %s inbox still lists %s of %s", st, c.ID, c.ContactID)
			}
		}
	}
	if due, err := timersOf(h.store, h.clock.Add(48*time.Hour)); err == nil && slices.ContainsFunc(due, func(tm conversation.Timer) bool { return tm.ConversationID == p.second }) {
		t.Errorf("her snooze timer is still set: %+v", due)
	}
	// Bob is untouched.
	bc, bm := h.conversation(p.bobConv)
	if bc.ContactID != p.bob || len(bm) != 1 || bm[0].Body != "Bob's own question" {
		t.Errorf("Bob's conversation after her erasure: %+v %+v", bc, bm)
	}
	if r := h.route(p.bobPhone); r.ContactID != p.bob || r.ConversationID != p.bobConv {
		t.Errorf("Bob's route after her erasure: %+v", r)
	}
	// Asked again: gone, and said so.
	if _, err := h.svc.Erase(ctx, p.ana, "lead", conversation.EraseHooks{}); !errors.Is(err, conversation.ErrErased) {
		t.Errorf("erase again: %v, want ErrErased", err)
	}
	if _, err := h.svc.Export(ctx, p.ana, "lead"); !errors.Is(err, conversation.ErrErased) {
		t.Errorf("export after erasure: %v, want ErrErased", err)
	}
	if _, err := h.svc.Erase(ctx, "ct_nobody", "lead", conversation.EraseHooks{}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("erase of no one: %v, want ErrNotFound", err)
	}
}

// timersOf is the timers due in the minute of at, where the store can say.
func timersOf(st conversation.Store, at time.Time) ([]conversation.Timer, error) {
	ts, ok := st.(conversation.TimerStore)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return ts.DueTimers(context.Background(), conversation.Minute(at))
}

func eraseReplay(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	p := seedPeople(h)
	ctx := context.Background()
	if _, err := h.svc.Erase(ctx, p.ana, "lead", conversation.EraseHooks{}); err != nil {
		t.Fatal(err)
	}
	// Her old webhooks, replayed: nothing stored, no contact made.
	for _, in := range []conversation.Inbound{h.sms("SMera1", p.phone, "my card number is 4111 canary-sms"),
		h.email("<era1@example.com>", p.mail, "hello from my mail canary-mail")} {
		res, err := h.svc.Ingest(ctx, in)
		if err != nil || !res.Duplicate {
			t.Errorf("replay of %s after erasure: %+v, %v; want a duplicate", in.Key, res, err)
		}
	}
	if _, err := h.store.Route(ctx, h.phone(p.phone)); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("a replay made her route again: %v", err)
	}
	// A new message after the erasure: a new contact, nothing old on it.
	fresh := h.ingest(h.sms("SMera3", p.phone, "hi again"))
	if !fresh.NewConversation || fresh.Message.ContactID == p.ana {
		t.Fatalf("a new message after erasure: %+v; want a new contact's new conversation", fresh)
	}
	if c := h.contact(fresh.Message.ContactID); len(c.ConversationIDs) != 1 {
		t.Errorf("the new contact has conversations %v, want only the new one", c.ConversationIDs)
	}
	// And an old one replayed now, with her phone known again, still stores nothing.
	res, err := h.svc.Ingest(ctx, h.sms("SMera2", p.phone, "still waiting canary-sms2"))
	if err != nil || !res.Duplicate {
		t.Errorf("replay onto the new contact: %+v, %v; want a duplicate", res, err)
	}
	if _, msgs := h.conversation(fresh.Message.ConversationID); len(msgs) != 1 {
		t.Errorf("the new conversation holds %d entries, want 1", len(msgs))
	}
}

// eraseRace: a message that read her route just before the erasure is
// written onto the erased conversation after it; the stream's projection
// finds the conversation erased and erases the message too.
func eraseRace(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	p := seedPeople(h)
	ctx := context.Background()
	// Wake the snoozed conversation: it is the one her route points at.
	h.update(p.second, conversation.Patch{Status: str(conversation.StatusOpen)})
	route := h.route(p.phone)
	if _, err := h.svc.Erase(ctx, p.ana, "lead", conversation.EraseHooks{}); err != nil {
		t.Fatal(err)
	}
	late := conversation.Message{ID: "msg_late", Key: "twilio:SMlate", ConversationID: route.ConversationID, ContactID: route.ContactID,
		Channel: conversation.ChannelSMS, Direction: conversation.DirectionInbound, From: p.phone, Body: "late canary",
		Identity: h.phone(p.phone), CreatedAt: h.now(), ReceivedAt: h.now(), Seq: 1}
	if err := h.store.PutMessage(ctx, late); err != nil {
		t.Fatalf("the racing write: %v", err)
	}
	if _, err := h.svc.Project(ctx, late); !errors.Is(err, conversation.ErrErased) {
		t.Fatalf("projecting onto an erased conversation: %v, want ErrErased", err)
	}
	if _, err := h.store.Message(ctx, route.ConversationID, late.Key); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("the racing message after its projection: %v, want it erased", err)
	}
	res, err := h.svc.Ingest(ctx, h.sms("SMlate", p.phone, "late canary"))
	if err != nil || !res.Duplicate {
		t.Errorf("its replay: %+v, %v; want a duplicate", res, err)
	}
}
