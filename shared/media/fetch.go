// Package media copies what customers attach — MMS and WhatsApp media,
// voicemail recordings, Meta and Telegram attachments, email attachments —
// into MEDIA_BUCKET, so that the timeline keeps the file after the provider's
// link expires.
//
// Fetching a URL a webhook named is a server-side request forgery risk, so
// Fetcher is strict, and hand-written (no maintained Go library does this):
//
//   - only https (plain http only when a test allows it), and only to the
//     hosts the provider's Source lists; redirects too, at most three;
//   - credentials only to the Source's credential hosts (Twilio's basic
//     auth only to api.twilio.com), added per request, so a redirect never
//     carries them elsewhere;
//   - every address a host resolves to is checked before dialing, and the
//     vetted address is the one dialed (no second lookup to rebind):
//     private, loopback, link-local (169.254.169.254), unspecified,
//     multicast and every other special-purpose address IANA registers are
//     refused (Public, on code.dny.dev/ssrf's registry data);
//   - no proxy from the environment; a size cap on the declared and the read
//     length; a timeout.
package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"code.dny.dev/ssrf"
)

// MaxBytes is the default size cap: WhatsApp's largest documents are 100 MB;
// Twilio MMS 5 MB. Switchboard keeps up to 25 MB per file.
const MaxBytes = 25 << 20

// ErrRefused wraps why a fetch was not made or not finished for a reason no
// retry changes (a host not allowed, a private address, too large, a 4xx).
var ErrRefused = errors.New("media fetch refused")

// Source is how one provider serves media.
type Source struct {
	// Hosts the fetch and its redirects may reach: "api.twilio.com", or
	// ".twiliocdn.com" for any subdomain.
	Hosts []string
	// AuthHosts get Auth's credentials; every other host gets none.
	AuthHosts []string
	Auth      func(*http.Request)
}

func matchHost(patterns []string, host string) bool {
	host = strings.ToLower(host)
	return slices.ContainsFunc(patterns, func(p string) bool {
		if strings.HasPrefix(p, ".") {
			return strings.HasSuffix(host, p)
		}
		return host == p
	})
}

// Fetcher fetches media URLs under the rules of the package doc.
type Fetcher struct {
	MaxBytes int64
	Timeout  time.Duration
	// Resolve looks a host up; default net.DefaultResolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// AllowAddr says whether an address may be dialed; default Public.
	AllowAddr func(netip.Addr) bool
	// AllowHTTP permits plain http (tests only).
	AllowHTTP bool
}

// Public reports whether a may be dialed: code.dny.dev/ssrf's rules, which
// are IANA's IPv4 and IPv6 special-purpose registries kept as data (private,
// loopback, link-local, CGNAT, the documentation ranges 192.0.2.0/24,
// 198.51.100.0/24 and 203.0.113.0/24, benchmarking, multicast, reserved),
// and for IPv6 nothing outside global unicast (2000::/3), so no IPv4-mapped,
// NAT64 (64:ff9b::/96, 64:ff9b:1::/48) or unique-local address, nor the
// 6to4 prefix 2002::/16, whatever IPv4 address they embed.
func Public(a netip.Addr) bool {
	return a.IsValid() && guard.SafeAddr(a) == nil
}

// guard holds the library's default deny lists; only SafeAddr is used (the
// port and network checks are the Fetcher's own: https to provider hosts).
var guard = ssrf.New()

// Object is a fetched file.
type Object struct {
	Body        []byte
	ContentType string
}

// Fetch GETs rawURL from src.
func (f *Fetcher) Fetch(ctx context.Context, src Source, rawURL string) (Object, error) {
	u, err := f.check(src, rawURL)
	if err != nil {
		return Object{}, err
	}
	timeout := f.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	client := &http.Client{
		Timeout: timeout,
		Transport: &authTransport{src: src, next: &http.Transport{
			Proxy: nil, DialContext: f.dial, ForceAttemptHTTP2: true,
			TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: timeout,
		}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > 3 {
				return fmt.Errorf("%w: more than 3 redirects", ErrRefused)
			}
			_, err := f.check(src, req.URL.String())
			return err
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Object{}, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error quotes the whole URL, which may carry a token (Telegram's
		// is in the path): name the host only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return Object{}, fmt.Errorf("media fetch from %s: %w", u.Hostname(), err) // errors.Is(err, ErrRefused) for a refusal
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
		return Object{}, fmt.Errorf("%w: HTTP %d from %s", ErrRefused, resp.StatusCode, resp.Request.URL.Host)
	}
	if resp.StatusCode != http.StatusOK {
		return Object{}, fmt.Errorf("media fetch: HTTP %d from %s", resp.StatusCode, resp.Request.URL.Host)
	}
	max := f.MaxBytes
	if max == 0 {
		max = MaxBytes
	}
	if resp.ContentLength > max {
		return Object{}, fmt.Errorf("%w: %d bytes, over the %d cap", ErrRefused, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return Object{}, fmt.Errorf("media fetch: read: %w", err)
	}
	if int64(len(body)) > max {
		return Object{}, fmt.Errorf("%w: over the %d-byte cap", ErrRefused, max)
	}
	return Object{Body: body, ContentType: resp.Header.Get("Content-Type")}, nil
}

// check refuses a URL that is not https (or http when allowed) to an
// allowed host.
func (f *Fetcher) check(src Source, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: bad URL: %v", ErrRefused, err)
	}
	if u.Scheme != "https" && !(f.AllowHTTP && u.Scheme == "http") {
		return nil, fmt.Errorf("%w: scheme %q", ErrRefused, u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL", ErrRefused)
	}
	if !matchHost(src.Hosts, u.Hostname()) {
		return nil, fmt.Errorf("%w: host %q is not the provider's", ErrRefused, u.Hostname())
	}
	return u, nil
}

// dial resolves the host, refuses if any address is not allowed, and dials
// the vetted address itself.
func (f *Fetcher) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if f.Resolve != nil {
		addrs, err = f.Resolve(ctx, host)
		if err != nil {
			return nil, err
		}
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
	}
	allow := f.AllowAddr
	if allow == nil {
		allow = Public
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: %s has no address", ErrRefused, host)
	}
	for _, a := range addrs {
		if !allow(a) {
			return nil, fmt.Errorf("%w: %s resolves to %s, not a public address", ErrRefused, host, a)
		}
	}
	var d net.Dialer
	var last error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// authTransport adds the Source's credentials to requests for its
// credential hosts only.
type authTransport struct {
	src  Source
	next http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Del("Authorization")
	if t.src.Auth != nil && matchHost(t.src.AuthHosts, req.URL.Hostname()) {
		t.src.Auth(req)
	}
	return t.next.RoundTrip(req)
}
