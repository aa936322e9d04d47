package memstore_test

import (
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/memstore"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conversation.Store { return memstore.New(nil) })
}
