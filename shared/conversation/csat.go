package conversation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Customer care: the automatic messages (acknowledgement, out of hours,
// missed call, satisfaction survey) and the survey's answers. What to send
// and when is decided by the care package from the routing document; this
// file is what they are on the timeline and on the summary.

// What an automatic message (KindAuto) is for: Message.Auto.
const (
	AutoAck        = "ack"
	AutoOutOfHours = "out_of_hours"
	AutoMissedCall = "missed_call"
	AutoSurvey     = "csat_survey"
)

// KindCSAT is a customer's answer to a satisfaction survey: a score reply
// ("4", "5 thanks!") within the survey's window, or a survey link's click.
// It is recorded on the closed conversation (CSAT) without reopening it,
// and is quiet: never unread, never notified.
const KindCSAT = "csat"

// CSAT is a conversation's satisfaction score: the first answer to its
// survey (Key is that answer's message key).
type CSAT struct {
	Score   int       `json:"score" dynamodbav:"score"`
	Comment string    `json:"comment,omitempty" dynamodbav:"comment,omitempty"`
	Channel Channel   `json:"channel" dynamodbav:"channel,omitempty"`
	At      time.Time `json:"at" dynamodbav:"at"`
	Key     string    `json:"-" dynamodbav:"key"`
}

// MaxCSATComment bounds the comment the summary keeps (the whole answer is
// on the timeline).
const MaxCSATComment = 280

// ParseScore reads a survey answer: a score from 1 to 5 at the start of
// the text, alone or followed by a comment ("5", "4 - quick, thanks",
// "3/5"). "10", "4th", "2 items missing" with a letter right after the
// digit, or anything else is no score.
func ParseScore(body string) (score int, comment string, ok bool) {
	b := strings.TrimSpace(body)
	r, size := utf8.DecodeRuneInString(b)
	if size == 0 {
		return 0, "", false
	}
	// Full-width digits (Japanese and Chinese keyboards) count too.
	if r >= '１' && r <= '５' {
		r = '1' + (r - '１')
	}
	if r < '1' || r > '5' {
		return 0, "", false
	}
	rest := b[size:]
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, "/5"), "／５")
	if next, _ := utf8.DecodeRuneInString(rest); next != utf8.RuneError && (unicode.IsDigit(next) || unicode.IsLetter(next)) {
		return 0, "", false
	}
	comment = strings.TrimSpace(strings.TrimLeftFunc(rest, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(".,;:!-–—)", r)
	}))
	return int(r - '0'), comment, true
}

// surveyAnswer tells whether in, with no open conversation on its route,
// answers the survey of the conversation it last had: a score, within the
// survey's window, not answered yet. It costs a read only for a text that
// parses as a score.
func (s *Service) surveyAnswer(ctx context.Context, in Inbound, route Route, at time.Time) (Conversation, int, bool, error) {
	if route.ConversationID != "" || route.LastConversationID == "" || in.Kind != "" || in.Direction == DirectionOutbound {
		return Conversation{}, 0, false, nil
	}
	score, _, ok := ParseScore(in.Body)
	if !ok {
		return Conversation{}, 0, false, nil
	}
	c, err := s.Store.Summary(ctx, route.LastConversationID)
	if errors.Is(err, ErrNotFound) {
		return Conversation{}, 0, false, nil
	}
	if err != nil {
		return Conversation{}, 0, false, fmt.Errorf("read surveyed conversation: %w", err)
	}
	if c.Status != StatusClosed || c.CSAT != nil || !at.Before(c.SurveyUntil) {
		return Conversation{}, 0, false, nil
	}
	return c, score, true, nil
}

// ErrSurveyClosed: the survey's window has passed.
var ErrSurveyClosed = errors.New("the survey has closed")

// AnswerSurvey records a survey link's answer (GET /csat/{token}?score=N)
// on the conversation: once — the answer's key is the conversation's, so a
// second click, or an answer after a texted one, records nothing (false).
// ErrNotFound for an unknown conversation, ErrSurveyClosed after its window.
func (s *Service) AnswerSurvey(ctx context.Context, conversationID string, score int, channel Channel) (bool, error) {
	if score < 1 || score > 5 {
		return false, fmt.Errorf("%w: a score is 1 to 5", ErrInvalid)
	}
	c, err := s.Store.Summary(ctx, conversationID)
	if err != nil {
		return false, err
	}
	now := s.now().UTC()
	if c.CSAT != nil {
		return false, nil
	}
	if !now.Before(c.SurveyUntil) {
		return false, ErrSurveyClosed
	}
	m := Message{
		ID: s.newID("msg"), Key: "csat:link:" + c.ID, ConversationID: c.ID, ContactID: c.ContactID, Channel: channel,
		Direction: DirectionInbound, Kind: KindCSAT, Score: score, Body: strconv.Itoa(score), Provider: "csat",
		Status: "received", CreatedAt: now, ReceivedAt: now, Seq: now.UnixNano(),
	}
	err = s.Store.PutMessage(ctx, m)
	if errors.Is(err, ErrDuplicate) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("put survey answer: %w", err)
	}
	return true, nil
}

