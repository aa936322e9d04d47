package media_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/switchboard/switchboard/shared/backends"
	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/email"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/media"
)

// TestCopierOnMotoS3 runs the pipeline on moto's S3 with each store: MMS
// media from a Twilio stand-in, one refused URL, a provider outage that is
// retried, and an email's attachment read back from the raw message.
func TestCopierOnMotoS3(t *testing.T) {
	for name, ns := range backends.Stores() {
		t.Run(name, func(t *testing.T) { copier(t, ns(t)) })
	}
}

func copier(t *testing.T, st conversation.Store) {
	ctx := context.Background()
	s3c := localaws.S3(t)
	bucket := localaws.Bucket(t, s3c)
	var down atomic.Bool
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != "token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprint(w, "PNG:"+r.URL.Path)
	}))
	defer twilio.Close()
	_, port, _ := net.SplitHostPort(twilio.Listener.Addr().String())
	f := &media.Fetcher{AllowHTTP: true,
		Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		},
		AllowAddr: func(a netip.Addr) bool { return a.IsLoopback() }}
	c := &media.Copier{Store: st, S3: s3c, Bucket: bucket, Fetcher: f,
		Sources: map[string]media.Source{"twilio": media.Twilio("AC1", "token")}}
	svc := &conversation.Service{Store: st, Team: "support"}
	from, _ := conversation.Normalizer{}.Phone("+14155550100")
	base := "http://api.twilio.com:" + port + "/2010-04-01/Accounts/AC1/Messages/MM1/Media/"
	res, err := svc.Ingest(ctx, conversation.Inbound{Key: "twilio:MM1", Channel: conversation.ChannelSMS, From: from,
		FromAddress: "+14155550100", Body: "photos of the damage", Provider: "twilio", ProviderMessageID: "MM1",
		Media: []conversation.Media{{URL: base + "ME1", ContentType: "image/png"}, {URL: base + "ME2"},
			{URL: "http://metadata.internal:" + port + "/latest"}}})
	if err != nil {
		t.Fatal(err)
	}
	conv, key := res.Message.ConversationID, res.Message.Key
	if err := c.Copy(ctx, conv, key); err != nil {
		t.Fatalf("copy: %v", err)
	}
	m := message(t, st, conv, key)
	if m.Body != "photos of the damage" || len(m.Media) != 3 {
		t.Fatalf("message = %+v", m)
	}
	for i, md := range m.Media[:2] {
		want := fmt.Sprintf("PNG:/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME%d", i+1)
		sum := sha256.Sum256([]byte(want))
		if md.Status != conversation.MediaStored || md.Size != int64(len(want)) || md.SHA256 != hex.EncodeToString(sum[:]) ||
			md.ContentType != "image/png" || md.Key != "media/"+conv+"/"+md.SHA256 {
			t.Errorf("media %d = %+v", i, md)
		}
		if got := object(t, s3c, bucket, md.Key); got != want {
			t.Errorf("object %s = %q, want %q", md.Key, got, want)
		}
	}
	if bad := m.Media[2]; bad.Status != conversation.MediaFailed || bad.Retryable() || !strings.Contains(bad.Error, "not the provider's") {
		t.Errorf("refused media = %+v", bad)
	}

	// The provider is down: the text stays, the media are marked for retry,
	// and the job fails so that the queue redelivers it.
	res2, err := svc.Ingest(ctx, conversation.Inbound{Key: "twilio:MM2", Channel: conversation.ChannelSMS, From: from,
		FromAddress: "+14155550100", Body: "one more", Provider: "twilio", ProviderMessageID: "MM2",
		Media: []conversation.Media{{URL: base + "ME3", ContentType: "image/png"}}})
	if err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	if err := c.Copy(ctx, conv, res2.Message.Key); !errors.Is(err, media.ErrRetry) {
		t.Errorf("copy while the provider is down: %v, want ErrRetry", err)
	}
	if m := message(t, st, conv, res2.Message.Key); m.Body != "one more" || m.Media[0].Status != conversation.MediaFailed || !m.Media[0].Retryable() {
		t.Errorf("during the outage: %+v", m)
	}
	down.Store(false)
	if err := c.Copy(ctx, conv, res2.Message.Key); err != nil {
		t.Errorf("redelivered copy: %v", err)
	}
	if m := message(t, st, conv, res2.Message.Key); m.Media[0].Status != conversation.MediaStored || m.Media[0].Error != "" {
		t.Errorf("after the outage: %+v", m.Media[0])
	}

	// An email's attachment is read back from the raw message in S3.
	raw, err := os.ReadFile("../email/testdata/windows1251.eml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("inbound/ru"), Body: strings.NewReader(string(raw))}); err != nil {
		t.Fatal(err)
	}
	in := &email.Intake{Service: svc}
	er, err := in.Ingest(ctx, strings.NewReader(string(raw)), "s3://"+bucket+"/inbound/ru", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Copy(ctx, er.Message.ConversationID, er.Message.Key); err != nil {
		t.Fatalf("copy email attachment: %v", err)
	}
	em := message(t, st, er.Message.ConversationID, er.Message.Key)
	// Attachments are read from EMAIL_BUCKET only.
	other := &media.Copier{Store: st, S3: s3c, Bucket: bucket, Fetcher: f, EmailBucket: "another-bucket"}
	if res, err := svc.Ingest(ctx, conversation.Inbound{Key: "email:<x@y>", Channel: conversation.ChannelEmail, From: conversation.Identity{Kind: conversation.KindEmail, Address: "x@y"},
		Provider: "ses", Source: "s3://" + bucket + "/inbound/ru", Media: []conversation.Media{{URL: "email:0"}}}); err != nil {
		t.Fatal(err)
	} else if err := other.Copy(ctx, res.Message.ConversationID, res.Message.Key); err != nil {
		t.Fatal(err)
	} else if m := message(t, st, res.Message.ConversationID, res.Message.Key); m.Media[0].Status != conversation.MediaFailed || !strings.Contains(m.Media[0].Error, "EMAIL_BUCKET") {
		t.Errorf("attachment read from another bucket: %+v", m.Media[0])
	}
	if len(em.Media) != 1 || em.Media[0].Status != conversation.MediaStored || em.Media[0].Filename != "счет.pdf" ||
		em.Media[0].ContentType != "application/pdf" || !strings.HasPrefix(object(t, s3c, bucket, em.Media[0].Key), "%PDF-1.4") {
		t.Errorf("email media = %+v", em.Media)
	}
}

func message(t *testing.T, st conversation.Store, conv, key string) conversation.Message {
	t.Helper()
	_, msgs, err := st.Conversation(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Key == key {
			return m
		}
	}
	t.Fatalf("no message %s", key)
	return conversation.Message{}
}

func object(t *testing.T, c *s3.Client, bucket, key string) string {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return string(b)
}
