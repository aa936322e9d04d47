// Package phone reads phone numbers that are not in canonical E.164 — a
// national number in the deployment's region ("(415) 555-0100", "07911
// 123456"), an international one with spaces or dashes — with
// nyaruka/phonenumbers, for conversation.Normalizer's National.
//
// It is a package of its own so that only the functions where such numbers
// can arrive (the Twilio intake: messaging, voice, and the spill that
// replays them) link it: phonenumbers loads its metadata for every region at
// init, about 10 ms and 35 000 allocations, and its protobuf reflection
// keeps the binary large. The functions that only ever see E.164 (api,
// fan-out, notifier, sweeper, email, social, web chat) do without.
package phone

import (
	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard/switchboard/shared/conversation"
)

// National reads number in region (ISO 3166 alpha-2) and answers its E.164
// form, or false when it is not a possible phone number there (a short
// code, a sender name, too few digits).
func National(number, region string) (string, bool) {
	num, err := phonenumbers.Parse(number, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// Normalizer is a conversation.Normalizer that reads every form of number,
// national ones in region.
func Normalizer(region string) conversation.Normalizer {
	return conversation.Normalizer{DefaultRegion: region, National: National}
}
