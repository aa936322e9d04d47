package conversation

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the namespace of an identity's address.
type Kind string

// Identity kinds. One phone identity serves SMS, WhatsApp via Twilio and
// voice, so a customer who texts and then calls is one contact.
const (
	KindPhone     Kind = "phone"
	KindEmail     Kind = "email"
	KindMessenger Kind = "messenger"
	KindInstagram Kind = "instagram"
	KindTelegram  Kind = "telegram"
	KindLINE      Kind = "line"
	KindX         Kind = "x"
	KindWeChat    Kind = "wechat"
	// KindChat is a web chat visitor the site vouched for
	// ("chat:<site>:<identifier>"); KindVisitor an anonymous one
	// ("visitor:<site>:<random id>"), whose only proof is its token.
	KindChat    Kind = "chat"
	KindVisitor Kind = "visitor"
	// KindClient is a Twilio Voice SDK caller ("client:alice").
	KindClient Kind = "client"
	// KindAddress is a sender that is not a dialable number: a short code,
	// an alphanumeric sender id, an anonymous caller.
	KindAddress Kind = "address"
)

// Identity is a normalized address on a kind of channel. Two identities link
// to the same contact automatically only when they are equal.
type Identity struct {
	Kind    Kind   `json:"channel" dynamodbav:"kind,omitempty"`
	Address string `json:"address" dynamodbav:"address,omitempty"`
}

// Key is the identity's string form, "phone:+14155550100".
func (i Identity) Key() string { return string(i.Kind) + ":" + i.Address }

// IsZero reports whether the identity is unset.
func (i Identity) IsZero() bool { return i.Address == "" }

// ErrBadAddress is returned for an address that cannot name an identity.
var ErrBadAddress = errors.New("bad address")

// Normalizer turns provider addresses into identities.
//
// Twilio and Meta send phone numbers in canonical E.164, which Phone keeps
// as they are. Any other form ("(415) 555-0100", "+44 7911 123456") is read
// by National, with DefaultRegion (ISO 3166 alpha-2, "US") for a number
// without a country code; shared/phone provides it. It is a field, not an
// import, so that the functions that never see such a number (api, fan-out,
// notifier, sweeper, email, web chat) do not link a phone library: its
// metadata is loaded at init (about 10 ms and 35 000 allocations in
// nyaruka/phonenumbers). Without National, such a number is kept as an
// address identity.
type Normalizer struct {
	DefaultRegion string
	National      func(number, region string) (e164 string, ok bool)
}

// Phone normalizes a Twilio-style address: "+14155550100",
// "whatsapp:+14155550100", "tel:…" and "sms:…" become one phone identity in
// E.164; "client:name" is a Voice SDK client; anything else that is not a
// possible phone number (short codes, alphanumeric senders, "anonymous") is
// kept, trimmed and lowercased, as an address identity of its own.
//
// A number already in canonical E.164 form (what Twilio sends) is kept as it
// is; any other form goes to National (shared/phone's costs about 9 µs and
// 38 allocations, its BenchmarkNational, so the common case skips it).
func (n Normalizer) Phone(raw string) (Identity, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return Identity{}, fmt.Errorf("%w: empty", ErrBadAddress)
	}
	if scheme, rest, ok := strings.Cut(s, ":"); ok {
		switch strings.ToLower(scheme) {
		case "whatsapp", "tel", "sms":
			s = strings.TrimSpace(rest)
		case "client":
			if rest == "" {
				return Identity{}, fmt.Errorf("%w: empty client name", ErrBadAddress)
			}
			return Identity{Kind: KindClient, Address: rest}, nil
		}
	}
	if e164, ok := n.e164(s); ok {
		return Identity{Kind: KindPhone, Address: e164}, nil
	}
	if s == "" {
		return Identity{}, fmt.Errorf("%w: empty", ErrBadAddress)
	}
	return Identity{Kind: KindAddress, Address: strings.ToLower(s)}, nil
}

func (n Normalizer) e164(s string) (string, bool) {
	if isE164(s) {
		return s, true
	}
	if n.National == nil || !strings.ContainsAny(s, "0123456789") {
		return "", false
	}
	region := n.DefaultRegion
	if region == "" {
		region = "US"
	}
	return n.National(s, region)
}

// isE164 reports whether s is "+" and 8 to 15 digits, the first not 0: the
// canonical form a phone library would format it to.
func isE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Email normalizes an email address: trimmed and lowercased.
func (n Normalizer) Email(raw string) (Identity, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	if at := strings.LastIndexByte(s, '@'); at <= 0 || at == len(s)-1 {
		return Identity{}, fmt.Errorf("%w: not an email address", ErrBadAddress)
	}
	return Identity{Kind: KindEmail, Address: s}, nil
}

// Platform namespaces a platform user id: Platform(KindTelegram, "42").
func (n Normalizer) Platform(kind Kind, id string) (Identity, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return Identity{}, fmt.Errorf("%w: empty %s id", ErrBadAddress, kind)
	}
	return Identity{Kind: kind, Address: id}, nil
}
