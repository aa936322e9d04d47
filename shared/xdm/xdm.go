// Package xdm receives X (Twitter) direct messages (GET and POST
// /webhooks/x): the CRC check (GET ?crc_token= answered
// {"response_token":"sha256=<base64 HMAC-SHA256 of the token with the
// consumer secret>"}), the x-twitter-webhooks-signature of every POST (the
// same HMAC of the raw body, constant time), and both payload shapes while
// both exist: the X Activity API's ({"data":{event_uuid, event_type,
// filter.user_id, payload}}: dm.received; chat.received, whose XChat
// content is end-to-end encrypted and kept as an unsupported message that
// says so, never dropped) and the Account Activity API's (for_user_id,
// direct_message_events[], users{}), which reaches its end of life on
// 2027-01-01.
//
// A DM is keyed by the business account it was delivered for and its id
// (x:dm:<for_user_id>:<dm id>), so the copies X sends once per
// subscription, and the same DM arriving in both shapes during the
// migration, are one message. Our own sends (sender_id is the business
// account: dm.sent, or an Account Activity message_create we sent) are
// dropped: they are on the timeline as agents' replies already. A read
// (direct_message_mark_read_events) marks the business's DM read;
// typing indicators and app revocations carry nothing to store and are
// answered 200. The identity is x:<user id>, named by the users map
// ("Name (@handle)").
//
// No maintained Go library covers X's webhooks (the X SDKs have no webhook
// helpers), so the HMAC checks are the standard library's.
//
// See docs.x.com/x-api/webhooks/quickstart and
// docs.x.com/x-api/activity/event-payloads
package xdm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Path is the webhook route (DESIGN.md section 6).
const Path = "/webhooks/x"

// Provider is the provider X's messages are stored under.
const Provider = "x"

// SignatureHeader carries the body's signature.
const SignatureHeader = "X-Twitter-Webhooks-Signature"