// applyCare folds what customer care keeps on the summary: a survey's
// window (a survey sent), the first answer's score.
func (c *Conversation) applyCare(m *Message) bool {
	switch {
	case m.Kind == KindCSAT && m.Direction == DirectionInbound && m.Score >= 1 && m.Score <= 5 && c.CSAT == nil:
		_, comment, _ := ParseScore(m.Body)
		if r := []rune(comment); len(r) > MaxCSATComment {
			comment = string(r[:MaxCSATComment])
		}
		c.CSAT = &CSAT{Score: m.Score, Comment: comment, Channel: m.Channel, At: m.CreatedAt, Key: m.Key}
		return true
	case m.Kind == KindAuto && m.Auto == AutoSurvey && m.ExpiresAt.After(c.SurveyUntil):
		c.SurveyUntil = m.ExpiresAt
		return true
	}
	return false
}

// AutoRequest is an automatic message to the customer (Service.AutoReply).
type AutoRequest struct {
	// Key makes it once: the same key never queues a second message.
	Key string
	// Auto says what it is for (AutoAck, …); Body what it says, given the
	// channel it goes on (a survey's text differs by channel).
	Auto string
	Body func(Channel) string
	// To is the customer's message it answers (its channel and
	// addresses); nil: the customer's latest message on the conversation.
	// A missed call is answered by SMS, from the number called.
	To *Message
	// ExpiresAt ends a survey's window.
	ExpiresAt time.Time
}

// AutoReply queues an automatic message to the customer through the
// outbox, as an agent's reply goes (one send, the channel's rules checked
// now and at send time: a blocked contact, an opted-out number, a closed
// WhatsApp window refuse it with a RuleError). It returns the message and
// whether it was queued now (false: the key was queued before).
func (s *Service) AutoReply(ctx context.Context, c Conversation, r AutoRequest) (Message, bool, error) {
	if prev, found, err := s.queued(ctx, c.ID, r.Key); err != nil || found {
		return prev, false, err
	}
	var in Message
	if r.To != nil {
		in = *r.To
	} else {
		var err error
		if in, err = s.latestInbound(ctx, c.ID, ""); err != nil {
			return Message{}, false, err
		}
	}
	if in.Kind == KindMissedCall {
		in.Channel, in.Provider = ChannelSMS, "twilio"
	}
	body := r.Body(in.Channel)
	if strings.TrimSpace(body) == "" {
		return Message{}, false, fmt.Errorf("%w: an automatic message needs a text", ErrInvalid)
	}
	m := s.addressed(c, in, r.Key, body)
	m.Kind, m.Auto, m.ExpiresAt = KindAuto, r.Auto, r.ExpiresAt
	var err error
	if m.Tag, err = s.checkNow(ctx, m, in.CreatedAt); err != nil {
		return Message{}, false, err
	}
	return s.queueOnce(ctx, m, func(prev Message) (Message, bool, error) { return prev, false, nil })
}

// addressed is an outbound message on c answering the customer's message
// in: on its channel, from the address they wrote to, to theirs, after it
// on the timeline; queued.
func (s *Service) addressed(c Conversation, in Message, key, body string) Message {
	now := s.now().UTC()
	m := Message{
		ID: s.newID("msg"), Key: key, ConversationID: c.ID, ContactID: c.ContactID, Channel: in.Channel,
		Direction: DirectionOutbound, From: in.To, To: in.From, Body: body, Provider: in.Provider, Account: in.Account,
		Status: StatusQueued, Identity: in.Identity, CreatedAt: now, ReceivedAt: now, Seq: now.UnixNano(),
		StatusHistory: []StatusChange{{Status: StatusQueued, At: now}},
	}
	answering(&m, in)
	if in.Channel == ChannelTelegram || in.Channel == ChannelLINE { // to the chat the customer wrote in (theirs, in a private chat)
		m.From, m.To = "", in.To
	}
	if in.Channel == ChannelEmail {
		m.Subject = ReplySubject(in.Subject)
		m.ReplyToRef = in.ProviderMessageID // In-Reply-To
	}
	return m
}

// Attended reports whether an agent did anything on the conversation at
// or after since — a reply, a note, an assignment, a close: any entry an
// agent made (escalation's test, with the summary's unread count for a
// read).
func (s *Service) Attended(ctx context.Context, conversationID string, since time.Time) (bool, error) {
	found := false
	err := s.newestFirst(ctx, conversationID, func(m Message) bool {
		if m.CreatedAt.Before(since) {
			return false
		}
		if m.Agent != "" {
			found = true
			return false
		}
		return true
	})
	return found, err
}
