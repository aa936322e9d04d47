package twilio

import (
	"context"
	"net/url"
	"sort"
	"strings"

	"github.com/twilio/twilio-go/client"

	"github.com/switchboard/switchboard/shared/config"
)

// Verifier checks X-Twilio-Signature with twilio-go's RequestValidator, for
// the current auth token and, during a rotation, the previous one (Twilio
// signs with whichever token is primary; both are valid while a secondary
// token exists).
//
// Two gaps of RequestValidator are closed here, both with official vectors
// in ../shared/corpus/twilio/signature-vectors-official.json:
//   - it takes parameters as map[string]string, so a repeated parameter
//     cannot be expressed; Twilio signs every value, sorted by name then
//     value. Folding the repeats of name k into one value "v1" + k + "v2"…
//     makes the validator's name+value concatenation produce exactly the
//     string Twilio signed.
//   - a URL with an apostrophe may reach us escaped ("%27") or not, whichever
//     form Twilio signed; both forms are tried.
//
// See https://www.twilio.com/docs/usage/webhooks/webhooks-security
type Verifier struct {
	validators []client.RequestValidator
}

// NewVerifier returns a verifier for the given auth tokens (empty ones are
// ignored). With no token it accepts nothing.
func NewVerifier(tokens ...string) *Verifier {
	v := &Verifier{}
	for _, t := range tokens {
		if t != "" {
			v.validators = append(v.validators, client.NewRequestValidator(t))
		}
	}
	return v
}

// VerifyForm reports whether signature is Twilio's for a form POST to
// fullURL with the given parameters.
func (v *Verifier) VerifyForm(fullURL string, form url.Values, signature string) bool {
	if signature == "" {
		return false
	}
	params := foldParams(form)
	for _, u := range urlForms(fullURL) {
		for i := range v.validators {
			if v.validators[i].Validate(u, params, signature) {
				return true
			}
		}
	}
	return false
}

// VerifyBody reports whether signature is Twilio's for a JSON POST to fullURL
// (which carries the body's bodySHA256) with the given raw body.
func (v *Verifier) VerifyBody(fullURL string, body []byte, signature string) bool {
	if signature == "" || !strings.Contains(fullURL, "bodySHA256=") {
		return false
	}
	for _, u := range urlForms(fullURL) {
		for i := range v.validators {
			if v.validators[i].ValidateBody(u, body, signature) {
				return true
			}
		}
	}
	return false
}

func foldParams(form url.Values) map[string]string {
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
	return params
}

func urlForms(u string) []string {
	forms := []string{u}
	if strings.Contains(u, "%27") {
		forms = append(forms, strings.ReplaceAll(u, "%27", "'"))
	}
	if strings.Contains(u, "'") {
		forms = append(forms, strings.ReplaceAll(u, "'", "%27"))
	}
	return forms
}

// Settings reads what every Twilio webhook function needs at start: the
// public base URL signatures are made for, and a verifier for the auth token
// and, during a rotation (Twilio may sign with either), the previous one.
func Settings(ctx context.Context, p config.Params) (publicBase string, v *Verifier, err error) {
	if publicBase, err = p.Get(ctx, "PUBLIC_BASE_URL", true); err != nil {
		return "", nil, err
	}
	token, err := p.Get(ctx, "TWILIO_AUTH_TOKEN", true)
	if err != nil {
		return "", nil, err
	}
	previous, err := p.Get(ctx, "TWILIO_AUTH_TOKEN_PREVIOUS", false)
	if err != nil {
		return "", nil, err
	}
	return publicBase, NewVerifier(token, previous), nil
}
