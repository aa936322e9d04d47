package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/line"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/meta"
	"github.com/switchboard/switchboard/shared/telegram"
	"github.com/switchboard/switchboard/shared/wechat"
	"github.com/switchboard/switchboard/shared/xdm"
)

var update = flag.Bool("update", false, "rewrite events/meta, events/telegram, events/line, events/x and events/wechat from ../shared/corpus")

const corpus = "../../../shared/corpus/"

type sample struct {
	event  string // events/<event>.json
	method string
	query  string
	source func(t *testing.T) string // the body, from the corpus
	sign   string                    // meta, telegram, forged-meta, forged-telegram, or ""
	status int
}

func file(name string) func(t *testing.T) string {
	return func(t *testing.T) string {
		b, err := os.ReadFile(corpus + name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
}

// pageOf wraps a corpus Messenger event in a page envelope.
func pageOf(name string) func(t *testing.T) string {
	return func(t *testing.T) string {
		return `{"object":"page","entry":[{"id":"<PAGE_ID>","time":1458692752478,"messaging":[` + file(name)(t) + `]}]}`
	}
}

var samples = []sample{
	{"meta/whatsapp-text", "POST", "", file("meta/official-whatsapp-text.json"), "meta", 200},
	{"meta/messenger-text", "POST", "", pageOf("meta/official-messenger-messages-text.event.json"), "meta", 200},
	{"meta/messenger-echo", "POST", "", pageOf("meta/official-messenger-message-echoes.event.json"), "meta", 200},
	{"meta/whatsapp-status", "POST", "", file("meta/official-whatsapp-status-delivered.json"), "meta", 200},
	{"meta/forged", "POST", "", file("meta/official-whatsapp-text.json"), "forged-meta", 403},
	{"meta/handshake", "GET", "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=" + devenv.MetaVerifyToken, func(*testing.T) string { return "" }, "", 200},
	{"telegram/message-text", "POST", "", file("telegram/official-message-text.json"), "telegram", 200},
	{"telegram/edited-message", "POST", "", func(t *testing.T) string {
		return strings.Replace(file("telegram/official-edited-message.json")(t), `"update_id": 10000`, `"update_id": 10001`, 1)
	}, "telegram", 200},
	{"telegram/forged", "POST", "", file("telegram/official-message-text.json"), "forged-telegram", 403},
	{"line/message-text", "POST", "", file("line/java-sdk-callback-webhook-redelivery.json"), "line", 200},
	{"line/verify", "POST", "", file("line/docs-verify-request-empty-events.json"), "line", 200},
	{"line/forged", "POST", "", file("line/java-sdk-callback-text-user.json"), "forged-line", 403},
	{"x/dm-received", "POST", "", file("x/docs-xaa-dm.received.json"), "x", 200},
	{"x/dm-legacy", "POST", "", file("x/docs-aaa-direct_message_events.json"), "x", 200},
	{"x/crc", "GET", "crc_token=9b4507b3-9040-4669-9ca3-6b94edb50553", func(*testing.T) string { return "" }, "", 200},
	{"x/forged", "POST", "", file("x/docs-xaa-dm.received.json"), "forged-x", 403},
	{"wechat/message-text", "POST", "openid=fromUser", file("wechat/wechatpy-test_parser-text.xml"), "wechat", 200},
	{"wechat/subscribe", "POST", "openid=FromUser", file("wechat/wechatpy-test_parser-event-subscribe-qrscene.xml"), "wechat", 200},
	{"wechat/verify", "GET", "echostr=5939185137456385431", func(*testing.T) string { return "" }, "wechat", 200},
	{"wechat/forged", "POST", "openid=fromUser", file("wechat/wechatpy-test_parser-text.xml"), "forged-wechat", 403},
}

// sampleTime is when the WeChat samples are signed (their replay window is
// 5 minutes, so a test replaying them signs them again: resign).
var sampleTime = time.Unix(1795338000, 0)

// resign gives a WeChat sample's query a fresh timestamp and signature.
func resign(ev *events.APIGatewayV2HTTPRequest) {
	if ev.RawPath != wechat.Path {
		return
	}
	q, _ := url.ParseQuery(ev.RawQueryString)
	if q.Get("signature") == wechat.Signature("not-the-token", q.Get("timestamp"), q.Get("nonce")) {
		return // the forged one stays forged
	}
	ev.RawQueryString = wechat.SignQuery(q, devenv.WeChatToken, time.Now()).Encode()
}

func envelope(t *testing.T, s sample) events.APIGatewayV2HTTPRequest {
	path := meta.Path
	switch {
	case strings.HasPrefix(s.event, "telegram/"):
		path = telegram.Path
	case strings.HasPrefix(s.event, "line/"):
		path = line.Path
	case strings.HasPrefix(s.event, "x/"):
		path = xdm.Path
	case strings.HasPrefix(s.event, "wechat/"):
		path = wechat.Path
	}
	body := s.source(t)
	h := map[string]string{"host": "127.0.0.1:3000", "accept": "*/*"}
	if s.method == "POST" {
		h["content-type"] = "application/json"
		h["content-length"] = fmt.Sprint(len(body))
	}
	switch s.sign {
	case "meta":
		h["x-hub-signature-256"] = meta.Sign(devenv.MetaAppSecret, []byte(body))
		h["user-agent"] = "facebookexternalua"
	case "forged-meta":
		h["x-hub-signature-256"] = meta.Sign("not-the-app-secret", []byte(body))
	case "telegram":
		h["x-telegram-bot-api-secret-token"] = devenv.TelegramSecretToken
	case "forged-telegram":
		h["x-telegram-bot-api-secret-token"] = "guessed"
	case "line":
		h["x-line-signature"] = line.Sign(devenv.LineChannelSecret, []byte(body))
	case "forged-line":
		h["x-line-signature"] = line.Sign("not-the-channel-secret", []byte(body))
	case "x":
		h["x-twitter-webhooks-signature"] = xdm.Sign(devenv.XConsumerSecret, []byte(body))
	case "wechat", "forged-wechat":
		q, _ := url.ParseQuery(s.query)
		tok := devenv.WeChatToken
		if s.sign == "forged-wechat" {
			tok = "not-the-token"
		}
		s.query = wechat.SignQuery(q, tok, sampleTime).Encode()
		if s.method == "POST" {
			h["content-type"] = "text/xml"
		}
	case "forged-x":
		h["x-twitter-webhooks-signature"] = xdm.Sign("not-the-consumer-secret", []byte(body))
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: s.query, Headers: h,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "123456789012", APIID: "aaaaaaaaaa", DomainName: "aaaaaaaaaa.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "aaaaaaaaaa", RequestID: "LV7fzho-PHcEJPz=", RouteKey: "$default", Stage: "$default",
			Time: "22/Nov/2026:09:00:00 +0000", TimeEpoch: 1795338000000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: s.method, Path: path, Protocol: "HTTP/1.1", SourceIP: "173.252.127.1"},
		},
		Body: body,
	}
}

