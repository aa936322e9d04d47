package conversation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Replies: an agent answers through the customer's channel. A reply is
// written first — an outbound message, status queued, keyed by the
// request's idempotency key so that a retried POST never sends twice — and
// the stream turns it into a send job (the one outbox: see notify). Channel
// rules are checked here, before queueing, and again by the sender at send
// time (a window may close while a reply waits).

// Reply refusals (409 at the API, the rule's name as the code).
var (
	ErrOptedOut       = &RuleError{Code: "opted_out", Reason: "the customer opted out of messages on this number (STOP; START lifts it)"}
	ErrBlocked        = &RuleError{Code: "blocked", Reason: "the contact is blocked"}
	ErrWhatsAppWindow = &RuleError{Code: "whatsapp_window", Reason: "WhatsApp allows free-form replies only within 24 hours of the customer's last message; a template is needed"}
	ErrMetaWindow     = &RuleError{Code: "meta_window", Reason: "Messenger and Instagram allow replies only within 7 days of the customer's last message (after 24 hours as a human agent)"}
	ErrWeChatWindow   = &RuleError{Code: "wechat_window", Reason: "WeChat allows customer-service replies only within 48 hours of the follower's last message"}
	ErrNotConfigured  = &RuleError{Code: "channel_not_configured", Reason: "replies on this channel are not configured"}
	ErrNoAddress      = &RuleError{Code: "no_address", Reason: "the customer has not written on this channel in this conversation"}
	// ErrKeyReused: the idempotency key was used for a different reply.
	ErrKeyReused = errors.New("idempotency key reused with a different reply")
)

// Windows of Meta's messaging policy, and WeChat's customer-service
// window.
const (
	ServiceWindow  = 24 * time.Hour
	HumanAgentSpan = 7 * 24 * time.Hour
	WeChatWindow   = 48 * time.Hour
)

// TagHumanAgent is Meta's message tag for an agent's answer 24 hours to 7
// days after the customer's last message.
const TagHumanAgent = "HUMAN_AGENT"

// ReplyRequest is POST /api/conversations/{id}/messages.
type ReplyRequest struct {
	Body    string
	Channel Channel // "": the channel of the customer's latest message
	// Key is the request's Idempotency-Key (required).
	Key   string
	Agent string
	// Template is an approved WhatsApp template to send (the only message
	// WhatsApp allows outside its 24-hour window); Body is then optional.
	Template *TemplateUse
	// Media are the reply's attachments: stored uploads (Key, ContentType,
	// Size, Filename), checked against the channel by CheckMedia.
	Media []Media
}

// Template is an approved WhatsApp message template, as the routing
// document lists it: Body is its text with {{1}}, {{2}}… for the
// parameters (what the timeline shows); ContentSID is its Twilio Content
// API id (HX…), for conversations that came through Twilio.
type Template struct {
	Name       string `json:"name"`
	Language   string `json:"language"`
	Body       string `json:"body"`
	ContentSID string `json:"twilioContentSid,omitempty"`
}

// TemplateUse is a template sent: which one, with what parameters.
type TemplateUse struct {
	Name       string   `json:"name" dynamodbav:"name"`
	Language   string   `json:"language" dynamodbav:"language"`
	Params     []string `json:"params" dynamodbav:"params"`
	ContentSID string   `json:"-" dynamodbav:"contentSid,omitempty"`
}

// ErrUnknownTemplate: the template is not in the routing document (400).
var ErrUnknownTemplate = fmt.Errorf("%w: no such template", ErrInvalid)

// render fills a template's parameters in.
func (t Template) render(params []string) string {
	out := t.Body
	for i, p := range params {
		out = strings.ReplaceAll(out, "{{"+strconv.Itoa(i+1)+"}}", p)
	}
	return out
}

// replyPage and replyScan: the timeline is read back for the customer's
// latest message on a channel a page of 10 at a time (it is nearly always
// on the first), 100 entries at most.
const (
	replyPage = 10
	replyScan = 100
)

