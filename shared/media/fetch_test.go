package media

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// provider is a loopback stand-in for a provider's hosts: every name the
// test resolves to it lands here, and it records who asked for what with
// which credentials.
type provider struct {
	*httptest.Server
	mu   sync.Mutex
	hits []string // "host path auth"
}

func newProvider(t *testing.T, h func(p *provider, w http.ResponseWriter, r *http.Request)) *provider {
	p := &provider{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hits = append(p.hits, r.Host+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		p.mu.Unlock()
		h(p, w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *provider) port() string {
	_, port, _ := net.SplitHostPort(p.Listener.Addr().String())
	return port
}

func (p *provider) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hits...)
}

// fetcher resolves names by the table and allows loopback only, as the test
// servers live there; everything else follows the production rules.
func fetcher(names map[string]string) *Fetcher {
	return &Fetcher{
		AllowHTTP: true,
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			a, ok := names[host]
			if !ok {
				return nil, fmt.Errorf("no such host %s", host)
			}
			return []netip.Addr{netip.MustParseAddr(a)}, nil
		},
		AllowAddr: func(a netip.Addr) bool { return a.IsLoopback() || Public(a) },
	}
}

// TestTwilioCredentialsStayOnTwilio: the media URL at api.twilio.com gets
// basic auth, the redirect to Twilio's CDN gets none, and the bytes arrive.
func TestTwilioCredentialsStayOnTwilio(t *testing.T) {
	p := newProvider(t, func(p *provider, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Host == "api.twilio.com:"+p.port():
			if u, pw, ok := r.BasicAuth(); !ok || u != "AC1" || pw != "token" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "http://media.twiliocdn.com:"+p.port()+"/cdn/ME1", http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/cdn/"):
			w.Header().Set("Content-Type", "image/jpeg")
			fmt.Fprint(w, "JPEGDATA")
		}
	})
	f := fetcher(map[string]string{"api.twilio.com": "127.0.0.1", "media.twiliocdn.com": "127.0.0.1"})
	obj, err := f.Fetch(context.Background(), Twilio("AC1", "token"), "http://api.twilio.com:"+p.port()+"/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
	if err != nil || string(obj.Body) != "JPEGDATA" || obj.ContentType != "image/jpeg" {
		t.Fatalf("fetch = %q %q, %v", obj.Body, obj.ContentType, err)
	}
	hits := p.seen()
	if len(hits) != 2 || !strings.HasSuffix(hits[0], "Basic QUMxOnRva2Vu") || !strings.HasSuffix(hits[1], "/cdn/ME1 ") {
		t.Errorf("requests = %q; want credentials on api.twilio.com only", hits)
	}
}

// TestSSRFRefused: every way a webhook could point the fetcher inward or
// leak credentials is refused, and nothing reaches the target.
func TestSSRFRefused(t *testing.T) {
	evil := newProvider(t, func(*provider, http.ResponseWriter, *http.Request) {})
	redirectTo := func(target string) *provider {
		return newProvider(t, func(p *provider, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, strings.ReplaceAll(target, "PORT", p.port()), http.StatusFound)
		})
	}
	metadata := redirectTo("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
	toEvilHost := redirectTo("http://evil.example.com:" + evil.port() + "/steal")
	cdnOnMetadata := redirectTo("http://media.twiliocdn.com:PORT/x")
	src := Twilio("AC1", "token")
	for _, tc := range []struct {
		name, url string
		names     map[string]string
		want      string
	}{
		{"a provider host resolving to a private address", "http://api.twilio.com:" + evil.port() + "/m",
			map[string]string{"api.twilio.com": "10.0.0.7"}, "not a public address"},
		{"a provider host resolving to the metadata address", "http://api.twilio.com:" + evil.port() + "/m",
			map[string]string{"api.twilio.com": "169.254.169.254"}, "not a public address"},
		{"a redirect to the metadata address", "http://api.twilio.com:" + metadata.port() + "/m",
			map[string]string{"api.twilio.com": "127.0.0.1"}, `host "169.254.169.254" is not the provider's`},
		{"a redirect to a provider name on the metadata address", "http://api.twilio.com:" + cdnOnMetadata.port() + "/m",
			map[string]string{"api.twilio.com": "127.0.0.1", "media.twiliocdn.com": "169.254.169.254"}, "not a public address"},
		{"another host, with Twilio's credentials", "http://evil.example.com:" + evil.port() + "/m",
			map[string]string{"evil.example.com": "127.0.0.1"}, `host "evil.example.com" is not the provider's`},
		{"a redirect off the provider's host", "http://api.twilio.com:" + toEvilHost.port() + "/m",
			map[string]string{"api.twilio.com": "127.0.0.1", "evil.example.com": "127.0.0.1"}, `host "evil.example.com" is not the provider's`},
		{"a loopback literal", "http://127.0.0.1:" + evil.port() + "/m", nil, `host "127.0.0.1" is not the provider's`},
		{"a file URL", "file:///etc/passwd", nil, `scheme "file"`},
		{"credentials in the URL", "http://AC1:x@api.twilio.com/m", nil, "credentials in the URL"},
	} {
		f := fetcher(tc.names)
		f.AllowAddr = func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") || Public(a) }
		_, err := f.Fetch(context.Background(), src, tc.url)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want a refusal containing %q", tc.name, err, tc.want)
		}
	}
	if hits := evil.seen(); len(hits) != 0 {
		t.Errorf("the evil host was reached: %q", hits)
	}
	// Production's rules: https only.
	if _, err := (&Fetcher{}).Fetch(context.Background(), src, "http://api.twilio.com/m"); !errors.Is(err, ErrRefused) {
		t.Errorf("plain http in production: %v", err)
	}
}

