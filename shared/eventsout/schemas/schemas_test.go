package schemas_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/eventsout"
	"github.com/switchboard/switchboard/shared/eventsout/schemas"
)

// TestEveryTypeDerivedAndValid derives each event type from the entries
// the stream sees and holds each to its schema; ids are stable (the same
// entry again is the same event) and distinct between types.
func TestEveryTypeDerivedAndValid(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	conv := conversation.Conversation{ID: "cv_1", ContactID: "ct_1", Team: "support", OpenedBy: "twilio:SM1", Assignee: "ana"}
	in := conversation.Message{ID: "msg_1", Key: "twilio:SM1", ConversationID: "cv_1", ContactID: "ct_1", Channel: conversation.ChannelSMS,
		Direction: conversation.DirectionInbound, From: "+14155550100", Body: "where is my order", CreatedAt: at,
		Media: []conversation.Media{{ContentType: "image/jpeg", Key: "media/msg_1/0.jpg"}}}
	event := func(name, key string) conversation.Message {
		return conversation.Message{ID: "msg_" + key, Key: key, ConversationID: "cv_1", ContactID: "ct_1", Kind: conversation.KindEvent,
			Event: name, Agent: "ana", CreatedAt: at}
	}
	reply := conversation.Message{ID: "msg_r", Key: "reply:cv_1:k1", ConversationID: "cv_1", ContactID: "ct_1", Channel: conversation.ChannelSMS,
		Direction: conversation.DirectionOutbound, To: "+14155550100", Body: "today", Agent: "ana", Status: conversation.StatusSent,
		ProviderMessageID: "SMout", StatusHistory: []conversation.StatusChange{{Status: "queued", At: at}, {Status: "sent", At: at.Add(time.Second)}}}
	var all []eventsout.Event
	all = append(all, eventsout.Of(conv, in)...)
	for _, e := range []string{conversation.EventAssigned, conversation.EventClosed, conversation.EventReopened, conversation.EventMerged} {
		all = append(all, eventsout.Of(conv, event(e, "event_"+e))...)
	}
	answer := conversation.Message{ID: "msg_a", Key: "twilio:SM9", ConversationID: "cv_1", ContactID: "ct_1", Channel: conversation.ChannelSMS,
		Direction: conversation.DirectionInbound, Kind: conversation.KindCSAT, Score: 4, Body: "4 quick, thanks", CreatedAt: at}
	rated := conv
	rated.CSAT = &conversation.CSAT{Score: 4, Comment: "quick, thanks", Channel: conversation.ChannelSMS, At: at, Key: answer.Key}
	all = append(all, eventsout.Of(rated, answer)...)
	if second := eventsout.Of(rated, conversation.Message{Key: "twilio:SM10", Kind: conversation.KindCSAT, Score: 1}); len(second) != 0 {
		t.Errorf("an answer not recorded tells %+v", second)
	}
	all = append(all, eventsout.OfStatus(reply)...)
	delivered := reply
	delivered.StatusHistory = append(slices.Clone(reply.StatusHistory), conversation.StatusChange{Status: "delivered", At: at.Add(2 * time.Second)})
	all = append(all, eventsout.OfStatus(delivered)...)
	all = append(all, eventsout.OfAudit(conversation.AuditEntry{ID: "audit_1", Action: conversation.AuditErase, Agent: "lead", ContactID: "ct_9", At: at})...)

	seen := map[string]int{}
	ids := map[string]bool{}
	for _, e := range all {
		seen[e.Type]++
		if ids[e.ID] {
			t.Errorf("%s reuses id %s", e.Type, e.ID)
		}
		ids[e.ID] = true
		if err := schemas.Validate(e); err != nil {
			t.Errorf("%+v: %v", e, err)
		}
	}
	for _, typ := range eventsout.Types {
		if seen[typ] == 0 {
			t.Errorf("no %s derived", typ)
		}
	}
	if again := eventsout.Of(conv, in); again[1].ID != all[1].ID {
		t.Errorf("the same message again: id %s, then %s", all[1].ID, again[1].ID)
	}
	// Nothing out for what is private or not yet sent.
	note := in
	note.Kind, note.Direction = conversation.KindNote, ""
	queued := reply
	queued.StatusHistory, queued.Status = reply.StatusHistory[:1], conversation.StatusQueued
	if got := append(eventsout.Of(conv, note), eventsout.OfStatus(queued)...); len(got) != 0 {
		t.Errorf("a note and a queued reply tell %+v", got)
	}
	if got := eventsout.OfAudit(conversation.AuditEntry{ID: "audit_2", Action: conversation.AuditExport}); len(got) != 0 {
		t.Errorf("an export tells %+v", got)
	}
}

// TestSchemasRefuseDrift: an event whose data lacks a required field, has
// one the schema does not name, or whose id is not ours is refused.
func TestSchemasRefuseDrift(t *testing.T) {
	ok := eventsout.OfAudit(conversation.AuditEntry{ID: "audit_1", Action: conversation.AuditErase, ContactID: "ct_1", At: time.Now()})[0]
	if err := schemas.Validate(ok); err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]eventsout.Event{
		"missing":    {ID: ok.ID, Type: ok.Type, Time: ok.Time, Data: map[string]string{}},
		"unknown":    {ID: ok.ID, Type: ok.Type, Time: ok.Time, Data: map[string]string{"contactId": "ct_1", "phone": "+1"}},
		"foreign id": {ID: "evt_123", Type: ok.Type, Time: ok.Time, Data: ok.Data},
		"no schema":  {ID: ok.ID, Type: "contact.deleted", Time: ok.Time, Data: ok.Data},
	} {
		if err := schemas.Validate(e); err == nil {
			t.Errorf("%s: validated", name)
		}
	}
}
