package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// RunLifecycle holds a store to the lifecycle's contract: closing points
// the customer elsewhere atomically, dedupe outlives the conversation, a
// reopen within the window joins the old conversation, snooze wakes when
// the customer writes, and every action is on the timeline.
func RunLifecycle(t *testing.T, ns NewStore) {
	t.Run("CloseThenConcurrentCopiesOpenOneNewConversation", func(t *testing.T) { closeThenCopies(t, ns) })
	t.Run("RetryOfAPreCloseMessageIsADuplicate", func(t *testing.T) { retryAfterClose(t, ns) })
	t.Run("CustomerReopensWithinTheWindow", func(t *testing.T) { reopenWindow(t, ns) })
	t.Run("AgentReopenRefusedWhileANewerIsOpen", func(t *testing.T) { agentReopen(t, ns) })
	t.Run("SnoozeWakesWhenTheCustomerWrites", func(t *testing.T) { snoozeWakes(t, ns) })
	t.Run("AssignLabelNoteReadAreOnTheTimeline", func(t *testing.T) { actions(t, ns) })
	t.Run("BadChangesChangeNothing", func(t *testing.T) { badChanges(t, ns) })
	t.Run("TimelinePages", func(t *testing.T) { timelinePages(t, ns) })
	t.Run("SnoozeTimerWakesOnce", func(t *testing.T) { snoozeTimer(t, ns) })
	t.Run("BlockedContactIsQuiet", func(t *testing.T) { blockedContact(t, ns) })
	t.Run("RequestsSentTwiceWriteOnce", func(t *testing.T) { requestsSentTwice(t, ns) })
}

func (h *harness) update(id string, p conversation.Patch) conversation.Conversation {
	h.t.Helper()
	c, err := h.svc.Update(context.Background(), id, "ana", p, nil)
	if err != nil {
		h.t.Fatalf("update %s: %v", id, err)
	}
	return c
}

func str(s string) *string { return &s }

func (h *harness) route(from string) conversation.Route {
	h.t.Helper()
	r, err := h.store.Route(context.Background(), h.phone(from))
	if err != nil {
		h.t.Fatalf("route %s: %v", from, err)
	}
	return r
}

func closeThenCopies(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SMc1", "+14155550201", "where is my order"))
	closed := h.update(first.Message.ConversationID, conversation.Patch{Status: str(conversation.StatusClosed)})
	if closed.Status != conversation.StatusClosed || closed.ClosedBy != "ana" || closed.ClosedAt.IsZero() {
		t.Fatalf("after close: %+v", closed)
	}
	if r := h.route("+14155550201"); r.ConversationID != "" || r.LastConversationID != first.Message.ConversationID {
		t.Fatalf("route after close: %+v", r)
	}
	// The customer's next message, delivered 5 times at once.
	var wg sync.WaitGroup
	results := make([]conversation.Result, 5)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.svc.Ingest(context.Background(), h.sms("SMc2", "+14155550201", "one more thing"))
			if err != nil {
				t.Errorf("ingest: %v", err)
			}
			results[i] = res
		}()
	}
	wg.Wait()
	news, dups := 0, 0
	for _, r := range results {
		if r.NewConversation {
			news++
		}
		if r.Duplicate {
			dups++
		}
	}
	if news != 1 || dups != 4 {
		t.Fatalf("5 copies after a close: %d new conversations, %d duplicates; want 1 and 4", news, dups)
	}
	r := h.route("+14155550201")
	if r.ConversationID == "" || r.ConversationID == first.Message.ConversationID {
		t.Fatalf("route after the next message: %+v", r)
	}
	_, msgs := h.conversation(r.ConversationID)
	if len(msgs) != 1 || msgs[0].Body != "one more thing" {
		t.Errorf("new conversation's timeline: %+v", msgs)
	}
	c, err := h.store.Contact(context.Background(), first.Message.ContactID)
	if err != nil || len(c.ConversationIDs) != 2 {
		t.Errorf("contact's conversations: %+v %v", c.ConversationIDs, err)
	}
	_, old := h.conversation(first.Message.ConversationID)
	if len(old) != 2 || old[1].Kind != conversation.KindEvent || old[1].Event != conversation.EventClosed || old[1].Agent != "ana" {
		t.Errorf("closed conversation's timeline: %+v", old)
	}
}

