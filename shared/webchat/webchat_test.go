package webchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/routing"
	"github.com/switchboard/switchboard/shared/webchat"
)

const (
	signingKey = "test-chat-signing-key-0123"
	identity   = "dummy-inbox-hmac-token" // the Chatwoot example's secret
	self       = "https://chat.example.com"
)

var sites = []routing.Site{
	{ID: "shop", Name: "Shop", Origins: []string{"https://shop.example"}},
	{ID: "bank", Origins: []string{"https://bank.example"}, IdentityRequired: true},
	{ID: "mail", PreChatEmail: "required"},
}

type world struct {
	t      *testing.T
	srv    *httptest.Server
	st     conversation.Store
	signer *webchat.Signer
	now    time.Time
}

func newWorld(t *testing.T, ns storetest.NewStore, limit *webchat.Limiter) *world {
	return newWorldWith(t, ns, limit, nil)
}

func newWorldWith(t *testing.T, ns storetest.NewStore, limit *webchat.Limiter, uploads webchat.Uploads) *world {
	w := &world{t: t, st: ns(t), now: time.Now()}
	var err error
	if w.signer, err = webchat.NewSigner(signingKey); err != nil {
		t.Fatal(err)
	}
	w.signer.Now = func() time.Time { return w.now }
	h, err := webchat.NewHandler(webchat.Config{Service: &conversation.Service{Store: w.st, Team: "support"}, Sites: sites,
		Signer: w.signer, IdentitySecret: identity, Self: self, Limit: limit, Uploads: uploads, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

// call makes one request; headers come in pairs.
func (w *world) call(method, path, body string, headers ...string) (int, map[string]any, http.Header) {
	w.t.Helper()
	req, _ := http.NewRequest(method, w.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

func (w *world) session(body string, headers ...string) webchat.Session {
	w.t.Helper()
	code, out, _ := w.call("POST", "/chat/sessions", body, headers...)
	if code != http.StatusOK {
		w.t.Fatalf("session %s: %d %v", body, code, out)
	}
	b, _ := json.Marshal(out)
	var s webchat.Session
	_ = json.Unmarshal(b, &s)
	return s
}

func (w *world) send(token, clientID, body string) (int, map[string]any) {
	w.t.Helper()
	b, _ := json.Marshal(map[string]string{"body": body, "clientMessageId": clientID})
	code, out, _ := w.call("POST", "/chat/messages", string(b), "Authorization", "Bearer "+token)
	return code, out
}

func TestWebChat(t *testing.T) {
	cases := map[string]func(*testing.T, storetest.NewStore){
		"MessagesHistoryAndRetries": testMessagesHistoryAndRetries,
		"TokensRefused":             testTokensRefused,
		"IdentityVerification":      testIdentityVerification,
		"OriginsAndCaps":            testOriginsAndCaps,
		"FloodIsLimitedNothingLost": testFloodIsLimitedNothingLost,
		"Attachments":               testAttachments,
		"VerifiedEmailJoinsContact": testVerifiedEmailJoinsContact,
	}
	for store, ns := range backends.Stores() {
		for name, run := range cases {
			t.Run(store+"/"+name, func(t *testing.T) { run(t, ns) })
		}
	}
}

func testMessagesHistoryAndRetries(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns, nil)
	s := w.session(`{"site":"shop","name":"Ana"}`)
	if s.Verified || s.ConversationID != "" || s.Token == "" {
		t.Fatalf("a new visitor's session: %+v", s)
	}
	code, out := w.send(s.Token, "c1", "Where is my order?")
	if code != http.StatusCreated {
		t.Fatalf("first message: %d %v", code, out)
	}
	first := out["message"].(map[string]any)
	// The same client id again (a retry after a lost answer): the same message.
	code, out = w.send(s.Token, "c1", "Where is my order?")
	if code != http.StatusOK || out["message"].(map[string]any)["id"] != first["id"] {
		t.Fatalf("retry: %d %v, want 200 and message %v", code, out, first["id"])
	}
	if code, _ := w.send(s.Token, "c2", "It was order 1042"); code != http.StatusCreated {
		t.Fatalf("second message: %d", code)
	}
	msgs := backends.Messages(t, w.st)
	if len(msgs) != 2 || msgs[0].Channel != conversation.ChannelWebchat || msgs[0].Identity.Kind != conversation.KindVisitor {
		t.Fatalf("stored %+v, want the two webchat messages once each", msgs)
	}
	// A returning visitor (its token) resumes: the same identity, its conversation.
	again := w.session(`{"site":"shop"}`, "Authorization", "Bearer "+s.Token)
	if again.ConversationID != msgs[0].ConversationID {
		t.Fatalf("resumed session names %q, want %q", again.ConversationID, msgs[0].ConversationID)
	}
	code, hist, _ := w.call("GET", "/chat/messages", "", "Authorization", "Bearer "+again.Token)
	views := hist["messages"].([]any)
	if code != 200 || len(views) != 2 || views[0].(map[string]any)["body"] != "Where is my order?" || views[0].(map[string]any)["clientMessageId"] != "c1" {
		t.Fatalf("history: %d %v", code, hist)
	}
	// After the cursor: only what is newer.
	next := hist["next"].(string)
	if code, _ := w.send(again.Token, "c3", "Hello?"); code != http.StatusCreated {
		t.Fatal(code)
	}
	_, hist, _ = w.call("GET", "/chat/messages?after="+next, "", "Authorization", "Bearer "+again.Token)
	if v := hist["messages"].([]any); len(v) != 1 || v[0].(map[string]any)["body"] != "Hello?" {
		t.Fatalf("history after %s: %v, want only the new message", next, hist)
	}
	// Another visitor sees none of it.
	other := w.session(`{"site":"shop"}`)
	_, hist, _ = w.call("GET", "/chat/messages", "", "Authorization", "Bearer "+other.Token)
	if v := hist["messages"].([]any); len(v) != 0 {
		t.Fatalf("another visitor sees %v", v)
	}
}

func testTokensRefused(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns, nil)
	s := w.session(`{"site":"shop"}`)
	forged := s.Token[:len(s.Token)-4] + "AAAA"
	if forged == s.Token {
		forged = s.Token[:len(s.Token)-4] + "BBBB"
	}
	// Signed with another key, with the same key id.
	c, _ := w.signer.Verify(s.Token)
	other := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok, _ := jwt.ParseWithClaims(s.Token, &webchat.Claims{}, func(*jwt.Token) (any, error) { return []byte(signingKey), nil })
	other.Header["kid"] = tok.Header["kid"]
	otherKey, _ := other.SignedString([]byte("another-key-of-enough-bytes"))
	// alg none.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, c)
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	// A token of a site that is not its subject's.
	c2 := c
	c2.Site = "bank"
	crossSite, _, _ := w.signer.Issue(c2)
	for name, token := range map[string]string{"missing": "", "garbage": "not.a.token", "forged": forged,
		"other key": otherKey, "alg none": noneToken, "cross site": crossSite} {
		if code, out := w.send(token, "x1", "hi"); code != http.StatusUnauthorized || out["code"] != "token_invalid" {
			t.Errorf("%s token: %d %v, want 401 token_invalid", name, code, out)
		}
		if code, _, _ := w.call("GET", "/chat/messages", "", "Authorization", "Bearer "+token); code != http.StatusUnauthorized {
			t.Errorf("%s token, history: %d, want 401", name, code)
		}
	}
	// Expired: 30 days and a second later.
	w.now = w.now.Add(webchat.TokenLifetime + time.Second)
	if code, _ := w.send(s.Token, "x2", "hi"); code != http.StatusUnauthorized {
		t.Errorf("expired token: %d, want 401", code)
	}
	if n := len(backends.Messages(t, w.st)); n != 0 {
		t.Fatalf("refused tokens stored %d messages", n)
	}
	// Rotation: a new key first, the old one still verifies.
	rotated, _ := webchat.NewSigner("a-brand-new-signing-key-99," + signingKey)
	rotated.Now = w.signer.Now
	w.now = w.now.Add(-webchat.TokenLifetime)
	if _, err := rotated.Verify(s.Token); err != nil {
		t.Errorf("a token of the old key after rotation: %v", err)
	}
	if _, err := webchat.NewSigner("short"); err == nil {
		t.Error("a 5-byte signing key was taken")
	}
}

func testIdentityVerification(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns, nil)
	// The Chatwoot example: identifier user-42 with its hash.
	var vec struct{ HmacToken, Identifier, IdentifierHash string }
	raw, err := os.ReadFile("../../../shared/corpus/webchat/chatwoot-identifier-hash-computed-example.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	_ = json.Unmarshal(raw, &m)
	vec.HmacToken, vec.Identifier, vec.IdentifierHash = m["hmac_token"], m["identifier"], m["identifier_hash"]
	if got := webchat.IdentifierHash(vec.HmacToken, vec.Identifier); got != vec.IdentifierHash {
		t.Fatalf("IdentifierHash = %s, the corpus says %s", got, vec.IdentifierHash)
	}
	good := `{"site":"shop","identifier":"` + vec.Identifier + `","identifierHash":"` + vec.IdentifierHash + `"}`
	s := w.session(good)
	if !s.Verified || s.Notice != "" {
		t.Fatalf("verified session: %+v", s)
	}
	if code, _ := w.send(s.Token, "v1", "logged in"); code != http.StatusCreated {
		t.Fatal(code)
	}
	// The same user on another device: the same identity, the same conversation.
	s2 := w.session(good)
	msgs := backends.Messages(t, w.st)
	if s2.ConversationID == "" || s2.ConversationID != msgs[0].ConversationID || msgs[0].Identity.Key() != "chat:shop:user-42" {
		t.Fatalf("second device: %+v, stored %+v", s2, msgs[0].Identity)
	}
	// A wrong hash: anonymous, and told so; never that user's conversation.
	bad := w.session(`{"site":"shop","identifier":"user-42","identifierHash":"` + strings.Repeat("0", 64) + `"}`)
	if bad.Verified || bad.Notice != "identity_not_verified" || bad.ConversationID != "" {
		t.Fatalf("forged hash: %+v", bad)
	}
	// A site that chats only with vouched-for visitors.
	if code, out, _ := w.call("POST", "/chat/sessions", `{"site":"bank","identifier":"u","identifierHash":"00"}`); code != http.StatusForbidden || out["code"] != "identity_required" {
		t.Errorf("bank without proof: %d %v", code, out)
	}
	// The pre-chat email: required by the site, checked when given.
	if code, out, _ := w.call("POST", "/chat/sessions", `{"site":"mail"}`); code != http.StatusBadRequest || out["code"] != "email_required" {
		t.Errorf("no email: %d %v", code, out)
	}
	if code, out, _ := w.call("POST", "/chat/sessions", `{"site":"mail","email":"not an address"}`); code != http.StatusBadRequest || out["code"] != "bad_email" {
		t.Errorf("bad email: %d %v", code, out)
	}
	if s := w.session(`{"site":"mail","email":"Ana@Example.com"}`); s.Token == "" {
		t.Error("no token with an email")
	}
}

func testOriginsAndCaps(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns, nil)
	code, _, h := w.call("POST", "/chat/sessions", `{"site":"shop"}`, "Origin", "https://shop.example")
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("allowed origin: %d, ACAO %q", code, h.Get("Access-Control-Allow-Origin"))
	}
	if code, out, _ := w.call("POST", "/chat/sessions", `{"site":"shop"}`, "Origin", "https://evil.example"); code != http.StatusForbidden || out["code"] != "origin_not_allowed" {
		t.Errorf("other origin: %d %v", code, out)
	}
	// A shop token used from the bank's page: refused.
	s := w.session(`{"site":"shop"}`)
	b, _ := json.Marshal(map[string]string{"body": "hi", "clientMessageId": "o1"})
	if code, _, _ := w.call("POST", "/chat/messages", string(b), "Authorization", "Bearer "+s.Token, "Origin", "https://bank.example"); code != http.StatusForbidden {
		t.Errorf("shop token from the bank's origin: %d, want 403", code)
	}
	if code, _, h := w.call("OPTIONS", "/chat/messages", "", "Origin", "https://shop.example", "Access-Control-Request-Method", "POST"); code != http.StatusNoContent || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", code, h)
	}
	if code, _, _ := w.call("OPTIONS", "/chat/messages", "", "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("preflight of another origin: %d", code)
	}
	if code, _, _ := w.call("POST", "/chat/sessions", `{"site":"nope"}`); code != http.StatusNotFound {
		t.Errorf("unknown site: %d", code)
	}
	for name, c := range map[string]struct {
		body string
		want int
	}{
		"over 4000 characters": {`{"body":"` + strings.Repeat("é", 4001) + `","clientMessageId":"a"}`, 413},
		"over 16 KB":           {`{"body":"` + strings.Repeat("a", 17<<10) + `","clientMessageId":"a"}`, 413},
		"no client id":         {`{"body":"hi"}`, 400},
		"bad client id":        {`{"body":"hi","clientMessageId":"a b"}`, 400},
		"empty":                {`{"body":"  ","clientMessageId":"a"}`, 400},
		"NUL":                  {`{"body":"a\u0000b","clientMessageId":"a"}`, 400},
		"not JSON":             {`body=hi`, 400},
		"media, no bucket":     {`{"body":"hi","clientMessageId":"a","media":[{"key":"x"}]}`, 501},
	} {
		if code, out, _ := w.call("POST", "/chat/messages", c.body, "Authorization", "Bearer "+s.Token); code != c.want {
			t.Errorf("%s: %d %v, want %d", name, code, out, c.want)
		}
	}
	if n := len(backends.Messages(t, w.st)); n != 0 {
		t.Fatalf("bad input stored %d messages", n)
	}
	code, cfg, _ := w.call("GET", "/chat/config?site=shop", "", "Origin", "https://shop.example")
	if code != 200 || cfg["socketUrl"] != "wss://chat.example.com/chat/ws" || cfg["name"] != "Shop" || cfg["preChatEmail"] != "off" {
		t.Errorf("config: %d %v", code, cfg)
	}
}

