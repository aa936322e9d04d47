// Package telegram receives a Telegram bot's webhook updates: the secret
// token check (X-Telegram-Bot-Api-Secret-Token, set with setWebhook's
// secret_token), messages with text, photo, voice, audio, document and
// location, and edits, recorded against the message they change.
//
// The idempotency key is update_id. An edit arrives as a new update, so it
// finds its original by the message's provider id (chat id and message id)
// on the customer's conversation.
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

// Message is the part of a Telegram message Switchboard uses.
type Message struct {
	MessageID int64 `json:"message_id"`
	From      *User `json:"from"`
	Chat      struct {
		ID   int64  `json:"id"`
		Type string `json:"type"`
	} `json:"chat"`
	Date     int64  `json:"date"`
	EditDate int64  `json:"edit_date"`
	Text     string `json:"text"`
	Caption  string `json:"caption"`
	Photo    []File `json:"photo"`
	Voice    *File  `json:"voice"`
	Audio    *File  `json:"audio"`
	Document *File  `json:"document"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
}

// Update is one webhook POST.
type Update struct {
	UpdateID      int64    `json:"update_id"`
	Message       *Message `json:"message"`
	EditedMessage *Message `json:"edited_message"`
}

// Parse reads an update; a body that is not one is a 400.
func Parse(body []byte) (Update, error) {
	var u Update
	if err := json.Unmarshal(body, &u); err != nil {
		return u, webhook.Errorf(http.StatusBadRequest, "body is not a Telegram update: %v", err)
	}
	if u.UpdateID == 0 {
		return u, webhook.Errorf(http.StatusBadRequest, "update has no update_id")
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

// content is the message's text and media.
func content(m *Message) (string, []conversation.Media) {
	body := m.Text
	if body == "" {
		body = m.Caption
	}
	var media []conversation.Media
	if len(m.Photo) > 0 { // sizes, smallest first: keep the largest
		p := m.Photo[len(m.Photo)-1]
		media = append(media, conversation.Media{URL: FileURL(p.FileID), ContentType: "image/jpeg", Size: p.FileSize})
	}
	for _, f := range []*File{m.Voice, m.Audio, m.Document} {
		if f != nil && f.FileID != "" {
			media = append(media, conversation.Media{URL: FileURL(f.FileID), ContentType: f.MimeType, Size: f.FileSize})
			if f.FileName != "" && body == "" {
				body = f.FileName
			}
		}
	}
	if m.Location != nil {
		loc := fmt.Sprintf("📍 %.6f,%.6f", m.Location.Latitude, m.Location.Longitude)
		if body == "" {
			body = loc
		} else {
			body += "\n" + loc
		}
	}
	return body, media
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
	switch {
	case u.Message != nil:
		outcome, err = h.message(r, u)
	case u.EditedMessage != nil:
		outcome, err = h.edit(r, u.EditedMessage)
	default:
		outcome = "ignored" // callback queries, channel posts, polls…: nothing of a conversation
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
	body, media := content(m)
	in := conversation.Inbound{
		Key: Provider + ":" + strconv.FormatInt(u.UpdateID, 10), Channel: conversation.ChannelTelegram, From: from,
		FromAddress: from.Address, To: strconv.FormatInt(m.Chat.ID, 10), Body: body, Media: media, Provider: Provider,
		ProviderMessageID: providerID(m), ProfileName: strings.TrimSpace(m.From.FirstName + " " + m.From.LastName),
		Language: m.From.LanguageCode, ReceivedAt: time.Unix(m.Date, 0).UTC(),
	}
	if in.Body == "" && len(in.Media) == 0 {
		return "ignored", nil // a service message: joined, pinned, …
	}
	res, err := h.cfg.Service.Ingest(r.Context(), in)
	if err != nil {
		return "", err
	}
	if res.Duplicate {
		return "duplicate", nil
	}
	return "stored", nil
}

func (h *Handler) edit(r *http.Request, m *Message) (string, error) {
	from, err := h.sender(m)
	if err != nil {
		return "", err
	}
	body, _ := content(m)
	at := time.Unix(m.EditDate, 0).UTC()
	if m.EditDate == 0 {
		at = time.Unix(m.Date, 0).UTC()
	}
	err = h.cfg.Service.Edit(r.Context(), from, Provider, providerID(m), body, at)
	if errors.Is(err, conversation.ErrNotFound) {
		return "edit_of_unknown_message", nil
	}
	if err != nil {
		return "", err
	}
	return "edited", nil
}