func retryAfterClose(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SMr1", "+14155550202", "hello"))
	h.update(first.Message.ConversationID, conversation.Patch{Status: str(conversation.StatusClosed)})
	again, err := h.svc.Ingest(context.Background(), h.sms("SMr1", "+14155550202", "hello"))
	if err != nil || !again.Duplicate {
		t.Fatalf("Twilio's retry of a message stored before the close: %+v %v; want a duplicate", again, err)
	}
	if r := h.route("+14155550202"); r.ConversationID != "" {
		t.Errorf("the retry opened conversation %s", r.ConversationID)
	}
	// A message stored on the old conversation, then written again after a
	// new one opened, is still a duplicate.
	next := h.ingest(h.sms("SMr2", "+14155550202", "new question"))
	if !next.NewConversation {
		t.Fatalf("next message: %+v", next)
	}
	if res, err := h.svc.Ingest(context.Background(), h.sms("SMr1", "+14155550202", "hello")); err != nil || !res.Duplicate {
		t.Errorf("retry after the new conversation opened: %+v %v", res, err)
	}
}

func reopenWindow(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	h.svc.ReopenWindow = time.Hour
	first := h.ingest(h.sms("SMw1", "+14155550203", "hi"))
	conv := first.Message.ConversationID
	h.update(conv, conversation.Patch{Status: str(conversation.StatusClosed)})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.svc.Ingest(context.Background(), h.sms("SMw2", "+14155550203", "sorry, one more")); err != nil {
				t.Errorf("ingest: %v", err)
			}
		}()
	}
	wg.Wait()
	if r := h.route("+14155550203"); r.ConversationID != conv {
		t.Fatalf("within the window the customer's message should reopen %s; route %+v", conv, r)
	}
	c, msgs := h.conversation(conv)
	if c.Status != conversation.StatusOpen || c.ReopenCount != 1 || !c.ClosedAt.IsZero() {
		t.Errorf("reopened summary: %+v", c)
	}
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind+":"+m.Event+":"+m.Body)
	}
	if len(msgs) != 4 || msgs[2].Event != conversation.EventReopened || msgs[3].Body != "sorry, one more" {
		t.Errorf("timeline %v", kinds)
	}
}

func agentReopen(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SMa1", "+14155550204", "hi"))
	old := first.Message.ConversationID
	h.update(old, conversation.Patch{Status: str(conversation.StatusClosed)})
	h.ingest(h.sms("SMa2", "+14155550204", "new question")) // a newer conversation opens
	_, err := h.svc.Update(context.Background(), old, "ana", conversation.Patch{Status: str(conversation.StatusOpen)}, nil)
	if !errors.Is(err, conversation.ErrNewerOpen) {
		t.Fatalf("reopening the old one while a newer is open: %v, want ErrNewerOpen", err)
	}
	if c, _ := h.conversation(old); c.Status != conversation.StatusClosed {
		t.Errorf("the refused reopen changed the status to %s", c.Status)
	}
	// Close the newer, and the agent may reopen the old.
	newer := h.route("+14155550204").ConversationID
	h.update(newer, conversation.Patch{Status: str(conversation.StatusClosed)})
	c := h.update(old, conversation.Patch{Status: str(conversation.StatusOpen)})
	if c.Status != conversation.StatusOpen || h.route("+14155550204").ConversationID != old {
		t.Errorf("agent reopen: %+v, route %+v", c, h.route("+14155550204"))
	}
	// Closing a closed conversation is a no-op.
	h.update(newer, conversation.Patch{Status: str(conversation.StatusClosed)})
}

