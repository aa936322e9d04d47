// Package backends is what a channel's tests run on: every store
// implementation (memstore always, DynamoDB Local when it runs, which the
// README's test command makes a requirement), a wrapper that hands stored
// messages on as the table's stream would, and the check of a stored
// timeline entry. It lives outside shared/conversation so that the domain
// and its contract suite import no store.
package backends

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/conversation/storetest"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/store"
)

// Stores are the backends a channel's tests run on: memstore always, and
// DynamoDB Local (a fresh table each) when it is running.
func Stores() map[string]storetest.NewStore {
	return map[string]storetest.NewStore{
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

// ChangeConversation implements conversation.Store: the timeline entries
// and the customer's message a change adds are handed on too.
func (s Streamed) ChangeConversation(ctx context.Context, ch conversation.Change) error {
	if err := s.Store.ChangeConversation(ctx, ch); err != nil {
		return err
	}
	for _, m := range ch.Events {
		s.OnStored(m)
	}
	if ch.Message != nil {
		s.OnStored(*ch.Message)
	}
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

// Entry is what a channel's table test expects of the timeline entry an
// event stored after an original message (the one it may reply or react to).
type Entry struct {
	Body, Kind, ProviderType string
	// MediaType is the content type of the one medium expected, pending for
	// the media pipeline; "" expects none.
	MediaType         string
	ReplyTo, ReactsTo bool
}

// CheckEntry holds a timeline of exactly [original, entry] to want, the
// replyTo/reactsTo links resolved as readers see them.
func CheckEntry(t *testing.T, msgs []conversation.Message, want Entry) {
	t.Helper()
	if len(msgs) != 2 {
		t.Fatalf("stored %d messages, want the original and this one", len(msgs))
	}
	conversation.ResolveRefs(msgs)
	orig, got := msgs[0], msgs[1]
	if got.Body != want.Body || got.Kind != want.Kind || got.ProviderType != want.ProviderType {
		t.Errorf("body %q kind %q type %q; want %q %q %q", got.Body, got.Kind, got.ProviderType, want.Body, want.Kind, want.ProviderType)
	}
	if want.MediaType == "" && len(got.Media) != 0 || want.MediaType != "" &&
		(len(got.Media) != 1 || got.Media[0].ContentType != want.MediaType || got.Media[0].Status != conversation.MediaPending) {
		t.Errorf("media %+v, want one %q pending", got.Media, want.MediaType)
	}
	if (got.ReplyTo == orig.ID) != want.ReplyTo || (got.ReactsTo == orig.ID) != want.ReactsTo {
		t.Errorf("replyTo %q reactsTo %q, original %q; want reply %v react %v", got.ReplyTo, got.ReactsTo, orig.ID, want.ReplyTo, want.ReactsTo)
	}
}

// Seed adds every file matching pattern (a corpus glob) to a fuzz target's
// seed corpus.
func Seed(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files match %s (%v)", pattern, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// Messages is every timeline entry of the store's open conversations.
func Messages(t testing.TB, st conversation.Store) []conversation.Message {
	t.Helper()
	ctx := context.Background()
	cs, err := conversation.All(ctx, st, conversation.StatusOpen)
	if err != nil {
		t.Fatal(err)
	}
	var out []conversation.Message
	for _, c := range cs {
		_, msgs, err := st.Conversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msgs...)
	}
	return out
}
