package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	twilioclient "github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"
	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/webchat"
)

// The outbox: an agent's reply is an outbound message the stream hands to
// Dispatcher.QueueSend; the send job goes through the same queue, claim and
// retries as every other job, and the notifier sends it with the channel's
// ReplySender, recording sent (with the provider's id) or failed (with its
// error code and reason) on the message. A provider's 429 or 5xx is retried
// through SQS with its backoff, ending in the dead-letter queue; a 4xx is
// final.

// ReplySink names a reply job's destination (the customer's address).
func ReplySink(to string) routing.Sink { return routing.Sink{Type: KindReply, To: to} }

// QueueSend queues the send of an agent's reply (stream.Outbox).
func (d *Dispatcher) QueueSend(ctx context.Context, m conversation.Message) error {
	job := Job{
		ID: SendJobID(m.ID), Kind: KindReply, ConversationID: m.ConversationID, ContactID: m.ContactID,
		Channel: string(m.Channel), WindowKey: m.Key, Sink: ReplySink(m.To), MessageAt: m.CreatedAt, Agent: m.Agent,
		MessageID: m.ID,
	}
	if err := d.Queue.Send(ctx, []Job{job}); err != nil {
		return fmt.Errorf("queue send of %s: %w", m.ID, err)
	}
	return nil
}

// ReplySender sends an agent's reply on one channel and returns the
// provider's message id. A refusal no retry will change is a
// *PermanentError (with the provider's code).
type ReplySender interface {
	SendReply(ctx context.Context, m conversation.Message) (string, error)
}

// MediaLinks gives the senders a reply's attachments (attach.Uploads): a
// short-lived URL for a provider that fetches them, the bytes for email.
type MediaLinks interface {
	Link(ctx context.Context, key string) (string, error)
	Read(ctx context.Context, key string) ([]byte, error)
}

var errMediaNotConfigured = &PermanentError{Code: "media_not_configured", Reason: "this reply has attachments and the sender has no media bucket (MEDIA_BUCKET)"}

