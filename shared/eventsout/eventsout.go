// Package eventsout is Switchboard's event stream out (DESIGN.md section
// 6b): every domain event — conversation.opened, message.received,
// message.sent, message.status, conversation.assigned, conversation.closed,
// conversation.reopened, csat.received, contact.merged, contact.erased —
// derived from the table's stream (Of, OfStatus,
// OfAudit), with one stable id per event, so a consumer dedupes a
// redelivered one. They leave to an EventBridge bus (EventBridge: CRMs
// subscribe with rules and API destinations) and to signed webhook
// subscriptions (the notify queue's KindEvent jobs: Standard Webhooks,
// retried with backoff, dead-lettered, a 4xx final). schemas/ holds each
// type's JSON Schema (package schemas); the tests hold every event to it.
package eventsout

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard/switchboard/shared/conversation"
)

// Event types.
const (
	ConversationOpened   = "conversation.opened"
	MessageReceived      = "message.received"
	MessageSent          = "message.sent"
	MessageStatus        = "message.status"
	ConversationAssigned = "conversation.assigned"
	ConversationClosed   = "conversation.closed"
	ConversationReopened = "conversation.reopened"
	CSATReceived         = "csat.received"
	ContactMerged        = "contact.merged"
	ContactErased        = "contact.erased"
)

// Types are every type, in DESIGN.md's order.
var Types = []string{ConversationOpened, MessageReceived, MessageSent, MessageStatus, ConversationAssigned,
	ConversationClosed, ConversationReopened, CSATReceived, ContactMerged, ContactErased}

// Source is the EventBridge source of every event.
const Source = "switchboard"

