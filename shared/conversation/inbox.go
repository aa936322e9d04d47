package conversation

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// The inbox: conversations of one status, most recently active first,
// filtered by team, assignee, channel and label, in pages that reach every
// match while messages keep arriving.
//
// Order. A conversation's place is its activity key, ActivityKey(ActiveAt,
// ID): ActiveAt is when Switchboard last saw it move — a message projected
// onto it (not the provider's timestamp, which an email's Date header can
// put days back), it opened, or its status changed. Being stamped by the
// writer's clock, a move during a listing always lands above the time the
// listing began, give or take CatchUpMargin.
//
// Pages. A page reads activity keys below its cursor; keys only ever grow,
// so nothing below the cursor is skipped. What moves from below the cursor
// to above it while a listing pages down would be: so when a listing that
// took more than one page reaches the bottom, it catches up — next lists
// what moved since the listing began (keys above its start, less
// CatchUpMargin), newest first, and so on until a pass fits in one page.
// A conversation may so appear on two pages, never twice on one, and
// never not at all. A page costs at most two store reads (Store.Inbox).

// InboxFilter selects the conversations of an inbox listing.
type InboxFilter struct {
	Status string `json:"s"`
	Team   string `json:"t,omitempty"`
	// Assignee is an agent id; Unassigned selects those with none.
	Assignee   string  `json:"a,omitempty"`
	Unassigned bool    `json:"u,omitempty"`
	Channel    Channel `json:"c,omitempty"`
	Label      string  `json:"l,omitempty"`
}

// Narrow reports whether anything beyond the status filters.
func (f InboxFilter) Narrow() bool {
	return f.Team != "" || f.Assignee != "" || f.Unassigned || f.Channel != "" || f.Label != ""
}

// Match reports whether c passes the filter (the stores' filter, spelled
// once for the in-memory one and the tests).
func (f InboxFilter) Match(c Conversation) bool {
	return c.Status == f.Status &&
		(f.Team == "" || c.Team == f.Team) &&
		(f.Assignee == "" || c.Assignee == f.Assignee) &&
		(!f.Unassigned || c.Assignee == "") &&
		(f.Channel == "" || slices.Contains(c.Channels, f.Channel)) &&
		(f.Label == "" || slices.Contains(c.Labels, f.Label))
}

// InboxRange is one read of the inbox index: conversations passing Filter
// with an activity key strictly between Above and Below ("" leaves that
// side open), highest key first, at most Limit of them, examining at most
// Scan index entries (Scan ≥ Limit; it bounds what a narrow filter costs).
type InboxRange struct {
	Filter       InboxFilter
	Above, Below string
	Limit, Scan  int
}

// InboxRead is what one read returned. Last is where the range's unread
// rest begins, "" when the read reached its end: the activity key of the
// last entry examined when the read stopped at Scan, or of the last
// conversation returned when more than Limit matched.
type InboxRead struct {
	Conversations []Conversation
	Last          string
}

// InboxReader is the store's inbox index.
type InboxReader interface {
	Inbox(ctx context.Context, r InboxRange) (InboxRead, error)
}

// InboxCursor is where a listing continues: the pass's bounds (Above, Below
// as in InboxRange), when the pass began (Began, Unix nanoseconds; 0 until
// its first page), whether it has taken a page already, and Top, the highest
// activity key of the status when it began (what a catch-up looks above).
// Check says the pass may be needless: read first whether anything rose
// above Top. The API signs it.
type InboxCursor struct {
	Above string `json:"a,omitempty"`
	Below string `json:"b,omitempty"`
	Began int64  `json:"t,omitempty"`
	Paged bool   `json:"p,omitempty"`
	Top   string `json:"o,omitempty"`
	Check bool   `json:"k,omitempty"`
}

// InboxPage is one page of a listing; Next is nil on the last.
type InboxPage struct {
	Conversations []Conversation
	Next          *InboxCursor
}

// CatchUpMargin is how far below a pass's start a catch-up pass begins: the
// clock skew between writers (Amazon Time Sync: well under a millisecond)
// and the time between a writer reading the clock and its write landing
// (milliseconds; SDK retries add their backoff).
const CatchUpMargin = time.Second

// maxScan bounds the index entries one read of a narrow listing examines.
const maxScan = 1000

