package care_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/care"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/routing"
)

const doc = `{"defaultTeam":"support","coalesceWindow":"0s",
  "teams":[{"id":"support","timeZone":"Europe/Madrid","hours":{"mon":"09:00-18:00","tue":"09:00-18:00","wed":"09:00-18:00","thu":"09:00-18:00","fri":"09:00-18:00"},
    "csat":{"enabled":true,"window":"72h"},"escalateAfter":"30m","escalateTo":{"phone":"+34600000001"}},
    {"id":"late","timeZone":"UTC","csat":{"enabled":true,"delay":"1h"}}],
  "rules":[{"keyword":"invoice","team":"late"}],
  "email":{"address":"support@example.com"},
  "agents":[{"id":"ana","teams":["support"],"sinks":[{"type":"slack","to":"https://hooks.slack.example/x"}]}],
  "autoReplies":{"defaultLanguage":"en",
    "ack":{"en":"Thanks, we got it.","es":"Gracias, lo recibimos.","ru":"Спасибо, получили.","ja":"受け付けました。"},
    "outOfHours":{"en":"We're closed; back {date} at {time} {zone}.","es":"Estamos cerrados; volvemos el {date} a las {time} ({zone})."},
    "csat":{"es":"¿Qué tal lo hicimos? Responde del 1 al 5."}}}`

// world is the domain on one store, the stream simulated: each stored
// entry projected, then handed to the automation, as the fan-out does.
type world struct {
	t     *testing.T
	svc   *conversation.Service
	raw   conversation.Store
	auto  *care.Automation
	now   time.Time
	mu    sync.Mutex
	jobs  []notify.Job
	clock sync.Mutex
}

func (w *world) Send(_ context.Context, jobs []notify.Job) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jobs = append(w.jobs, jobs...)
	return nil
}

func (w *world) Now() time.Time {
	w.clock.Lock()
	defer w.clock.Unlock()
	return w.now
}

func (w *world) advance(d time.Duration) {
	w.clock.Lock()
	w.now = w.now.Add(d)
	w.clock.Unlock()
}

func newWorld(t *testing.T, ns storetest.NewStore, start time.Time) *world {
	rt, err := routing.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, now: start, raw: ns(t)}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w.svc = &conversation.Service{Team: "support", Window: rt.Window(), Now: w.Now}
	w.auto = &care.Automation{Routing: rt, Service: w.svc, Timers: w.raw.(conversation.TimerWriter), Queue: w,
		AckText: "ACK_TEXT", PublicBaseURL: "https://sb.example", Log: quiet}
	w.svc.Timers = w.auto.Fire()
	w.svc.Store = backends.Streamed{Store: w.raw, OnStored: func(m conversation.Message) {
		conv, err := w.svc.Project(context.Background(), m)
		if err != nil {
			t.Errorf("project: %v", err)
			return
		}
		if err := w.auto.After(context.Background(), conv, m); err != nil {
			t.Errorf("care: %v", err)
		}
	}}
	return w
}

var seq int

// text is an SMS from a customer, now.
func (w *world) text(from, body string) conversation.Result {
	w.t.Helper()
	seq++
	res, err := w.svc.Ingest(context.Background(), conversation.Inbound{Key: fmt.Sprintf("twilio:SM%d", seq), Channel: conversation.ChannelSMS,
		From: conversation.Identity{Kind: conversation.KindPhone, Address: from}, FromAddress: from, To: "+18005550100", Body: body,
		Provider: "twilio", ReceivedAt: w.Now()})
	if err != nil {
		w.t.Fatal(err)
	}
	return res
}

// autos are the automatic messages of a conversation, "auto|to|body".
func (w *world) autos(id string) []string {
	_, msgs, err := w.svc.Store.Conversation(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.Kind == conversation.KindAuto {
			if m.Status != conversation.StatusQueued || m.Direction != conversation.DirectionOutbound || m.Channel != conversation.ChannelSMS && m.Channel != conversation.ChannelEmail {
				w.t.Errorf("automatic message %+v: want an outbound, queued one", m)
			}
			out = append(out, m.Auto+"|"+m.To+"|"+m.Body)
		}
	}
	return out
}

