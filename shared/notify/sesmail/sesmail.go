// Package sesmail sends email through SES v2: agents' notifications
// (notify.Sender) and replies to customers (notify.Mailer). It is apart
// from package notify so that the functions that only queue mail (the
// fan-out, the sweeper) do not link it; only the notifier sends.
//
// SendEmail is made by hand (config.JSONService), not with the SDK's sesv2
// client: that client's schemas were the notifier's largest package init
// (0.7 ms and 0.6 MB, GODEBUG=inittrace=1), for its one operation. The SDK
// stays the reference: TestSendEmailAgreesWithTheSDK sends the same mail
// both ways and compares the requests SES would receive, and
// TestEmailSenderOnMotoSES sends through moto's SES.
package sesmail

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
)

// SendEmailInput is SES v2 SendEmail's request, field for field as the
// SDK's client writes it (only the fields this package sets).
type SendEmailInput struct {
	FromEmailAddress     string
	Destination          Destination
	ReplyToAddresses     []string `json:",omitempty"`
	Content              Content
	ConfigurationSetName string `json:",omitempty"`
}

// Destination is whom the mail goes to.
type Destination struct{ ToAddresses []string }

// Content is a simple message (SES builds the MIME).
type Content struct{ Simple Message }

// Message is the subject, the plain-text body, extra headers and
// attachments.
type Message struct {
	Subject     Text
	Body        Body
	Headers     []Header     `json:",omitempty"`
	Attachments []Attachment `json:",omitempty"`
}

// Text is a text and its charset.
type Text struct{ Data, Charset string }

// Body is the plain-text body.
type Body struct{ Text Text }

// Header is one extra header.
type Header struct{ Name, Value string }

// Attachment is one attached file; RawContent is its bytes (base64 in
// the JSON, as the SDK encodes a blob).
type Attachment struct {
	FileName, ContentType string
	RawContent            []byte
	ContentDisposition    string
}

// API sends one email and returns SES's message id.
type API interface {
	SendEmail(ctx context.Context, in *SendEmailInput) (string, error)
}

// Client is SendEmail by hand.
type Client struct{ config.JSONService }

// NewClient returns the SES v2 client for cfg's region and credentials, on
// SES_ENDPOINT when set.
func NewClient(cfg aws.Config, c config.Notify) *Client {
	svc := config.NewJSONService(cfg, "ses", c.SESEndpoint)
	svc.Host = "email" // email.<region>.amazonaws.com, signed as ses
	return &Client{svc}
}

// SendEmail implements API: POST /v2/email/outbound-emails.
func (c *Client) SendEmail(ctx context.Context, in *SendEmailInput) (string, error) {
	var out struct{ MessageId string }
	if err := c.Post(ctx, "/v2/email/outbound-emails", in, &out); err != nil {
		return "", err
	}
	return out.MessageId, nil
}

// EmailSender emails the agent through SES v2, from From.
type EmailSender struct {
	API  API
	From string
	// ConfigurationSet names the SES configuration set whose event
	// destination reports each email's delivery, bounce or complaint
	// (SES_CONFIGURATION_SET); "" for none.
	ConfigurationSet string
}

// Send implements Sender.
func (s *EmailSender) Send(ctx context.Context, sink routing.Sink, n notify.Notification) error {
	subject := "Customer waiting"
	if n.ContactName != "" {
		subject += ": " + n.ContactName
	}
	_, err := s.API.SendEmail(ctx, &SendEmailInput{
		FromEmailAddress: s.From,
		Destination:      Destination{ToAddresses: []string{sink.To}},
		Content: Content{Simple: Message{
			Subject: Text{Data: subject, Charset: "UTF-8"},
			Body:    Body{Text: Text{Data: n.Text + "\n\nConversation: " + n.ConversationID, Charset: "UTF-8"}},
		}},
	})
	return sesOutcome(err)
}

// sesOutcome maps SES's refusals that no retry changes to PermanentError.
func sesOutcome(err error) error {
	var ae *config.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case "MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "AccountSuspendedException", "SendingPausedException", "NotFoundException":
			return &notify.PermanentError{Reason: "SES " + ae.Code + ": " + ae.Message}
		}
	}
	if err != nil {
		return fmt.Errorf("ses SendEmail: %w", err)
	}
	return nil
}

// Reply implements Mailer: a plain-text answer with In-Reply-To and
// References naming the customer's message, Auto-Submitted: auto-replied
// (RFC 3834), and Reply-To the conversation's reply-token address.
func (s *EmailSender) Reply(ctx context.Context, r notify.Reply) (string, error) {
	var headers []Header
	if r.Auto {
		headers = append(headers, Header{"Auto-Submitted", "auto-replied"})
	}
	if r.InReplyTo != "" {
		headers = append(headers, Header{"In-Reply-To", "<" + r.InReplyTo + ">"}, Header{"References", "<" + r.InReplyTo + ">"})
	}
	from := r.From
	if from == "" {
		from = s.From
	}
	in := &SendEmailInput{
		FromEmailAddress: from,
		Destination:      Destination{ToAddresses: []string{r.To}},
		Content: Content{Simple: Message{
			Subject: Text{Data: r.Subject, Charset: "UTF-8"},
			Body:    Body{Text: Text{Data: r.Text, Charset: "UTF-8"}},
			Headers: headers,
		}},
		ConfigurationSetName: s.ConfigurationSet, // its events: delivered, bounced
	}
	for _, a := range r.Attachments {
		in.Content.Simple.Attachments = append(in.Content.Simple.Attachments, Attachment{
			FileName: a.Filename, ContentType: a.ContentType, RawContent: a.Data, ContentDisposition: "ATTACHMENT"})
	}
	if r.ReplyTo != "" {
		in.ReplyToAddresses = []string{r.ReplyTo}
	}
	id, err := s.API.SendEmail(ctx, in)
	if err != nil {
		return "", sesOutcome(err)
	}
	return id, nil
}
