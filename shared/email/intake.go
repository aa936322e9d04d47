package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email/thread"
)

// Intake turns raw messages into conversation messages.
type Intake struct {
	Service    *conversation.Service
	Normalizer conversation.Normalizer
	// Address is the support address ("support@example.com"); mail from it,
	// or from any of its +tag forms, is our own and never acknowledged.
	Address string
	Log     *slog.Logger
}

// Ingest reads one raw message kept at source ("s3://bucket/key") and stores
// it. A message that cannot be read is recorded as a failure with the reason
// and ErrMalformed is returned (retrying will not help); any other error is
// ours, and worth a retry.
func (in *Intake) Ingest(ctx context.Context, raw io.Reader, source string, receivedAt time.Time) (conversation.Result, error) {
	p, err := Parse(raw)
	var ev conversation.Inbound
	if err == nil {
		if ev, err = in.Inbound(ctx, p, source, receivedAt); err == nil {
			if verr := ev.Validate(); verr != nil {
				err = fmt.Errorf("%w: %v", ErrMalformed, verr) // no retry makes it valid
			}
		}
	}
	if errors.Is(err, ErrMalformed) {
		if rerr := in.Service.Store.RecordFailure(ctx, conversation.Failure{
			Source: "email", Ref: source, Reason: err.Error(), At: receivedAt,
		}); rerr != nil {
			return conversation.Result{}, fmt.Errorf("record failed email: %w", rerr)
		}
		in.log().LogAttrs(ctx, slog.LevelWarn, "email.ingest", slog.String("outcome", "malformed"),
			slog.String("channel", "email"), slog.String("source", source), slog.String("reason", err.Error()))
		return conversation.Result{}, err
	}
	if err != nil {
		return conversation.Result{}, err
	}
	res, err := in.Service.Ingest(ctx, ev)
	if err != nil {
		return res, err
	}
	outcome := "stored"
	if res.Duplicate {
		outcome = "duplicate"
	}
	attrs := []slog.Attr{slog.String("outcome", outcome), slog.String("channel", "email"),
		slog.String("conversation", res.Message.ConversationID), slog.String("message", res.Message.ID),
		slog.Bool("new_conversation", res.NewConversation), slog.Int("attachments", len(p.Attachments))}
	if ev.Kind != "" {
		attrs = append(attrs, slog.String("kind", ev.Kind), slog.String("reason", ev.Reason))
	}
	if ev.Thread != "" {
		attrs = append(attrs, slog.Bool("threaded", ev.Thread == res.Message.ConversationID))
	}
	if p.Unverified != "" {
		attrs = append(attrs, slog.String("unverified_sender", p.Unverified))
	}
	in.log().LogAttrs(ctx, slog.LevelInfo, "email.ingest", attrs...)
	return res, nil
}

// Inbound normalizes a parsed message. Its thread is the conversation named
// by a reply token in To or Cc, else the one our message in In-Reply-To or
// References belongs to (the SES message id of an acknowledgement); Ingest
// honours it only for the conversation's own contact, and only mail whose
// sender SES authenticated has one (Parsed.Unverified).
func (in *Intake) Inbound(ctx context.Context, p *Parsed, source string, receivedAt time.Time) (conversation.Inbound, error) {
	from, err := in.Normalizer.Email(p.From.Address)
	if err != nil {
		return conversation.Inbound{}, fmt.Errorf("%w: From: %v", ErrMalformed, err)
	}
	key := p.MessageID
	if key == "" {
		key = source // the object key is SES's message id
	}
	recipients := append(slices.Clip(p.To), p.Cc...)
	ev := conversation.Inbound{
		Key: "email:" + key, Channel: conversation.ChannelEmail, From: from, FromAddress: from.Address,
		To: firstAddress(recipients), Subject: Truncate(p.Subject, 998),
		Body: Truncate(p.Reply, MaxText), Provider: thread.Provider, ProviderMessageID: p.MessageID,
		ProfileName: strings.TrimSpace(p.From.Name), ReceivedAt: receivedAt, Source: source,
	}
	if p.Reply != p.Text {
		ev.FullBody = Truncate(p.Text, MaxText)
	}
	if ev.Body == "" && ev.Subject == "" && len(p.Attachments) == 0 {
		ev.Body = "[empty email]" // a person wrote, if by mistake
	}
	switch {
	case p.Junk != "":
		ev.Kind, ev.Reason = conversation.KindJunk, p.Junk
	case p.Automated != "":
		ev.Kind, ev.Reason = conversation.KindAutomated, p.Automated
	case in.own(p.From):
		ev.Kind, ev.Reason = conversation.KindAutomated, "from our own address"
	}
	for _, a := range p.Attachments {
		m := conversation.Media{URL: "email:" + strconv.Itoa(a.Index), ContentType: a.ContentType, Size: a.Size, Filename: a.Filename}
		if strings.Contains(p.Junk, "virus") {
			m.Status, m.Error = conversation.MediaFailed, "not copied: virus verdict"
		}
		ev.Media = append(ev.Media, m)
	}
	if p.Unverified != "" {
		// Anyone can write From: customer@…: mail SES could not
		// authenticate goes to that address's own open conversation, never
		// into another by token or references, and is never acknowledged.
		ev.UnverifiedSender = true
		return ev, nil
	}
	if ev.Thread = thread.Token(recipients...); ev.Thread == "" {
		if ev.Thread, err = in.referenced(ctx, p); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// referenced returns the conversation of the newest of our messages the
// email refers to, "" if none.
func (in *Intake) referenced(ctx context.Context, p *Parsed) (string, error) {
	refs := slices.Clone(p.References)
	if p.InReplyTo != "" {
		refs = append(refs, p.InReplyTo)
	}
	for _, ref := range slices.Backward(refs) {
		id := thread.SESMessageID(ref)
		if id == "" {
			continue
		}
		conv, err := in.Service.Store.OutboundConversation(ctx, thread.Provider, id)
		if errors.Is(err, conversation.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("thread by references: %w", err)
		}
		return conv, nil
	}
	return "", nil
}

func (in *Intake) own(from *mail.Address) bool {
	if in.Address == "" {
		return false
	}
	bl, bd, _ := strings.Cut(strings.ToLower(in.Address), "@")
	fl, fd, _ := strings.Cut(strings.ToLower(from.Address), "@")
	fl, _, _ = strings.Cut(fl, "+")
	return fl == bl && fd == bd
}

func firstAddress(as []*mail.Address) string {
	for _, a := range as {
		if a != nil && a.Address != "" {
			return strings.ToLower(a.Address)
		}
	}
	return ""
}

func (in *Intake) log() *slog.Logger {
	if in.Log == nil {
		return slog.Default()
	}
	return in.Log
}
