package conversation_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

func msg(i int, dir conversation.Direction) conversation.Message {
	return conversation.Message{
		Key: fmt.Sprint("k", i), Channel: conversation.ChannelSMS, Direction: dir, Body: fmt.Sprint("m", i),
		CreatedAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
}

// TestApplyOrderAndRepeatFree applies the same messages in many orders, each
// message up to three times, and wants one summary.
func TestApplyOrderAndRepeatFree(t *testing.T) {
	for _, n := range []int{3, conversation.MaxUnreadTracked, 40} {
		var msgs []conversation.Message
		for i := range n {
			msgs = append(msgs, msg(i, conversation.DirectionInbound))
		}
		var want conversation.Conversation
		for i := range msgs {
			want.Apply(&msgs[i], 0)
		}
		if want.Unread != n || want.LastPreview != fmt.Sprint("m", n-1) {
			t.Fatalf("n=%d in order: unread %d preview %q", n, want.Unread, want.LastPreview)
		}
		r := rand.New(rand.NewPCG(1, uint64(n)))
		for trial := range 50 {
			var seq []conversation.Message
			for _, m := range msgs {
				for range 1 + r.IntN(3) {
					seq = append(seq, m)
				}
			}
			// A stream redelivers suffixes, and concurrent writers may swap
			// neighbours; shuffle within windows of 4.
			for i := 0; i+4 <= len(seq); i += 4 {
				r.Shuffle(4, func(a, b int) { seq[i+a], seq[i+b] = seq[i+b], seq[i+a] })
			}
			var got conversation.Conversation
			for i := range seq {
				got.Apply(&seq[i], 0)
			}
			if got.Unread != want.Unread || got.LastPreview != want.LastPreview || got.Cursor != want.Cursor {
				t.Fatalf("n=%d trial %d: unread %d preview %q; want %d %q", n, trial, got.Unread, got.LastPreview, want.Unread, want.LastPreview)
			}
		}
	}
}

func TestApplyReplyClearsUnreadIncludingOverflow(t *testing.T) {
	var c conversation.Conversation
	for i := range 30 {
		m := msg(i, conversation.DirectionInbound)
		c.Apply(&m, 0)
	}
	if c.Unread != 30 || len(c.UnreadCursors) != conversation.MaxUnreadTracked {
		t.Fatalf("unread %d tracked %d", c.Unread, len(c.UnreadCursors))
	}
	reply := msg(30, conversation.DirectionOutbound)
	c.Apply(&reply, 0)
	if c.Unread != 0 {
		t.Errorf("after reply: unread %d", c.Unread)
	}
	late := msg(31, conversation.DirectionInbound)
	older := msg(29, conversation.DirectionInbound) // redelivered, before the reply
	c.Apply(&late, 0)
	c.Apply(&older, 0)
	if c.Unread != 1 {
		t.Errorf("after a new message and a redelivered old one: unread %d, want 1", c.Unread)
	}
	if c.Apply(&late, 0) {
		t.Error("re-applying a message changed the summary")
	}
}

func TestApplyCoalescesIntoWindows(t *testing.T) {
	var c conversation.Conversation
	const w = 10 * time.Second
	opened := func(i int, dir conversation.Direction) bool {
		m := msg(i, dir) // message i arrives at second i
		c.Apply(&m, w)
		return c.NotifyKey == m.Key
	}
	// Messages at 0..12 s: windows open at 0 and 10.
	var got []int
	for i := range 13 {
		if opened(i, conversation.DirectionInbound) {
			got = append(got, i)
		}
	}
	if fmt.Sprint(got) != "[0 10]" {
		t.Errorf("windows opened by %v, want [0 10]", got)
	}
	// An agent's reply closes the window: the next message notifies at once.
	opened(13, conversation.DirectionOutbound)
	if !opened(14, conversation.DirectionInbound) {
		t.Error("first message after a reply did not open a window")
	}
	// Re-applying the opener keeps it the opener (a redelivered record).
	m := msg(14, conversation.DirectionInbound)
	if c.Apply(&m, w) || c.NotifyKey != m.Key {
		t.Error("re-applying the window's opener changed the summary")
	}
	// Window 0: every message notifies.
	var z conversation.Conversation
	for i := range 3 {
		m := msg(i, conversation.DirectionInbound)
		z.Apply(&m, 0)
		if z.NotifyKey != m.Key {
			t.Errorf("window 0: message %d did not notify", i)
		}
	}
}

func TestAutomatedReplyLeavesTheCustomerWaiting(t *testing.T) {
	var c conversation.Conversation
	in := msg(0, conversation.DirectionInbound)
	c.Apply(&in, time.Minute)
	auto := msg(1, conversation.DirectionOutbound)
	auto.Kind = conversation.KindAuto
	c.Apply(&auto, time.Minute)
	if c.Unread != 1 || c.NotifyUntil.IsZero() {
		t.Errorf("after an automated reply: unread %d, window %v; want the customer still waiting", c.Unread, c.NotifyUntil)
	}
}

// TestQuietMailWaitsOnNoOne: an out-of-office reply, junk or a reaction
// joins the timeline (its channel) but is not unread, opens no notification
// window and is never the inbox's preview or latest activity; a person's
// message after it is all of those.
func TestQuietMailWaitsOnNoOne(t *testing.T) {
	for _, kind := range []string{conversation.KindAutomated, conversation.KindJunk, conversation.KindReaction} {
		var c conversation.Conversation
		quiet := msg(1, conversation.DirectionInbound)
		quiet.Channel, quiet.Kind = conversation.ChannelEmail, kind
		if !c.Apply(&quiet, time.Minute) {
			t.Fatalf("%s: nothing changed", kind)
		}
		if c.Unread != 0 || c.NotifyKey != "" || c.LastPreview != "" || !c.LastMessageAt.IsZero() || len(c.Channels) != 1 {
			t.Errorf("%s: unread %d notifyKey %q preview %q", kind, c.Unread, c.NotifyKey, c.LastPreview)
		}
		person := msg(2, conversation.DirectionInbound)
		c.Apply(&person, time.Minute)
		if c.Unread != 1 || c.NotifyKey != person.Key {
			t.Errorf("%s then a person: unread %d notifyKey %q", kind, c.Unread, c.NotifyKey)
		}
	}
}
