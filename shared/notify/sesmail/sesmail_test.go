package sesmail_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/notify/sesmail"
	"github.com/switchboard/switchboard/shared/routing"
)

// TestEmailSenderOnMotoSES sends through moto's SES v2 and reads what it
// recorded as sent.
func TestEmailSenderOnMotoSES(t *testing.T) {
	ep := localaws.Endpoint(t, "MOTO_ENDPOINT")
	api := sesv2.NewFromConfig(localaws.Config(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx := context.Background()
	if _, err := api.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("support@switchboard.example")}); err != nil {
		t.Fatal(err)
	}
	s := &sesmail.EmailSender{API: sesmail.NewClient(localaws.Config(), config.Notify{SESEndpoint: ep}), From: "support@switchboard.example"}
	n := notify.Notification{ConversationID: "cv_mail", ContactName: "Ana", Text: "New message from Ana on SMS: \"hello\""}
	if err := s.Send(ctx, routing.Sink{Type: routing.SinkEmail, To: "agent@switchboard.example"}, n); err != nil {
		t.Fatal(err)
	}
	// moto's internal state lists what SES "sent".
	resp, err := http.Get(ep + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		SES struct {
			Message []struct {
				Body, Source, Subject string
				Destinations          struct{ ToAddresses []string }
			}
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range state.SES.Message {
		if strings.Contains(m.Body, "cv_mail") && m.Subject == "Customer waiting: Ana" && m.Source == "support@switchboard.example" &&
			len(m.Destinations.ToAddresses) == 1 && m.Destinations.ToAddresses[0] == "agent@switchboard.example" {
			found = true
		}
	}
	if !found {
		t.Errorf("moto recorded no such email: %+v", state.SES.Message)
	}
	// An unverified sender is refused for good, not retried.
	s.From = "nobody@unverified.example"
	var perm *notify.PermanentError
	if err := s.Send(ctx, routing.Sink{Type: routing.SinkEmail, To: "agent@switchboard.example"}, n); !errors.As(err, &perm) {
		t.Errorf("unverified sender: %v, want a permanent error", err)
	}
}

// TestNoFunctionLinksTheSESClient: SendEmail is by hand; the SDK's sesv2
// client (its schemas' package init) stays out of every function.
func TestNoFunctionLinksTheSESClient(t *testing.T) {
	for _, fn := range []string{"notifier", "fanout", "sweeper", "api", "email", "messaging", "voice", "social", "chatsocket", "spill", "signin"} {
		out, err := exec.Command("go", "list", "-deps", "../../../functions/"+fn).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		if strings.Contains(string(out), "github.com/aws/aws-sdk-go-v2/service/sesv2\n") {
			t.Errorf("functions/%s links service/sesv2", fn)
		}
	}
}

// captured is one request as SES would receive it.
type captured struct {
	method, path, contentType, auth string
	body                            map[string]any
}

// capture answers every request as SES does and records it.
func capture(t *testing.T, status int, errType string) (*httptest.Server, *[]captured) {
	var got []captured
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		got = append(got, captured{r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if status != http.StatusOK {
			w.Header().Set("X-Amzn-ErrorType", errType+":http://internal.amazon.com/coral/com.amazonaws.sesv2/")
			w.WriteHeader(status)
			fmt.Fprint(w, `{"message":"Email address is not verified."}`)
			return
		}
		fmt.Fprint(w, `{"MessageId":"0100018c-sent"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// sdkInput is in as the SDK's own type, field for field.
func sdkInput(in *sesmail.SendEmailInput) *sesv2.SendEmailInput {
	m := in.Content.Simple
	out := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(in.FromEmailAddress),
		Destination:      &sestypes.Destination{ToAddresses: in.Destination.ToAddresses},
		ReplyToAddresses: in.ReplyToAddresses,
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(m.Subject.Data), Charset: aws.String(m.Subject.Charset)},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(m.Body.Text.Data), Charset: aws.String(m.Body.Text.Charset)}},
		}},
	}
	if in.ConfigurationSetName != "" {
		out.ConfigurationSetName = aws.String(in.ConfigurationSetName)
	}
	for _, h := range m.Headers {
		out.Content.Simple.Headers = append(out.Content.Simple.Headers, sestypes.MessageHeader{Name: aws.String(h.Name), Value: aws.String(h.Value)})
	}
	for _, a := range m.Attachments {
		out.Content.Simple.Attachments = append(out.Content.Simple.Attachments, sestypes.Attachment{FileName: aws.String(a.FileName),
			ContentType: aws.String(a.ContentType), RawContent: a.RawContent, ContentDisposition: sestypes.AttachmentContentDisposition(a.ContentDisposition)})
	}
	return out
}

// recording is an API that keeps what the sender asked for, then sends it.
type recording struct {
	sesmail.API
	ins []*sesmail.SendEmailInput
}

func (r *recording) SendEmail(ctx context.Context, in *sesmail.SendEmailInput) (string, error) {
	r.ins = append(r.ins, in)
	return r.API.SendEmail(ctx, in)
}

// TestSendEmailAgreesWithTheSDK: an agent's notification and a customer's
// reply (headers, reply-to, a configuration set, a binary attachment,
// non-ASCII text) sent by the hand-written client and, the same input, by
// the SDK's sesv2 client reach SES as the same request: method, path,
// content type, signing scope and JSON body.
func TestSendEmailAgreesWithTheSDK(t *testing.T) {
	ctx := context.Background()
	srv, got := capture(t, http.StatusOK, "")
	rec := &recording{API: sesmail.NewClient(localaws.Config(), config.Notify{SESEndpoint: srv.URL})}
	s := &sesmail.EmailSender{API: rec, From: "support@switchboard.example", ConfigurationSet: "switchboard-events"}
	if err := s.Send(ctx, routing.Sink{Type: routing.SinkEmail, To: "agent@switchboard.example"}, notify.Notification{ConversationID: "cv_1", ContactName: "Zoë", Text: "New message"}); err != nil {
		t.Fatal(err)
	}
	id, err := s.Reply(ctx, notify.Reply{To: "ana@example.com", From: "help@switchboard.example", Subject: "Re: Mój zwrot", Text: "Dzień dobry — \"we are on it\" <b>",
		InReplyTo: "CAFirst.1@mail.gmail.com", ReplyTo: "support+cv_1@switchboard.example", Auto: true,
		Attachments: []notify.Attachment{{Filename: "damage.png", ContentType: "image/png", Data: []byte{0x89, 'P', 'N', 'G', 0, 0xff, 0xfe}}}})
	if err != nil || id != "0100018c-sent" {
		t.Fatalf("reply: %q, %v", id, err)
	}
	sdk := sesv2.NewFromConfig(localaws.Config(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	for _, in := range rec.ins {
		if _, err := sdk.SendEmail(ctx, sdkInput(in)); err != nil {
			t.Fatal(err)
		}
	}
	if len(*got) != 4 {
		t.Fatalf("%d requests, want 4", len(*got))
	}
	scope := func(auth string) string { // Credential=<key>/<date>/<region>/<service>/aws4_request
		_, after, _ := strings.Cut(auth, "Credential=")
		parts := strings.Split(strings.Split(after, ",")[0], "/")
		return strings.Join(parts[2:], "/")
	}
	for i := range 2 {
		lean, ref := (*got)[i], (*got)[i+2]
		if lean.method != ref.method || lean.path != ref.path || lean.contentType != ref.contentType || scope(lean.auth) != scope(ref.auth) || scope(ref.auth) != "us-east-1/ses/aws4_request" {
			t.Errorf("request %d: %s %s %q %q, the SDK's %s %s %q %q", i, lean.method, lean.path, lean.contentType, scope(lean.auth), ref.method, ref.path, ref.contentType, scope(ref.auth))
		}
		if !reflect.DeepEqual(lean.body, ref.body) {
			a, _ := json.Marshal(lean.body)
			b, _ := json.Marshal(ref.body)
			t.Errorf("request %d's body:\n%s\nthe SDK's:\n%s", i, a, b)
		}
	}
	if att := (*got)[1].body["Content"].(map[string]any)["Simple"].(map[string]any)["Attachments"]; att == nil {
		t.Errorf("the reply went without its attachment: %v", (*got)[1].body)
	}
}

// TestSendEmailRefusals: SES's refusals that no retry changes are
// permanent (not retried, the reason recorded); a throttle or a 5xx is
// tried three times, then an error the queue retries.
func TestSendEmailRefusals(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		status    int
		code      string
		permanent bool
		calls     int
	}{
		{http.StatusBadRequest, "MessageRejected", true, 1},
		{http.StatusBadRequest, "BadRequestException", true, 1},
		{http.StatusTooManyRequests, "TooManyRequestsException", false, 3},
		{http.StatusInternalServerError, "InternalFailure", false, 3},
	} {
		srv, got := capture(t, c.status, c.code)
		s := &sesmail.EmailSender{API: sesmail.NewClient(localaws.Config(), config.Notify{SESEndpoint: srv.URL}), From: "support@switchboard.example"}
		_, err := s.Reply(ctx, notify.Reply{To: "ana@example.com", Subject: "Re: x", Text: "y"})
		var perm *notify.PermanentError
		if err == nil || errors.As(err, &perm) != c.permanent || len(*got) != c.calls || !strings.Contains(err.Error(), c.code) {
			t.Errorf("%d %s: %v after %d calls; want permanent %v after %d", c.status, c.code, err, len(*got), c.permanent, c.calls)
		}
	}
}
