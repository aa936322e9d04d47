package email

import (
	"regexp"
	"strings"
	"sync"
)

// StripReply returns the new text of a reply: the text above the quoted
// history and the signature. It knows the common clients' forms:
//
//   - Gmail, Apple Mail, Thunderbird: "On <date>, <name> wrote:" (possibly
//     wrapped over up to three lines), and its French, German, Spanish,
//     Portuguese, Italian and Dutch forms;
//   - Outlook: "-----Original Message-----", a "From: … / Sent: …" header
//     block, or a line of underscores before it (Outlook on the web);
//   - a trailing block of "> " quoted lines;
//   - a signature after "-- " (RFC 3676), and "Sent from my iPhone" lines.
//
// Inline answers between quoted lines are kept: only the first quote header
// cuts. When nothing would be left (a message that is all quote), the whole
// text is returned: a body is never emptied.
func StripReply(text string) string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i := range lines {
		if quoteHeader(lines, i) {
			cut = i
			break
		}
	}
	lines = lines[:cut]
	// A trailing block of quoted lines (bottom-quoting clients without a
	// header), then blank lines.
	end := len(lines)
	for end > 0 {
		l := strings.TrimSpace(lines[end-1])
		if l == "" || strings.HasPrefix(l, ">") {
			end--
			continue
		}
		break
	}
	lines = lines[:end]
	for i, l := range lines {
		if l == "-- " || l == "--" || patterns().mobileSignature.MatchString(strings.TrimSpace(l)) {
			lines = lines[:i]
			break
		}
	}
	out := strings.TrimSpace(strings.Join(lines, "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}

// patterns are compiled on first use, not at start: compiling them costs
// about 3 ms, which every cold start of the email function would pay.
var patterns = sync.OnceValue(func() *replyPatterns {
	return &replyPatterns{
		// "On Tue, Nov 3, 2026 at 9:12 AM Ana <ana@example.com> wrote:" and
		// its translations; the line may be wrapped, so up to three are joined.
		wroteLine: regexp.MustCompile(`(?i)^((on|le|el|em|il|op)\s.{4,300}\s(wrote|a écrit|escribió|escreveu|ha scritto|schreef)\s?|am\s.{4,300}\sschrieb\s.{1,300}):$`),
		// Outlook's separator lines.
		originalMessage: regexp.MustCompile(`(?i)^-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original)\s*-{2,}$`),
		underscores:     regexp.MustCompile(`^_{20,}$`),
		headerFrom:      regexp.MustCompile(`(?i)^\*?(from|von|de|da|van)\s?:\*?\s`),
		headerSent:      regexp.MustCompile(`(?i)^\*?(sent|date|gesendet|envoyé|enviado|inviato|verzonden)\s?:\*?\s`),
		mobileSignature: regexp.MustCompile(`(?i)^(sent from my (iphone|ipad|android|mobile|galaxy|phone)|sent from (mail|outlook) for (windows|ios|android)|get outlook for (ios|android))\.?$`),
	}
})

type replyPatterns struct {
	wroteLine, originalMessage, underscores, headerFrom, headerSent, mobileSignature *regexp.Regexp
}

// quoteHeader reports whether lines[i] starts the quoted history.
func quoteHeader(lines []string, i int) bool {
	p := patterns()
	l := strings.TrimSpace(lines[i])
	if l == "" {
		return false
	}
	if p.originalMessage.MatchString(l) {
		return true
	}
	joined := l
	for k := 0; k < 3 && i+k < len(lines); k++ {
		if k > 0 {
			joined += " " + strings.TrimSpace(lines[i+k])
		}
		if p.wroteLine.MatchString(joined) {
			return true
		}
	}
	// Outlook's header block: From: … then Sent:/Date: within a few lines,
	// optionally after a line of underscores.
	if p.underscores.MatchString(l) && i+1 < len(lines) && p.headerFrom.MatchString(strings.TrimSpace(lines[i+1])) {
		return true
	}
	if p.headerFrom.MatchString(l) {
		for k := 1; k <= 4 && i+k < len(lines); k++ {
			if p.headerSent.MatchString(strings.TrimSpace(lines[i+k])) {
				return true
			}
		}
	}
	return false
}