func TestSizeCap(t *testing.T) {
	p := newProvider(t, func(p *provider, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		}
		fmt.Fprint(w, strings.Repeat("x", 2048))
	})
	f := fetcher(map[string]string{"api.twilio.com": "127.0.0.1"})
	f.MaxBytes = 1024
	for _, path := range []string{"/declared", "/chunked"} {
		_, err := f.Fetch(context.Background(), Twilio("AC1", "t"), "http://api.twilio.com:"+p.port()+path)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "cap") {
			t.Errorf("%s: err = %v, want the size cap", path, err)
		}
	}
}

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1::1": true,
		"10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "127.0.0.1": false, "169.254.169.254": false,
		"0.0.0.0": false, "100.64.0.1": false, "::1": false, "fe80::1": false, "fd00::1": false, "::ffff:10.0.0.1": false,
		"224.0.0.1": false, "fd00:ec2::254": false,
		// Documentation ranges, and IPv6 forms that embed a private IPv4 address.
		"192.0.2.10": false, "198.51.100.7": false, "203.0.113.9": false,
		"2002:a00:1::1": false, "2002:7f00:1::1": false, // 6to4 of 10.0.0.1, 127.0.0.1
		"64:ff9b::a00:1": false, "64:ff9b::a9fe:a9fe": false, "64:ff9b:1::a00:1": false, // NAT64 of 10.0.0.1, 169.254.169.254
		"::ffff:127.0.0.1": false, "::127.0.0.1": false, "100::1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestTelegramTokenNeverInErrors: the bot token is in Telegram's URL path;
// a failed fetch names the host only.
func TestTelegramTokenNeverInErrors(t *testing.T) {
	f := fetcher(map[string]string{"api.telegram.org": "127.0.0.1"})
	f.AllowAddr = func(netip.Addr) bool { return true }
	_, err := f.telegramFile(context.Background(), Telegram(), "http://api.telegram.org:1", "123:SECRET-BOT-TOKEN", "telegram:file/F1")
	if err == nil || strings.Contains(err.Error(), "SECRET-BOT-TOKEN") {
		t.Errorf("err = %v", err)
	}
}

// TestSSRFAsDeployed holds the fetcher exactly as the notifier builds it
// (&Fetcher{}: no resolver, no address rule, https only) against a TLS
// server on loopback that the test Source names: every address form that
// reaches it — loopback, IPv4-mapped, NAT64 and 6to4 forms of private
// addresses — is refused before a connection is made, and the server sees
// nothing.
func TestSSRFAsDeployed(t *testing.T) {
	var hits sync.Map
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Store(r.URL.Path, true) }))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	hosts := []string{"127.0.0.1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "169.254.169.254", "192.0.2.1", "localhost"}
	src := Source{Hosts: hosts}
	f := &Fetcher{} // as functions/notifier builds it
	for _, h := range hosts {
		host := h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
		_, err := f.Fetch(context.Background(), src, "https://"+host+":"+port+"/secret")
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: err = %v, want refused", h, err)
		}
	}
	hits.Range(func(k, _ any) bool { t.Errorf("the server was reached: %v", k); return true })
}

// TestLINEContent: a LINE message's content at api-data.line.me gets the
// channel token; a host outside LINE's is refused before any request.
func TestLINEContent(t *testing.T) {
	p := newProvider(t, func(p *provider, w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer line-token" || r.URL.Path != "/v2/bot/message/325708/content" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		fmt.Fprint(w, "LINEJPEG")
	})
	f := fetcher(map[string]string{"api-data.line.me": "127.0.0.1", "evil.example": "127.0.0.1"})
	obj, err := f.Fetch(context.Background(), LINE("line-token"), "http://api-data.line.me:"+p.port()+"/v2/bot/message/325708/content")
	if err != nil || string(obj.Body) != "LINEJPEG" {
		t.Fatalf("fetch = %q, %v", obj.Body, err)
	}
	if _, err := f.Fetch(context.Background(), LINE("line-token"), "http://evil.example:"+p.port()+"/x"); err == nil {
		t.Error("a host outside LINE's was fetched")
	}
	if hits := p.seen(); len(hits) != 1 {
		t.Errorf("requests = %q", hits)
	}
}

// TestWeChatImage: a follower's image at its PicUrl on WeChat's CDN is
// fetched without credentials; a media-id reference is refused for good,
// saying why.
func TestWeChatImage(t *testing.T) {
	p := newProvider(t, func(p *provider, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		fmt.Fprint(w, "WXJPEG")
	})
	f := fetcher(map[string]string{"mmbiz.qpic.cn": "127.0.0.1"})
	obj, err := f.Fetch(context.Background(), WeChat(), "http://mmbiz.qpic.cn:"+p.port()+"/mmbiz_jpg/abc/0")
	if err != nil || string(obj.Body) != "WXJPEG" {
		t.Fatalf("fetch = %q, %v", obj.Body, err)
	}
	if hits := p.seen(); len(hits) != 1 || !strings.HasSuffix(hits[0], " ") {
		t.Errorf("requests = %q; want one, without credentials", hits)
	}
}
