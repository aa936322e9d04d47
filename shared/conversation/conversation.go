package conversation

import (
	"hash/fnv"
	"slices"
	"sort"
	"strings"
	"time"
)

// Channel is how a message travelled.
type Channel string

// The channels Switchboard receives.
const (
	ChannelSMS       Channel = "sms"
	ChannelWhatsApp  Channel = "whatsapp"
	ChannelVoice     Channel = "voice"
	ChannelEmail     Channel = "email"
	ChannelMessenger Channel = "messenger"
	ChannelInstagram Channel = "instagram"
	ChannelTelegram  Channel = "telegram"
	ChannelLINE      Channel = "line"
	ChannelX         Channel = "x"
	ChannelWeChat    Channel = "wechat"
	ChannelWebchat   Channel = "webchat"
)

// Direction says whether the customer or the business sent a message.
type Direction string

// The two directions.
const (
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
)

// Status of a conversation.
const (
	StatusOpen   = "open"
	StatusClosed = "closed"
)

// OptOut is a customer's messaging consent keyword (Twilio Advanced Opt-Out).
type OptOut string

// The consent keywords Twilio reports in OptOutType.
const (
	OptOutNone  OptOut = ""
	OptOutStop  OptOut = "stop"
	OptOutStart OptOut = "start"
	OptOutHelp  OptOut = "help"
)

// Contact is a person who reached the business on one or more identities.
type Contact struct {
	ID       string `json:"id" dynamodbav:"contactId"`
	Name     string `json:"name,omitempty" dynamodbav:"name,omitempty"`
	Language string `json:"language,omitempty" dynamodbav:"language,omitempty"`
	// Email is an address the person gave (a web chat visitor's pre-chat
	// email): contact data for an offline answer, never a link to the
	// contact an email identity of that address belongs to.
	Email string `json:"email,omitempty" dynamodbav:"email,omitempty"`
	// Blocked contacts' messages are stored quietly and notify no one; their
	// calls are rejected.
	Blocked         bool       `json:"blocked" dynamodbav:"blocked,omitempty"`
	Identities      []Identity `json:"-" dynamodbav:"identities"`
	ConversationIDs []string   `json:"conversationIds" dynamodbav:"conversationIds"`
	CreatedAt       time.Time  `json:"createdAt" dynamodbav:"createdAt"`
	// MergedInto is the contact this one was merged into: its identities
	// and conversations are that one's now.
	MergedInto string `json:"mergedInto,omitempty" dynamodbav:"mergedInto,omitempty"`
	// MergedFrom are the contacts merged into this one (an export or an
	// erasure covers them too).
	MergedFrom []string `json:"mergedFrom,omitempty" dynamodbav:"mergedFrom,omitempty"`
}

// IdentityState is what Switchboard knows of one identity beyond its contact:
// the consent state that outbound senders must respect.
type IdentityState struct {
	Identity
	ContactID string    `json:"-"`
	OptedOut  bool      `json:"optedOut"`
	OptOutAt  time.Time `json:"optOutAt,omitzero"`
}

