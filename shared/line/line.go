// Package line receives the LINE Messaging API's webhook (POST
// /webhooks/line): the x-line-signature check (base64 HMAC-SHA256 of the
// raw body with the channel secret, constant time; line-bot-sdk-go's
// webhook.ValidateSignature), the verify request (no events: 200), and
// each event of the batch, parsed with line-bot-sdk-go's webhook types and
// deduplicated on its webhookEventId (a redelivery, which LINE flags with
// deliveryContext.isRedelivery, carries the same id and is a duplicate).
//
// Messages of every type are stored: text (linked to the message it
// quotes), image, video and audio (media for the pipeline to copy from
// LINE's content API, api-data.line.me, promptly: LINE deletes content
// after a while; external content by its URL), file (its name as the
// body), location and sticker with a readable body; a type not mapped here
// is kept as unsupported. A postback (a button the customer pressed) is a
// message with its data. Follow and unfollow are quiet timeline entries
// (KindSystem); unsend marks the message unsent (the API hides its body)
// and leaves a quiet entry saying so. Other events (join, leave, beacons,
// memberships, delivery completions, …) carry nothing a customer wrote and
// are answered 200 without a write; the log line names them.
//
// The identity is line:<userId>; the reply goes to the chat (the user,
// group or room). A source without a userId (a group member who has not
// consented) names no customer and is skipped. LINE does not retry a
// failed delivery unless redelivery is switched on, so a verified batch the
// store cannot take is spilled (webhook.Verified) rather than refused.
//
// See https://developers.line.biz/en/reference/messaging-api/#webhooks
package line

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/line/line-bot-sdk-go/v8/linebot/messaging_api"
	"github.com/line/line-bot-sdk-go/v8/linebot/webhook"

	"github.com/switchboard/switchboard/shared/conversation"
	swebhook "github.com/switchboard/switchboard/shared/webhook"
)

// Path is the webhook route (DESIGN.md section 6).
const Path = "/webhooks/line"

// Provider is the provider LINE's messages are stored under.
const Provider = "line"

// SignatureHeader carries the body's signature.
const SignatureHeader = "X-Line-Signature"

// DataAPI is LINE's content host (LINE_DATA_API_URL replaces it).
const DataAPI = "https://api-data.line.me"

