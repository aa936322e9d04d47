package twilio_test

import (
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/switchboard/switchboard/shared/twilio"
	"github.com/switchboard/switchboard/shared/webhook"
)

// referenceVerify is twilio-go's RequestValidator with the two gaps the
// Verifier closes (repeated parameters folded, both apostrophe forms): the
// reference the hand-written verifier is held to.
func referenceVerify(token, fullURL string, form url.Values, signature string) bool {
	if signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		switch len(vs) {
		case 0:
		case 1:
			params[k] = vs[0]
		default:
			sorted := append([]string(nil), vs...)
			sort.Strings(sorted)
			params[k] = strings.Join(sorted, k)
		}
	}
	forms := []string{fullURL}
	if strings.Contains(fullURL, "%27") {
		forms = append(forms, strings.ReplaceAll(fullURL, "%27", "'"))
	}
	if strings.Contains(fullURL, "'") {
		forms = append(forms, strings.ReplaceAll(fullURL, "'", "%27"))
	}
	rv := client.NewRequestValidator(token)
	for _, u := range forms {
		if rv.Validate(u, params, signature) {
			return true
		}
	}
	return false
}

// TestVerifierAgreesWithTwilioGo: on every official form vector of the
// corpus, and on each one's URL with and without its port, the
// hand-written verifier and twilio-go's validator give the same answer.
func TestVerifierAgreesWithTwilioGo(t *testing.T) {
	n := 0
	for _, v := range officialVectors(t) {
		if v.RawBody != nil {
			continue
		}
		form := v.form()
		for _, u := range []string{v.URL, strings.Replace(v.URL, ".com/", ".com:443/", 1), strings.Replace(v.URL, ":443/", "/", 1)} {
			for _, sig := range []string{v.Signature, twilio.Sign(v.AuthToken, u, form)} {
				want := referenceVerify(v.AuthToken, u, form, sig)
				if got := twilio.NewVerifier(v.AuthToken).VerifyForm(u, form, sig); got != want {
					t.Errorf("%s %s %s: verifier %v, twilio-go %v", v.ID, u, sig, got, want)
				}
				n++
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d cases", n)
	}
}

// FuzzVerifierAgreesWithTwilioGo holds the verifier to twilio-go's on
// fuzzed URLs, forms (repeated names too), tokens and signatures, each both
// as given and as signed (with and without a port).
func FuzzVerifierAgreesWithTwilioGo(f *testing.F) {
	f.Add("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", "CallSid=CA1&Caller=%2B14158675309&Digits=1234", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
	f.Add("tok", "https://example.com:443/it's", "a=1&a=0&b=", "")
	f.Add("tok", "http://example.com/x%27y?z", "Body=%C3%A9&Body=e", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, token, u, body, sig string) {
		if token == "" {
			return
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		v := twilio.NewVerifier(token)
		for _, s := range []string{sig, twilio.Sign(token, u, form), twilio.Sign(token, strings.Replace(u, "/", ":443/", 3), form)} {
			if got, want := v.VerifyForm(u, form, s), referenceVerify(token, u, form, s); got != want {
				t.Fatalf("VerifyForm(%q, %q, %q) = %v, twilio-go %v", u, body, s, got, want)
			}
		}
	})
}

// BenchmarkVerifyForm is the signature check of one inbound SMS, the
// hand-written verifier beside twilio-go's validator (the reference).
func BenchmarkVerifyForm(b *testing.B) {
	form := url.Values{"ToCountry": {"US"}, "ToState": {"CA"}, "SmsMessageSid": {"SM1"}, "NumMedia": {"0"}, "ToCity": {"SAN FRANCISCO"},
		"FromZip": {"94105"}, "SmsSid": {"SM1"}, "FromState": {"CA"}, "SmsStatus": {"received"}, "FromCity": {"SAN FRANCISCO"},
		"Body": {"Hi, my order has not arrived"}, "FromCountry": {"US"}, "To": {"+14155550100"}, "ToZip": {"94105"}, "NumSegments": {"1"},
		"MessageSid": {"SM1"}, "AccountSid": {"AC1"}, "From": {"+14155550123"}, "ApiVersion": {"2010-04-01"}}
	const token, u = "0123456789abcdef0123456789abcdef", "https://hooks.example.com/webhooks/twilio/messaging"
	sig := twilio.Sign(token, u, form)
	b.Run("verifier", func(b *testing.B) {
		v := twilio.NewVerifier(token)
		parsed := webhook.FormOf(form) // as the handler has it, from webhook.ParseForm
		b.ReportAllocs()
		for range b.N {
			if !v.Verify(u, parsed, sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("twilio-go", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if !referenceVerify(token, u, form, sig) {
				b.Fatal("refused")
			}
		}
	})
}
