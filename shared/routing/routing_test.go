package routing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/shared/conversation"
	"github.com/switchboard/switchboard/shared/routing"
)

const doc = `{
  "defaultTeam": "us",
  "coalesceWindow": "2m",
  "teams": [
    {"id": "us", "timeZone": "America/New_York",
     "hours": {"mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00", "thu": "09:00-17:00", "fri": "09:00-17:00"},
     "handoff": ["apac", "emea"]},
    {"id": "emea", "timeZone": "Europe/Berlin", "hours": {"mon": "08:00-16:00", "tue": "08:00-16:00", "wed": "08:00-16:00", "thu": "08:00-16:00", "fri": "08:00-16:00"}},
    {"id": "apac", "timeZone": "Asia/Tokyo", "hours": {"mon": "22:00-06:00", "tue": "22:00-06:00"}},
    {"id": "billing", "timeZone": "UTC"}
  ],
  "agents": [
    {"id": "ana", "teams": ["us"], "sinks": [{"type": "sms", "to": "+14155550001"}]},
    {"id": "bo", "teams": ["us"], "away": true, "sinks": [{"type": "email", "to": "bo@example.com"}]},
    {"id": "jan", "teams": ["emea"], "sinks": [{"type": "slack", "to": "https://hooks.slack.com/services/T/B/X"}]},
    {"id": "kei", "teams": ["apac"], "sinks": [{"type": "webhook", "to": "https://agents.example.com/hook"}]},
    {"id": "bea", "teams": ["billing"], "sinks": [{"type": "email", "to": "billing@example.com"}]}
  ],
  "rules": [
    {"channel": "whatsapp", "keyword": "Refund", "team": "billing"},
    {"keyword": "invoice", "team": "billing"}
  ]
}`

func ids(rs []routing.Recipient) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Agent.ID+"/"+r.Reason)
	}
	return strings.Join(out, ",")
}

func TestRoute(t *testing.T) {
	c, err := routing.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if c.Window() != 2*time.Minute {
		t.Errorf("window = %v", c.Window())
	}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	conv := conversation.Conversation{ID: "cv", Team: "us"}
	tests := []struct {
		name string
		conv conversation.Conversation
		ch   conversation.Channel
		body string
		at   string
		want string
	}{
		// Monday 2026-11-23: 10:00 in New York is 15:00 UTC.
		{"us open", conv, "sms", "hi", "2026-11-23T15:00:00Z", "ana/on-duty"},
		{"us closed, emea open (Tue 09:00 Berlin)", conv, "sms", "hi", "2026-11-24T08:00:00Z", "jan/handoff"},
		// Monday 23:30 Tokyo = 14:30 UTC Monday; US opens 09:00 NY = 14:00 UTC. Use 13:30 UTC: 08:30 NY, 22:30 Tokyo.
		{"apac before emea in handoff order", conv, "sms", "hi", "2026-11-23T13:30:00Z", "kei/handoff"},
		{"nobody open: the team anyway", conv, "sms", "hi", "2026-11-28T12:00:00Z", "ana/after-hours"},
		{"rule by channel and keyword", conv, "whatsapp", "I want a REFUND", "2026-11-28T12:00:00Z", "bea/on-duty"},
		{"rule channel must match", conv, "sms", "refund please", "2026-11-23T15:00:00Z", "ana/on-duty"},
		{"rule by keyword on any channel", conv, "email", "your invoice", "2026-11-23T15:00:00Z", "bea/on-duty"},
		{"assignee first", conversation.Conversation{Team: "us", Assignee: "jan"}, "sms", "hi", "2026-11-23T15:00:00Z", "jan/assignee"},
		{"unknown team falls back to default", conversation.Conversation{Team: "gone"}, "sms", "hi", "2026-11-23T15:00:00Z", "ana/on-duty"},
	}
	for _, tt := range tests {
		m := conversation.Message{Channel: tt.ch, Body: tt.body, CreatedAt: utc(tt.at)}
		if got := ids(c.Route(tt.conv, m)); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestParseErrorsNameTheProblem(t *testing.T) {
	tests := []struct{ doc, want string }{
		{`{"defaultTeam":"x","teams":[{"id":"a"}]}`, `defaultTeam names unknown team "x"`},
		{`{"defaultTeam":"a","teams":[{"id":"a","timeZone":"Mars/Olympus"}]}`, `team "a": invalid time zone "Mars/Olympus"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"agents":[{"id":"z","teams":["b"]}]}`, `agent "z" names unknown team "b"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"rules":[{"team":"c"}]}`, `rule 1 names unknown team "c"`},
		{`{"defaultTeam":"a","teams":[{"id":"a","hours":{"mon":"9-5"}}]}`, `hours for mon`},
		{`{"defaultTeam":"a","teams":[{"id":"a","hours":{"funday":"09:00-10:00"}}]}`, `unknown day "funday"`},
		{`{"defaultTeam":"a","teams":[{"id":"a","handoff":["q"]}]}`, `handoff names unknown team "q"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"agents":[{"id":"z","sinks":[{"type":"pager","to":"x"}]}]}`, `unknown sink type "pager"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"agents":[{"id":"z","sinks":[{"type":"sms"}]}]}`, `sms sink has no "to"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"coalesceWindow":"1h"}`, `coalesceWindow "1h"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"colaesceWindow":"1m"}`, `unknown field "colaesceWindow"`},
		{`{"teams":[{"id":"a"}]}`, `defaultTeam is missing`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"email":{"address":"support+x@example.com"}}`, `email.address "support+x@example.com"`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"email":{"ack":"Thanks"}}`, `email.ack is set but email.address is not`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"templates":[{"name":"t","language":"en"}]}`, `templates[0] needs a name, a language and a body`},
		{`{"defaultTeam":"a","teams":[{"id":"a"}],"templates":[{"name":"t","language":"en","body":"x"},{"name":"t","language":"en","body":"y"}]}`, `template "t" in "en" twice`},
		{`not json`, `routing config`},
	}
	for _, tt := range tests {
		_, err := routing.Parse([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want an error containing %q", tt.doc, err, tt.want)
		}
	}
}

func TestOvernightHours(t *testing.T) {
	c, err := routing.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	apac := c.Teams[2] // Asia/Tokyo, mon and tue 22:00-06:00
	for at, want := range map[string]bool{
		"2026-11-23T13:30:00Z": true,  // Mon 22:30 Tokyo
		"2026-11-23T12:30:00Z": false, // Mon 21:30
		"2026-11-23T20:00:00Z": true,  // Tue 05:00: the tail of Monday's span
		"2026-11-23T21:30:00Z": false, // Tue 06:30
		"2026-11-22T17:00:00Z": false, // Mon 02:00: Sunday has no span
		"2026-11-25T20:00:00Z": false, // Thu 05:00: the tail of Wednesday, which is closed
	} {
		tm, _ := time.Parse(time.RFC3339, at)
		if got := apac.Open(tm); got != want {
			t.Errorf("Open(%s) = %v, want %v", at, got, want)
		}
	}
}
