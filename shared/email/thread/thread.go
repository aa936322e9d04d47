// Package thread names an email conversation in addresses and message ids:
// the reply-token address ("support+cv_…@example.com") and the SES message
// id of mail we sent, found again in a reply's In-Reply-To or References.
// It is apart from package email so that senders (the notifier) do not link
// the MIME parser. Hand-written: it is a naming convention of Switchboard's.
package thread

import (
	"net/mail"
	"regexp"
	"strings"
)

// Provider is the provider name of email messages, in and out.
const Provider = "ses"

// token is a conversation id as NewID makes it.
var token = regexp.MustCompile(`^cv_[0-9a-f]{32}$`)

// Address is the address replies to conversationID go to:
// "support+cv_…@example.com" for base "support@example.com".
func Address(base, conversationID string) string {
	local, domain, ok := strings.Cut(base, "@")
	if !ok {
		return base
	}
	local, _, _ = strings.Cut(local, "+")
	return local + "+" + conversationID + "@" + domain
}

// Token returns the conversation id in a reply-token address among addrs,
// "" if there is none.
func Token(addrs ...*mail.Address) string {
	for _, a := range addrs {
		if a == nil {
			continue
		}
		local, _, ok := strings.Cut(strings.ToLower(a.Address), "@")
		if !ok {
			continue
		}
		if _, tag, ok := strings.Cut(local, "+"); ok && token.MatchString(tag) {
			return tag
		}
	}
	return ""
}

// SESMessageID returns the SES message id in a Message-ID SES assigned to mail
// we sent ("<id>@email.amazonses.com", "<id>@eu-west-1.amazonses.com"), ""
// for any other.
func SESMessageID(id string) string {
	local, domain, ok := strings.Cut(id, "@")
	if !ok || local == "" {
		return ""
	}
	domain = strings.ToLower(domain)
	if domain == "amazonses.com" || strings.HasSuffix(domain, ".amazonses.com") {
		return local
	}
	return ""
}
