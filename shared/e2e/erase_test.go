package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/conversation"
	deliv "github.com/switchboard/switchboard/shared/delivery"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/routing"
)

// TestEraseLeavesNothingOfThem is the GDPR/CCPA erasure end to end on
// DynamoDB Local and moto's S3: Ana texts (a photo copied to the media
// bucket), mails (the raw message in the email bucket; her email contact
// merged into her phone's), gets an agent's reply (sent through the
// outbox) and a note; Bob texts too. Her export has all of it; after
// DELETE /api/contacts/{id}, a scan of the whole table and both buckets
// finds none of her canary values (her number, address, name, words,
// message ids), Bob's conversation is whole, her old webhooks replayed
// store nothing, and her next text is a new contact.
func TestEraseLeavesNothingOfThem(t *testing.T) {
	s := newSystem(t, options{visibility: 5, replies: true, sinks: []routing.Sink{{Type: routing.SinkWebhook}}})
	ctx := context.Background()
	const (
		phone   = "+14155550777"
		sid     = "SMERASECANARY00000000000000000001"
		mailTo  = "ana-erase-canary@example.net"
		msgID   = "<ERASE-CANARY-MSGID@example.net>"
		bobFone = "+14155550778"
	)
	canaries := []string{"ERASE-CANARY", "4155550777", "ana-erase-canary", "SMERASECANARY"}

	if code := s.postSMS(sid, phone, "ERASE-CANARY-SMS my card ends 4242"); code != 200 {
		t.Fatalf("her sms: %d", code)
	}
	if code := s.postSMS("SMBOBSTAYS000000000000000000000001", bobFone, "Bob's question stays"); code != 200 {
		t.Fatalf("bob's sms: %d", code)
	}
	ana := conversation.Identity{Kind: conversation.KindPhone, Address: phone}
	var route conversation.Route
	s.waitFor("her conversation", patience, func() bool {
		r, err := s.store.Route(ctx, ana)
		route = r
		return err == nil && r.ConversationID != ""
	})
	// Her photo, as the media pipeline copies it.
	_, msgs, err := s.store.Conversation(ctx, route.ConversationID)
	if err != nil || len(msgs) == 0 {
		t.Fatalf("her timeline: %v %v", msgs, err)
	}
	photoKey := "media/" + msgs[0].ID + "/0.jpg"
	if _, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.mediaBucket, Key: &photoKey, Body: strings.NewReader("ERASE-CANARY-JPEG")}); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.Amend(ctx, route.ConversationID, msgs[0].Key, conversation.Amend{Media: []conversation.Media{
		{Key: photoKey, ContentType: "image/jpeg", Status: conversation.MediaStored, Size: 17}}}); err != nil {
		t.Fatal(err)
	}

	// Her email, kept raw in the email bucket as SES keeps it.
	raw := "Authentication-Results: amazonses.com;\r\n spf=pass envelope-from=" + mailTo + ";\r\n dkim=pass header.i=@example.net;\r\n dmarc=pass header.from=example.net;\r\n" +
		"From: ERASE-CANARY-NAME <" + mailTo + ">\r\nTo: " + supportEmail + "\r\nSubject: ERASE-CANARY-SUBJECT\r\nMessage-ID: " + msgID + "\r\n\r\nERASE-CANARY-MAIL hello\r\n"
	mail := &email.S3Handler{S3: s.s3, Intake: &email.Intake{Service: s.svc, Address: supportEmail, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	deliverMail := func() {
		t.Helper()
		if _, err := s.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &s.emailBucket, Key: aws.String("inbound/erase1"), Body: strings.NewReader(raw)}); err != nil {
			t.Fatal(err)
		}
		if err := mail.Handle(ctx, events.S3Event{Records: []events.S3EventRecord{{EventTime: time.Now(),
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: s.emailBucket}, Object: events.S3Object{Key: "inbound/erase1", URLDecodedKey: "inbound/erase1"}}}}}); err != nil {
			t.Fatal(err)
		}
	}
	deliverMail()
	mailRoute, err := s.store.Route(ctx, conversation.Identity{Kind: conversation.KindEmail, Address: mailTo})
	if err != nil {
		t.Fatal(err)
	}
	if code, out := s.agent(http.MethodPost, "/api/contacts/"+route.ContactID+"/merge", "", `{"from":"`+mailRoute.ContactID+`"}`); code != 200 {
		t.Fatalf("merge: %d %v", code, out)
	}
	code, out := s.agent(http.MethodPost, "/api/conversations/"+route.ConversationID+"/messages", "erase-reply-1", `{"body":"ERASE-CANARY-REPLY we will call you","channel":"sms"}`)
	if code != 202 {
		t.Fatalf("reply: %d %v", code, out)
	}
	replyID := out["message"].(map[string]any)["id"].(string)
	if code, out := s.agent(http.MethodPost, "/api/conversations/"+route.ConversationID+"/notes", "", `{"body":"ERASE-CANARY-NOTE she sounded upset"}`); code != 201 {
		t.Fatalf("note: %d %v", code, out)
	}
	s.waitFor("the reply sent", patience, func() bool {
		_, all, _ := s.store.Conversation(ctx, route.ConversationID)
		for _, x := range all {
			if x.ID == replyID {
				return x.Status == conversation.StatusSent || x.Status == conversation.StatusDelivered
			}
		}
		return false
	})
	s.settle()
	if !itemExists(t, s, "DELIV#"+deliv.SendJobID(replyID), "DELIV") {
		t.Fatal("the reply's delivery record is not where the erasure looks for it")
	}

	// Her export: everything, her photo by a working link.
	req, _ := http.NewRequest(http.MethodGet, s.web.URL+"/api/contacts/"+route.ContactID+"/export", nil)
	req.Header.Set("Authorization", "Bearer "+agentToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"ERASE-CANARY-SMS", "ERASE-CANARY-MAIL", "ERASE-CANARY-REPLY", "ERASE-CANARY-NOTE", mailTo, phone} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("export (%d) lacks %q", resp.StatusCode, want)
		}
	}
	var ex struct {
		Media []struct{ Key, URL string } `json:"media"`
	}
	if err := json.Unmarshal(body, &ex); err != nil || len(ex.Media) != 1 || ex.Media[0].Key != photoKey {
		t.Fatalf("export media = %+v, %v", ex.Media, err)
	}
	if got := fetch(t, ex.Media[0].URL); got != "ERASE-CANARY-JPEG" {
		t.Errorf("her photo by the export's link = %q", got)
	}
	if !scanFinds(t, s, canaries) {
		t.Fatal("before the erasure the scan finds none of her canaries: it could not fail")
	}

	// Erase her.
	if code, out := s.agent(http.MethodDelete, "/api/contacts/"+route.ContactID, "", ""); code != 204 {
		t.Fatalf("erase: %d %v", code, out)
	}
	if scanFinds(t, s, canaries) {
		t.Error("the table still holds something of hers")
	}
	if itemExists(t, s, "DELIV#"+deliv.SendJobID(replyID), "DELIV") {
		t.Error("the reply's delivery record is left")
	}
	for _, b := range []string{s.mediaBucket, s.emailBucket} {
		if keys := objects(t, s, b); len(keys) != 0 {
			t.Errorf("bucket %s still holds %v", b, keys)
		}
	}
	// Bob is whole.
	bob, err := s.store.Route(ctx, conversation.Identity{Kind: conversation.KindPhone, Address: bobFone})
	if err != nil {
		t.Fatalf("Bob's route: %v", err)
	}
	if _, bm, err := s.store.Conversation(ctx, bob.ConversationID); err != nil || len(bm) == 0 || bm[0].Body != "Bob's question stays" {
		t.Errorf("Bob's conversation after her erasure: %+v %v", bm, err)
	}
	// Gone, and said so.
	for _, p := range []string{"/api/contacts/" + route.ContactID, "/api/contacts/" + mailRoute.ContactID, "/api/conversations/" + route.ConversationID,
		"/api/contacts/" + route.ContactID + "/export"} {
		if code, out := s.agent(http.MethodGet, p, "", ""); code != http.StatusGone || out["code"] != "erased" {
			t.Errorf("GET %s after erasure: %d %v, want 410 erased", p, code, out)
		}
	}
	if code, _ := s.agent(http.MethodDelete, "/api/contacts/"+route.ContactID, "", ""); code != http.StatusGone {
		t.Errorf("erase again: %d, want 410", code)
	}
	if code, _ := s.agent(http.MethodDelete, "/api/contacts/ct_nobody", "", ""); code != http.StatusNotFound {
		t.Errorf("erase of no one: %d, want 404", code)
	}

	// Her old webhooks, replayed (Twilio's retry, SES's object again):
	// nothing of hers is stored.
	if code := s.postSMS(sid, phone, "ERASE-CANARY-SMS my card ends 4242"); code != 200 {
		t.Fatalf("replayed sms: %d", code)
	}
	deliverMail()
	if _, err := s.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.emailBucket, Key: aws.String("inbound/erase1")}); err != nil {
		t.Fatal(err) // the replay's own copy of the raw mail, put there by this test
	}
	if scanFinds(t, s, canaries) {
		t.Error("a replayed webhook stored something of hers again")
	}
	// A new text from her number after the erasure: a new contact.
	if code := s.postSMS("SMAFTERERASURE0000000000000000001", phone, "hello again"); code != 200 {
		t.Fatalf("new sms: %d", code)
	}
	fresh, err := s.store.Route(ctx, ana)
	if err != nil || fresh.ContactID == route.ContactID || fresh.ConversationID == route.ConversationID {
		t.Errorf("her new text's route: %+v, %v; want a new contact and conversation", fresh, err)
	}
}

// scanFinds reports whether any item of the table holds one of needles.
func scanFinds(t *testing.T, s *system, needles []string) bool {
	t.Helper()
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{TableName: &s.table, ConsistentRead: aws.Bool(true)})
	found := false
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(m)
			for _, n := range needles {
				if strings.Contains(string(b), n) {
					t.Logf("item %s %s holds %q", m["PK"], m["SK"], n)
					found = true
				}
			}
		}
	}
	return found
}

func itemExists(t *testing.T, s *system, pk, sk string) bool {
	t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &s.table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: pk}, "SK": &types.AttributeValueMemberS{Value: sk}}})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item != nil
}

// objects lists a bucket's keys.
func objects(t *testing.T, s *system, bucket string) []string {
	t.Helper()
	out, err := s.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: &bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func fetch(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	return string(b)
}