// Sign is the x-line-signature of body with the channel secret (for
// signing samples and tests; the handler checks with the SDK's).
func Sign(channelSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(channelSecret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ContentURL is where a message's content is read (with the channel
// access token as the bearer).
func ContentURL(messageID string) string {
	return DataAPI + "/v2/bot/message/" + messageID + "/content"
}

// Profile is what LINE says of a user (GET /v2/bot/profile/{userId}).
type Profile struct {
	DisplayName, Language string
}

// Profiles reads users' profiles with the channel access token
// (line-bot-sdk-go's messaging_api GetProfile; base replaces
// https://api.line.me): a Config.Profile.
func Profiles(token, base string, client *http.Client) (func(ctx context.Context, userID string) (Profile, error), error) {
	opts := []messaging_api.MessagingApiAPIOption{messaging_api.WithHTTPClient(client)}
	if base != "" {
		opts = append(opts, messaging_api.WithEndpoint(base))
	}
	api, err := messaging_api.NewMessagingApiAPI(token, opts...)
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	return func(ctx context.Context, userID string) (Profile, error) {
		p, err := api.WithContext(ctx).GetProfile(userID)
		if err != nil {
			return Profile{}, fmt.Errorf("line profile: %w", err)
		}
		return Profile{DisplayName: p.DisplayName, Language: p.Language}, nil
	}, nil
}

// Config configures a Handler.
type Config struct {
	// ChannelSecret signs LINE's webhooks (LINE_CHANNEL_SECRET).
	ChannelSecret string
	Service       *conversation.Service
	// Profile, if set, names the contact of a conversation LINE opens when
	// it has no name or language yet (their LINE display name and
	// language).
	Profile func(ctx context.Context, userID string) (Profile, error)
	Log     *slog.Logger
}

// Handler serves POST /webhooks/line.
type Handler struct{ cfg Config }

// ErrNoSecret is NewHandler's refusal of an empty channel secret.
var ErrNoSecret = errors.New("line: the channel secret (LINE_CHANNEL_SECRET) is empty")

// NewHandler returns the handler; it refuses an empty secret.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.ChannelSecret == "" {
		return nil, ErrNoSecret
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{cfg: cfg}, nil
}

// Register mounts the route on mux.
func (h *Handler) Register(mux *http.ServeMux) { mux.HandleFunc("POST "+Path, h.Receive) }

// Parse reads a webhook body; a body that is not one is a 400.
func Parse(body []byte) (webhook.CallbackRequest, error) {
	var cb webhook.CallbackRequest
	if err := swebhook.CheckJSON(body); err != nil {
		return cb, err
	}
	if err := json.Unmarshal(body, &cb); err != nil {
		return cb, swebhook.Errorf(http.StatusBadRequest, "body is not a LINE webhook: %v", err)
	}
	return cb, nil
}

// Receive handles one webhook batch.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) {
	const event = "line.webhook"
	body, err := swebhook.ReadBody(r, swebhook.DefaultMaxBody)
	if err != nil {
		swebhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	if !swebhook.Replayed(r) && !webhook.ValidateSignature(h.cfg.ChannelSecret, r.Header.Get(SignatureHeader), body) {
		swebhook.Fail(w, r, h.cfg.Log, event, swebhook.Errorf(http.StatusForbidden, "invalid "+SignatureHeader))
		return
	}
	cb, err := Parse(body)
	if err != nil {
		swebhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	swebhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	counts := map[string]int{}
	base := swebhook.ReceivedAt(r)
	for i, ev := range cb.Events {
		outcome, err := h.event(r.Context(), ev, base, i)
		if err != nil {
			swebhook.Fail(w, r, h.cfg.Log, event, err, slog.Int("event", i))
			return
		}
		counts[outcome]++
	}
	attrs := []slog.Attr{slog.Int("events", len(cb.Events))}
	for k, v := range counts {
		attrs = append(attrs, slog.Int(k, v))
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, attrs...)
	w.WriteHeader(http.StatusOK)
}

// user is the customer behind an event's source and the chat a reply goes
// to ("" if the source names no user).
func user(src webhook.SourceInterface) (userID, chat string) {
	switch s := src.(type) {
	case webhook.UserSource:
		return s.UserId, s.UserId
	case webhook.GroupSource:
		return s.UserId, s.GroupId
	case webhook.RoomSource:
		return s.UserId, s.RoomId
	}
	return "", ""
}

// common are the fields every event the handler stores has.
type common struct {
	id, userID, chat string
	at               time.Time
}

// event stores one event and says what became of it.
func (h *Handler) event(ctx context.Context, ev webhook.EventInterface, base time.Time, i int) (string, error) {
	var c common
	var in *conversation.Inbound
	switch e := ev.(type) {
	case webhook.MessageEvent:
		if e.Message == nil {
			return "ignored_message_without_content", nil
		}
		c = h.common(e.WebhookEventId, e.Source, e.Timestamp)
		in = h.inbound(c)
		content(in, e.Message)
	case webhook.PostbackEvent:
		c = h.common(e.WebhookEventId, e.Source, e.Timestamp)
		in = h.inbound(c)
		in.ProviderMessageID = fmt.Sprintf("postback:%s:%d", e.WebhookEventId, e.Timestamp)
		in.Body = "[button pressed]"
		if e.Postback != nil && e.Postback.Data != "" {
			in.Body = e.Postback.Data
		}
	case webhook.FollowEvent:
		c = h.common(e.WebhookEventId, e.Source, e.Timestamp)
		in = h.inbound(c)
		in.Kind, in.Body, in.ProviderMessageID = conversation.KindSystem, "Followed the account", fmt.Sprintf("follow:%s:%d", e.WebhookEventId, e.Timestamp)
		if e.Follow != nil && e.Follow.IsUnblocked {
			in.Body = "Unblocked the account"
		}
	case webhook.UnfollowEvent:
		c = h.common(e.WebhookEventId, e.Source, e.Timestamp)
		in = h.inbound(c)
		in.Kind, in.Body, in.ProviderMessageID = conversation.KindSystem, "Unfollowed (blocked) the account", fmt.Sprintf("unfollow:%s:%d", e.WebhookEventId, e.Timestamp)
	case webhook.UnsendEvent:
		c = h.common(e.WebhookEventId, e.Source, e.Timestamp)
		in = h.inbound(c)
		in.Kind, in.Body, in.ProviderMessageID = conversation.KindSystem, "Unsent a message", fmt.Sprintf("unsend:%s:%d", e.WebhookEventId, e.Timestamp)
		if e.Unsend != nil && e.Unsend.MessageId != "" && c.userID != "" {
			in.ReplyTo = e.Unsend.MessageId
			err := h.cfg.Service.Unsend(ctx, in.From, Provider, e.Unsend.MessageId)
			if err != nil && !errors.Is(err, conversation.ErrNotFound) {
				return "", err
			}
		}
	case webhook.UnknownEvent:
		return "ignored_" + e.Type, nil
	default:
		return "ignored_" + ev.GetType(), nil
	}
	if c.userID == "" {
		return "ignored_no_user", nil // a group member who has not consented: no customer
	}
	in.Key = key(c, ev.GetType(), in.ProviderMessageID)
	in.Seq = base.UnixNano() + int64(i)
	res, err := h.cfg.Service.Ingest(ctx, *in)
	if err != nil {
		return "", err
	}
	if res.Duplicate {
		return "duplicates", nil
	}
	if res.NewConversation && h.cfg.Profile != nil {
		h.name(ctx, res.Message.ContactID, c.userID)
	}
	return "stored", nil
}

// name gives a contact without a name or language the user's LINE profile
// (asked when a conversation opens, not on every message). A profile that
// cannot be read leaves the contact as it is: the message is stored.
func (h *Handler) name(ctx context.Context, contactID, userID string) {
	c, err := h.cfg.Service.Store.Contact(ctx, contactID)
	if err != nil || c.Name != "" && c.Language != "" {
		return
	}
	p, err := h.cfg.Profile(ctx, userID)
	if err != nil {
		h.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "line.profile", slog.String("outcome", "error"), slog.String("error", err.Error()))
		return
	}
	var patch conversation.ContactPatch
	if c.Name == "" && p.DisplayName != "" {
		patch.Name = &p.DisplayName
	}
	if c.Language == "" && p.Language != "" {
		patch.Language = &p.Language
	}
	if patch.Name == nil && patch.Language == nil {
		return
	}
	if _, err := h.cfg.Service.UpdateContact(ctx, contactID, patch); err != nil {
		h.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "line.profile", slog.String("outcome", "not_recorded"), slog.String("error", err.Error()))
	}
}

