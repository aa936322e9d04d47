// Package telegram receives a Telegram bot's webhook updates: the secret
// token check (X-Telegram-Bot-Api-Secret-Token, set with setWebhook's
// secret_token); messages with text, photo, video, video note, animation,
// sticker, voice, audio, document, location, venue, contact, poll and dice,
// each stored with a readable body and its media (pending for the media
// pipeline) and linked to the message it replies to; inline-button presses
// (callback_query) as messages; reactions (message_reaction) as quiet
// timeline entries linked to the message they react to; and edits, recorded
// against the message they change. A message of a kind not mapped here is
// stored as KindUnsupported with its field name; only service messages
// (members joining, a pinned message, …) and updates that carry nothing a
// customer wrote are answered 200 without a write, and the log line names
// them.
//
// The idempotency key is update_id. Telegram stamps whole seconds, so
// update_id (Telegram numbers a bot's updates in order) orders a burst sent
// within one second, whatever order the webhook deliveries arrive in. An edit arrives as a new update, so it finds its original by the
// message's provider id (chat id and message id) on the customer's
// conversation.
//
// See https://core.telegram.org/bots/api#update and
// https://core.telegram.org/bots/api#setwebhook
package telegram

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Path is the webhook route (DESIGN.md section 6).
const Path = "/webhooks/telegram"

// Provider is the provider name Telegram's messages are stored under.
const Provider = "telegram"

// SecretHeader carries the secret token Telegram was given in setWebhook.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// User is a Telegram user.
type User struct {
	ID           int64  `json:"id"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Username     string `json:"username"`
	LanguageCode string `json:"language_code"`
}

// File is a Telegram file reference; the bytes are fetched with getFile.
type File struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
	FileSize int64  `json:"file_size"`
}

// Chat is the chat a message belongs to.
type Chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

// Location is a point on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// Message is the part of a Telegram message Switchboard uses. Fields holds
// the names of every field the message had, so that a kind of content not
// mapped here is recognised (and stored as unsupported) rather than lost.
type Message struct {
	MessageID int64  `json:"message_id"`
	From      *User  `json:"from"`
	Chat      Chat   `json:"chat"`
	Date      int64  `json:"date"`
	EditDate  int64  `json:"edit_date"`
	Text      string `json:"text"`
	Caption   string `json:"caption"`
	Photo     []File `json:"photo"`
	Voice     *File  `json:"voice"`
	Audio     *File  `json:"audio"`
	Document  *File  `json:"document"`
	Video     *File  `json:"video"`
	VideoNote *File  `json:"video_note"`
	Animation *File  `json:"animation"`
	Sticker   *struct {
		File
		Emoji      string `json:"emoji"`
		IsAnimated bool   `json:"is_animated"`
		IsVideo    bool   `json:"is_video"`
	} `json:"sticker"`
	Location *Location `json:"location"`
	Venue    *struct {
		Location Location `json:"location"`
		Title    string   `json:"title"`
		Address  string   `json:"address"`
	} `json:"venue"`
	Contact *struct {
		PhoneNumber string `json:"phone_number"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
	} `json:"contact"`
	Poll *struct {
		Question string `json:"question"`
		Options  []struct {
			Text string `json:"text"`
		} `json:"options"`
	} `json:"poll"`
	Dice *struct {
		Emoji string `json:"emoji"`
		Value int    `json:"value"`
	} `json:"dice"`
	ReplyTo *struct {
		MessageID int64 `json:"message_id"`
		Chat      Chat  `json:"chat"`
	} `json:"reply_to_message"`
	Fields []string `json:"-"`
}

// UnmarshalJSON decodes the message and notes which fields it had.
func (m *Message) UnmarshalJSON(b []byte) error {
	type plain Message
	if err := json.Unmarshal(b, (*plain)(m)); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	m.Fields = make([]string, 0, len(fields))
	for k := range fields {
		m.Fields = append(m.Fields, k)
	}
	slices.Sort(m.Fields)
	return nil
}

