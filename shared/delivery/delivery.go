// Package delivery is the record that makes a notification go out once: a
// consumer claims a job before sending it and records the outcome after.
// The stores implement Records (shared/store on the table, shared/memstore
// in memory) and pass one contract (conversation/storetest.RunDeliveries).
// It depends on nothing but uuid, so the stores do not pull in the senders.
package delivery

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// replyNamespace makes send job ids: UUIDv5 of the message id (DESIGN.md
// section 6), usable as a provider's retry key.
var replyNamespace = uuid.MustParse("6f1c1b4e-2b8c-4d53-9a0e-5b0c6f7a3d21")

// SendJobID is the id of the job that sends an agent's reply or callback
// (message id): its delivery record's, and the key a provider dedupes by.
func SendJobID(messageID string) string {
	return uuid.NewSHA1(replyNamespace, []byte(messageID)).String()
}

// States of a delivery.
const (
	Sending = "sending"
	Retry   = "retry"
	Sent    = "sent"
	Failed  = "failed"
	Skipped = "skipped"
)

// Claim is the outcome of claiming a delivery.
type Claim struct {
	// OK: this caller may send, until the lease ends.
	OK bool
	// State is the delivery's state when OK is false: Sent, Failed or
	// Skipped (done), or Sending (another consumer holds a live lease).
	State string
}

// Records records deliveries.
type Records interface {
	// Claim takes job id for sending until now+lease, if it was never
	// claimed, was released for retry, or its lease ran out.
	Claim(ctx context.Context, id string, now time.Time, lease time.Duration) (Claim, error)
	// Finish records the outcome: Sent, Failed (with the reason) or Skipped;
	// or Retry, which releases the claim at once.
	Finish(ctx context.Context, id, state, reason string, at time.Time) error
}

// Retention is how long a delivery record is kept (the table's TTL removes
// it after): longer than any redelivery can come.
const Retention = 14 * 24 * time.Hour
