package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/switchboard/switchboard/shared/attach"
	"github.com/switchboard/switchboard/shared/conversation"
)

// Uploads holds agents' attachments: attach.Uploads on S3 (MEDIA_BUCKET),
// attach.DevUploads in the dev server.
type Uploads interface {
	New(ctx context.Context, contentType string, size int64, filename string) (attach.Upload, error)
	Stat(ctx context.Context, key string) (conversation.Media, error)
	Link(ctx context.Context, key string) (string, error)
}

// errNoUploads answers for attachments when no media bucket is configured.
var errNoUploads = &conversation.MediaError{Status: http.StatusNotImplemented, Code: "not_configured", Reason: "attachments need a media bucket (MEDIA_BUCKET)"}

// upload serves POST /api/uploads {"contentType","size","filename"?}: 201
// {"upload":{"key","method","url","headers","expiresAt"}}, a presigned PUT
// of one attachment (its type and size signed in); 413 over the cap, 415 a
// type not allowed.
func (h *Handler) upload(w http.ResponseWriter, r *http.Request) {
	if h.Uploads == nil {
		h.fail(w, r, "api.upload", errNoUploads)
		return
	}
	fields, ok := decode(w, r, "contentType", "size", "filename")
	if !ok {
		return
	}
	var ct, name string
	var size int64
	for n, v := range map[string]any{"contentType": &ct, "size": &size, "filename": &name} {
		if _, ok := field(w, fields, n, v); !ok {
			return
		}
	}
	if ct == "" {
		writeError(w, http.StatusBadRequest, "invalid", `field "contentType" is required`)
		return
	}
	up, err := h.Uploads.New(r.Context(), ct, size, name)
	if err != nil {
		h.fail(w, r, "api.upload", err)
		return
	}
	h.log().LogAttrs(r.Context(), slog.LevelInfo, "api.upload", slog.String("outcome", "presigned"), slog.String("key", up.Key),
		slog.String("content_type", conversation.BareType(ct)), slog.Int64("size", size), slog.String("agent", agent(r)))
	writeJSON(w, http.StatusCreated, map[string]any{"upload": up})
}

// media serves GET /api/media/{key}: 302 to a short-lived presigned URL of
// a stored attachment (an agent's upload or a customer's copied medium);
// with Accept: application/json, {"url"} (the console: a fetch with a
// bearer cannot hand a redirect to an <img>).
func (h *Handler) media(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if h.Uploads == nil {
		h.fail(w, r, "api.media", errNoUploads)
		return
	}
	if !strings.HasPrefix(key, conversation.UploadPrefix) && !strings.HasPrefix(key, "media/") || strings.Contains(key, "..") || strings.Contains(key, "//") {
		writeError(w, http.StatusNotFound, "not_found", "not found")
		return
	}
	u, err := h.Uploads.Link(r.Context(), key)
	if err != nil {
		h.fail(w, r, "api.media", err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-store")
	if r.Header.Get("Accept") == "application/json" { // a page that sets the bearer itself: the link, to put in <img>/<audio>
		writeJSON(w, http.StatusOK, map[string]string{"url": u})
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

// replyMedia resolves a reply's "media":[{"key"}] to the stored uploads.
func (h *Handler) replyMedia(ctx context.Context, refs []struct {
	Key string `json:"key"`
}) ([]conversation.Media, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if h.Uploads == nil {
		return nil, errNoUploads
	}
	out := make([]conversation.Media, 0, len(refs))
	for _, ref := range refs {
		if ref.Key == "" {
			return nil, errors.Join(conversation.ErrInvalid, errors.New(`each of "media" needs the "key" of an upload`))
		}
		m, err := h.Uploads.Stat(ctx, ref.Key)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
