// Package api is the agents' API (DESIGN.md section 6): open conversations
// newest first, one conversation's timeline, one contact; and what agents do
// to a conversation — PATCH its status (open, snoozed, closed), assignee,
// team, labels and priority, add a private note, mark it read — and to a
// contact (PATCH, merge another into it). Every action is an event on the
// timeline naming the agent.
//
// Agents are principals. Deployed, API Gateway's JWT authorizer checked the
// caller (JWT): the agent is the routing document's agent with the token's
// email claim, else its sub. Locally the handler checks the bearer token
// itself, in constant time: Token is the agent "dev" (AGENT_API_TOKEN),
// Tokens adds more (AGENT_TOKENS, {"token":"agent id"}).
//
// Errors are JSON {"error": readable, "code": snake_case}: 400 invalid
// (naming the field), 401, 404 not_found, 409 with the rule's code
// (bad_transition, newer_open, merge_self, merged), 410 erased (a contact
// or conversation erased on request: GET /api/contacts/{id}/export and
// DELETE /api/contacts/{id}, privacy.go), 500 internal.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/webchat"
)

// Store is what the API reads; its changes go through Service.
type Store interface {
	conversation.Reader
	conversation.InboxReader
	conversation.RollupReader
	conversation.Secrets
}

// Handler serves /api/*.
type Handler struct {
	Store Store
	// Service makes the changes; nil: one on Store (which must then be a
	// whole conversation.Store).
	Service *conversation.Service
	// Token is the bearer token of the agent "dev"; Tokens maps more tokens
	// to agent ids. With neither set and JWT false, the check is off (only
	// tests that mean it).
	Token  string
	Tokens map[string]string
	// JWT: API Gateway's JWT authorizer authenticated the caller; the agent
	// is named by the token's claims (Agents' email, else sub).
	JWT bool
	// Agents is the routing document: who may be assigned, whose email is
	// whose. Nil accepts any assignee.
	Agents *routing.Config
	Log    *slog.Logger
	// Uploads holds agents' attachments (POST /api/uploads, GET
	// /api/media/{key}, a reply's media); nil: none (501).
	Uploads Uploads
	// Chat pushes to web chat visitors' sockets what agents do that they
	// see at once: typing, and the conversation's status; nil: nothing.
	Chat webchat.Pusher
	// Objects deletes an erased person's media and raw emails; nil: there
	// are none to delete (an erasure that finds some fails, changing
	// nothing).
	Objects ObjectEraser

	keyCache
}

// DevAgent is the agent AGENT_API_TOKEN names (DESIGN.md section 3).
const DevAgent = "dev"

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.Service == nil {
		st, ok := h.Store.(conversation.Store)
		if !ok {
			panic("api: Handler.Service is required unless Store is a whole conversation.Store")
		}
		h.Service = &conversation.Service{Store: st}
	}
	for _, r := range h.routes() {
		mux.Handle(r.pattern, h.auth(r.serve))
	}
}

type route struct {
	pattern string
	serve   http.HandlerFunc
}

// routes are /api/*, each behind the bearer check (template.yaml routes
// the same: TestTemplateRoutesEveryAPIRoute).
func (h *Handler) routes() []route {
	return []route{
		{"GET /api/conversations", h.list},
		{"GET /api/conversations/{id}", h.conversation},
		{"PATCH /api/conversations/{id}", h.patch},
		{"POST /api/conversations/{id}/notes", h.note},
		{"POST /api/conversations/{id}/read", h.read},
		{"POST /api/conversations/{id}/messages", h.reply},
		{"POST /api/conversations/{id}/call", h.call},
		{"GET /api/contacts/{id}", h.contact},
		{"PATCH /api/contacts/{id}", h.patchContact},
		{"POST /api/contacts/{id}/merge", h.merge},
		{"GET /api/contacts/{id}/export", h.export},
		{"DELETE /api/contacts/{id}", h.erase},
		{"GET /api/reports", h.reports},
		{"GET /api/templates", h.templates},
		{"POST /api/uploads", h.upload},
		{"GET /api/media/{key...}", h.media},
		{"POST /api/conversations/{id}/typing", h.typing},
	}
}

// Routes lists the API's patterns ("METHOD /path", Go's ServeMux syntax).
func Routes() []string {
	var out []string
	for _, r := range (&Handler{}).routes() {
		out = append(out, r.pattern)
	}
	return out
}