// links presigns a URL for each of media.
func links(ctx context.Context, ml MediaLinks, media []conversation.Media) ([]string, error) {
	if len(media) == 0 {
		return nil, nil
	}
	if ml == nil {
		return nil, errMediaNotConfigured
	}
	out := make([]string, 0, len(media))
	for _, md := range media {
		u, err := ml.Link(ctx, md.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// sendReply sends the reply a job names, once.
func (n *Notifier) sendReply(ctx context.Context, job Job, attrs []slog.Attr) error {
	m, err := n.Store.Message(ctx, job.ConversationID, job.WindowKey)
	if errors.Is(err, conversation.ErrNotFound) {
		return n.finish(ctx, job, attrs, delivery.Skipped, "the reply is not stored")
	}
	if err != nil {
		return n.release(ctx, job, attrs, fmt.Errorf("read reply: %w", err))
	}
	attrs = append(attrs, slog.String("message", m.ID), slog.String("channel", string(m.Channel)))
	if m.Status != conversation.StatusQueued {
		return n.finish(ctx, job, attrs, delivery.Skipped, "already "+m.Status)
	}
	if n.Service != nil {
		tag, err := n.Service.Recheck(ctx, m)
		var rule *conversation.RuleError
		if errors.As(err, &rule) {
			return n.failed(ctx, job, attrs, m, rule.Code, rule.Reason)
		}
		if err != nil {
			return n.release(ctx, job, attrs, fmt.Errorf("recheck: %w", err))
		}
		m.Tag = tag
	}
	sender := n.Replies[conversation.ReplyRoute(m)]
	if sender == nil {
		return n.failed(ctx, job, attrs, m, conversation.ErrNotConfigured.Code, conversation.ErrNotConfigured.Reason)
	}
	sctx, cancel := context.WithTimeout(ctx, n.sinkTimeout())
	status := conversation.StatusSent
	var id string
	if ss, ok := sender.(statusSender); ok {
		id, status, err = ss.SendReplyStatus(sctx, m)
	} else {
		id, err = sender.SendReply(sctx, m)
	}
	cancel()
	var perm *PermanentError
	if errors.As(err, &perm) {
		return n.failed(ctx, job, attrs, m, perm.Code, perm.Reason)
	}
	if err != nil {
		return n.release(ctx, job, attrs, fmt.Errorf("send reply: %w", err))
	}
	ctx, cancelAfter := afterSend(ctx)
	defer cancelAfter()
	if _, err := n.Store.RecordSend(ctx, m, conversation.SendResult{Status: status, ProviderMessageID: id, At: n.now()}); err != nil {
		attrs = append(attrs, slog.String("timeline_error", err.Error())) // sent: never again (the claim says so)
	}
	if m.Channel == conversation.ChannelWebchat && status == conversation.StatusSent && n.ChatOfflineAfter > 0 && m.Agent != "" {
		// Nobody was there: an email follows unless the visitor syncs first.
		if tw, ok := n.Store.(conversation.TimerWriter); ok {
			t := conversation.Timer{Due: n.now().Add(n.ChatOfflineAfter), Kind: conversation.TimerChatOffline, ConversationID: m.ConversationID, Ref: m.Key}
			if err := tw.PutTimer(ctx, t); err != nil {
				attrs = append(attrs, slog.String("timer_error", err.Error()))
			}
		}
	}
	attrs = append(attrs, slog.String("provider_message_id", id))
	return n.finish(ctx, job, attrs, delivery.Sent, "")
}

// statusSender is a ReplySender that knows more than "sent": the web chat
// says "delivered" when a live socket took the reply.
type statusSender interface {
	SendReplyStatus(ctx context.Context, m conversation.Message) (id, status string, err error)
}

// failed records a reply's final failure on the message and the delivery.
func (n *Notifier) failed(ctx context.Context, job Job, attrs []slog.Attr, m conversation.Message, code, reason string) error {
	ctx, cancel := afterSend(ctx)
	defer cancel()
	if _, err := n.Store.RecordSend(ctx, m, conversation.SendResult{Status: conversation.StatusFailed, ErrorCode: code, Reason: reason, At: n.now()}); err != nil {
		return n.release(ctx, job, attrs, fmt.Errorf("record failure: %w", err))
	}
	return n.finish(ctx, job, append(attrs, slog.String("error_code", code)), delivery.Failed, reason)
}

// TwilioReplies sends SMS, MMS and WhatsApp replies through twilio-go's REST
// client, from the number the customer wrote to, with StatusCallback set so
// that delivery statuses come back to the status webhook.
type TwilioReplies struct {
	API            TwilioMessages
	StatusCallback string
	// Media links a reply's attachments (MediaUrl, presigned for Twilio to
	// fetch).
	Media MediaLinks
}

// SendReply implements ReplySender.
func (t *TwilioReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	urls, err := links(ctx, t.Media, m.Media)
	if err != nil {
		return "", err
	}
	p := &twilioapi.CreateMessageParams{}
	if len(urls) > 0 {
		p.SetMediaUrl(urls)
	}
	p.SetTo(m.To)
	p.SetFrom(m.From)
	if tpl := m.Template; tpl != nil {
		// An approved template: Twilio's Content API id and its variables.
		if tpl.ContentSID == "" {
			return "", &PermanentError{Code: "no_content_sid", Reason: "template " + tpl.Name + " has no twilioContentSid in the routing document"}
		}
		vars := map[string]string{}
		for i, v := range tpl.Params {
			vars[strconv.Itoa(i+1)] = v
		}
		raw, _ := json.Marshal(vars)
		p.SetContentSid(tpl.ContentSID)
		p.SetContentVariables(string(raw))
	} else if m.Body != "" || len(urls) == 0 {
		p.SetBody(m.Body)
	}
	if t.StatusCallback != "" {
		p.SetStatusCallback(t.StatusCallback)
	}
	out, err := t.API.CreateMessage(p)
	if err != nil {
		return "", twilioError(err)
	}
	if out == nil || out.Sid == nil {
		return "", errors.New("twilio answered without a message SID")
	}
	return *out.Sid, nil
}

// twilioError makes a Twilio 4xx other than 429 a *PermanentError with
// Twilio's error code; anything else stays an error to retry.
func twilioError(err error) error {
	var te *twilioclient.TwilioRestError
	if errors.As(err, &te) && te.Status >= 400 && te.Status < 500 && te.Status != http.StatusTooManyRequests {
		return &PermanentError{Code: strconv.Itoa(te.Code), Reason: fmt.Sprintf("Twilio %d (code %d): %s", te.Status, te.Code, te.Message)}
	}
	return err
}

// TwilioCalls places agents' callbacks (a call entry, conversation.Callback)
// through twilio-go's REST client: Twilio rings the agent's phone from the
// support number, and the call's TwiML (twilio-go's twiml, inline) dials
// the customer from that number when the agent answers, recording the
// bridged call. The Dial's action and the call's status callback go to the
// voice status webhook, the recording to the recording webhook, each URL
// naming the conversation and the entry (Twilio signs them with the rest).
type TwilioCalls struct {
	API TwilioCallsAPI
	// PublicBaseURL makes the callback URLs.
	PublicBaseURL string
	// Ring is how many seconds each phone rings (default 25).
	Ring int
}

// TwilioCallsAPI is the part of twilio-go's REST API that places calls.
type TwilioCallsAPI interface {
	CreateCall(params *twilioapi.CreateCallParams) (*twilioapi.ApiV2010Call, error)
}

// Callback webhook paths (twilio.VoiceStatusPath, twilio.RecordingPath).
const (
	voiceStatusPath = "/webhooks/twilio/voice/status"
	recordingPath   = "/webhooks/twilio/voice/recording"
)

// CallbackQuery names a callback's entry in its webhook URLs.
func CallbackQuery(m conversation.Message) url.Values {
	return url.Values{"callback": {m.ConversationID}, "key": {m.Key}}
}

// SendReply implements ReplySender: it places the call and returns its SID.
func (t *TwilioCalls) SendReply(_ context.Context, m conversation.Message) (string, error) {
	if m.AgentPhone == "" {
		return "", &PermanentError{Code: "no_agent_phone", Reason: conversation.ErrNoAgentPhone.Reason}
	}
	ring := t.Ring
	if ring == 0 {
		ring = 25
	}
	base := strings.TrimSuffix(t.PublicBaseURL, "/")
	q := "?" + CallbackQuery(m).Encode()
	doc, err := twiml.Voice([]twiml.Element{
		&twiml.VoiceSay{Message: "Connecting you to the customer."},
		&twiml.VoiceDial{CallerId: m.From, Timeout: strconv.Itoa(ring), Action: base + voiceStatusPath + q,
			Record: "record-from-answer", RecordingStatusCallback: base + recordingPath + q, RecordingStatusCallbackEvent: "completed",
			InnerElements: []twiml.Element{&twiml.VoiceNumber{PhoneNumber: m.To}}},
	})
	if err != nil {
		return "", &PermanentError{Code: "twiml", Reason: "callback TwiML: " + err.Error()}
	}
	p := &twilioapi.CreateCallParams{}
	p.SetTo(m.AgentPhone)
	p.SetFrom(m.From)
	p.SetTwiml(doc)
	p.SetTimeout(ring)
	p.SetStatusCallback(base + voiceStatusPath + q)
	p.SetStatusCallbackEvent([]string{"completed"})
	out, err := t.API.CreateCall(p)
	if err != nil {
		return "", twilioError(err)
	}
	if out == nil || out.Sid == nil {
		return "", errors.New("twilio answered without a call SID")
	}
	return *out.Sid, nil
}

// TelegramReplies sends Telegram replies with the Bot API's sendMessage
// ($TELEGRAM_API_URL/bot<token>/sendMessage); one with an attachment by
// sendPhoto (JPEG, PNG) or sendDocument, the file by its presigned URL
// (Telegram fetches it) and the text as its caption.
type TelegramReplies struct {
	BaseURL, Token string
	Client         *http.Client
	Media          MediaLinks
}

// SendReply implements ReplySender.
func (t *TelegramReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	chat, err := strconv.ParseInt(m.To, 10, 64)
	if err != nil {
		return "", &PermanentError{Code: "bad_chat", Reason: "not a Telegram chat id: " + m.To}
	}
	urls, err := links(ctx, t.Media, m.Media)
	if err != nil {
		return "", err
	}
	method, payload := "sendMessage", map[string]any{"chat_id": chat, "text": m.Body}
	if len(urls) > 0 {
		method, payload = "sendDocument", map[string]any{"chat_id": chat, "document": urls[0]}
		if ct := conversation.BareType(m.Media[0].ContentType); ct == "image/jpeg" || ct == "image/png" {
			method, payload = "sendPhoto", map[string]any{"chat_id": chat, "photo": urls[0]}
		}
		if m.Body != "" {
			payload["caption"] = m.Body
		}
	}
	body, _ := json.Marshal(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(t.BaseURL, "/")+"/bot"+t.Token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("telegram %s: %w", method, redactToken(err, t.Token))
	}
	defer resp.Body.Close()
	var out struct {
		OK          bool   `json:"ok"`
		ErrorCode   int    `json:"error_code"`
		Description string `json:"description"`
		Result      struct {
			MessageID int64 `json:"message_id"`
		} `json:"result"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = json.Unmarshal(raw, &out)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", fmt.Errorf("telegram %s: %d %s", method, resp.StatusCode, out.Description)
	case resp.StatusCode >= 400 || !out.OK:
		return "", &PermanentError{Code: strconv.Itoa(max(out.ErrorCode, resp.StatusCode)), Reason: "Telegram: " + out.Description}
	}
	return strconv.FormatInt(out.Result.MessageID, 10), nil
}

// redactToken keeps a credential that travels in a URL (Telegram's bot
// token, WeChat's AppSecret and access token) out of an error.
func redactToken(err error, token string) error {
	if token == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
}

// EmailReplies sends email replies through the Mailer (SES v2): the
// customer's subject as "Re: …", In-Reply-To their last mail, Reply-To the
// conversation's reply-token address.
type EmailReplies struct {
	Mailer Mailer
	// ReplyTo makes the conversation's reply address.
	ReplyTo func(from, conversationID string) string
	// Media reads a reply's attachments, attached to the mail.
	Media MediaLinks
}

// SendReply implements ReplySender.
func (e *EmailReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	r := Reply{From: m.From, To: m.To, Subject: m.Subject, Text: m.Body, InReplyTo: m.ReplyToRef, Auto: m.Kind == conversation.KindAuto}
	if len(m.Media) > 0 && e.Media == nil {
		return "", errMediaNotConfigured
	}
	for _, md := range m.Media {
		b, err := e.Media.Read(ctx, md.Key)
		if err != nil {
			return "", err
		}
		r.Attachments = append(r.Attachments, Attachment{Filename: md.Filename, ContentType: md.ContentType, Data: b})
	}
	if e.ReplyTo != nil {
		r.ReplyTo = e.ReplyTo(m.From, m.ConversationID)
	}
	return e.Mailer.Reply(ctx, r)
}

// ReplyConfig is what the reply senders need. A channel whose settings are
// missing gets no sender (its replies fail as channel_not_configured), or,
// with Dev, the recording DevOutbox.
type ReplyConfig struct {
	TwilioAccountSID, TwilioAuthToken string
	// TwilioAPIURL replaces https://api.twilio.com (a stand-in in tests).
	TwilioAPIURL string
	// PublicBaseURL makes Twilio's StatusCallback.
	PublicBaseURL                 string
	TelegramBotToken, TelegramURL string
	// MetaAccessToken (the page's) sends Messenger and Instagram replies,
	// MetaGraphURL replaces https://graph.facebook.com.
	MetaAccessToken, MetaGraphURL string
	// LineChannelToken sends LINE replies (the push API); LineAPIURL
	// replaces https://api.line.me.
	LineChannelToken, LineAPIURL string
	// XAccessToken (the business account's OAuth 2.0 user token) sends X
	// DMs; XAPIURL replaces https://api.x.com.
	XAccessToken, XAPIURL string
	// WeChatAppID and WeChatAppSecret send WeChat replies (the
	// customer-service API); WeChatAPIURL replaces
	// https://api.weixin.qq.com.
	WeChatAppID, WeChatAppSecret, WeChatAPIURL string
	// Mailer sends email replies (SES v2); nil: none.
	Mailer  Mailer
	ReplyTo func(from, conversationID string) string
	// Media links and reads replies' attachments (attach.Uploads on the
	// media bucket); nil: a reply with media fails as
	// media_not_configured.
	Media MediaLinks
	// Dev sends nowhere: every channel without a provider URL set records
	// its sends in Dev and marks them sent with a dev- id.
	Dev *DevOutbox
	// Chat pushes web chat replies to visitors' sockets (the dev server's
	// hub, or API Gateway's @connections); nil: no web chat.
	Chat webchat.Pusher
}

// NewReplies makes the reply senders by channel.
func NewReplies(c ReplyConfig, httpClient *http.Client) map[conversation.Channel]ReplySender {
	out := map[conversation.Channel]ReplySender{}
	if c.TwilioAccountSID != "" && (c.Dev == nil || c.TwilioAPIURL != "") {
		client := httpClient
		if c.TwilioAPIURL != "" {
			client = &http.Client{Timeout: httpClient.Timeout, Transport: &Rebase{Base: c.TwilioAPIURL, Host: "api.twilio.com", Next: httpClient.Transport}}
		}
		rest := NewTwilioREST(c.TwilioAccountSID, c.TwilioAuthToken, client)
		tw := &TwilioReplies{API: rest, Media: c.Media}
		if c.PublicBaseURL != "" {
			tw.StatusCallback = strings.TrimSuffix(c.PublicBaseURL, "/") + "/webhooks/twilio/messaging/status"
		}
		out[conversation.ChannelSMS], out[conversation.ChannelWhatsApp] = tw, tw
		out[conversation.ChannelVoice] = &TwilioCalls{API: rest, PublicBaseURL: c.PublicBaseURL}
	}
	if c.TelegramBotToken != "" && (c.Dev == nil || c.TelegramURL != "") {
		base := c.TelegramURL
		if base == "" {
			base = "https://api.telegram.org"
		}
		out[conversation.ChannelTelegram] = &TelegramReplies{BaseURL: base, Token: c.TelegramBotToken, Client: httpClient, Media: c.Media}
	}
	if c.MetaAccessToken != "" && (c.Dev == nil || c.MetaGraphURL != "") {
		base := c.MetaGraphURL
		if base == "" {
			base = "https://graph.facebook.com"
		}
		g := &MetaReplies{BaseURL: base, Token: c.MetaAccessToken, Client: httpClient, Media: c.Media}
		out[conversation.ChannelMessenger], out[conversation.ChannelInstagram] = g, g
		out[conversation.RouteWhatsAppCloud] = &WhatsAppCloudReplies{BaseURL: base, Token: c.MetaAccessToken, Client: httpClient, Media: c.Media}
	}
	if c.LineChannelToken != "" && (c.Dev == nil || c.LineAPIURL != "") {
		if l, err := NewLineReplies(c.LineChannelToken, c.LineAPIURL, httpClient, c.Media); err == nil {
			out[conversation.ChannelLINE] = l
		}
	}
	if c.XAccessToken != "" && (c.Dev == nil || c.XAPIURL != "") {
		base := c.XAPIURL
		if base == "" {
			base = "https://api.x.com"
		}
		out[conversation.ChannelX] = &XReplies{BaseURL: base, Token: c.XAccessToken, Client: httpClient}
	}
	if c.WeChatAppID != "" && c.WeChatAppSecret != "" && (c.Dev == nil || c.WeChatAPIURL != "") {
		base := c.WeChatAPIURL
		if base == "" {
			base = "https://api.weixin.qq.com"
		}
		out[conversation.ChannelWeChat] = &WeChatReplies{BaseURL: base, AppID: c.WeChatAppID, AppSecret: c.WeChatAppSecret, Client: httpClient}
	}
	if c.Mailer != nil && c.Dev == nil {
		out[conversation.ChannelEmail] = &EmailReplies{Mailer: c.Mailer, ReplyTo: c.ReplyTo, Media: c.Media}
	}
	if c.Chat != nil {
		out[conversation.ChannelWebchat] = &WebchatReplies{Push: c.Chat, Media: c.Media}
	}
	if c.Dev != nil {
		for _, ch := range []conversation.Channel{conversation.ChannelSMS, conversation.ChannelWhatsApp, conversation.ChannelVoice, conversation.ChannelTelegram, conversation.ChannelLINE, conversation.ChannelX, conversation.ChannelWeChat,
			conversation.ChannelEmail, conversation.ChannelMessenger, conversation.ChannelInstagram, conversation.RouteWhatsAppCloud} {
			if out[ch] == nil {
				out[ch] = c.Dev
			}
		}
	}
	return out
}

// Rebase is an http.RoundTripper that sends requests for Host to Base
// instead (scheme, host and a path prefix): twilio-go's REST client, which
// knows only api.twilio.com, talks to TWILIO_API_URL.
type Rebase struct {
	Base, Host string
	Next       http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b *Rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	next := b.Next
	if next == nil {
		next = http.DefaultTransport
	}
	if r.URL.Host != b.Host {
		return next.RoundTrip(r)
	}
	base, err := url.Parse(b.Base)
	if err != nil {
		return nil, fmt.Errorf("provider API URL: %w", err)
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host = base.Scheme, base.Host
	r.URL.Path = strings.TrimSuffix(base.Path, "/") + r.URL.Path
	r.Host = base.Host
	return next.RoundTrip(r)
}

// DevOutbox is the dev server's sender: it records every send and marks it
// sent with a dev- id (GET /dev/outbox lists them).
type DevOutbox struct {
	mu    sync.Mutex
	sends []DevSend
}

// DevSend is one recorded send.
type DevSend struct {
	ID             string               `json:"id"`
	Channel        conversation.Channel `json:"channel"`
	ConversationID string               `json:"conversationId"`
	From           string               `json:"from,omitempty"`
	To             string               `json:"to"`
	Body           string               `json:"body"`
	Tag            string               `json:"tag,omitempty"`
	// Auto names an automatic reply (ack, out-of-hours, missed-call,
	// csat); empty for an agent's.
	Auto string `json:"auto,omitempty"`
	// Media are the attachments' keys in the media bucket.
	Media []string `json:"media,omitempty"`
}

// SendReply implements ReplySender.
func (d *DevOutbox) SendReply(_ context.Context, m conversation.Message) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := DevSend{ID: fmt.Sprintf("dev-%d", len(d.sends)+1), Channel: m.Channel, ConversationID: m.ConversationID,
		From: m.From, To: m.To, Body: m.Body, Tag: m.Tag, Auto: m.Auto}
	for _, md := range m.Media {
		s.Media = append(s.Media, md.Key)
	}
	d.sends = append(d.sends, s)
	return s.ID, nil
}

// Sends lists the recorded sends, oldest first.
func (d *DevOutbox) Sends() []DevSend {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DevSend{}, d.sends...)
}

// GraphVersion is the Graph API version the Meta senders call.
const GraphVersion = "v21.0"

// MetaReplies sends Messenger and Instagram replies with the Send API
// (POST $META_GRAPH_URL/<version>/me/messages, the page token as the
// bearer): messaging_type RESPONSE within 24 hours of the customer's last
// message, MESSAGE_TAG with the HUMAN_AGENT tag up to 7 days (the rules
// decide which: Message.Tag).
type MetaReplies struct {
	BaseURL, Token string
	Client         *http.Client
	// Media links an attachment (sent as the message, by URL: Meta fetches
	// it; the rules keep text out of such a reply).
	Media MediaLinks
}

// SendReply implements ReplySender.
func (g *MetaReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	urls, err := links(ctx, g.Media, m.Media)
	if err != nil {
		return "", err
	}
	var message any = map[string]string{"text": m.Body}
	if len(urls) > 0 {
		kind := "file"
		if k, _, _ := strings.Cut(conversation.BareType(m.Media[0].ContentType), "/"); k == "image" || k == "audio" || k == "video" {
			kind = k
		}
		message = map[string]any{"attachment": map[string]any{"type": kind, "payload": map[string]any{"url": urls[0], "is_reusable": false}}}
	}
	payload := map[string]any{"recipient": map[string]string{"id": m.To}, "messaging_type": "RESPONSE", "message": message}
	if m.Tag != "" {
		payload["messaging_type"], payload["tag"] = "MESSAGE_TAG", m.Tag
	}
	var out struct {
		MessageID string `json:"message_id"`
	}
	if err := graphPost(ctx, g.Client, strings.TrimSuffix(g.BaseURL, "/")+"/"+GraphVersion+"/me/messages", g.Token, payload, &out); err != nil {
		return "", err
	}
	if out.MessageID == "" {
		return "", errors.New("graph send: no message_id in the answer")
	}
	return out.MessageID, nil
}

// WhatsAppCloudReplies sends WhatsApp replies of conversations that came
// through the Cloud API: POST $META_GRAPH_URL/<version>/<phone_number_id>/
// messages (the number the customer wrote to: Message.Account), a text
// message to their wa_id.
type WhatsAppCloudReplies struct {
	BaseURL, Token string
	Client         *http.Client
	// Media links an attachment: an image, audio, video or document
	// message by link, the text its caption.
	Media MediaLinks
}

// SendReply implements ReplySender.
func (w *WhatsAppCloudReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	if m.Account == "" {
		return "", &PermanentError{Code: "no_phone_number_id", Reason: "the customer's message named no WhatsApp business phone number id"}
	}
	to := strings.TrimPrefix(strings.TrimPrefix(m.To, "whatsapp:"), "+")
	payload := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
		"text": map[string]any{"body": m.Body, "preview_url": false}}
	urls, err := links(ctx, w.Media, m.Media)
	if err != nil {
		return "", err
	}
	if len(urls) > 0 {
		md := m.Media[0]
		kind, obj := "document", map[string]any{"link": urls[0], "filename": md.Filename}
		if k, _, _ := strings.Cut(conversation.BareType(md.ContentType), "/"); k == "image" || k == "audio" || k == "video" {
			kind, obj = k, map[string]any{"link": urls[0]}
		}
		if m.Body != "" && kind != "audio" {
			obj["caption"] = m.Body
		}
		delete(payload, "text")
		payload["type"], payload[kind] = kind, obj
	}
	if tpl := m.Template; tpl != nil {
		params := []map[string]string{}
		for _, v := range tpl.Params {
			params = append(params, map[string]string{"type": "text", "text": v})
		}
		t := map[string]any{"name": tpl.Name, "language": map[string]string{"code": tpl.Language}}
		if len(params) > 0 {
			t["components"] = []map[string]any{{"type": "body", "parameters": params}}
		}
		delete(payload, "text")
		payload["type"], payload["template"] = "template", t
	}
	var out struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := graphPost(ctx, w.Client, strings.TrimSuffix(w.BaseURL, "/")+"/"+GraphVersion+"/"+url.PathEscape(m.Account)+"/messages", w.Token, payload, &out); err != nil {
		return "", err
	}
	if len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return "", errors.New("whatsapp send: no message id in the answer")
	}
	return out.Messages[0].ID, nil
}

// graphPost POSTs payload as JSON with the token as the bearer and decodes
// the answer into out; a 429 or 5xx is an error to retry, another 4xx a
// *PermanentError with Graph's code (and subcode).
func graphPost(ctx context.Context, client *http.Client, u, token string, payload, out any) error {
	body, _ := json.Marshal(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("graph send: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var fail struct {
		Error struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
			Subcode int    `json:"error_subcode"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &fail)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("graph send: %d %s", resp.StatusCode, fail.Error.Message)
	case resp.StatusCode >= 400:
		code := strconv.Itoa(fail.Error.Code)
		if fail.Error.Subcode != 0 {
			code += "/" + strconv.Itoa(fail.Error.Subcode)
		}
		return &PermanentError{Code: code, Reason: "Graph API: " + fail.Error.Message}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("graph send: answer not JSON: %w", err)
	}
	return nil
}
