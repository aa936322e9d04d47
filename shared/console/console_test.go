package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/console"
)

func serve(t *testing.T, h *console.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	h.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// TestConsolePageAndPolicy: /app and /app/ are the page, under a CSP that
// allows its own script and style only, connections to this origin and the
// sign-in domain, media from the bucket; its assets by absolute path; any
// other name is a 404.
func TestConsolePageAndPolicy(t *testing.T) {
	h, err := console.New(console.Config{Auth: console.AuthCognito, CognitoDomain: "https://sb-1.auth.eu-west-1.amazoncognito.com/",
		ClientID: "client-1", RedirectURL: "https://abc.lambda-url.eu-west-1.on.aws/", MediaOrigin: "https://media-bucket.s3.eu-west-1.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/app", "/app/"} {
		rec := serve(t, h, path)
		csp := rec.Header().Get("Content-Security-Policy")
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<script src="/app/app.js" defer></script>`) {
			t.Fatalf("%s: %d %.200s", path, rec.Code, rec.Body)
		}
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "connect-src 'self' https://sb-1.auth.eu-west-1.amazoncognito.com;",
			"img-src 'self' blob: https://media-bucket.s3.eu-west-1.amazonaws.com;", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows unsafe code: %q", csp)
		}
	}
	// No inline script or style in the page, no HTML built from strings in the script.
	page := serve(t, h, "/app/").Body.String()
	if strings.Count(page, "<script") != 1 || strings.Contains(page, "style=") || strings.Contains(page, "<style") || regexp.MustCompile(`\son[a-z]+=`).MatchString(page) {
		t.Error("the page has inline code or style")
	}
	js := serve(t, h, "/app/app.js")
	if js.Code != http.StatusOK || js.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("app.js: %d %s", js.Code, js.Header().Get("Content-Type"))
	}
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js.Body.String(), banned) {
			t.Errorf("app.js uses %s: customer text must only ever be text", banned)
		}
	}
	var cfg map[string]any
	rec := serve(t, h, "/app/config.json")
	if err := json.Unmarshal(rec.Body.Bytes(), &cfg); err != nil || cfg["auth"] != "cognito" || cfg["cognitoDomain"] != "https://sb-1.auth.eu-west-1.amazoncognito.com" ||
		cfg["clientId"] != "client-1" || cfg["redirectUrl"] != "https://abc.lambda-url.eu-west-1.on.aws/" {
		t.Errorf("config.json: %s (%v)", rec.Body, err)
	}
	for _, path := range []string{"/app/index.html", "/app/../go.mod", "/app/static/app.js", "/app/x.js"} {
		if rec := serve(t, h, path); rec.Code == http.StatusOK {
			t.Errorf("%s: %d, want no file", path, rec.Code)
		}
	}
}

// TestConsoleConfigRefused: a Cognito sign-in without its settings, or with
// plain-http ones off loopback, stops start-up naming the setting.
func TestConsoleConfigRefused(t *testing.T) {
	for name, cfg := range map[string]console.Config{
		"COGNITO_DOMAIN":       {Auth: console.AuthCognito, ClientID: "c", RedirectURL: "https://x.example/"},
		"CONSOLE_REDIRECT_URL": {Auth: console.AuthCognito, ClientID: "c", CognitoDomain: "https://d.example", RedirectURL: "http://x.example/"},
		"COGNITO_CLIENT_ID":    {Auth: console.AuthCognito, CognitoDomain: "https://d.example", RedirectURL: "https://x.example/"},
		"CONSOLE_AUTH":         {Auth: "password"},
	} {
		_, err := console.New(cfg)
		var ce *console.ConfigError
		if !errors.As(err, &ce) || ce.Name != name {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := console.New(console.Config{}); err != nil {
		t.Errorf("the token sign-in needs nothing: %v", err)
	}
}

// TestBounce: Cognito's callback sends the agent on to the console with
// the code and state (or the error) only; anything else is dropped.
func TestBounce(t *testing.T) {
	b := console.Bounce("https://api.example.com/app/")
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?code=abc-123&state=xyz&next=https://evil.example/", nil))
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://api.example.com/app/?code=abc-123&state=xyz" {
		t.Errorf("%d → %q", rec.Code, rec.Header().Get("Location"))
	}
	rec = httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/?error=access_denied&error_description=no", nil))
	if loc := rec.Header().Get("Location"); loc != "https://api.example.com/app/?error=access_denied&error_description=no" {
		t.Errorf("error → %q", loc)
	}
	rec = httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/?code=1", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}
