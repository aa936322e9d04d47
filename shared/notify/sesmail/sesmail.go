// Package sesmail sends email through SES v2: agents' notifications
// (notify.Sender) and replies to customers (notify.Mailer). It is apart
// from package notify so that the functions that only queue mail (the
// fan-out, the sweeper) do not link the SES client, whose package init
// (its schemas) is the largest in their cold start; only the notifier
// sends.
package sesmail

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/switchboard/switchboard/shared/config"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
)

// NewClient returns an SES v2 client, on SES_ENDPOINT when set.
func NewClient(cfg aws.Config, c config.Notify) *sesv2.Client {
	return sesv2.NewFromConfig(cfg, func(o *sesv2.Options) {
		if c.SESEndpoint != "" {
			o.BaseEndpoint = aws.String(c.SESEndpoint)
		}
	})
}

// API is the part of the SES v2 client the email sender uses.
type API interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
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
	_, err := s.API.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &sestypes.Destination{ToAddresses: []string{sink.To}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(n.Text + "\n\nConversation: " + n.ConversationID), Charset: aws.String("UTF-8")}},
		}},
	})
	return sesOutcome(err)
}

// sesOutcome maps SES's refusals that no retry changes to PermanentError.
func sesOutcome(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "AccountSuspendedException", "SendingPausedException", "NotFoundException":
			return &notify.PermanentError{Reason: "SES " + ae.ErrorCode() + ": " + ae.ErrorMessage()}
		}
	}
	return err
}

// Reply implements Mailer: a plain-text answer with In-Reply-To and
// References naming the customer's message, Auto-Submitted: auto-replied
// (RFC 3834), and Reply-To the conversation's reply-token address.
func (s *EmailSender) Reply(ctx context.Context, r notify.Reply) (string, error) {
	var headers []sestypes.MessageHeader
	add := func(name, value string) {
		headers = append(headers, sestypes.MessageHeader{Name: aws.String(name), Value: aws.String(value)})
	}
	if r.Auto {
		add("Auto-Submitted", "auto-replied")
	}
	if r.InReplyTo != "" {
		add("In-Reply-To", "<"+r.InReplyTo+">")
		add("References", "<"+r.InReplyTo+">")
	}
	from := r.From
	if from == "" {
		from = s.From
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(from),
		Destination:      &sestypes.Destination{ToAddresses: []string{r.To}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String(r.Subject), Charset: aws.String("UTF-8")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String(r.Text), Charset: aws.String("UTF-8")}},
			Headers: headers,
		}},
	}
	for _, a := range r.Attachments {
		in.Content.Simple.Attachments = append(in.Content.Simple.Attachments, sestypes.Attachment{
			FileName: aws.String(a.Filename), ContentType: aws.String(a.ContentType), RawContent: a.Data,
			ContentDisposition: sestypes.AttachmentContentDispositionAttachment,
		})
	}
	if r.ReplyTo != "" {
		in.ReplyToAddresses = []string{r.ReplyTo}
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet) // its events: delivered, bounced
	}
	out, err := s.API.SendEmail(ctx, in)
	if err != nil {
		return "", sesOutcome(err)
	}
	return aws.ToString(out.MessageId), nil
}
