package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/switchboard/switchboard/shared/conversation"
)

// DefaultInbox and MaxInbox are ?limit= of GET /api/conversations: its
// default and its cap (DESIGN.md section 6).
const (
	DefaultInbox = 50
	MaxInbox     = 100
)

// CursorSecret names the store's secret that signs inbox cursors.
const CursorSecret = "inbox-cursor"

// list serves GET /api/conversations: the inbox, newest activity first,
// filtered by ?status= (default open), team, assignee (an agent id, me or
// none), channel and label, a page of ?limit= at a time; "next" (absent on
// the last page) is the signed cursor of the next, passed back as ?cursor=.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid", "malformed query string")
		return
	}
	for k := range q {
		switch k {
		case "status", "team", "assignee", "channel", "label", "limit", "cursor":
		default:
			writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown parameter %q (allowed: status, team, assignee, channel, label, limit, cursor)", k))
			return
		}
	}
	f := conversation.InboxFilter{Status: q.Get("status"), Team: q.Get("team"), Channel: conversation.Channel(q.Get("channel")), Label: q.Get("label")}
	if f.Status == "" {
		f.Status = conversation.StatusOpen
	}
	if f.Status != conversation.StatusOpen && f.Status != conversation.StatusClosed && f.Status != conversation.StatusSnoozed {
		writeError(w, http.StatusBadRequest, "invalid", "status must be open, snoozed or closed")
		return
	}
	switch a := q.Get("assignee"); a {
	case "":
	case "me":
		f.Assignee = agent(r)
	case "none":
		f.Unassigned = true
	default:
		f.Assignee = a
	}
	for name, v := range map[string]string{"team": f.Team, "assignee": f.Assignee, "channel": string(f.Channel), "label": f.Label} {
		if conversation.CheckText(v) != nil || len(v) > 200 {
			writeError(w, http.StatusBadRequest, "invalid", name+" must be short text")
			return
		}
	}
	limit, ok := limitParam(w, r, DefaultInbox, MaxInbox)
	if !ok {
		return
	}
	key, err := h.cursorKey(r)
	if err != nil {
		h.fail(w, r, "api.list", err)
		return
	}
	var cur conversation.InboxCursor
	if c := q.Get("cursor"); c != "" {
		if cur, err = openCursor(key, f, c); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_cursor", err.Error())
			return
		}
	}
	page, err := h.service().Inbox(r.Context(), h.Store, f, cur, limit)
	if err != nil {
		h.fail(w, r, "api.list", err)
		return
	}
	out := make([]conversation.Conversation, len(page.Conversations))
	for i := range page.Conversations {
		out[i] = viewConversation(page.Conversations[i])
	}
	body := map[string]any{"conversations": out}
	if page.Next != nil {
		body["next"] = sealCursor(key, f, *page.Next)
	}
	writeTagged(w, r, body)
}

// cursorKey is the store's cursor-signing secret, read once.
func (h *Handler) cursorKey(r *http.Request) ([]byte, error) {
	h.keyMu.Lock()
	defer h.keyMu.Unlock()
	if h.key != nil {
		return h.key, nil
	}
	k, err := h.Store.Secret(r.Context(), CursorSecret)
	if err != nil {
		return nil, fmt.Errorf("read cursor key: %w", err)
	}
	h.key = k
	return k, nil
}

// keyCache is the handler's copy of the cursor key.
type keyCache struct {
	keyMu sync.Mutex
	key   []byte
}

// sealedCursor is what a cursor carries: where the listing continues and
// the listing it belongs to.
type sealedCursor struct {
	Filter conversation.InboxFilter `json:"f"`
	At     conversation.InboxCursor `json:"c"`
}

// sealCursor encodes a cursor as base64url(JSON) "." base64url(HMAC-SHA256).
func sealCursor(key []byte, f conversation.InboxFilter, c conversation.InboxCursor) string {
	payload, _ := json.Marshal(sealedCursor{Filter: f, At: c}) // plain structs: cannot fail
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac(key, payload))
}

func mac(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	return m.Sum(nil)
}

// openCursor checks a cursor's signature and that it belongs to the
// listing f.
func openCursor(key []byte, f conversation.InboxFilter, s string) (conversation.InboxCursor, error) {
	p, sig, ok := strings.Cut(s, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(got, mac(key, payload)) {
		return conversation.InboxCursor{}, fmt.Errorf("cursor is not one this API issued (pass next back unchanged)")
	}
	var c sealedCursor
	if err := json.Unmarshal(payload, &c); err != nil {
		return conversation.InboxCursor{}, fmt.Errorf("cursor is not one this API issued")
	}
	if c.Filter != f {
		return conversation.InboxCursor{}, fmt.Errorf("cursor belongs to a listing with other filters")
	}
	return c.At, nil
}