// TestEventsInStep keeps events/meta and events/telegram equal to what the
// corpus makes.
func TestEventsInStep(t *testing.T) {
	for _, s := range samples {
		want, _ := json.MarshalIndent(envelope(t, s), "", "  ")
		want = append(want, '\n')
		path := filepath.Join("../../events", s.event+".json")
		if *update {
			_ = os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != string(want) {
			t.Errorf("%s is out of step: go test ./functions/social -run TestEventsInStep -update", path)
		}
	}
}

func localEnv(t *testing.T, table string) {
	t.Setenv("TABLE_NAME", table)
	for k, v := range map[string]string{"META_APP_SECRET": devenv.MetaAppSecret, "META_VERIFY_TOKEN": devenv.MetaVerifyToken,
		"TELEGRAM_SECRET_TOKEN": devenv.TelegramSecretToken, "LINE_CHANNEL_SECRET": devenv.LineChannelSecret,
		"X_CONSUMER_SECRET": devenv.XConsumerSecret, "WECHAT_TOKEN": devenv.WeChatToken} {
		t.Setenv(k, v)
		t.Setenv(k+"_PARAM", "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
}

// TestLambdaOnDynamoDBLocal runs main's setup with the sample envelopes.
func TestLambdaOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	localEnv(t, localaws.Table(t, db))
	var logs strings.Builder
	h, err := setup(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(h)
	for _, s := range samples {
		raw, err := os.ReadFile(filepath.Join("../../events", s.event+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		resign(&ev)
		resp, err := proxy.ProxyWithContext(context.Background(), ev)
		if err != nil || resp.StatusCode != s.status {
			t.Errorf("%s: %v %d %s", s.event, err, resp.StatusCode, resp.Body)
		}
		if s.event == "meta/handshake" && resp.Body != "1158201444" {
			t.Errorf("handshake answered %q", resp.Body)
		}
	}
	for _, leak := range []string{"16505551234", "Does it come", devenv.MetaAppSecret, devenv.TelegramSecretToken, devenv.LineChannelSecret, "Hello, world", "Sheena"} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}

func TestSetupPlatforms(t *testing.T) {
	localEnv(t, "t-x")
	for _, k := range []string{"META_APP_SECRET", "TELEGRAM_SECRET_TOKEN", "LINE_CHANNEL_SECRET", "X_CONSUMER_SECRET", "WECHAT_TOKEN"} {
		t.Setenv(k, "")
	}
	var logs strings.Builder
	if _, err := setup(context.Background(), slog.New(slog.NewTextHandler(&logs, nil))); err != nil || !strings.Contains(logs.String(), "TELEGRAM_SECRET_TOKEN") {
		t.Errorf("no platform: %v; the start log must say what to set: %s", err, logs.String())
	}
	t.Setenv("META_APP_SECRET", "x")
	t.Setenv("META_VERIFY_TOKEN", "")
	if _, err := setup(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "META_VERIFY_TOKEN") {
		t.Errorf("err = %v", err)
	}
	// Telegram alone: Meta's route is not served.
	t.Setenv("META_APP_SECRET", "")
	t.Setenv("TELEGRAM_SECRET_TOKEN", "y")
	h, err := setup(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := httpadapter.NewV2(h).ProxyWithContext(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: meta.Path,
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: meta.Path}}})
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unconfigured Meta route: %d", resp.StatusCode)
	}
}
