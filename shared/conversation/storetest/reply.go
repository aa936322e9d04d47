package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
)

// RunReplies holds a store to the outbox's contract: a reply is stored once
// per idempotency key, its send recorded once (the provider's id indexed
// for the status callbacks), and statuses only move forward, each in the
// message's history.
func RunReplies(t *testing.T, ns NewStore) {
	t.Run("ReplyQueuedOncePerKey", func(t *testing.T) { replyOnce(t, ns) })
	t.Run("SendRecordedThenStatusesMoveForward", func(t *testing.T) { sendRecorded(t, ns) })
}

func replyOnce(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	in := h.ingest(h.sms("SMo1", "+14155550601", "hello?")).Message
	m, queued, err := h.svc.Reply(ctx, in.ConversationID, conversation.ReplyRequest{Body: "hi!", Key: "k1", Agent: "ana"})
	if err != nil || !queued || m.Status != conversation.StatusQueued || m.To != "+14155550601" || m.From != "+18005550100" {
		t.Fatalf("reply: %+v %v %v", m, queued, err)
	}
	again, queued, err := h.svc.Reply(ctx, in.ConversationID, conversation.ReplyRequest{Body: "hi!", Key: "k1", Agent: "ana"})
	if err != nil || queued || again.ID != m.ID {
		t.Errorf("the same key again: %+v %v %v", again, queued, err)
	}
	if _, _, err := h.svc.Reply(ctx, in.ConversationID, conversation.ReplyRequest{Body: "other", Key: "k1", Agent: "ana"}); !errors.Is(err, conversation.ErrKeyReused) {
		t.Errorf("the same key, another body: %v", err)
	}
	_, msgs := h.conversation(in.ConversationID)
	if len(msgs) != 2 {
		t.Errorf("timeline: %d entries, want the message and one reply", len(msgs))
	}
}

func sendRecorded(t *testing.T, ns NewStore) {
	h := newHarness(t, ns)
	ctx := context.Background()
	in := h.ingest(h.sms("SMo2", "+14155550602", "hello?")).Message
	m, _, err := h.svc.Reply(ctx, in.ConversationID, conversation.ReplyRequest{Body: "hi!", Key: "k2", Agent: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := h.store.RecordSend(ctx, m, conversation.SendResult{Status: conversation.StatusSent, ProviderMessageID: "SMout2", At: h.now()})
	if err != nil || !ok {
		t.Fatalf("record sent: %v %v", ok, err)
	}
	if ok, err := h.store.RecordSend(ctx, m, conversation.SendResult{Status: conversation.StatusSent, ProviderMessageID: "SMout2", At: h.now()}); err != nil || ok {
		t.Errorf("recording sent again: %v %v, want false", ok, err)
	}
	if ok, err := h.svc.RecordStatus(ctx, "twilio", "SMout2", conversation.StatusUpdate{Status: "delivered", At: h.now()}); err != nil || !ok {
		t.Fatalf("delivered by the provider's id: %v %v", ok, err)
	}
	if ok, _ := h.svc.RecordStatus(ctx, "twilio", "SMout2", conversation.StatusUpdate{Status: "sent", At: h.now()}); ok {
		t.Error("a late sent moved delivered back")
	}
	got, err := h.store.Message(ctx, m.ConversationID, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	var hist []string
	for _, s := range got.StatusHistory {
		hist = append(hist, s.Status)
	}
	if got.Status != "delivered" || got.ProviderMessageID != "SMout2" || len(hist) != 3 || hist[0] != "queued" || hist[1] != "sent" || hist[2] != "delivered" {
		t.Errorf("after sent and delivered: %s %q history %v", got.Status, got.ProviderMessageID, hist)
	}
	unknown := m
	unknown.Key = "reply:nope"
	if _, err := h.store.RecordSend(ctx, unknown, conversation.SendResult{Status: conversation.StatusSent, At: h.now()}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("an unknown reply: %v", err)
	}
	failed, _, err := h.svc.Reply(ctx, in.ConversationID, conversation.ReplyRequest{Body: "again", Key: "k3", Agent: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.RecordSend(ctx, failed, conversation.SendResult{Status: conversation.StatusFailed, ErrorCode: "21211", Reason: "not a valid phone number", At: h.now()}); err != nil {
		t.Fatal(err)
	}
	if f, _ := h.store.Message(ctx, failed.ConversationID, failed.Key); f.Status != "failed" || f.ErrorCode != "21211" || f.Reason != "not a valid phone number" {
		t.Errorf("failed: %+v", f)
	}
}
