package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// careDoc: the support team always open, with the survey at close; a
// "tokyo" team (messages saying "urgente" go to it) open only from 09:00
// to 10:00 Tokyo time the day after tomorrow there, so that it is closed
// now and its next opening is known; acknowledgements in four languages.
func careDoc(opens time.Time) string {
	day := strings.ToLower(opens.Weekday().String()[:3])
	return `{"defaultTeam":"support","coalesceWindow":"0s",
	  "teams":[{"id":"support","csat":{"enabled":true}},{"id":"tokyo","timeZone":"Asia/Tokyo","hours":{"` + day + `":"09:00-10:00"}}],
	  "rules":[{"keyword":"urgente","team":"tokyo"}],
	  "agents":[{"id":"ana","teams":["support","tokyo"],"sinks":[]}],
	  "autoReplies":{"ack":{"en":"Thanks, we got it.","es":"Gracias, lo recibimos.","ru":"Спасибо, получили.","ja":"受け付けました。"},
	    "outOfHours":{"en":"We're closed; back {date} at {time} {zone}.","es":"Estamos cerrados; volvemos el {date} a las {time} ({zone})."},
	    "csat":{"en":"How did we do? Reply 1 (poor) to 5 (great)."}}}`
}

// texts are the Twilio stand-in's sends to a number.
func (s *system) textsTo(to string) []string {
	var out []string
	for _, c := range s.replies.all() {
		if c.provider == "twilio" && c.form.Get("To") == to {
			out = append(out, c.form.Get("Body"))
		}
	}
	return out
}

// TestCareEndToEnd: on DynamoDB Local and moto, through the stream, the
// notify queue and the Twilio stand-in: customers writing in Spanish,
// Russian and Japanese are acknowledged in their language; one writing to
// a closed team gets the out-of-hours reply naming the opening in the
// team's zone; a closed conversation's survey goes out once, a "4" reply
// records its CSAT without reopening it, and the report counts it.
func TestCareEndToEnd(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	now := time.Now().In(tokyo)
	opens := time.Date(now.Year(), now.Month(), now.Day()+2, 9, 0, 0, 0, tokyo)
	s := newSystem(t, options{replies: true, care: careDoc(opens)})

	for _, c := range []struct{ from, body, ack string }{
		{"+34600000001", "Hola, mi pedido no ha llegado todavía", "Gracias, lo recibimos."},
		{"+79160000001", "Здравствуйте, мой заказ до сих пор не пришёл", "Спасибо, получили."},
		{"+81900000001", "こんにちは、注文した商品がまだ届きません", "受け付けました。"},
		{"+34600000002", "Hola, es urgente: ¿pueden cambiar la dirección de entrega?", "Estamos cerrados; volvemos el " + opens.Format(time.DateOnly) + " a las 09:00 (JST)."},
	} {
		if code := s.postSMS("SM"+strings.TrimPrefix(c.from, "+"), c.from, c.body); code != 200 {
			t.Fatalf("post %s: %d", c.from, code)
		}
		s.waitFor("the automatic reply to "+c.from, patience, func() bool { return len(s.textsTo(c.from)) > 0 })
		if got := s.textsTo(c.from); len(got) != 1 || got[0] != c.ack {
			t.Errorf("%s got %q, want %q", c.from, got, c.ack)
		}
	}

	// Close the Spanish customer's conversation: the survey, once.
	const es = "+34600000001"
	code, list := s.agent("GET", "/api/conversations?status=open", "", "")
	if code != 200 {
		t.Fatalf("inbox: %d", code)
	}
	id := ""
	for _, c := range list["conversations"].([]any) {
		c := c.(map[string]any)
		if _, contact := s.agent("GET", "/api/contacts/"+c["contactId"].(string), "", ""); contact != nil {
			for _, i := range contact["identities"].([]any) {
				if i.(map[string]any)["address"] == es {
					id = c["id"].(string)
				}
			}
		}
	}
	if id == "" {
		t.Fatal("no conversation of " + es)
	}
	if code, _ := s.agent("PATCH", "/api/conversations/"+id, "", `{"status":"closed"}`); code != 200 {
		t.Fatalf("close: %d", code)
	}
	s.waitFor("the survey", patience, func() bool { return len(s.textsTo(es)) == 2 })
	if got := s.textsTo(es); got[1] != "How did we do? Reply 1 (poor) to 5 (great)." {
		t.Errorf("survey %q", got[1])
	}
	if code := s.postSMS("SMes4", es, "4"); code != 200 {
		t.Fatalf("post the score: %d", code)
	}
	var conv map[string]any
	s.waitFor("the CSAT on the conversation", patience, func() bool {
		_, body := s.agent("GET", "/api/conversations/"+id, "", "")
		conv, _ = body["conversation"].(map[string]any)
		return conv != nil && conv["csat"] != nil
	})
	if csat := conv["csat"].(map[string]any); csat["score"] != 4.0 || csat["channel"] != "sms" || conv["status"] != "closed" {
		t.Errorf("conversation after the score: status %v csat %v", conv["status"], csat)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	s.waitFor("the report's CSAT", patience, func() bool {
		_, body := s.agent("GET", "/api/reports?"+url.Values{"from": {day}, "to": {day}}.Encode(), "", "")
		rep, _ := body["report"].(map[string]any)
		csat, _ := rep["csat"].(map[string]any)
		return csat != nil && csat["count"] == 1.0 && csat["mean"] == 4.0
	})
	s.settle()
	if got := s.textsTo(es); len(got) != 2 {
		t.Errorf("texts to %s after the score: %q (nothing more: no reopen, no second survey)", es, got)
	}
}