// Reply queues an agent's reply. It returns the message and whether it was
// queued now (false: the same key was sent before, and this is that reply).
// ErrKeyReused if the key named another reply; a RuleError when a channel
// rule refuses it.
func (s *Service) Reply(ctx context.Context, conversationID string, r ReplyRequest) (Message, bool, error) {
	if r.Key == "" {
		return Message{}, false, fmt.Errorf("%w: an Idempotency-Key is required", ErrInvalid)
	}
	if strings.TrimSpace(r.Body) == "" && r.Template == nil && len(r.Media) == 0 {
		return Message{}, false, fmt.Errorf("%w: a reply needs a body, media or a template", ErrInvalid)
	}
	if r.Template != nil && len(r.Media) > 0 {
		return Message{}, false, fmt.Errorf("%w: a template is sent without media", ErrInvalid)
	}
	var tpl *Template
	if r.Template != nil {
		t, ok := s.template(r.Template.Name, r.Template.Language)
		if !ok {
			return Message{}, false, fmt.Errorf("%w %q in %q", ErrUnknownTemplate, r.Template.Name, r.Template.Language)
		}
		for _, p := range r.Template.Params {
			if CheckText(p) != nil {
				return Message{}, false, fmt.Errorf("%w: template params must be text", ErrInvalid)
			}
		}
		tpl = &t
		if r.Body == "" {
			r.Body = t.render(r.Template.Params)
		}
	}
	if err := CheckText(r.Body); err != nil {
		return Message{}, false, fmt.Errorf("%w: body %v", ErrInvalid, err)
	}
	c, err := s.Store.Summary(ctx, conversationID)
	if err != nil {
		return Message{}, false, err
	}
	key := "reply:" + c.ID + ":" + r.Key
	if prev, found, err := s.queued(ctx, c.ID, key); err != nil || found {
		if err != nil {
			return Message{}, false, err
		}
		return sameReply(prev, r)
	}
	in, err := s.latestInbound(ctx, c.ID, r.Channel)
	if err != nil {
		return Message{}, false, err
	}
	m := s.addressed(c, in, key, r.Body)
	m.Agent = r.Agent
	if tpl != nil {
		if in.Channel != ChannelWhatsApp {
			return Message{}, false, fmt.Errorf("%w: templates are for WhatsApp, not %s", ErrInvalid, in.Channel)
		}
		m.Template = &TemplateUse{Name: tpl.Name, Language: tpl.Language, Params: r.Template.Params, ContentSID: tpl.ContentSID}
		if m.Template.Params == nil {
			m.Template.Params = []string{}
		}
	}
	if len(r.Media) > 0 {
		if err := CheckMedia(ReplyRoute(m), m.Body, r.Media); err != nil {
			return Message{}, false, err
		}
		for _, md := range r.Media {
			m.Media = append(m.Media, Media{Key: md.Key, ContentType: md.ContentType, Size: md.Size, Filename: md.Filename, Status: MediaStored})
		}
	}
	if m.Tag, err = s.checkNow(ctx, m, in.CreatedAt); err != nil {
		return Message{}, false, err
	}
	return s.queueOnce(ctx, m, func(prev Message) (Message, bool, error) { return sameReply(prev, r) })
}

// queued is the entry an earlier request with the same idempotency key
// wrote, if any.
func (s *Service) queued(ctx context.Context, conversationID, key string) (Message, bool, error) {
	prev, err := s.Store.Message(ctx, conversationID, key)
	if errors.Is(err, ErrNotFound) {
		return Message{}, false, nil
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("read %s: %w", key, err)
	}
	return prev, true, nil
}

