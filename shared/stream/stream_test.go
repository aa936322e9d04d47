package stream_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/switchboard/switchboard/shared/api"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/localstream"
	"github.com/switchboard/switchboard/shared/memstore"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/stream"
	"github.com/switchboard/switchboard/shared/twilio"
)

const (
	token = "stream-test-token"
	base  = "https://hooks.example.com"
)

func postSigned(t *testing.T, h http.Handler, path, fixture string) *httptest.ResponseRecorder {
	t.Helper()
	body, err := os.ReadFile("../twilio/testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	form, _ := url.ParseQuery(string(body))
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilio.Sign(token, base+path, form))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestSMSToAgentOnDynamoDBLocal follows one customer from Twilio's POST to
// the agents' inbox: webhook → DynamoDB → its stream → projection → API.
func TestSMSToAgentOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	st := store.New(db, table)
	svc := &conversation.Service{Store: st, Team: "support"}
	wh, err := twilio.NewHandler(twilio.Config{Verifier: twilio.NewVerifier(token), Service: svc, PublicBaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	wh.Register(mux)
	(&api.Handler{Store: st}).Register(mux)

	for _, f := range []string{"sms-inbound.form", "sms-inbound.form", "whatsapp-inbound.form"} {
		if rec := postSigned(t, mux, twilio.MessagingPath, f); rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", f, rec.Code, rec.Body)
		}
	}

	desc, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	streams := dynamodbstreams.NewFromConfig(localaws.Config(), func(o *dynamodbstreams.Options) {
		o.BaseEndpoint = aws.String(os.Getenv("DYNAMODB_ENDPOINT"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := &stream.Handler{Service: svc}
	applied := make(chan int, 100)
	p := &localstream.Poller{
		Streams: streams, StreamARN: aws.ToString(desc.Table.LatestStreamArn), Interval: 20 * time.Millisecond,
		Handle: func(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			resp, err := h.Handle(ctx, ev)
			n := 0
			for _, r := range ev.Records {
				if _, ok, _ := stream.Message(r); ok {
					n++
				}
			}
			applied <- n
			return resp, err
		},
	}
	go func() { _ = p.Run(ctx) }()

	total := 0
	for total < 2 {
		select {
		case n := <-applied:
			total += n
		case <-ctx.Done():
			t.Fatalf("stream delivered %d messages, want 2", total)
		}
	}
	if total != 2 {
		t.Fatalf("stream carried %d new messages, want 2 (the duplicate writes nothing)", total)
	}

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/conversations?status=open", nil))
	var list struct {
		Conversations []struct {
			ID, ContactID string
			Channels      []string
			Unread        int
			LastMessageAt time.Time
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Conversations) != 1 {
		t.Fatalf("inbox: %v %s", err, rec.Body)
	}
	c := list.Conversations[0]
	if strings.Join(c.Channels, ",") != "sms,whatsapp" || c.Unread != 2 || c.LastMessageAt.IsZero() {
		t.Errorf("inbox entry = %+v; want channels sms,whatsapp, 2 unread", c)
	}
	contact, err := st.Contact(context.Background(), c.ContactID)
	if err != nil || contact.Name != "Ana García" {
		t.Errorf("contact = %+v, %v; want named from the WhatsApp profile", contact, err)
	}
}

func TestHandleReportsFirstFailureAndStops(t *testing.T) {
	rec := func(seq, key string) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{
			SequenceNumber: seq,
			NewImage: map[string]events.DynamoDBAttributeValue{
				"type": events.NewStringAttribute(store.TypeMessage), "key": events.NewStringAttribute(key),
				"conversationId": events.NewStringAttribute("cv_1"),
			},
		}}
	}
	var seen []string
	fs := &recordingStore{seen: &seen, fail: "k2"}
	h := &stream.Handler{Service: &conversation.Service{Store: fs}}
	other := events.DynamoDBEventRecord{EventName: "INSERT", Change: events.DynamoDBStreamRecord{SequenceNumber: "0",
		NewImage: map[string]events.DynamoDBAttributeValue{"type": events.NewStringAttribute(store.TypeConversation)}}}
	resp, err := h.Handle(context.Background(), events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{other, rec("1", "k1"), rec("2", "k2"), rec("3", "k3")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "2" {
		t.Errorf("failures = %+v, want [2]", resp.BatchItemFailures)
	}
	if strings.Join(seen, ",") != "k1,k2" {
		t.Errorf("projected %v, want k1,k2 and a stop at the failure", seen)
	}
}

type recordingStore struct {
	conversation.Store
	seen *[]string
	fail string
}

func (r *recordingStore) Project(_ context.Context, m conversation.Message, _ time.Duration, _ time.Time) (conversation.Conversation, error) {
	*r.seen = append(*r.seen, m.Key)
	if m.Key == r.fail {
		return conversation.Conversation{}, errors.New("throttled")
	}
	return conversation.Conversation{}, nil
}

type mediaRecorder struct{ keys chan string }

func (m mediaRecorder) QueueMedia(_ context.Context, msg conversation.Message) error {
	m.keys <- msg.Key
	return nil
}

// TestMediaJobsFromTheStream: on DynamoDB Local's real stream, an MMS queues
// its media once (the INSERT); a voicemail whose recording arrives by
// amendment queues it then (the MODIFY carrying mediaPending); the copier's
// own amendment (media stored) queues nothing.
func TestMediaJobsFromTheStream(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	st := store.New(db, table)
	svc := &conversation.Service{Store: st, Team: "support"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	from, _ := conversation.Normalizer{}.Phone("+14155550100")
	mms, err := svc.Ingest(ctx, conversation.Inbound{Key: "twilio:MM1", Channel: conversation.ChannelSMS, From: from, Provider: "twilio",
		Media: []conversation.Media{{URL: "https://api.twilio.com/x/Media/ME1", ContentType: "image/png"}}})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := svc.Ingest(ctx, conversation.Inbound{Key: "twilio:RE1", Channel: conversation.ChannelVoice, From: from, Provider: "twilio",
		Kind: conversation.KindVoicemail})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Amend(ctx, vm.Message.ConversationID, vm.Message.Key, conversation.Amend{
		Media: []conversation.Media{{URL: "https://api.twilio.com/x/Recordings/RE1", ContentType: "audio/x-wav"}}}); err != nil {
		t.Fatal(err)
	}
	// The copier records the recording stored: no new job.
	if err := st.AmendMessage(ctx, vm.Message.ConversationID, vm.Message.Key, conversation.Amend{
		Media: []conversation.Media{{URL: "https://api.twilio.com/x/Recordings/RE1", Key: "media/k", Status: conversation.MediaStored}}}); err != nil {
		t.Fatal(err)
	}
	desc, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	rec := mediaRecorder{keys: make(chan string, 10)}
	h := &stream.Handler{Service: svc, Media: rec}
	p := &localstream.Poller{
		Streams: dynamodbstreams.NewFromConfig(localaws.Config(), func(o *dynamodbstreams.Options) {
			o.BaseEndpoint = aws.String(os.Getenv("DYNAMODB_ENDPOINT"))
		}),
		StreamARN: aws.ToString(desc.Table.LatestStreamArn), Interval: 20 * time.Millisecond,
		Handle: h.Handle,
	}
	go func() { _ = p.Run(ctx) }()
	var got []string
	for len(got) < 2 {
		select {
		case k := <-rec.keys:
			got = append(got, k)
		case <-ctx.Done():
			t.Fatalf("media jobs = %v, want 2", got)
		}
	}
	select {
	case k := <-rec.keys:
		t.Errorf("an extra media job for %s (the copier's own amendment?)", k)
	case <-time.After(time.Second):
	}
	if got[0] != mms.Message.Key || got[1] != vm.Message.Key {
		t.Errorf("media jobs = %v, want [%s %s]", got, mms.Message.Key, vm.Message.Key)
	}
}

// TestTimingsAreLogged: the projection of an agent's first reply and of a
// close logs the first response and resolution times the metrics handler
// turns into CloudWatch metrics.
func TestTimingsAreLogged(t *testing.T) {
	var buf bytes.Buffer
	h := &stream.Handler{Log: slog.New(slog.NewJSONHandler(&buf, nil))}
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	svc := &conversation.Service{Team: "support", Now: func() time.Time { return clock }}
	svc.Store = memstore.New(func(m conversation.Message) {
		if err := h.Apply(context.Background(), m); err != nil {
			t.Error(err)
		}
	})
	h.Service = svc
	id, _ := conversation.Normalizer{}.Phone("+14155550161")
	in := conversation.Inbound{Key: "twilio:SMt1", Channel: conversation.ChannelSMS, From: id, FromAddress: "+14155550161", To: "+18005550100", Body: "hi", Provider: "twilio", ProviderMessageID: "SMt1"}
	res, err := svc.Ingest(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Minute)
	in.Key, in.ProviderMessageID, in.Direction = "twilio:SMt2", "SMt2", conversation.DirectionOutbound
	if _, err := svc.Ingest(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(8 * time.Minute)
	closed := conversation.StatusClosed
	if _, err := svc.Update(context.Background(), res.Message.ConversationID, "ana", conversation.Patch{Status: &closed}, nil); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{`"msg":"conversation.first_response"`, `"first_response_s":120`, `"msg":"conversation.closed"`, `"resolution_s":600`, `"team":"support"`, `"channel":"sms"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}
