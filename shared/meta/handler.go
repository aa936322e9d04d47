package meta

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// MaxBody caps a webhook body: Meta batches, but a batch stays well under it.
const MaxBody = 1 << 20

// Config configures a Handler.
type Config struct {
	AppSecret   string
	VerifyToken string
	Service     *conversation.Service
	Normalizer  conversation.Normalizer
	Log         *slog.Logger
}

// Handler serves GET and POST /webhooks/meta.
type Handler struct{ cfg Config }

// NewHandler returns the handler.
func NewHandler(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Handler{cfg: cfg}
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, h.Handshake)
	mux.HandleFunc("POST "+Path, h.Receive)
}

// Handshake answers Meta's subscription check: hub.mode=subscribe with the
// configured hub.verify_token echoes hub.challenge; anything else is 403.
func (h *Handler) Handshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || h.cfg.VerifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(h.cfg.VerifyToken)) != 1 {
		webhook.Fail(w, r, h.cfg.Log, "meta.handshake", webhook.Errorf(http.StatusForbidden, "verification failed"))
		return
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "meta.handshake", slog.String("outcome", "verified"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(q.Get("hub.challenge")))
}

// Receive stores every message of a batch (each deduplicated by its mid or
// wamid) and applies its receipts and statuses, then answers 200. A failure
// of ours answers 500 before anything is acknowledged, so Meta sends the
// batch again; what was stored already is recognized as duplicate.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) {
	const event = "meta.webhook"
	body, err := webhook.ReadBody(r, MaxBody)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	// A replayed spill was verified before it was kept (webhook.Replay).
	if !webhook.Replayed(r) && !Verify(h.cfg.AppSecret, body, r.Header.Get("X-Hub-Signature-256")) {
		webhook.Fail(w, r, h.cfg.Log, event, webhook.Errorf(http.StatusForbidden, "invalid X-Hub-Signature-256"))
		return
	}
	env, err := Parse(body)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	events := Events(env, h.cfg.Normalizer)
	// Every message of the batch is checked before any is stored, so a bad
	// one is a 400 that changes nothing. The arrival order orders messages
	// Meta stamped with the same second: the batch's own order.
	received := webhook.ReceivedAt(r)
	for i, ev := range events {
		if ev.Message == nil {
			continue
		}
		ev.Message.ReceivedAt, ev.Message.Seq = received, received.UnixNano()+int64(i)
		if err := ev.Message.Validate(); err != nil {
			webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("object", env.Object))
			return
		}
	}
	webhook.Verified(r, received200)
	var stored, duplicates, statuses, reads, edits, ignored int
	for _, ev := range events {
		switch {
		case ev.Edit != nil:
			err := h.cfg.Service.Edit(r.Context(), ev.Edit.Customer, Provider, ev.Edit.ProviderMessageID, ev.Edit.Body, ev.Edit.At)
			if errors.Is(err, conversation.ErrNotFound) {
				// The original is not on the customer's conversation: the
				// edited text is still what they wrote, kept as a message.
				_, err = h.cfg.Service.Ingest(r.Context(), *ev.Message)
			}
			if err != nil {
				webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("object", env.Object), slog.String("mid", ev.Edit.ProviderMessageID))
				return
			}
			edits++
		case ev.Message != nil:
			res, err := h.cfg.Service.Ingest(r.Context(), *ev.Message)
			if err != nil {
				webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("object", env.Object), slog.String("mid", ev.Message.ProviderMessageID))
				return
			}
			if res.Duplicate {
				duplicates++
			} else {
				stored++
			}
		case ev.Status != nil:
			_, err := h.cfg.Service.RecordStatus(r.Context(), Provider, ev.Status.ProviderMessageID,
				conversation.StatusUpdate{Status: ev.Status.Status, ErrorCode: ev.Status.ErrorCode, At: ev.Status.At})
			if err != nil && !errors.Is(err, conversation.ErrNotFound) {
				webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("object", env.Object))
				return
			}
			statuses++
		case !ev.Reader.IsZero():
			if _, err := h.cfg.Service.MarkRead(r.Context(), ev.Reader, Provider, ev.Watermark); err != nil && !errors.Is(err, conversation.ErrNotFound) {
				webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("object", env.Object))
				return
			}
			reads++
		default:
			ignored++
			h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, slog.String("outcome", "ignored"),
				slog.String("object", env.Object), slog.String("reason", ev.Ignored))
		}
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, slog.String("outcome", "processed"), slog.String("object", env.Object),
		slog.Int("stored", stored), slog.Int("duplicates", duplicates), slog.Int("statuses", statuses),
		slog.Int("reads", reads), slog.Int("edits", edits), slog.Int("ignored", ignored))
	received200(w)
}

// received200 is Meta's answer: 200, EVENT_RECEIVED.
func received200(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("EVENT_RECEIVED"))
}