func (h *Handler) common(id string, src webhook.SourceInterface, ms int64) common {
	c := common{id: id, at: time.UnixMilli(ms).UTC()}
	c.userID, c.chat = user(src)
	return c
}

// key is the event's idempotency key: its webhookEventId. Bodies of the
// older shape (LINE's SDK fixtures) have none: the event is then named by
// what it is, who sent it and when.
func key(c common, kind, messageID string) string {
	if c.id != "" {
		return Provider + ":" + c.id
	}
	return fmt.Sprintf("%s:legacy:%s:%s:%d:%s", Provider, kind, c.userID, c.at.UnixMilli(), messageID)
}

func (h *Handler) inbound(c common) *conversation.Inbound {
	from, _ := conversation.Normalizer{}.Platform(conversation.KindLINE, c.userID)
	in := &conversation.Inbound{
		Channel: conversation.ChannelLINE, From: from, FromAddress: c.userID, To: c.chat,
		Provider: Provider, SentAt: c.at,
	}
	return in
}

// content fills in a message event's body, media and provider id.
func content(in *conversation.Inbound, mc webhook.MessageContentInterface) {
	medium := func(id string, cp *webhook.ContentProvider, ct string) {
		u := ContentURL(id)
		if cp != nil && cp.Type == webhook.ContentProviderTYPE_EXTERNAL && cp.OriginalContentUrl != "" {
			u = cp.OriginalContentUrl
		}
		in.Media = append(in.Media, conversation.Media{URL: u, ContentType: ct})
	}
	switch m := mc.(type) {
	case webhook.TextMessageContent:
		in.ProviderMessageID, in.Body, in.ReplyTo = m.Id, m.Text, m.QuotedMessageId
	case webhook.ImageMessageContent:
		in.ProviderMessageID = m.Id
		medium(m.Id, m.ContentProvider, "image/jpeg")
	case webhook.VideoMessageContent:
		in.ProviderMessageID = m.Id
		medium(m.Id, m.ContentProvider, "video/mp4")
	case webhook.AudioMessageContent:
		in.ProviderMessageID = m.Id
		medium(m.Id, m.ContentProvider, "audio/m4a")
	case webhook.FileMessageContent:
		in.ProviderMessageID, in.Body = m.Id, m.FileName
		in.Media = append(in.Media, conversation.Media{URL: ContentURL(m.Id), ContentType: "application/octet-stream",
			Filename: m.FileName, Size: int64(m.FileSize)})
	case webhook.LocationMessageContent:
		in.ProviderMessageID = m.Id
		in.Body = strings.TrimSpace(fmt.Sprintf("📍 %.6f,%.6f %s", m.Latitude, m.Longitude, strings.Trim(m.Title+", "+m.Address, ", ")))
	case webhook.StickerMessageContent:
		in.ProviderMessageID, in.ReplyTo = m.Id, m.QuotedMessageId
		in.Body = "[sticker]"
		if len(m.Keywords) > 0 {
			in.Body += " " + strings.Join(m.Keywords[:min(3, len(m.Keywords))], ", ")
		}
		if m.Text != "" {
			in.Body = m.Text
		}
	case webhook.UnknownMessageContent:
		in.Kind, in.ProviderType, in.Body = conversation.KindUnsupported, m.Type, "["+m.Type+" message]"
		var id string
		if json.Unmarshal(m.Raw["id"], &id) == nil {
			in.ProviderMessageID = id
		}
	default:
		in.Kind, in.ProviderType, in.Body = conversation.KindUnsupported, mc.GetType(), "["+mc.GetType()+" message]"
	}
}
