// Package webchat is the live web chat channel: the visitor API (POST
// /chat/sessions, POST and GET /chat/messages), the embeddable widget (GET
// /chat/widget.js, /chat/config, /chat/demo), the realtime socket (the dev
// server's /chat/ws; API Gateway's WebSocket API deployed) and the pusher
// agents' replies go out through.
//
// A visitor is an identity: anonymous, "visitor:<site>:<random id>", whose
// only proof is its token; or, when the site vouches for its user with
// identifierHash (hex HMAC-SHA256 of the identifier with
// CHAT_IDENTITY_SECRET), "chat:<site>:<identifier>", which any later
// session with the same proof joins. A bare conversation id is never a
// secret: every call names the visitor by its token (HS256, golang-jwt,
// key id in the header for rotation; see Signer), which is bound to its
// site, and the site's allowed origins are checked on every call that a
// browser makes (CORS) and at the socket's opening.
//
// A visitor's message is stored through the same ingest as every channel,
// keyed by the visitor and the client's message id, so a retry after a
// lost answer is the same message; the 201 is answered only once it is
// durable. History is the visitor's view of its latest conversation: its
// own messages and the replies on this channel, never notes, events or
// other channels, after a cursor, so a reconnecting widget resyncs.
package webchat

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Provider is the provider web chat messages are stored under.
const Provider = "webchat"

// Caps: a request body, a message's text (runes), a client message id.
const (
	MaxRequest  = 16 << 10
	MaxBody     = 4000
	maxClientID = 64
)

//go:embed static
var static embed.FS

// Config configures a Handler.
type Config struct {
	Service *conversation.Service
	// Sites lists the sites (the routing document's).
	Sites []routing.Site
	// Signer signs and checks visitor tokens (CHAT_SIGNING_KEY).
	Signer *Signer
	// IdentitySecret checks identifierHash (CHAT_IDENTITY_SECRET; empty:
	// no visitor is verified).
	IdentitySecret string
	// Self is the origin the widget and the demo page are served from
	// (PUBLIC_BASE_URL): always allowed.
	Self string
	// SocketURL is what the widget opens (CHAT_WS_URL); empty: Self's
	// /chat/ws (the dev server).
	SocketURL string
	// Uploads takes visitors' attachments (POST /chat/uploads: a presigned
	// PUT to the media bucket) and links them; nil: no attachments (501).
	Uploads Uploads
	// Limit is each visitor's rate (nil: DefaultLimit).
	Limit *Limiter
	Log   *slog.Logger
}

// Uploads is attach.Uploads (S3) or attach.DevUploads (the dev server).
type Uploads interface {
	New(ctx context.Context, contentType string, size int64, filename string) (attach.Upload, error)
	Stat(ctx context.Context, key string) (conversation.Media, error)
	Link(ctx context.Context, key string) (string, error)
}

// MaxMedia bounds a visitor message's attachments.
const MaxMedia = 5

// Handler serves the visitor API and the widget.
type Handler struct{ cfg Config }