func snoozeWakes(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SMs1", "+14155550205", "hi"))
	conv := first.Message.ConversationID
	c := h.update(conv, conversation.Patch{Status: str(conversation.StatusSnoozed)})
	if c.Status != conversation.StatusSnoozed || !c.SnoozeUntil.IsZero() {
		t.Fatalf("snoozed: %+v", c)
	}
	if len(h.open()) != 0 {
		t.Errorf("a snoozed conversation is listed as open")
	}
	until := h.clock.Add(24 * time.Hour)
	if c = h.update(conv, conversation.Patch{Status: str(conversation.StatusSnoozed), SnoozeUntil: &until}); !c.SnoozeUntil.Equal(until) {
		t.Errorf("snoozeUntil %v, want %v", c.SnoozeUntil, until)
	}
	res := h.ingest(h.sms("SMs2", "+14155550205", "any news?"))
	if res.Message.ConversationID != conv {
		t.Fatalf("a message to a snoozed conversation joins it: %+v", res)
	}
	c, _ = h.conversation(conv)
	if c.Status != conversation.StatusOpen || !c.SnoozeUntil.IsZero() || c.NotifyKey != res.Message.Key {
		t.Errorf("after the customer wrote: status %s until %v notifyKey %q; want open, woken, notifying", c.Status, c.SnoozeUntil, c.NotifyKey)
	}
	if open := h.open(); len(open) != 1 || open[0].ID != conv {
		t.Errorf("woken conversation not listed open: %+v", open)
	}
}

func actions(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SMx1", "+14155550206", "hi"))
	h.ingest(h.sms("SMx2", "+14155550206", "hello?"))
	conv := first.Message.ConversationID
	labels := []string{"vip", "billing", "vip"}
	c := h.update(conv, conversation.Patch{Assignee: str("bea"), Labels: &labels, Priority: str("high"), Team: str("billing")})
	if c.Assignee != "bea" || len(c.Labels) != 2 || c.Labels[0] != "billing" || c.Priority != "high" || c.Team != "billing" {
		t.Errorf("after the patch: %+v", c)
	}
	if _, err := h.svc.Note(context.Background(), conv, "ana", "called them, no answer"); err != nil {
		t.Fatal(err)
	}
	if c, _ := h.conversation(conv); c.Unread != 2 {
		t.Fatalf("unread %d before read, want 2", c.Unread)
	}
	if c, err := h.svc.MarkSeen(context.Background(), conv, "ana"); err != nil || c.Unread != 0 {
		t.Fatalf("read: %+v %v", c, err)
	}
	c, msgs := h.conversation(conv)
	if c.Unread != 0 || c.Assignee != "bea" || c.LastPreview != "hello?" {
		t.Errorf("summary after read: unread %d assignee %q preview %q", c.Unread, c.Assignee, c.LastPreview)
	}
	var got []string
	for _, m := range msgs {
		got = append(got, m.Kind+":"+m.Event)
	}
	want := []string{":", ":", "event:assigned", "event:team_changed", "event:labelled", "event:priority_changed", "note:"}
	if len(got) != len(want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("timeline %v, want %v", got, want)
		}
	}
	if n := msgs[6]; n.Agent != "ana" || n.Body != "called them, no answer" {
		t.Errorf("note %+v", n)
	}
	// Unassign with an empty assignee.
	if c := h.update(conv, conversation.Patch{Assignee: str("")}); c.Assignee != "" {
		t.Errorf("unassign: %+v", c)
	}
}