func (h *Handler) service() *conversation.Service { return h.Service }

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.Default()
	}
	return h.Log
}

type agentKey struct{}

// agent is the principal auth found for the request.
func agent(r *http.Request) string {
	a, _ := r.Context().Value(agentKey{}).(string)
	return a
}

func (h *Handler) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := h.principal(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, who)))
	})
}

// principal names the agent making the request.
func (h *Handler) principal(r *http.Request) (string, bool) {
	if h.JWT {
		rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
		if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
			return "", false
		}
		claims := rc.Authorizer.JWT.Claims
		if h.Agents != nil {
			if id := h.Agents.AgentByEmail(claims["email"]); id != "" {
				return id, true
			}
		}
		return claims["sub"], claims["sub"] != ""
	}
	if h.Token == "" && len(h.Tokens) == 0 {
		return DevAgent, true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return "", false
	}
	who, found := "", false
	if h.Token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(h.Token)) == 1 {
		who, found = DevAgent, true
	}
	for tok, id := range h.Tokens { // every token compared, in constant time each
		if subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			who, found = id, true
		}
	}
	return who, found
}

// MaxLimit caps ?limit= of a timeline page.
const MaxLimit = 500

// DefaultTimeline is how many timeline entries a page holds unless ?limit=
// says otherwise.
const DefaultTimeline = 100

// conversation serves the summary and a page of the timeline: the newest
// ?limit= entries (default 100) before ?before=, oldest first; "next" is the
// before= of the page preceding it, absent on the first entry's page.
func (h *Handler) conversation(w http.ResponseWriter, r *http.Request) {
	limit, ok := limitParam(w, r, DefaultTimeline, MaxLimit)
	if !ok {
		return
	}
	before := r.URL.Query().Get("before")
	if conversation.CheckText(before) != nil || len(before) > 64 {
		writeError(w, http.StatusBadRequest, "invalid", "before must be a cursor from next")
		return
	}
	c, err := h.Store.Summary(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "api.conversation", err)
		return
	}
	msgs, next, err := h.Store.Timeline(r.Context(), c.ID, before, limit)
	if err != nil {
		h.fail(w, r, "api.conversation", err)
		return
	}
	conversation.ResolveRefs(msgs)
	views := make([]conversation.Message, len(msgs))
	for i, m := range msgs {
		views[i] = viewMessage(m)
	}
	rules, err := h.service().ReplyRules(r.Context(), c)
	if err != nil {
		h.fail(w, r, "api.conversation", err)
		return
	}
	view := struct {
		conversation.Conversation
		ReplyRules map[conversation.Channel]conversation.ReplyRule `json:"replyRules"`
	}{viewConversation(c), rules}
	out := map[string]any{"conversation": view, "messages": views}
	if next != "" {
		out["next"] = next
	}
	writeTagged(w, r, out)
}

// limitParam reads ?limit= (1 to most), def when absent.
func limitParam(w http.ResponseWriter, r *http.Request, def, most int) (int, bool) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return def, true
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 || n > most {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("limit must be a number from 1 to %d", most))
		return 0, false
	}
	return n, true
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
	// The contact's conversations, newest first, as the console lists them.
	convs := []map[string]any{}
	for _, id := range slices.Backward(c.ConversationIDs) {
		s, err := h.Store.Summary(r.Context(), id)
		if err != nil {
			h.fail(w, r, "api.contact", err)
			return
		}
		convs = append(convs, map[string]any{"id": s.ID, "status": s.Status, "lastMessageAt": s.LastMessageAt, "createdAt": s.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact": c, "identities": ids, "conversations": convs})
}

// patchContact changes a contact's name, language or blocked flag.
func (h *Handler) patchContact(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "name", "language", "blocked")
	if !ok {
		return
	}
	var p conversation.ContactPatch
	var name, lang string
	var blocked bool
	for fname, v := range map[string]any{"name": &name, "language": &lang, "blocked": &blocked} {
		present, ok := field(w, fields, fname, v)
		if !ok {
			return
		}
		if present {
			switch fname {
			case "name":
				p.Name = &name
			case "language":
				p.Language = &lang
			case "blocked":
				p.Blocked = &blocked
			}
		}
	}
	c, err := h.service().UpdateContact(r.Context(), r.PathValue("id"), p)
	if err != nil {
		h.fail(w, r, "api.patch_contact", err)
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.patch_contact", slog.String("outcome", "changed"),
		slog.String("contact", c.ID), slog.String("agent", agent(r)), slog.Bool("blocked", c.Blocked))
	writeJSON(w, http.StatusOK, map[string]any{"contact": c})
}

// merge merges the contact {"from": id} into the contact of the path.
func (h *Handler) merge(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "from")
	if !ok {
		return
	}
	var from string
	if present, ok := field(w, fields, "from", &from); !ok {
		return
	} else if !present || from == "" || conversation.CheckText(from) != nil {
		writeError(w, http.StatusBadRequest, "invalid", `field "from" must name the contact to merge`)
		return
	}
	c, err := h.service().Merge(r.Context(), r.PathValue("id"), from, agent(r))
	if err != nil {
		h.fail(w, r, "api.merge", err)
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.merge", slog.String("outcome", "merged"),
		slog.String("contact", c.ID), slog.String("from", from), slog.String("agent", agent(r)))
	writeJSON(w, http.StatusOK, map[string]any{"contact": c, "identities": c.Identities})
}

