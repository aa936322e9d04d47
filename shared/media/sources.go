package media

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Twilio serves MMS, WhatsApp and recording media at api.twilio.com behind
// HTTP basic auth (account SID and auth token) and redirects to its CDN on
// its own domains; the credentials go to api.twilio.com only.
func Twilio(accountSID, authToken string) Source {
	return Source{
		Hosts:     []string{"api.twilio.com", ".twiliocdn.com", ".twilio.com"},
		AuthHosts: []string{"api.twilio.com"},
		Auth:      func(r *http.Request) { r.SetBasicAuth(accountSID, authToken) },
	}
}

// Meta serves Messenger and Instagram attachments from its CDNs at public
// signed URLs, and WhatsApp Cloud media by id: the Graph API answers
// graph.facebook.com/<media id> with a lookaside.fbsbx.com URL, both read
// with the access token (sent to those two hosts only).
func Meta(accessToken string) Source {
	return Source{
		Hosts:     []string{"graph.facebook.com", "lookaside.fbsbx.com", ".fbsbx.com", ".fbcdn.net", ".cdninstagram.com"},
		AuthHosts: []string{"graph.facebook.com", "lookaside.fbsbx.com"},
		Auth: func(r *http.Request) {
			if accessToken != "" {
				r.Header.Set("Authorization", "Bearer "+accessToken)
			}
		},
	}
}

// LINE serves a message's content at api-data.line.me
// (/v2/bot/message/{id}/content) to the channel access token as the
// bearer; an external content provider's URL gets no credentials.
func LINE(channelToken string) Source {
	return Source{
		Hosts:     []string{"api-data.line.me", ".line-scdn.net"},
		AuthHosts: []string{"api-data.line.me"},
		Auth:      func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+channelToken) },
	}
}

// WeChat serves a follower's image at its PicUrl on its image CDN
// (mmbiz.qpic.cn), public; voice and video are by media id only (media/get
// with an access token: not copied yet).
func WeChat() Source { return Source{Hosts: []string{".qpic.cn", "mmbiz.qpic.cn"}} }

// Telegram serves files at api.telegram.org; the bot token is in the path,
// so the Source needs no credential header.
func Telegram() Source { return Source{Hosts: []string{"api.telegram.org"}} }

// graphMedia resolves a WhatsApp Cloud media URL (graph.facebook.com/<id>)
// to its download URL; other Meta URLs are downloads already.
func (f *Fetcher) graphMedia(ctx context.Context, src Source, u string) (string, error) {
	if pu, err := url.Parse(u); err != nil || pu.Hostname() != "graph.facebook.com" {
		return u, nil
	}
	obj, err := f.Fetch(ctx, src, u)
	if err != nil {
		return "", err
	}
	var meta struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(obj.Body, &meta); err != nil || meta.URL == "" {
		return "", fmt.Errorf("%w: Graph API media answer without a url", ErrRefused)
	}
	return meta.URL, nil
}

// telegramFile resolves "telegram:file/<id>" with getFile to the file's
// download URL.
func (f *Fetcher) telegramFile(ctx context.Context, src Source, api, botToken, ref string) (string, error) {
	id := strings.TrimPrefix(ref, "telegram:file/")
	if botToken == "" {
		return "", fmt.Errorf("%w: TELEGRAM_BOT_TOKEN is not configured", ErrRefused)
	}
	obj, err := f.Fetch(ctx, src, api+"/bot"+botToken+"/getFile?file_id="+url.QueryEscape(id))
	if err != nil {
		return "", err
	}
	var out struct {
		OK     bool `json:"ok"`
		Result struct {
			FilePath string `json:"file_path"`
		} `json:"result"`
	}
	if err := json.Unmarshal(obj.Body, &out); err != nil || !out.OK || out.Result.FilePath == "" {
		return "", fmt.Errorf("%w: getFile gave no file_path", ErrRefused)
	}
	return api + "/file/bot" + botToken + "/" + out.Result.FilePath, nil
}
