package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// RunReports holds a store's rollups to the reports' contract: the stream's
// facts (opened, first response, closed, reopened) add up per team and day,
// each once however often the stream delivers it.
func RunReports(t *testing.T, ns NewStore) {
	t.Run("ReportsCountEachFactOnce", func(t *testing.T) { reports(t, ns) })
	t.Run("ReportsCountAConversationMergedBeforeItsOpenerWasProjected", func(t *testing.T) { reportMergedEarly(t, ns) })
}

func (h *harness) wait(d time.Duration) {
	h.mu.Lock()
	h.clock = h.clock.Add(d)
	h.mu.Unlock()
}

func reports(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	day := conversation.Day(h.clock)

	// Ana's SMS is answered after 3 minutes and closed after 55; then
	// it is reopened and closed again 10 minutes later; a WhatsApp conversation opens and is
	// answered after 20 minutes; an email opens and waits.
	a := h.ingest(h.sms("SMr1", "+14155550401", "where is my order")).Message
	h.wait(3 * time.Minute)
	reply := h.sms("SMr2", "+14155550401", "on its way")
	reply.Direction = conversation.DirectionOutbound
	replied := h.ingest(reply).Message
	h.wait(52 * time.Minute)
	h.update(a.ConversationID, conversation.Patch{Status: str(conversation.StatusClosed)})
	h.update(a.ConversationID, conversation.Patch{Status: str(conversation.StatusOpen)})
	h.wait(10 * time.Minute)
	h.update(a.ConversationID, conversation.Patch{Status: str(conversation.StatusClosed)})

	wa := h.sms("SMr3", "+14155550402", "hola")
	wa.Channel = conversation.ChannelWhatsApp
	b := h.ingest(wa).Message
	h.wait(20 * time.Minute)
	ans := h.sms("SMr4", "+14155550402", "¡hola!")
	ans.Channel, ans.Direction = conversation.ChannelWhatsApp, conversation.DirectionOutbound
	h.ingest(ans)
	h.ingest(h.sms("SMr5", "+14155550403", "a third one"))

	// The stream delivers everything again: nothing counts twice.
	for _, id := range []string{a.ConversationID, b.ConversationID} {
		_, msgs := h.conversation(id)
		for _, m := range msgs {
			if _, err := h.svc.Project(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c := h.summary(a.ConversationID); !c.FirstResponseAt.Equal(replied.CreatedAt) {
		t.Errorf("firstResponseAt %v, want the reply's %v", c.FirstResponseAt, replied.CreatedAt)
	}

	r, err := conversation.BuildReport(ctx, h.store, []string{"support"}, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if r.Opened != 3 || r.ByChannel[conversation.ChannelSMS] != 2 || r.ByChannel[conversation.ChannelWhatsApp] != 1 {
		t.Errorf("opened %d by channel %v", r.Opened, r.ByChannel)
	}
	if r.Closed != 2 || r.Reopened != 1 || r.ReopenRate != 0.5 {
		t.Errorf("closed %d reopened %d rate %v", r.Closed, r.Reopened, r.ReopenRate)
	}
	// First responses: 3 min (bucket ≤ 5 min) and 20 min (≤ 30 min).
	if r.First.Count != 2 || r.First.P50Seconds != 300 || r.First.P90Seconds != 1800 || int(r.First.MeanSeconds+0.5) != 690 {
		t.Errorf("first response %+v", r.First)
	}
	// Resolutions: 55 min (≤ 1 h) and 65 min (≤ 2 h).
	if r.Resolution.Count != 2 || r.Resolution.P50Seconds != 3600 || r.Resolution.P90Seconds != 7200 {
		t.Errorf("resolution %+v", r.Resolution)
	}
	if len(r.Days) != 1 || r.Days[0].Day != day || r.Days[0].Opened != 3 {
		t.Errorf("days %+v", r.Days)
	}
	if other, err := conversation.BuildReport(ctx, h.store, []string{"sales"}, day, day); err != nil || other.Opened != 0 || len(other.Days) != 0 {
		t.Errorf("another team's report: %+v, %v", other, err)
	}
	next := conversation.Day(h.clock.Add(24 * time.Hour))
	if later, err := conversation.BuildReport(ctx, h.store, []string{"support"}, next, next); err != nil || later.Opened != 0 {
		t.Errorf("the next day: %+v, %v", later, err)
	}
}

// reportMergedEarly: a customer writes from a second phone and an agent
// merges the two contacts before the stream has projected that message.
// Its projection moves it to the survivor's conversation, yet the report
// still counts the conversation it opened (the merge closed it), once.
func reportMergedEarly(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	day := conversation.Day(h.clock)
	x := h.ingest(h.sms("SMe1", "+14155550411", "my parcel")).Message
	res, err := h.svc.Ingest(ctx, h.sms("SMe2", "+14155550412", "it's me, from my work phone"))
	if err != nil {
		t.Fatal(err)
	}
	y := res.Message
	if y.ConversationID == x.ConversationID {
		t.Fatalf("the second phone joined %s", x.ConversationID)
	}
	if _, err := h.svc.Merge(ctx, x.ContactID, y.ContactID, "ana"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the stream's delivery, then its redelivery
		c, err := h.svc.Project(ctx, y)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID != x.ConversationID {
			t.Fatalf("projected onto %s, want the survivor's %s", c.ID, x.ConversationID)
		}
	}
	r, err := conversation.BuildReport(ctx, h.store, []string{"support"}, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if r.Opened != 2 || r.ByChannel[conversation.ChannelSMS] != 2 {
		t.Errorf("opened %d by channel %v, want both conversations", r.Opened, r.ByChannel)
	}
}
