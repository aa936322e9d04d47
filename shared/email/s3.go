package email

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ObjectAPI is the part of the S3 client that reads raw messages.
type ObjectAPI interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// S3Handler is the email function's handler: SES's receipt rule stored each
// raw message in EMAIL_BUCKET, and the object's creation invokes it.
type S3Handler struct {
	Intake *Intake
	S3     ObjectAPI
}

// Handle ingests every object of the event. A message that cannot be read is
// recorded as failed and not retried; a missing object or a failure of ours
// (S3, DynamoDB) is returned, so that Lambda's asynchronous invocation retries
// the event and, after its retries, sends it to the function's on-failure
// queue. Ingest is idempotent, so a retried event never stores twice.
// SetupNotification is the object SES writes to the bucket when a receipt
// rule that stores mail there is created.
const SetupNotification = "AMAZON_SES_SETUP_NOTIFICATION"

func (h *S3Handler) Handle(ctx context.Context, ev events.S3Event) error {
	var errs []error
	for _, rec := range ev.Records {
		bucket, key := rec.S3.Bucket.Name, rec.S3.Object.URLDecodedKey
		if key == "" {
			key = rec.S3.Object.Key
		}
		if path.Base(key) == SetupNotification {
			// SES writes it when the receipt rule is created: not a customer's mail.
			h.Intake.log().LogAttrs(ctx, slog.LevelInfo, "email.ingest", slog.String("outcome", "ignored"),
				slog.String("reason", "SES setup notification"), slog.String("source", "s3://"+bucket+"/"+key))
			continue
		}
		if err := h.object(ctx, bucket, key, rec.EventTime); err != nil {
			h.Intake.log().LogAttrs(ctx, slog.LevelError, "email.ingest", slog.String("outcome", "error"),
				slog.String("channel", "email"), slog.String("source", "s3://"+bucket+"/"+key), slog.String("error", err.Error()))
			errs = append(errs, err)
		}
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

func (h *S3Handler) object(ctx context.Context, bucket, key string, at time.Time) error {
	out, err := h.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if at.IsZero() {
		at = time.Now()
	}
	_, err = h.Intake.Ingest(ctx, out.Body, "s3://"+bucket+"/"+key, at)
	if errors.Is(err, ErrMalformed) {
		return nil // recorded with its reason; a retry reads the same bytes
	}
	return err
}