// queueOnce writes an outbound entry for the outbox (a reply, a callback)
// unless a request with its key, concurrently, wrote one first: then same
// answers with that one (or refuses a key reused for something else).
func (s *Service) queueOnce(ctx context.Context, m Message, same func(prev Message) (Message, bool, error)) (Message, bool, error) {
	err := s.Store.PutMessage(ctx, m)
	if errors.Is(err, ErrDuplicate) {
		prev, found, err := s.queued(ctx, m.ConversationID, m.Key)
		if err != nil {
			return Message{}, false, err
		}
		if !found {
			return Message{}, false, fmt.Errorf("read %s after a duplicate put: %w", m.Key, ErrNotFound)
		}
		return same(prev)
	}
	if err != nil {
		return Message{}, false, fmt.Errorf("put %s: %w", m.Key, err)
	}
	return m, true, nil
}

// answering puts m after in on the timeline, whatever the clocks (a
// provider's timestamp ahead of ours, two in one tick).
func answering(m *Message, in Message) {
	if !m.CreatedAt.After(in.CreatedAt) {
		m.CreatedAt = in.CreatedAt
		m.Seq = max(m.Seq, in.Seq+1)
	}
}

// template finds an approved template by name and language.
func (s *Service) template(name, lang string) (Template, bool) {
	for _, t := range s.Templates {
		if t.Name == name && t.Language == lang {
			return t, true
		}
	}
	return Template{}, false
}

// sameReply answers a repeated key: the reply it queued, if it asked the
// same.
func sameReply(prev Message, r ReplyRequest) (Message, bool, error) {
	if prev.Body != r.Body || r.Channel != "" && prev.Channel != r.Channel || !slices.EqualFunc(prev.Media, r.Media, func(a, b Media) bool { return a.Key == b.Key }) {
		return Message{}, false, ErrKeyReused
	}
	return prev, false, nil
}

// latestInbound is the customer's latest message on the conversation, on
// channel (any when ""): where a reply goes and from which address.
func (s *Service) latestInbound(ctx context.Context, id string, ch Channel) (Message, error) {
	var in, answered *Message // the newest agent reply seen on the way
	err := s.newestFirst(ctx, id, func(m Message) bool {
		if m.Kind != "" || ch != "" && m.Channel != ch {
			return true
		}
		if m.Direction == DirectionInbound && m.From != "" {
			in = &m
			return false
		}
		if m.Direction == DirectionOutbound && m.Agent != "" && answered == nil {
			answered = &m
		}
		return true
	})
	switch {
	case err != nil:
		return Message{}, err
	case in != nil:
		return *in, nil
	case answered == nil:
		return Message{}, ErrNoAddress
	}
	// The customer's message is further back than the scan: address the
	// reply as the agent's last one was. Its time unknown, the 24-hour and
	// 7-day rules take it as long past.
	r := *answered
	fallback := Message{Channel: r.Channel, Provider: r.Provider, Identity: r.Identity, From: r.To, To: r.From, Account: r.Account,
		Subject: r.Subject, ProviderMessageID: r.ReplyToRef, Seq: r.Seq}
	if r.Channel == ChannelTelegram || r.Channel == ChannelLINE {
		fallback.To = r.To
	}
	return fallback, nil
}