// viewConversation makes empty lists render as [] rather than null.
func viewConversation(c conversation.Conversation) conversation.Conversation {
	if c.Channels == nil {
		c.Channels = []conversation.Channel{}
	}
	if c.Labels == nil {
		c.Labels = []string{}
	}
	return c
}

// viewMessage likewise, and keeps what a customer unsent out of view.
func viewMessage(m conversation.Message) conversation.Message {
	if m.Unsent {
		m.Body, m.OriginalBody, m.Media, m.Transcript = "", "", nil, ""
	}
	if m.Media == nil {
		m.Media = []conversation.Media{}
	}
	return m
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, event string, err error) {
	var rule *conversation.RuleError
	var me *conversation.MediaError
	switch {
	case errors.As(err, &me):
		writeError(w, me.Status, me.Code, me.Reason)
		return
	case errors.Is(err, conversation.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "not found")
		return
	case errors.Is(err, conversation.ErrErased):
		writeError(w, http.StatusGone, "erased", "erased on request: nothing of it is kept")
		return
	case errors.As(err, &rule):
		writeError(w, http.StatusConflict, rule.Code, rule.Reason)
		return
	case errors.Is(err, conversation.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelError, event, slog.String("outcome", "error"), slog.String("error", err.Error()))
	writeError(w, http.StatusInternalServerError, "internal", "internal error, please retry")
}

func writeError(w http.ResponseWriter, status int, code, reason string) {
	writeJSON(w, status, map[string]string{"error": reason, "code": code})
}

// MaxBody caps a request body.
const MaxBody = 64 << 10

// decode reads a JSON object whose fields are all in allowed, into fields;
// anything else is a 400 naming what is wrong.
func decode(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	if err := dec.Decode(&fields); err != nil || fields == nil {
		reason := "body must be a JSON object"
		if err != nil {
			reason += ": " + err.Error()
		}
		writeError(w, http.StatusBadRequest, "invalid", reason)
		return nil, false
	}
	for k := range fields {
		if !slices.Contains(allowed, k) {
			writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown field %q (allowed: %s)", k, strings.Join(allowed, ", ")))
			return nil, false
		}
	}
	return fields, true
}

// field decodes one field into v; a wrong type is a 400 naming it.
func field(w http.ResponseWriter, fields map[string]json.RawMessage, name string, v any) (present, ok bool) {
	raw, present := fields[name]
	if !present {
		return false, true
	}
	if err := json.Unmarshal(raw, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("field %q: %v", name, err))
		return true, false
	}
	return true, true
}

