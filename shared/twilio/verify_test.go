package twilio_test

import (
	"encoding/json"
	"net/url"
	"os"
	"testing"

	"github.com/switchboard/switchboard/shared/twilio"
)

// corpus is the shared outside truth beside the repository.
const corpus = "../../../shared/corpus/"

// officialVectors are the corpus's signature vectors (Twilio's SDKs').
func officialVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile(corpus + "twilio/signature-vectors-official.json")
	if err != nil {
		t.Fatalf("read vectors (../shared must sit beside the repository): %v", err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	return file.Vectors
}

// form is a vector's parameters, repeated names included.
func (v vector) form() url.Values {
	form := url.Values{}
	for k, val := range v.Params {
		form.Add(k, val)
	}
	for _, kv := range v.ParamsMulti {
		form.Add(kv[0], kv[1])
	}
	return form
}

type vector struct {
	ID            string            `json:"id"`
	AuthToken     string            `json:"auth_token"`
	URL           string            `json:"url"`
	Params        map[string]string `json:"params"`
	ParamsMulti   [][2]string       `json:"params_multi"`
	RawBody       *string           `json:"raw_body"`
	Signature     string            `json:"signature"`
	ExpectedValid bool              `json:"expected_valid"`
}

func TestOfficialSignatureVectors(t *testing.T) {
	vectors := officialVectors(t)
	if len(vectors) < 15 {
		t.Fatalf("only %d vectors read", len(vectors))
	}
	for _, v := range vectors {
		t.Run(v.ID, func(t *testing.T) {
			ver := twilio.NewVerifier(v.AuthToken)
			var got bool
			if v.RawBody != nil {
				got = ver.VerifyBody(v.URL, []byte(*v.RawBody), v.Signature)
			} else {
				form := v.form()
				got = ver.VerifyForm(v.URL, form, v.Signature)
			}
			if got != v.ExpectedValid {
				t.Errorf("valid = %v, want %v", got, v.ExpectedValid)
			}
		})
	}
}

func TestVerifierRotation(t *testing.T) {
	form := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	const u, sig = "https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=" // token 12345
	if !twilio.NewVerifier("new-token", "12345").VerifyForm(u, form, sig) {
		t.Error("previous token not accepted during rotation")
	}
	if twilio.NewVerifier("new-token").VerifyForm(u, form, sig) {
		t.Error("signature by another token accepted")
	}
	if twilio.NewVerifier().VerifyForm(u, form, sig) || twilio.NewVerifier("", "").VerifyForm(u, form, sig) {
		t.Error("a verifier with no token accepted a request")
	}
	if twilio.NewVerifier("12345").VerifyForm(u, form, "") {
		t.Error("missing signature accepted")
	}
	form.Set("Digits", "9999")
	if twilio.NewVerifier("12345").VerifyForm(u, form, sig) {
		t.Error("tampered parameter accepted")
	}
}

func TestSignMatchesOfficialVectors(t *testing.T) {
	vectors := officialVectors(t)
	checked := 0
	for _, v := range vectors {
		// Vectors whose signature was computed over exactly the given URL and form.
		if !v.ExpectedValid || v.RawBody != nil || v.ID == "sdk-https-sig-with-443" || v.ID == "sdk-http-sig-with-80" ||
			v.ID == "sdk-https-port-1234-sig-without-port" || v.ID[:5] == "node-" {
			continue
		}
		form := v.form()
		if got := twilio.Sign(v.AuthToken, v.URL, form); got != v.Signature {
			t.Errorf("%s: Sign = %s, want %s", v.ID, got, v.Signature)
		}
		checked++
	}
	if checked < 4 {
		t.Fatalf("only %d vectors checked", checked)
	}
}
