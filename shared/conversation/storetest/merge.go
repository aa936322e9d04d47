package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
)

// RunMerge holds a store to the merge's contract: one contact with both's
// identities and conversations, the surviving open conversation kept, the
// other closed into it; refusals change nothing; concurrent merges and
// messages arriving meanwhile lose nothing.
func RunMerge(t *testing.T, ns NewStore) {
	t.Run("MergeKeepsTheSurvivorsOpenConversation", func(t *testing.T) { mergeBoth(t, ns) })
	t.Run("MergeAdoptsTheOnlyOpenConversation", func(t *testing.T) { mergeAdopt(t, ns) })
	t.Run("MergeRefusals", func(t *testing.T) { mergeRefusals(t, ns) })
	t.Run("MergeWhileMessagesArriveLosesNone", func(t *testing.T) { mergeRacing(t, ns) })
	t.Run("ConcurrentMerges", func(t *testing.T) { mergeConcurrent(t, ns) })
}

func (h *harness) contact(id string) conversation.Contact {
	h.t.Helper()
	c, err := h.store.Contact(context.Background(), id)
	if err != nil {
		h.t.Fatalf("contact %s: %v", id, err)
	}
	return c
}

func (h *harness) summary(id string) conversation.Conversation {
	h.t.Helper()
	c, err := h.store.Summary(context.Background(), id)
	if err != nil {
		h.t.Fatalf("summary %s: %v", id, err)
	}
	return c
}

func events(msgs []conversation.Message, event string) []conversation.Message {
	var out []conversation.Message
	for _, m := range msgs {
		if m.Kind == conversation.KindEvent && m.Event == event {
			out = append(out, m)
		}
	}
	return out
}

