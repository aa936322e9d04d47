// Package care is what Switchboard does for a customer on its own, after
// their message is stored (DESIGN.md section 5c): the automatic replies in
// their language — the acknowledgement, the out-of-hours reply with the
// team's next opening, the missed-call text —, the satisfaction survey at
// close, and the escalation of a customer nobody answered in time.
//
// Every automatic message is an outbound message written queued, and goes
// out through the one outbox as an agent's reply does (the same senders,
// channel rules, retries and statuses); its key makes it once, whatever the
// stream redelivers. Everything due later is a durable timer that the
// sweeper fires (conversation.Timer). The fan-out calls After for each
// projected message; the sweeper calls Fire for the timers set here.
package care

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/lang"
	"github.com/switchboard/switchboard/shared/outbox"
	"github.com/switchboard/switchboard/shared/routing"
)

// Automation decides and queues the automatic messages, and sets and fires
// the escalation and survey timers.
type Automation struct {
	Routing *routing.Config
	Service *conversation.Service
	// Timers keeps the timers set here (the store).
	Timers conversation.TimerWriter
	// Queue carries escalation notifications (the notify queue); nil: the
	// sweeper that fires them has none, and escalations fail loudly.
	Queue outbox.Queue
	// AckText is ACK_TEXT: the acknowledgement when the routing document
	// has none for the language (email: email.ack, if set).
	AckText string
	// PublicBaseURL makes the survey links (PUBLIC_BASE_URL/csat/{token}).
	PublicBaseURL string
	Log           *slog.Logger
}

// After does what a projected message calls for (stream.Care): a close
// may send a survey; a customer's message that opened a notification
// window gets at most one automatic reply and starts the escalation clock.
// A message inside a window, a quiet one (automated mail, a reaction, a
// blocked contact's, a survey's answer) never opens one, so it gets
// neither.
func (a *Automation) After(ctx context.Context, conv conversation.Conversation, m conversation.Message) error {
	if m.Kind == conversation.KindEvent && m.Event == conversation.EventClosed {
		return a.closed(ctx, conv)
	}
	if m.Direction != conversation.DirectionInbound || conv.NotifyKey != m.Key || !answerable(m) {
		return nil
	}
	team := a.Routing.TeamFor(conv, m)
	if d := team.EscalateAfterDuration(); d > 0 {
		t := conversation.Timer{Due: m.CreatedAt.Add(d), Kind: conversation.TimerEscalate, ConversationID: conv.ID, Ref: m.Key}
		if err := a.Timers.PutTimer(ctx, t); err != nil {
			return fmt.Errorf("set escalation timer: %w", err)
		}
	}
	return a.autoReply(ctx, conv, m, team)
}

// answerable: a person wrote it, and may be answered automatically — not
// a consent keyword (STOP), not mail whose sender is unproven (a reply
// would be backscatter), not an address no person reads.
func answerable(m conversation.Message) bool {
	if m.OptOut != conversation.OptOutNone || m.UnverifiedSender {
		return false
	}
	id := m.Identity
	switch id.Kind {
	case conversation.KindPhone:
		return strings.HasPrefix(id.Address, "+") // short codes and alphanumeric senders are machines
	case conversation.KindEmail:
		local, _, _ := strings.Cut(strings.ToLower(id.Address), "@")
		for _, robot := range []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "mailer-daemon", "postmaster", "bounce", "notifications"} {
			if local == robot || strings.HasPrefix(local, robot+"+") || strings.HasPrefix(local, robot+"-") {
				return false
			}
		}
	}
	return true
}

// autoReply sends one automatic reply to m, the message that opened a
// window: the missed-call text to a missed call; while the team is closed,
// the out-of-hours reply (once per closed spell: its key is the next
// opening); else, if m opened the conversation, the acknowledgement.
func (a *Automation) autoReply(ctx context.Context, conv conversation.Conversation, m conversation.Message, team *routing.Team) error {
	rt := a.Routing
	language := a.language(ctx, conv, m, team)
	req := conversation.AutoRequest{To: &m}
	var text string
	switch {
	case m.Kind == conversation.KindMissedCall || m.Kind == conversation.KindVoicemail:
		if m.Identity.Kind != conversation.KindPhone || m.Kind == conversation.KindVoicemail && conv.OpenedBy != m.Key {
			return nil
		}
		if text, _, _ = rt.Text(rt.AutoReplies.MissedCall, language); text == "" {
			text = rt.Voice.MissedCallSMS
		}
		req.Key, req.Auto = "auto:missed:"+m.Key, conversation.AutoMissedCall
	case !team.Open(m.CreatedAt) && len(rt.AutoReplies.OutOfHours) > 0:
		opens := team.NextOpen(m.CreatedAt)
		t, _, _ := rt.Text(rt.AutoReplies.OutOfHours, language)
		text = routing.Fill(t, opens)
		req.Key, req.Auto = "auto:closed:"+conv.ID+":"+strconv.FormatInt(opens.Unix(), 10), conversation.AutoOutOfHours
	case conv.OpenedBy == m.Key:
		text, _, _ = rt.Text(rt.AutoReplies.Ack, language)
		switch {
		case text != "":
		case m.Channel == conversation.ChannelEmail && rt.Email.Ack != "":
			text = rt.Email.Ack
		default:
			text = a.AckText
		}
		req.Key, req.Auto = "auto:ack:"+m.Key, conversation.AutoAck
	}
	if text == "" {
		return nil
	}
	req.Body = func(conversation.Channel) string { return text }
	return a.send(ctx, conv, req)
}