// Event is one domain event as it leaves: the JSON body of a webhook and
// the Detail of an EventBridge entry (whose DetailType is Type).
type Event struct {
	ID   string    `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	Data any       `json:"data"`
}

// Subject is the conversation (or the contact) an event is about: the
// webhook job's grouping key.
func (e Event) Subject() string {
	switch d := e.Data.(type) {
	case ConversationData:
		return d.ConversationID
	case MessageData:
		return d.ConversationID
	case StatusData:
		return d.ConversationID
	case CSATData:
		return d.ConversationID
	case ContactData:
		return "contact:" + d.ContactID
	}
	return ""
}

// ConversationData is the data of a conversation's events.
type ConversationData struct {
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	Team           string `json:"team,omitempty"`
	Channel        string `json:"channel,omitempty"`
	// Agent is who did it; Assignee whom a conversation was assigned to.
	Agent    string `json:"agent,omitempty"`
	Assignee string `json:"assignee,omitempty"`
}

// MessageData is a message's: what a CRM makes a ticket comment of.
type MessageData struct {
	ConversationID    string      `json:"conversationId"`
	ContactID         string      `json:"contactId"`
	MessageID         string      `json:"messageId"`
	Channel           string      `json:"channel"`
	Direction         string      `json:"direction"`
	Kind              string      `json:"kind,omitempty"`
	From              string      `json:"from,omitempty"`
	To                string      `json:"to,omitempty"`
	Subject           string      `json:"subject,omitempty"`
	Body              string      `json:"body"`
	Media             []MediaData `json:"media"`
	Agent             string      `json:"agent,omitempty"`
	ProviderMessageID string      `json:"providerMessageId,omitempty"`
}

// MediaData names one attachment (fetch it with GET /api/media/{key}).
type MediaData struct {
	ContentType string `json:"contentType,omitempty"`
	Key         string `json:"key,omitempty"`
}

// StatusData is an outbound message's delivery status.
type StatusData struct {
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	MessageID      string `json:"messageId"`
	Channel        string `json:"channel"`
	Status         string `json:"status"`
	ErrorCode      string `json:"errorCode,omitempty"`
}

// CSATData is a survey's answer: the score (1 to 5) the customer gave the
// conversation, on which channel, with their comment if any.
type CSATData struct {
	ConversationID string `json:"conversationId"`
	ContactID      string `json:"contactId"`
	Team           string `json:"team,omitempty"`
	Channel        string `json:"channel,omitempty"`
	Score          int    `json:"score"`
	Comment        string `json:"comment,omitempty"`
}

// ContactData is a contact's events' (merged, erased): ids only.
type ContactData struct {
	ContactID string `json:"contactId"`
	Agent     string `json:"agent,omitempty"`
	// ConversationID is the conversation a merge touched.
	ConversationID string `json:"conversationId,omitempty"`
}

// namespace makes event ids: UUIDv5 of what the event is.
var namespace = uuid.MustParse("0b9c5f3e-71a4-4e0c-9d4b-8a2f6c1e5d37")

func id(parts ...string) string {
	b := []byte{}
	for _, p := range parts {
		b = append(append(b, p...), 0)
	}
	return "evt_" + uuid.NewSHA1(namespace, b).String()
}

// Of is the events a newly stored timeline entry tells, with its
// conversation as projected: a customer's message (and the opening of its
// conversation), an agent's assignment, close or reopen, a merge. Replies
// tell theirs when they are sent (OfStatus).
func Of(c conversation.Conversation, m conversation.Message) []Event {
	at := m.CreatedAt.UTC()
	conv := ConversationData{ConversationID: m.ConversationID, ContactID: m.ContactID, Team: c.Team, Agent: m.Agent}
	switch {
	case m.Kind == conversation.KindEvent:
		switch m.Event {
		case conversation.EventAssigned:
			conv.Assignee = c.Assignee
			return []Event{{ID: id(ConversationAssigned, m.Key), Type: ConversationAssigned, Time: at, Data: conv}}
		case conversation.EventClosed:
			return []Event{{ID: id(ConversationClosed, m.Key), Type: ConversationClosed, Time: at, Data: conv}}
		case conversation.EventReopened:
			return []Event{{ID: id(ConversationReopened, m.Key), Type: ConversationReopened, Time: at, Data: conv}}
		case conversation.EventMerged:
			return []Event{{ID: id(ContactMerged, m.Key), Type: ContactMerged, Time: at,
				Data: ContactData{ContactID: m.ContactID, Agent: m.Agent, ConversationID: m.ConversationID}}}
		}
		return nil
	case m.Kind == conversation.KindCSAT:
		if c.CSAT == nil || c.CSAT.Key != m.Key {
			return nil // not the answer recorded (a second one)
		}
		return []Event{{ID: id(CSATReceived, m.Key), Type: CSATReceived, Time: at, Data: CSATData{ConversationID: m.ConversationID,
			ContactID: m.ContactID, Team: c.Team, Channel: string(c.CSAT.Channel), Score: c.CSAT.Score, Comment: c.CSAT.Comment}}}
	case m.Direction == conversation.DirectionOutbound && m.Status == conversation.StatusSent && m.Kind != conversation.KindNote:
		// Stored once sent (an acknowledgement, a missed-call text): told now.
		return []Event{{ID: id(MessageSent, m.Key), Type: MessageSent, Time: at, Data: messageData(m)}}
	case m.Kind == conversation.KindNote || m.Direction != conversation.DirectionInbound:
		return nil // private, or an agent's reply: told when sent (OfStatus)
	}
	var out []Event
	if c.OpenedBy == m.Key {
		conv.Channel, conv.Agent = string(m.Channel), ""
		out = append(out, Event{ID: id(ConversationOpened, m.ConversationID), Type: ConversationOpened, Time: at, Data: conv})
	}
	return append(out, Event{ID: id(MessageReceived, m.Key), Type: MessageReceived, Time: at, Data: messageData(m)})
}

func messageData(m conversation.Message) MessageData {
	d := MessageData{ConversationID: m.ConversationID, ContactID: m.ContactID, MessageID: m.ID, Channel: string(m.Channel),
		Direction: string(m.Direction), Kind: m.Kind, From: m.From, To: m.To, Subject: m.Subject, Body: m.Body,
		Agent: m.Agent, ProviderMessageID: m.ProviderMessageID, Media: []MediaData{}}
	if m.Unsent {
		d.Body = ""
	}
	for _, md := range m.Media {
		d.Media = append(d.Media, MediaData{ContentType: md.ContentType, Key: md.Key})
	}
	return d
}

// OfStatus is the events an outbound message's latest status tells (a
// stream MODIFY of it): message.status, and message.sent when the provider
// took it. The id is the message's and the status's, so the same status
// seen again (another change of the item) is the same event.
func OfStatus(m conversation.Message) []Event {
	if m.Direction != conversation.DirectionOutbound || len(m.StatusHistory) == 0 {
		return nil
	}
	last := m.StatusHistory[len(m.StatusHistory)-1]
	if last.Status == conversation.StatusQueued {
		return nil
	}
	at := last.At.UTC()
	out := []Event{{ID: id(MessageStatus, m.Key, last.Status), Type: MessageStatus, Time: at, Data: StatusData{
		ConversationID: m.ConversationID, ContactID: m.ContactID, MessageID: m.ID, Channel: string(m.Channel),
		Status: last.Status, ErrorCode: m.ErrorCode}}}
	if last.Status == conversation.StatusSent {
		out = append(out, Event{ID: id(MessageSent, m.Key), Type: MessageSent, Time: at, Data: messageData(m)})
	}
	return out
}

// OfAudit is the event an audit entry tells: contact.erased for an
// erasure (an export tells nothing out).
func OfAudit(a conversation.AuditEntry) []Event {
	if a.Action != conversation.AuditErase {
		return nil
	}
	return []Event{{ID: id(ContactErased, a.ID), Type: ContactErased, Time: a.At.UTC(), Data: ContactData{ContactID: a.ContactID, Agent: a.Agent}}}
}

// Publisher sends events on (EventBridge, the webhook queue).
type Publisher interface {
	Publish(ctx context.Context, evs []Event) error
}

// Publishers is every publisher, each given every event.
type Publishers []Publisher

// Publish implements Publisher: all of them, their errors joined.
func (ps Publishers) Publish(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.Publish(ctx, evs))
	}
	return errors.Join(errs...)
}
