package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/twilio"
)

// outage fails every DynamoDB call while it is on, before the request
// leaves: DynamoDB unreachable, as the SDK middleware sees it.
type outage struct{ on atomic.Bool }

func (o *outage) option(opts *dynamodb.Options) {
	opts.RetryMaxAttempts = 1
	opts.APIOptions = append(opts.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("outage",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if o.on.Load() {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("injected: DynamoDB unreachable")
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// TestDynamoDBOutageThenRedelivery: while DynamoDB fails, every webhook is
// answered 5xx (Twilio retries) and nothing is half written; once it is
// back, the redeliveries store each message exactly once.
func TestDynamoDBOutageThenRedelivery(t *testing.T) {
	const customers, messagesEach = 20, 3
	o := &outage{}
	db := localaws.DynamoDB(t, o.option)
	st := store.New(db, localaws.Table(t, db))
	svc := &conversation.Service{Store: st, Team: "support"}
	h, err := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(twilioToken), Service: svc, PublicBaseURL: publicBase,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	post := func(i, j int) int {
		form := url.Values{"MessageSid": {fmt.Sprintf("SMdown%02d%02d", i, j)}, "From": {fmt.Sprintf("+1415555%04d", i)}, "To": {"+18005550100"}, "Body": {"hello"}}
		req := httptest.NewRequest(http.MethodPost, twilio.MessagingPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twilio.Sign(twilioToken, publicBase+twilio.MessagingPath, form))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec.Code
	}
	// The first message of half the customers goes through before the outage.
	for i := 0; i < customers/2; i++ {
		if code := post(i, 0); code != http.StatusOK {
			t.Fatalf("before the outage: %d", code)
		}
	}
	o.on.Store(true)
	var wg sync.WaitGroup
	var ok5xx atomic.Int64
	for i := range customers {
		for j := range messagesEach {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code := post(i, j); code >= 500 {
					ok5xx.Add(1)
				} else {
					t.Errorf("during the outage: %d", code)
				}
			}()
		}
	}
	wg.Wait()
	if ok5xx.Load() != customers*messagesEach {
		t.Fatalf("%d of %d answered 5xx", ok5xx.Load(), customers*messagesEach)
	}
	o.on.Store(false)
	// Twilio redelivers everything, twice for good measure.
	for range 2 {
		for i := range customers {
			for j := range messagesEach {
				if code := post(i, j); code != http.StatusOK {
					t.Fatalf("redelivery: %d", code)
				}
			}
		}
	}
	ctx := context.Background()
	convs, err := conversation.All(ctx, st, conversation.StatusOpen)
	if err != nil {
		t.Fatal(err)
	}
	if len(convs) != customers {
		t.Fatalf("conversations = %d, want %d", len(convs), customers)
	}
	total := 0
	for _, c := range convs {
		_, msgs, err := st.Conversation(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != messagesEach {
			t.Errorf("conversation %s has %d messages, want %d", c.ID, len(msgs), messagesEach)
		}
		total += len(msgs)
		contact, err := st.Contact(ctx, c.ContactID)
		if err != nil || len(contact.ConversationIDs) != 1 || contact.ConversationIDs[0] != c.ID {
			t.Errorf("contact %s: %+v, %v", c.ContactID, contact, err)
		}
	}
	if total != customers*messagesEach {
		t.Errorf("messages = %d, want %d", total, customers*messagesEach)
	}
}
