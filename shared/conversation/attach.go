package conversation

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Attachments of an agent's reply. The agent's client uploads the file
// first (POST /api/uploads: a presigned S3 PUT under UploadPrefix, its type
// and size signed in), then names its key in the reply; the API checks the
// stored object (its real size and type) and the reply carries it as a
// stored medium, which the channel's sender links (a presigned GET) or
// attaches (email).

// MaxUploadBytes caps one attachment: 5 MB, the most every channel takes
// by URL (Twilio's MMS total, WhatsApp's images, Telegram's photos).
const MaxUploadBytes = 5 << 20

// UploadPrefix starts the key of every agent upload in MEDIA_BUCKET.
const UploadPrefix = "uploads/"

// UploadTypes are the attachment types an agent may send, with the file
// name extension given to an upload that names none.
var UploadTypes = map[string]string{
	"image/jpeg":      ".jpg",
	"image/png":       ".png",
	"image/gif":       ".gif",
	"application/pdf": ".pdf",
	"audio/mpeg":      ".mp3",
	"audio/ogg":       ".ogg",
	"video/mp4":       ".mp4",
	"text/plain":      ".txt",
}

// MediaError refuses an attachment: Status is the HTTP status the API
// answers (400, 413, 415), Code its snake_case name.
type MediaError struct {
	Status       int
	Code, Reason string
}

func (e *MediaError) Error() string { return e.Reason }

func mediaError(status int, code, format string, args ...any) *MediaError {
	return &MediaError{Status: status, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// CheckUpload holds a declared or stored upload to the cap and the type
// allow-list (its parameters, "; charset=…", ignored).
func CheckUpload(contentType string, size int64) error {
	ct := BareType(contentType)
	if _, ok := UploadTypes[ct]; !ok {
		return mediaError(http.StatusUnsupportedMediaType, "media_type", "attachments of type %q are not accepted (allowed: %s)", ct, strings.Join(uploadTypeList(), ", "))
	}
	if size <= 0 {
		return mediaError(http.StatusBadRequest, "invalid", "an attachment needs its size in bytes")
	}
	if size > MaxUploadBytes {
		return mediaError(http.StatusRequestEntityTooLarge, "media_too_large", "an attachment may be %d bytes at most; this one is %d", MaxUploadBytes, size)
	}
	return nil
}

// BareType is a content type without its parameters, lower case.
func BareType(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

func uploadTypeList() []string {
	out := make([]string, 0, len(UploadTypes))
	for t := range UploadTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// SafeFilename keeps a file name's last element, printable, at most 100
// bytes; "" if nothing usable is left.
func SafeFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, r < 0x20, r == 0x7f, strings.ContainsRune(`"/\:*?<>|`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Trim(b.String(), ". ")
	for len(out) > 100 {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	if out == "" || out == "_" {
		return ""
	}
	return out
}

// Per-channel limits of a reply's attachments.
const (
	twilioMMSMax     = 10      // MediaUrl per message
	twilioMMSBytes   = 5 << 20 // their total
	emailMax         = 10
	emailBytes       = 10 << 20
	telegramCaption  = 1024 // characters of a caption
	whatsappCaption  = 1024
	mediaPerMessage1 = 1
	lineImages       = 4 // with the text, the push API's 5 messages
	webchatMax       = 5 // the widget shows them in the message (webchat.MaxMedia)
)

// CheckMedia holds a reply's attachments to what its route (ReplyRoute)
// can send in one message: Twilio MMS up to 10 (5 MB in all), email 10
// (10 MB), LINE 4 JPEG or PNG images (the text and 4 images are the push
// API's 5 messages), every other channel one; Messenger and Instagram send an
// attachment without text; WhatsApp takes images (JPEG, PNG), PDF, MP3,
// OGG and MP4, an audio file without a caption; Telegram captions are 1 024
// characters at most.
func CheckMedia(route Channel, body string, media []Media) error {
	if len(media) == 0 {
		return nil
	}
	var total int64
	for _, m := range media {
		total += m.Size
	}
	limit := mediaPerMessage1
	switch route {
	case ChannelSMS:
		limit = twilioMMSMax
		if total > twilioMMSBytes {
			return mediaError(http.StatusRequestEntityTooLarge, "media_too_large", "an MMS carries %d bytes of attachments at most; these are %d", twilioMMSBytes, total)
		}
	case ChannelLINE:
		limit = lineImages
	case ChannelWebchat:
		limit = webchatMax
	case ChannelEmail:
		limit = emailMax
		if total > emailBytes {
			return mediaError(http.StatusRequestEntityTooLarge, "media_too_large", "an email reply carries %d bytes of attachments at most; these are %d", emailBytes, total)
		}
	}
	switch route {
	case ChannelX:
		return mediaError(http.StatusBadRequest, "media_not_supported", "X replies carry text only here (an X attachment needs X's media upload first)")
	case ChannelWeChat:
		return mediaError(http.StatusBadRequest, "media_not_supported", "WeChat replies carry text only here (a WeChat attachment needs WeChat's media upload first)")
	}
	if len(media) > limit {
		return mediaError(http.StatusBadRequest, "too_many_media", "a %s reply carries at most %d attachment(s); send the others as further replies", route, limit)
	}
	caption := utf8.RuneCountInString(body)
	switch route {
	case ChannelMessenger, ChannelInstagram:
		if strings.TrimSpace(body) != "" {
			return mediaError(http.StatusBadRequest, "media_with_text", "%s sends an attachment as a message of its own: send the text as a second reply", route)
		}
	case ChannelLINE:
		for _, m := range media {
			if ct := BareType(m.ContentType); ct != "image/jpeg" && ct != "image/png" {
				return mediaError(http.StatusUnsupportedMediaType, "media_type", "LINE takes JPEG and PNG images from a bot, not %s", ct)
			}
		}
	case ChannelTelegram:
		if caption > telegramCaption {
			return mediaError(http.StatusBadRequest, "caption_too_long", "a Telegram caption is %d characters at most; send the text as a second reply", telegramCaption)
		}
	case ChannelWhatsApp, RouteWhatsAppCloud:
		ct := BareType(media[0].ContentType)
		switch {
		case ct == "image/gif" || ct == "text/plain":
			return mediaError(http.StatusUnsupportedMediaType, "media_type", "WhatsApp does not take %s attachments", ct)
		case strings.HasPrefix(ct, "audio/") && strings.TrimSpace(body) != "":
			return mediaError(http.StatusBadRequest, "media_with_text", "WhatsApp sends audio without a caption: send the text as a second reply")
		case caption > whatsappCaption:
			return mediaError(http.StatusBadRequest, "caption_too_long", "a WhatsApp caption is %d characters at most", whatsappCaption)
		}
	}
	return nil
}
