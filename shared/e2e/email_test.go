package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/routing"
)

// The reply fixtures name a placeholder conversation and SES message id; the
// test puts the real ones in, as the customer's mail client would.
const (
	placeholderConv = "cv_019aa1b2c3d4e5f60718293a4b5c6d7e"
	placeholderAck  = "0100019aa1b2c3d4-ack-000000"
)

// TestEmailConversation is issue 5's "done means", on moto's S3 and SES and
// DynamoDB Local's stream: a customer's first email → one acknowledgement by
// SES (In-Reply-To, References, Auto-Submitted, reply-token Reply-To), sent
// from the stream through the notifier; their reply with quoted history
// joins the conversation with its new text only; their out-of-office reply
// to our acknowledgement is recorded quietly and acknowledged by no one; an
// auto-reply from a stranger opens a conversation but is not acknowledged.
func TestEmailConversation(t *testing.T) {
	s := newSystem(t, options{visibility: 5, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	ctx := context.Background()
	s3c := localaws.S3(t)
	bucket := localaws.Bucket(t, s3c)
	h := &email.S3Handler{S3: s3c, Intake: &email.Intake{Service: s.svc, Address: supportEmail,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	deliver := func(key, raw string) {
		t.Helper()
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(raw)}); err != nil {
			t.Fatal(err)
		}
		ev := events.S3Event{Records: []events.S3EventRecord{{EventTime: time.Now(), S3: events.S3Entity{
			Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key, URLDecodedKey: key}}}}}
		if err := h.Handle(ctx, ev); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	fixture := func(name string) string {
		b, err := os.ReadFile("../email/testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	deliver("inbound/first", fixture("first.eml"))
	ana := conversation.Identity{Kind: conversation.KindEmail, Address: "ana@example.com"}
	var ack conversation.Message
	var convID string
	s.waitFor("the acknowledgement on the timeline", patience, func() bool {
		r, err := s.store.Route(ctx, ana)
		if err != nil {
			return false
		}
		convID = r.ConversationID
		_, msgs, _ := s.store.Conversation(ctx, convID)
		for _, m := range msgs {
			if m.Direction == conversation.DirectionOutbound && m.ProviderMessageID != "" {
				ack = m
				return true
			}
		}
		return false
	})
	s.mu.Lock()
	if len(s.mails) != 1 {
		t.Fatalf("SES sends = %d, want 1", len(s.mails))
	}
	sent := s.mails[0]
	s.mu.Unlock()
	headers := map[string]string{}
	for _, hd := range sent.Content.Simple.Headers {
		headers[hd.Name] = hd.Value
	}
	if sent.FromEmailAddress != supportEmail || sent.Destination.ToAddresses[0] != "ana@example.com" ||
		len(sent.ReplyToAddresses) != 1 || sent.ReplyToAddresses[0] != "support+"+convID+"@example.com" ||
		headers["In-Reply-To"] != "<CAFirst.1@mail.gmail.com>" || headers["References"] != "<CAFirst.1@mail.gmail.com>" ||
		headers["Auto-Submitted"] != "auto-replied" || sent.Content.Simple.Subject.Data != "Re: My order #1234 is late" {
		t.Errorf("acknowledgement = from %s to %v reply-to %v subject %q headers %v", sent.FromEmailAddress,
			sent.Destination.ToAddresses, sent.ReplyToAddresses, sent.Content.Simple.Subject.Data, headers)
	}
	if ack.Kind != conversation.KindAuto || ack.Channel != conversation.ChannelEmail {
		t.Errorf("acknowledgement on the timeline = %+v", ack)
	}

	// Their mail client answers our acknowledgement: its SES id is in
	// In-Reply-To and References, the token in To.
	real := strings.NewReplacer(placeholderConv, convID, placeholderAck, ack.ProviderMessageID)
	reply := real.Replace(fixture("gmail_reply.eml"))
	// Threading by references alone (no token) finds the same conversation.
	p, err := email.Parse(strings.NewReader(strings.Replace(reply, "support+"+convID+"@", "support@", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if in, err := h.Intake.Inbound(ctx, p, "test", time.Now()); err != nil || in.Thread != convID {
		t.Errorf("thread by In-Reply-To = %q, %v; want %s", in.Thread, err, convID)
	}
	deliver("inbound/reply", reply)
	deliver("inbound/ooo", real.Replace(fixture("out_of_office.eml")))
	deliver("inbound/stranger-ooo", fixture("exchange_ooo.eml"))
	deliver("inbound/reply", reply) // S3 redelivers an event: nothing changes

	s.waitFor("the reply projected", patience, func() bool {
		c, err := s.store.Summary(ctx, convID)
		// The out-of-office after it is on the timeline but never the preview.
		return err == nil && c.Unread == 2 && c.LastPreview == "It's order 1234, placed on the 2nd."
	})
	s.settle() // a second acknowledgement, if any, would have been sent by now
	_, msgs, err := s.store.Conversation(ctx, convID)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		dir  conversation.Direction
		kind string
		body string
	}
	want := []entry{
		{conversation.DirectionInbound, "", "Hi, my order #1234 hasn't arrived. Can you check?\n\nAna"},
		{conversation.DirectionOutbound, conversation.KindAuto, "Thanks, we got your message and will answer soon."},
		{conversation.DirectionInbound, "", "It's order 1234, placed on the 2nd."},
		{conversation.DirectionInbound, conversation.KindAutomated, "I am out of the office until Monday."},
	}
	if len(msgs) != len(want) {
		t.Fatalf("timeline has %d entries, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		if got := (entry{msgs[i].Direction, msgs[i].Kind, msgs[i].Body}); got != w {
			t.Errorf("timeline[%d] = %+v, want %+v", i, got, w)
		}
	}
	bob, err := s.store.Route(ctx, conversation.Identity{Kind: conversation.KindEmail, Address: "bob@contoso.com"})
	if err != nil || bob.ConversationID == "" || bob.ConversationID == convID {
		t.Errorf("stranger's auto-reply: route %+v, %v", bob, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mails) != 1 {
		t.Errorf("SES sends = %d, want only the one acknowledgement", len(s.mails))
	}
	// Agents heard of Ana's two mails (no coalescing window here); the
	// auto-replies notify no one.
	if len(s.webhooks) != 2 || s.webhooks[0].conv != convID || s.webhooks[1].conv != convID {
		t.Errorf("agent notifications = %+v, want two for %s", s.webhooks, convID)
	}
}
