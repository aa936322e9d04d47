package conversation

import (
	"context"
	"fmt"
)

// Callbacks: a customer asked to be called back. The agent's callback is
// written like a reply — an outbound call entry (kind call, status queued)
// keyed by the request's idempotency key — and goes through the same
// outbox: the notifier has Twilio ring the agent's phone, and when the
// agent answers, Twilio dials the customer from the number they wrote or
// called to and bridges the two (see notify.TwilioCalls). The call's
// outcome, duration and recording land on the entry as Twilio reports them
// (twilio.VoiceHandler).

// Callback refusals (409).
var (
	ErrNoAgentPhone = &RuleError{Code: "no_agent_phone", Reason: "the agent has no phone number to ring (\"phone\" in the routing document, or agentPhone in the request)"}
	ErrNoPhone      = &RuleError{Code: "no_phone", Reason: "the customer has not texted or called a support number in this conversation: there is no number to call back"}
)

// CallbackRequest is POST /api/conversations/{id}/call.
type CallbackRequest struct {
	// Key is the request's Idempotency-Key (required: a double click
	// rings once).
	Key   string
	Agent string
	// AgentPhone is the E.164 number to ring first.
	AgentPhone string
}

// Callback queues an agent's callback of the conversation's customer. It
// returns the call entry and whether it was queued now (false: the key was
// used before for the same callback). A RuleError if it may not be placed.
func (s *Service) Callback(ctx context.Context, conversationID string, r CallbackRequest) (Message, bool, error) {
	if r.Key == "" {
		return Message{}, false, fmt.Errorf("%w: an Idempotency-Key is required", ErrInvalid)
	}
	if r.AgentPhone == "" {
		return Message{}, false, ErrNoAgentPhone
	}
	if !isE164(r.AgentPhone) {
		return Message{}, false, fmt.Errorf("%w: agentPhone must be an E.164 number (+ and 8 to 15 digits)", ErrInvalid)
	}
	c, err := s.Store.Summary(ctx, conversationID)
	if err != nil {
		return Message{}, false, err
	}
	key := "callback:" + c.ID + ":" + r.Key
	same := func(prev Message) (Message, bool, error) {
		if prev.AgentPhone != r.AgentPhone {
			return Message{}, false, ErrKeyReused
		}
		return prev, false, nil
	}
	if prev, found, err := s.queued(ctx, c.ID, key); err != nil || found {
		if err != nil {
			return Message{}, false, err
		}
		return same(prev)
	}
	// The number to call back, and the support number it is called from:
	// the customer's latest text or call.
	var in *Message
	if err := s.newestFirst(ctx, c.ID, func(m Message) bool {
		if m.Direction == DirectionInbound && m.Identity.Kind == KindPhone && (m.Channel == ChannelSMS || m.Channel == ChannelVoice) &&
			isE164(m.To) && isE164(m.Identity.Address) {
			in = &m
			return false
		}
		return true
	}); err != nil {
		return Message{}, false, err
	}
	if in == nil {
		return Message{}, false, ErrNoPhone
	}
	now := s.now().UTC()
	m := Message{
		ID: s.newID("msg"), Key: key, ConversationID: c.ID, ContactID: c.ContactID, Channel: ChannelVoice, Kind: KindCall,
		Direction: DirectionOutbound, From: in.To, To: in.Identity.Address, AgentPhone: r.AgentPhone, Body: "Callback",
		Provider: "twilio", Status: StatusQueued, Agent: r.Agent, Identity: in.Identity, CreatedAt: now, ReceivedAt: now, Seq: now.UnixNano(),
		StatusHistory: []StatusChange{{Status: StatusQueued, At: now}},
	}
	answering(&m, *in)
	if _, err := s.checkNow(ctx, m, now); err != nil {
		return Message{}, false, err
	}
	return s.queueOnce(ctx, m, same)
}
