package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// WeChatReplies sends WeChat replies with the customer-service message API
// (POST $WECHAT_API_URL/cgi-bin/message/custom/send?access_token=…,
// {"touser","msgtype":"text","text":{"content"}}), allowed within 48 hours
// of the follower's last message (the rules refuse later ones first). The
// access token comes from /cgi-bin/token with the AppID and AppSecret, is
// kept in memory and fetched again 5 minutes before it expires, or at once
// when WeChat says it is invalid or expired (40001, 40014, 42001: that
// send is tried once more). silenceper/wechat does the same, but against
// its fixed api.weixin.qq.com and its own cache; this keeps the base URL
// configurable for the stand-in and the token in the notifier's memory.
type WeChatReplies struct {
	BaseURL, AppID, AppSecret string
	Client                    *http.Client
	Now                       func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// WeChat's error codes the sender acts on.
const (
	wechatBusy          = -1
	wechatTokenInvalid  = 40001
	wechatTokenBad      = 40014
	wechatTokenExpired  = 42001
	wechatOutOfTimeSpan = 45015
)

type wechatAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	MsgID       int64  `json:"msgid"`
}

func (w *WeChatReplies) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// accessToken is the cached token, fetched when missing or near expiry.
func (w *WeChatReplies) accessToken(ctx context.Context, fresh bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !fresh && w.token != "" && w.now().Before(w.expires) {
		return w.token, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {w.AppID}, "secret": {w.AppSecret}}
	var a wechatAnswer
	if err := w.call(ctx, http.MethodGet, "/cgi-bin/token?"+q.Encode(), nil, &a); err != nil {
		return "", fmt.Errorf("wechat access token: %w", err)
	}
	if a.AccessToken == "" {
		if a.ErrCode == wechatBusy {
			return "", fmt.Errorf("wechat access token: %d %s", a.ErrCode, a.ErrMsg)
		}
		return "", &PermanentError{Code: strconv.Itoa(a.ErrCode), Reason: "WeChat refused the AppID/AppSecret: " + a.ErrMsg}
	}
	life := time.Duration(a.ExpiresIn) * time.Second
	if life <= 0 {
		life = 2 * time.Hour
	}
	w.token, w.expires = a.AccessToken, w.now().Add(life-5*time.Minute)
	return w.token, nil
}

func (w *WeChatReplies) call(ctx context.Context, method, path string, body []byte, out *wechatAnswer) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(w.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := w.Client.Do(req)
	if err != nil {
		return redactToken(err, w.AppSecret)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode) // WeChat answers 200; anything else is its trouble
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("answer not JSON: %w", err)
	}
	return nil
}

// SendReply implements ReplySender.
func (w *WeChatReplies) SendReply(ctx context.Context, m conversation.Message) (string, error) {
	payload, _ := json.Marshal(map[string]any{"touser": m.To, "msgtype": "text", "text": map[string]string{"content": m.Body}})
	for attempt := 0; ; attempt++ {
		token, err := w.accessToken(ctx, attempt > 0)
		if err != nil {
			return "", err
		}
		var a wechatAnswer
		if err := w.call(ctx, http.MethodPost, "/cgi-bin/message/custom/send?access_token="+url.QueryEscape(token), payload, &a); err != nil {
			return "", fmt.Errorf("wechat custom send: %w", redactToken(err, token))
		}
		switch a.ErrCode {
		case 0:
			if a.MsgID != 0 {
				return strconv.FormatInt(a.MsgID, 10), nil
			}
			return "wechat-" + SendJobID(m.ID), nil // WeChat names no id for a custom message
		case wechatTokenInvalid, wechatTokenBad, wechatTokenExpired:
			if attempt == 0 {
				continue // a token refreshed elsewhere: fetch one and try once more
			}
		case wechatBusy:
			return "", fmt.Errorf("wechat custom send: %d %s", a.ErrCode, a.ErrMsg)
		case wechatOutOfTimeSpan:
			return "", &PermanentError{Code: strconv.Itoa(a.ErrCode), Reason: "WeChat: outside the 48-hour customer-service window (" + a.ErrMsg + ")"}
		}
		return "", &PermanentError{Code: strconv.Itoa(a.ErrCode), Reason: "WeChat: " + a.ErrMsg}
	}
}
