package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

// items returns every item of the table whose PK starts with prefix.
func items(t *testing.T, db *dynamodb.Client, table, prefix string) []map[string]types.AttributeValue {
	t.Helper()
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table, ConsistentRead: new(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if pk, ok := it["PK"].(*types.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, prefix) {
				out = append(out, it)
			}
		}
	}
	return out
}

// opening is a store on a table of its own, and a service on it.
func opening(t *testing.T) (*dynamodb.Client, string, *store.Store, *conversation.Service) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	st := store.New(db, table)
	return db, table, st, &conversation.Service{Store: st, Team: "support"}
}

// TestNewCustomersFirstMessagesRace: a new customer's first messages, each
// delivered three times, all at once. The ordered writes of a new
// customer's opening (not a transaction) must still end in one contact and
// one conversation holding every message once, with nothing left of the
// losers' attempts; the first projection keeps the contact (no expiry) and
// clears the opening mark.
func TestNewCustomersFirstMessagesRace(t *testing.T) {
	db, table, st, svc := opening(t)
	n := conversation.Normalizer{DefaultRegion: "US"}
	ctx := context.Background()
	const messages, copies = 6, 3
	var wg sync.WaitGroup
	results := make(chan conversation.Result, messages*copies)
	for i := range messages * copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := svc.Ingest(ctx, smsFrom(n, fmt.Sprintf("SMrace%d", i%messages), "+14155550777"))
			if err != nil {
				t.Error(err)
				return
			}
			results <- res
		}()
	}
	wg.Wait()
	close(results)
	stored, convs := 0, map[string]bool{}
	for res := range results {
		convs[res.Message.ConversationID] = true
		if !res.Duplicate {
			stored++
			if _, err := svc.Project(ctx, res.Message); err != nil {
				t.Fatal(err)
			}
		}
	}
	if stored != messages || len(convs) != 1 {
		t.Fatalf("%d stored (want %d), on %d conversations (want 1)", stored, messages, len(convs))
	}
	if got := items(t, db, table, "CONTACT#"); len(got) != 1 {
		t.Fatalf("%d contacts in the table, want 1", len(got))
	}
	if got := items(t, db, table, "CONV#"); len(got) != 1 {
		t.Fatalf("%d conversations in the table, want 1", len(got))
	} else if _, marked := got[0]["opening"]; marked {
		t.Error("the conversation keeps its opening mark after projection")
	}
	if got := items(t, db, table, "CONTACT#")[0]; got[store.TTLAttribute] != nil {
		t.Errorf("the contact still expires after its first message was projected: %v", got[store.TTLAttribute])
	}
	var id string
	for id = range convs {
	}
	_, msgs, err := st.Conversation(ctx, id)
	if err != nil || len(msgs) != messages {
		t.Fatalf("timeline: %d messages, %v; want %d", len(msgs), err, messages)
	}
	cs, err := conversation.All(ctx, st, conversation.StatusOpen)
	if err != nil || len(cs) != 1 || cs[0].ID != id {
		t.Fatalf("inbox: %v, %v", cs, err)
	}
}

// TestNewCustomersMessageStoredBefore: a first message whose key is already
// stored (kept after its contact was erased, or on a conversation closed
// since) is a duplicate, and nothing of the opening is left.
func TestNewCustomersMessageStoredBefore(t *testing.T) {
	db, table, st, svc := opening(t)
	n := conversation.Normalizer{DefaultRegion: "US"}
	ctx := context.Background()
	first, err := svc.Ingest(ctx, smsFrom(n, "SMkept", "+14155550778"))
	if err != nil {
		t.Fatal(err)
	}
	// The same event from another identity, so the route finds no one.
	res, err := svc.Ingest(ctx, smsFrom(n, "SMkept", "+14155550779"))
	if err != nil || !res.Duplicate {
		t.Fatalf("%+v, %v; want a duplicate", res, err)
	}
	if got := items(t, db, table, "CONTACT#"); len(got) != 1 {
		t.Errorf("%d contacts, want the first one's alone", len(got))
	}
	if got := items(t, db, table, "CONV#"); len(got) != 1 {
		t.Errorf("%d conversations, want the first one's alone", len(got))
	}
	if got := items(t, db, table, "IDENT#phone:+14155550779"); len(got) != 0 {
		t.Errorf("the duplicate's identity was written: %v", got)
	}
	if m, err := st.Message(ctx, first.Message.ConversationID, first.Message.Key); err != nil || m.From != "+14155550778" {
		t.Errorf("the stored message changed: %+v, %v", m, err)
	}
}

// failingIdentity fails the put of an identity item: after applying it
// (a timeout once DynamoDB committed) or instead.
type failingIdentity struct {
	store.API
	applied bool
	failed  int
}

func (f *failingIdentity) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	pk, _ := in.Item["PK"].(*types.AttributeValueMemberS)
	if pk == nil || !strings.HasPrefix(pk.Value, "IDENT#") || f.failed > 0 {
		return f.API.PutItem(ctx, in, opts...)
	}
	f.failed++
	if f.applied {
		if _, err := f.API.PutItem(ctx, in, opts...); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("connection reset")
}

// TestNewCustomersIdentityPutFails: the commit's outcome unknown. Applied,
// the opening goes on and the message is stored; not applied, the request
// fails and what it put is gone, so the retry starts clean.
func TestNewCustomersIdentityPutFails(t *testing.T) {
	db := localaws.DynamoDB(t)
	n := conversation.Normalizer{DefaultRegion: "US"}
	ctx := context.Background()
	for _, applied := range []bool{true, false} {
		t.Run(fmt.Sprint("applied=", applied), func(t *testing.T) {
			table := localaws.Table(t, db)
			api := &failingIdentity{API: db, applied: applied}
			svc := &conversation.Service{Store: store.New(api, table), Team: "support"}
			res, err := svc.Ingest(ctx, smsFrom(n, "SMflaky", "+14155550780"))
			if applied {
				if err != nil || !res.NewConversation {
					t.Fatalf("%+v, %v; want the conversation opened", res, err)
				}
			} else {
				if err == nil {
					t.Fatalf("%+v: want an error", res)
				}
				if c, v := items(t, db, table, "CONTACT#"), items(t, db, table, "CONV#"); len(c)+len(v) != 0 {
					t.Fatalf("left behind: %d contacts, %d conversations", len(c), len(v))
				}
				if res, err = svc.Ingest(ctx, smsFrom(n, "SMflaky", "+14155550780")); err != nil || !res.NewConversation {
					t.Fatalf("retry: %+v, %v", res, err)
				}
			}
			if c, v, m := items(t, db, table, "CONTACT#"), items(t, db, table, "CONV#"), items(t, db, table, "MSG#"); len(c) != 1 || len(v) != 1 || len(m) != 1 {
				t.Fatalf("%d contacts, %d conversations, %d messages; want one each", len(c), len(v), len(m))
			}
		})
	}
}