func badChanges(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	first := h.ingest(h.sms("SMb1", "+14155550207", "hi"))
	conv := first.Message.ConversationID
	ctx := context.Background()
	past := h.clock.Add(-time.Hour)
	for name, p := range map[string]conversation.Patch{
		"unknown status":       {Status: str("archived")},
		"snooze into the past": {Status: str(conversation.StatusSnoozed), SnoozeUntil: &past},
		"snoozeUntil alone":    {SnoozeUntil: &past},
		"unknown assignee":     {Assignee: str("nobody")},
		"empty team":           {Team: str("")},
	} {
		if _, err := h.svc.Update(ctx, conv, "ana", p, func(id string) bool { return id == "ana" }); !errors.Is(err, conversation.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	h.update(conv, conversation.Patch{Status: str(conversation.StatusClosed)})
	if _, err := h.svc.Update(ctx, conv, "ana", conversation.Patch{Status: str(conversation.StatusSnoozed)}, nil); !errors.Is(err, conversation.ErrTransition) {
		t.Errorf("snoozing a closed conversation: %v, want ErrTransition", err)
	}
	if _, err := h.svc.Update(ctx, "cv_missing", "ana", conversation.Patch{Status: str(conversation.StatusClosed)}, nil); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}
	if _, err := h.svc.Note(ctx, conv, "ana", "  "); !errors.Is(err, conversation.ErrInvalid) {
		t.Errorf("empty note: %v", err)
	}
	_, msgs := h.conversation(conv)
	if len(msgs) != 2 { // the message and the close
		t.Errorf("bad changes wrote %d entries", len(msgs)-2)
	}
}

// timelinePages: following next from the newest page reaches every entry
// once, in order; an unknown conversation is ErrNotFound.
func timelinePages(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	var conv string
	for i := range 7 {
		res := h.ingest(h.sms("SMt"+string(rune('a'+i)), "+14155550208", "part "+string(rune('1'+i))))
		conv = res.Message.ConversationID
	}
	if _, err := h.svc.Note(context.Background(), conv, "ana", "note"); err != nil {
		t.Fatal(err)
	}
	var pages [][]string
	before := ""
	for range 10 {
		page, next, err := h.store.Timeline(context.Background(), conv, before, 3)
		if err != nil {
			t.Fatal(err)
		}
		var bodies []string
		for _, m := range page {
			bodies = append(bodies, m.Body)
		}
		pages = append(pages, bodies)
		if next == "" {
			break
		}
		before = next
	}
	got := fmt.Sprint(pages)
	if want := "[[part 6 part 7 note] [part 3 part 4 part 5] [part 1 part 2]]"; got != want {
		t.Errorf("pages %s, want %s", got, want)
	}
	if _, _, err := h.store.Timeline(context.Background(), "cv_missing", "", 3); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}
}

// snoozeTimer: a snooze with a time wakes the conversation once, at most a
// sweep late, however many sweeps run; a snooze changed since leaves the
// old timer a no-op.
func snoozeTimer(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ts, ok := h.store.(conversation.TimerStore)
	if !ok {
		t.Fatalf("%T keeps no timers", h.store)
	}
	ctx := context.Background()
	conv := h.ingest(h.sms("SMz1", "+14155550209", "call me tomorrow")).Message.ConversationID
	t0 := h.clock
	var now time.Time
	sweeper := &conversation.Service{Store: h.store, Now: func() time.Time { return now }}
	sweep := func(at time.Time) int {
		t.Helper()
		now = at
		n, err := sweeper.Sweep(ctx, ts)
		if err != nil {
			t.Fatalf("sweep at %v: %v", at, err)
		}
		return n
	}
	first := t0.Add(10 * time.Minute)
	h.update(conv, conversation.Patch{Status: str(conversation.StatusSnoozed), SnoozeUntil: &first})
	second := t0.Add(20 * time.Minute)
	h.update(conv, conversation.Patch{Status: str(conversation.StatusSnoozed), SnoozeUntil: &second}) // snoozed anew
	if n := sweep(t0.Add(5 * time.Minute)); n != 0 {
		t.Errorf("nothing is due at +5m, %d fired", n)
	}
	sweep(t0.Add(11 * time.Minute)) // the first timer fires and finds the snooze moved
	if c, _ := h.conversation(conv); c.Status != conversation.StatusSnoozed {
		t.Fatalf("the outdated timer woke the conversation: %s", c.Status)
	}
	var wg sync.WaitGroup
	for range 3 { // overlapping sweeps at +20m30s
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &conversation.Service{Store: h.store, Now: func() time.Time { return second.Add(30 * time.Second) }}
			if _, err := s.Sweep(ctx, ts); err != nil {
				t.Errorf("sweep: %v", err)
			}
		}()
	}
	wg.Wait()
	sweep(second.Add(time.Minute))
	c, msgs := h.conversation(conv)
	if c.Status != conversation.StatusOpen || !c.SnoozeUntil.IsZero() {
		t.Fatalf("after the snooze's time: %+v", c)
	}
	woke := 0
	for _, m := range msgs {
		if m.Event == conversation.EventWoke {
			woke++
		}
	}
	if woke != 1 {
		t.Errorf("%d wake events, want 1", woke)
	}
	if left, _ := ts.DueTimers(ctx, second); len(left) != 0 {
		t.Errorf("fired timers left behind: %+v", left)
	}
}