func onEveryStore(t *testing.T, f func(t *testing.T, ns storetest.NewStore)) {
	for name, ns := range backends.Stores() {
		t.Run(name, func(t *testing.T) { f(t, ns) })
	}
}

// Tuesday 2026-12-01, 10:00 in Madrid: the team is open.
var open = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestAcknowledgementInTheCustomersLanguage(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		for _, c := range []struct{ from, body, lang, ack string }{
			{"+34600000010", "Hola, mi pedido no ha llegado todavía", "es", "Gracias, lo recibimos."},
			{"+79160000010", "Здравствуйте, мой заказ до сих пор не пришёл", "ru", "Спасибо, получили."},
			{"+81900000010", "こんにちは、注文した商品がまだ届きません", "ja", "受け付けました。"},
			{"+14155550110", "hi", "", "Thanks, we got it."}, // too short to tell: the default language
		} {
			res := w.text(c.from, c.body)
			if got := w.autos(res.Message.ConversationID); len(got) != 1 || got[0] != "ack|"+c.from+"|"+c.ack {
				t.Errorf("%s: automatic messages %q, want the acknowledgement %q", c.lang, got, c.ack)
			}
			contact, _ := w.svc.Store.Contact(context.Background(), res.Message.ContactID)
			if contact.Language != c.lang {
				t.Errorf("%s: contact language %q", c.lang, contact.Language)
			}
			// The next message on the open conversation: no second reply.
			w.advance(time.Minute)
			w.text(c.from, "¿alguna novedad sobre esto?")
			if got := w.autos(res.Message.ConversationID); len(got) != 1 {
				t.Errorf("%s: after a second message %q", c.lang, got)
			}
		}
		// An agent's language for the contact wins over detection.
		res := w.text("+14155550111", "Hello, my order has not arrived yet")
		w.advance(time.Minute)
		es := "es"
		if _, err := w.svc.UpdateContact(context.Background(), res.Message.ContactID, conversation.ContactPatch{Language: &es}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Update(context.Background(), res.Message.ConversationID, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Minute)
		again := w.text("+14155550111", "Hello again, one more question please")
		if got := w.autos(again.Message.ConversationID); len(got) != 1 || got[0] != "ack|+14155550111|Gracias, lo recibimos." {
			t.Errorf("the contact's language: %q", got)
		}
	})
}

func TestOutOfHoursReplyNamesTheNextOpening(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		// Saturday 2026-12-05 23:30 in Madrid (22:30 UTC): closed until
		// Monday 09:00 CET.
		w := newWorld(t, ns, time.Date(2026, 12, 5, 22, 30, 0, 0, time.UTC))
		res := w.text("+34600000020", "Hola, necesito cambiar la dirección de entrega")
		want := "out_of_hours|+34600000020|Estamos cerrados; volvemos el 2026-12-07 a las 09:00 (CET)."
		if got := w.autos(res.Message.ConversationID); len(got) != 1 || got[0] != want {
			t.Errorf("automatic messages %q, want %q", got, want)
		}
		// Sunday, still closed: the same closed spell, no second reply.
		w.advance(12 * time.Hour)
		w.text("+34600000020", "¿Hay alguien ahí? Es urgente por favor")
		if got := w.autos(res.Message.ConversationID); len(got) != 1 {
			t.Errorf("second message in the same closed spell: %q", got)
		}
		// Monday 10:00, open: the conversation was acknowledged already.
		w.advance(22 * time.Hour)
		w.text("+34600000020", "Buenos días, sigo esperando una respuesta")
		if got := w.autos(res.Message.ConversationID); len(got) != 1 {
			t.Errorf("in hours: %q", got)
		}
	})
}

