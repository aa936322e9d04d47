package email

import (
	"net/mail"
	"strings"

	"github.com/jhillyerd/enmime/v2"
)

// automated says why no person wrote the message, "" if one did. Such mail
// is recorded on the timeline and never acknowledged or notified, so that
// Switchboard never answers an auto-responder (RFC 3834 section 2):
//
//   - Auto-Submitted other than "no" (RFC 3834: auto-replied, auto-generated);
//   - Precedence: bulk, junk or list;
//   - X-Auto-Response-Suppress (Exchange marks its own automatic mail with
//     it), X-Autoreply, X-Autorespond;
//   - List-Id or List-Unsubscribe (a mailing list);
//   - a delivery status notification (multipart/report) or mail from
//     MAILER-DAEMON or postmaster, or with an empty Return-Path.
func automated(env *enmime.Envelope, from *mail.Address) string {
	if v := strings.ToLower(strings.TrimSpace(env.GetHeader("Auto-Submitted"))); v != "" && v != "no" {
		return "auto-submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(env.GetHeader("Precedence"))); v {
	case "bulk", "junk", "list":
		return "precedence: " + v
	}
	for _, h := range []string{"X-Auto-Response-Suppress", "X-Autoreply", "X-Autorespond"} {
		if env.GetHeader(h) != "" {
			return strings.ToLower(h)
		}
	}
	for _, h := range []string{"List-Id", "List-Unsubscribe"} {
		if env.GetHeader(h) != "" {
			return "mailing list"
		}
	}
	if env.Root != nil && strings.EqualFold(env.Root.ContentType, "multipart/report") {
		return "delivery status notification"
	}
	local, _, _ := strings.Cut(strings.ToLower(from.Address), "@")
	if local == "mailer-daemon" || local == "postmaster" {
		return "from " + local
	}
	if rp := env.GetHeader("Return-Path"); strings.TrimSpace(rp) == "<>" {
		return "empty return path"
	}
	return ""
}

// junk returns the receiving service's verdict when it failed the message:
// SES adds X-SES-Spam-Verdict and X-SES-Virus-Verdict above every header it
// received (when the receipt rule scans), so the first occurrence is SES's
// own; a sender's forged copy further down is not read.
func junk(env *enmime.Envelope) string {
	for _, h := range []string{"X-SES-Virus-Verdict", "X-SES-Spam-Verdict"} {
		if v := strings.ToUpper(strings.TrimSpace(env.GetHeader(h))); v == "FAIL" {
			return strings.ToLower(h) + ": FAIL"
		}
	}
	return ""
}