// CallbackQuery is a press of an inline keyboard button.
type CallbackQuery struct {
	ID      string   `json:"id"`
	From    *User    `json:"from"`
	Message *Message `json:"message"`
	Data    string   `json:"data"`
}

// Reaction is a change of a user's reactions to a message.
type Reaction struct {
	Chat        Chat  `json:"chat"`
	MessageID   int64 `json:"message_id"`
	User        *User `json:"user"`
	Date        int64 `json:"date"`
	NewReaction []struct {
		Type  string `json:"type"`
		Emoji string `json:"emoji"`
	} `json:"new_reaction"`
}

// Update is one webhook POST. Kind is the name of the field the update
// carried ("message", "my_chat_member", …), for the log.
type Update struct {
	UpdateID        int64          `json:"update_id"`
	Message         *Message       `json:"message"`
	EditedMessage   *Message       `json:"edited_message"`
	CallbackQuery   *CallbackQuery `json:"callback_query"`
	MessageReaction *Reaction      `json:"message_reaction"`
	Kind            string         `json:"-"`
}

// Parse reads an update; a body that is not one is a 400.
func Parse(body []byte) (Update, error) {
	var u Update
	if err := webhook.CheckJSON(body); err != nil {
		return u, err
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return u, webhook.Errorf(http.StatusBadRequest, "body is not a Telegram update: %v", err)
	}
	if u.UpdateID == 0 {
		return u, webhook.Errorf(http.StatusBadRequest, "update has no update_id")
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields) // it decoded above
	for k := range fields {
		if k != "update_id" {
			u.Kind = k
		}
	}
	return u, nil
}

// providerID names a message across edits: chat and message id.
func providerID(m *Message) string {
	return strconv.FormatInt(m.Chat.ID, 10) + ":" + strconv.FormatInt(m.MessageID, 10)
}

// FileURL references a Telegram file for the media pipeline (resolved with
// getFile and the bot token).
func FileURL(id string) string { return "telegram:file/" + id }

// serviceFields are the fields of service messages: something happened in
// the chat, nobody wrote anything.
var serviceFields = map[string]bool{
	"new_chat_members": true, "left_chat_member": true, "new_chat_title": true, "new_chat_photo": true,
	"delete_chat_photo": true, "group_chat_created": true, "supergroup_chat_created": true,
	"channel_chat_created": true, "message_auto_delete_timer_changed": true, "migrate_to_chat_id": true,
	"migrate_from_chat_id": true, "pinned_message": true, "users_shared": true, "chat_shared": true,
	"write_access_allowed": true, "proximity_alert_triggered": true, "boost_added": true,
	"chat_background_set": true, "forum_topic_created": true, "forum_topic_edited": true,
	"forum_topic_closed": true, "forum_topic_reopened": true, "general_forum_topic_hidden": true,
	"general_forum_topic_unhidden": true, "video_chat_scheduled": true, "video_chat_started": true,
	"video_chat_ended": true, "video_chat_participants_invited": true, "connected_website": true,
}

// metaFields describe a message rather than carry its content.
var metaFields = map[string]bool{
	"message_id": true, "message_thread_id": true, "from": true, "sender_chat": true, "sender_boost_count": true,
	"sender_business_bot": true, "date": true, "business_connection_id": true, "chat": true,
	"forward_origin": true, "forward_from": true, "forward_from_chat": true, "forward_from_message_id": true,
	"forward_signature": true, "forward_sender_name": true, "forward_date": true, "is_topic_message": true,
	"is_automatic_forward": true, "reply_to_message": true, "external_reply": true, "quote": true,
	"reply_to_story": true, "via_bot": true, "edit_date": true, "has_protected_content": true,
	"is_from_offline": true, "media_group_id": true, "author_signature": true, "entities": true,
	"caption_entities": true, "link_preview_options": true, "reply_markup": true, "has_media_spoiler": true,
	"show_caption_above_media": true, "effect_id": true, "caption": true,
}

