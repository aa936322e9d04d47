package wechat_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/wechat"
)

const (
	corpus = "../../../shared/corpus/wechat/"
	token  = "wechat-test-token"
)

type vector map[string]any

func (v vector) s(k string) string { s, _ := v[k].(string); return s }

func vectors(t *testing.T) map[string]vector {
	raw, err := os.ReadFile(corpus + "crypto-test-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]vector{}
	for _, v := range file.Vectors {
		out[v.s("id")] = v
	}
	return out
}

type world struct {
	t     *testing.T
	store conversation.Store
	mux   *http.ServeMux
}

func newWorld(t *testing.T, st conversation.Store, cfg wechat.Config) *world {
	w := &world{t: t, store: st, mux: http.NewServeMux()}
	if cfg.Token == "" {
		cfg.Token = token
	}
	cfg.Service = &conversation.Service{Store: st, Team: "support"}
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := wechat.NewHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.Register(w.mux)
	return w
}

func (w *world) do(method, query string, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, wechat.Path+"?"+query, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/xml")
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	return rec
}

// signed is a plain-mode query signed now.
func signed(tok string, at time.Time) string {
	ts, nonce := strconv.FormatInt(at.Unix(), 10), "1320562132"
	return url.Values{"signature": {wechat.Signature(tok, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "openid": {"o1"}}.Encode()
}

func (w *world) messages() []conversation.Message { return backends.Messages(w.t, w.store) }

func at(ts string) func() time.Time {
	sec, _ := strconv.ParseInt(ts, 10, 64)
	return func() time.Time { return time.Unix(sec, 0).Add(30 * time.Second) }
}

// TestSignatureVectors: G1 through the URL check (its timestamp taken as
// now), G2 and E0 by the helper.
func TestSignatureVectors(t *testing.T) {
	vs := vectors(t)
	g1 := vs["G1"]
	w := newWorld(t, backends.Stores()["memstore"](t), wechat.Config{Token: g1.s("token"), Now: at(g1.s("timestamp"))})
	q := url.Values{"signature": {g1.s("signature")}, "timestamp": {g1.s("timestamp")}, "nonce": {g1.s("nonce")}, "echostr": {"5939185137456385431"}}
	if rec := w.do(http.MethodGet, q.Encode(), ""); rec.Code != http.StatusOK || rec.Body.String() != "5939185137456385431" {
		t.Errorf("URL check: %d %q", rec.Code, rec.Body)
	}
	q.Set("signature", g1.s("badSignature"))
	if rec := w.do(http.MethodGet, q.Encode(), ""); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "5939185137456385431") {
		t.Errorf("bad signature: %d %q", rec.Code, rec.Body)
	}
	stale := newWorld(t, backends.Stores()["memstore"](t), wechat.Config{Token: g1.s("token")})
	q.Set("signature", g1.s("signature"))
	if rec := stale.do(http.MethodGet, q.Encode(), ""); rec.Code != http.StatusForbidden {
		t.Errorf("a 2014 timestamp today: %d, want 403", rec.Code)
	}
	if got := wechat.Signature("a", "b", "c"); got != vs["G2"].s("signature") {
		t.Errorf("G2: %s", got)
	}
	if e0 := vs["E0"]; wechat.Signature(e0.s("token"), e0.s("timestamp"), e0.s("nonce")) != e0.s("signature") {
		t.Error("E0")
	}
}

// TestCryptoVectors: the official encrypt vectors (A1, A2, E's reply) come
// out byte for byte with their fixed random, and the compat (C, D) and
// safe-mode (E) pushes are verified, decrypted to their expected plaintext
// and answered "success" through the handler.
func TestCryptoVectors(t *testing.T) {
	vs := vectors(t)
	for _, id := range []string{"A1", "A2"} {
		v := vs[id]
		got, err := util.EncryptMsg([]byte(v.s("random")), []byte(v.s("plaintext")), v.s("appid"), v.s("encodingAESKey"))
		if err != nil || string(got) != v.s("expectedEncrypt") {
			t.Errorf("%s: %s %v", id, got, err)
		}
		plain, err := wechat.Decrypt(v.s("appid"), v.s("expectedEncrypt"), v.s("encodingAESKey"))
		if err != nil || string(plain) != v.s("plaintext") {
			t.Errorf("%s back: %q %v", id, plain, err)
		}
		if _, err := wechat.Decrypt("wx_another_app", v.s("expectedEncrypt"), v.s("encodingAESKey")); err == nil {
			t.Errorf("%s: decrypted for another AppID", id)
		}
	}
	e := vs["E"]
	reply := e["reply"].(map[string]any)
	enc, err := util.EncryptMsg([]byte(reply["random"].(string)), []byte(reply["plaintext"].(string)), e.s("appid"), e.s("encodingAESKey"))
	if err != nil || string(enc) != reply["expectedEncrypt"] {
		t.Errorf("E reply: %s %v", enc, err)
	}
	if sig := wechat.Signature(e.s("token"), reply["TimeStamp"].(string), reply["Nonce"].(string), string(enc)); sig != reply["expectedMsgSignature"] {
		t.Errorf("E reply signature: %s", sig)
	}

	bodies := map[string]string{
		"C": "official-sample-py-compat-mode-encrypted-text.xml",
		"D": "", // the C++ sample's body: only <Encrypt>
		"E": "official-doc-oplatform-message_push-safe-mode-request.xml",
	}
	for id, file := range bodies {
		v := vs[id]
		plain, err := wechat.Decrypt(v.s("appid"), encryptOf(t, v, file), v.s("encodingAESKey"))
		if err != nil || string(plain) != v.s("expectedPlaintext") {
			t.Errorf("%s: %q %v", id, plain, err)
		}
		for name, ns := range backends.Stores() {
			w := newWorld(t, ns(t), wechat.Config{Token: v.s("token"), EncodingAESKey: v.s("encodingAESKey"), AppID: v.s("appid"), Now: at(v.s("timestamp"))})
			body := "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><Encrypt><![CDATA[" + v.s("Encrypt") + "]]></Encrypt></xml>"
			if file != "" {
				raw, _ := os.ReadFile(corpus + file)
				body = string(raw)
			}
			q := url.Values{"timestamp": {v.s("timestamp")}, "nonce": {v.s("nonce")}, "encrypt_type": {"aes"}, "msg_signature": {v.s("msg_signature")}}
			if rec := w.do(http.MethodPost, q.Encode(), body); rec.Code != http.StatusOK || rec.Body.String() != "success" {
				t.Errorf("%s on %s: %d %q", id, name, rec.Code, rec.Body)
			}
			want := 1
			if id == "E" {
				want = 0 // a debug_demo event: nothing to store
			}
			if msgs := w.messages(); len(msgs) != want || want == 1 && msgs[0].Body != "abcdteT" {
				t.Errorf("%s on %s: %+v", id, name, msgs)
			}
			q.Set("msg_signature", strings.Repeat("0", 40))
			if rec := w.do(http.MethodPost, q.Encode(), body); rec.Code != http.StatusForbidden {
				t.Errorf("%s with a forged msg_signature: %d", id, rec.Code)
			}
		}
	}
}

// encryptOf is the <Encrypt> of a vector's body.
func encryptOf(t *testing.T, v vector, file string) string {
	if file == "" {
		return v.s("Encrypt")
	}
	raw, err := os.ReadFile(corpus + file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wechat.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m.Encrypt
}

// TestCorpusOnBothStores: every plain sample, signed now, is answered
// "success" and stored as the package doc says.
func TestCorpusOnBothStores(t *testing.T) {
	want := map[string]struct {
		body, kind string
		media      int
	}{
		"wechatpy-test_parser-text.xml":                      {"this is a test", "", 0},
		"wechatpy-test_parser-image.xml":                     {"", "", 1},
		"wechatpy-test_parser-voice.xml":                     {"[voice message]", "", 1},
		"wechat-python-sdk-test_basic-voice-recognition.xml": {"腾讯微信团队", "", 1},
		"wechatpy-test_parser-video.xml":                     {"", "", 1},
		"wechatpy-test_parser-location.xml":                  {"📍", "", 0},
		"wechatpy-test_parser-link.xml":                      {"公众平台官网链接", "", 0},
		"wechatpy-test_parser-event-click.xml":               {"[menu] EVENTKEY", "", 0},
		"wechatpy-test_events-event-subscribe.xml":           {"Followed the account", conversation.KindSystem, 0},
		"wechatpy-test_parser-event-subscribe-qrscene.xml":   {"Followed the account (QR code 123123)", conversation.KindSystem, 0},
		"wechatpy-test_events-event-unsubscribe.xml":         {"Unfollowed the account", conversation.KindSystem, 0},
	}
	for name, ns := range backends.Stores() {
		t.Run(name, func(t *testing.T) {
			for file, exp := range want {
				raw, err := os.ReadFile(corpus + file)
				if err != nil {
					t.Fatal(err)
				}
				w := newWorld(t, ns(t), wechat.Config{})
				if rec := w.do(http.MethodPost, signed(token, time.Now()), string(raw)); rec.Code != http.StatusOK || rec.Body.String() != "success" {
					t.Fatalf("%s: %d %q", file, rec.Code, rec.Body)
				}
				msgs := w.messages()
				if len(msgs) != 1 || !strings.HasPrefix(msgs[0].Body, exp.body) || msgs[0].Kind != exp.kind || len(msgs[0].Media) != exp.media ||
					msgs[0].Channel != conversation.ChannelWeChat || msgs[0].Identity.Kind != conversation.KindWeChat {
					t.Errorf("%s: %+v", file, msgs)
				}
			}
			// A PicUrl on WeChat's CDN is copied over https; anything else by media id.
			img := `<xml><ToUserName>gh_1</ToUserName><FromUserName>o1</FromUserName><CreateTime>1348831860</CreateTime><MsgType>image</MsgType>` +
				`<PicUrl>http://mmbiz.qpic.cn/mmbiz_jpg/abc/0</PicUrl><MediaId>m1</MediaId><MsgId>99</MsgId></xml>`
			wi := newWorld(t, ns(t), wechat.Config{})
			if rec := wi.do(http.MethodPost, signed(token, time.Now()), img); rec.Code != http.StatusOK {
				t.Fatal(rec.Code)
			}
			if m := wi.messages(); len(m) != 1 || len(m[0].Media) != 1 || m[0].Media[0].URL != "https://mmbiz.qpic.cn/mmbiz_jpg/abc/0" {
				t.Errorf("image media: %+v", m)
			}
			// The passive reply sample is what a server answers, not a push:
			// without a MsgId it is refused, and nothing is stored.
			raw, _ := os.ReadFile(corpus + "official-doc-passive-reply-text.xml")
			w := newWorld(t, ns(t), wechat.Config{})
			if rec := w.do(http.MethodPost, signed(token, time.Now()), string(raw)); rec.Code != http.StatusBadRequest || len(w.messages()) != 0 {
				t.Errorf("passive reply sample: %d", rec.Code)
			}
		})
	}
	files, _ := filepath.Glob(corpus + "*.xml")
	if len(files) != len(want)+4 { // + the passive reply and the three encrypted bodies (TestCryptoVectors)
		t.Errorf("the corpus has %d XML files; every one must be tested", len(files))
	}
}

// TestRetriedFiveTimesAtOnce: WeChat's retries of one message (and of one
// event), concurrent, are stored once.
func TestRetriedFiveTimesAtOnce(t *testing.T) {
	for name, ns := range backends.Stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, ns(t), wechat.Config{})
			var wg sync.WaitGroup
			for _, f := range []string{"wechatpy-test_parser-text.xml", "wechatpy-test_events-event-subscribe.xml"} {
				raw, _ := os.ReadFile(corpus + f)
				for range 5 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if rec := w.do(http.MethodPost, signed(token, time.Now()), string(raw)); rec.Code != http.StatusOK {
							t.Errorf("%s: %d", f, rec.Code)
						}
					}()
				}
			}
			wg.Wait()
			if n := len(w.messages()); n != 2 {
				t.Errorf("stored %d, want 2", n)
			}
		})
	}
}