// Conversation is one thread of contact between a customer and the business,
// across every channel. A contact has at most one open conversation.
type Conversation struct {
	ID        string    `json:"id" dynamodbav:"conversationId"`
	ContactID string    `json:"contactId" dynamodbav:"contactId"`
	Status    string    `json:"status" dynamodbav:"status,omitempty"`
	Team      string    `json:"team" dynamodbav:"team,omitempty"`
	Assignee  string    `json:"assignee,omitempty" dynamodbav:"assignee,omitempty"`
	Channels  []Channel `json:"channels" dynamodbav:"channels,stringset,omitempty"`
	// Channel is the channel it opened on (its reports' channel).
	Channel       Channel   `json:"channel,omitempty" dynamodbav:"channel,omitempty"`
	OpenedBy      string    `json:"-" dynamodbav:"openedBy,omitempty"`
	CreatedAt     time.Time `json:"createdAt" dynamodbav:"createdAt"`
	LastMessageAt time.Time `json:"lastMessageAt,omitzero" dynamodbav:"lastMessageAt,omitempty"`
	LastPreview   string    `json:"lastPreview,omitempty" dynamodbav:"lastPreview,omitempty"`
	// ActiveAt is when Switchboard last saw the conversation move (a
	// message, its opening, a status change): its place in the inbox (see
	// ActivityKey).
	ActiveAt time.Time `json:"activeAt" dynamodbav:"activeAt"`
	// Unread is how many inbound messages arrived after the last outbound
	// one: the size of UnreadCursors, a set so that re-applying a message
	// cannot count it twice.
	Unread         int      `json:"unread" dynamodbav:"unreadCount"`
	UnreadCursors  []string `json:"-" dynamodbav:"unread,stringset,omitempty"`
	UnreadOverflow int      `json:"-" dynamodbav:"unreadOverflow,omitempty"`
	// NotifyKey is the key of the message that opened the current
	// notification window, which ends at NotifyUntil: agents are notified
	// once per window, when it closes (see Apply).
	NotifyKey   string    `json:"-" dynamodbav:"notifyKey,omitempty"`
	NotifyUntil time.Time `json:"-" dynamodbav:"notifyUntil,omitempty"`
	// SnoozeUntil is when a snoozed conversation wakes (zero: when the
	// customer writes). ClosedAt and ClosedBy say when and by whom it was
	// closed; ReopenCount how often it was reopened since.
	SnoozeUntil time.Time `json:"snoozeUntil,omitzero" dynamodbav:"snoozeUntil,omitempty"`
	ClosedAt    time.Time `json:"closedAt,omitzero" dynamodbav:"closedAt,omitempty"`
	// FirstResponseAt is when an agent first replied (an outbound message
	// that is not automatic; a note does not count).
	FirstResponseAt time.Time `json:"firstResponseAt,omitzero" dynamodbav:"firstResponseAt,omitempty"`
	ClosedBy        string    `json:"closedBy,omitempty" dynamodbav:"closedBy,omitempty"`
	ReopenCount     int       `json:"reopenCount,omitempty" dynamodbav:"reopenCount,omitempty"`
	// MergedInto is the conversation a merge of contacts closed this one
	// into; a message that still lands here moves there.
	MergedInto string `json:"mergedInto,omitempty" dynamodbav:"mergedInto,omitempty"`
	// Labels and Priority are free-form, set by agents.
	Labels   []string `json:"labels" dynamodbav:"labels,stringset,omitempty"`
	Priority string   `json:"priority,omitempty" dynamodbav:"priority,omitempty"`
	// Version increases with every write of the summary (optimistic
	// concurrency for stores that read, apply and write back).
	Version int64 `json:"-" dynamodbav:"version"`
	// Cursor is the position of the last message applied to this summary
	// (see [Message.Cursor]); it makes projection idempotent.
	Cursor string `json:"-" dynamodbav:"cursor,omitempty"`
	// ReadCursor is the cursor of the last outbound message.
	ReadCursor string `json:"-" dynamodbav:"readCursor,omitempty"`
	// SurveyUntil ends the window of the satisfaction survey sent at its
	// close (a score reply before it is its CSAT); CSAT is the first answer.
	SurveyUntil time.Time `json:"surveyUntil,omitzero" dynamodbav:"surveyUntil,omitempty"`
	CSAT        *CSAT     `json:"csat,omitempty" dynamodbav:"csat,omitempty"`
}

// MaxUnreadTracked bounds the unread cursors a summary keeps; older unread
// messages are only counted (UnreadOverflow). It keeps the summary item under
// 1 KB, so that a projection costs one write unit however long a customer
// waits (BenchmarkDynamoDBPerMessage: with the inbox's activity key, 10 of
// the 30-byte cursors do; 12 cost 2 units once the customer wrote 12 times).
const MaxUnreadTracked = 10

