// Package api is the agents' read API (DESIGN.md section 6): open
// conversations newest first, one conversation's timeline, one contact.
//
// In AWS the routes sit behind API Gateway; the handler itself also requires
// "Authorization: Bearer <AGENT_API_TOKEN>" when a token is configured (the
// dev server always configures one), compared in constant time.
package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard/switchboard/shared/conversation"
)

// Handler serves /api/*.
type Handler struct {
	Store conversation.Store
	// Token is the bearer token agents present; empty disables the check
	// (only when an authorizer in front has already checked the caller).
	Token string
	Log   *slog.Logger
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/conversations", h.auth(h.list))
	mux.Handle("GET /api/conversations/{id}", h.auth(h.conversation))
	mux.Handle("GET /api/contacts/{id}", h.auth(h.contact))
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

func (h *Handler) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing or invalid bearer token"})
				return
			}
		}
		next(w, r)
	})
}

// MaxLimit caps ?limit= on listings.
const MaxLimit = 500

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	status := r.URL.Query().Get("status")
	if status == "" {
		status = conversation.StatusOpen
	}
	if status != conversation.StatusOpen && status != conversation.StatusClosed {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "status must be open or closed"})
		return
	}
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxLimit {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "limit must be a number from 1 to 500"})
			return
		}
		limit = n
	}
	cs, err := h.Store.Conversations(r.Context(), status, limit)
	if err != nil {
		h.fail(w, r, "api.list", err)
		return
	}
	out := make([]conversation.Conversation, len(cs))
	for i := range cs {
		out[i] = viewConversation(cs[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

func (h *Handler) conversation(w http.ResponseWriter, r *http.Request) {
	c, msgs, err := h.Store.Conversation(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "api.conversation", err)
		return
	}
	conversation.ResolveRefs(msgs)
	views := make([]conversation.Message, len(msgs))
	for i, m := range msgs {
		if m.Media == nil {
			m.Media = []conversation.Media{}
		}
		views[i] = m
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": viewConversation(c), "messages": views})
}

func (h *Handler) contact(w http.ResponseWriter, r *http.Request) {
	c, err := h.Store.Contact(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "api.contact", err)
		return
	}
	ids := c.Identities
	if ids == nil {
		ids = []conversation.Identity{}
	}
	if c.ConversationIDs == nil {
		c.ConversationIDs = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact": c, "identities": ids})
}

// viewConversation makes empty lists render as [] rather than null.
func viewConversation(c conversation.Conversation) conversation.Conversation {
	if c.Channels == nil {
		c.Channels = []conversation.Channel{}
	}
	return c
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, event string, err error) {
	if errors.Is(err, conversation.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not found"})
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelError, event, slog.String("outcome", "error"), slog.String("error", err.Error()))
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error, please retry"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
