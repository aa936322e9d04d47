package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	twilioclient "github.com/twilio/twilio-go/client"
	twilioapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboard/switchboard/shared/routing"
)

// httpOutcome maps a sink's HTTP answer: 2xx done; 408, 429 and 5xx retried;
// any other 4xx a permanent refusal, recorded with its reason.
func httpOutcome(resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	reason := fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(snippet))
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
		return &PermanentError{Reason: reason}
	}
	return errors.New(reason)
}

func post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Reason: "bad sink URL: " + err.Error()}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return httpOutcome(resp)
}

// WebhookSender POSTs the notification as JSON, signed the Standard Webhooks
// way (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC>)
// with github.com/standard-webhooks' library.
// See https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
type WebhookSender struct {
	Client *http.Client
	signer *standardwebhooks.Webhook
	now    func() time.Time
}

// NewWebhookSender signs with secret, given as "whsec_<base64 key>".
func NewWebhookSender(client *http.Client, secret string, now func() time.Time) (*WebhookSender, error) {
	signer, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("NOTIFY_WEBHOOK_SECRET: want whsec_ and a base64 key: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &WebhookSender{Client: client, signer: signer, now: now}, nil
}

// Send implements Sender.
func (s *WebhookSender) Send(ctx context.Context, sink routing.Sink, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return &PermanentError{Reason: err.Error()}
	}
	return s.PostSigned(ctx, sink.To, n.ID, body)
}

// PostSigned POSTs body to url signed with the message id (webhook-id: the
// receiver's dedupe key); a 4xx other than 408/429 is a PermanentError.
func (s *WebhookSender) PostSigned(ctx context.Context, url, id string, body []byte) error {
	ts := s.now()
	sig, err := s.signer.Sign(id, ts, body)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(standardwebhooks.HeaderWebhookID, id)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(ts.Unix()))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)
	return post(ctx, s.Client, url, body, h)
}

// SlackSender posts the text to a Slack incoming webhook.
// See https://api.slack.com/messaging/webhooks
type SlackSender struct{ Client *http.Client }

// Send implements Sender.
func (s *SlackSender) Send(ctx context.Context, sink routing.Sink, n Notification) error {
	body, _ := json.Marshal(map[string]string{"text": n.Text})
	return post(ctx, s.Client, sink.To, body, nil)
}

// TwilioMessages is the part of twilio-go's REST client the SMS sender uses.
type TwilioMessages interface {
	CreateMessage(params *twilioapi.CreateMessageParams) (*twilioapi.ApiV2010Message, error)
}

// NewTwilioAPI returns twilio-go's 2010 REST API on an
// injected HTTP client: its timeout bounds every call, and tests point it at
// a local stand-in.
func NewTwilioAPI(accountSID, authToken string, httpClient *http.Client) TwilioMessages {
	return NewTwilioREST(accountSID, authToken, httpClient)
}

// NewTwilioREST is twilio-go's 2010 REST API (messages and calls) on
// httpClient, built as twilio.NewRestClientWithParams builds its Api but
// without that package: it links every Twilio product's REST client (some
// 70 packages, 1.5 MiB of each function that sends).
func NewTwilioREST(accountSID, authToken string, httpClient *http.Client) *twilioapi.ApiService {
	c := &twilioclient.Client{Credentials: twilioclient.NewCredentials(accountSID, authToken), HTTPClient: httpClient}
	c.SetAccountSid(accountSID)
	return twilioapi.NewApiServiceWithClient(c)
}

// SMSSender texts the agent through Twilio's REST API, from From (a number
// or a Messaging Service SID, "MG…").
type SMSSender struct {
	API  TwilioMessages
	From string
}

// Send implements Sender. twilio-go's calls take no context; the HTTP
// client's timeout bounds them.
func (s *SMSSender) Send(ctx context.Context, sink routing.Sink, n Notification) error {
	_, err := s.Text(ctx, sink.To, "", n.Text)
	return err
}

// Text sends body to to, from from (or the sender's From when empty), and
// returns the message's SID.
func (s *SMSSender) Text(_ context.Context, to, from, body string) (string, error) {
	if from == "" {
		from = s.From
	}
	p := &twilioapi.CreateMessageParams{}
	p.SetTo(to)
	p.SetBody(body)
	if len(from) > 2 && from[:2] == "MG" {
		p.SetMessagingServiceSid(from)
	} else {
		p.SetFrom(from)
	}
	m, err := s.API.CreateMessage(p)
	if err != nil {
		return "", twilioError(err)
	}
	if m != nil && m.Sid != nil {
		return *m.Sid, nil
	}
	return "", nil
}