func testFloodIsLimitedNothingLost(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns, webchat.NewLimiter(5, 0.001))
	s := w.session(`{"site":"shop"}`)
	var mu sync.Mutex
	accepted, limited := map[string]bool{}, 0
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "f" + string(rune('a'+i))
			code, _ := w.send(s.Token, id, "flood "+id)
			mu.Lock()
			defer mu.Unlock()
			switch code {
			case http.StatusCreated:
				accepted[id] = true
			case http.StatusTooManyRequests:
				limited++
			default:
				t.Errorf("flood: %d", code)
			}
		}()
	}
	wg.Wait()
	if len(accepted) != 5 || limited != 15 {
		t.Fatalf("%d accepted, %d limited; want 5 and 15", len(accepted), limited)
	}
	msgs := backends.Messages(t, w.st)
	if len(msgs) != 5 {
		t.Fatalf("%d stored, want the 5 accepted", len(msgs))
	}
	for _, m := range msgs {
		if !accepted[m.ProviderMessageID] {
			t.Errorf("stored %s, which was refused", m.ProviderMessageID)
		}
	}
	// Another visitor is not limited by this one.
	if code, _ := w.send(w.session(`{"site":"shop"}`).Token, "g1", "hi"); code != http.StatusCreated {
		t.Errorf("another visitor: %d", code)
	}
}