// Sign is "sha256=" and the base64 HMAC-SHA256 of msg with the consumer
// secret: the CRC response token and the body signature alike.
func Sign(consumerSecret string, msg []byte) string {
	mac := hmac.New(sha256.New, []byte(consumerSecret))
	mac.Write(msg)
	return "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// DM is one direct_message_events entry.
type DM struct {
	Type             string `json:"type"`
	ID               string `json:"id"`
	CreatedTimestamp string `json:"created_timestamp"`
	MessageCreate    *struct {
		Target struct {
			RecipientID string `json:"recipient_id"`
		} `json:"target"`
		SenderID    string `json:"sender_id"`
		MessageData struct {
			Text       string `json:"text"`
			Attachment *struct {
				Type  string `json:"type"`
				Media struct {
					MediaURLHTTPS string `json:"media_url_https"`
					Type          string `json:"type"`
				} `json:"media"`
			} `json:"attachment"`
		} `json:"message_data"`
	} `json:"message_create"`
}

// User is what the users map says of someone: the Account Activity shape
// (name, screen_name) or the X Activity one ({"data":{name, username}}).
type User struct {
	Name, Handle string
}

// UnmarshalJSON reads either shape.
func (u *User) UnmarshalJSON(b []byte) error {
	var v struct {
		Name       string `json:"name"`
		ScreenName string `json:"screen_name"`
		Data       *struct {
			Name     string `json:"name"`
			Username string `json:"username"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	u.Name, u.Handle = v.Name, v.ScreenName
	if v.Data != nil {
		u.Name, u.Handle = v.Data.Name, v.Data.Username
	}
	return nil
}

// Label is "Name (@handle)", or what there is of it.
func (u User) Label() string {
	switch {
	case u.Handle == "":
		return u.Name
	case u.Name == "":
		return "@" + u.Handle
	}
	return u.Name + " (@" + u.Handle + ")"
}

// Read is one direct_message_mark_read_events entry.
type Read struct {
	CreatedTimestamp string `json:"created_timestamp"`
	SenderID         string `json:"sender_id"`
	LastReadEventID  string `json:"last_read_event_id"`
}

// Chat is an encrypted XChat event's payload (chat.received).
type Chat struct {
	ID            string `json:"id"`
	CreatedAtMsec string `json:"created_at_msec"`
	SenderID      string `json:"sender_id"`
}

// Batch is one POST, in either shape, brought to one: for whom it was
// delivered (the business account), its DMs and reads, the users named,
// encrypted chats, and what it was if none of those.
type Batch struct {
	ForUserID string
	DMs       []DM
	Reads     []Read
	Chats     []Chat
	Users     map[string]User
	// Kind names a batch with nothing to store (typing, revoke, dm.sent…).
	Kind string
}

// Parse reads a webhook body of either API; a body that is neither is a
// 400.
func Parse(body []byte) (Batch, error) {
	if err := webhook.CheckJSON(body); err != nil {
		return Batch{}, err
	}
	var raw struct {
		Data *struct {
			EventUUID string `json:"event_uuid"`
			EventType string `json:"event_type"`
			Filter    struct {
				UserID string `json:"user_id"`
			} `json:"filter"`
			Payload json.RawMessage `json:"payload"`
		} `json:"data"`
		ForUserID      string          `json:"for_user_id"`
		DMs            []DM            `json:"direct_message_events"`
		Reads          []Read          `json:"direct_message_mark_read_events"`
		Typing         json.RawMessage `json:"direct_message_indicate_typing_events"`
		UserEvent      json.RawMessage `json:"user_event"`
		Users          map[string]User `json:"users"`
		TweetCreate    json.RawMessage `json:"tweet_create_events"`
		FavoriteEvents json.RawMessage `json:"favorite_events"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return Batch{}, webhook.Errorf(http.StatusBadRequest, "body is not an X webhook: %v", err)
	}
	if d := raw.Data; d != nil {
		b := Batch{ForUserID: d.Filter.UserID, Kind: d.EventType}
		switch d.EventType {
		case "dm.received", "dm.sent":
			var p struct {
				DMs   []DM            `json:"direct_message_events"`
				Users map[string]User `json:"users"`
			}
			if err := json.Unmarshal(d.Payload, &p); err != nil {
				return Batch{}, webhook.Errorf(http.StatusBadRequest, "%s payload: %v", d.EventType, err)
			}
			b.DMs, b.Users = p.DMs, p.Users
		case "chat.received":
			var c Chat
			if err := json.Unmarshal(d.Payload, &c); err != nil {
				return Batch{}, webhook.Errorf(http.StatusBadRequest, "chat.received payload: %v", err)
			}
			b.Chats = []Chat{c}
		}
		if b.ForUserID == "" && (len(b.DMs) > 0 || len(b.Chats) > 0) {
			return Batch{}, webhook.Errorf(http.StatusBadRequest, "%s without filter.user_id", d.EventType)
		}
		return b, nil
	}
	b := Batch{ForUserID: raw.ForUserID, DMs: raw.DMs, Reads: raw.Reads, Users: raw.Users}
	switch {
	case len(raw.DMs) > 0 || len(raw.Reads) > 0:
		if raw.ForUserID == "" {
			return Batch{}, webhook.Errorf(http.StatusBadRequest, "direct message events without for_user_id")
		}
	case raw.Typing != nil:
		b.Kind = "typing"
	case raw.UserEvent != nil:
		b.Kind = "user_event"
	case raw.TweetCreate != nil || raw.FavoriteEvents != nil:
		b.Kind = "tweet_activity"
	case raw.ForUserID == "":
		return Batch{}, webhook.Errorf(http.StatusBadRequest, "neither an X Activity event (data) nor an Account Activity one (for_user_id)")
	default:
		b.Kind = "other"
	}
	return b, nil
}

// Config configures a Handler.
type Config struct {
	// ConsumerSecret is the app's API secret (X_CONSUMER_SECRET).
	ConsumerSecret string
	Service        *conversation.Service
	Log            *slog.Logger
}

// Handler serves GET and POST /webhooks/x.
type Handler struct{ cfg Config }

// ErrNoSecret is NewHandler's refusal of an empty consumer secret.
var ErrNoSecret = errors.New("x: the consumer secret (X_CONSUMER_SECRET) is empty")

// NewHandler returns the handler; it refuses an empty secret.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.ConsumerSecret == "" {
		return nil, ErrNoSecret
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{cfg: cfg}, nil
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, h.CRC)
	mux.HandleFunc("POST "+Path, h.Receive)
}

// CRC answers X's challenge-response check.
func (h *Handler) CRC(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("crc_token") // decoded: "test+token" is "test token"
	if token == "" {
		webhook.Fail(w, r, h.cfg.Log, "x.crc", webhook.Errorf(http.StatusBadRequest, "missing crc_token"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"response_token": Sign(h.cfg.ConsumerSecret, []byte(token))})
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "x.crc", slog.String("outcome", "answered"))
}

