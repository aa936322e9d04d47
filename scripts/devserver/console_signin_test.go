package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard/switchboard/shared/console"
)

// cognitoStandIn is Cognito's hosted UI on loopback, checking each request
// as Cognito documents its authorization-code grant with PKCE: /oauth2/
// authorize needs response_type=code, the app client, its registered
// callback, the openid scope, a state and an S256 challenge, and (the
// agent having signed in) redirects to the callback with a one-time code;
// /oauth2/token needs a form POST with grant_type=authorization_code, the
// same client and callback, that code, and a code_verifier whose S256 is
// the challenge, and answers the tokens.
type cognitoStandIn struct {
	t                  *testing.T
	clientID, callback string
	idToken            string

	mu         sync.Mutex
	challenges map[string]string // code → code_challenge
	exchanged  int
}

func (c *cognitoStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("Access-Control-Allow-Origin", "*")
	refuse := func(why string) {
		c.t.Errorf("cognito stand-in: %s %s: %s", r.Method, r.URL.Path, why)
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request"})
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/oauth2/authorize":
		q := r.URL.Query()
		switch {
		case q.Get("response_type") != "code":
			refuse("response_type " + q.Get("response_type"))
		case q.Get("client_id") != c.clientID:
			refuse("client_id " + q.Get("client_id"))
		case q.Get("redirect_uri") != c.callback:
			refuse("redirect_uri " + q.Get("redirect_uri"))
		case !strings.Contains(" "+q.Get("scope")+" ", " openid "):
			refuse("scope " + q.Get("scope"))
		case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
			refuse("challenge " + q.Get("code_challenge_method") + " " + q.Get("code_challenge"))
		case q.Get("state") == "":
			refuse("no state")
		default:
			code := "code-" + q.Get("state")[:8]
			c.challenges[code] = q.Get("code_challenge")
			http.Redirect(w, r, c.callback+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
		}
	case r.Method == http.MethodPost && r.URL.Path == "/oauth2/token":
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			refuse("content type " + r.Header.Get("Content-Type"))
			return
		}
		_ = r.ParseForm()
		f := r.PostForm
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		want, known := c.challenges[f.Get("code")]
		switch {
		case f.Get("grant_type") != "authorization_code":
			refuse("grant_type " + f.Get("grant_type"))
		case f.Get("client_id") != c.clientID || f.Get("redirect_uri") != c.callback:
			refuse("client or callback")
		case !known:
			refuse("unknown or used code")
		case base64.RawURLEncoding.EncodeToString(sum[:]) != want:
			refuse("code_verifier does not match the challenge")
		default:
			delete(c.challenges, f.Get("code")) // one use
			c.exchanged++
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"id_token": c.idToken, "access_token": "access-1", "refresh_token": "refresh-1",
				"expires_in": 3600, "token_type": "Bearer"})
		}
	default:
		refuse("no such endpoint")
	}
}

// TestConsoleSignsInWithCognito: deployed, the console signs in through
// Cognito's hosted UI with the authorization-code flow and PKCE, by way of
// the sign-in function's bounce (console.Bounce), and uses the ID token as
// the bearer; no code is left in the address bar.
func TestConsoleSignsInWithCognito(t *testing.T) {
	ctx := browser(t)
	cog := &cognitoStandIn{t: t, clientID: "console-client", idToken: "eyJ.id-token-of-dev.sig", challenges: map[string]string{}}
	idp := httptest.NewServer(cog)
	t.Cleanup(idp.Close)
	var consoleURL string
	bounce := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { console.Bounce(consoleURL).ServeHTTP(w, r) }))
	t.Cleanup(bounce.Close)
	cog.callback = bounce.URL + "/"
	// The API takes the ID token as the agent "dev" (deployed: the JWT authorizer).
	target := startDev(t, "CONSOLE_AUTH", "cognito", "COGNITO_DOMAIN", idp.URL, "COGNITO_CLIENT_ID", cog.clientID,
		"CONSOLE_REDIRECT_URL", cog.callback, "AGENT_TOKENS", `{"`+cog.idToken+`":"dev"}`)
	consoleURL = target + "/app/"
	sms(t, target, "SMsignin00000000000000000000000001", "+14155550123", "Signed-in agents see this")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(target+"/app/"),
		chromedp.WaitVisible(chromedp.CSS("#cognito-signin")),
		chromedp.Click(chromedp.CSS("#cognito-signin")),
		chromedp.WaitVisible(chromedp.CSS("#conv-list a")),
	); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	waitJS(t, ctx, "the inbox", `[...document.querySelectorAll('#conv-list .preview')].some(e => e.textContent === 'Signed-in agents see this')`)
	if href := evalJS[string](t, ctx, `location.href`); href != target+"/app/" {
		t.Errorf("after sign-in the address is %q (a code left in it?)", href)
	}
	cog.mu.Lock()
	if cog.exchanged != 1 {
		t.Errorf("%d code exchanges, want 1", cog.exchanged)
	}
	cog.mu.Unlock()
	if tok := evalJS[string](t, ctx, `sessionStorage.getItem('sb.id')`); tok != cog.idToken {
		t.Errorf("the tab keeps %q as its bearer, want the ID token", tok)
	}

	// The stack's ConsoleSignInUrl: the hosted UI started without the
	// console, so the callback brings a code this tab never asked for. The
	// page must not spend it (it has no verifier: the stand-in would refuse
	// it) but start its own PKCE flow, and end signed in.
	evalJS[bool](t, ctx, `sessionStorage.clear(), true`)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(bounce.URL+"/?code=code-from-the-login-page&state=none"),
		chromedp.WaitVisible(chromedp.CSS("#conv-list a")),
	); err != nil {
		t.Fatalf("sign in from the hosted UI's own link: %v", err)
	}
	cog.mu.Lock()
	if cog.exchanged != 2 {
		t.Errorf("%d code exchanges after the second sign-in, want 2", cog.exchanged)
	}
	cog.mu.Unlock()
	if href := evalJS[string](t, ctx, `location.href`); href != target+"/app/" {
		t.Errorf("after the second sign-in the address is %q", href)
	}
}