// Apply folds message m into the summary and reports whether anything
// changed. The last-message fields (LastMessageAt, LastPreview) follow the
// newest message that is not quiet: an out-of-office reply, a junk verdict,
// a reaction or an automatic reply of ours never becomes the inbox's
// preview nor moves the conversation up. Applying a message twice, or messages out of order, ends the same:
// channels and unread cursors are sets, and the last-message fields and the
// read mark move only forward, by [Message.Cursor]. An inbound message is
// unread unless an outbound message (an agent's reply) came after it. When
// more than MaxUnreadTracked are unread, the oldest are only counted, and a
// message older than every tracked one is taken as already applied (it can
// only be a redelivery, or one overtaken by more than MaxUnreadTracked newer
// messages). It is the one definition of the summary: both stores read,
// apply and write back.
//
// The customer's message wakes a snoozed conversation. An agent's event or
// note changes nothing here. An unread inbound message at or after the end
// of the notification window, on an open conversation, opens a new window
// of length window: it becomes NotifyKey, and its stream
// record is the one that notifies agents (of every message in the window).
// An agent's reply closes the window, so the next message notifies at once.
// Whether a message opened a window is read off the summary (NotifyKey ==
// m.Key), so a redelivered record tells the same.
func (c *Conversation) Apply(m *Message, window time.Duration) bool {
	if m.Kind == KindEvent || m.Kind == KindNote {
		return false // an agent's action or note: the timeline's, not the summary's
	}
	cur := m.Cursor()
	slices.Sort(c.UnreadCursors)
	changed := c.applyCare(m)
	if c.Status == StatusSnoozed && m.Direction == DirectionInbound && !m.Quiet() {
		// The customer writing wakes a snoozed conversation at once.
		c.Status, c.SnoozeUntil = StatusOpen, time.Time{}
		changed = true
	}
	if !slices.Contains(c.Channels, m.Channel) {
		c.Channels = append(c.Channels, m.Channel)
		slices.Sort(c.Channels)
		changed = true
	}
	switch {
	case m.Direction == DirectionInbound && m.Quiet():
		// A ringing call, an auto-reply, junk, a reaction: on the timeline,
		// waiting on no one, and not the inbox's latest activity either.
		c.Unread = len(c.UnreadCursors) + c.UnreadOverflow
		return changed
	case m.Direction == DirectionInbound:
		full := len(c.UnreadCursors) >= MaxUnreadTracked
		if cur > c.ReadCursor && !slices.Contains(c.UnreadCursors, cur) && !(full && cur < c.UnreadCursors[0]) {
			c.UnreadCursors = append(c.UnreadCursors, cur)
			slices.Sort(c.UnreadCursors)
			if len(c.UnreadCursors) > MaxUnreadTracked {
				c.UnreadCursors = c.UnreadCursors[1:]
				c.UnreadOverflow++
			}
			// A closed or snoozed conversation notifies no one (a message
			// projected after the close it raced with).
			if !m.CreatedAt.Before(c.NotifyUntil) && c.Status != StatusClosed && c.Status != StatusSnoozed {
				c.NotifyKey, c.NotifyUntil = m.Key, m.CreatedAt.Add(window)
			}
			changed = true
		}
	case m.Direction == DirectionOutbound && m.Kind == KindAuto:
		// The system spoke, not an agent: nothing read, nothing answered,
		// and the inbox still shows what the customer said.
		return changed
	case m.Direction == DirectionOutbound:
		if c.FirstResponseAt.IsZero() || m.CreatedAt.Before(c.FirstResponseAt) {
			c.FirstResponseAt = m.CreatedAt // an agent's first reply (a note is no reply)
			changed = true
		}
		if cur > c.ReadCursor {
			c.ReadCursor = cur
			if len(c.UnreadCursors) == 0 || cur > c.UnreadCursors[0] {
				c.UnreadOverflow = 0 // every overflowed cursor is older than the oldest tracked
			}
			c.UnreadCursors = slices.DeleteFunc(c.UnreadCursors, func(u string) bool { return u < cur })
			if m.CreatedAt.After(c.NotifyUntil) || len(c.UnreadCursors) == 0 {
				c.NotifyUntil = time.Time{}
			}
			changed = true
		}
	}
	if cur > c.Cursor {
		c.Cursor = cur
		c.LastMessageAt = m.CreatedAt
		c.LastPreview = m.Preview()
		changed = true
	}
	c.Unread = len(c.UnreadCursors) + c.UnreadOverflow
	return changed
}

