package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// RunInbox holds a store's inbox index to the listing's contract: every
// filter lists exactly its matches, newest activity first, in pages that
// reach every one while conversations keep moving, none twice on a page.
func RunInbox(t *testing.T, ns NewStore) {
	t.Run("InboxFiltersPageThroughEveryMatch", func(t *testing.T) { inboxFilters(t, ns) })
	t.Run("InboxReachesWhatMovesWhilePaging", func(t *testing.T) { inboxMoving(t, ns) })
	t.Run("SecretIsMadeOnceForEveryone", func(t *testing.T) { secret(t, ns) })
}

// page reads one page of a listing.
func (h *harness) page(f conversation.InboxFilter, cur conversation.InboxCursor, limit int) conversation.InboxPage {
	h.t.Helper()
	p, err := h.svc.Inbox(context.Background(), h.store, f, cur, limit)
	if err != nil {
		h.t.Fatalf("inbox %+v: %v", f, err)
	}
	if len(p.Conversations) > limit {
		h.t.Fatalf("page of %d, limit %d", len(p.Conversations), limit)
	}
	seen := map[string]bool{}
	for i, c := range p.Conversations {
		if seen[c.ID] {
			h.t.Fatalf("%s twice on one page", c.ID)
		}
		seen[c.ID] = true
		if !f.Match(c) {
			h.t.Fatalf("%+v listed for filter %+v", c, f)
		}
		if i > 0 && c.ActivityKey() >= p.Conversations[i-1].ActivityKey() {
			h.t.Fatalf("page not newest first at %d", i)
		}
	}
	return p
}

// list follows a listing to its end and returns every conversation it
// listed, in order (pages concatenated).
func (h *harness) list(f conversation.InboxFilter, limit int) []conversation.Conversation {
	h.t.Helper()
	var out []conversation.Conversation
	var cur conversation.InboxCursor
	for range 10000 {
		p := h.page(f, cur, limit)
		out = append(out, p.Conversations...)
		if p.Next == nil {
			return out
		}
		cur = *p.Next
	}
	h.t.Fatal("listing never ended")
	return nil
}

func inboxFilters(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	h.step = 2 * time.Second // nothing moves while it lists: no catch-up
	ctx := context.Background()
	teams, agents := []string{"sales", "support", "billing"}, []string{"", "ana", "ben"}
	var all []string
	for i := range 30 {
		in := h.sms(fmt.Sprint("SMf", i), fmt.Sprintf("+1415555%04d", 3000+i), "hello")
		if i%4 == 1 {
			in.Channel = conversation.ChannelWhatsApp
		}
		id := h.ingest(in).Message.ConversationID
		all = append(all, id)
		p := conversation.Patch{Team: str(teams[i%3]), Assignee: str(agents[i%3])}
		if i%5 == 0 {
			p.Labels = &[]string{"vip"}
		}
		if i%7 == 3 {
			p.Status = str(conversation.StatusClosed)
		}
		if i%3 != 0 || p.Labels != nil || p.Status != nil || p.Team != nil {
			h.update(id, p)
		}
	}
	// Some move up again.
	for _, i := range []int{4, 17, 0} { // 17 is closed: it opens a new one
		if id := h.ingest(h.sms(fmt.Sprint("SMg", i), fmt.Sprintf("+1415555%04d", 3000+i), "again")).Message.ConversationID; !slices.Contains(all, id) {
			all = append(all, id)
		}
	}
	// The truth: every conversation, by the same Match the stores filter by.
	var every []conversation.Conversation
	for _, id := range all {
		c, err := h.store.Summary(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		every = append(every, c)
	}
	conversation.SortByActivity(every)
	filters := []conversation.InboxFilter{
		{Status: conversation.StatusOpen},
		{Status: conversation.StatusClosed},
		{Status: conversation.StatusOpen, Team: "sales"},
		{Status: conversation.StatusOpen, Assignee: "ana"},
		{Status: conversation.StatusOpen, Unassigned: true},
		{Status: conversation.StatusOpen, Channel: conversation.ChannelWhatsApp},
		{Status: conversation.StatusOpen, Label: "vip"},
		{Status: conversation.StatusOpen, Team: "support", Assignee: "ana", Channel: conversation.ChannelSMS},
		{Status: conversation.StatusOpen, Team: "nobody"},
	}
	for _, f := range filters {
		var want []string
		for _, c := range every {
			if f.Match(c) {
				want = append(want, c.ID)
			}
		}
		for _, limit := range []int{1, 4, 100} {
			if got := ids(h.list(f, limit)); !slices.Equal(got, want) {
				t.Errorf("%+v limit %d:\n got %v\nwant %v", f, limit, got, want)
			}
		}
	}
	// The list view carries what the inbox shows.
	top := h.page(conversation.InboxFilter{Status: conversation.StatusOpen}, conversation.InboxCursor{}, 1).Conversations[0]
	if top.ID != all[0] || top.LastPreview != "again" || top.Unread != 2 || top.ContactID == "" || top.Team != "sales" ||
		len(top.Labels) != 1 || len(top.Channels) != 1 || top.LastMessageAt.IsZero() || top.ActiveAt.IsZero() {
		t.Errorf("list view of the newest: %+v", top)
	}
}

// inboxMoving pages through 40 open conversations 6 at a time while, before
// each page, the oldest not yet listed gets a message (moving to the top,
// above the cursor): the listing must still reach every one.
func inboxMoving(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	h.step = 300 * time.Millisecond
	from := func(i int) string { return fmt.Sprintf("+1415556%04d", i) }
	var order []string // oldest activity first
	for i := range 40 {
		order = append(order, h.ingest(h.sms(fmt.Sprint("SMm", i), from(i), "hi")).Message.ConversationID)
	}
	f := conversation.InboxFilter{Status: conversation.StatusOpen}
	listed := map[string]int{}
	var cur conversation.InboxCursor
	moves, pages := 0, 0
	for ; pages < 100; pages++ {
		for i, id := range order { // the oldest unlisted moves up
			if listed[id] == 0 && moves < 15 {
				h.ingest(h.sms(fmt.Sprint("SMn", moves), from(i), "moved"))
				moves++
				break
			}
		}
		p := h.page(f, cur, 6)
		for _, c := range p.Conversations {
			listed[c.ID]++
		}
		if p.Next == nil {
			break
		}
		cur = *p.Next
	}
	for _, id := range order {
		if listed[id] == 0 {
			t.Errorf("%s never listed (%d pages, %d moves)", id, pages, moves)
		}
	}
	if moves < 5 || pages > 20 {
		t.Errorf("%d moves in %d pages: want the listing to race at least 5 moves and end", moves, pages)
	}
	t.Logf("%d conversations, %d moved from below the cursor to the top while paging: %d pages of 6", len(order), moves, pages+1)
}

func secret(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	var wg sync.WaitGroup
	keys := make([][]byte, 6)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := h.store.Secret(ctx, "cursor")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if len(k) != 32 || string(k) != string(keys[0]) {
			t.Fatalf("keys differ or are short: %x", keys)
		}
	}
	other, err := h.store.Secret(ctx, "other")
	if err != nil || string(other) == string(keys[0]) {
		t.Errorf("another name: %x, %v", other, err)
	}
}