func TestNoAutomaticReplyToMachinesOrTheUnwilling(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		// A short code (a machine), and a STOP.
		if res := w.text("72345", "Your verification code is 123456"); len(w.autos(res.Message.ConversationID)) != 0 {
			t.Errorf("a short code was answered: %q", w.autos(res.Message.ConversationID))
		}
		seq++
		res, err := w.svc.Ingest(context.Background(), conversation.Inbound{Key: fmt.Sprintf("twilio:SM%d", seq), Channel: conversation.ChannelSMS,
			From: conversation.Identity{Kind: conversation.KindPhone, Address: "+14155550120"}, FromAddress: "+14155550120", To: "+18005550100",
			Body: "STOP", OptOut: conversation.OptOutStop, Provider: "twilio", ReceivedAt: w.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if got := w.autos(res.Message.ConversationID); len(got) != 0 {
			t.Errorf("STOP was answered: %q", got)
		}
		// A blocked contact's message is quiet: never answered.
		first := w.text("+14155550121", "hello there, anyone?")
		blocked := true
		if _, err := w.svc.UpdateContact(context.Background(), first.Message.ContactID, conversation.ContactPatch{Blocked: &blocked}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Update(context.Background(), first.Message.ConversationID, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Minute)
		again := w.text("+14155550121", "hello again, answer me please")
		if got := w.autos(again.Message.ConversationID); len(got) != 0 {
			t.Errorf("a blocked contact was answered: %q", got)
		}
		// Nor was the blocked contact surveyed at its close.
		if got := w.autos(first.Message.ConversationID); len(got) != 1 || !strings.HasPrefix(got[0], "ack|") {
			t.Errorf("blocked contact's closed conversation: %q", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }

// sweep runs the sweeper at the world's time.
func (w *world) sweep() int {
	w.t.Helper()
	n, err := w.svc.Sweep(context.Background(), w.raw.(conversation.TimerStore))
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func TestEscalationFiresOnceAfterTheWindowAndNeverWhenAnswered(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		waiting := w.text("+14155550130", "My card was charged twice")
		replied := w.text("+14155550131", "Where is my parcel?")
		noted := w.text("+14155550132", "Can I change my order?")
		read := w.text("+14155550133", "Do you ship to Canada?")
		assigned := w.text("+14155550134", "Is the shop open on Sunday?")
		w.advance(10 * time.Minute)
		ctx := context.Background()
		if _, _, err := w.svc.Reply(ctx, replied.Message.ConversationID, conversation.ReplyRequest{Body: "Tomorrow", Key: "k1", Agent: "ana"}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Note(ctx, noted.Message.ConversationID, "ana", "looking into it"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.MarkSeen(ctx, read.Message.ConversationID, "ana"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Update(ctx, assigned.Message.ConversationID, "lead", conversation.Patch{Assignee: ptr("ana")}, nil); err != nil {
			t.Fatal(err)
		}
		w.advance(19 * time.Minute) // 29 minutes: not yet
		w.sweep()
		if len(w.jobs) != 0 {
			t.Fatalf("escalated after 29 minutes: %+v", w.jobs)
		}
		w.advance(2 * time.Minute)
		if n := w.sweep(); n != 5 {
			t.Errorf("fired %d timers, want 5", n)
		}
		if len(w.jobs) != 1 || w.jobs[0].ConversationID != waiting.Message.ConversationID || w.jobs[0].Sink.To != "+34600000001" ||
			w.jobs[0].Reason != routing.ReasonEscalated {
			t.Fatalf("escalation jobs %+v, want one to the on-call phone for the unanswered customer", w.jobs)
		}
		// The timer redelivered (set again, swept again): the same job, which
		// the notifier sends once.
		if err := w.raw.(conversation.TimerWriter).PutTimer(ctx, conversation.Timer{Due: w.Now().Add(time.Minute), Kind: conversation.TimerEscalate,
			ConversationID: waiting.Message.ConversationID, Ref: waiting.Message.Key}); err != nil {
			t.Fatal(err)
		}
		w.advance(2 * time.Minute)
		w.sweep()
		sms := &recorder{}
		n := &notify.Notifier{Store: w.svc.Store, Deliveries: memstore.NewDeliveries(), Senders: map[string]notify.Sender{routing.SinkSMS: sms},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: w.Now}
		for _, j := range w.jobs {
			if err := n.Deliver(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
		if len(w.jobs) != 2 || w.jobs[0].ID != w.jobs[1].ID || len(sms.sent) != 1 || !strings.HasPrefix(sms.sent[0].Text, "Escalated, nobody has answered yet") {
			t.Errorf("jobs %d, sends %+v: want the same job twice, one text", len(w.jobs), sms.sent)
		}
	})
}

type recorder struct {
	mu   sync.Mutex
	sent []notify.Notification
}

func (r *recorder) Send(_ context.Context, _ routing.Sink, n notify.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, n)
	return nil
}

func TestSurveyAtCloseAndAScoreReplyThatDoesNotReopen(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		ctx := context.Background()
		res := w.text("+34600000040", "Hola, ¿cuándo llega mi pedido número 4411?")
		id := res.Message.ConversationID
		if _, _, err := w.svc.Reply(ctx, id, conversation.ReplyRequest{Body: "Mañana", Key: "k", Agent: "ana"}); err != nil {
			t.Fatal(err)
		}
		w.advance(time.Minute)
		if _, err := w.svc.Update(ctx, id, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
			t.Fatal(err)
		}
		// Closed again (a no-op), and the close's record redelivered: one survey.
		if _, err := w.svc.Update(ctx, id, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
			t.Fatal(err)
		}
		got := w.autos(id)
		if len(got) != 2 || got[1] != "csat_survey|+34600000040|¿Qué tal lo hicimos? Responde del 1 al 5." {
			t.Fatalf("automatic messages %q, want the ack and the survey in Spanish", got)
		}
		w.advance(time.Hour)
		answer := w.text("+34600000040", "4 muy rápido, gracias")
		c, err := w.svc.Store.Summary(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if answer.Message.ConversationID != id || answer.NewConversation || c.Status != conversation.StatusClosed || c.CSAT == nil ||
			c.CSAT.Score != 4 || c.CSAT.Comment != "muy rápido, gracias" || c.CSAT.Channel != conversation.ChannelSMS || c.Unread != 0 {
			t.Fatalf("after the answer: %+v csat %+v, answer on %s", c, c.CSAT, answer.Message.ConversationID)
		}
		report, err := conversation.BuildReport(ctx, w.svc.Store, []string{"support"}, "2026-12-01", "2026-12-01")
		if err != nil {
			t.Fatal(err)
		}
		if report.CSAT.Count != 1 || report.CSAT.Mean != 4 || report.CSAT.Satisfied != 1 || report.CSAT.Distribution["4"] != 1 {
			t.Errorf("report csat %+v", report.CSAT)
		}
		// A second score is a normal message: answered already.
		w.advance(time.Minute)
		second := w.text("+34600000040", "5")
		if second.Message.ConversationID == id || !second.NewConversation {
			t.Errorf("a second score landed on %s (new %v)", second.Message.ConversationID, second.NewConversation)
		}
	})
}

func TestScoreOutsideTheWindowOrNotAScoreIsAMessage(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		ctx := context.Background()
		for _, c := range []struct {
			body  string
			after time.Duration
		}{{"4", 73 * time.Hour}, {"10", time.Minute}, {"4th floor, flat B", time.Minute}, {"thanks!", time.Minute}} {
			seq++
			from := fmt.Sprintf("+1415555%04d", seq)
			res := w.text(from, "question about the order")
			id := res.Message.ConversationID
			if _, err := w.svc.Update(ctx, id, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
				t.Fatal(err)
			}
			w.advance(c.after)
			next := w.text(from, c.body)
			conv, _ := w.svc.Store.Summary(ctx, id)
			if next.Message.ConversationID == id || conv.CSAT != nil {
				t.Errorf("%q after %s: recorded as a score (%+v)", c.body, c.after, conv.CSAT)
			}
		}
	})
}

var link = regexp.MustCompile(`https://sb\.example/csat/([^?\s]+)\?score=(\d)`)

func TestSurveyLinksByEmailAreSignedAndSingleUse(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		ctx := context.Background()
		seq++
		res, err := w.svc.Ingest(ctx, conversation.Inbound{Key: fmt.Sprintf("ses:%d", seq), Channel: conversation.ChannelEmail,
			From: conversation.Identity{Kind: conversation.KindEmail, Address: "maria@example.com"}, FromAddress: "maria@example.com",
			To: "support@example.com", Subject: "Order 77", Body: "Hello, my order has not arrived yet", Provider: "ses",
			ProviderMessageID: "abc@mail.example", ReceivedAt: w.Now()})
		if err != nil {
			t.Fatal(err)
		}
		id := res.Message.ConversationID
		// Closed a minute later: at the same instant, the acknowledgement and
		// the survey would tie on the timeline, in no particular order.
		w.advance(time.Minute)
		if _, err := w.svc.Update(ctx, id, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
			t.Fatal(err)
		}
		got := w.autos(id)
		if len(got) != 2 || !strings.HasPrefix(got[1], "csat_survey|maria@example.com|How did we do?") {
			t.Fatalf("automatic messages %q", got)
		}
		links := link.FindAllStringSubmatch(got[1], -1)
		if len(links) != 5 || links[0][2] != "1" || links[4][2] != "5" {
			t.Fatalf("links %q", links)
		}
		token := links[4][1]
		h := http.NewServeMux()
		(&care.Surveys{Service: w.svc, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Register(h)
		get := func(path string) (int, string) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			return rec.Code, rec.Body.String()
		}
		forged := strings.Replace(token, token[len(token)-4:], "AAAA", 1)
		for _, c := range []struct {
			path string
			code int
			says string
		}{
			{"/csat/" + forged + "?score=5", 404, "not valid"},
			{"/csat/garbage?score=5", 404, "not valid"},
			{"/csat/" + token + "?score=9", 400, "from 1 to 5"},
			{"/csat/" + token + "?score=5", 200, "You rated us 5 out of 5"},
			{"/csat/" + url.PathEscape(token) + "?score=1", 200, "already recorded"},
		} {
			code, body := get(c.path)
			if code != c.code || !strings.Contains(body, c.says) {
				t.Errorf("GET %s: %d %s; want %d %q", c.path, code, body, c.code, c.says)
			}
		}
		conv, _ := w.svc.Store.Summary(ctx, id)
		if conv.CSAT == nil || conv.CSAT.Score != 5 || conv.CSAT.Channel != conversation.ChannelEmail || conv.Status != conversation.StatusClosed {
			t.Errorf("csat %+v status %s", conv.CSAT, conv.Status)
		}
		// Past the window: 410.
		w.advance(73 * time.Hour)
		if code, _ := get("/csat/" + token + "?score=3"); code != http.StatusGone {
			t.Errorf("an expired link: %d", code)
		}
	})
}

func TestDelayedSurveyWaitsAndSkipsAReopenedConversation(t *testing.T) {
	onEveryStore(t, func(t *testing.T, ns storetest.NewStore) {
		w := newWorld(t, ns, open)
		ctx := context.Background()
		// The "late" team surveys an hour after the close.
		kept := w.text("+14155550150", "question about my invoice please")
		reopened := w.text("+14155550151", "another invoice question for you") // reopened before the hour
		for _, r := range []conversation.Result{kept, reopened} {
			if _, err := w.svc.Update(ctx, r.Message.ConversationID, "ana", conversation.Patch{Team: ptr("late")}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := w.svc.Update(ctx, r.Message.ConversationID, "ana", conversation.Patch{Status: ptr(conversation.StatusClosed)}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.autos(kept.Message.ConversationID); len(got) != 1 {
			t.Errorf("surveyed at once: %q", got)
		}
		w.advance(20 * time.Minute)
		if _, err := w.svc.Update(ctx, reopened.Message.ConversationID, "ana", conversation.Patch{Status: ptr(conversation.StatusOpen)}, nil); err != nil {
			t.Fatal(err)
		}
		w.advance(41 * time.Minute)
		w.sweep()
		if got := w.autos(kept.Message.ConversationID); len(got) != 2 || !strings.HasPrefix(got[1], "csat_survey|+14155550150|How did we do? Reply") {
			t.Errorf("after the delay: %q", got)
		}
		if got := w.autos(reopened.Message.ConversationID); len(got) != 1 {
			t.Errorf("a reopened conversation was surveyed: %q", got)
		}
	})
}
