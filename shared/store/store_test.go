package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

func TestContract(t *testing.T) {
	db := localaws.DynamoDB(t)
	storetest.Run(t, func(t *testing.T) conversation.Store {
		return store.New(db, localaws.Table(t, db))
	})
}

func TestDeliveries(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	n := 0
	storetest.RunDeliveries(t, func(t *testing.T) delivery.Records {
		n++ // each case its own ids on the shared table
		return prefixed{store.New(db, table), fmt.Sprint("case", n, "-")}
	})
}

// prefixed keeps cases apart on one table.
type prefixed struct {
	*store.Store
	p string
}

func (p prefixed) Claim(ctx context.Context, id string, now time.Time, lease time.Duration) (delivery.Claim, error) {
	return p.Store.Claim(ctx, p.p+id, now, lease)
}

func (p prefixed) Finish(ctx context.Context, id, state, reason string, at time.Time) error {
	return p.Store.Finish(ctx, p.p+id, state, reason, at)
}
