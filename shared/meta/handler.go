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
	if !Verify(h.cfg.AppSecret, body, r.Header.Get("X-Hub-Signature-256")) {
		webhook.Fail(w, r, h.cfg.Log, event, webhook.Errorf(http.StatusForbidden, "invalid X-Hub-Signature-256"))
		return
	}
	env, err := Parse(body)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	var stored, duplicates, statuses, reads, ignored int
	for _, ev := range Events(env, h.cfg.Normalizer) {
		switch {
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
		slog.Int("reads", reads), slog.Int("ignored", ignored))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("EVENT_RECEIVED"))
}