// blockedContact: once blocked, the contact's messages are stored quietly
// (no unread, no notification), in this conversation and the next; once
// unblocked they wait on an agent again.
func blockedContact(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	first := h.ingest(h.sms("SMk1", "+14155550210", "hi"))
	conv := first.Message.ConversationID
	yes, no := true, false
	name := "Spammy Sam"
	c, err := h.svc.UpdateContact(ctx, first.Message.ContactID, conversation.ContactPatch{Blocked: &yes, Name: &name})
	if err != nil || !c.Blocked || c.Name != name {
		t.Fatalf("block: %+v %v", c, err)
	}
	if got, _ := h.store.Contact(ctx, first.Message.ContactID); !got.Blocked || got.Name != name {
		t.Errorf("stored contact: %+v", got)
	}
	before, _ := h.conversation(conv)
	res := h.ingest(h.sms("SMk2", "+14155550210", "BUY NOW"))
	if !res.Message.Blocked {
		t.Errorf("a blocked contact's message is not marked: %+v", res.Message)
	}
	after, _ := h.conversation(conv)
	if after.Unread != before.Unread || after.NotifyKey != before.NotifyKey || after.LastPreview != "hi" {
		t.Errorf("a blocked contact's message changed the summary: unread %d→%d notify %q→%q preview %q",
			before.Unread, after.Unread, before.NotifyKey, after.NotifyKey, after.LastPreview)
	}
	h.update(conv, conversation.Patch{Status: str(conversation.StatusClosed)})
	if res := h.ingest(h.sms("SMk3", "+14155550210", "again")); !res.Message.Blocked {
		t.Errorf("blocked contact's next conversation: %+v", res.Message)
	}
	if _, err := h.svc.UpdateContact(ctx, first.Message.ContactID, conversation.ContactPatch{Blocked: &no}); err != nil {
		t.Fatal(err)
	}
	if res := h.ingest(h.sms("SMk4", "+14155550210", "sorry")); res.Message.Blocked {
		t.Errorf("unblocked contact's message still blocked")
	}
	if _, err := h.svc.UpdateContact(ctx, "ct_missing", conversation.ContactPatch{Blocked: &yes}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("unknown contact: %v", err)
	}
}

// requestsSentTwice: a PATCH or note sent again with its idempotency key
// (a retry after a lost answer) writes nothing a second time, even when
// the conversation changed in between.
func requestsSentTwice(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	id := h.ingest(h.sms("SMi1", "+14155550501", "hello")).Message.ConversationID
	p := conversation.Patch{Assignee: str("ana"), Labels: &[]string{"vip"}, Key: "req-1"}
	if _, err := h.svc.Update(ctx, id, "ana", p, nil); err != nil {
		t.Fatal(err)
	}
	h.update(id, conversation.Patch{Assignee: str("")}) // someone unassigns meanwhile
	again, err := h.svc.Update(ctx, id, "ana", p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Assignee != "" {
		t.Errorf("the retry applied again: assignee %q", again.Assignee)
	}
	until := h.clock.Add(time.Hour)
	snooze := conversation.Patch{Status: str(conversation.StatusSnoozed), SnoozeUntil: &until, Key: "req-2"}
	for range 2 {
		if _, err := h.svc.Update(ctx, id, "ana", snooze, nil); err != nil {
			t.Fatal(err)
		}
	}
	n1, added1, err1 := h.svc.NoteOnce(ctx, id, "ana", "called, no answer", "req-3")
	n2, added2, err2 := h.svc.NoteOnce(ctx, id, "ana", "called, no answer", "req-3")
	if err1 != nil || err2 != nil || !added1 || added2 || n1.ID != n2.ID {
		t.Errorf("note twice: %v %v added %v %v ids %s %s", err1, err2, added1, added2, n1.ID, n2.ID)
	}
	_, msgs := h.conversation(id)
	count := map[string]int{}
	for _, m := range msgs {
		count[m.Kind+"/"+m.Event]++
	}
	want := map[string]int{"/": 1, "event/assigned": 1, "event/labelled": 1, "event/unassigned": 1, "event/snoozed": 1, "note/": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d entries, want %d (timeline %v)", k, count[k], n, count)
		}
	}
}