// Media is one attachment of a message. URL is where the provider has it
// (a Twilio or Meta URL, "telegram:file/<id>", or "email:<n>", the n-th
// attachment of the raw email in Message.Source); the media pipeline copies
// it to the media bucket and sets Key, Size, SHA256 and Status.
type Media struct {
	URL         string `json:"url" dynamodbav:"url,omitempty"`
	ContentType string `json:"contentType" dynamodbav:"contentType,omitempty"`
	Size        int64  `json:"size,omitempty" dynamodbav:"size,omitempty"`
	Filename    string `json:"filename,omitempty" dynamodbav:"filename,omitempty"`
	// Key is the object key in MEDIA_BUCKET once copied.
	Key string `json:"key,omitempty" dynamodbav:"key,omitempty"`
	// SHA256 is the hex checksum of the copied bytes.
	SHA256 string `json:"sha256,omitempty" dynamodbav:"sha256,omitempty"`
	// Status is MediaPending until the pipeline stored the media
	// (MediaStored), or gave up on it for now (MediaFailed, with Error).
	Status string `json:"status,omitempty" dynamodbav:"status,omitempty"`
	Error  string `json:"error,omitempty" dynamodbav:"error,omitempty"`
}

// Media statuses.
const (
	MediaPending = "pending"
	MediaStored  = "stored"
	MediaFailed  = "failed"
)

// RetryPrefix starts a media Error that a later attempt may not share (a
// timeout, a 5xx); any other Error is final (a refused host, too large).
const RetryPrefix = "will retry: "

// Retryable reports whether a failed medium is worth another attempt.
func (m Media) Retryable() bool { return strings.HasPrefix(m.Error, RetryPrefix) }

// PendingMedia reports whether any of m's media is waiting for the pipeline.
func (m *Message) PendingMedia() bool { return AnyPending(m.Media) }

// AnyPending reports whether any of media is waiting for the pipeline.
func AnyPending(media []Media) bool {
	return slices.ContainsFunc(media, func(md Media) bool { return md.Status == "" || md.Status == MediaPending })
}

// Kinds of timeline entry besides a plain message (the zero Kind).
const (
	// KindCall is an incoming call as it rings; it is neither unread nor
	// notified (agents are being dialed).
	KindCall = "call"
	// KindMissedCall is a call nobody answered; it notifies.
	KindMissedCall = "missed_call"
	// KindVoicemail is a recording the caller left; it notifies.
	KindVoicemail = "voicemail"
	// KindAuto is an outbound message the system sent on its own (an
	// acknowledgement, an out-of-hours reply, the missed-call SMS, a
	// satisfaction survey: Message.Auto says which): on the timeline, but
	// not an agent's reply, so the customer is still waiting.
	KindAuto = "auto"
	// KindAutomated is inbound mail no person wrote (an out-of-office reply,
	// a bounce, a mailing list; Message.Reason says which): on the timeline,
	// never unread, notified or acknowledged, so no two robots talk.
	KindAutomated = "automated"
	// KindJunk is inbound mail the receiving service judged spam or a virus
	// (Reason says which): kept, never notified or acknowledged.
	KindJunk = "junk"
	// KindReaction is a customer's emoji reaction to a message (ReactsTo),
	// or its removal: on the timeline, never unread or notified.
	KindReaction = "reaction"
	// KindSystem is something the channel reported about the customer
	// rather than a message (LINE's follow, unfollow, unsend; WeChat's
	// subscribe): on the timeline, never unread or notified.
	KindSystem = "system"
	// KindUnsupported is something a customer sent that no mapping reads
	// yet (ProviderType names it): stored with a readable body, never
	// dropped, and it notifies like any message.
	KindUnsupported = "unsupported"
)

