package notify_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
)

// upload does what the console does: POST /api/uploads, then PUT the bytes
// to the presigned URL with the headers it gave. It returns the key.
func (o *outbox) upload(contentType, name string, body []byte) string {
	o.t.Helper()
	code, out := o.call("/api/uploads", "", fmt.Sprintf(`{"contentType":%q,"size":%d,"filename":%q}`, contentType, len(body), name))
	if code != http.StatusCreated {
		o.t.Fatalf("POST /api/uploads: %d %v", code, out)
	}
	up := out["upload"].(map[string]any)
	req, _ := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader(body))
	for k, v := range up["headers"].(map[string]any) {
		if strings.EqualFold(k, "Content-Length") {
			req.ContentLength, _ = strconv.ParseInt(v.(string), 10, 64)
			continue
		}
		req.Header.Set(k, v.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		o.t.Fatalf("PUT upload: %v %v", resp, err)
	}
	resp.Body.Close()
	return up["key"].(string)
}

// fetch GETs a link the way a provider fetches a MediaUrl.
func fetch(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", u, resp.StatusCode)
	}
	return b
}

// TestReplyWithMedia: an agent uploads files and replies with them on
// every channel; each stand-in gets one request carrying a link it can
// fetch (the very bytes uploaded), email the file attached, and what a
// channel cannot carry is refused before anything is queued.
func TestReplyWithMedia(t *testing.T) {
	o := newOutbox(t)
	now := o.clock
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 500)...)
	pdf := []byte("%PDF-1.7\n% a receipt\n%%EOF\n")
	img, doc := o.upload("image/png", "label.png", png), o.upload("application/pdf", "receipt.pdf", pdf)

	sms := o.customer("twilio:SMm1", conversation.ChannelSMS, o.phone("+14155550191"), "+14155550191", "+18005550100", "the box is broken", now)
	tgID, _ := conversation.Normalizer{}.Platform(conversation.KindTelegram, "991")
	tg := o.customer("telegram:2001", conversation.ChannelTelegram, tgID, "991", "991", "photo please", now)
	msID, _ := conversation.Normalizer{}.Platform(conversation.KindMessenger, "psid-92")
	ms := o.customer("meta:m_92", conversation.ChannelMessenger, msID, "psid-92", "page-1", "label?", now)
	waCloud := o.customer("meta:wamid.93", conversation.ChannelWhatsApp, o.phone("+14155550173"), "whatsapp:+14155550173", "+15550001111", "receipt?", now, "1234567890")
	mailID, _ := conversation.Normalizer{}.Email("bo@example.net")
	mail := o.customer("email:<m94@example.net>", conversation.ChannelEmail, mailID, "bo@example.net", "support@example.com", "invoice?", now)

	media := func(keys ...string) string {
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf(`{"key":%q}`, k))
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	// Refused, and nothing queued.
	for name, c := range map[string]struct {
		conv, body string
		code       int
		errCode    string
	}{
		"an unknown key":            {sms.ConversationID, `{"media":[{"key":"uploads/0b7c52c2-6d44-4c1e-9d8e-4b8f3b1f6a10/x.png"}]}`, 400, "unknown_upload"},
		"a key outside uploads/":    {sms.ConversationID, `{"media":[{"key":"media/conv/abc"}]}`, 400, "unknown_upload"},
		"a key that is empty":       {sms.ConversationID, `{"media":[{}]}`, 400, "invalid"},
		"text with Messenger media": {ms.ConversationID, `{"body":"here","media":` + media(img) + `}`, 400, "media_with_text"},
		"two files on Telegram":     {tg.ConversationID, `{"media":` + media(img, doc) + `}`, 400, "too_many_media"},
		"neither body nor media":    {sms.ConversationID, `{"media":[]}`, 400, "invalid"},
		"media that is not a list":  {sms.ConversationID, `{"media":"x"}`, 400, "invalid"},
		"media with a template":     {waCloud.ConversationID, `{"template":{"name":"x","language":"en"},"media":` + media(img) + `}`, 400, "invalid"},
	} {
		code, out := o.post(c.conv, "refused-"+name, c.body)
		if code != c.code || out["code"] != c.errCode {
			t.Errorf("%s: %d %v, want %d %s", name, code, out, c.code, c.errCode)
		}
	}
	if len(o.queue.jobs) != 0 {
		t.Fatalf("refused replies queued %d jobs", len(o.queue.jobs))
	}
	for name, c := range map[string]struct {
		body string
		code int
	}{
		"an HTML page":       {`{"contentType":"text/html","size":10}`, http.StatusUnsupportedMediaType},
		"6 MB":               {`{"contentType":"image/png","size":6291456}`, http.StatusRequestEntityTooLarge},
		"no type":            {`{"size":10}`, http.StatusBadRequest},
		"an unknown field":   {`{"contentType":"image/png","size":10,"acl":"public-read"}`, http.StatusBadRequest},
		"a size as a string": {`{"contentType":"image/png","size":"10"}`, http.StatusBadRequest},
	} {
		if code, out := o.call("/api/uploads", "", c.body); code != c.code {
			t.Errorf("upload of %s: %d %v, want %d", name, code, out, c.code)
		}
	}

	for i, r := range []struct {
		conv, body string
	}{
		{sms.ConversationID, `{"body":"Here is the label and the receipt","media":` + media(img, doc) + `}`},
		{tg.ConversationID, `{"body":"The label","media":` + media(img) + `}`},
		{ms.ConversationID, `{"media":` + media(img) + `}`},
		{waCloud.ConversationID, `{"body":"Your receipt","media":` + media(doc) + `}`},
		{mail.ConversationID, `{"body":"Attached.","media":` + media(doc) + `}`},
	} {
		if code, out := o.post(r.conv, fmt.Sprint("m", i), r.body); code != http.StatusAccepted {
			t.Fatalf("reply %d: %d %v", i, code, out)
		}
	}
	// The same key with other media is another reply: 422.
	if code, out := o.post(sms.ConversationID, "m0", `{"body":"Here is the label and the receipt","media":`+media(img)+`}`); code != http.StatusUnprocessableEntity {
		t.Errorf("key reused with other media: %d %v", code, out)
	}
	if failed := o.deliver(); failed != 0 {
		t.Fatalf("%d sends failed", failed)
	}

	forms := o.twilio.sent()
	if len(forms) != 1 || len(forms[0]["MediaUrl"]) != 2 || forms[0].Get("Body") != "Here is the label and the receipt" {
		t.Fatalf("twilio: %v", forms)
	}
	if !bytes.Equal(fetch(t, forms[0]["MediaUrl"][0]), png) || !bytes.Equal(fetch(t, forms[0]["MediaUrl"][1]), pdf) {
		t.Error("Twilio's MediaUrl do not fetch the uploaded files, in order")
	}
	if c := o.telegram.calls; len(c) != 1 || c[0]["method"] != "sendPhoto" || c[0]["caption"] != "The label" || !bytes.Equal(fetch(t, c[0]["photo"].(string)), png) {
		t.Errorf("telegram: %v", c)
	}
	if len(o.graph.calls) != 1 {
		t.Fatalf("graph: %v", o.graph.calls)
	}
	att := o.graph.calls[0]["message"].(map[string]any)["attachment"].(map[string]any)
	if att["type"] != "image" || !bytes.Equal(fetch(t, att["payload"].(map[string]any)["url"].(string)), png) {
		t.Errorf("messenger attachment: %v", att)
	}
	if len(o.graph.whatsappBodies) != 1 {
		t.Fatalf("whatsapp cloud: %v", o.graph.whatsappBodies)
	}
	wa := o.graph.whatsappBodies[0]
	d, _ := wa["document"].(map[string]any)
	if wa["type"] != "document" || d["caption"] != "Your receipt" || d["filename"] != "receipt.pdf" || !bytes.Equal(fetch(t, d["link"].(string)), pdf) {
		t.Errorf("whatsapp cloud document: %v", wa)
	}
	if len(o.mail.replies) != 1 || len(o.mail.replies[0].Attachments) != 1 {
		t.Fatalf("email: %+v", o.mail.replies)
	}
	if a := o.mail.replies[0].Attachments[0]; a.Filename != "receipt.pdf" || a.ContentType != "application/pdf" || !bytes.Equal(a.Data, pdf) {
		t.Errorf("email attachment: %s %s %d bytes", a.Filename, a.ContentType, len(a.Data))
	}
	// The timeline shows the reply's media, stored.
	_, msgs, _ := o.store.Conversation(t.Context(), sms.ConversationID)
	last := msgs[len(msgs)-1]
	if last.Status != "sent" || len(last.Media) != 2 || last.Media[0].Key != img || last.Media[0].Status != conversation.MediaStored || last.Media[1].Filename != "receipt.pdf" {
		t.Errorf("timeline: %s %+v", last.Status, last.Media)
	}
}
