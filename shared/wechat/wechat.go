// Package wechat receives a WeChat Official Account's messages (GET and
// POST /webhooks/wechat). GET is the URL check: signature =
// hex(sha1(sorted token, timestamp, nonce)), then echostr echoed unchanged.
// A POST is plain (the same signature over the query) or, with
// encrypt_type=aes, safe or compatible mode: msg_signature over the
// sorted token, timestamp, nonce and the body's <Encrypt>, which is
// AES-256-CBC under the EncodingAESKey (PKCS#7 to 32 bytes) and names the
// AppID it was sent to (checked). Signatures, decryption and encryption are
// silenceper/wechat's util (Signature, DecryptMsg); the comparison is
// constant time. A timestamp more than 5 minutes from now is refused (a
// replay), as is any XML with a DOCTYPE (WeChat never sends one; it is how
// entity-expansion bombs start), and XML nested deeper than MaxDepth —
// Go's encoding/xml expands no entities either way.
//
// Messages: text, image (its PicUrl, for the media pipeline), voice (its
// Recognition as the body when WeChat transcribed it), video and
// shortvideo (media by id), location, link; a menu click (CLICK) is a
// message with its key; subscribe and unsubscribe are quiet system entries;
// other events (SCAN, LOCATION reports, VIEW) are answered without a
// write. A message is deduplicated on its MsgId, an event on FromUserName,
// CreateTime and Event (WeChat's advice: it retries three times when it
// has no answer within 5 seconds). Every POST is answered "success", which
// tells WeChat not to retry and to show the user nothing; agents answer
// through the customer-service API (notify.WeChatReplies) within WeChat's
// 48-hour window.
//
// The identity is wechat:<OpenID>.
//
// See developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
package wechat

import (
	"bytes"
	"crypto/subtle"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/webhook"
)

// Path is the webhook route (DESIGN.md section 6).
const Path = "/webhooks/wechat"

// Provider is the provider WeChat's messages are stored under.
const Provider = "wechat"

// ReplayWindow is how far a request's timestamp may be from now.
const ReplayWindow = 5 * time.Minute

// Signature is hex(sha1(the parts, sorted, concatenated)).
func Signature(parts ...string) string { return util.Signature(parts...) }

// SignQuery sets a plain-mode query's timestamp (at), nonce and
// signature, as WeChat signs a push (for samples and tests).
func SignQuery(q url.Values, token string, at time.Time) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	if out.Get("nonce") == "" {
		out.Set("nonce", "1320562132")
	}
	out.Set("timestamp", ts)
	out.Set("signature", Signature(token, ts, out.Get("nonce")))
	return out
}

// Message is a WeChat push, message or event; in safe mode only
// ToUserName and Encrypt.
type Message struct {
	ToUserName   string  `xml:"ToUserName"`
	FromUserName string  `xml:"FromUserName"`
	CreateTime   int64   `xml:"CreateTime"`
	MsgType      string  `xml:"MsgType"`
	Content      string  `xml:"Content"`
	MsgID        int64   `xml:"MsgId"`
	PicURL       string  `xml:"PicUrl"`
	MediaID      string  `xml:"MediaId"`
	Format       string  `xml:"Format"`
	Recognition  string  `xml:"Recognition"`
	ThumbMediaID string  `xml:"ThumbMediaId"`
	LocationX    float64 `xml:"Location_X"`
	LocationY    float64 `xml:"Location_Y"`
	Scale        int     `xml:"Scale"`
	Label        string  `xml:"Label"`
	Title        string  `xml:"Title"`
	Description  string  `xml:"Description"`
	URL          string  `xml:"Url"`
	Event        string  `xml:"Event"`
	EventKey     string  `xml:"EventKey"`
	Encrypt      string  `xml:"Encrypt"`
}