func testAttachments(t *testing.T, ns storetest.NewStore) {
	up := &attach.DevUploads{}
	w := newWorldWith(t, ns, nil, up)
	mux := http.NewServeMux()
	up.Register(mux)
	files := httptest.NewServer(mux)
	defer files.Close()
	up.Base = files.URL
	s := w.session(`{"site":"shop"}`)
	other := w.session(`{"site":"shop"}`)
	ask := func(token, body string) (int, map[string]any) {
		code, out, _ := w.call("POST", "/chat/uploads", body, "Authorization", "Bearer "+token)
		return code, out
	}
	photo := []byte("\x89PNG\r\n\x1a\nnot really a picture")
	code, out := ask(s.Token, fmt.Sprintf(`{"contentType":"image/png","size":%d,"filename":"box.png"}`, len(photo)))
	if code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, out)
	}
	u := out["upload"].(map[string]any)
	key, ref := u["key"].(string), out["ref"].(string)
	put := func() int {
		req, _ := http.NewRequest(http.MethodPut, u["url"].(string), bytes.NewReader(photo))
		for k, v := range u["headers"].(map[string]any) {
			req.Header.Set(k, v.(string))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	msg := func(token, key, ref string) (int, map[string]any) {
		b, _ := json.Marshal(map[string]any{"clientMessageId": "p1", "media": []map[string]string{{"key": key, "ref": ref}}})
		code, out, _ := w.call("POST", "/chat/messages", string(b), "Authorization", "Bearer "+token)
		return code, out
	}
	if code, out := msg(s.Token, key, ref); code != http.StatusBadRequest || out["code"] != "unknown_upload" {
		t.Errorf("before the PUT: %d %v", code, out)
	}
	if code := put(); code/100 != 2 {
		t.Fatalf("PUT: %d", code)
	}
	if code, out := msg(other.Token, key, ref); code != http.StatusBadRequest || out["code"] != "unknown_upload" {
		t.Errorf("another visitor naming it: %d %v", code, out)
	}
	if code, out := msg(s.Token, key, strings.Repeat("0", 64)); code != http.StatusBadRequest {
		t.Errorf("a forged proof: %d %v", code, out)
	}
	code, out = msg(s.Token, key, ref)
	if code != http.StatusCreated {
		t.Fatalf("message with the photo: %d %v", code, out)
	}
	media := out["message"].(map[string]any)["media"].([]any)
	if len(media) != 1 || !strings.HasPrefix(media[0].(map[string]any)["url"].(string), files.URL+"/dev/media/") {
		t.Fatalf("the visitor's view: %v", media)
	}
	resp, err := http.Get(media[0].(map[string]any)["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, photo) {
		t.Errorf("the link serves %q", got)
	}
	msgs := backends.Messages(t, w.st)
	if len(msgs) != 1 || len(msgs[0].Media) != 1 || msgs[0].Media[0].Key != key || msgs[0].Media[0].Status != conversation.MediaStored {
		t.Fatalf("stored %+v", msgs)
	}
	if code, out := ask(s.Token, `{"contentType":"application/x-msdownload","size":10}`); code != http.StatusUnsupportedMediaType {
		t.Errorf("an .exe: %d %v", code, out)
	}
	if code, out := ask(s.Token, `{"contentType":"image/png","size":99999999}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("100 MB: %d %v", code, out)
	}
	if code, _ := ask("forged", `{"contentType":"image/png","size":10}`); code != http.StatusUnauthorized {
		t.Errorf("no token: %d", code)
	}
	six := make([]map[string]string, 6)
	for i := range six {
		six[i] = map[string]string{"key": key, "ref": ref}
	}
	b, _ := json.Marshal(map[string]any{"clientMessageId": "p2", "media": six})
	if code, _, _ := w.call("POST", "/chat/messages", string(b), "Authorization", "Bearer "+s.Token); code != http.StatusBadRequest {
		t.Errorf("six attachments: %d", code)
	}
	// Without a media bucket: 501, nothing stored.
	plain := newWorld(t, ns, nil)
	ps := plain.session(`{"site":"shop"}`)
	if code, _, _ := plain.call("POST", "/chat/uploads", `{"contentType":"image/png","size":10}`, "Authorization", "Bearer "+ps.Token); code != http.StatusNotImplemented {
		t.Errorf("uploads without a bucket: %d", code)
	}
}

func testVerifiedEmailJoinsContact(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns, nil)
	svc := &conversation.Service{Store: w.st, Team: "support"}
	ctx := context.Background()
	// Ana mailed before.
	mailed, err := svc.Ingest(ctx, conversation.Inbound{Key: "ses:<m1@example.com>", Channel: conversation.ChannelEmail,
		From: conversation.Identity{Kind: conversation.KindEmail, Address: "ana@example.com"}, FromAddress: "ana@example.com",
		To: "support@example.com", Body: "where is my order?", Provider: "ses"})
	if err != nil {
		t.Fatal(err)
	}
	// An unverified visitor giving her address: contact data only, never her contact.
	anon := w.session(`{"site":"shop","email":"ana@example.com"}`)
	if code, _ := w.send(anon.Token, "a1", "hi, it's Ana"); code != 201 {
		t.Fatal(code)
	}
	r, err := w.st.Route(ctx, identityOf(t, w, anon.Token))
	if err != nil || r.ContactID == mailed.Message.ContactID {
		t.Fatalf("an unverified email linked the visitor to the mailing contact: %+v %v", r, err)
	}
	if c, _ := w.st.Contact(ctx, r.ContactID); c.Email != "ana@example.com" {
		t.Errorf("the visitor's contact email: %q", c.Email)
	}
	// The site vouches for her: the chat joins the contact of her emails.
	hash := webchat.IdentifierHash(identity, "ana-42")
	ver := w.session(`{"site":"shop","identifier":"ana-42","identifierHash":"` + hash + `","email":"ana@example.com"}`)
	if code, _ := w.send(ver.Token, "v1", "logged in now"); code != 201 {
		t.Fatal(code)
	}
	r, err = w.st.Route(ctx, conversation.Identity{Kind: conversation.KindChat, Address: "shop:ana-42"})
	if err != nil || r.ContactID != mailed.Message.ContactID {
		t.Fatalf("the verified visitor is contact %q, her emails' is %q (%v)", r.ContactID, mailed.Message.ContactID, err)
	}
}

// identityOf is the identity a token names.
func identityOf(t *testing.T, w *world, token string) conversation.Identity {
	c, err := w.signer.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	kind, addr, _ := strings.Cut(c.Subject, ":")
	return conversation.Identity{Kind: conversation.Kind(kind), Address: addr}
}
