package webchat

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Pusher sends a frame to every live connection of a visitor (its
// identity key) and says to how many it went; a visitor with none gets
// the frame's content at its next sync.
type Pusher interface {
	Push(ctx context.Context, visitor string, frame []byte) (int, error)
}

// Frame is a socket frame's JSON: {"type","data"} (DESIGN.md section 6).
func Frame(kind string, data any) []byte {
	b, _ := json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data,omitempty"`
	}{kind, data})
	return b
}

// Frame types the server sends.
const (
	FrameMessage = "message.created"
	FrameTyping  = "typing"
	FrameStatus  = "status"
	FramePong    = "pong"
)

// MaxFrame is API Gateway's WebSocket frame cap; the widget's frames are
// far smaller (a ping, typing) and messages go over HTTP.
const MaxFrame = 32 << 10

// Hub is the dev server's socket (GET /chat/ws?token=): the same frames
// and the same limits as API Gateway's WebSocket API, in the process.
type Hub struct {
	Signer *Signer
	// Self is always an allowed origin (Handler's); the sites' own come
	// from Register's origins.
	Self string

	mu    sync.Mutex
	conns map[string]map[*websocket.Conn]struct{}
}

// Register mounts GET /chat/ws and the dev route POST /dev/chat/disconnect
// (every socket closed, as API Gateway's 2-hour cap would).
func (h *Hub) Register(mux *http.ServeMux, origins func(site string) []string) {
	mux.HandleFunc("GET /chat/ws", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, origins) })
	mux.HandleFunc("POST /dev/chat/disconnect", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int{"closed": h.DisconnectAll()})
	})
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request, origins func(site string) []string) {
	c, err := h.Signer.Verify(r.URL.Query().Get("token"))
	if err != nil {
		writeError(w, http.StatusUnauthorized, "token_invalid", "the visitor token is missing, expired or not ours")
		return
	}
	if !allowedOrigin(r.Header.Get("Origin"), h.Self, origins(c.Site)) {
		writeError(w, http.StatusForbidden, "origin_not_allowed", "this page's origin may not open the chat of site "+c.Site)
		return
	}
	// The origin is checked above, by the same rule as the deployed socket's.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	conn.SetReadLimit(MaxFrame)
	h.add(c.Subject, conn)
	defer h.remove(c.Subject, conn)
	ctx := r.Context()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		var f struct{ Type string }
		if json.Unmarshal(data, &f) == nil && f.Type == "ping" {
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = conn.Write(wctx, websocket.MessageText, Frame(FramePong, nil))
			cancel()
		}
	}
}

func (h *Hub) add(visitor string, c *websocket.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns == nil {
		h.conns = map[string]map[*websocket.Conn]struct{}{}
	}
	if h.conns[visitor] == nil {
		h.conns[visitor] = map[*websocket.Conn]struct{}{}
	}
	h.conns[visitor][c] = struct{}{}
}

func (h *Hub) remove(visitor string, c *websocket.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns[visitor], c)
	if len(h.conns[visitor]) == 0 {
		delete(h.conns, visitor)
	}
}

// Push implements Pusher: a connection that cannot take the frame within
// 5 seconds is closed and dropped (only that one).
func (h *Hub) Push(ctx context.Context, visitor string, frame []byte) (int, error) {
	h.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(h.conns[visitor]))
	for c := range h.conns[visitor] {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	n := 0
	for _, c := range conns {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := c.Write(wctx, websocket.MessageText, frame)
		cancel()
		if err != nil {
			h.remove(visitor, c)
			_ = c.CloseNow()
			continue
		}
		n++
	}
	return n, nil
}

// DisconnectAll closes every socket ("going away") and says how many.
func (h *Hub) DisconnectAll() int {
	h.mu.Lock()
	var all []*websocket.Conn
	for _, cs := range h.conns {
		for c := range cs {
			all = append(all, c)
		}
	}
	h.mu.Unlock()
	for _, c := range all {
		_ = c.Close(websocket.StatusGoingAway, "server closed the connection")
	}
	return len(all)
}

// Live is how many sockets a visitor has open.
func (h *Hub) Live(visitor string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns[visitor])
}
