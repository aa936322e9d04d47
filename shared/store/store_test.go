package store_test

import (
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

func TestContract(t *testing.T) {
	db := localaws.DynamoDB(t)
	storetest.Run(t, func(t *testing.T) conversation.Store {
		return store.New(db, localaws.Table(t, db))
	})
}