// Quiet reports whether m joins the timeline without waiting on anyone: a
// ringing call, automated mail, junk, a reaction, a survey's answer,
// anything from a blocked contact.
func (m *Message) Quiet() bool {
	return m.Blocked || m.Kind == KindCall || m.Kind == KindAutomated || m.Kind == KindJunk || m.Kind == KindReaction || m.Kind == KindSystem || m.Kind == KindCSAT
}

// Message is one entry on a conversation's timeline.
type Message struct {
	ID                string    `json:"id" dynamodbav:"messageId"`
	Key               string    `json:"-" dynamodbav:"key"`
	ConversationID    string    `json:"conversationId" dynamodbav:"conversationId"`
	ContactID         string    `json:"contactId" dynamodbav:"contactId"`
	Channel           Channel   `json:"channel" dynamodbav:"channel,omitempty"`
	Direction         Direction `json:"direction" dynamodbav:"direction,omitempty"`
	From              string    `json:"from" dynamodbav:"from,omitempty"`
	To                string    `json:"to" dynamodbav:"to,omitempty"`
	Body              string    `json:"body" dynamodbav:"body,omitempty"`
	Media             []Media   `json:"media" dynamodbav:"media,omitempty"`
	Provider          string    `json:"provider" dynamodbav:"provider,omitempty"`
	ProviderMessageID string    `json:"providerMessageId" dynamodbav:"providerMessageId,omitempty"`
	Status            string    `json:"status" dynamodbav:"status,omitempty"`
	ErrorCode         string    `json:"errorCode,omitempty" dynamodbav:"errorCode,omitempty"`
	// StatusHistory is every status an outbound message went through, in
	// order (queued, sent, delivered, read; or failed).
	StatusHistory []StatusChange `json:"statusHistory,omitempty" dynamodbav:"statusHistory,omitempty"`
	// Tag is the Meta message tag an agent's late reply goes with
	// (TagHumanAgent).
	Tag string `json:"tag,omitempty" dynamodbav:"tag,omitempty"`
	// Template is the WhatsApp template an agent's reply was sent as.
	Template *TemplateUse `json:"template,omitempty" dynamodbav:"template,omitempty"`
	// Account is the business's endpoint as the provider names it, when To
	// (or a reply's From) is not it: WhatsApp Cloud's phone_number_id.
	Account   string    `json:"-" dynamodbav:"account,omitempty"`
	OptOut    OptOut    `json:"optOut,omitempty" dynamodbav:"optOut,omitempty"`
	CreatedAt time.Time `json:"createdAt" dynamodbav:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt,omitzero" dynamodbav:"updatedAt,omitempty"`
	// Kind is "" for a message, or one of the Kind constants (a call, a
	// voicemail, automated mail, a reaction, something unsupported, …).
	Kind string `json:"kind,omitempty" dynamodbav:"kind,omitempty"`
	// Unsent: the customer took the message back (LINE's unsend); the API
	// shows the fact, not the body or the media.
	Unsent bool `json:"unsent,omitempty" dynamodbav:"unsent,omitempty"`
	// AgentPhone is the number an agent's callback rang first (Twilio
	// bridges to the customer, To, when the agent answers).
	AgentPhone string `json:"agentPhone,omitempty" dynamodbav:"agentPhone,omitempty"`
	// DurationSeconds of a call or a voicemail.
	DurationSeconds int `json:"durationSeconds,omitempty" dynamodbav:"durationSeconds,omitempty"`
	// Transcript of a voicemail, and how its transcription went
	// (completed, failed).
	Transcript       string `json:"transcript,omitempty" dynamodbav:"transcript,omitempty"`
	TranscriptStatus string `json:"transcriptStatus,omitempty" dynamodbav:"transcriptStatus,omitempty"`
	// EditedAt is when the customer last edited the message; OriginalBody
	// is what it said before the first edit.
	EditedAt     time.Time `json:"editedAt,omitzero" dynamodbav:"editedAt,omitempty"`
	OriginalBody string    `json:"originalBody,omitempty" dynamodbav:"originalBody,omitempty"`
	// Subject of an email.
	Subject string `json:"subject,omitempty" dynamodbav:"subject,omitempty"`
	// FullBody is an email's whole text, quoted history included, when Body
	// is only the new part of a reply.
	FullBody string `json:"fullBody,omitempty" dynamodbav:"fullBody,omitempty"`
	// Source is where the raw event is kept ("s3://bucket/key" for an
	// email), for the media pipeline and for replay.
	Source string `json:"source,omitempty" dynamodbav:"source,omitempty"`
	// Auto says what a KindAuto message is for (AutoAck, AutoSurvey, …);
	// ExpiresAt ends a survey's window. Score is a KindCSAT answer's.
	Auto      string    `json:"auto,omitempty" dynamodbav:"auto,omitempty"`
	ExpiresAt time.Time `json:"-" dynamodbav:"expiresAt,omitempty"`
	Score     int       `json:"score,omitempty" dynamodbav:"score,omitempty"`
	// Reason says why a message is KindAutomated or KindJunk.
	Reason string `json:"reason,omitempty" dynamodbav:"reason,omitempty"`
	// Event names a KindEvent entry's action (EventClosed, …); Agent is
	// who did it, or who wrote a KindNote.
	Event string `json:"event,omitempty" dynamodbav:"event,omitempty"`
	Agent string `json:"agent,omitempty" dynamodbav:"agent,omitempty"`
	// ProviderType is the provider's name for what a KindUnsupported
	// message was ("poll", "order").
	ProviderType string `json:"providerType,omitempty" dynamodbav:"providerType,omitempty"`
	// Blocked: the contact was blocked when it arrived (stored, quiet).
	Blocked bool `json:"blocked,omitempty" dynamodbav:"blocked,omitempty"`
	// UnverifiedSender marks mail whose From the receiving service could not
	// authenticate (no DMARC pass, nor an aligned SPF or DKIM pass): stored
	// on the sender's conversation, never threaded, acknowledged or taken as
	// the customer's word for anything automated.
	UnverifiedSender bool `json:"unverifiedSender,omitempty" dynamodbav:"unverifiedSender,omitempty"`
	// ReactsToRef and ReplyToRef are the provider message ids (same
	// provider) a reaction or a reply refers to, as the provider named them;
	// ReactsTo and ReplyTo are the ids of those messages on the timeline,
	// filled in for readers by [ResolveRefs].
	ReactsToRef string `json:"-" dynamodbav:"reactsToRef,omitempty"`
	ReplyToRef  string `json:"-" dynamodbav:"replyToRef,omitempty"`
	ReactsTo    string `json:"reactsTo,omitempty" dynamodbav:"-"`
	ReplyTo     string `json:"replyTo,omitempty" dynamodbav:"-"`
	// ReceivedAt is when Switchboard received the event (CreatedAt is the
	// provider's own time when it gives one). Seq orders messages of the same
	// CreatedAt: the provider's own sequence (Telegram's update_id) or the
	// arrival order (the receive time in nanoseconds, plus the position in
	// a batch).
	ReceivedAt time.Time `json:"receivedAt,omitzero" dynamodbav:"receivedAt,omitempty"`
	Seq        int64     `json:"-" dynamodbav:"seq,omitempty"`

	// Identity is the customer's normalized identity, whichever direction.
	Identity Identity `json:"-" dynamodbav:"identity,omitempty"`
	// ProfileName is the name the channel reported for the sender; set only
	// when the contact had no name yet, so projection names the contact.
	ProfileName string `json:"-" dynamodbav:"profileName,omitempty"`
}

