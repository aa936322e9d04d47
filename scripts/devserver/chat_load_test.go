package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestTwentyVisitorsAtOnce: 20 visitors chat at the same time on the dev
// server, each message posted twice (a retry racing the first try), and an
// agent answers each conversation with a double-clicked reply: every
// message is stored once and every reply reaches its visitor's socket
// once, and no one else's.
func TestTwentyVisitorsAtOnce(t *testing.T) {
	target := startDev(t)
	const visitors, perVisitor = 20, 3
	type visitor struct {
		token  string
		frames chan map[string]any
		conn   *websocket.Conn
	}
	vs := make([]*visitor, visitors)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := &visitor{frames: make(chan map[string]any, 16)}
			var s struct{ Token string }
			if code := postJSON(t, target+"/chat/sessions", "", `{"site":"demo"}`, &s); code != 200 {
				t.Errorf("session: %d", code)
				return
			}
			v.token = s.Token
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(target, "http")+"/chat/ws?token="+s.Token, nil)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			v.conn = c
			go func() {
				for {
					_, data, err := c.Read(ctx)
					if err != nil {
						close(v.frames)
						return
					}
					var f map[string]any
					_ = json.Unmarshal(data, &f)
					v.frames <- f
				}
			}()
			vs[i] = v
			var inner sync.WaitGroup
			for m := range perVisitor {
				for range 2 { // the message and its retry, at once
					inner.Add(1)
					go func() {
						defer inner.Done()
						body := fmt.Sprintf(`{"body":"visitor %d message %d","clientMessageId":"m%d"}`, i, m, m)
						if code := postJSON(t, target+"/chat/messages", v.token, body, nil); code != 201 && code != 200 {
							t.Errorf("visitor %d message %d: %d", i, m, code)
						}
					}()
				}
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	convs := agentGet(t, target, "/api/conversations?status=open&limit=100")["conversations"].([]any)
	if len(convs) != visitors {
		t.Fatalf("%d conversations, want %d", len(convs), visitors)
	}
	// The agent answers every conversation, each reply double-clicked.
	replyOf := map[string]string{} // conversation → the reply's body
	for _, c := range convs {
		id := c.(map[string]any)["id"].(string)
		timeline := notAuto(agentGet(t, target, "/api/conversations/"+id)["messages"].([]any))
		if len(timeline) != perVisitor {
			t.Errorf("conversation %s has %d messages, want %d once each", id, len(timeline), perVisitor)
		}
		body := "answer for " + timeline[0].(map[string]any)["body"].(string)
		replyOf[id] = body
		var two sync.WaitGroup
		for range 2 {
			two.Add(1)
			go func() {
				defer two.Done()
				b, _ := json.Marshal(map[string]string{"body": body})
				req, _ := http.NewRequest(http.MethodPost, target+"/api/conversations/"+id+"/messages", strings.NewReader(string(b)))
				req.Header.Set("Authorization", "Bearer local-dev-agent-token")
				req.Header.Set("Idempotency-Key", "answer-"+id)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 202 && resp.StatusCode != 200 && resp.StatusCode != 409 {
					t.Errorf("reply: %d", resp.StatusCode)
				}
			}()
		}
		two.Wait()
	}
	// Each visitor's socket gets its own answer, once.
	for i, v := range vs {
		want := fmt.Sprintf("answer for visitor %d message ", i)
		got := 0
		deadline := time.After(20 * time.Second)
	wait:
		for got == 0 {
			select {
			case f, ok := <-v.frames:
				if !ok {
					break wait
				}
				if f["type"] == "message.created" && f["data"].(map[string]any)["auto"] != true {
					body := f["data"].(map[string]any)["body"].(string)
					if !strings.HasPrefix(body, want) {
						t.Errorf("visitor %d got %q", i, body)
					}
					got++
				}
			case <-deadline:
				break wait
			}
		}
		// Anything more within a moment would be a second delivery.
		select {
		case f := <-v.frames:
			if f["type"] == "message.created" && f["data"].(map[string]any)["auto"] != true {
				got++
			}
		case <-time.After(200 * time.Millisecond):
		}
		if got != 1 {
			t.Errorf("visitor %d got %d replies, want 1", i, got)
		}
		_ = v.conn.Close(websocket.StatusNormalClosure, "")
	}
	sent := 0
	for _, c := range convs {
		id := c.(map[string]any)["id"].(string)
		for _, m := range agentGet(t, target, "/api/conversations/"+id)["messages"].([]any) {
			if m.(map[string]any)["direction"] == "outbound" && m.(map[string]any)["kind"] != "auto" {
				sent++
			}
		}
	}
	if sent != visitors {
		t.Errorf("%d replies stored, want %d (one per conversation)", sent, visitors)
	}
}