// Inbox reads one page of a listing: at most limit conversations, and the
// cursor of the next page. It reads the store at most twice.
//
// A pass lists its range top down. When it ends having taken more than one
// page, a catch-up pass follows if anything rose above the pass's Top since
// it began: it lists keys above the pass's start less CatchUpMargin (what
// moved meanwhile, and again what was active just before), and so on. The
// listing ends when a pass fits in one page, or nothing rose during it —
// under a steady stream of moves, once fewer than about limit conversations
// move per CatchUpMargin and page.
func (s *Service) Inbox(ctx context.Context, st InboxReader, f InboxFilter, cur InboxCursor, limit int) (InboxPage, error) {
	reads := 0
	read := func(r InboxRange) (InboxRead, error) {
		reads++
		res, err := st.Inbox(ctx, r)
		if err != nil {
			return res, fmt.Errorf("read inbox: %w", err)
		}
		return res, nil
	}
	// top reads the highest key above (unfiltered: what any conversation of
	// the status rose to), "" if none.
	top := func(above string) (string, error) {
		res, err := read(InboxRange{Filter: InboxFilter{Status: f.Status}, Above: above, Limit: 1, Scan: 1})
		if err != nil || len(res.Conversations) == 0 {
			return "", err
		}
		return res.Conversations[0].ActivityKey(), nil
	}
	var page InboxPage
	if cur.Check { // nothing rose above the last pass's Top: no catch-up needed
		t, err := top(cur.Top)
		if err != nil || t == "" {
			return page, err
		}
		cur.Top, cur.Check = t, false
	}
	if cur.Began == 0 {
		cur.Began = s.now().UnixNano()
		if cur.Top == "" && f.Narrow() { // a narrow read shows no top
			t, err := top("")
			if err != nil || t == "" {
				return page, err
			}
			cur.Top = t
		}
	}
	seen := map[string]bool{}
	for {
		want := limit + 1 - len(page.Conversations) // one more than fits says a page follows
		scan := want
		if f.Narrow() {
			scan = min(maxScan, max(want, 4*want))
		}
		res, err := read(InboxRange{Filter: f, Above: cur.Above, Below: cur.Below, Limit: want, Scan: scan})
		if err != nil {
			return InboxPage{}, err
		}
		if cur.Top == "" && len(res.Conversations) > 0 {
			cur.Top = res.Conversations[0].ActivityKey() // unfiltered: the top
		}
		for _, c := range res.Conversations {
			if !seen[c.ID] {
				seen[c.ID] = true
				page.Conversations = append(page.Conversations, c)
			}
		}
		if len(page.Conversations) > limit { // a page follows in this pass
			page.Conversations = page.Conversations[:limit]
			last := page.Conversations[limit-1]
			next := cur
			next.Below, next.Paged = ActivityKey(last.ActiveAt, last.ID), true
			page.Next = &next
			return page, nil
		}
		if res.Last != "" { // the read stopped short of the range's end
			cur.Below = res.Last
			if reads < 2 {
				continue
			}
			next := cur
			next.Paged = true
			page.Next = &next
			return page, nil
		}
		// This pass reached the bottom. If it took one page, nothing can
		// have moved past it unseen: done. Else catch up with what rose
		// since it began, if anything did.
		if !cur.Paged || cur.Top == "" {
			return page, nil
		}
		catchUp := InboxCursor{Above: ActivityFloor(time.Unix(0, cur.Began).Add(-CatchUpMargin)), Top: cur.Top, Check: true}
		if reads < 2 {
			t, err := top(cur.Top)
			if err != nil || t == "" {
				return page, err
			}
			catchUp.Top, catchUp.Check = t, false
		}
		page.Next = &catchUp
		return page, nil
	}
}

// ActivityKey is a conversation's place in the inbox index: 13 base-36
// digits of ActiveAt's Unix nanoseconds, "#", its id. Keys sort as (time,
// id) do.
func ActivityKey(at time.Time, id string) string { return ActivityFloor(at) + "#" + id }

// ActivityFloor is the lowest activity key of time at: every key of a
// conversation active at or after at sorts above it.
func ActivityFloor(at time.Time) string {
	var b [13]byte
	putBase36(b[:], uint64(max(at.UnixNano(), 0)))
	return string(b[:])
}

// ActivityKey is c's place in the inbox index.
func (c *Conversation) ActivityKey() string { return ActivityKey(c.ActiveAt, c.ID) }

// Project is Apply at time at: a message that moves the conversation (its
// last-message fields, or its status) stamps ActiveAt with at, so that it
// rises to the top of the inbox. ActiveAt only moves forward.
func (c *Conversation) Project(m *Message, window time.Duration, at time.Time) bool {
	cursor, status := c.Cursor, c.Status
	if !c.Apply(m, window) {
		return false
	}
	if c.Cursor != cursor || c.Status != status {
		c.Touch(at)
	}
	return true
}

// Touch stamps the conversation active at at (never backwards).
func (c *Conversation) Touch(at time.Time) {
	if at.After(c.ActiveAt) {
		c.ActiveAt = at.UTC()
	}
}

// SortByActivity orders conversations as the inbox lists them: highest
// activity key first.
func SortByActivity(cs []Conversation) {
	slices.SortFunc(cs, func(a, b Conversation) int {
		ka, kb := a.ActivityKey(), b.ActivityKey()
		switch {
		case ka > kb:
			return -1
		case ka < kb:
			return 1
		}
		return 0
	})
}

// All follows a listing of every conversation of a status to its end, each
// conversation once (tests and tools; the API pages).
func All(ctx context.Context, st InboxReader, status string) ([]Conversation, error) {
	var s Service
	var out []Conversation
	var cur InboxCursor
	seen := map[string]bool{}
	for {
		p, err := s.Inbox(ctx, st, InboxFilter{Status: status}, cur, 100)
		if err != nil {
			return nil, err
		}
		for _, c := range p.Conversations {
			if !seen[c.ID] {
				seen[c.ID] = true
				out = append(out, c)
			}
		}
		if p.Next == nil {
			return out, nil
		}
		cur = *p.Next
	}
}