// Parse reads a push's XML (at most one document; no DOCTYPE).
func Parse(body []byte) (Message, error) {
	var m Message
	if bytes.Contains(bytes.ToUpper(body), []byte("<!DOCTYPE")) || bytes.Contains(bytes.ToUpper(body), []byte("<!ENTITY")) {
		return m, webhook.Errorf(http.StatusBadRequest, "XML with a DOCTYPE or entity declarations is refused")
	}
	if err := shallow(body); err != nil {
		return m, err
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(&m); err != nil {
		return m, webhook.Errorf(http.StatusBadRequest, "body is not WeChat XML: %v", err)
	}
	return m, nil
}

// MaxDepth bounds the nesting of a push's XML: WeChat's are two levels
// deep (<xml><Field>), with room for a ScanCodeInfo-like third.
const MaxDepth = 8

// shallow refuses XML nested deeper than MaxDepth, reading tokens without
// building anything.
func shallow(body []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return nil // the decode that follows reports malformed XML
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > MaxDepth {
				return webhook.Errorf(http.StatusBadRequest, "XML nested deeper than %d levels is refused", MaxDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// Config configures a Handler.
type Config struct {
	// Token is the token typed into the Official Account's server settings
	// (WECHAT_TOKEN).
	Token string
	// EncodingAESKey (43 characters) and AppID read safe and compatible
	// mode (WECHAT_ENCODING_AES_KEY, WECHAT_APP_ID); without the key, an
	// encrypted push is refused.
	EncodingAESKey, AppID string
	Service               *conversation.Service
	Now                   func() time.Time
	Log                   *slog.Logger
}

// Handler serves GET and POST /webhooks/wechat.
type Handler struct{ cfg Config }

// ErrNoToken is NewHandler's refusal of an empty token.
var ErrNoToken = errors.New("wechat: the server token (WECHAT_TOKEN) is empty")

// NewHandler returns the handler; it refuses an empty token, and an AES key
// without the AppID it must check.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Token == "" {
		return nil, ErrNoToken
	}
	if cfg.EncodingAESKey != "" && (len(cfg.EncodingAESKey) != 43 || cfg.AppID == "") {
		return nil, errors.New("wechat: WECHAT_ENCODING_AES_KEY must be 43 characters, with WECHAT_APP_ID set")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}, nil
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Path, h.Verify)
	mux.HandleFunc("POST "+Path, h.Receive)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// fresh refuses a timestamp outside the replay window.
func (h *Handler) fresh(r *http.Request, ts string) error {
	if webhook.Replayed(r) {
		return nil // checked when it first came
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return webhook.Errorf(http.StatusForbidden, "missing or malformed timestamp")
	}
	if d := h.cfg.Now().Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return webhook.Errorf(http.StatusForbidden, "timestamp outside the %s replay window", ReplayWindow)
	}
	return nil
}

// Verify answers the URL check.
func (h *Handler) Verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !equal(q.Get("signature"), Signature(h.cfg.Token, q.Get("timestamp"), q.Get("nonce"))) {
		webhook.Fail(w, r, h.cfg.Log, "wechat.verify", webhook.Errorf(http.StatusForbidden, "invalid signature"))
		return
	}
	if err := h.fresh(r, q.Get("timestamp")); err != nil {
		webhook.Fail(w, r, h.cfg.Log, "wechat.verify", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(q.Get("echostr")))
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, "wechat.verify", slog.String("outcome", "answered"))
}

// Receive handles one push.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) {
	const event = "wechat.push"
	body, err := webhook.ReadBody(r, webhook.DefaultMaxBody)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	m, mode, err := h.open(r, body)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err)
		return
	}
	webhook.Verified(r, success)
	outcome, err := h.store(r, m)
	if err != nil {
		webhook.Fail(w, r, h.cfg.Log, event, err, slog.String("type", m.MsgType))
		return
	}
	h.cfg.Log.LogAttrs(r.Context(), slog.LevelInfo, event, slog.String("outcome", outcome), slog.String("mode", mode),
		slog.String("type", m.MsgType), slog.String("event", m.Event))
	success(w)
}

// success is the answer that tells WeChat not to retry.
func success(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("success"))
}

// open verifies a push and returns its message, decrypted if it was
// encrypted, and the mode it came in.
func (h *Handler) open(r *http.Request, body []byte) (Message, string, error) {
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	m, err := Parse(body)
	if q.Get("encrypt_type") != "aes" {
		if !webhook.Replayed(r) && !equal(q.Get("signature"), Signature(h.cfg.Token, ts, nonce)) {
			return Message{}, "", webhook.Errorf(http.StatusForbidden, "invalid signature")
		}
		if err := h.fresh(r, ts); err != nil {
			return Message{}, "", err
		}
		return m, "plain", err
	}
	if err != nil {
		return Message{}, "", err
	}
	if m.Encrypt == "" {
		return Message{}, "", webhook.Errorf(http.StatusBadRequest, "encrypt_type=aes without <Encrypt>")
	}
	if !webhook.Replayed(r) && !equal(q.Get("msg_signature"), Signature(h.cfg.Token, ts, nonce, m.Encrypt)) {
		return Message{}, "", webhook.Errorf(http.StatusForbidden, "invalid msg_signature")
	}
	if err := h.fresh(r, ts); err != nil {
		return Message{}, "", err
	}
	if h.cfg.EncodingAESKey == "" {
		return Message{}, "", webhook.Errorf(http.StatusForbidden, "an encrypted push, and WECHAT_ENCODING_AES_KEY is not set")
	}
	plain, err := Decrypt(h.cfg.AppID, m.Encrypt, h.cfg.EncodingAESKey)
	if err != nil {
		return Message{}, "", webhook.Errorf(http.StatusBadRequest, "%v", err)
	}
	inner, err := Parse(plain)
	if err != nil {
		return Message{}, "", err
	}
	return inner, "aes", nil
}

