package metrics_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/shared/metrics"
)

// emf checks one JSON line against the EMF specification's rules: every
// dimension is a top-level string, every metric a top-level number.
func emf(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("not JSON: %s", line)
	}
	aws, ok := m["_aws"].(map[string]any)
	if !ok {
		return m
	}
	if _, ok := aws["Timestamp"].(float64); !ok {
		t.Errorf("no Timestamp: %s", line)
	}
	for _, d := range aws["CloudWatchMetrics"].([]any) {
		d := d.(map[string]any)
		if d["Namespace"] != metrics.Namespace {
			t.Errorf("namespace %v", d["Namespace"])
		}
		for _, set := range d["Dimensions"].([]any) {
			for _, k := range set.([]any) {
				if _, ok := m[k.(string)].(string); !ok {
					t.Errorf("dimension %v is not a top-level string: %s", k, line)
				}
			}
		}
		for _, md := range d["Metrics"].([]any) {
			name := md.(map[string]any)["Name"].(string)
			if _, ok := m[name].(float64); !ok {
				t.Errorf("metric %s is not a top-level number: %s", name, line)
			}
		}
	}
	return m
}

func TestEventLinesCarryMetrics(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(metrics.New(slog.NewJSONHandler(&buf, nil)))
	log.Info("twilio.message", "outcome", "stored", "sid", "SM1", "channel", "sms")
	log.Warn("meta.webhook", "outcome", "rejected", "status", 403, "reason", "invalid X-Hub-Signature-256")
	log.Info("notify.deliver", "outcome", "sent", "latency_ms", int64(840))
	log.Info("start", "platforms", "meta")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("lines = %d", len(lines))
	}
	stored := emf(t, lines[0])
	if stored["Event"] != "twilio.message" || stored["Outcome"] != "stored" || stored["Channel"] != "sms" || stored["Events"] != 1.0 || stored["sid"] != "SM1" {
		t.Errorf("inbound line = %v", stored)
	}
	rejected := emf(t, lines[1])
	if rejected["Status"] != "403" || rejected["Outcome"] != "rejected" {
		t.Errorf("signature failure line = %v", rejected)
	}
	sent := emf(t, lines[2])
	if sent["NotificationLatency"] != 840.0 {
		t.Errorf("latency line = %v", sent)
	}
	if start := emf(t, lines[3]); start["_aws"] != nil {
		t.Errorf("a line without an outcome carries metrics: %v", start)
	}
}

// TestTimingsPerTeamAndChannel: the stream's first response and resolution
// records carry FirstResponseTime and ResolutionTime by Team and Channel.
func TestTimingsPerTeamAndChannel(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(metrics.New(slog.NewJSONHandler(&buf, nil)))
	log.Info("conversation.first_response", "outcome", "measured", "team", "support", "channel", "whatsapp", "first_response_s", 180.5)
	log.Info("conversation.closed", "outcome", "measured", "team", "sales", "channel", "sms", "resolution_s", 3600.0)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %d", len(lines))
	}
	for i, want := range []struct {
		metric, team, channel string
		value                 float64
	}{{"FirstResponseTime", "support", "whatsapp", 180.5}, {"ResolutionTime", "sales", "sms", 3600}} {
		m := emf(t, lines[i])
		if m[want.metric] != want.value || m["Team"] != want.team || m["Channel"] != want.channel {
			t.Errorf("line %d: %s", i, lines[i])
		}
		ds := m["_aws"].(map[string]any)["CloudWatchMetrics"].([]any)
		if len(ds) != 2 || !strings.Contains(lines[i], `"Dimensions":[["Team","Channel"]]`) {
			t.Errorf("line %d directives: %v", i, ds)
		}
	}
}