// content is the message's readable body and media, or, for a message of a
// kind not mapped here, the name of its content field (unsupported); for a
// service message both are empty and service names it.
func content(m *Message) (body string, media []conversation.Media, unsupported, service string) {
	add := func(line string) {
		if line != "" {
			body = join(body, line)
		}
	}
	file := func(f *File, contentType, label string) {
		if f == nil || f.FileID == "" {
			return
		}
		ct := f.MimeType
		if ct == "" {
			ct = contentType
		}
		media = append(media, conversation.Media{URL: FileURL(f.FileID), ContentType: ct, Size: f.FileSize, Filename: f.FileName})
		if body == "" {
			switch {
			case f.FileName != "":
				add(f.FileName)
			case label != "":
				add(label)
			}
		}
	}
	body = m.Text
	if body == "" {
		body = m.Caption
	}
	if len(m.Photo) > 0 { // sizes, smallest first: keep the largest
		p := m.Photo[len(m.Photo)-1]
		media = append(media, conversation.Media{URL: FileURL(p.FileID), ContentType: "image/jpeg", Size: p.FileSize})
	}
	file(m.Voice, "audio/ogg", "")
	file(m.Audio, "audio/mpeg", "")
	file(m.Document, "application/octet-stream", "")
	file(m.Video, "video/mp4", "")
	file(m.VideoNote, "video/mp4", "[video message]")
	file(m.Animation, "video/mp4", "[GIF]")
	if st := m.Sticker; st != nil {
		ct := "image/webp"
		switch {
		case st.IsAnimated:
			ct = "application/x-tgsticker"
		case st.IsVideo:
			ct = "video/webm"
		}
		file(&st.File, ct, "")
		if m.Text == "" && m.Caption == "" {
			body = strings.TrimSpace("[sticker] " + st.Emoji)
		}
	}
	if v := m.Venue; v != nil {
		add(strings.TrimSpace(fmt.Sprintf("📍 %.6f,%.6f %s", v.Location.Latitude, v.Location.Longitude,
			strings.Trim(v.Title+", "+v.Address, ", "))))
	} else if m.Location != nil {
		add(fmt.Sprintf("📍 %.6f,%.6f", m.Location.Latitude, m.Location.Longitude))
	}
	if c := m.Contact; c != nil {
		add(strings.TrimSpace("👤 " + strings.TrimSpace(c.FirstName+" "+c.LastName) + " " + c.PhoneNumber))
	}
	if p := m.Poll; p != nil {
		opts := make([]string, len(p.Options))
		for i, o := range p.Options {
			opts[i] = o.Text
		}
		add("📊 " + p.Question + " (" + strings.Join(opts, " / ") + ")")
	}
	if d := m.Dice; d != nil {
		add(fmt.Sprintf("%s rolled %d", d.Emoji, d.Value))
	}
	if body != "" || len(media) > 0 {
		return body, media, "", ""
	}
	for _, f := range m.Fields {
		if serviceFields[f] {
			return "", nil, "", f
		}
	}
	for _, f := range m.Fields {
		if !metaFields[f] && f != "text" {
			return "[" + strings.ReplaceAll(f, "_", " ") + "]", nil, f, ""
		}
	}
	return "[empty message]", nil, "message", ""
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "\n" + b
}

// Config configures a Handler.
type Config struct {
	// SecretToken is the secret_token given to setWebhook.
	SecretToken string
	Service     *conversation.Service
	Normalizer  conversation.Normalizer
	Log         *slog.Logger
}

// Handler serves POST /webhooks/telegram.
type Handler struct{ cfg Config }

// ErrNoSecret is NewHandler's refusal of an empty secret token: without it
// anyone could post updates as Telegram.
var ErrNoSecret = errors.New("telegram: the webhook secret token (TELEGRAM_SECRET_TOKEN) is empty")

