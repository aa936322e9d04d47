package xdm_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/xdm"
)

const (
	corpus = "../../../shared/corpus/x/"
	secret = "x-test-consumer-secret"
)

type world struct {
	t     *testing.T
	store conversation.Store
	mux   *http.ServeMux
}

func newWorld(t *testing.T, st conversation.Store, consumerSecret string) *world {
	w := &world{t: t, store: st, mux: http.NewServeMux()}
	h, err := xdm.NewHandler(xdm.Config{ConsumerSecret: consumerSecret, Service: &conversation.Service{Store: st, Team: "support"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.Register(w.mux)
	return w
}

func (w *world) post(body []byte, signature string) int {
	req := httptest.NewRequest(http.MethodPost, xdm.Path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set(xdm.SignatureHeader, signature)
	}
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, req)
	return rec.Code
}

func (w *world) messages() []conversation.Message { return backends.Messages(w.t, w.store) }

func read(t *testing.T, name string) []byte {
	b, err := os.ReadFile(corpus + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCRCVectors: both vectors of the corpus, through GET /webhooks/x with
// the token as X sends it in the URL (decoded before signing).
func TestCRCVectors(t *testing.T) {
	var file struct {
		Vectors []map[string]string
	}
	if err := json.Unmarshal(read(t, "crc-signature-vectors.json"), &file); err != nil || len(file.Vectors) != 2 {
		t.Fatalf("vectors: %v", err)
	}
	for _, v := range file.Vectors {
		want := v["expected_response_body_contains"] + v["computed_response_token"]
		sent := v["crc_token_as_sent_in_url"]
		if sent == "" {
			sent = v["crc_token"]
		}
		w := newWorld(t, backends.Stores()["memstore"](t), v["consumerSecret"])
		rec := httptest.NewRecorder()
		w.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, xdm.Path+"?crc_token="+sent, nil))
		var out struct {
			ResponseToken string `json:"response_token"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code != http.StatusOK || out.ResponseToken != want || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("crc %q: %d %s, want %s", sent, rec.Code, rec.Body, want)
		}
	}
	w := newWorld(t, backends.Stores()["memstore"](t), secret)
	rec := httptest.NewRecorder()
	w.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, xdm.Path, nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("no crc_token: %d", rec.Code)
	}
}

// TestCorpusOnBothStores: every sample, signed, is answered 200 and is
// what the package doc says.
func TestCorpusOnBothStores(t *testing.T) {
	for name, ns := range backends.Stores() {
		t.Run(name, func(t *testing.T) {
			for file, want := range map[string]struct {
				body, profile, kind string
			}{
				"docs-aaa-direct_message_events.json":                 {"Hello World!", "Jordan Brinks (@furiouscamper)", ""},
				"docs-xaa-dm.received.json":                           {"hello!", "OtherUser (@OtherUser)", ""},
				"docs-xaa-chat.received.json":                         {"end-to-end encrypted", "", conversation.KindUnsupported},
				"docs-xaa-dm.sent.json":                               {},
				"docs-aaa-direct_message_indicate_typing_events.json": {},
				"docs-aaa-direct_message_mark_read_events.json":       {},
				"docs-aaa-user_event.json":                            {},
			} {
				w := newWorld(t, ns(t), secret)
				body := read(t, file)
				if code := w.post(body, xdm.Sign(secret, body)); code != http.StatusOK {
					t.Fatalf("%s: %d", file, code)
				}
				msgs := w.messages()
				if want.body == "" {
					if len(msgs) != 0 {
						t.Errorf("%s stored %d entries, want none", file, len(msgs))
					}
					continue
				}
				if len(msgs) != 1 || !strings.Contains(msgs[0].Body, want.body) || msgs[0].Kind != want.kind || msgs[0].Channel != conversation.ChannelX ||
					msgs[0].Identity.Kind != conversation.KindX {
					t.Errorf("%s: %+v", file, msgs)
					continue
				}
				if want.profile != "" {
					c, _ := w.store.Contact(context.Background(), msgs[0].ContactID)
					if c.Name != want.profile {
						t.Errorf("%s: contact %q, want %q", file, c.Name, want.profile)
					}
				}
			}
		})
	}
}

// TestOneDMOnce: the same DM delivered five times at once, and in the other
// API's shape, is one message.
func TestOneDMOnce(t *testing.T) {
	aaa := []byte(`{"for_user_id":"100","direct_message_events":[{"type":"message_create","id":"777","created_timestamp":"1784928224372","message_create":{"target":{"recipient_id":"100"},"sender_id":"200","message_data":{"text":"where is my order?"}}}],"users":{"200":{"id":"200","name":"Ana","screen_name":"ana"}}}`)
	xaa := []byte(`{"data":{"event_uuid":"42","filter":{"user_id":"100"},"event_type":"dm.received","payload":{"direct_message_events":[{"type":"message_create","id":"777","created_timestamp":"1784928224372","message_create":{"target":{"recipient_id":"100"},"sender_id":"200","message_data":{"text":"where is my order?"}}}],"users":{"200":{"data":{"id":"200","name":"Ana","username":"ana"}}}}}}`)
	for name, ns := range backends.Stores() {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, ns(t), secret)
			var wg sync.WaitGroup
			for i := range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := aaa
					if i%2 == 1 {
						b = xaa
					}
					if code := w.post(b, xdm.Sign(secret, b)); code != http.StatusOK {
						t.Errorf("copy %d: %d", i, code)
					}
				}()
			}
			wg.Wait()
			if msgs := w.messages(); len(msgs) != 1 || msgs[0].ProviderMessageID != "777" {
				t.Errorf("stored %+v, want the DM once", msgs)
			}
		})
	}
}

// TestBadInputChangesNothing: forged, missing, malformed and oversize are
// refused with their status; nothing is stored.
func TestBadInputChangesNothing(t *testing.T) {
	w := newWorld(t, backends.Stores()["memstore"](t), secret)
	good := read(t, "docs-aaa-direct_message_events.json")
	big := []byte(`{"for_user_id":"1","pad":"` + strings.Repeat("x", 1<<20) + `"}`)
	for name, c := range map[string]struct {
		body []byte
		sig  string
		want int
	}{
		"forged":          {good, xdm.Sign("another", good), http.StatusForbidden},
		"no signature":    {good, "", http.StatusForbidden},
		"without sha256=": {good, strings.TrimPrefix(xdm.Sign(secret, good), "sha256="), http.StatusForbidden},
		"malformed":       {[]byte(`{"for_user_id":`), xdm.Sign(secret, []byte(`{"for_user_id":`)), http.StatusBadRequest},
		"neither shape":   {[]byte(`{"hello":"world"}`), xdm.Sign(secret, []byte(`{"hello":"world"}`)), http.StatusBadRequest},
		"DMs for no one":  {[]byte(`{"direct_message_events":[]}`), xdm.Sign(secret, []byte(`{"direct_message_events":[]}`)), http.StatusBadRequest},
		"over the cap":    {big, xdm.Sign(secret, big), http.StatusRequestEntityTooLarge},
	} {
		if code := w.post(c.body, c.sig); code != c.want {
			t.Errorf("%s: %d, want %d", name, code, c.want)
		}
	}
	if n := len(w.messages()); n != 0 {
		t.Errorf("bad input stored %d", n)
	}
}