// patch changes a conversation's status, snooze time, assignee, team,
// labels or priority.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "status", "snoozeUntil", "assignee", "team", "labels", "priority")
	if !ok {
		return
	}
	var p conversation.Patch
	var status, team, priority string
	var assignee *string
	var until time.Time
	var labels []string
	for name, v := range map[string]any{"status": &status, "team": &team, "priority": &priority, "assignee": &assignee, "snoozeUntil": &until, "labels": &labels} {
		present, ok := field(w, fields, name, v)
		if !ok {
			return
		}
		if !present {
			continue
		}
		switch name {
		case "status":
			p.Status = &status
		case "team":
			p.Team = &team
		case "priority":
			p.Priority = &priority
		case "assignee": // null unassigns; "me" is the caller
			if assignee == nil {
				assignee = new(string)
			}
			if *assignee == "me" {
				*assignee = agent(r)
			}
			p.Assignee = assignee
		case "snoozeUntil":
			p.SnoozeUntil = &until
		case "labels":
			p.Labels = &labels
		}
	}
	var known conversation.AgentCheck
	if h.Agents != nil {
		known = h.Agents.Known
	}
	if p.Key, ok = idempotencyKey(w, r); !ok {
		return
	}
	c, err := h.service().Update(r.Context(), r.PathValue("id"), agent(r), p, known)
	if err != nil {
		h.fail(w, r, "api.patch", err)
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.patch", slog.String("outcome", "changed"),
		slog.String("conversation", c.ID), slog.String("agent", agent(r)), slog.String("status", c.Status))
	if p.Status != nil {
		h.pushChat(r.Context(), c, webchat.FrameStatus, map[string]string{"status": c.Status})
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": viewConversation(c)})
}

// note adds a private note.
func (h *Handler) note(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "body")
	if !ok {
		return
	}
	var body string
	if _, ok := field(w, fields, "body", &body); !ok {
		return
	}
	idem, ok := idempotencyKey(w, r)
	if !ok {
		return
	}
	m, added, err := h.service().NoteOnce(r.Context(), r.PathValue("id"), agent(r), body, idem)
	if err != nil {
		h.fail(w, r, "api.note", err)
		return
	}
	status := http.StatusCreated
	if !added {
		status = http.StatusOK // the same key again: the first note
	}
	writeJSON(w, status, map[string]any{"message": viewMessage(m)})
}

// MaxIdempotencyKey bounds an Idempotency-Key header.
const MaxIdempotencyKey = 200

// idempotencyKey reads the optional Idempotency-Key header: a request sent
// again with the same key (a retry after a lost answer) changes nothing
// twice and answers as the first did.
func idempotencyKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > MaxIdempotencyKey || conversation.CheckText(k) != nil || strings.ContainsAny(k, ":\r\n") {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Idempotency-Key must be at most %d characters of text without ':'", MaxIdempotencyKey))
		return "", false
	}
	return k, true
}

// read clears the conversation's unread count.
func (h *Handler) read(w http.ResponseWriter, r *http.Request) {
	c, err := h.service().MarkSeen(r.Context(), r.PathValue("id"), agent(r))
	if err != nil {
		h.fail(w, r, "api.read", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation": viewConversation(c)})
}

// writeTagged answers a 200 the console polls: its ETag is a hash of the
// body, and a request whose If-None-Match names it gets a 304 without one
// (the work is done either way; the bytes are not sent).
func writeTagged(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "internal error, please retry")
		return
	}
	sum := sha256.Sum256(b)
	tag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "private, no-cache")
	for _, t := range strings.Split(r.Header.Get("If-None-Match"), ",") {
		if t = strings.TrimPrefix(strings.TrimSpace(t), "W/"); t == tag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// typing tells a web chat visitor that an agent is typing ({"on":true}) or
// stopped: pushed to their sockets, stored nowhere (the widget clears it
// after 30 seconds by itself). 204; a conversation without web chat: 204
// and nothing pushed.
func (h *Handler) typing(w http.ResponseWriter, r *http.Request) {
	fields, ok := decode(w, r, "on")
	if !ok {
		return
	}
	on := true
	if _, ok := field(w, fields, "on", &on); !ok {
		return
	}
	c, err := h.Store.Summary(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, "api.typing", err)
		return
	}
	h.pushChat(r.Context(), c, webchat.FrameTyping, map[string]bool{"on": on})
	w.WriteHeader(http.StatusNoContent)
}

// pushChat sends a frame to the conversation's web chat visitor, if it has
// one: best-effort (a visitor away sees the state at its next sync).
func (h *Handler) pushChat(ctx context.Context, c conversation.Conversation, kind string, data any) {
	if h.Chat == nil || !slices.Contains(c.Channels, conversation.ChannelWebchat) {
		return
	}
	visitor, err := h.service().Visitor(ctx, c.ID)
	if err == nil {
		_, err = h.Chat.Push(ctx, visitor, webchat.Frame(kind, data))
	}
	if err != nil {
		h.log().LogAttrs(ctx, slog.LevelWarn, "api.chat_push", slog.String("outcome", "not_pushed"), slog.String("frame", kind), slog.String("error", err.Error()))
	}
}