// Cursor orders messages within a conversation as the customer sent them:
// creation time, then Seq (the provider's sequence or the arrival order:
// providers that stamp whole seconds deliver bursts with equal times), and
// only last a hash of the key, so that two messages never share a cursor.
// It is what the summary keeps of each message it tracks (the newest, the
// last outbound, the unread set), so it is short: 13 base-36 digits of Unix
// nanoseconds, 13 of Seq and 4 of FNV-1a of the key, 30 bytes that sort as
// (time, seq) do.
func (m *Message) Cursor() string {
	var b [30]byte
	putBase36(b[:13], uint64(max(m.CreatedAt.UnixNano(), 0)))
	putBase36(b[13:26], uint64(max(m.Seq, 0)))
	h := fnv.New32a()
	h.Write([]byte(m.Key))
	putBase36(b[26:], uint64(h.Sum32())%(36*36*36*36))
	return string(b[:])
}

// ArrivedAt is when the message reached Switchboard, for latency: its
// CreatedAt, unless the provider's timestamp lies after the receive time or
// more than a day before it (a clock gone wrong, a replayed sample), then
// the receive time.
func (m *Message) ArrivedAt() time.Time {
	if m.ReceivedAt.IsZero() || (!m.CreatedAt.After(m.ReceivedAt) && m.ReceivedAt.Sub(m.CreatedAt) <= 24*time.Hour) {
		return m.CreatedAt
	}
	return m.ReceivedAt
}