// newestFirst visits the conversation's timeline from its newest entry
// back, a page of replyPage at a time, replyScan entries at most, while
// visit returns true.
func (s *Service) newestFirst(ctx context.Context, id string, visit func(Message) bool) error {
	before := ""
	for read := 0; read < replyScan; read += replyPage {
		msgs, next, err := s.Store.Timeline(ctx, id, before, replyPage)
		if err != nil {
			return err
		}
		for i := len(msgs) - 1; i >= 0; i-- {
			if !visit(msgs[i]) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		before = next
	}
	return nil
}

// Recheck holds a queued reply to its channel's rules again, at send time:
// the contact may have been blocked, the number opted out, the window
// closed while it waited (nil if it may go; the tag it goes with).
func (s *Service) Recheck(ctx context.Context, m Message) (string, error) {
	if m.Kind == KindCall { // a callback: no window, only the contact
		return s.checkNow(ctx, m, s.now())
	}
	in, err := s.latestInbound(ctx, m.ConversationID, m.Channel)
	if err != nil {
		return "", err
	}
	return s.checkNow(ctx, m, in.CreatedAt)
}

// checkNow reads what the rules depend on (the contact's blocked flag, the
// identity's consent) and holds m to them now, the customer's last message
// on its channel at lastInbound: the one check of queueing and of sending.
func (s *Service) checkNow(ctx context.Context, m Message, lastInbound time.Time) (string, error) {
	contact, err := s.Store.Contact(ctx, m.ContactID)
	if err != nil {
		return "", fmt.Errorf("read contact: %w", err)
	}
	state, err := s.Store.IdentityState(ctx, m.Identity)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("read consent: %w", err)
	}
	return s.CheckReply(m, lastInbound, contact.Blocked, state.OptedOut, s.now())
}

// CheckReply holds a reply to its channel's rules at time now, given the
// customer's last message on that channel at lastInbound: the contact not
// blocked, the number not opted out, a sender configured, WhatsApp within
// 24 hours, Messenger and Instagram within 7 days (after 24 hours with the
// HUMAN_AGENT tag, which it returns). The sender checks again at send time.
func (s *Service) CheckReply(m Message, lastInbound time.Time, blocked, optedOut bool, now time.Time) (tag string, err error) {
	switch {
	case blocked:
		return "", ErrBlocked
	case optedOut && (m.Channel == ChannelSMS || m.Channel == ChannelWhatsApp):
		return "", ErrOptedOut
	case s.CanSend != nil && !s.CanSend(ReplyRoute(m)):
		return "", ErrNotConfigured
	}
	age := now.Sub(lastInbound)
	switch m.Channel {
	case ChannelWhatsApp:
		if age > ServiceWindow && m.Template == nil {
			return "", ErrWhatsAppWindow
		}
	case ChannelWeChat:
		if age > WeChatWindow {
			return "", ErrWeChatWindow
		}
	case ChannelMessenger, ChannelInstagram:
		if age > HumanAgentSpan {
			return "", ErrMetaWindow
		}
		if age > ServiceWindow {
			return TagHumanAgent, nil
		}
	}
	return "", nil
}

// ReplySubject is "Re: " and the customer's subject, once.
func ReplySubject(s string) string {
	if s == "" {
		return "Re: your message"
	}
	if len(s) >= 3 && strings.EqualFold(s[:3], "re:") {
		return s
	}
	return "Re: " + s
}

// Statuses of an outbound message the outbox sets.
const (
	StatusQueued = "queued"
	StatusSent   = "sent"
	StatusFailed = "failed"
	// StatusDelivered: the provider (or the web chat's socket, or the
	// visitor's sync) says the customer's device has it.
	StatusDelivered = "delivered"
)

// StatusChange is one entry of a message's statusHistory.
type StatusChange struct {
	Status string    `json:"status" dynamodbav:"status"`
	At     time.Time `json:"at" dynamodbav:"at"`
}

// SendResult is what a send did: StatusSent with the provider's id, or
// StatusFailed with its error code and a readable reason.
type SendResult struct {
	Status            string
	ProviderMessageID string
	ErrorCode, Reason string
	At                time.Time
}

// OutboxStore is what the sender writes: a send's outcome on its message.
type OutboxStore interface {
	// RecordSend records r on the stored outbound message m (status, the
	// provider's id indexed under m.Provider, error), unless its status
	// already ranks at or above r's; false then. ErrNotFound if m is not
	// stored.
	RecordSend(ctx context.Context, m Message, r SendResult) (bool, error)
}

// RouteWhatsAppCloud is the reply route of a WhatsApp conversation that came
// through Meta's WhatsApp Cloud API rather than Twilio.
const RouteWhatsAppCloud Channel = "whatsapp_cloud"

