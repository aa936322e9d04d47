package attach_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
)

// store is what both implementations offer.
type store interface {
	New(ctx context.Context, contentType string, size int64, filename string) (attach.Upload, error)
	Stat(ctx context.Context, key string) (conversation.Media, error)
	Link(ctx context.Context, key string) (string, error)
	Read(ctx context.Context, key string) ([]byte, error)
}

// TestUploadsOnMotoS3: the presigned PUT works as a browser would send it
// (only the URL and the headers given), Stat sees the stored object, a
// link fetches it, and what the allow-list refuses is refused — also when
// it was stored behind the API's back (Stat reads the object, not the
// declaration).
func TestUploadsOnMotoS3(t *testing.T) {
	client := localaws.S3(t)
	bucket := localaws.Bucket(t, client)
	u := attach.NewUploads(client, bucket)
	uploads(t, u, func(key, ct string, body []byte) {
		if _, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
			Body: bytes.NewReader(body), ContentType: aws.String(ct)}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDevUploads: the dev server's stand-in behaves the same, and checks
// what S3 checks of a presigned PUT (the signed type and length, expiry).
func TestDevUploads(t *testing.T) {
	d := &attach.DevUploads{}
	mux := http.NewServeMux()
	d.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	d.Base = srv.URL
	uploads(t, d, nil)

	up, err := d.New(context.Background(), "image/png", 4, "a.png")
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]map[string]string{
		"another type":   {"Content-Type": "text/html", "Content-Length": "4"},
		"another length": {"Content-Type": "image/png", "Content-Length": "5"},
	} {
		body := strings.Repeat("x", func() int { n, _ := strconv.Atoi(h["Content-Length"]); return n }())
		if code := put(t, up.URL, h, []byte(body)); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}
	d.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if code := put(t, up.URL, up.Headers, []byte("abcd")); code != http.StatusForbidden {
		t.Errorf("expired URL: %d, want 403", code)
	}
}

func put(t *testing.T, u string, headers map[string]string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Length") {
			req.ContentLength, _ = strconv.ParseInt(v, 10, 64)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func uploads(t *testing.T, u store, sneak func(key, ct string, body []byte)) {
	ctx := context.Background()
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 1000)...)
	up, err := u.New(ctx, "image/png", int64(len(png)), "../../etc/receipt scan.png")
	if err != nil {
		t.Fatal(err)
	}
	if up.Method != http.MethodPut || !strings.HasPrefix(up.Key, conversation.UploadPrefix) || !strings.HasSuffix(up.Key, "/receipt scan.png") ||
		time.Until(up.ExpiresAt) <= 0 {
		t.Fatalf("upload: %+v", up)
	}
	if _, err := u.Stat(ctx, up.Key); !errors.Is(err, attach.ErrUnknownUpload) {
		t.Errorf("before the PUT: %v, want unknown_upload", err)
	}
	if code := put(t, up.URL, up.Headers, png); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	m, err := u.Stat(ctx, up.Key)
	if err != nil {
		t.Fatal(err)
	}
	if m.ContentType != "image/png" || m.Size != int64(len(png)) || m.Filename != "receipt scan.png" || m.Status != conversation.MediaStored {
		t.Errorf("stat: %+v", m)
	}
	link, err := u.Link(ctx, up.Key)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, png) {
		t.Errorf("GET link: %d, %d bytes", resp.StatusCode, len(got))
	}
	if b, err := u.Read(ctx, up.Key); err != nil || !bytes.Equal(b, png) {
		t.Errorf("read: %d bytes, %v", len(b), err)
	}

	// Refused before anything is stored: the status says why.
	for _, c := range []struct {
		ct   string
		size int64
		want int
	}{
		{"text/html", 10, http.StatusUnsupportedMediaType},
		{"application/x-msdownload", 10, http.StatusUnsupportedMediaType},
		{"image/png", conversation.MaxUploadBytes + 1, http.StatusRequestEntityTooLarge},
		{"image/png", 0, http.StatusBadRequest},
	} {
		_, err := u.New(ctx, c.ct, c.size, "")
		var me *conversation.MediaError
		if !errors.As(err, &me) || me.Status != c.want {
			t.Errorf("New(%s, %d): %v, want %d", c.ct, c.size, err, c.want)
		}
	}
	// Keys that are not an upload's are unknown, whatever is stored there.
	for _, key := range []string{"media/conv/abc", "uploads/not-a-uuid/x.png", "uploads/" + strings.Split(up.Key, "/")[1] + "/../x", ""} {
		if _, err := u.Stat(ctx, key); !errors.Is(err, attach.ErrUnknownUpload) {
			t.Errorf("Stat(%q): %v", key, err)
		}
	}
	if sneak != nil {
		// Stored behind the API's back with a refused type: refused at Stat.
		key := attach.UploadKey("image/png", "page.html")
		sneak(key, "text/html", []byte("<script>"))
		var me *conversation.MediaError
		if _, err := u.Stat(ctx, key); !errors.As(err, &me) || me.Status != http.StatusUnsupportedMediaType {
			t.Errorf("stored text/html: %v, want 415", err)
		}
	}
}
