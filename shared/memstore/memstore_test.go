package memstore_test

import (
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/memstore"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conversation.Store { return memstore.New(nil) })
}

func TestDeliveries(t *testing.T) {
	storetest.RunDeliveries(t, func(t *testing.T) delivery.Records { return memstore.NewDeliveries() })
}