// TestBadInputChangesNothing: forged, unsigned, stale, malformed, an XML
// bomb, deep nesting and an oversize body are refused; nothing is stored.
func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(t, backends.Stores()["memstore"](t), wechat.Config{})
	good, _ := os.ReadFile(corpus + "wechatpy-test_parser-text.xml")
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>` +
		`<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>`
	deep := "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><MsgId>1</MsgId>" +
		strings.Repeat("<a>", 9000) + strings.Repeat("</a>", 9000) + "</xml>"
	for name, c := range map[string]struct {
		query, body string
		want        int
	}{
		"forged":          {signed("another token", time.Now()), string(good), http.StatusForbidden},
		"unsigned":        {"timestamp=" + strconv.FormatInt(time.Now().Unix(), 10) + "&nonce=1", string(good), http.StatusForbidden},
		"stale":           {signed(token, time.Now().Add(-6*time.Minute)), string(good), http.StatusForbidden},
		"from the future": {signed(token, time.Now().Add(6*time.Minute)), string(good), http.StatusForbidden},
		"malformed":       {signed(token, time.Now()), "<xml><ToUserName>", http.StatusBadRequest},
		"an XML bomb":     {signed(token, time.Now()), bomb, http.StatusBadRequest},
		"deep nesting":    {signed(token, time.Now()), deep, http.StatusBadRequest},
		"JSON":            {signed(token, time.Now()), `{"MsgType":"text"}`, http.StatusBadRequest},
		"over the cap":    {signed(token, time.Now()), "<xml>" + strings.Repeat("x", 1<<20) + "</xml>", http.StatusRequestEntityTooLarge},
		"encrypted without a key": {url.Values{"timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "nonce": {"1"}, "encrypt_type": {"aes"},
			"msg_signature": {wechat.Signature(token, strconv.FormatInt(time.Now().Unix(), 10), "1", "abc")}}.Encode(),
			"<xml><Encrypt>abc</Encrypt></xml>", http.StatusForbidden},
	} {
		if rec := w.do(http.MethodPost, c.query, c.body); rec.Code != c.want {
			t.Errorf("%s: %d %q, want %d", name, rec.Code, rec.Body, c.want)
		}
	}
	if n := len(w.messages()); n != 0 {
		t.Errorf("bad input stored %d", n)
	}
}
