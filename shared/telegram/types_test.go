package telegram_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
)

// testEveryMessageType feeds each kind of content the Bot API documents
// (https://core.telegram.org/bots/api#message) and holds what is stored:
// the readable body, the media (pending for the pipeline), the kind, and
// the links to the message replied or reacted to. Nothing a customer sent
// is dropped: an unknown kind is stored as unsupported.
func testEveryMessageType(t *testing.T, ns storetest.NewStore) {
	{
		file := func(id string) string {
			return `{"file_id":"` + id + `","file_unique_id":"u` + id + `","file_size":10}`
		}
		cases := []struct {
			name, content       string
			body, kind, ptype   string
			mediaType           string
			replyTo, reactsTo   bool
			updateKind, message string // updateKind: the update's field ("message" when empty)
		}{
			{name: "text", content: `"text":"hello"`, body: "hello"},
			{name: "photo", content: `"photo":[` + file("p1") + `,` + file("p2") + `],"caption":"look"`, body: "look", mediaType: "image/jpeg"},
			{name: "video", content: `"video":` + file("v1") + `,"caption":"clip"`, body: "clip", mediaType: "video/mp4"},
			{name: "video note", content: `"video_note":` + file("vn1"), body: "[video message]", mediaType: "video/mp4"},
			{name: "animation", content: `"animation":` + file("a1"), body: "[GIF]", mediaType: "video/mp4"},
			{name: "sticker", content: `"sticker":{"file_id":"s1","file_unique_id":"us1","emoji":"😀","is_animated":false,"is_video":false,"width":512,"height":512,"type":"regular"}`, body: "[sticker] 😀", mediaType: "image/webp"},
			{name: "voice", content: `"voice":{"file_id":"vo1","file_unique_id":"u","duration":2,"mime_type":"audio/ogg"}`, body: "", mediaType: "audio/ogg"},
			{name: "document", content: `"document":{"file_id":"d1","file_unique_id":"u","file_name":"invoice.pdf","mime_type":"application/pdf"}`, body: "invoice.pdf", mediaType: "application/pdf"},
			{name: "location", content: `"location":{"latitude":52.52,"longitude":13.405}`, body: "📍 52.520000,13.405000"},
			{name: "venue", content: `"venue":{"location":{"latitude":52.52,"longitude":13.405},"title":"Office","address":"Main St 1"},"location":{"latitude":52.52,"longitude":13.405}`, body: "📍 52.520000,13.405000 Office, Main St 1"},
			{name: "contact", content: `"contact":{"phone_number":"+4915112345678","first_name":"Ana","last_name":"García"}`, body: "👤 Ana García +4915112345678"},
			{name: "poll", content: `"poll":{"id":"1","question":"Which size?","options":[{"text":"S","voter_count":0},{"text":"M","voter_count":0}],"total_voter_count":0,"is_closed":false,"is_anonymous":true,"type":"regular","allows_multiple_answers":false}`, body: "📊 Which size? (S / M)"},
			{name: "dice", content: `"dice":{"emoji":"🎲","value":4}`, body: "🎲 rolled 4"},
			{name: "reply", content: `"text":"this one","reply_to_message":{"message_id":40,"chat":{"id":7,"type":"private"},"date":1700000000,"text":"x"}`, body: "this one", replyTo: true},
			{name: "unknown kind", content: `"giveaway":{"chats":[],"winners_selection_date":1,"winner_count":1}`, body: "[giveaway]", kind: conversation.KindUnsupported, ptype: "giveaway"},
			{name: "callback", updateKind: "callback_query", body: "size=M", replyTo: true,
				message: `{"id":"cb1","from":{"id":7,"is_bot":false,"first_name":"Ana"},"chat_instance":"1","data":"size=M","message":{"message_id":40,"chat":{"id":7,"type":"private"},"date":1700000000,"text":"pick"}}`},
			{name: "reaction", updateKind: "message_reaction", body: "Reacted 👍", kind: conversation.KindReaction, reactsTo: true,
				message: `{"chat":{"id":7,"type":"private"},"message_id":40,"user":{"id":7,"is_bot":false,"first_name":"Ana"},"date":1700000001,"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"}]}`},
			{name: "reaction removed", updateKind: "message_reaction", body: "Removed a reaction", kind: conversation.KindReaction, reactsTo: true,
				message: `{"chat":{"id":7,"type":"private"},"message_id":40,"user":{"id":7,"is_bot":false,"first_name":"Ana"},"date":1700000002,"old_reaction":[{"type":"emoji","emoji":"👍"}],"new_reaction":[]}`},
		}
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				w := newWorld(t, ns)
				// The message replied or reacted to: message_id 40 in chat 7.
				orig := `{"update_id":1,"message":{"message_id":40,"from":{"id":7,"is_bot":false,"first_name":"Ana"},"chat":{"id":7,"type":"private"},"date":1700000000,"text":"pick a size"}}`
				if rec := w.post([]byte(orig), secret); rec.Code != http.StatusOK {
					t.Fatalf("original: %d", rec.Code)
				}
				kind, payload := c.updateKind, c.message
				if kind == "" {
					kind = "message"
					payload = fmt.Sprintf(`{"message_id":%d,"from":{"id":7,"is_bot":false,"first_name":"Ana"},"chat":{"id":7,"type":"private"},"date":1700000001,%s}`, 41+i, c.content)
				}
				body := fmt.Sprintf(`{"update_id":%d,%q:%s}`, 100+i, kind, payload)
				for range 2 { // and its redelivery, which changes nothing
					if rec := w.post([]byte(body), secret); rec.Code != http.StatusOK {
						t.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
				backends.CheckEntry(t, w.messages(t), backends.Entry{Body: c.body, Kind: c.kind, ProviderType: c.ptype,
					MediaType: c.mediaType, ReplyTo: c.replyTo, ReactsTo: c.reactsTo})
			})
		}
	}
}

// testBurstKeepsItsOrder: six messages sent within one second (Telegram
// stamps whole seconds) arrive as 6,4,5,2,3,1; the timeline reads 1…6 and
// the inbox previews the last one sent.
func testBurstKeepsItsOrder(t *testing.T, ns storetest.NewStore) {
	w := newWorld(t, ns)
	for _, n := range []int{6, 4, 5, 2, 3, 1} {
		body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"from":{"id":7,"is_bot":false,"first_name":"Ana"},"chat":{"id":7,"type":"private"},"date":1700000000,"text":"part %d"}}`, 500+n, 40+n, n)
		if rec := w.post([]byte(body), secret); rec.Code != http.StatusOK {
			t.Fatalf("%d", rec.Code)
		}
	}
	msgs := w.messages(t)
	var got []string
	for _, m := range msgs {
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
