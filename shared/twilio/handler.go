package twilio

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/twilio/twilio-go/twiml"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Routes of the messaging webhooks (DESIGN.md section 6).
const (
	MessagingPath = "/webhooks/twilio/messaging"
	StatusPath    = "/webhooks/twilio/messaging/status"
)

// Config configures a Handler.
type Config struct {
	Verifier   *Verifier
	Service    *conversation.Service
	Normalizer conversation.Normalizer
	// PublicBaseURL is the scheme and host Twilio calls ("https://abc.execute-api…").
	PublicBaseURL string
	Log           *slog.Logger
	// MaxBody caps the request body; 0 means webhook.DefaultMaxBody.
	MaxBody int64
}

// Handler serves the messaging webhooks. It answers every message with
// empty TwiML: the acknowledgement, in the customer's language, is an
// automatic message through the outbox (care), as on every channel.
type Handler struct {
	cfg        Config
	emptyTwiML []byte
}

// NewHandler builds the handler, rendering its TwiML answer once.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	empty, err := twiml.Messages(nil)
	if err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, emptyTwiML: []byte(empty)}, nil
}

// Register mounts the handler's routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+MessagingPath, h.Messaging)
	mux.HandleFunc("POST "+StatusPath, h.Status)
}

// VerifiedForm reads a Twilio form POST, checks its signature against the
// public URL and returns its parameters. It is the first step of every
// Twilio webhook.
func VerifiedForm(r *http.Request, v *Verifier, publicBase string, maxBody int64) (webhook.Form, error) {
	if err := webhook.RequireForm(r); err != nil {
		return webhook.Form{}, err
	}
	body, err := webhook.ReadBody(r, maxBody)
	if err != nil {
		return webhook.Form{}, err
	}
	form, err := webhook.ParseForm(body)
	if err != nil {
		return webhook.Form{}, webhook.Errorf(http.StatusBadRequest, "malformed form body")
	}
	// A replayed spill was verified before it was kept (webhook.Replay).
	if !webhook.Replayed(r) && !v.Verify(webhook.URL(publicBase, r), form, r.Header.Get("X-Twilio-Signature")) {
		return webhook.Form{}, webhook.Errorf(http.StatusForbidden, "invalid X-Twilio-Signature")
	}
	if err := webhook.CheckForm(form); err != nil {
		return webhook.Form{}, err
	}
	return form, nil
}

// Messaging handles an inbound SMS, MMS or WhatsApp message.
func (h *Handler) Messaging(w http.ResponseWriter, r *http.Request) {
	const event = "twilio.message"
	form, err := VerifiedForm(r, h.cfg.Verifier, h.cfg.PublicBaseURL, h.cfg.MaxBody)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	msg, err := ParseMessage(form)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	in, err := msg.Inbound(h.cfg.Normalizer)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("sid", msg.MessageSid))
		return
	}
	in.ReceivedAt = webhook.ReceivedAt(r)
	// Should the store fail, the request is spilled and Twilio gets the
	// same answer.
	webhook.Verified(r, func(w http.ResponseWriter) { writeTwiML(w, h.emptyTwiML) })
	res, err := h.cfg.Service.Ingest(r.Context(), in)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("sid", msg.MessageSid))
		return
	}
	outcome := "stored"
	if res.Duplicate {
		outcome = "duplicate"
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event,
		slog.String("outcome", outcome), slog.String("sid", msg.MessageSid), slog.String("channel", string(in.Channel)),
		slog.String("conversation", res.Message.ConversationID), slog.Bool("new_conversation", res.NewConversation),
		slog.Int("media", len(in.Media)), slog.String("opt_out", string(in.OptOut)))
	writeTwiML(w, h.emptyTwiML)
}

func writeTwiML(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(b)
}

// Twilio's MessageStatus words, mapped to Switchboard's statuses.
var statuses = map[string]string{
	"accepted": "accepted", "scheduled": "scheduled", "canceled": "canceled", "queued": "queued",
	"sending": "sending", "sent": "sent", "failed": "failed", "delivered": "delivered",
	"undelivered": "undelivered", "receiving": "receiving", "received": "received", "read": "read",
	"partially_delivered": "sent",
}

// Status records a delivery status callback on the outbound message it
// belongs to. An unknown message or status is answered 200 and changes
// nothing; a status older than the stored one is ignored.
func (h *Handler) Status(w http.ResponseWriter, r *http.Request) {
	const event = "twilio.status"
	form, err := VerifiedForm(r, h.cfg.Verifier, h.cfg.PublicBaseURL, h.cfg.MaxBody)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	sid, word := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" || word == "" {
		webhook.Fail(w, r, h.cfg.Log, event, webhook.Errorf(http.StatusBadRequest, "missing MessageSid or MessageStatus"))
		return
	}
	webhook.Verified(r, func(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	outcome := "ignored"
	if status, known := statuses[word]; known {
		ok, err := h.cfg.Service.RecordStatus(r.Context(), "twilio", sid,
			conversation.StatusUpdate{Status: status, ErrorCode: form.Get("ErrorCode"), At: webhook.ReceivedAt(r)})
		switch {
		case errors.Is(err, conversation.ErrNotFound):
			outcome = "unknown_message"
		case err != nil:
			webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("sid", sid))
			return
		case ok:
			outcome = "recorded"
		default:
			outcome = "stale"
		}
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, slog.String("outcome", outcome),
		slog.String("sid", sid), slog.String("status", word))
	w.WriteHeader(http.StatusOK)
}
