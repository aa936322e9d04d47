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

// sesAuthServ is the authserv-id of the Authentication-Results header SES
// adds on receipt (RFC 8601), above every header it received.
const sesAuthServ = "amazonses.com"

// authenticated reads SES's Authentication-Results header (the first one:
// SES prepends its own, so a sender's forged copy is further down) and says
// why the From address at fromAddr is not authenticated, "" when it is:
// DMARC passed, or, for a domain without a DMARC policy (dmarc=none), SPF
// passed for an envelope sender aligned with the From domain or DKIM passed
// for a signing domain aligned with it (relaxed alignment, RFC 7489 section
// 3.1: the same domain, or one a subdomain of the other). Mail without
// SES's header — not received through SES — is not authenticated.
func authenticated(header, fromAddr string) string {
	_, fromDomain, _ := strings.Cut(strings.ToLower(fromAddr), "@")
	parts := strings.Split(header, ";")
	if strings.ToLower(strings.TrimSpace(parts[0])) != sesAuthServ {
		return "no authentication verdict from SES"
	}
	results := map[string]string{} // method → result (the first of each)
	aligned := map[string]bool{}   // method → a pass aligned with From
	method, result := "", ""
	for _, part := range parts[1:] {
		fields := strings.Fields(strings.ToLower(part))
		if len(fields) == 0 {
			continue
		}
		k, v, ok := strings.Cut(fields[0], "=")
		if ok && authMethods[k] {
			method, result = k, v
			if _, seen := results[method]; !seen {
				results[method] = result
			}
			fields = fields[1:]
		}
		// SES separates a method's properties with ";" as well
		// ("spf=pass (…) client-ip=…; envelope-from=…;"): a part that names
		// no method continues the one before.
		if result != "pass" {
			continue
		}
		for _, prop := range fields {
			k, v, ok := strings.Cut(prop, "=")
			if !ok {
				continue
			}
			switch k {
			case "smtp.mailfrom", "envelope-from", "header.i", "header.d":
				_, d, found := strings.Cut(v, "@")
				if !found {
					d = v
				}
				if alignedDomains(strings.TrimRight(d, ";,>"), fromDomain) {
					aligned[method] = true
				}
			}
		}
	}
	switch dmarc := results["dmarc"]; {
	case dmarc == "pass":
		return ""
	case dmarc != "none" && dmarc != "":
		return "dmarc=" + dmarc
	case aligned["spf"] || aligned["dkim"]:
		return ""
	}
	return "no DMARC policy, and no SPF or DKIM pass aligned with the From domain"
}

// authMethods are the RFC 8601 methods a verdict can name.
var authMethods = map[string]bool{"spf": true, "dkim": true, "dmarc": true, "arc": true, "auth": true,
	"iprev": true, "sender-id": true, "domainkeys": true, "bimi": true, "dkim-adsp": true, "x-dkim": true}

// alignedDomains: the same domain, or one a subdomain of the other.
func alignedDomains(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}
