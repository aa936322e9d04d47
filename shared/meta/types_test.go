package meta_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
)

// wa wraps WhatsApp Cloud API message objects in a webhook envelope.
func wa(msgs ...string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",` +
		`"metadata":{"display_phone_number":"15550001111","phone_number_id":"1"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"14155550123"}],` +
		`"messages":[` + strings.Join(msgs, ",") + `]}}]}]}`)
}

// fb wraps Messenger events in a page envelope.
func fb(events ...string) []byte {
	return []byte(`{"object":"page","entry":[{"id":"PAGE","time":1700000000000,"messaging":[` + strings.Join(events, ",") + `]}]}`)
}

type typeCase struct {
	name              string
	post              []byte
	body, kind, ptype string
	media             string
	replyTo, reactsTo bool
}

// testEveryMessageType feeds each message type the WhatsApp Cloud API and
// Messenger document and holds what is stored: readable body, media
// (pending), kind, and the link to the message replied or reacted to (the
// original, stored first). An unknown type is stored as unsupported.
func testEveryMessageType(t *testing.T, ns storetest.NewStore) {
	waMsg := func(id, typ, content string) string {
		return fmt.Sprintf(`{"from":"14155550123","id":%q,"timestamp":"1700000001","type":%q,%s}`, id, typ, content)
	}
	waOrig := wa(`{"from":"14155550123","id":"wamid.ORIG","timestamp":"1700000000","type":"text","text":{"body":"my order"}}`)
	fbEv := func(content string) string {
		return `{"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1700000001000,` + content + `}`
	}
	fbOrig := fb(fbEv(`"message":{"mid":"m_ORIG","text":"my order"}`))
	cases := map[string][]typeCase{
		string(waOrig): {
			{name: "wa text", post: wa(waMsg("wamid.1", "text", `"text":{"body":"hello"}`)), body: "hello"},
			{name: "wa image", post: wa(waMsg("wamid.2", "image", `"image":{"id":"IMG","mime_type":"image/jpeg","caption":"broken"}`)), body: "broken", media: "image/jpeg"},
			{name: "wa audio", post: wa(waMsg("wamid.3", "audio", `"audio":{"id":"AUD","mime_type":"audio/ogg; codecs=opus"}`)), body: "", media: "audio/ogg; codecs=opus"},
			{name: "wa video", post: wa(waMsg("wamid.4", "video", `"video":{"id":"VID","mime_type":"video/mp4"}`)), body: "", media: "video/mp4"},
			{name: "wa document", post: wa(waMsg("wamid.5", "document", `"document":{"id":"DOC","mime_type":"application/pdf","filename":"invoice.pdf"}`)), body: "invoice.pdf", media: "application/pdf"},
			{name: "wa sticker", post: wa(waMsg("wamid.6", "sticker", `"sticker":{"id":"STK","mime_type":"image/webp","animated":false}`)), body: "", media: "image/webp"},
			{name: "wa location", post: wa(waMsg("wamid.7", "location", `"location":{"latitude":38.9,"longitude":-77.03,"name":"Office","address":"1 Main St"}`)), body: "📍 38.900000,-77.030000 Office 1 Main St"},
			{name: "wa contacts", post: wa(waMsg("wamid.8", "contacts", `"contacts":[{"name":{"formatted_name":"Bo Li"},"phones":[{"phone":"+16505551234"}]}]`)), body: "👤 Bo Li +16505551234"},
			{name: "wa button reply", post: wa(waMsg("wamid.9", "interactive", `"interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Yes"}}`)), body: "Yes"},
			{name: "wa list reply", post: wa(waMsg("wamid.10", "interactive", `"interactive":{"type":"list_reply","list_reply":{"id":"l1","title":"Size M"}}`)), body: "Size M"},
			{name: "wa template button", post: wa(waMsg("wamid.11", "button", `"button":{"text":"Track","payload":"t"}`)), body: "Track"},
			{name: "wa reply", post: wa(waMsg("wamid.12", "text", `"text":{"body":"this"},"context":{"from":"15550001111","id":"wamid.ORIG"}`)), body: "this", replyTo: true},
			{name: "wa reaction", post: wa(waMsg("wamid.13", "reaction", `"reaction":{"message_id":"wamid.ORIG","emoji":"👍"}`)), body: "Reacted 👍", kind: conversation.KindReaction, reactsTo: true},
			{name: "wa reaction removed", post: wa(waMsg("wamid.14", "reaction", `"reaction":{"message_id":"wamid.ORIG"}`)), body: "Removed a reaction", kind: conversation.KindReaction, reactsTo: true},
			{name: "wa order", post: wa(waMsg("wamid.15", "order", `"order":{"catalog_id":"c","product_items":[]}`)), body: "[order]", kind: conversation.KindUnsupported, ptype: "order"},
			{name: "wa unsupported", post: wa(waMsg("wamid.16", "unsupported", `"errors":[{"code":131051,"title":"Message type unknown"}]`)), body: "[unsupported]", kind: conversation.KindUnsupported, ptype: "unsupported"},
		},
		string(fbOrig): {
			{name: "fb text", post: fb(fbEv(`"message":{"mid":"m_1","text":"hi"}`)), body: "hi"},
			{name: "fb image", post: fb(fbEv(`"message":{"mid":"m_2","attachments":[{"type":"image","payload":{"url":"https://scontent.xx.fbcdn.net/i.jpg"}}]}`)), body: "", media: "image"},
			{name: "fb location", post: fb(fbEv(`"message":{"mid":"m_3","attachments":[{"type":"location","payload":{"title":"Home","coordinates":{"lat":1.5,"long":2.5}}}]}`)), body: "📍 1.500000,2.500000 Home"},
			{name: "fb quick reply", post: fb(fbEv(`"message":{"mid":"m_4","text":"Red","quick_reply":{"payload":"COLOR_RED"}}`)), body: "Red"},
			{name: "fb reply", post: fb(fbEv(`"message":{"mid":"m_5","text":"this","reply_to":{"mid":"m_ORIG"}}`)), body: "this", replyTo: true},
			{name: "fb postback", post: fb(fbEv(`"postback":{"mid":"m_6","title":"Get started","payload":"START"}`)), body: "Get started"},
			{name: "fb reaction", post: fb(fbEv(`"reaction":{"mid":"m_ORIG","action":"react","emoji":"❤","reaction":"love"}`)), body: "Reacted ❤", kind: conversation.KindReaction, reactsTo: true},
			{name: "fb unreaction", post: fb(fbEv(`"reaction":{"mid":"m_ORIG","action":"unreact","emoji":"❤","reaction":"love"}`)), body: "Removed the reaction ❤", kind: conversation.KindReaction, reactsTo: true},
			{name: "fb empty message", post: fb(fbEv(`"message":{"mid":"m_7"}`)), body: "[message]", kind: conversation.KindUnsupported, ptype: "message"},
			{name: "fb edit of an unknown message", post: fb(fbEv(`"message_edit":{"mid":"m_GONE","text":"new words","num_edit":1}`)), body: "new words"},
		},
	}
	for orig, cs := range cases {
		for _, c := range cs {
			t.Run(c.name, func(t *testing.T) {
				w := newWorld(t, ns)
				for _, body := range [][]byte{[]byte(orig), c.post, c.post} { // the original, the case, its redelivery
					if rec := w.post(body); rec.Code != http.StatusOK {
						t.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
				backends.CheckEntry(t, w.messages(), backends.Entry{Body: c.body, Kind: c.kind, ProviderType: c.ptype,
					MediaType: c.media, ReplyTo: c.replyTo, ReactsTo: c.reactsTo})
				if c.kind == conversation.KindReaction {
					w.mu.Lock()
					n := len(w.notified)
					w.mu.Unlock()
					if n != 1 { // the original's notification only
						t.Errorf("%d notifications, want the original's only: a reaction never notifies", n)
					}
				}
			})
		}
	}
}

// testMessengerEditLandsOnTheOriginal: message_edit changes the original's
// body and keeps the first.
func testMessengerEditLandsOnTheOriginal(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	w.post(fb(`{"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1700000000000,"message":{"mid":"m_1","text":"helo"}}`))
	edit := fb(`{"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1700000005000,"message_edit":{"mid":"m_1","text":"hello","num_edit":"1"}}`)
	for range 2 {
		if rec := w.post(edit); rec.Code != http.StatusOK {
			t.Fatalf("%d", rec.Code)
		}
	}
	msgs := w.messages()
	if len(msgs) != 1 || msgs[0].Body != "hello" || msgs[0].OriginalBody != "helo" {
		t.Errorf("after the edit: %+v", msgs)
	}
}

// testBatchStrictness: a non-digit WhatsApp from is refused for that message
// while the rest of the batch lands; a NUL or invalid UTF-8 anywhere is a
// 400 and nothing of the batch is stored.
func testBatchStrictness(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	good := `{"from":"14155550123","id":"wamid.G","timestamp":"1700000000","type":"text","text":{"body":"fine"}}`
	bad := `{"from":"1415555x123","id":"wamid.B","timestamp":"1700000000","type":"text","text":{"body":"who"}}`
	if rec := w.post(wa(bad, good)); rec.Code != http.StatusOK {
		t.Fatalf("%d", rec.Code)
	}
	if msgs := w.messages(); len(msgs) != 1 || msgs[0].Body != "fine" {
		t.Errorf("after a batch with a bad from: %+v", msgs)
	}
	for name, body := range map[string][]byte{
		"NUL":           wa(`{"from":"14155550124","id":"wamid.N1","timestamp":"1","type":"text","text":{"body":"ok"}}`, `{"from":"14155550124","id":"wamid.N2","timestamp":"1","type":"text","text":{"body":"a\u0000b"}}`),
		"invalid UTF-8": wa(`{"from":"14155550124","id":"wamid.U1","timestamp":"1","type":"text","text":{"body":"ok"}}`, "{\"from\":\"14155550124\",\"id\":\"wamid.U2\",\"timestamp\":\"1\",\"type\":\"text\",\"text\":{\"body\":\"\xff\"}}"),
	} {
		if rec := w.post(body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, rec.Code)
		}
	}
	if n := len(w.messages()); n != 1 {
		t.Errorf("bad batches stored %d more", n-1)
	}
}

// testBatchKeepsItsOrder: six WhatsApp messages of one second in one batch
// keep the batch's order on the timeline and in the preview.
func testBatchKeepsItsOrder(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	var msgs []string
	for n := 1; n <= 6; n++ {
		msgs = append(msgs, fmt.Sprintf(`{"from":"14155550123","id":"wamid.burst%d","timestamp":"1700000000","type":"text","text":{"body":"part %d"}}`, n, n))
	}
	if rec := w.post(wa(msgs...)); rec.Code != http.StatusOK {
		t.Fatalf("%d", rec.Code)
	}
	var got []string
	for _, m := range w.messages() {
		got = append(got, m.Body)
	}
	if fmt.Sprint(got) != "[part 1 part 2 part 3 part 4 part 5 part 6]" {
		t.Errorf("timeline %v", got)
	}
	cs, _ := conversation.All(context.Background(), w.store, conversation.StatusOpen)
	if len(cs) != 1 || cs[0].LastPreview != "part 6" {
		t.Errorf("inbox %+v, want the preview part 6", cs)
	}
}
