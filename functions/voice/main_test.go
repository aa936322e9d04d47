package main

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/devenv"
	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/store"
	"github.com/switchboard/switchboard/shared/twilio"
)

var update = flag.Bool("update", false, "rewrite events/twilio/voice-*.json")

const from = "+14155550123"

// The voice samples: a call nobody answers, a voicemail with its transcript.
var samples = []struct {
	event, path, query string
	form               url.Values
	forged             bool
	status             int
}{
	{"voice-incoming", twilio.VoicePath, "", url.Values{"CallSid": {"CA5ee0f0f8a1d44c9b9e3e3b2f1d7e1a01"}, "AccountSid": {"AC00000000000000000000000000000000"},
		"From": {from}, "To": {"+18005550100"}, "CallStatus": {"ringing"}, "Direction": {"inbound"}, "ApiVersion": {"2010-04-01"}}, false, 200},
	{"voice-dial-no-answer", twilio.VoiceStatusPath, "", url.Values{"CallSid": {"CA5ee0f0f8a1d44c9b9e3e3b2f1d7e1a01"}, "AccountSid": {"AC00000000000000000000000000000000"},
		"From": {from}, "To": {"+18005550100"}, "CallStatus": {"in-progress"}, "DialCallStatus": {"no-answer"}}, false, 200},
	{"voice-transcription", twilio.TranscriptionPath, "from=%2B14155550123", url.Values{"CallSid": {"CA5ee0f0f8a1d44c9b9e3e3b2f1d7e1a01"}, "AccountSid": {"AC00000000000000000000000000000000"},
		"RecordingSid": {"RE0a0b0c0d0e0f00112233445566778899"}, "TranscriptionSid": {"TR0a0b0c0d0e0f00112233445566778899"}, "TranscriptionStatus": {"completed"},
		"TranscriptionText": {"Hi, it's about order 41, please call me back"},
		"RecordingUrl":      {"https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Recordings/RE0a0b0c0d0e0f00112233445566778899"}}, false, 200},
	{"voice-recording", twilio.RecordingPath, "from=%2B14155550123", url.Values{"CallSid": {"CA5ee0f0f8a1d44c9b9e3e3b2f1d7e1a01"}, "AccountSid": {"AC00000000000000000000000000000000"},
		"RecordingSid": {"RE0a0b0c0d0e0f00112233445566778899"}, "RecordingStatus": {"completed"}, "RecordingDuration": {"11"}, "RecordingChannels": {"1"},
		"RecordingUrl": {"https://api.twilio.com/2010-04-01/Accounts/AC00000000000000000000000000000000/Recordings/RE0a0b0c0d0e0f00112233445566778899"}}, false, 200},
	{"voice-status-completed", twilio.VoiceStatusPath, "", url.Values{"CallSid": {"CA5ee0f0f8a1d44c9b9e3e3b2f1d7e1a01"}, "AccountSid": {"AC00000000000000000000000000000000"},
		"From": {from}, "To": {"+18005550100"}, "CallStatus": {"completed"}, "CallDuration": {"38"}}, false, 200},
	{"voice-forged", twilio.VoicePath, "", url.Values{"CallSid": {"CA5ee0f0f8a1d44c9b9e3e3b2f1d7e1a02"}, "From": {from}, "To": {"+18005550100"}}, true, 403},
}

func path(event string) string { return filepath.Join("../../events/twilio", event+".json") }

func TestEventsInStep(t *testing.T) {
	for _, s := range samples {
		ev, err := devenv.TwilioEnvelope(s.path, s.query, s.form.Encode(), s.forged, twilio.Sign)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.MarshalIndent(ev, "", "  ")
		want = append(want, '\n')
		if *update {
			if err := os.WriteFile(path(s.event), want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path(s.event)); err != nil || string(got) != string(want) {
			t.Errorf("%s is out of step: go test ./functions/voice -run TestEventsInStep -update", path(s.event))
		}
	}
}

// TestLambdaOnDynamoDBLocal replays the samples through main's setup, each
// twice, and reads the caller's timeline.
func TestLambdaOnDynamoDBLocal(t *testing.T) {
	db := localaws.DynamoDB(t)
	table := localaws.Table(t, db)
	t.Setenv("TABLE_NAME", table)
	t.Setenv("PUBLIC_BASE_URL", devenv.PublicBaseURL)
	t.Setenv("PUBLIC_BASE_URL_PARAM", "")
	t.Setenv("TWILIO_AUTH_TOKEN", devenv.TwilioAuthToken)
	t.Setenv("TWILIO_AUTH_TOKEN_PARAM", "")
	t.Setenv("ROUTING_CONFIG_FILE", "")
	t.Setenv("ROUTING_CONFIG_PARAM", "")
	t.Setenv("ROUTING_CONFIG", `{"defaultTeam":"support","teams":[{"id":"support"}],"agents":[{"id":"ana","teams":["support"],"phone":"+14155550001"}]}`)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	var logs strings.Builder
	h, err := setup(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httpadapter.NewV2(h)
	for _, s := range samples {
		raw, err := os.ReadFile(path(s.event))
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			resp, err := proxy.ProxyWithContext(context.Background(), ev)
			if err != nil || resp.StatusCode != s.status {
				t.Errorf("%s: %v %d %s", s.event, err, resp.StatusCode, resp.Body)
			}
			if s.event == "voice-incoming" && !strings.Contains(resp.Body, "<Dial") {
				t.Errorf("incoming call during business hours: %s", resp.Body)
			}
		}
	}
	st := store.New(db, table)
	id, _ := conversation.Normalizer{}.Phone(from)
	route, err := st.Route(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	_, msgs, err := st.Conversation(context.Background(), route.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range msgs {
		kinds = append(kinds, m.Kind+":"+m.Status)
		if m.Kind == conversation.KindVoicemail && (m.Transcript == "" || m.DurationSeconds != 11 || len(m.Media) != 1) {
			t.Errorf("voicemail = %+v", m)
		}
		if m.Kind == conversation.KindCall && m.DurationSeconds != 38 {
			t.Errorf("call = %+v", m)
		}
	}
	if strings.Join(kinds, ",") != "call:completed,missed_call:missed,voicemail:completed" {
		t.Errorf("timeline = %v", kinds)
	}
	for _, leak := range []string{"4155550123", "order 41", devenv.TwilioAuthToken} {
		if strings.Contains(logs.String(), leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}
