package main

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/twilio"
)

var update = flag.Bool("update", false, "rewrite events/twilio from shared/twilio/testdata")

// sample is one envelope in events/twilio, made from a provider fixture.
type sample struct {
	event, fixture, path string
	forged               bool
	status               int
}

var samples = []sample{
	{"sms-inbound", "sms-inbound.form", twilio.MessagingPath, false, http.StatusOK},
	{"mms-inbound", "mms-inbound.form", twilio.MessagingPath, false, http.StatusOK},
	{"whatsapp-inbound", "whatsapp-inbound.form", twilio.MessagingPath, false, http.StatusOK},
	{"sms-stop", "sms-stop.form", twilio.MessagingPath, false, http.StatusOK},
	{"sms-forged", "sms-inbound.form", twilio.MessagingPath, true, http.StatusForbidden},
	{"status-delivered", "status-delivered.form", twilio.StatusPath, false, http.StatusOK},
}

const eventsDir = "../../events/twilio"

func envelope(s sample, body string) events.APIGatewayV2HTTPRequest {
	ev, err := devenv.TwilioEnvelope(s.path, "", body, s.forged, twilio.Sign)
	if err != nil {
		panic(err)
	}
	return ev
}

func readEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
	if err != nil {
		t.Fatalf("read event (regenerate with go test ./functions/messaging -run TestEventsInStep -update): %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// TestEventsInStep keeps events/twilio equal to what the fixtures make.
func TestEventsInStep(t *testing.T) {
	for _, s := range samples {
		body, err := os.ReadFile(filepath.Join("../../shared/twilio/testdata", s.fixture))
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.MarshalIndent(envelope(s, string(body)), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		path := filepath.Join(eventsDir, s.event+".json")
		if *update {
			if err := os.MkdirAll(eventsDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is out of step with %s: run go test ./functions/messaging -run TestEventsInStep -update", path, s.fixture)
		}
	}
}

// TestLambdaOnDynamoDBLocal runs main's setup exactly as Lambda would (the
// environment, the API Gateway envelopes through httpadapter) against
// DynamoDB Local.
func TestLambdaOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	t.Setenv("TABLE_NAME", table)
	t.Setenv("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	t.Setenv("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
	t.Setenv("TWILIO_AUTH_TOKEN_PARAM", "")
	t.Setenv("PUBLIC_BASE_URL_PARAM", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	var logs strings.Builder
	h, err := setup(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	proxy := httpadapter.NewV2(h)
	for _, s := range samples {
		resp, err := proxy.ProxyWithContext(context.Background(), readEvent(t, s.event))
		if err != nil {
			t.Fatalf("%s: %v", s.event, err)
		}
		if resp.StatusCode != s.status {
			t.Errorf("%s: status %d, want %d: %s", s.event, resp.StatusCode, s.status, resp.Body)
		}
		// The acknowledgement goes out through the one outbox (shared/care),
		// in the customer's language; TwiML never answers with a message.
		if strings.Contains(resp.Body, "<Message>") {
			t.Errorf("%s: answered with a TwiML message: %s", s.event, resp.Body)
		}
	}
	// A redelivery of the first message is answered and changes nothing.
	resp, err := proxy.ProxyWithContext(context.Background(), readEvent(t, "sms-inbound"))
	if err != nil || resp.StatusCode != http.StatusOK || strings.Contains(resp.Body, "<Message>") {
		t.Errorf("redelivery: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	for _, leak := range []string{"4155550123", "order", devenv.TwilioAuthToken} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}

func TestSetupNamesMissingSettings(t *testing.T) {
	t.Setenv("TABLE_NAME", "t-x")
	t.Setenv("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	t.Setenv("TWILIO_AUTH_TOKEN", "")
	t.Setenv("TWILIO_AUTH_TOKEN_PARAM", "")
	t.Setenv("PUBLIC_BASE_URL_PARAM", "")
	_, err := setup(context.Background(), slog.Default())
	if err == nil || !strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") {
		t.Errorf("err = %v, want one naming TWILIO_AUTH_TOKEN", err)
	}
	t.Setenv("PUBLIC_BASE_URL", "")
	if _, err := setup(context.Background(), slog.Default()); err == nil || !strings.Contains(err.Error(), "PUBLIC_BASE_URL") {
		t.Errorf("err = %v, want one naming PUBLIC_BASE_URL", err)
	}
}

// TestDynamoDBDownIs5xx points the function at a closed loopback port: the
// provider must get a 5xx (so it retries), never a 2xx.
func TestDynamoDBDownIs5xx(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	t.Setenv("DYNAMODB_ENDPOINT", closed)
	t.Setenv("TABLE_NAME", "switchboard-down")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	t.Setenv("PUBLIC_BASE_URL_PARAM", "")
	t.Setenv("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
	t.Setenv("TWILIO_AUTH_TOKEN_PARAM", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	var logs strings.Builder
	h, err := setup(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpadapter.NewV2(h).ProxyWithContext(context.Background(), readEvent(t, "sms-inbound"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode < 500 || strings.Contains(resp.Body, "127.0.0.1") {
		t.Errorf("DynamoDB down: %d %q; want 5xx without internals", resp.StatusCode, resp.Body)
	}
	if !strings.Contains(logs.String(), `"outcome":"error"`) {
		t.Errorf("the failure was not logged: %s", logs.String())
	}
}