// send queues an automatic message; a channel rule's refusal (blocked,
// opted out, a closed window, no sender) or no address is no error: the
// message is not for sending, and the stream must not retry it.
func (a *Automation) send(ctx context.Context, conv conversation.Conversation, req conversation.AutoRequest) error {
	m, queued, err := a.Service.AutoReply(ctx, conv, req)
	var rule *conversation.RuleError
	if errors.As(err, &rule) || errors.Is(err, conversation.ErrNoAddress) {
		code := "no_address"
		if rule != nil {
			code = rule.Code
		}
		a.log().LogAttrs(ctx, slog.LevelInfo, "care.auto", slog.String("outcome", "skipped"), slog.String("auto", req.Auto),
			slog.String("conversation", conv.ID), slog.String("code", code))
		return nil
	}
	if err != nil {
		return fmt.Errorf("queue %s: %w", req.Auto, err)
	}
	outcome := "queued"
	if !queued {
		outcome = "already_queued"
	}
	a.log().LogAttrs(ctx, slog.LevelInfo, "care.auto", slog.String("outcome", outcome), slog.String("auto", req.Auto),
		slog.String("conversation", conv.ID), slog.String("message", m.ID), slog.String("channel", string(m.Channel)))
	return nil
}

// language is the customer's: the contact's (an agent's choice, a
// channel's profile), else detected from m (and kept on the contact, so
// the agents see it and later replies agree), else the team's.
func (a *Automation) language(ctx context.Context, conv conversation.Conversation, m conversation.Message, team *routing.Team) string {
	c, err := a.Service.Store.Contact(ctx, conv.ContactID)
	if err == nil && c.Language != "" {
		return c.Language
	}
	code, ok := lang.Detect(m.Body)
	if !ok {
		return a.Routing.Language(team)
	}
	if err == nil {
		if _, err := a.Service.UpdateContact(ctx, c.ID, conversation.ContactPatch{Language: &code}); err != nil {
			a.log().LogAttrs(ctx, slog.LevelWarn, "care.language", slog.String("outcome", "not_kept"),
				slog.String("contact", c.ID), slog.String("error", err.Error()))
		}
	}
	return code
}

// Fire fires the timers this package sets (conversation.Service.Timers).
func (a *Automation) Fire() map[string]func(context.Context, conversation.Timer) error {
	return map[string]func(context.Context, conversation.Timer) error{
		conversation.TimerEscalate: a.escalate,
		conversation.TimerSurvey:   a.delayedSurvey,
	}
}

// escalate tells the team's escalation target of a customer still waiting
// on the message t names: unless the conversation is no longer open, was
// read (nothing unread) or an agent did anything on it since that message
// (a reply, a note, an assignment). The jobs' ids are the escalation's, so
// a timer fired twice notifies once (the notifier's claim).
func (a *Automation) escalate(ctx context.Context, t conversation.Timer) error {
	st := a.Service.Store
	conv, err := st.Summary(ctx, t.ConversationID)
	if errors.Is(err, conversation.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read conversation: %w", err)
	}
	if conv.Status != conversation.StatusOpen || conv.Unread == 0 {
		return a.escalation(ctx, conv, "answered", 0)
	}
	waiting, err := st.Message(ctx, conv.ID, t.Ref)
	if errors.Is(err, conversation.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read waiting message: %w", err)
	}
	attended, err := a.Service.Attended(ctx, conv.ID, waiting.CreatedAt)
	if err != nil {
		return fmt.Errorf("read timeline: %w", err)
	}
	if attended {
		return a.escalation(ctx, conv, "attended", 0)
	}
	team := a.Routing.TeamFor(conv, waiting)
	agents, phone := a.Routing.Escalation(team)
	window := "escalate:" + t.Ref
	var jobs []outbox.Job
	job := func(agent string, s routing.Sink) outbox.Job {
		return outbox.Job{ID: outbox.JobID(conv.ID, window, agent, s), ConversationID: conv.ID, ContactID: conv.ContactID,
			Channel: string(waiting.Channel), WindowKey: window, Agent: agent, Reason: routing.ReasonEscalated, Sink: s,
			MessageAt: waiting.ArrivedAt()}
	}
	for _, r := range agents {
		for _, s := range r.Agent.Sinks {
			jobs = append(jobs, job(r.Agent.ID, s))
		}
	}
	if phone != "" {
		jobs = append(jobs, job(OnCall, routing.Sink{Type: routing.SinkSMS, To: phone}))
	}
	if len(jobs) == 0 {
		return a.escalation(ctx, conv, "no_target", 0)
	}
	if a.Queue == nil {
		return errors.New("escalation: no notify queue configured (NOTIFY_QUEUE_URL)")
	}
	if err := a.Queue.Send(ctx, jobs); err != nil {
		return fmt.Errorf("queue escalation: %w", err)
	}
	return a.escalation(ctx, conv, "queued", len(jobs))
}

// OnCall is the agent an escalation to a phone is addressed to.
const OnCall = "on-call"

func (a *Automation) escalation(ctx context.Context, conv conversation.Conversation, outcome string, jobs int) error {
	a.log().LogAttrs(ctx, slog.LevelInfo, "care.escalate", slog.String("outcome", outcome),
		slog.String("conversation", conv.ID), slog.String("team", conv.Team), slog.Int("jobs", jobs))
	return nil
}

func (a *Automation) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}