func mergeBoth(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	x := h.ingest(h.sms("SMx1", "+14155550301", "my parcel")).Message
	y := h.ingest(h.sms("SMy1", "+14155550302", "it's me again, from my other phone")).Message
	got, err := h.svc.Merge(ctx, x.ContactID, y.ContactID, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Identities) != 2 || !slices.Contains(got.ConversationIDs, y.ConversationID) || !slices.Contains(got.ConversationIDs, x.ConversationID) {
		t.Errorf("survivor: %+v", got)
	}
	if gone := h.contact(y.ContactID); gone.MergedInto != x.ContactID {
		t.Errorf("merged contact: %+v", gone)
	}
	a, b := h.summary(x.ConversationID), h.summary(y.ConversationID)
	if a.Status != conversation.StatusOpen || a.ContactID != x.ContactID {
		t.Errorf("survivor's conversation: %+v", a)
	}
	if b.Status != conversation.StatusClosed || b.ContactID != x.ContactID || b.MergedInto != a.ID || b.ClosedBy != "ana" {
		t.Errorf("merged conversation: %+v", b)
	}
	for _, id := range []string{a.ID, b.ID} {
		_, msgs := h.conversation(id)
		if ev := events(msgs, conversation.EventMerged); len(ev) != 1 || ev[0].Agent != "ana" {
			t.Errorf("%s: merged events %+v", id, ev)
		}
	}
	if r := h.route("+14155550302"); r.ContactID != x.ContactID || r.ConversationID != a.ID {
		t.Errorf("merged identity's route: %+v", r)
	}
	next := h.ingest(h.sms("SMy2", "+14155550302", "any news?")).Message
	if next.ConversationID != a.ID || next.ContactID != x.ContactID {
		t.Errorf("next message from the merged phone: conversation %s contact %s", next.ConversationID, next.ContactID)
	}
	if open := h.open(); len(open) != 1 || open[0].ID != a.ID {
		t.Errorf("open inbox: %v", ids(open))
	}

	// A message whose ingest read the route just before the merge lands on
	// the merged conversation: its projection moves it to the survivor's.
	late := y
	late.ID, late.Key, late.Body = "msg_late", "twilio:SMlate", "sent as you merged"
	late.CreatedAt, late.ReceivedAt = h.now(), h.now()
	late.Seq = late.ReceivedAt.UnixNano()
	if err := h.store.PutMessage(ctx, late); err != nil {
		t.Fatal(err)
	}
	c, err := h.svc.Project(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != a.ID || c.LastPreview != "sent as you merged" {
		t.Errorf("late message projected onto %s (%q), want %s", c.ID, c.LastPreview, a.ID)
	}
	if m, err := h.store.Message(ctx, a.ID, late.Key); err != nil || m.ConversationID != a.ID {
		t.Errorf("late message on the survivor's: %+v, %v", m, err)
	}
	if _, msgs := h.conversation(b.ID); slices.ContainsFunc(msgs, func(m conversation.Message) bool { return m.Key == late.Key }) {
		t.Error("late message still on the merged conversation's timeline")
	}
	if _, err := h.svc.Project(ctx, late); err != nil { // the stream's redelivery
		t.Fatal(err)
	}
	if got := h.summary(a.ID); got.Unread != c.Unread {
		t.Errorf("redelivery changed unread %d → %d", c.Unread, got.Unread)
	}
}

func mergeAdopt(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	x := h.ingest(h.sms("SMx1", "+14155550311", "first")).Message
	h.update(x.ConversationID, conversation.Patch{Status: str(conversation.StatusClosed)})
	y := h.ingest(h.sms("SMy1", "+14155550312", "second phone")).Message
	if _, err := h.svc.Merge(ctx, x.ContactID, y.ContactID, "ana"); err != nil {
		t.Fatal(err)
	}
	if b := h.summary(y.ConversationID); b.Status != conversation.StatusOpen || b.ContactID != x.ContactID {
		t.Errorf("the only open conversation: %+v", b)
	}
	next := h.ingest(h.sms("SMx2", "+14155550311", "first phone again")).Message
	if next.ConversationID != y.ConversationID {
		t.Errorf("the survivor's phone now writes into %s, want %s", next.ConversationID, y.ConversationID)
	}
}

func mergeRefusals(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	x := h.ingest(h.sms("SMx1", "+14155550321", "x")).Message
	y := h.ingest(h.sms("SMy1", "+14155550322", "y")).Message
	z := h.ingest(h.sms("SMz1", "+14155550323", "z")).Message
	if _, err := h.svc.Merge(ctx, x.ContactID, x.ContactID, "ana"); !errors.Is(err, conversation.ErrMergeSelf) {
		t.Errorf("into itself: %v", err)
	}
	if _, err := h.svc.Merge(ctx, x.ContactID, "ct_nobody", "ana"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := h.svc.Merge(ctx, x.ContactID, y.ContactID, "ana"); err != nil {
		t.Fatal(err)
	}
	before := h.contact(x.ContactID)
	for name, pair := range map[string][2]string{"into a merged one": {y.ContactID, z.ContactID}, "a merged one elsewhere": {z.ContactID, y.ContactID}} {
		if _, err := h.svc.Merge(ctx, pair[0], pair[1], "ana"); !errors.Is(err, conversation.ErrMerged) {
			t.Errorf("%s: %v", name, err)
		}
	}
	again, err := h.svc.Merge(ctx, x.ContactID, y.ContactID, "ana")
	if err != nil || len(again.Identities) != len(before.Identities) || len(again.ConversationIDs) != len(before.ConversationIDs) {
		t.Errorf("merging again: %+v, %v; want it as it was", again, err)
	}
	if zc := h.contact(z.ContactID); zc.MergedInto != "" || len(zc.Identities) != 1 {
		t.Errorf("refused merges changed z: %+v", zc)
	}
}

// mergeRacing merges while both contacts' phones keep writing: every
// message ends on exactly one of the two conversations, the merged one
// keeping only what was stored before the merge.
func mergeRacing(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	x := h.ingest(h.sms("SMx0", "+14155550331", "x")).Message
	y := h.ingest(h.sms("SMy0", "+14155550332", "y")).Message
	keys := []string{x.Key, y.Key}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, phone := range []string{"+14155550331", "+14155550332"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				in := h.sms(fmt.Sprintf("SM%s-%d", phone[8:], i), phone, "still here")
				res, err := h.svc.Ingest(ctx, in)
				if err == nil {
					_, err = h.svc.Project(ctx, res.Message)
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				keys = append(keys, in.Key)
				mu.Unlock()
			}
		}()
	}
	if _, err := h.svc.Merge(ctx, x.ContactID, y.ContactID, "ana"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	_, inA := h.conversation(x.ConversationID)
	_, inB := h.conversation(y.ConversationID)
	merged := events(inB, conversation.EventMerged)
	if len(merged) != 1 {
		t.Fatalf("merged events on the merged conversation: %d", len(merged))
	}
	where := map[string]int{}
	for _, m := range append(inA, inB...) {
		if m.Kind == "" {
			where[m.Key]++
		}
	}
	for _, k := range keys {
		if where[k] != 1 {
			t.Errorf("message %s stored %d times across both timelines", k, where[k])
		}
	}
	if len(where) != len(keys) {
		t.Errorf("%d messages on the timelines, %d sent", len(where), len(keys))
	}
	for _, m := range inB {
		if m.Kind == "" && m.Cursor() > merged[0].Cursor() {
			t.Errorf("message %s (%v) left on the merged conversation after the merge (%v)", m.Key, m.CreatedAt, merged[0].CreatedAt)
		}
	}
	t.Logf("%d messages: %d on the survivor's conversation, %d stored on the merged one before the merge", len(keys), len(inA)-len(events(inA, conversation.EventMerged)), len(inB)-1)
}

func mergeConcurrent(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	var people []conversation.Message
	for i := range 4 {
		people = append(people, h.ingest(h.sms(fmt.Sprint("SMc", i), fmt.Sprintf("+1415555034%d", i), "hi")).Message)
	}
	into := people[0].ContactID
	// Three merges into one contact at once, and two opposite merges.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := 1; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i-1] = h.svc.Merge(ctx, into, people[i].ContactID, "ana")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("merge %d: %v", i+1, err)
		}
	}
	c := h.contact(into)
	if len(c.Identities) != 4 || len(c.ConversationIDs) != 4 {
		t.Errorf("survivor after 3 concurrent merges: %d identities, %d conversations", len(c.Identities), len(c.ConversationIDs))
	}
	if open := h.open(); len(open) != 1 {
		t.Errorf("%d open conversations, want the survivor's one", len(open))
	}

	p := h.ingest(h.sms("SMp", "+14155550351", "p")).Message
	q := h.ingest(h.sms("SMq", "+14155550352", "q")).Message
	var ok int
	var mu sync.Mutex
	for _, pair := range [][2]string{{p.ContactID, q.ContactID}, {q.ContactID, p.ContactID}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := h.svc.Merge(ctx, pair[0], pair[1], "ana")
			switch {
			case err == nil:
				mu.Lock()
				ok++
				mu.Unlock()
			case !errors.Is(err, conversation.ErrMerged):
				t.Errorf("opposite merge: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Errorf("%d of two opposite merges succeeded, want 1", ok)
	}
}
