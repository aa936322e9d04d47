package storetest

import (
	"context"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/store"
)

// Stores are the backends a channel's tests run on: memstore always, and
// DynamoDB Local (a fresh table each) when it is running — which the
// README's test command makes a requirement.
func Stores() map[string]NewStore {
	return map[string]NewStore{
		"memstore": func(t *testing.T) conversation.Store { return memstore.New(nil) },
		"dynamodb": func(t *testing.T) conversation.Store {
			db := localaws.DynamoDB(t)
			return store.New(db, localaws.Table(t, db))
		},
	}
}

// Streamed hands every message the wrapped store stores to OnStored, as the
// table's stream hands it to the fan-out function: tests see the summary
// and notifications the stream would produce, on any backend.
type Streamed struct {
	conversation.Store
	OnStored func(conversation.Message)
}

// PutMessage implements conversation.Store.
func (s Streamed) PutMessage(ctx context.Context, m conversation.Message) error {
	if err := s.Store.PutMessage(ctx, m); err != nil {
		return err
	}
	s.OnStored(m)
	return nil
}

// OpenConversation implements conversation.Store.
func (s Streamed) OpenConversation(ctx context.Context, o conversation.Open) error {
	if err := s.Store.OpenConversation(ctx, o); err != nil {
		return err
	}
	s.OnStored(o.Message)
	return nil
}
