package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/switchboard/switchboard/shared/conversation"
)

// reply serves POST /api/conversations/{id}/messages: an agent's reply,
// queued for the outbox (202 with the message, status queued). The
// Idempotency-Key header is required: the same key again answers 200 with
// the same message and sends nothing; with a different reply, 422.
func (h *Handler) reply(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "body", "channel", "template", "media")
	if !ok {
		return
	}
	var req conversation.ReplyRequest
	if _, ok := field(w, fields, "body", &req.Body); !ok {
		return
	}
	if _, ok := field(w, fields, "channel", &req.Channel); !ok {
		return
	}
	var tpl struct {
		Name     string   `json:"name"`
		Language string   `json:"language"`
		Params   []string `json:"params"`
	}
	if present, ok := field(w, fields, "template", &tpl); !ok {
		return
	} else if present {
		if tpl.Name == "" || tpl.Language == "" {
			writeError(w, http.StatusBadRequest, "invalid", `field "template" needs a name and a language`)
			return
		}
		req.Template = &conversation.TemplateUse{Name: tpl.Name, Language: tpl.Language, Params: tpl.Params}
	}
	var refs []struct {
		Key string `json:"key"`
	}
	if _, ok := field(w, fields, "media", &refs); !ok {
		return
	}
	if req.Key, ok = idempotencyKey(w, r); !ok {
		return
	}
	if req.Key == "" {
		writeError(w, http.StatusBadRequest, "invalid", "the Idempotency-Key header is required: the same key again never sends twice")
		return
	}
	req.Agent = agent(r)
	var err error
	if req.Media, err = h.replyMedia(r.Context(), refs); err != nil {
		h.fail(w, r, "api.reply", err)
		return
	}
	m, queued, err := h.service().Reply(r.Context(), r.PathValue("id"), req)
	if errors.Is(err, conversation.ErrKeyReused) {
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was sent with a different reply")
		return
	}
	if err != nil {
		h.fail(w, r, "api.reply", err)
		return
	}
	status := http.StatusAccepted
	if !queued {
		status = http.StatusOK
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.reply", slog.String("outcome", map[bool]string{true: "queued", false: "repeat"}[queued]),
		slog.String("conversation", m.ConversationID), slog.String("message", m.ID), slog.String("agent", req.Agent), slog.String("channel", string(m.Channel)))
	writeJSON(w, status, map[string]any{"message": viewMessage(m)})
}

// templates serves GET /api/templates?channel=: the approved templates of
// the routing document (WhatsApp's; any other channel has none).
func (h *Handler) templates(w http.ResponseWriter, r *http.Request) {
	out := []conversation.Template{}
	if ch := r.URL.Query().Get("channel"); ch == "" || ch == string(conversation.ChannelWhatsApp) {
		out = append(out, h.service().Templates...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": out})
}

// call serves POST /api/conversations/{id}/call {"agentPhone"?}: an
// agent's callback of the customer, queued for the outbox (202 with the
// call entry). Twilio rings the agent's phone (agentPhone, else the
// agent's "phone" in the routing document) and bridges to the customer
// when the agent answers. The Idempotency-Key header is required: a double
// click rings once.
func (h *Handler) call(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "agentPhone")
	if !ok {
		return
	}
	req := conversation.CallbackRequest{Agent: agent(r)}
	if _, ok := field(w, fields, "agentPhone", &req.AgentPhone); !ok {
		return
	}
	if req.AgentPhone == "" && h.Agents != nil {
		req.AgentPhone = h.Agents.AgentPhone(req.Agent)
	}
	if req.Key, ok = idempotencyKey(w, r); !ok {
		return
	}
	if req.Key == "" {
		writeError(w, http.StatusBadRequest, "invalid", "the Idempotency-Key header is required: the same key again never rings twice")
		return
	}
	m, queued, err := h.service().Callback(r.Context(), r.PathValue("id"), req)
	if errors.Is(err, conversation.ErrKeyReused) {
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was sent with another callback")
		return
	}
	if err != nil {
		h.fail(w, r, "api.call", err)
		return
	}
	status := http.StatusAccepted
	if !queued {
		status = http.StatusOK
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.call", slog.String("outcome", map[bool]string{true: "queued", false: "repeat"}[queued]),
		slog.String("conversation", m.ConversationID), slog.String("message", m.ID), slog.String("agent", req.Agent))
	writeJSON(w, status, map[string]any{"message": viewMessage(m)})
}
