package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
)

// TestReplayIsIdempotent replays a prefix of raw mail on moto's S3 into
// DynamoDB Local twice: the first pass stores, the second changes nothing;
// the broken message is recorded as a failure both times, never lost.
func TestReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	s3c := localaws.S3(t)
	bucket := localaws.Bucket(t, s3c)
	for key, file := range map[string]string{"inbound/a": "first.eml", "inbound/b": "windows1251.eml", "inbound/c": "no_from.eml", "other/d": "spam.eml"} {
		raw, err := os.ReadFile("../../shared/email/testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(raw)}); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TABLE_NAME", table)
	t.Setenv("ROUTING_CONFIG_FILE", "")
	t.Setenv("ROUTING_CONFIG_PARAM", "")
	t.Setenv("ROUTING_CONFIG", `{"defaultTeam":"support","teams":[{"id":"support"}],"email":{"address":"support@example.com"}}`)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	pass := func() string {
		var out bytes.Buffer
		r := &replayer{out: &out}
		if err := r.run(ctx, []string{"s3://" + bucket + "/inbound/"}); err != nil {
			t.Fatalf("replay: %v\n%s", err, out.String())
		}
		return out.String()
	}
	first, second := pass(), pass()
	for _, want := range []string{"inbound/a: stored", "inbound/b: stored", "inbound/c: malformed"} {
		if !strings.Contains(first, want) {
			t.Errorf("first pass lacks %q:\n%s", want, first)
		}
	}
	for _, want := range []string{"inbound/a: duplicate", "inbound/b: duplicate", "inbound/c: malformed"} {
		if !strings.Contains(second, want) {
			t.Errorf("second pass lacks %q:\n%s", want, second)
		}
	}
	if strings.Contains(first, "other/d") {
		t.Errorf("replayed outside the prefix:\n%s", first)
	}
	st := store.New(db, table)
	open, err := conversation.All(ctx, st, conversation.StatusOpen)
	if err != nil || len(open) != 2 {
		t.Errorf("open conversations = %d, %v; want 2", len(open), err)
	}
	if f, err := st.Failures(ctx, "email", 10); err != nil || len(f) != 1 {
		t.Errorf("failures = %+v, %v; want the one broken message", f, err)
	}
}

// TestReplayWebhookEnvelope posts an archived envelope as the provider sent
// it: path, body and signature intact.
func TestReplayWebhookEnvelope(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Clone(context.Background()) }))
	defer srv.Close()
	var out bytes.Buffer
	r := &replayer{out: &out, target: srv.URL}
	if err := r.run(context.Background(), []string{"../../events/twilio/sms-inbound.json"}); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.URL.Path != "/webhooks/twilio/messaging" || got.Header.Get("X-Twilio-Signature") == "" {
		t.Fatalf("posted %+v", got)
	}
	if !strings.Contains(out.String(), "200 OK") {
		t.Errorf("output = %s", out.String())
	}
	if err := (&replayer{out: &out}).run(context.Background(), []string{"../../events/twilio/sms-inbound.json"}); err == nil || !strings.Contains(err.Error(), "-target") {
		t.Errorf("an envelope without -target: %v", err)
	}
}