// Receive handles one webhook POST.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) {
	const event = "x.webhook"
	body, err := webhook.ReadBody(r, webhook.DefaultMaxBody)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	if !webhook.Replayed(r) && !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign(h.cfg.ConsumerSecret, body))) {
		webhook.Fail(w, r, h.cfg.Log, event, webhook.Errorf(http.StatusForbidden, "invalid "+SignatureHeader))
		return
	}
	b, err := Parse(body)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	webhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	counts := map[string]int{}
	base := webhook.ReceivedAt(r)
	n := 0
	for _, dm := range b.DMs {
		outcome, err := h.dm(r, b, dm, base, n)
		if err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err)
			return
		}
		counts[outcome]++
		n++
	}
	for _, c := range b.Chats {
		outcome, err := h.chat(r, b, c, base, n)
		if err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err)
			return
		}
		counts[outcome]++
		n++
	}
	for _, rd := range b.Reads {
		if rd.LastReadEventID == "" || rd.SenderID == b.ForUserID {
			counts["ignored_read"]++
			continue
		}
		_, err := h.cfg.Service.RecordStatus(r.Context(), Provider, rd.LastReadEventID, conversation.StatusUpdate{Status: "read", At: millis(rd.CreatedTimestamp)})
		if errors.Is(err, conversation.ErrNotFound) {
			counts["reads_of_unknown_messages"]++ // sent from X itself, or before Switchboard
			continue
		}
		if err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err)
			return
		}
		counts["reads"]++
	}
	attrs := []slog.Attr{}
	if b.Kind != "" {
		attrs = append(attrs, slog.String("kind", b.Kind))
	}
	for k, v := range counts {
		attrs = append(attrs, slog.Int(k, v))
	}
	if len(counts) == 0 {
		attrs = append(attrs, slog.String("outcome", "ignored"))
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, attrs...)
	w.WriteHeader(http.StatusOK)
}

func millis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (h *Handler) inbound(r *http.Request, b Batch, sender, key string, base time.Time, n int, at time.Time) (conversation.Inbound, error) {
	from, err := conversation.Normalizer{}.Platform(conversation.KindX, sender)
	if err != nil {
		return conversation.Inbound{}, webhook.Errorf(http.StatusBadRequest, "a message without a sender")
	}
	return conversation.Inbound{
		Key: key, Channel: conversation.ChannelX, From: from, FromAddress: sender, To: b.ForUserID, Provider: Provider,
		ProfileName: b.Users[sender].Label(), SentAt: at, ReceivedAt: webhook.ReceivedAt(r), Seq: base.UnixNano() + int64(n),
	}, nil
}

// dm stores one direct message a customer sent.
func (h *Handler) dm(r *http.Request, b Batch, dm DM, base time.Time, n int) (string, error) {
	mc := dm.MessageCreate
	if dm.Type != "message_create" || mc == nil || dm.ID == "" {
		return "ignored_" + dm.Type, nil
	}
	if mc.SenderID == b.ForUserID || b.Kind == "dm.sent" {
		return "own_sends", nil // an agent's reply, or one sent from X itself
	}
	in, err := h.inbound(r, b, mc.SenderID, "x:dm:"+b.ForUserID+":"+dm.ID, base, n, millis(dm.CreatedTimestamp))
	if err != nil {
		return "", err
	}
	in.Body, in.ProviderMessageID = mc.MessageData.Text, dm.ID
	if a := mc.MessageData.Attachment; a != nil && a.Media.MediaURLHTTPS != "" {
		ct := "image/jpeg"
		if a.Media.Type == "video" || a.Media.Type == "animated_gif" {
			ct = "video/mp4"
		}
		in.Media = []conversation.Media{{URL: a.Media.MediaURLHTTPS, ContentType: ct}}
		in.Body = strings.TrimSpace(strings.TrimSuffix(in.Body, a.Media.MediaURLHTTPS)) // X appends the media's t.co link
	}
	if in.Body == "" && len(in.Media) == 0 {
		in.Body = "[empty message]"
	}
	return h.ingest(r, in)
}

// chat keeps an encrypted XChat message as the fact that it came.
func (h *Handler) chat(r *http.Request, b Batch, c Chat, base time.Time, n int) (string, error) {
	if c.ID == "" || c.SenderID == "" {
		return "", webhook.Errorf(http.StatusBadRequest, "chat.received without an id or a sender")
	}
	if c.SenderID == b.ForUserID {
		return "own_sends", nil
	}
	in, err := h.inbound(r, b, c.SenderID, "x:chat:"+b.ForUserID+":"+c.ID, base, n, millis(c.CreatedAtMsec))
	if err != nil {
		return "", err
	}
	in.Kind, in.ProviderType, in.ProviderMessageID = conversation.KindUnsupported, "chat.received", c.ID
	in.Body = "[an encrypted X Chat message: its content is end-to-end encrypted and cannot be read here; answer on X]"
	return h.ingest(r, in)
}

func (h *Handler) ingest(r *http.Request, in conversation.Inbound) (string, error) {
	res, err := h.cfg.Service.Ingest(r.Context(), in)
	if err != nil {
		return "", fmt.Errorf("ingest: %w", err)
	}
	if res.Duplicate {
		return "duplicates", nil
	}
	return "stored", nil
}