// NewHandler returns the handler; it refuses an empty SecretToken, so a
// misconfigured function cannot serve the route unguarded.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.SecretToken == "" {
		return nil, ErrNoSecret
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{cfg: cfg}, nil
}

// Register mounts the route on mux.
func (h *Handler) Register(mux *http.ServeMux) { mux.HandleFunc("POST "+Path, h.Receive) }

// Receive handles one update.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) {
	const event = "telegram.update"
	body, err := webhook.ReadBody(r, webhook.DefaultMaxBody)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get(SecretHeader)), []byte(h.cfg.SecretToken)) != 1 {
		webhook.Fail(w, r, h.cfg.Log, event, webhook.Errorf(http.StatusForbidden, "invalid "+SecretHeader))
		return
	}
	u, err := Parse(body)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	attrs := []slog.Attr{slog.Int64("update_id", u.UpdateID)}
	var outcome string
	webhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	switch {
	case u.Message != nil:
		outcome, err = h.message(r, u)
	case u.EditedMessage != nil:
		outcome, err = h.edit(r, u.UpdateID, u.EditedMessage)
	case u.CallbackQuery != nil:
		outcome, err = h.callback(r, u)
	case u.MessageReaction != nil:
		outcome, err = h.reaction(r, u)
	default:
		// Channel posts, chat member changes, poll answers to the bot's own
		// polls…: nothing a customer wrote to the business.
		outcome = "ignored"
		attrs = append(attrs, slog.String("reason", "update of kind "+u.Kind+" carries no customer message"))
	}
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, attrs...)
		return
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, append(attrs, slog.String("outcome", outcome))...)
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) sender(m *Message) (conversation.Identity, error) {
	if m.From == nil || m.From.ID == 0 {
		return conversation.Identity{}, webhook.Errorf(http.StatusBadRequest, "message has no sender")
	}
	return h.cfg.Normalizer.Platform(conversation.KindTelegram, strconv.FormatInt(m.From.ID, 10))
}

func (h *Handler) message(r *http.Request, u Update) (string, error) {
	m := u.Message
	from, err := h.sender(m)
	if err != nil {
		return "", err
	}
	body, media, unsupported, service := content(m)
	if service != "" {
		h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "telegram.update", slog.Int64("update_id", u.UpdateID),
			slog.String("outcome", "ignored"), slog.String("reason", "service message "+service))
		return "ignored_service_message", nil
	}
	in := h.inbound(r, u.UpdateID, m.From, from, m.Chat.ID, m.Date)
	in.Body, in.Media, in.ProviderMessageID = body, media, providerID(m)
	if unsupported != "" {
		in.Kind, in.ProviderType = conversation.KindUnsupported, unsupported
	}
	if m.ReplyTo != nil && m.ReplyTo.MessageID != 0 {
		in.ReplyTo = strconv.FormatInt(m.Chat.ID, 10) + ":" + strconv.FormatInt(m.ReplyTo.MessageID, 10)
	}
	return h.ingest(r, in)
}

// inbound is what every stored update shares.
func (h *Handler) inbound(r *http.Request, updateID int64, user *User, from conversation.Identity, chat, date int64) conversation.Inbound {
	in := conversation.Inbound{
		Key: Provider + ":" + strconv.FormatInt(updateID, 10), Channel: conversation.ChannelTelegram, From: from,
		FromAddress: from.Address, To: strconv.FormatInt(chat, 10), Provider: Provider,
		ProfileName: strings.TrimSpace(user.FirstName + " " + user.LastName),
		Language:    user.LanguageCode, ReceivedAt: webhook.ReceivedAt(r), Seq: updateID,
	}
	if date != 0 {
		in.SentAt = time.Unix(date, 0).UTC()
	}
	return in
}

