package email_test

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/shared/email"
)

func TestParseSendingEvent(t *testing.T) {
	for _, tt := range []struct {
		name, raw, id, status, code string
		ok                          bool
		malformed                   bool
	}{
		{name: "delivery", raw: `{"eventType":"Delivery","mail":{"messageId":"m1"},"delivery":{"timestamp":"2026-11-22T09:05:01.900Z"}}`, id: "m1", status: "delivered", ok: true},
		{name: "permanent bounce", raw: `{"eventType":"Bounce","mail":{"messageId":"m2"},"bounce":{"bounceType":"Permanent","bouncedRecipients":[{"status":"5.1.1"}],"timestamp":"2026-11-22T09:05:02Z"}}`, id: "m2", status: "undelivered", code: "5.1.1", ok: true},
		{name: "bounce without a status", raw: `{"eventType":"Bounce","mail":{"messageId":"m3"},"bounce":{"bounceType":"Transient","bouncedRecipients":[{}]}}`, id: "m3", status: "undelivered", code: "Transient", ok: true},
		{name: "identity notification", raw: `{"notificationType":"Complaint","mail":{"messageId":"m4"},"complaint":{"timestamp":"2026-11-22T09:07:00Z"}}`, id: "m4", status: email.StatusComplained, ok: true},
		{name: "reject", raw: `{"eventType":"Reject","mail":{"messageId":"m5"},"reject":{"reason":"Bad content"}}`, id: "m5", status: "failed", code: "rejected", ok: true},
		{name: "open moves nothing", raw: `{"eventType":"Open","mail":{"messageId":"m6"}}`, id: "m6"},
		{name: "not JSON", raw: `Hello from SNS!`, malformed: true},
		{name: "no message id", raw: `{"eventType":"Delivery","mail":{}}`, malformed: true},
	} {
		id, u, ok, err := email.ParseSendingEvent([]byte(tt.raw))
		if tt.malformed {
			if !errors.Is(err, email.ErrMalformed) {
				t.Errorf("%s: err %v, want ErrMalformed", tt.name, err)
			}
			continue
		}
		if err != nil || id != tt.id || ok != tt.ok || u.Status != tt.status || u.ErrorCode != tt.code {
			t.Errorf("%s: %q %+v %v %v; want %q %s %q %v", tt.name, id, u, ok, err, tt.id, tt.status, tt.code, tt.ok)
		}
	}
}
