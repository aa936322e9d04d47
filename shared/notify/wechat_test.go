package notify_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/notify"
)

// wechatAPI checks the token and customer-service APIs as WeChat documents
// them (GET /cgi-bin/token?grant_type=client_credential&appid&secret; POST
// /cgi-bin/message/custom/send?access_token with touser, msgtype text and
// text.content) and answers as WeChat does: errcode 0, or the error set.
type wechatAPI struct {
	t      *testing.T
	mu     sync.Mutex
	tokens int
	sends  []map[string]any
	expire bool // the next send says 42001 (expired)
}

func (s *wechatAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/cgi-bin/token":
		if q.Get("grant_type") != "client_credential" || q.Get("appid") != "wxAPP" || q.Get("secret") != "app-secret" {
			fmt.Fprint(w, `{"errcode":40013,"errmsg":"invalid appid"}`)
			return
		}
		s.tokens++
		fmt.Fprintf(w, `{"access_token":"T%d","expires_in":7200}`, s.tokens)
	case r.Method == http.MethodPost && r.URL.Path == "/cgi-bin/message/custom/send":
		var body struct {
			ToUser  string `json:"touser"`
			MsgType string `json:"msgtype"`
			Text    struct {
				Content string `json:"content"`
			} `json:"text"`
		}
		raw, _ := io.ReadAll(r.Body)
		if json.Unmarshal(raw, &body) != nil || body.ToUser == "" || body.MsgType != "text" || body.Text.Content == "" {
			s.t.Errorf("wechat stand-in: %s", raw)
			fmt.Fprint(w, `{"errcode":44002,"errmsg":"empty post data"}`)
			return
		}
		switch {
		case q.Get("access_token") != fmt.Sprintf("T%d", s.tokens):
			fmt.Fprint(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
		case s.expire:
			s.expire = false
			fmt.Fprint(w, `{"errcode":42001,"errmsg":"access_token expired"}`)
		case body.Text.Content == "late":
			fmt.Fprint(w, `{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}`)
		default:
			var b map[string]any
			_ = json.Unmarshal(raw, &b)
			s.sends = append(s.sends, b)
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
		}
	default:
		s.t.Errorf("wechat stand-in: %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestWeChatReply: a follower writes, the agent answers through the
// customer-service API with a token fetched once and reused; an expired
// token is fetched again and the send tried once more; WeChat's 45015 fails
// the reply; a reply past 48 hours is refused before it is queued.
func TestWeChatReply(t *testing.T) {
	api := &wechatAPI{t: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	o := newOutbox(t)
	o.notifier.Replies[conversation.ChannelWeChat] = &notify.WeChatReplies{BaseURL: srv.URL, AppID: "wxAPP", AppSecret: "app-secret", Client: srv.Client()}
	id, _ := conversation.Normalizer{}.Platform(conversation.KindWeChat, "oyORnuP8q7ou2gfYjqLzSIWZf0rs")
	in := o.customer("wechat:msg:1", conversation.ChannelWeChat, id, "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "gh_10f6c3c3ac5a", "你好", o.clock)
	for i, body := range []string{"您好！", "second", "late"} {
		if i == 1 {
			api.mu.Lock()
			api.expire = true
			api.mu.Unlock()
		}
		if code, out := o.post(in.ConversationID, fmt.Sprint("w", i), `{"body":"`+body+`"}`); code != http.StatusAccepted {
			t.Fatalf("reply %d: %d %v", i, code, out)
		}
		if failed := o.deliver(); failed != 0 {
			t.Fatalf("%d failed", failed)
		}
	}
	api.mu.Lock()
	if len(api.sends) != 2 || api.sends[0]["touser"] != "oyORnuP8q7ou2gfYjqLzSIWZf0rs" || api.tokens != 2 {
		t.Errorf("sends %v with %d tokens fetched, want 2 sends and 2 tokens (the second after the expiry)", api.sends, api.tokens)
	}
	api.mu.Unlock()
	_, msgs, _ := o.store.Conversation(t.Context(), in.ConversationID)
	status := map[string]string{}
	for _, m := range msgs {
		status[m.Body] = m.Status + " " + m.ErrorCode
	}
	if status["您好！"] != "sent " || status["second"] != "sent " || status["late"] != "failed 45015" {
		t.Errorf("statuses: %v", status)
	}
	o.clock = o.clock.Add(49 * time.Hour)
	if code, out := o.post(in.ConversationID, "w9", `{"body":"too late"}`); code != http.StatusConflict || out["code"] != "wechat_window" {
		t.Errorf("after 49 hours: %d %v", code, out)
	}
}