func (h *Handler) ingest(r *http.Request, in conversation.Inbound) (string, error) {
	res, err := h.cfg.Service.Ingest(r.Context(), in)
	if err != nil {
		return "", err
	}
	if res.Duplicate {
		return "duplicate", nil
	}
	return "stored", nil
}

// callback stores a press of an inline keyboard button as the customer's
// message: its data, as Meta's postbacks are.
func (h *Handler) callback(r *http.Request, u Update) (string, error) {
	q := u.CallbackQuery
	if q.From == nil || q.From.ID == 0 {
		return "", webhook.Errorf(http.StatusBadRequest, "callback_query has no sender")
	}
	from, err := h.cfg.Normalizer.Platform(conversation.KindTelegram, strconv.FormatInt(q.From.ID, 10))
	if err != nil {
		return "", webhook.Errorf(http.StatusBadRequest, "callback_query sender: %v", err)
	}
	chat := q.From.ID // a private chat's id is the user's
	in := h.inbound(r, u.UpdateID, q.From, from, chat, 0)
	in.Body, in.ProviderMessageID = q.Data, "callback:"+q.ID
	if in.Body == "" {
		in.Body = "[button pressed]"
	}
	if q.Message != nil {
		in.To = strconv.FormatInt(q.Message.Chat.ID, 10)
		in.ReplyTo = providerID(q.Message)
	}
	return h.ingest(r, in)
}

// reaction stores a change of the customer's reactions to a message, quietly.
func (h *Handler) reaction(r *http.Request, u Update) (string, error) {
	re := u.MessageReaction
	if re.User == nil || re.User.ID == 0 {
		return "ignored_anonymous_reaction", nil // a channel's anonymous reaction: no customer
	}
	from, err := h.cfg.Normalizer.Platform(conversation.KindTelegram, strconv.FormatInt(re.User.ID, 10))
	if err != nil {
		return "", webhook.Errorf(http.StatusBadRequest, "message_reaction user: %v", err)
	}
	in := h.inbound(r, u.UpdateID, re.User, from, re.Chat.ID, re.Date)
	in.Kind, in.ProviderMessageID = conversation.KindReaction, "reaction:"+strconv.FormatInt(u.UpdateID, 10)
	in.ReactsTo = strconv.FormatInt(re.Chat.ID, 10) + ":" + strconv.FormatInt(re.MessageID, 10)
	var emoji []string
	for _, nr := range re.NewReaction {
		if nr.Emoji != "" {
			emoji = append(emoji, nr.Emoji)
		} else {
			emoji = append(emoji, "["+nr.Type+"]")
		}
	}
	in.Body = "Removed a reaction"
	if len(emoji) > 0 {
		in.Body = "Reacted " + strings.Join(emoji, " ")
	}
	return h.ingest(r, in)
}

func (h *Handler) edit(r *http.Request, updateID int64, m *Message) (string, error) {
	from, err := h.sender(m)
	if err != nil {
		return "", err
	}
	body, media, _, _ := content(m)
	at := time.Unix(m.EditDate, 0).UTC()
	if m.EditDate == 0 {
		at = time.Unix(m.Date, 0).UTC()
	}
	in := h.inbound(r, updateID, m.From, from, m.Chat.ID, m.EditDate)
	in.Body, in.Media, in.ProviderMessageID = body, media, providerID(m)
	if err := in.Validate(); err != nil {
		return "", err
	}
	err = h.cfg.Service.Edit(r.Context(), from, Provider, providerID(m), body, at)
	if errors.Is(err, conversation.ErrNotFound) {
		// The original is not on the customer's conversation (sent before
		// a close, or never delivered to us): what they wrote is kept as a
		// message of its own.
		if _, err := h.ingest(r, in); err != nil {
			return "", err
		}
		return "edit_of_unknown_message_stored", nil
	}
	if err != nil {
		return "", err
	}
	return "edited", nil
}
