package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Sign computes X-Twilio-Signature for a form POST to fullURL, as Twilio does:
// base64(HMAC-SHA1(token, URL + each name+value, sorted by name then value)).
// twilio-go validates but does not sign, so this is hand-written; the tests
// check it against the official vectors and against Verifier. It is for the
// signing helper (scripts/send) and tests: Switchboard itself only verifies.
func Sign(token, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range names {
		vs := append([]string(nil), form[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
