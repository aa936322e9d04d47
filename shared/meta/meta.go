// Package meta receives Meta's webhooks for Messenger (object "page"),
// Instagram ("instagram") and the WhatsApp Cloud API
// ("whatsapp_business_account"): the subscription handshake, the
// X-Hub-Signature-256 check on the raw body, and the batches of messages,
// echoes, delivery and read receipts and WhatsApp statuses they carry.
//
// The signature is HMAC-SHA256 of the raw body with the app secret, hex,
// prefixed "sha256=", compared with hmac.Equal. No maintained Go library
// does only this (Meta's own SDKs are for other languages), so it is
// hand-written here, over the bytes as received: re-encoded JSON never
// decides.
//
// See https://developers.facebook.com/docs/graph-api/webhooks/getting-started
// and the Messenger and WhatsApp webhook references.
package meta

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Routes of the Meta webhook (DESIGN.md section 6).
const Path = "/webhooks/meta"

// Verify reports whether header (X-Hub-Signature-256) is the signature of
// body under appSecret.
func Verify(appSecret string, body []byte, header string) bool {
	if appSecret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// Sign returns the X-Hub-Signature-256 value for body, for tests and the
// signing helper.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
