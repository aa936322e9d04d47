// Package email reads an inbound email — the raw RFC 5322 message Amazon SES
// stores in EMAIL_BUCKET — into Switchboard's inbound event.
//
// MIME, charsets (ISO-2022-JP, windows-1251, …), RFC 2047/2231 encoded words
// and text from HTML-only mail are github.com/jhillyerd/enmime/v2's work.
// Four things no maintained Go library does are written here: cutting the
// quoted history and signature off a reply (StripReply), telling mail a
// person wrote from mail a robot sent (Parsed.Automated), reading SES's
// Authentication-Results verdict (Parsed.Unverified), and the reply token in
// our address (ReplyAddress, Token).
package email

import (
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
)

// MaxSize is the largest message read: SES accepts up to 40 MB.
const MaxSize = 40 << 20

// MaxText bounds the body and full text kept on the message item (items stay
// well under DynamoDB's 400 KB; the raw message stays in S3).
const MaxText = 32 << 10

// ErrMalformed wraps why a message cannot be ingested: empty, unparseable,
// without a sender, too large.
var ErrMalformed = errors.New("malformed email")

// Parsed is what Switchboard reads from one email.
type Parsed struct {
	From      *mail.Address
	ReplyTo   []*mail.Address
	To, Cc    []*mail.Address
	Subject   string
	MessageID string
	InReplyTo string
	// References are the message ids of the thread, oldest first.
	References []string
	Date       time.Time
	// Text is the whole text (the text part, or text from the HTML part);
	// Reply is the new text only, quoted history and signature cut off.
	Text, Reply string
	// Automated says why no person wrote it ("" if one did); Junk is the
	// receiving service's spam or virus verdict, "" if it passed.
	Automated, Junk string
	// Unverified says why the From could not be authenticated ("" when SES
	// found DMARC passing, or with no DMARC policy an SPF or DKIM pass
	// aligned with the From domain): see authenticated.
	Unverified  string
	Attachments []Attachment
	// Warnings are what the MIME parser had to repair.
	Warnings []string
}

// Attachment is one attached or inline file; Index is its position among the
// message's attachments (Attachments then Inlines, in enmime's order), how
// the media pipeline finds it again in the raw message.
type Attachment struct {
	Index       int
	Filename    string
	ContentType string
	Size        int64
	Content     []byte
}

// parser reads a part in the charset it declares, and guesses (chardet)
// only for a part that declares none. enmime's default guesses every text
// part and may overrule the declaration, which cost 80 % of a typical 30 KB
// mail's parse (BenchmarkEmail30KB: 3.4 ms, and 0.7 ms without), and a
// guess over a declared charset is the less trustworthy of the two.
var parser = enmime.NewParser(enmime.DisableCharacterDetection(true))

// Parse reads one raw message from r (at most MaxSize bytes, streamed into
// the parser, so the message is held once).
func Parse(r io.Reader) (*Parsed, error) {
	lr := &limitReader{r: r, n: MaxSize}
	env, err := parser.ReadEnvelope(lr)
	if lr.over {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if lr.read == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	return fromEnvelope(env)
}

// Attachments returns the attachments of a raw message, as Parse numbers them
// (the media pipeline's way back to one attachment).
func Attachments(r io.Reader) ([]Attachment, error) {
	env, err := parser.ReadEnvelope(&limitReader{r: r, n: MaxSize})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return attachments(env), nil
}

func attachments(env *enmime.Envelope) []Attachment {
	var out []Attachment
	for _, p := range append(env.Attachments[:len(env.Attachments):len(env.Attachments)], env.Inlines...) {
		ct := p.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		out = append(out, Attachment{Index: len(out), Filename: cleanText(p.FileName), ContentType: cleanText(ct), Size: int64(len(p.Content)), Content: p.Content})
	}
	return out
}

func fromEnvelope(env *enmime.Envelope) (*Parsed, error) {
	p := &Parsed{
		Subject:    strings.TrimSpace(cleanText(env.GetHeader("Subject"))),
		MessageID:  msgID(env.GetHeader("Message-ID")),
		InReplyTo:  msgID(env.GetHeader("In-Reply-To")),
		References: msgIDs(env.GetHeader("References")),
	}
	from, err := env.AddressList("From")
	if h := env.GetHeader("From"); err != nil && h != "" && !utf8.ValidString(h) {
		// A display name in undeclared 8-bit text: read as cleanText does.
		from, err = mail.ParseAddressList(cleanText(h))
	}
	if err != nil || len(from) == 0 || from[0].Address == "" {
		// A Sender header names who sent it on someone's behalf; a
		// message with neither has no one to answer.
		if sender, serr := env.AddressList("Sender"); serr == nil && len(sender) > 0 {
			from, err = sender, nil
		}
	}
	if len(from) == 0 || from[0].Address == "" {
		reason := "no From address"
		if err != nil {
			reason += ": " + err.Error()
		}
		return nil, fmt.Errorf("%w: %s", ErrMalformed, reason)
	}
	p.From = from[0]
	p.From.Name = cleanText(p.From.Name)
	p.ReplyTo, _ = env.AddressList("Reply-To")
	p.To, _ = env.AddressList("To")
	p.Cc, _ = env.AddressList("Cc")
	if d, err := env.Date(); err == nil {
		p.Date = d
	}
	p.Text = strings.TrimSpace(strings.ReplaceAll(cleanText(env.Text), "\r\n", "\n"))
	p.Reply = StripReply(p.Text)
	p.Attachments = attachments(env)
	p.Automated = automated(env, p.From)
	p.Junk = junk(env)
	p.Unverified = authenticated(env.GetHeader("Authentication-Results"), p.From.Address)
	for _, e := range env.Errors {
		p.Warnings = append(p.Warnings, e.Error())
	}
	// A message with no text, subject or attachment from a real sender is
	// still a person writing (if by mistake): it is stored, not refused.
	return p, nil
}

// msgID returns the first <id> of a header, without brackets; a bare id is
// kept as it is.
func msgID(h string) string {
	ids := msgIDs(h)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

func msgIDs(h string) []string {
	var out []string
	for {
		i := strings.IndexByte(h, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(h[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(h[i+1 : i+j]); id != "" {
			out = append(out, id)
		}
		h = h[i+j+1:]
	}
	if len(out) == 0 {
		if f := strings.Fields(h); len(f) == 1 {
			out = append(out, f[0])
		}
	}
	return out
}

// Truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const mark = "\n[…truncated; the whole message is kept in S3]"
	cut := max - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

type limitReader struct {
	r    io.Reader
	n    int64
	read int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.read >= l.n {
		// One byte more tells a message of exactly n bytes from a longer one.
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			l.over = true
			return 0, errors.New("message too large")
		}
		return 0, io.EOF
	}
	if rest := l.n - l.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	k, err := l.r.Read(p)
	l.read += int64(k)
	return k, err
}

// cleanText makes what enmime left of a header or part valid UTF-8 without
// NUL bytes, as everything stored must be: a person's mail is kept, not
// refused, so bytes that are not UTF-8 (8-bit text sent without a charset,
// in practice ISO-8859-1 or windows-1252) are read as ISO-8859-1, and NULs
// are dropped. The raw message stays in S3 as it came.
func cleanText(s string) string {
	if !utf8.ValidString(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				r = rune(s[i])
			}
			b.WriteRune(r)
			i += n
		}
		s = b.String()
	}
	return strings.ReplaceAll(s, "\x00", "")
}