// NewHandler returns the handler; it needs a signer.
func NewHandler(c Config) (*Handler, error) {
	if c.Signer == nil {
		return nil, errors.New("webchat: no signer (CHAT_SIGNING_KEY)")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Limit == nil {
		c.Limit = NewLimiter(DefaultBurst, DefaultRate)
	}
	c.Self = strings.TrimSuffix(c.Self, "/")
	return &Handler{cfg: c}, nil
}

// Routes are the handler's routes (template.yaml routes each).
func Routes() []string {
	return []string{"POST /chat/sessions", "OPTIONS /chat/sessions", "POST /chat/messages", "GET /chat/messages",
		"OPTIONS /chat/messages", "POST /chat/uploads", "OPTIONS /chat/uploads", "GET /chat/config", "GET /chat/widget.js", "GET /chat/demo"}
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /chat/sessions", h.session)
	mux.HandleFunc("POST /chat/messages", h.post)
	mux.HandleFunc("GET /chat/messages", h.history)
	mux.HandleFunc("OPTIONS /chat/sessions", h.preflight)
	mux.HandleFunc("OPTIONS /chat/messages", h.preflight)
	mux.HandleFunc("POST /chat/uploads", h.upload)
	mux.HandleFunc("OPTIONS /chat/uploads", h.preflight)
	mux.HandleFunc("GET /chat/config", h.config)
	mux.HandleFunc("GET /chat/widget.js", h.file("static/widget.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /chat/demo", h.file("static/demo.html", "text/html; charset=utf-8"))
}

func (h *Handler) site(id string) (routing.Site, bool) {
	i := slices.IndexFunc(h.cfg.Sites, func(s routing.Site) bool { return s.ID == id })
	if i < 0 {
		return routing.Site{}, false
	}
	return h.cfg.Sites[i], true
}

// Origin is a URL's origin (scheme://host[:port]), what browsers send.
func Origin(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return u
	}
	return p.Scheme + "://" + p.Host
}

// allowed reports whether a browser on origin may call for site. A
// request without Origin is not a browser's cross-site call (curl, a
// server): its token alone decides.
func (h *Handler) allowed(origin string, s routing.Site) bool {
	return allowedOrigin(origin, h.cfg.Self, s.Origins)
}

// allowedOrigin is the one origin rule of every door (the visitor API,
// the dev socket, the deployed socket's authorizer): no Origin (not a
// browser's cross-site call), the pages served from self, or one of the
// site's origins, exactly.
func allowedOrigin(origin, self string, origins []string) bool {
	return origin == "" || origin == Origin(self) || slices.Contains(origins, origin)
}

// cors checks the request's origin for site and answers 403 if it may not
// call; otherwise it sets the CORS headers for it.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request, s routing.Site) bool {
	o := r.Header.Get("Origin")
	if !h.allowed(o, s) {
		writeError(w, http.StatusForbidden, "origin_not_allowed", "this page's origin may not use the chat of site "+s.ID)
		return false
	}
	if o != "" {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
	return true
}

// preflight answers a CORS preflight for an origin some site allows (the
// site is not known before the request itself).
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	ok := o == Origin(h.cfg.Self) || slices.ContainsFunc(h.cfg.Sites, func(s routing.Site) bool { return slices.Contains(s.Origins, o) })
	if !ok {
		writeError(w, http.StatusForbidden, "origin_not_allowed", "no site allows this origin")
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	w.Header().Add("Vary", "Origin")
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// Session is POST /chat/sessions' answer.
type Session struct {
	Token          string    `json:"token"`
	ExpiresAt      time.Time `json:"expiresAt"`
	Verified       bool      `json:"verified"`
	ConversationID string    `json:"conversationId,omitempty"`
	// Notice says why a visitor who named an identifier stays anonymous.
	Notice string `json:"notice,omitempty"`
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Site, Identifier, IdentifierHash, Email, Name string
	}
	if !decode(w, r, 4<<10, &req) {
		return
	}
	s, ok := h.site(req.Site)
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_site", "no chat site "+strconvQuote(req.Site))
		return
	}
	if !h.cors(w, r, s) {
		return
	}
	c := Claims{Site: s.ID}
	// A returning visitor keeps its identity (its token, still valid, of
	// this site).
	if old, err := h.cfg.Signer.Verify(bearer(r)); err == nil && old.Site == s.ID {
		c = old
	}
	var notice string
	if req.Identifier != "" {
		switch {
		case len(req.Identifier) > 200 || conversation.CheckText(req.Identifier) != nil:
			writeError(w, http.StatusBadRequest, "bad_identifier", "identifier must be text of at most 200 bytes")
			return
		case checkIdentifier(h.cfg.IdentitySecret, req.Identifier, req.IdentifierHash):
			c.Subject, c.Verified = string(conversation.KindChat)+":"+s.ID+":"+req.Identifier, true
		default:
			notice = "identity_not_verified"
		}
	}
	if s.IdentityRequired && !c.Verified {
		writeError(w, http.StatusForbidden, "identity_required", "this site chats only with visitors it vouches for (identifierHash)")
		return
	}
	if c.Subject == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.Subject = string(conversation.KindVisitor) + ":" + s.ID + ":" + hex.EncodeToString(b[:])
	}
	if req.Email != "" {
		a, err := mail.ParseAddress(req.Email)
		if err != nil || len(req.Email) > 254 || a.Address != strings.TrimSpace(req.Email) {
			writeError(w, http.StatusBadRequest, "bad_email", "email is not an address")
			return
		}
		c.Email = strings.ToLower(a.Address)
	}
	if s.PreChatEmail == "required" && c.Email == "" {
		writeError(w, http.StatusBadRequest, "email_required", "this site asks for an email before the chat")
		return
	}
	if req.Name != "" {
		if len(req.Name) > 100 || conversation.CheckText(req.Name) != nil {
			writeError(w, http.StatusBadRequest, "bad_name", "name must be text of at most 100 bytes")
			return
		}
		c.Name = req.Name
	}
	token, exp, err := h.cfg.Signer.Issue(c)
	if err != nil {
		h.fail(w, r, "chat.session", err)
		return
	}
	out := Session{Token: token, ExpiresAt: exp.UTC(), Verified: c.Verified, Notice: notice}
	if route, err := h.cfg.Service.Store.Route(r.Context(), identity(c)); err == nil {
		out.ConversationID = route.ConversationID
	} else if !errors.Is(err, conversation.ErrNotFound) {
		h.fail(w, r, "chat.session", err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// identity is the visitor a token names.
func identity(c Claims) conversation.Identity {
	kind, addr, _ := strings.Cut(c.Subject, ":")
	return conversation.Identity{Kind: conversation.Kind(kind), Address: addr}
}

// visitor checks the request's token and origin and answers 401/403 when
// either fails.
func (h *Handler) visitor(w http.ResponseWriter, r *http.Request) (Claims, bool) {
	c, err := h.cfg.Signer.Verify(bearer(r))
	if err != nil {
		writeError(w, http.StatusUnauthorized, "token_invalid", "the visitor token is missing, expired or not ours: start a new session")
		return Claims{}, false
	}
	s, ok := h.site(c.Site)
	if !ok {
		writeError(w, http.StatusUnauthorized, "token_invalid", "the token's site is gone: start a new session")
		return Claims{}, false
	}
	return c, h.cors(w, r, s)
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if t, ok := strings.CutPrefix(a, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// limited answers 429 (with Retry-After) when the visitor is over its rate.
func (h *Handler) limited(w http.ResponseWriter, c Claims) bool {
	wait, ok := h.cfg.Limit.Allow(c.Subject)
	if !ok {
		w.Header().Set("Retry-After", wait)
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests: wait a moment and send again")
	}
	return !ok
}

// errNoUploads is the 501 reason without a media bucket.
const errNoUploads = "attachments need a media bucket (MEDIA_BUCKET)"

func (h *Handler) post(w http.ResponseWriter, r *http.Request) {
	c, ok := h.visitor(w, r)
	if !ok || h.limited(w, c) {
		return
	}
	var req struct {
		Body            string
		ClientMessageID string
		Media           []struct{ Key, Ref string }
	}
	if !decode(w, r, MaxRequest, &req) {
		return
	}
	media, ok := h.media(w, r, c, req.Media)
	if !ok {
		return
	}
	switch {
	case !validClientID(req.ClientMessageID):
		writeError(w, http.StatusBadRequest, "bad_client_message_id", "clientMessageId must be 1-64 letters, digits, - or _")
		return
	case conversation.CheckText(req.Body) != nil:
		writeError(w, http.StatusBadRequest, "bad_body", "body "+conversation.ErrBadText.Error())
		return
	case strings.TrimSpace(req.Body) == "" && len(media) == 0:
		writeError(w, http.StatusBadRequest, "empty_body", "a message needs text or an attachment")
		return
	case utf8.RuneCountInString(req.Body) > MaxBody:
		writeError(w, http.StatusRequestEntityTooLarge, "message_too_large", "a message has at most 4000 characters")
		return
	}
	id := identity(c)
	in := conversation.Inbound{
		Key:     Provider + ":" + c.Subject + ":" + req.ClientMessageID,
		Channel: conversation.ChannelWebchat, From: id, FromAddress: c.Subject, To: c.Site,
		Body: req.Body, Media: media, Provider: Provider, ProviderMessageID: req.ClientMessageID, ProfileName: c.Name,
		ReceivedAt: webhook.ReceivedAt(r),
	}
	res, err := h.cfg.Service.Ingest(r.Context(), in)
	if err != nil {
		h.fail(w, r, "chat.message", err)
		return
	}
	if res.NewConversation && c.Email != "" {
		h.email(r.Context(), c, res.Message)
	}
	status, m := http.StatusCreated, res.Message
	if res.Duplicate {
		status = http.StatusOK
		if stored, err := h.cfg.Service.Store.Message(r.Context(), m.ConversationID, m.Key); err == nil {
			m = stored
		}
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "chat.message", slog.String("outcome", map[bool]string{true: "duplicate", false: "stored"}[res.Duplicate]),
		slog.String("site", c.Site), slog.String("conversation", m.ConversationID))
	writeJSON(w, status, map[string]any{"message": h.view(r.Context(), m)})
}

// media checks a message's attachments: each an upload issued to this
// visitor (its proof), stored, of an allowed type and size.
func (h *Handler) media(w http.ResponseWriter, r *http.Request, c Claims, refs []struct{ Key, Ref string }) ([]conversation.Media, bool) {
	if len(refs) == 0 {
		return nil, true
	}
	if h.cfg.Uploads == nil {
		writeError(w, http.StatusNotImplemented, "not_configured", errNoUploads)
		return nil, false
	}
	if len(refs) > MaxMedia {
		writeError(w, http.StatusBadRequest, "too_many_media", "a message carries at most 5 attachments")
		return nil, false
	}
	var out []conversation.Media
	for _, ref := range refs {
		if !h.cfg.Signer.Bound(c.Subject, ref.Key, ref.Ref) {
			writeError(w, http.StatusBadRequest, "unknown_upload", "an attachment names no upload of this visitor: upload it with POST /chat/uploads")
			return nil, false
		}
		md, err := h.cfg.Uploads.Stat(r.Context(), ref.Key)
		var me *conversation.MediaError
		switch {
		case errors.As(err, &me):
			writeError(w, me.Status, me.Code, me.Reason)
			return nil, false
		case errors.Is(err, attach.ErrUnknownUpload):
			writeError(w, http.StatusBadRequest, "unknown_upload", "an attachment was not uploaded (PUT it to the upload's URL first)")
			return nil, false
		case err != nil:
			h.fail(w, r, "chat.media", err)
			return nil, false
		}
		out = append(out, md)
	}
	return out, true
}

// upload serves POST /chat/uploads {"contentType","size","filename"?}:
// 201 {"upload":{"key","method","url","headers","expiresAt"},"ref"}: a
// presigned PUT of one attachment (type and size signed in) and the proof
// that it is this visitor's, which the message names with its key.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	c, ok := h.visitor(w, r)
	if !ok {
		return
	}
	if h.cfg.Uploads == nil {
		writeError(w, http.StatusNotImplemented, "not_configured", errNoUploads)
		return
	}
	if h.limited(w, c) {
		return
	}
	var req struct {
		ContentType, Filename string
		Size                  int64
	}
	if !decode(w, r, 4<<10, &req) {
		return
	}
	if req.ContentType == "" || conversation.CheckText(req.Filename) != nil || len(req.Filename) > 200 {
		writeError(w, http.StatusBadRequest, "invalid", "an upload needs a contentType, a size and at most a 200-byte filename")
		return
	}
	up, err := h.cfg.Uploads.New(r.Context(), req.ContentType, req.Size, req.Filename)
	var me *conversation.MediaError
	if errors.As(err, &me) {
		writeError(w, me.Status, me.Code, me.Reason)
		return
	}
	if err != nil {
		h.fail(w, r, "chat.upload", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"upload": up, "ref": h.cfg.Signer.Bind(c.Subject, up.Key)})
}

// view is ViewOf with stored attachments linked (a presigned GET).
func (h *Handler) view(ctx context.Context, m conversation.Message) View {
	return ViewOf(m, func(key string) string {
		if h.cfg.Uploads == nil {
			return ""
		}
		u, err := h.cfg.Uploads.Link(ctx, key)
		if err != nil {
			return ""
		}
		return u
	})
}

// email records the pre-chat email on the contact (contact data, for an
// answer while they are away). A verified visitor's email is the site's
// word, so it is their email identity too: when a contact already has it
// (the customer mailed before), the chat contact is merged into that one,
// as identical identities link (an unverified email never links).
func (h *Handler) email(ctx context.Context, c Claims, m conversation.Message) {
	contactID := m.ContactID
	if c.Verified {
		route, err := h.cfg.Service.Store.Route(ctx, conversation.Identity{Kind: conversation.KindEmail, Address: c.Email})
		switch {
		case err == nil && route.ContactID != "" && route.ContactID != m.ContactID:
			if _, err := h.cfg.Service.Merge(ctx, route.ContactID, m.ContactID, ""); err != nil {
				h.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "chat.link", slog.String("outcome", "not_merged"), slog.String("error", err.Error()))
			} else {
				contactID = route.ContactID
				h.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "chat.link", slog.String("outcome", "merged"), slog.String("contact", contactID))
			}
		case err != nil && !errors.Is(err, conversation.ErrNotFound):
			h.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "chat.link", slog.String("outcome", "not_read"), slog.String("error", err.Error()))
		}
	}
	if _, err := h.cfg.Service.UpdateContact(ctx, contactID, conversation.ContactPatch{Email: &c.Email}); err != nil {
		h.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "chat.email", slog.String("outcome", "not_recorded"), slog.String("error", err.Error()))
	}
}