// notAuto drops the automatic replies (the acknowledgement) from a
// timeline, leaving what the visitor and the agents wrote.
func notAuto(timeline []any) []any {
	var out []any
	for _, m := range timeline {
		if m.(map[string]any)["kind"] != "auto" {
			out = append(out, m)
		}
	}
	return out
}

func postJSON(t *testing.T, url, token, body string, out any) int {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestChatReplyNobodySawGoesByEmail: a reply to a visitor with no live
// socket waits CHAT_OFFLINE_AFTER and then goes, once, to the email they
// gave before chatting; a reply pushed to a live socket, or one a sync
// read meanwhile, does not.
func TestChatReplyNobodySawGoesByEmail(t *testing.T) {
	target := startDev(t, "CHAT_OFFLINE_AFTER", "1s", "DEV_SWEEP_EVERY", "100ms")
	type visitor struct{ token, conv string }
	start := func(email, msg string) visitor {
		var s struct{ Token string }
		if code := postJSON(t, target+"/chat/sessions", "", `{"site":"demo","email":"`+email+`"}`, &s); code != 200 {
			t.Fatalf("session: %d", code)
		}
		var m struct{ Message struct{ Cursor string } }
		if code := postJSON(t, target+"/chat/messages", s.Token, `{"body":"`+msg+`","clientMessageId":"c1"}`, &m); code != 201 {
			t.Fatalf("message: %d", code)
		}
		conv, _, _ := strings.Cut(m.Message.Cursor, ".")
		return visitor{s.Token, conv}
	}
	away := start("away@example.com", "anyone there?")
	live := start("live@example.com", "hello")
	synced := start("synced@example.com", "hi")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(target, "http")+"/chat/ws?token="+live.token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	time.Sleep(100 * time.Millisecond) // the socket registered
	for _, v := range []visitor{away, live, synced} {
		agentReply(t, target, v.conv, "r-"+v.conv, "We are here: order 7 ships Monday.")
	}
	// The synced visitor reads the history before the second is up.
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, target+"/chat/messages", nil)
		req.Header.Set("Authorization", "Bearer "+synced.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var h struct {
			Messages []struct {
				Direction, Status string
				Auto              bool
			}
		}
		_ = json.NewDecoder(resp.Body).Decode(&h)
		resp.Body.Close()
		// The history holds the visitor's message, the acknowledgement
		// (automatic) and the agent's reply, delivered.
		if n := len(h.Messages); n == 3 && !h.Messages[n-1].Auto && h.Messages[n-1].Status == "delivered" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the synced visitor never saw the reply: %+v", h)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The away visitor's reply goes by email, once.
	var mails []string
	deadline = time.Now().Add(15 * time.Second)
	for len(mails) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		mails = nil
		for _, s := range outbox(t, target) {
			if s.Channel == "email" {
				mails = append(mails, s.To)
			}
		}
	}
	time.Sleep(1500 * time.Millisecond) // another sweep or two: nothing more
	mails = nil
	for _, s := range outbox(t, target) {
		if s.Channel == "email" {
			mails = append(mails, s.To)
			if !strings.Contains(s.Body, "order 7 ships Monday") {
				t.Errorf("the email says %q", s.Body)
			}
		}
	}
	if len(mails) != 1 || mails[0] != "away@example.com" {
		t.Fatalf("emails to %v, want one to away@example.com", mails)
	}
	statuses := map[string]string{}
	for _, v := range []visitor{away, live, synced} {
		for _, m := range agentGet(t, target, "/api/conversations/"+v.conv)["messages"].([]any) {
			mm := m.(map[string]any)
			if mm["direction"] == "outbound" && mm["channel"] == "webchat" && mm["kind"] != "auto" {
				statuses[v.conv] = mm["status"].(string)
			}
		}
	}
	if statuses[live.conv] != "delivered" || statuses[synced.conv] != "delivered" || statuses[away.conv] != "sent" {
		t.Errorf("reply statuses: away %s, live %s, synced %s; want sent, delivered, delivered",
			statuses[away.conv], statuses[live.conv], statuses[synced.conv])
	}
}
