package sesmail_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/switchboard/switchboard/shared/localaws"
	"github.com/switchboard/switchboard/shared/notify"
	"github.com/switchboard/switchboard/shared/notify/sesmail"
	"github.com/switchboard/switchboard/shared/routing"
)

// TestEmailSenderOnMotoSES sends through moto's SES v2 and reads what it
// recorded as sent.
func TestEmailSenderOnMotoSES(t *testing.T) {
	ep := localaws.Endpoint(t, "MOTO_ENDPOINT")
	api := sesv2.NewFromConfig(localaws.Config(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(ep) })
	ctx := context.Background()
	if _, err := api.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("support@switchboard.example")}); err != nil {
		t.Fatal(err)
	}
	s := &sesmail.EmailSender{API: api, From: "support@switchboard.example"}
	n := notify.Notification{ConversationID: "cv_mail", ContactName: "Ana", Text: "New message from Ana on SMS: \"hello\""}
	if err := s.Send(ctx, routing.Sink{Type: routing.SinkEmail, To: "agent@switchboard.example"}, n); err != nil {
		t.Fatal(err)
	}
	// moto's internal state lists what SES "sent".
	resp, err := http.Get(ep + "/moto-api/data.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state struct {
		SES struct {
			Message []struct {
				Body, Source, Subject string
				Destinations          struct{ ToAddresses []string }
			}
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range state.SES.Message {
		if strings.Contains(m.Body, "cv_mail") && m.Subject == "Customer waiting: Ana" && m.Source == "support@switchboard.example" &&
			len(m.Destinations.ToAddresses) == 1 && m.Destinations.ToAddresses[0] == "agent@switchboard.example" {
			found = true
		}
	}
	if !found {
		t.Errorf("moto recorded no such email: %+v", state.SES.Message)
	}
	// An unverified sender is refused for good, not retried.
	s.From = "nobody@unverified.example"
	var perm *notify.PermanentError
	if err := s.Send(ctx, routing.Sink{Type: routing.SinkEmail, To: "agent@switchboard.example"}, n); !errors.As(err, &perm) {
		t.Errorf("unverified sender: %v, want a permanent error", err)
	}
}

// TestOnlyTheNotifierLinksSES: the fan-out and the sweeper queue mail for
// the notifier to send; they must not pay the SES client's package init.
func TestOnlyTheNotifierLinksSES(t *testing.T) {
	links := map[string]bool{"notifier": true, "fanout": false, "sweeper": false, "api": false, "email": false,
		"messaging": false, "voice": false, "social": false, "chatsocket": false, "spill": false, "signin": false}
	for fn, want := range links {
		out, err := exec.Command("go", "list", "-deps", "../../../functions/"+fn).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", fn, err)
		}
		if got := strings.Contains(string(out), "github.com/aws/aws-sdk-go-v2/service/sesv2\n"); got != want {
			t.Errorf("functions/%s links service/sesv2: %v, want %v", fn, got, want)
		}
	}
}