// ResolveRefs fills ReactsTo and ReplyTo of the messages of one timeline
// with the ids of the messages their provider references name.
func ResolveRefs(ms []Message) {
	byRef := make(map[string]string, len(ms))
	for _, m := range ms {
		if m.ProviderMessageID != "" {
			byRef[m.Provider+"\x00"+m.ProviderMessageID] = m.ID
		}
	}
	for i := range ms {
		if r := ms[i].ReactsToRef; r != "" {
			ms[i].ReactsTo = byRef[ms[i].Provider+"\x00"+r]
		}
		if r := ms[i].ReplyToRef; r != "" {
			ms[i].ReplyTo = byRef[ms[i].Provider+"\x00"+r]
		}
	}
}

// putBase36 writes v in base 36 into dst, zero-padded; dst must be wide
// enough (13 digits hold any int64, 7 any uint32).
func putBase36(dst []byte, v uint64) {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = digits[v%36]
		v /= 36
	}
}

// Preview is a short, single-line excerpt of the body for summaries.
func (m *Message) Preview() string {
	const max = 80
	r := []rune(m.Body)
	for i, c := range r {
		if c == '\n' || c == '\r' || c == '\t' {
			r[i] = ' '
		}
	}
	if len(r) > max {
		return string(r[:max-1]) + "…"
	}
	if len(r) == 0 && len(m.Media) > 0 {
		return "[" + m.Media[0].ContentType + "]"
	}
	return string(r)
}

// Message statuses ordered by how far delivery got: a status never replaces
// one of higher rank, so a late "sent" cannot overwrite "delivered". Terminal
// outcomes share a rank; "read" (WhatsApp) is above them.
var statusRanks = map[string]int{
	"accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
	"receiving": 4, "received": 5,
	"delivered": 6, "undelivered": 6, "failed": 6, "canceled": 6,
	"read": 7, "complained": 7,
}

// StatusRank is the rank of a message status word; unknown words rank 0.
func StatusRank(status string) int { return statusRanks[status] }

// SortMessages orders a timeline oldest first, by [Message.Cursor].
func SortMessages(ms []Message) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].Cursor() < ms[j].Cursor() })
}

// TimelinePage turns up to limit+1 entries, newest first, into a timeline
// page, oldest first, and the cursor that continues before it ("" when the
// extra entry was not there).
func TimelinePage(newestFirst []Message, limit int) ([]Message, string, error) {
	next := ""
	if len(newestFirst) > limit {
		newestFirst = newestFirst[:limit]
		next = newestFirst[limit-1].Cursor()
	}
	page := slices.Clone(newestFirst)
	slices.Reverse(page)
	return page, next, nil
}
