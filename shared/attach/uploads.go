// Package attach holds agents' attachments in MEDIA_BUCKET (POST
// /api/uploads): a presigned PUT under uploads/<uuid>/<file name> with its
// content type and length signed in, so S3 refuses another; Stat checks
// what was stored (the real size and type, not what was declared) before a
// reply names it; Link presigns a short-lived GET for a provider to fetch
// (Twilio's MediaUrl, Telegram, Graph) and for GET /api/media/{key}; Read
// gives the email sender the bytes to attach. DevUploads is the dev
// server's in-memory stand-in with the same methods.
package attach

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/switchboard/switchboard/shared/conversation"
)

// Uploads are agents' attachments in the media bucket, on S3.
type Uploads struct {
	S3      UploadAPI
	Presign Presigner
	Bucket  string
	// PutTTL bounds an upload URL (default 15 minutes), GetTTL a link
	// (default an hour: a provider may fetch a queued send's media late).
	PutTTL, GetTTL time.Duration
	Now            func() time.Time
}

// UploadAPI is the part of the S3 client uploads use.
type UploadAPI interface {
	HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Presigner is s3.PresignClient.
type Presigner interface {
	PresignPutObject(context.Context, *s3.PutObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
	PresignGetObject(context.Context, *s3.GetObjectInput, ...func(*s3.PresignOptions)) (*v4.PresignedHTTPRequest, error)
}

// NewUploads makes Uploads on an S3 client.
func NewUploads(client *s3.Client, bucket string) *Uploads {
	return &Uploads{S3: client, Presign: s3.NewPresignClient(client), Bucket: bucket}
}

// Upload is where and how to send one attachment's bytes.
type Upload struct {
	Key    string `json:"key"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// Headers must be sent as they are (they are signed).
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// ErrUnknownUpload: no stored upload has the key a reply names.
var ErrUnknownUpload = &conversation.MediaError{Status: http.StatusBadRequest, Code: "unknown_upload",
	Reason: "no uploaded file has this key: upload it first (POST /api/uploads) and send the key it gave"}

// UploadKey makes the key of a new upload.
func UploadKey(contentType, filename string) string {
	name := conversation.SafeFilename(filename)
	if name == "" {
		name = "file" + conversation.UploadTypes[conversation.BareType(contentType)]
	}
	return conversation.UploadPrefix + uuid.NewString() + "/" + name
}

// UploadFilename is the file name an upload key ends with.
func UploadFilename(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// CheckUploadKey refuses a key that is not an agent upload's.
func CheckUploadKey(key string) error {
	rest, ok := strings.CutPrefix(key, conversation.UploadPrefix)
	id, name, _ := strings.Cut(rest, "/")
	if !ok || uuid.Validate(id) != nil || name == "" || conversation.SafeFilename(name) != name {
		return ErrUnknownUpload
	}
	return nil
}

func (u *Uploads) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

// New presigns the PUT of one attachment, refusing a type or size the
// allow-list does not take (a *conversation.MediaError).
func (u *Uploads) New(ctx context.Context, contentType string, size int64, filename string) (Upload, error) {
	if err := conversation.CheckUpload(contentType, size); err != nil {
		return Upload{}, err
	}
	ttl := u.PutTTL
	if ttl == 0 {
		ttl = 15 * time.Minute
	}
	key := UploadKey(contentType, filename)
	req, err := u.Presign.PresignPutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(u.Bucket), Key: aws.String(key),
		ContentType: aws.String(conversation.BareType(contentType)), ContentLength: aws.Int64(size),
	}, s3.WithPresignExpires(ttl))
	if err != nil {
		return Upload{}, fmt.Errorf("presign upload: %w", err)
	}
	headers := map[string]string{}
	for name, v := range req.SignedHeader {
		if !strings.EqualFold(name, "Host") && len(v) > 0 {
			headers[name] = v[0]
		}
	}
	return Upload{Key: key, Method: req.Method, URL: req.URL, Headers: headers, ExpiresAt: u.now().Add(ttl).UTC()}, nil
}

// Stat is the stored upload key names, as a reply's medium: its stored
// size and type held to the cap and the allow-list.
func (u *Uploads) Stat(ctx context.Context, key string) (conversation.Media, error) {
	if err := CheckUploadKey(key); err != nil {
		return conversation.Media{}, err
	}
	out, err := u.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(key)})
	if notFound(err) {
		return conversation.Media{}, ErrUnknownUpload
	}
	if err != nil {
		return conversation.Media{}, fmt.Errorf("read upload: %w", err)
	}
	m := conversation.Media{Key: key, ContentType: conversation.BareType(aws.ToString(out.ContentType)), Size: aws.ToInt64(out.ContentLength),
		Filename: UploadFilename(key), Status: conversation.MediaStored}
	if err := conversation.CheckUpload(m.ContentType, m.Size); err != nil {
		return conversation.Media{}, err
	}
	return m, nil
}

// Link presigns a GET of key.
func (u *Uploads) Link(ctx context.Context, key string) (string, error) {
	ttl := u.GetTTL
	if ttl == 0 {
		ttl = time.Hour
	}
	req, err := u.Presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(key)}, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign media link: %w", err)
	}
	return req.URL, nil
}

// Read returns key's bytes (at most MaxUploadBytes).
func (u *Uploads) Read(ctx context.Context, key string) ([]byte, error) {
	out, err := u.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("read media %s: %w", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, conversation.MaxUploadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read media %s: %w", key, err)
	}
	if len(b) > conversation.MaxUploadBytes {
		return nil, fmt.Errorf("media %s is over %d bytes", key, conversation.MaxUploadBytes)
	}
	return b, nil
}

// notFound reports S3's answer for a missing object (HEAD has no body: a
// bare 404).
func notFound(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey") {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound
}