// Decrypt opens an <Encrypt> for appID (silenceper/wechat's DecryptMsg:
// AES-256-CBC, 32-byte PKCS#7, the AppID checked).
func Decrypt(appID, encrypted, encodingAESKey string) ([]byte, error) {
	_, plain, err := util.DecryptMsg(appID, encrypted, encodingAESKey)
	if err != nil {
		return nil, fmt.Errorf("cannot decrypt the push (wrong EncodingAESKey or AppID): %v", err)
	}
	return plain, nil
}

// store ingests a message or event.
func (h *Handler) store(r *http.Request, m Message) (string, error) {
	if m.FromUserName == "" || m.CreateTime == 0 || m.MsgType == "" {
		return "", webhook.Errorf(http.StatusBadRequest, "push without FromUserName, CreateTime or MsgType")
	}
	from, _ := conversation.Normalizer{}.Platform(conversation.KindWeChat, m.FromUserName)
	at := time.Unix(m.CreateTime, 0).UTC()
	in := conversation.Inbound{
		Channel: conversation.ChannelWeChat, From: from, FromAddress: m.FromUserName, To: m.ToUserName, Provider: Provider,
		SentAt: at, ReceivedAt: webhook.ReceivedAt(r),
	}
	if m.MsgType == "event" {
		in.Key = fmt.Sprintf("wechat:event:%s:%d:%s", m.FromUserName, m.CreateTime, m.Event)
		in.ProviderMessageID = strings.TrimPrefix(in.Key, "wechat:")
		switch strings.ToLower(m.Event) {
		case "subscribe":
			in.Kind, in.Body = conversation.KindSystem, "Followed the account"
			if scene, ok := strings.CutPrefix(m.EventKey, "qrscene_"); ok {
				in.Body += " (QR code " + scene + ")"
			}
		case "unsubscribe":
			in.Kind, in.Body = conversation.KindSystem, "Unfollowed the account"
		case "click":
			in.Body = "[menu] " + m.EventKey
		default:
			return "ignored_event_" + m.Event, nil
		}
	} else {
		if m.MsgID == 0 {
			return "", webhook.Errorf(http.StatusBadRequest, "%s message without MsgId", m.MsgType)
		}
		in.Key = "wechat:msg:" + strconv.FormatInt(m.MsgID, 10)
		in.ProviderMessageID = strconv.FormatInt(m.MsgID, 10)
		content(&in, m)
	}
	res, err := h.cfg.Service.Ingest(r.Context(), in)
	if err != nil {
		return "", err
	}
	if res.Duplicate {
		return "duplicate", nil
	}
	return "stored", nil
}

// MediaRef references a medium WeChat keeps by id (read with media/get and
// an access token).
func MediaRef(id string) string { return "wechat:media/" + id }

func content(in *conversation.Inbound, m Message) {
	switch m.MsgType {
	case "text":
		in.Body = m.Content
	case "image":
		u := m.PicURL
		if rest, ok := strings.CutPrefix(u, "http://"); ok && strings.HasSuffix(strings.SplitN(rest, "/", 2)[0], ".qpic.cn") {
			u = "https://" + rest // WeChat's image CDN serves https too; the fetcher takes nothing else
		}
		if u == "" || !strings.HasPrefix(u, "https://") {
			u = MediaRef(m.MediaID)
		}
		in.Media = []conversation.Media{{URL: u, ContentType: "image/jpeg"}}
	case "voice":
		in.Body = m.Recognition
		if in.Body == "" {
			in.Body = "[voice message]"
		}
		in.Media = []conversation.Media{{URL: MediaRef(m.MediaID), ContentType: voiceType(m.Format)}}
	case "video", "shortvideo":
		in.Media = []conversation.Media{{URL: MediaRef(m.MediaID), ContentType: "video/mp4"}}
		if m.MsgType == "shortvideo" {
			in.Body = "[short video]"
		}
	case "location":
		in.Body = strings.TrimSpace(fmt.Sprintf("📍 %.6f,%.6f %s", m.LocationX, m.LocationY, m.Label))
	case "link":
		in.Body = strings.TrimSpace(strings.Join([]string{m.Title, m.Description, m.URL}, "\n"))
	default:
		in.Kind, in.ProviderType, in.Body = conversation.KindUnsupported, m.MsgType, "["+m.MsgType+" message]"
	}
	if in.Body == "" && len(in.Media) == 0 {
		in.Body = "[empty message]"
	}
}

func voiceType(format string) string {
	switch strings.ToLower(format) {
	case "amr":
		return "audio/amr"
	case "speex":
		return "audio/speex"
	case "mp3":
		return "audio/mpeg"
	}
	return "application/octet-stream"
}
