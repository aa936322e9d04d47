package attach

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
)

// DevUploads is the dev server's stand-in for the media bucket's uploads:
// the same New, Stat, Link and Read as Uploads, the bytes in memory, and
// the presigned URLs its own routes (PUT /dev/uploads/{key}, GET
// /dev/media/{key}), signed with an HMAC over what S3 would sign (method,
// key, type, length, expiry), so a client written against it works
// against S3. Tests of the real thing run on moto's S3 (uploads_test.go).
type DevUploads struct {
	// Base is the dev server's public URL.
	Base string
	Now  func() time.Time

	once  sync.Once
	key   []byte
	mu    sync.Mutex
	files map[string]devFile
}

type devFile struct {
	contentType string
	body        []byte
}

func (d *DevUploads) init() {
	d.once.Do(func() {
		d.key = make([]byte, 32)
		_, _ = rand.Read(d.key)
		d.files = map[string]devFile{}
	})
}

func (d *DevUploads) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *DevUploads) sign(parts ...string) string {
	d.init()
	mac := hmac.New(sha256.New, d.key)
	mac.Write([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(mac.Sum(nil))
}

// New implements the upload half of Uploads.
func (d *DevUploads) New(_ context.Context, contentType string, size int64, filename string) (Upload, error) {
	if err := conversation.CheckUpload(contentType, size); err != nil {
		return Upload{}, err
	}
	ct := conversation.BareType(contentType)
	key := UploadKey(ct, filename)
	exp := d.now().Add(15 * time.Minute).UTC()
	expires := strconv.FormatInt(exp.Unix(), 10)
	q := url.Values{"expires": {expires}, "signature": {d.sign(http.MethodPut, key, ct, strconv.FormatInt(size, 10), expires)}}
	return Upload{Key: key, Method: http.MethodPut, URL: strings.TrimSuffix(d.Base, "/") + "/dev/uploads/" + key + "?" + q.Encode(),
		Headers: map[string]string{"Content-Type": ct, "Content-Length": strconv.FormatInt(size, 10)}, ExpiresAt: exp}, nil
}

// Stat implements Uploads.Stat.
func (d *DevUploads) Stat(_ context.Context, key string) (conversation.Media, error) {
	if err := CheckUploadKey(key); err != nil {
		return conversation.Media{}, err
	}
	d.init()
	d.mu.Lock()
	f, ok := d.files[key]
	d.mu.Unlock()
	if !ok {
		return conversation.Media{}, ErrUnknownUpload
	}
	return conversation.Media{Key: key, ContentType: f.contentType, Size: int64(len(f.body)), Filename: UploadFilename(key), Status: conversation.MediaStored}, nil
}

// Link implements Uploads.Link.
func (d *DevUploads) Link(_ context.Context, key string) (string, error) {
	expires := strconv.FormatInt(d.now().Add(time.Hour).Unix(), 10)
	q := url.Values{"expires": {expires}, "signature": {d.sign(http.MethodGet, key, expires)}}
	return strings.TrimSuffix(d.Base, "/") + "/dev/media/" + key + "?" + q.Encode(), nil
}

// Read implements Uploads.Read.
func (d *DevUploads) Read(_ context.Context, key string) ([]byte, error) {
	d.init()
	d.mu.Lock()
	defer d.mu.Unlock()
	f, ok := d.files[key]
	if !ok {
		return nil, fmt.Errorf("read media %s: not stored", key)
	}
	return f.body, nil
}

// Register mounts PUT /dev/uploads/{key} and GET /dev/media/{key}.
func (d *DevUploads) Register(mux *http.ServeMux) {
	mux.HandleFunc("PUT /dev/uploads/{key...}", d.put)
	mux.HandleFunc("GET /dev/media/{key...}", d.get)
}

// valid checks a presigned URL's expiry and signature.
func (d *DevUploads) valid(r *http.Request, parts ...string) bool {
	exp, err := strconv.ParseInt(r.URL.Query().Get("expires"), 10, 64)
	if err != nil || d.now().Unix() > exp {
		return false
	}
	want := d.sign(append(parts, r.URL.Query().Get("expires"))...)
	return hmac.Equal([]byte(want), []byte(r.URL.Query().Get("signature")))
}

func (d *DevUploads) put(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	ct := r.Header.Get("Content-Type")
	if !d.valid(r, http.MethodPut, key, ct, strconv.FormatInt(r.ContentLength, 10)) {
		http.Error(w, "signature does not match (the key, Content-Type and Content-Length signed), or expired", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, r.ContentLength))
	if err != nil || int64(len(body)) != r.ContentLength {
		http.Error(w, "body shorter than its Content-Length", http.StatusBadRequest)
		return
	}
	d.mu.Lock()
	d.files[key] = devFile{contentType: ct, body: body}
	d.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (d *DevUploads) get(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !d.valid(r, http.MethodGet, key) {
		http.Error(w, "signature does not match, or expired", http.StatusForbidden)
		return
	}
	d.mu.Lock()
	f, ok := d.files[key]
	d.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Disposition", "attachment")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(f.body)
}
