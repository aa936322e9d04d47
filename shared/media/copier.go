package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
)

// ObjectAPI is the part of the S3 client the copier uses.
type ObjectAPI interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// Store is what the copier needs of the store: the message, and where its
// media went.
type Store interface {
	Message(ctx context.Context, conversationID, key string) (conversation.Message, error)
	AmendMessage(ctx context.Context, conversationID, key string, a conversation.Amend) error
}

// Copier copies one message's media into Bucket and records on the message
// where each file went (key, size, SHA-256) or why it failed. Copying is
// idempotent: an object's key is its conversation and checksum, and stored
// media are skipped, so a redelivered job finishes what a failed one began.
type Copier struct {
	Store   Store
	S3      ObjectAPI
	Bucket  string
	Fetcher *Fetcher
	// Sources by provider ("twilio", "meta"); Telegram's bot token and API
	// base (default https://api.telegram.org).
	Sources       map[string]Source
	TelegramToken string
	TelegramAPI   string
	// EmailBucket, if set, is the only bucket raw email is read from
	// (EMAIL_BUCKET).
	EmailBucket string
	Log         *slog.Logger
}

// ErrRetry is returned when some media could not be copied for a reason a
// later attempt may not share (a timeout, a 5xx, S3 unavailable): the job
// is redelivered. Media refused for good are marked failed and not retried.
var ErrRetry = errors.New("media copy incomplete")

// Copy copies the pending media of message key on conversationID.
func (c *Copier) Copy(ctx context.Context, conversationID, key string) error {
	msg, err := c.Store.Message(ctx, conversationID, key)
	if err != nil {
		return fmt.Errorf("read message %s on %s: %w", key, conversationID, err)
	}
	m := &msg
	media := append([]conversation.Media(nil), m.Media...)
	var attachments []email.Attachment // read once, for all of an email's files
	var retry []error
	changed := false
	for i := range media {
		md := &media[i]
		if md.Status == conversation.MediaStored || (md.Status == conversation.MediaFailed && !md.Retryable()) {
			continue
		}
		body, ctype, err := c.fetch(ctx, m, md, &attachments)
		if err == nil {
			err = c.put(ctx, conversationID, md, body, ctype)
		}
		changed = true
		switch {
		case err == nil:
			md.Error = ""
		case errors.Is(err, ErrRefused) || errors.Is(err, email.ErrMalformed):
			md.Status, md.Error = conversation.MediaFailed, err.Error()
		default:
			md.Status, md.Error = conversation.MediaFailed, conversation.RetryPrefix+err.Error()
			retry = append(retry, err)
		}
		c.log().LogAttrs(ctx, slog.LevelInfo, "media.copy", slog.String("outcome", md.Status), slog.String("conversation", conversationID),
			slog.String("message", m.ID), slog.String("channel", string(m.Channel)), slog.Int64("bytes", md.Size), slog.String("error", md.Error))
	}
	if changed {
		if err := c.Store.AmendMessage(ctx, conversationID, key, conversation.Amend{Media: media}); err != nil {
			return fmt.Errorf("record media: %w", err)
		}
	}
	if len(retry) > 0 {
		return fmt.Errorf("%w: %w", ErrRetry, errors.Join(retry...))
	}
	return nil
}

// fetch returns one medium's bytes from its provider.
func (c *Copier) fetch(ctx context.Context, m *conversation.Message, md *conversation.Media, attachments *[]email.Attachment) ([]byte, string, error) {
	switch {
	case strings.HasPrefix(md.URL, "email:"):
		n, err := strconv.Atoi(strings.TrimPrefix(md.URL, "email:"))
		if err != nil {
			return nil, "", fmt.Errorf("%w: bad email attachment reference %q", ErrRefused, md.URL)
		}
		if *attachments == nil {
			if *attachments, err = c.emailAttachments(ctx, m.Source); err != nil {
				return nil, "", err
			}
		}
		if n < 0 || n >= len(*attachments) {
			return nil, "", fmt.Errorf("%w: the raw email has no attachment %d", ErrRefused, n)
		}
		a := (*attachments)[n]
		return a.Content, a.ContentType, nil
	case strings.HasPrefix(md.URL, "wechat:media/"):
		return nil, "", fmt.Errorf("%w: WeChat voice and video are kept by WeChat by media id (media/get with an access token), which is not built yet", ErrRefused)
	case strings.HasPrefix(md.URL, "telegram:file/"):
		src := Telegram()
		api := c.TelegramAPI
		if api == "" {
			api = "https://api.telegram.org"
		}
		u, err := c.Fetcher.telegramFile(ctx, src, api, c.TelegramToken, md.URL)
		if err != nil {
			return nil, "", err
		}
		obj, err := c.Fetcher.Fetch(ctx, src, u)
		return obj.Body, obj.ContentType, err
	}
	src, ok := c.Sources[m.Provider]
	if !ok {
		return nil, "", fmt.Errorf("%w: no media source configured for provider %q", ErrRefused, m.Provider)
	}
	u, err := c.Fetcher.graphMedia(ctx, src, md.URL)
	if err != nil {
		return nil, "", err
	}
	obj, err := c.Fetcher.Fetch(ctx, src, u)
	return obj.Body, obj.ContentType, err
}

func (c *Copier) emailAttachments(ctx context.Context, source string) ([]email.Attachment, error) {
	r, err := c.s3Raw(ctx, source)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return email.Attachments(r)
}

func (c *Copier) s3Raw(ctx context.Context, source string) (io.ReadCloser, error) {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(source, "s3://"), "/")
	if !ok || !strings.HasPrefix(source, "s3://") {
		return nil, fmt.Errorf("%w: raw email source %q is not in S3", ErrRefused, source)
	}
	if c.EmailBucket != "" && bucket != c.EmailBucket {
		return nil, fmt.Errorf("%w: raw email source is not in EMAIL_BUCKET", ErrRefused)
	}
	out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("read raw email: %w", err)
	}
	return out.Body, nil
}

// put stores body under media/<conversation>/<sha256>: the same file twice
// is one object.
func (c *Copier) put(ctx context.Context, conversationID string, md *conversation.Media, body []byte, ctype string) error {
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	if t, _, err := mime.ParseMediaType(ctype); err == nil && t != "" && (md.ContentType == "" || md.ContentType == "application/octet-stream") {
		md.ContentType = t
	}
	key := "media/" + conversationID + "/" + hexSum
	in := &s3.PutObjectInput{
		Bucket: aws.String(c.Bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentType: aws.String(md.ContentType),
		Metadata: map[string]string{"sha256": hexSum},
	}
	if md.Filename != "" {
		in.ContentDisposition = aws.String(mime.FormatMediaType("attachment", map[string]string{"filename": md.Filename}))
	}
	if _, err := c.S3.PutObject(ctx, in); err != nil {
		return fmt.Errorf("store media: %w", err)
	}
	md.Key, md.Size, md.SHA256, md.Status = key, int64(len(body)), hexSum, conversation.MediaStored
	return nil
}

func (c *Copier) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}
