package email

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/switchboard/switchboard/shared/email/thread"
)

func parseFile(t *testing.T, path string) *Parsed {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

const cv = "cv_019aa1b2c3d4e5f60718293a4b5c6d7e"

// TestReplies: each common client's reply keeps only the new text; the whole
// text is kept too.
func TestReplies(t *testing.T) {
	for _, tc := range []struct{ file, reply, quoted string }{
		{"first.eml", "Hi, my order #1234 hasn't arrived. Can you check?\n\nAna", ""},
		{"gmail_reply.eml", "It's order 1234, placed on the 2nd.", "> Thanks, we got your message"},
		{"outlook_reply.eml", "Yes, please resend the invoice to accounts@contoso.com.\n\nThanks,\nBob", "Sent: Sunday"},
		{"outlook_original.eml", "Still locked out.", "-----Original Message-----"},
		{"apple_reply.eml", "Perfect, thank you!", "> Thanks, we got your message."},
	} {
		p := parseFile(t, filepath.Join("testdata", tc.file))
		if p.Reply != tc.reply {
			t.Errorf("%s: reply = %q, want %q", tc.file, p.Reply, tc.reply)
		}
		if !strings.Contains(p.Text, tc.quoted) {
			t.Errorf("%s: full text lost %q: %q", tc.file, tc.quoted, p.Text)
		}
		if p.Automated != "" || p.Junk != "" {
			t.Errorf("%s: automated %q junk %q, want a person's mail", tc.file, p.Automated, p.Junk)
		}
	}
}

func TestStripReplyForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Merci !\n\nLe dim. 22 nov. 2026 à 09:01, Support <s@example.com> a écrit :\n> Bonjour", "Merci !"},
		{"Danke\n\nAm 22.11.2026 um 09:01 schrieb Support <s@example.com>:\n> Hallo", "Danke"},
		{"ok\n\n________________________________\nFrom: Support <s@example.com>\nSent: Sunday", "ok"},
		{"see below\n\n> old line\n> old line 2\n", "see below"},
		{"answer one\n> question one\nanswer two\n> question two", "answer one\n> question one\nanswer two"},
		{"thanks\n-- \nAna García\nACME", "thanks"},
		{"> only a quote\n> nothing new", "> only a quote\n> nothing new"},
		{"On my way to the store I wrote: a list\nmilk", "On my way to the store I wrote: a list\nmilk"},
	} {
		if got := StripReply(tc.in); got != tc.want {
			t.Errorf("StripReply(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestCharsetsAndEncodedWords: ISO-2022-JP and windows-1251 bodies, RFC 2047
// names and subjects, an RFC 2231 file name, all UTF-8 after parsing.
func TestCharsetsAndEncodedWords(t *testing.T) {
	jp := parseFile(t, "testdata/iso2022jp.eml")
	if jp.Subject != "注文について" || jp.From.Name != "山田太郎" || jp.Reply != "こんにちは。注文がまだ届いていません。" {
		t.Errorf("ISO-2022-JP: subject %q from %q reply %q", jp.Subject, jp.From.Name, jp.Reply)
	}
	ru := parseFile(t, "testdata/windows1251.eml")
	if ru.Subject != "Посылка" || ru.From.Name != "Иван Петров" || ru.Reply != "Здравствуйте! Посылка не пришла." {
		t.Errorf("windows-1251: subject %q from %q reply %q", ru.Subject, ru.From.Name, ru.Reply)
	}
	if len(ru.Attachments) != 1 || ru.Attachments[0].Filename != "счет.pdf" || ru.Attachments[0].ContentType != "application/pdf" ||
		!bytes.HasPrefix(ru.Attachments[0].Content, []byte("%PDF")) {
		t.Errorf("attachment = %+v", ru.Attachments)
	}
	gm := parseFile(t, "testdata/gmail_reply.eml")
	if gm.From.Name != "Ana García" || gm.MessageID != "CAReply.2@mail.gmail.com" ||
		gm.InReplyTo != "0100019aa1b2c3d4-ack-000000@email.amazonses.com" || len(gm.References) != 2 {
		t.Errorf("headers: from %q id %q in-reply-to %q refs %q", gm.From.Name, gm.MessageID, gm.InReplyTo, gm.References)
	}
	if thread.Token(gm.To...) != cv {
		t.Errorf("token = %q, want %q", thread.Token(gm.To...), cv)
	}
}

// TestAutomatedAndJunk: what robots send is told apart, and only SES's own
// (topmost) verdict header counts.
func TestAutomatedAndJunk(t *testing.T) {
	for _, tc := range []struct{ file, automated, junk string }{
		{"out_of_office.eml", "auto-submitted: auto-replied", ""},
		{"exchange_ooo.eml", "x-auto-response-suppress", ""},
		{"spam.eml", "", "x-ses-spam-verdict: FAIL"},
		{"forged_verdict.eml", "", ""},
		{"../../../../shared/corpus/email/enmime-simple_dsn.eml", "delivery status notification", ""},
		{"../../../../shared/corpus/ses/real-mozilla-relay/russian_spam_incoming.email", "precedence: bulk", ""},
	} {
		p := parseFile(t, filepath.Join("testdata", tc.file))
		if p.Automated != tc.automated || p.Junk != tc.junk {
			t.Errorf("%s: automated %q junk %q, want %q %q", tc.file, p.Automated, p.Junk, tc.automated, tc.junk)
		}
	}
}

// TestCorpus parses every real message in ../shared/corpus: each is read, or
// refused with ErrMalformed, and never panics; some are checked closely.
func TestCorpus(t *testing.T) {
	var files []string
	for _, g := range []string{"../../../shared/corpus/email/*.eml", "../../../shared/corpus/ses/real-mozilla-relay/*.email",
		"../../../shared/corpus/ses/*.eml"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 15 {
		t.Fatalf("corpus: %d files; is ../shared beside the repository?", len(files))
	}
	got := map[string]*Parsed{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(bytes.NewReader(raw))
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", f, err)
		}
		got[filepath.Base(f)] = p
	}
	// SNS bodies carry the message as "content".
	sns, _ := filepath.Glob("../../../shared/corpus/ses/real-mozilla-relay/*_sns_body.json")
	for _, f := range sns {
		var outer struct{ Message string }
		raw, _ := os.ReadFile(f)
		if json.Unmarshal(raw, &outer) != nil {
			continue
		}
		var inner struct{ Content string }
		if json.Unmarshal([]byte(outer.Message), &inner) != nil || inner.Content == "" {
			continue
		}
		p, err := Parse(strings.NewReader(inner.Content))
		if err != nil {
			t.Errorf("%s content: %v", f, err)
			continue
		}
		if p.From == nil || p.MessageID == "" {
			t.Errorf("%s content: from %v id %q", f, p.From, p.MessageID)
		}
		got[filepath.Base(f)] = p
	}
	check := func(name string, ok func(p *Parsed) bool) {
		t.Helper()
		p := got[name]
		if p == nil || !ok(p) {
			t.Errorf("%s: %+v", name, p)
		}
	}
	check("plain_text_incoming.email", func(p *Parsed) bool {
		return p.Reply == "This is a text-only email.\nSee https://text.example.com" && p.From.Address == "root@server.example.com"
	})
	check("enmime-html-only-inline.eml", func(p *Parsed) bool { return p.Text != "" && len(p.Attachments) == 1 })
	check("enmime-qp-utf8-header.eml", func(p *Parsed) bool { return p.Subject == "MIME UTF8 Test ¢ More Text" })
	check("enmime-attachment.eml", func(p *Parsed) bool { return len(p.Attachments) == 1 && p.Attachments[0].Filename == "test.html" })
	check("official-sns-action-notification-utf8.eml", func(p *Parsed) bool { return p.From != nil && p.Junk == "" })
	check("replies_email_sns_body.json", func(p *Parsed) bool { return p.Reply != "" && p.Junk == "" })
}

func TestBadInput(t *testing.T) {
	for name, raw := range map[string]string{
		"empty":   "",
		"no from": string(must(os.ReadFile("testdata/no_from.eml"))),
	} {
		if _, err := Parse(strings.NewReader(raw)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// TestTooLarge: a message over MaxSize is refused without reading it all.
func TestTooLarge(t *testing.T) {
	head := "From: a@example.com\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\n"
	r := &endless{head: head}
	_, err := Parse(r)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
	if r.n > MaxSize+64<<10 {
		t.Errorf("read %d bytes of an endless message", r.n)
	}
}

type endless struct {
	head string
	n    int
}

func (e *endless) Read(p []byte) (int, error) {
	k := 0
	for k < len(p) {
		if e.n < len(e.head) {
			p[k] = e.head[e.n]
		} else if (e.n-len(e.head))%80 == 79 {
			p[k] = '\n'
		} else {
			p[k] = 'x'
		}
		k++
		e.n++
	}
	return k, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSenderAuthentication holds the reading of SES's Authentication-Results
// (RFC 8601; SES's own header is the first, as in the corpus's SES sample).
func TestSenderAuthentication(t *testing.T) {
	corpusEML := string(must(os.ReadFile("../../../shared/corpus/ses/official-sns-action-message-base64.decoded-content.eml")))
	env, err := enmime.ReadEnvelope(strings.NewReader(corpusEML))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, header, from string
		verified           bool
	}{
		// SES's documented sample: no DMARC policy, SPF and DKIM pass for amazonses.com, From example.com.
		{"SES sample, nothing aligned", env.GetHeader("Authentication-Results"), "sender@example.com", false},
		{"DMARC pass", "amazonses.com; spf=pass envelope-from=a@example.com; dkim=pass header.i=@example.com; dmarc=pass header.from=example.com;", "a@example.com", true},
		{"no policy, SPF aligned", "amazonses.com; spf=pass (x) client-ip=192.0.2.1; envelope-from=bounce@mail.example.com; dkim=none; dmarc=none header.from=example.com;", "a@example.com", true},
		{"no policy, DKIM aligned", "amazonses.com; spf=fail envelope-from=x@other.example; dkim=pass header.i=@example.com; dmarc=none header.from=example.com;", "a@example.com", true},
		{"no policy, SPF pass for another domain", "amazonses.com; spf=pass envelope-from=x@other.example; dkim=none; dmarc=none header.from=example.com;", "a@example.com", false},
		{"DMARC fail despite SPF pass", "amazonses.com; spf=pass envelope-from=a@example.com; dkim=fail; dmarc=fail header.from=example.com;", "a@example.com", false},
		{"not SES's header", "mx.google.com; dmarc=pass header.from=example.com", "a@example.com", false},
		{"no header", "", "a@example.com", false},
	} {
		if got := authenticated(c.header, c.from) == ""; got != c.verified {
			t.Errorf("%s: verified = %v, want %v (%s)", c.name, got, c.verified, authenticated(c.header, c.from))
		}
	}
}

// TestUnverifiedSenderNeverThreads: a forged From with a reply token and
// references (forged_sender.eml, DMARC failing) is flagged and names no
// thread; the same reply from the authenticated sender (gmail_reply.eml)
// threads by its token.
func TestUnverifiedSenderNeverThreads(t *testing.T) {
	in := &Intake{Address: "support@example.com"}
	for file, verified := range map[string]bool{"forged_sender.eml": false, "gmail_reply.eml": true} {
		p, err := Parse(strings.NewReader(string(must(os.ReadFile("testdata/" + file)))))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := in.Inbound(context.Background(), p, "s3://b/"+file, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ev.UnverifiedSender == verified || (ev.Thread != "") != verified {
			t.Errorf("%s: unverified %v thread %q; want verified %v", file, ev.UnverifiedSender, ev.Thread, verified)
		}
	}
}

// TestEmptyMailIsAMessage: a real sender's mail with no subject, text or
// attachment is what a person sent, if by mistake: stored, readable.
func TestEmptyMailIsAMessage(t *testing.T) {
	p, err := Parse(strings.NewReader("From: a@example.com\r\nMessage-ID: <e@example.com>\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := (&Intake{}).Inbound(context.Background(), p, "s3://b/k", time.Now())
	if err != nil || ev.Body != "[empty email]" || ev.Validate() != nil {
		t.Errorf("empty mail: %+v, %v", ev, err)
	}
}

// TestUndeclaredEightBitIsKept: a subject in raw ISO-8859-1 and a body with
// stray bytes and a NUL are a person's mail: kept, as valid text.
func TestUndeclaredEightBitIsKept(t *testing.T) {
	p, err := Parse(strings.NewReader("From: Jos\xe9 <a@example.com>\r\nSubject: caf\xe9\r\nMessage-ID: <x@y>\r\n\r\nbody \xff end\x00\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	ev, err := (&Intake{}).Inbound(context.Background(), p, "s3://b/k", time.Now())
	if err != nil || ev.Validate() != nil || ev.Subject != "café" || ev.Body != "body ÿ end" || ev.ProfileName != "José" {
		t.Errorf("%q %q %q: %v %v", ev.Subject, ev.Body, ev.ProfileName, err, ev.Validate())
	}
}
