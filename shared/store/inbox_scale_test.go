package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

// scale is how many conversations TestInboxAtScale seeds: 10 000 in the
// full run (SWITCHBOARD_SCALE, set by scripts/test.sh --full), 2 000 else.
func scale(t *testing.T) int {
	if v := os.Getenv("SWITCHBOARD_SCALE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("SWITCHBOARD_SCALE=%q", v)
		}
		return n
	}
	return 2000
}

// TestInboxAtScale lists the inbox of a table holding N conversations (a
// tenth of them closed) across 3 teams and 2 assignees plus the unassigned,
// while a writer keeps moving conversations to the top by projecting
// messages onto them: following next reaches every conversation that was
// open at the start at least once, none twice within a page, each page
// newest first; so does each filtered listing for its matches. It prints
// the DynamoDB calls per page and the read units per listed conversation,
// measured by SDK middleware on the listing's own client.
func TestInboxAtScale(t *testing.T) {
	n := scale(t)
	m := &meter{}
	m.reset()
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	writer := store.New(db, table)
	ctx := context.Background()

	teams, agents := []string{"sales", "support", "billing"}, []string{"", "ana", "ben"}
	channels := []conversation.Channel{conversation.ChannelSMS, conversation.ChannelWhatsApp, conversation.ChannelEmail}
	all := make([]conversation.Conversation, n)
	base := time.Now().Add(-24 * time.Hour)
	for i := range all {
		at := base.Add(time.Duration(i) * 24 * time.Hour / time.Duration(n))
		c := conversation.Conversation{
			ID: fmt.Sprintf("cv_scale%06d", i), ContactID: fmt.Sprintf("ct_scale%06d", i), Status: conversation.StatusOpen,
			Team: teams[i%3], Assignee: agents[(i/3)%3], Channels: []conversation.Channel{channels[i%len(channels)]},
			CreatedAt: at, LastMessageAt: at, ActiveAt: at, LastPreview: "hello", Unread: 1, Version: 1,
		}
		if i%10 == 9 {
			c.Status = conversation.StatusClosed
		}
		all[i] = c
	}
	seedStart := time.Now()
	seed(t, db, table, all)
	t.Logf("seeded %d conversations in %v", n, time.Since(seedStart).Round(time.Millisecond))

	// The writer: a message onto a random open conversation every 2 ms.
	stop := make(chan struct{})
	var moves atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for k := 0; ; k++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			c := all[rng.IntN(n)]
			if c.Status != conversation.StatusOpen {
				continue
			}
			now := time.Now()
			msg := conversation.Message{ID: fmt.Sprint("msg_w", k), Key: fmt.Sprint("w:", k), ConversationID: c.ID, ContactID: c.ContactID,
				Channel: conversation.ChannelSMS, Direction: conversation.DirectionInbound, Body: "more", CreatedAt: now, ReceivedAt: now, Seq: now.UnixNano()}
			if _, err := writer.Project(ctx, msg, time.Minute, now); err != nil {
				t.Error(err)
				return
			}
			moves.Add(1)
		}
	}()

	reader := store.New(localaws.DynamoDB(t, m.option), table) // only the listing's calls are metered
	svc := &conversation.Service{}
	for _, f := range []conversation.InboxFilter{
		{Status: conversation.StatusOpen},
		{Status: conversation.StatusOpen, Team: "sales"},
		{Status: conversation.StatusOpen, Assignee: "ana"},
		{Status: conversation.StatusOpen, Team: "billing", Unassigned: true},
	} {
		want := map[string]bool{}
		for _, c := range all {
			if f.Match(c) {
				want[c.ID] = true
			}
		}
		m.reset()
		moves.Store(0)
		began := time.Now()
		listed := map[string]int{}
		pages, rows := 0, 0
		var cur conversation.InboxCursor
		for {
			calls := m.total()
			p, err := svc.Inbox(ctx, reader, f, cur, 100)
			if err != nil {
				t.Fatal(err)
			}
			if c := m.total() - calls; c > 2 {
				t.Errorf("page %d took %d DynamoDB calls", pages, c)
			}
			pages++
			onPage := map[string]bool{}
			for i, c := range p.Conversations {
				if onPage[c.ID] {
					t.Fatalf("%s twice on page %d", c.ID, pages)
				}
				onPage[c.ID] = true
				if i > 0 && c.ActivityKey() >= p.Conversations[i-1].ActivityKey() {
					t.Fatalf("page %d not newest first at %d", pages, i)
				}
				if !f.Match(c) {
					t.Fatalf("%+v listed for %+v", c, f)
				}
				listed[c.ID]++
				rows++
			}
			if p.Next == nil {
				break
			}
			if pages > 10*n/100+50 {
				t.Fatalf("%+v: %d pages and no end", f, pages)
			}
			cur = *p.Next
		}
		missing := 0
		for id := range want {
			if listed[id] == 0 {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%+v: %d of %d matches never listed", f, missing, len(want))
		}
		calls := m.total()
		fmt.Printf("inbox at scale: %d conversations, filter %s: %d matches listed in %d pages (%d rows, %d again after moving) in %v while %d moved; %.2f DynamoDB calls/page, %.4f RCU per listed conversation\n",
			n, describe(f), len(want), pages, rows, rows-len(listed), time.Since(began).Round(time.Millisecond), moves.Load(),
			float64(calls)/float64(pages), m.rcu/float64(max(rows, 1)))
	}
	close(stop)
	wg.Wait()
}

func describe(f conversation.InboxFilter) string {
	s := "status=" + f.Status
	if f.Team != "" {
		s += " team=" + f.Team
	}
	if f.Assignee != "" {
		s += " assignee=" + f.Assignee
	}
	if f.Unassigned {
		s += " assignee=none"
	}
	return s
}

// seed writes the summaries with BatchWriteItem, 25 at a time, 4 writers.
func seed(t *testing.T, db *dynamodb.Client, table string, cs []conversation.Conversation) {
	t.Helper()
	ch := make(chan []conversation.Conversation)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range ch {
				reqs := make([]types.WriteRequest, len(batch))
				for i, c := range batch {
					item, err := store.ConversationItem(c)
					if err != nil {
						t.Error(err)
						return
					}
					reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
				}
				for len(reqs) > 0 {
					out, err := db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{table: reqs}})
					if err != nil {
						t.Error(err)
						return
					}
					reqs = out.UnprocessedItems[table]
				}
			}
		}()
	}
	for i := 0; i < len(cs); i += 25 {
		ch <- cs[i:min(i+25, len(cs))]
	}
	close(ch)
	wg.Wait()
}
