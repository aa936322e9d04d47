package email

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email/thread"
)

// Sending events: SES publishes what became of each email it sent through
// the configuration set (SES_CONFIGURATION_SET) to an SNS topic, and the
// email function receives them. An agent's reply moves forward with them
// (Delivery → delivered; Bounce → undelivered with the bounce's status code;
// Complaint → complained; Reject → failed) — statuses only move forward
// (conversation.StatusRank). Events for mail that is no stored message (an
// agent's notification email) change nothing. The format:
// https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html

// SendingEvent is the part of an SES event record this reads.
type SendingEvent struct {
	EventType        string `json:"eventType"`
	NotificationType string `json:"notificationType"` // the same, for identity notifications
	Mail             struct {
		MessageID string `json:"messageId"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string `json:"bounceType"`
		BounceSubType     string `json:"bounceSubType"`
		Timestamp         string `json:"timestamp"`
		BouncedRecipients []struct {
			Status         string `json:"status"`
			DiagnosticCode string `json:"diagnosticCode"`
		} `json:"bouncedRecipients"`
	} `json:"bounce"`
	Delivery *struct {
		Timestamp string `json:"timestamp"`
	} `json:"delivery"`
	Complaint *struct {
		Timestamp string `json:"timestamp"`
	} `json:"complaint"`
}

// StatusComplained is an email reply its recipient reported as spam.
const StatusComplained = "complained"

// ParseSendingEvent reads one SES event record: the SES message id and the
// status it means; ok is false for events that move no status (Send, Open,
// DeliveryDelay, …).
func ParseSendingEvent(raw []byte) (messageID string, u conversation.StatusUpdate, ok bool, err error) {
	var ev SendingEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return "", u, false, fmt.Errorf("%w: SES event is not JSON: %v", ErrMalformed, err)
	}
	kind := ev.EventType
	if kind == "" {
		kind = ev.NotificationType
	}
	if ev.Mail.MessageID == "" || kind == "" {
		return "", u, false, fmt.Errorf("%w: SES event without eventType or mail.messageId", ErrMalformed)
	}
	at := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t
	}
	switch kind {
	case "Delivery":
		u.Status = "delivered"
		if ev.Delivery != nil {
			u.At = at(ev.Delivery.Timestamp)
		}
	case "Bounce":
		u.Status = "undelivered"
		if b := ev.Bounce; b != nil {
			u.At, u.ErrorCode = at(b.Timestamp), b.BounceType
			if len(b.BouncedRecipients) > 0 && b.BouncedRecipients[0].Status != "" {
				u.ErrorCode = b.BouncedRecipients[0].Status // the enhanced status code: 5.1.1
			}
		}
	case "Complaint":
		u.Status = StatusComplained
		if ev.Complaint != nil {
			u.At = at(ev.Complaint.Timestamp)
		}
	case "Reject":
		u.Status, u.ErrorCode = "failed", "rejected"
	default:
		return ev.Mail.MessageID, u, false, nil
	}
	return ev.Mail.MessageID, u, true, nil
}

// EventsHandler records SES's sending events, delivered by SNS.
type EventsHandler struct {
	Service *conversation.Service
	Log     *slog.Logger
}

// Handle records each record's status; a malformed one is logged and
// skipped (SNS would deliver it again unchanged), a failure of ours is
// returned for Lambda to retry the event.
func (h *EventsHandler) Handle(ctx context.Context, ev events.SNSEvent) error {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	for _, rec := range ev.Records {
		id, u, ok, err := ParseSendingEvent([]byte(rec.SNS.Message))
		if err != nil {
			log.LogAttrs(ctx, slog.LevelWarn, "email.event", slog.String("outcome", "malformed"), slog.String("sns_message", rec.SNS.MessageID), slog.String("error", err.Error()))
			continue
		}
		if !ok {
			log.LogAttrs(ctx, slog.LevelInfo, "email.event", slog.String("outcome", "ignored"), slog.String("sns_message", rec.SNS.MessageID))
			continue
		}
		moved, err := h.Service.RecordStatus(ctx, thread.Provider, id, u)
		switch {
		case errors.Is(err, conversation.ErrNotFound):
			log.LogAttrs(ctx, slog.LevelInfo, "email.event", slog.String("outcome", "unknown_message"), slog.String("status", u.Status))
		case err != nil:
			return fmt.Errorf("record %s of %s: %w", u.Status, id, err)
		default:
			log.LogAttrs(ctx, slog.LevelInfo, "email.event", slog.String("outcome", map[bool]string{true: "recorded", false: "not_newer"}[moved]),
				slog.String("status", u.Status))
		}
	}
	return nil
}

// IsSNS reports whether a Lambda event is an SNS delivery (the email
// function takes both S3 and SNS events).
func IsSNS(raw []byte) bool {
	var probe struct {
		Records []struct {
			EventSource string `json:"EventSource"`
		} `json:"Records"`
	}
	return json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 && strings.EqualFold(probe.Records[0].EventSource, "aws:sns")
}
