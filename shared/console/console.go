// Package console serves the agent console (GET /app/): one page, its
// script and its style, embedded in the binary, that uses only the public
// API (/api/*), so anything it does a CRM or a script can do too. Deployed
// it is served by the api function, through the same HTTP API as /api/*:
// one origin (no CORS on the agents' API, no second domain to configure),
// 40 KB of assets that need no build step, and a Lambda invocation per
// page load, cached by the browser for five minutes.
//
// Sign-in is the dev server's agent token, typed once (AuthToken); or,
// deployed, Cognito's hosted UI with the authorization-code flow and PKCE
// (AuthCognito): the page sends the agent to the user pool's domain with an
// S256 challenge, Cognito sends them back through RedirectURL with a code,
// and the page trades the code and its verifier for tokens at the domain's
// /oauth2/token; the ID token is the bearer the API's JWT authorizer
// checks.
//
// The page's Content-Security-Policy allows its own script and style only
// (no inline code, no eval), connections to this origin and the sign-in
// domain, media from this origin and MediaOrigin (the presigned URLs of
// the media bucket), and no framing. Every piece of customer text is set
// as text (textContent), never parsed as HTML.
package console

import (
	"embed"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

//go:embed static
var static embed.FS

// Sign-in modes.
const (
	AuthToken   = "token"
	AuthCognito = "cognito"
)

// Config is what the page is told at start (GET /app/config.json).
type Config struct {
	// Auth is AuthToken or AuthCognito.
	Auth string `json:"auth"`
	// CognitoDomain is the user pool's hosted-UI origin
	// (https://<prefix>.auth.<region>.amazoncognito.com); ClientID the app
	// client; RedirectURL the callback registered on it, which brings the
	// agent back to the console with the code.
	CognitoDomain string `json:"cognitoDomain,omitempty"`
	ClientID      string `json:"clientId,omitempty"`
	RedirectURL   string `json:"redirectUrl,omitempty"`
	// PollMillis is how often the page asks for changes (If-None-Match:
	// an unchanged inbox is a 304).
	PollMillis int `json:"pollMillis"`
	// MediaOrigin is where presigned media URLs point (the bucket's
	// origin); empty: this origin (the dev server's uploads).
	MediaOrigin string `json:"-"`
}

// DefaultPoll is how often the page polls unless Config says otherwise.
const DefaultPoll = 3000

// Handler serves /app/.
type Handler struct {
	cfg Config
	csp string
}

// New checks the configuration: a Cognito sign-in names its domain, client
// and callback as absolute https URLs (http on loopback, for tests).
func New(cfg Config) (*Handler, error) {
	if cfg.Auth == "" {
		cfg.Auth = AuthToken
	}
	if cfg.PollMillis <= 0 {
		cfg.PollMillis = DefaultPoll
	}
	connect, media := "'self'", "'self' blob:"
	switch cfg.Auth {
	case AuthToken:
	case AuthCognito:
		for name, v := range map[string]string{"COGNITO_DOMAIN": cfg.CognitoDomain, "CONSOLE_REDIRECT_URL": cfg.RedirectURL} {
			if err := checkURL(v); err != nil {
				return nil, &ConfigError{Name: name, Reason: err.Error()}
			}
		}
		if cfg.ClientID == "" {
			return nil, &ConfigError{Name: "COGNITO_CLIENT_ID", Reason: "is required for the Cognito sign-in"}
		}
		cfg.CognitoDomain = strings.TrimSuffix(cfg.CognitoDomain, "/")
		connect += " " + cfg.CognitoDomain
	default:
		return nil, &ConfigError{Name: "CONSOLE_AUTH", Reason: "must be token or cognito"}
	}
	if cfg.MediaOrigin != "" {
		if err := checkURL(cfg.MediaOrigin); err != nil {
			return nil, &ConfigError{Name: "media origin", Reason: err.Error()}
		}
		media += " " + cfg.MediaOrigin
	}
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; connect-src " + connect +
		"; img-src " + media + "; media-src " + media + "; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return &Handler{cfg: cfg, csp: csp}, nil
}

// ConfigError names a setting that is wrong.
type ConfigError struct{ Name, Reason string }

func (e *ConfigError) Error() string { return "console: " + e.Name + " " + e.Reason }

func checkURL(v string) error {
	u, err := url.Parse(v)
	switch {
	case v == "" || err != nil || u.Host == "":
		return errString("must be an absolute URL")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost"):
		return nil
	}
	return errString("must be https")
}

type errString string

func (e errString) Error() string { return string(e) }

// Routes are the console's patterns, as template.yaml routes them to the
// api function without the JWT authorizer (the page signs in by itself).
// API Gateway routes /app and /app/ alike, so both serve the page, and the
// page names its assets by absolute paths.
func Routes() []string {
	return []string{"GET /app", "GET /app/{file}"}
}

// Register mounts the console on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /app", h.serve)
	mux.HandleFunc("GET /app/", h.serve)
}

var files = map[string]string{
	"":            "text/html; charset=utf-8",
	"app.js":      "text/javascript; charset=utf-8",
	"app.css":     "text/css; charset=utf-8",
	"config.json": "application/json",
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/app"), "/")
	ct, ok := files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch name {
	case "config.json":
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(h.cfg)
		return
	case "":
		w.Header().Set("Content-Security-Policy", h.csp)
		w.Header().Set("Cache-Control", "no-cache")
		name = "index.html"
	default:
		w.Header().Set("Cache-Control", "max-age=300")
	}
	b, err := static.ReadFile("static/" + name)
	if err != nil { // embedded at build: cannot be missing
		http.Error(w, "console asset missing", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

// Bounce is Cognito's callback, deployed as a function URL of its own (the
// sign-in function): it sends the agent on to the console with what
// Cognito answered (code and state, or error), and nothing else. The
// callback cannot be the console's own URL because the HTTP API's JWT
// authorizer names the app client, so the client cannot name the API's
// URL (a cycle CloudFormation refuses); the bounce's URL depends on
// neither. consoleURL is PUBLIC_BASE_URL + "/app/".
func Bounce(consoleURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		in, out := r.URL.Query(), url.Values{}
		for _, k := range []string{"code", "state", "error", "error_description"} {
			if v := in.Get(k); v != "" && len(v) <= 2048 {
				out.Set(k, v)
			}
		}
		to := consoleURL
		if len(out) > 0 {
			to += "?" + out.Encode()
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		http.Redirect(w, r, to, http.StatusFound)
	})
}
