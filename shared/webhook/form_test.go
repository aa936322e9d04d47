package webhook_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/switchboard/switchboard/shared/webhook"
)

// formSeeds are real Twilio bodies (the handlers' fixtures), the official
// signature vectors' parameters encoded, and the edges of url.ParseQuery.
func formSeeds(t testing.TB) []string {
	files, err := filepath.Glob("../twilio/testdata/*.form")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Twilio fixtures: %v", err)
	}
	var seeds []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	raw, err := os.ReadFile("../../../shared/corpus/twilio/signature-vectors-official.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			Params map[string]any `json:"params"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, v := range doc.Vectors {
		q := url.Values{}
		for k, val := range v.Params {
			switch val := val.(type) {
			case string:
				q.Add(k, val)
			case []any:
				for _, x := range val {
					q.Add(k, x.(string))
				}
			}
		}
		seeds = append(seeds, q.Encode())
	}
	return append(seeds, "", "&", "&&a=1&&", "=", "a", "a=", "=b", "a=1&a=2&a=1", "a=%41%42+c", "a=%4", "a=%",
		"a=%zz", "%41=b", "a;b=c", "a=b;c", "a=1&b=2;", "+=+", "a=%E2%80%94", "a=%ff%fe", "a==b", "a=b=c",
		"MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM1%2FMedia%2FME1")
}

// agree fails unless ParseForm accepts exactly what url.ParseQuery accepts,
// with the same names and values in the same order per name.
func agree(t *testing.T, body string) {
	t.Helper()
	want, werr := url.ParseQuery(body)
	f, err := webhook.ParseForm([]byte(body))
	if (err == nil) != (werr == nil) {
		t.Fatalf("ParseForm(%q) error %v, url.ParseQuery %v", body, err, werr)
	}
	if err != nil {
		return
	}
	if got := f.Values(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseForm(%q) = %q, url.ParseQuery %q", body, got, want)
	}
	for k, vs := range want {
		if got := f.Get(k); got != vs[0] {
			t.Fatalf("ParseForm(%q).Get(%q) = %q, want %q", body, k, got, vs[0])
		}
	}
}

func TestParseFormAgreesWithParseQuery(t *testing.T) {
	for _, s := range formSeeds(t) {
		agree(t, s)
	}
	// Past url.ParseQuery's 10 000-parameter limit both refuse.
	many := make([]byte, 0, 40000)
	for range 10001 {
		many = append(many, "a=1&"...)
	}
	agree(t, string(many[:len(many)-1]))
	agree(t, string(many[:len(many)-5]))
}

func TestParseFormKeepsOrderAndRefusesBadText(t *testing.T) {
	f, err := webhook.ParseForm([]byte("b=2&a=%31&b=3&c=x+y"))
	if err != nil {
		t.Fatal(err)
	}
	want := []webhook.FormPair{{"b", "2"}, {"a", "1"}, {"b", "3"}, {"c", "x y"}}
	if got := f.Pairs(); !reflect.DeepEqual(got, want) {
		t.Fatalf("pairs %q, want %q", got, want)
	}
	if f.Get("b") != "2" || f.Get("missing") != "" {
		t.Fatalf("Get: %q %q", f.Get("b"), f.Get("missing"))
	}
	if err := webhook.CheckForm(f); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"Body=%00", "Body=%ff", "%ff=x"} {
		f, err := webhook.ParseForm([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := webhook.CheckForm(f); err == nil {
			t.Errorf("CheckForm(%q) accepted it", body)
		}
	}
}

func FuzzParseFormAgreesWithParseQuery(f *testing.F) {
	for _, s := range formSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(agree)
}

// BenchmarkParseForm is a 19-field inbound SMS against url.ParseQuery.
func BenchmarkParseForm(b *testing.B) {
	body, err := os.ReadFile("../twilio/testdata/sms-inbound.form")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ParseForm", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := webhook.ParseForm(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("url.ParseQuery", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := url.ParseQuery(string(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