func validClientID(s string) bool {
	if s == "" || len(s) > maxClientID {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// View is a timeline entry as the visitor sees it: its own messages and
// the replies to it, nothing internal (agents' ids, notes, events).
type View struct {
	ID              string      `json:"id"`
	ClientMessageID string      `json:"clientMessageId,omitempty"`
	Direction       string      `json:"direction"`
	Body            string      `json:"body"`
	Media           []ViewMedia `json:"media,omitempty"`
	Auto            bool        `json:"auto,omitempty"`
	CreatedAt       time.Time   `json:"createdAt"`
	Cursor          string      `json:"cursor"`
	Status          string      `json:"status,omitempty"`
}

// ViewMedia is an attachment's type and link.
type ViewMedia struct {
	URL         string `json:"url"`
	ContentType string `json:"contentType"`
	Filename    string `json:"filename,omitempty"`
}

// ViewOf is the visitor's view of m; link gives a stored attachment's
// URL (nil: stored ones are left out).
func ViewOf(m conversation.Message, link func(key string) string) View {
	v := View{ID: m.ID, Direction: string(m.Direction), Body: m.Body, Auto: m.Kind == conversation.KindAuto,
		CreatedAt: m.CreatedAt.UTC(), Cursor: m.ConversationID + "." + m.Cursor(), Status: m.Status}
	if m.Direction == conversation.DirectionInbound {
		v.ClientMessageID = m.ProviderMessageID
	}
	for _, md := range m.Media {
		u := ""
		if md.Key != "" && link != nil {
			u = link(md.Key)
		}
		if u != "" {
			v.Media = append(v.Media, ViewMedia{URL: u, ContentType: md.ContentType, Filename: md.Filename})
		}
	}
	return v
}

// visible reports whether the visitor sees m: this channel's messages
// both ways, not notes, events or quiet entries.
func visible(m conversation.Message) bool {
	if m.Channel != conversation.ChannelWebchat || m.Unsent {
		return false
	}
	switch m.Kind {
	case "", conversation.KindAuto:
		return true
	}
	return false
}

// maxHistoryPages bounds how far back a sync reads (100 entries a page).
const maxHistoryPages = 10

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	c, ok := h.visitor(w, r)
	if !ok {
		return
	}
	views, next, err := h.History(r.Context(), identity(c), r.URL.Query().Get("after"))
	if err != nil {
		h.fail(w, r, "chat.history", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": views, "next": next})
}

// History returns what the visitor sees of its latest conversation after
// the cursor after ("" for all of it, up to 1 000 entries back), oldest
// first, and the cursor to continue from. A cursor of an earlier
// conversation reads the new one from its start.
func (h *Handler) History(ctx context.Context, id conversation.Identity, after string) ([]View, string, error) {
	route, err := h.cfg.Service.Store.Route(ctx, id)
	if errors.Is(err, conversation.ErrNotFound) {
		return []View{}, after, nil
	}
	if err != nil {
		return nil, "", err
	}
	conv := route.ConversationID
	if conv == "" {
		conv = route.LastConversationID
	}
	if conv == "" {
		return []View{}, after, nil
	}
	afterConv, afterCur, _ := strings.Cut(after, ".")
	if afterConv != conv {
		afterCur = ""
	}
	var entries []conversation.Message
	before := ""
	for range maxHistoryPages {
		page, prev, err := h.cfg.Service.Store.Timeline(ctx, conv, before, 100)
		if errors.Is(err, conversation.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, "", err
		}
		entries = append(page, entries...)
		if prev == "" || (len(page) > 0 && afterCur != "" && page[0].Cursor() <= afterCur) {
			break
		}
		before = prev
	}
	views := []View{}
	next := after
	for _, m := range entries {
		if afterCur != "" && m.Cursor() <= afterCur {
			continue
		}
		if visible(m) {
			v := h.view(ctx, m)
			views = append(views, v)
			next = v.Cursor
			if m.Direction == conversation.DirectionOutbound && m.Status == conversation.StatusSent && m.ProviderMessageID != "" {
				// The visitor has it now: no email follow-up.
				if _, err := h.cfg.Service.RecordStatus(ctx, Provider, m.ProviderMessageID, conversation.StatusUpdate{Status: conversation.StatusDelivered, At: time.Now()}); err != nil {
					h.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "chat.delivered", slog.String("outcome", "not_recorded"), slog.String("error", err.Error()))
				}
				v.Status = conversation.StatusDelivered
				views[len(views)-1] = v
			}
		}
	}
	return views, next, nil
}

// SiteConfig is GET /chat/config's answer: what the widget needs.
type SiteConfig struct {
	Site             string `json:"site"`
	Name             string `json:"name"`
	SocketURL        string `json:"socketUrl"`
	PreChatEmail     string `json:"preChatEmail"`
	Locale           string `json:"locale,omitempty"`
	IdentityRequired bool   `json:"identityRequired,omitempty"`
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	s, ok := h.site(r.URL.Query().Get("site"))
	if !ok {
		writeError(w, http.StatusNotFound, "unknown_site", "no chat site "+strconvQuote(r.URL.Query().Get("site")))
		return
	}
	if !h.cors(w, r, s) {
		return
	}
	sock := h.cfg.SocketURL
	if sock == "" {
		sock = "ws" + strings.TrimPrefix(h.cfg.Self, "http") + "/chat/ws"
	}
	pre := s.PreChatEmail
	if pre == "" {
		pre = "off"
	}
	name := s.Name
	if name == "" {
		name = s.ID
	}
	w.Header().Set("Cache-Control", "max-age=60")
	writeJSON(w, http.StatusOK, SiteConfig{Site: s.ID, Name: name, SocketURL: sock, PreChatEmail: pre, Locale: s.Locale, IdentityRequired: s.IdentityRequired})
}

func (h *Handler) file(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := static.ReadFile(name)
		if err != nil {
			h.fail(w, r, "chat.static", err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(contentType, "text/html") {
			// The demo page: its own script and the widget's, no inline code.
			w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; frame-ancestors 'none'")
		}
		_, _ = w.Write(b)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, event string, err error) {
	var ce *webhook.Error
	switch {
	case errors.As(err, &ce):
		writeError(w, ce.Status, "bad_request", ce.Reason)
		return
	case errors.Is(err, conversation.ErrInvalid):
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelError, event, slog.String("outcome", "error"), slog.String("error", err.Error()))
	writeError(w, http.StatusServiceUnavailable, "unavailable", "not stored: try again")
}

// decode reads a JSON body of at most max bytes into v, answering 413 or
// 400 when it cannot.
func decode(w http.ResponseWriter, r *http.Request, max int64, v any) bool {
	body, err := webhook.ReadBody(r, max)
	var ce *webhook.Error
	if errors.As(err, &ce) && ce.Status == http.StatusRequestEntityTooLarge {
		writeError(w, ce.Status, "request_too_large", ce.Reason)
		return false
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the body could not be read")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_json", "the body is not the JSON expected: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, reason string) {
	writeJSON(w, status, map[string]string{"error": reason, "code": code})
}

func strconvQuote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