// ReplyRoute is which sender a reply needs: its channel, but WhatsApp by
// the provider the customer wrote through (Twilio, or the Cloud API).
func ReplyRoute(m Message) Channel {
	if m.Channel == ChannelWhatsApp && m.Provider == "meta" {
		return RouteWhatsAppCloud
	}
	return m.Channel
}

// Visitor is the web chat visitor of a conversation (its identity key, as
// their sockets are known): who its latest web chat message came from.
// ErrNoAddress if it has none.
func (s *Service) Visitor(ctx context.Context, conversationID string) (string, error) {
	in, err := s.latestInbound(ctx, conversationID, ChannelWebchat)
	if err != nil {
		return "", err
	}
	if in.Channel != ChannelWebchat || in.From == "" {
		return "", ErrNoAddress
	}
	return in.From, nil
}

// ReplyRule says whether an agent may reply on a channel now, as the
// conversation's replyRules show it before sending (DESIGN.md section 6):
// Code is the refusal's (whatsapp_window: only a template may go); a
// channel with a window says when it ends (WindowEndsAt; for Messenger and
// Instagram the 7-day human-agent span); Tag is the message tag a reply
// would carry (HUMAN_AGENT after 24 hours on Messenger and Instagram).
type ReplyRule struct {
	Allowed      bool      `json:"allowed"`
	Code         string    `json:"code,omitempty"`
	Reason       string    `json:"reason,omitempty"`
	WindowEndsAt time.Time `json:"windowEndsAt,omitzero"`
	Tag          string    `json:"tag,omitempty"`
}

// ReplyRules holds a reply on each channel the customer wrote on in this
// conversation to the rules Reply applies (CheckReply, the one check), at
// this moment: one scan of the recent timeline for the customer's latest
// message per channel, the contact and each identity's consent read once.
// A channel whose latest message is further back than the scan is absent
// (a reply there still goes, with the rules applied as Reply does).
func (s *Service) ReplyRules(ctx context.Context, c Conversation) (map[Channel]ReplyRule, error) {
	latest := map[Channel]Message{}
	err := s.newestFirst(ctx, c.ID, func(m Message) bool {
		if m.Kind == "" && m.Direction == DirectionInbound && m.From != "" {
			if _, seen := latest[m.Channel]; !seen {
				latest[m.Channel] = m
			}
		}
		return len(latest) < len(c.Channels)
	})
	if err != nil {
		return nil, err
	}
	out := map[Channel]ReplyRule{}
	if len(latest) == 0 {
		return out, nil
	}
	contact, err := s.Store.Contact(ctx, c.ContactID)
	if err != nil {
		return nil, fmt.Errorf("read contact: %w", err)
	}
	now := s.now()
	for ch, in := range latest {
		state, err := s.Store.IdentityState(ctx, in.Identity)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("read consent: %w", err)
		}
		probe := Message{Channel: ch, Provider: in.Provider, Identity: in.Identity}
		rule := ReplyRule{Allowed: true}
		if tag, err := s.CheckReply(probe, in.CreatedAt, contact.Blocked, state.OptedOut, now); err != nil {
			var re *RuleError
			if !errors.As(err, &re) {
				return nil, err
			}
			rule = ReplyRule{Code: re.Code, Reason: re.Reason}
		} else {
			rule.Tag = tag
		}
		switch ch {
		case ChannelWhatsApp:
			rule.WindowEndsAt = in.CreatedAt.Add(ServiceWindow).UTC()
		case ChannelWeChat:
			rule.WindowEndsAt = in.CreatedAt.Add(WeChatWindow).UTC()
		case ChannelMessenger, ChannelInstagram:
			rule.WindowEndsAt = in.CreatedAt.Add(HumanAgentSpan).UTC()
		}
		out[ch] = rule
	}
	return out, nil
}
