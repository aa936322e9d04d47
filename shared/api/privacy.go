package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/delivery"
)

// ObjectEraser deletes a person's stored objects when they are erased
// (attach.Objects on S3, attach.DevUploads in the dev server).
type ObjectEraser interface {
	Delete(ctx context.Context, mediaKeys, sources []string) error
}

// exportedMedia is one stored file of an export, with a link to fetch it.
type exportedMedia struct {
	MessageID      string `json:"messageId"`
	ConversationID string `json:"conversationId"`
	Key            string `json:"key"`
	ContentType    string `json:"contentType,omitempty"`
	URL            string `json:"url"`
}

// export serves GET /api/contacts/{id}/export: everything about the person
// (conversation.Export) and their media as presigned links (an hour), as a
// JSON download. 404 for no such contact, 410 for an erased one, 409
// merged for a contact merged into another (export that one).
func (h *Handler) export(w http.ResponseWriter, r *http.Request) {
	ex, err := h.service().Export(r.Context(), r.PathValue("id"), agent(r))
	if err != nil {
		h.fail(w, r, "api.export", err)
		return
	}
	media := []exportedMedia{}
	for i, c := range ex.Conversations {
		for j, m := range c.Messages {
			ex.Conversations[i].Messages[j] = viewExported(m)
			for _, md := range m.Media {
				if md.Key == "" || h.Uploads == nil {
					continue
				}
				u, err := h.Uploads.Link(r.Context(), md.Key)
				if err != nil {
					h.fail(w, r, "api.export", err)
					return
				}
				media = append(media, exportedMedia{MessageID: m.ID, ConversationID: c.Conversation.ID, Key: md.Key, ContentType: md.ContentType, URL: u})
			}
		}
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.export", slog.String("outcome", "exported"), slog.String("contact", ex.Contact.ID),
		slog.String("agent", agent(r)), slog.Int("conversations", len(ex.Conversations)), slog.Int("media", len(media)))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="contact-`+ex.Contact.ID+`.json"`)
	writeJSON(w, http.StatusOK, map[string]any{"export": ex, "identities": ex.Contact.Identities, "media": media})
}

// viewExported is a message as the person sees their own data: an unsent
// body too (it is theirs), and [] for no media.
func viewExported(m conversation.Message) conversation.Message {
	if m.Media == nil {
		m.Media = []conversation.Media{}
	}
	return m
}

// erase serves DELETE /api/contacts/{id}: the person erased
// (conversation.Service.Erase) with their media and raw emails, 204; 404
// for no such contact, 410 once erased.
func (h *Handler) erase(w http.ResponseWriter, r *http.Request) {
	hooks := conversation.EraseHooks{Deliveries: func(m conversation.Message) []string {
		if m.Direction == conversation.DirectionOutbound && m.Agent != "" {
			return []string{delivery.SendJobID(m.ID)}
		}
		return nil
	}}
	if h.Objects != nil {
		hooks.Objects = h.Objects.Delete
	}
	out, err := h.service().Erase(r.Context(), r.PathValue("id"), agent(r), hooks)
	if err != nil {
		h.fail(w, r, "api.erase", err)
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.erase", slog.String("outcome", "erased"), slog.String("contact", out.ContactID),
		slog.String("agent", agent(r)), slog.Int("conversations", out.Conversations), slog.Int("messages", out.Messages), slog.Int("objects", out.Objects))
	w.WriteHeader(http.StatusNoContent)
}
