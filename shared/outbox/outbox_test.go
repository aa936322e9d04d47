package outbox_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTheAPILinksNoSender: the api queues replies and checks channels
// through this package alone; linking shared/notify would bring SES, SQS
// and EventBridge's SDK clients into it (0.7 MiB of its binary) for nothing.
func TestTheAPILinksNoSender(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../functions/api").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := "\n" + string(out)
	if !strings.Contains(deps, "\ngithub.com/switchboard/switchboard/shared/outbox\n") {
		t.Fatal("the api does not link shared/outbox: is this test still about anything?")
	}
	for _, p := range []string{"github.com/switchboard/switchboard/shared/notify", "github.com/aws/aws-sdk-go-v2/service/sesv2",
		"github.com/aws/aws-sdk-go-v2/service/sqs", "github.com/aws/aws-sdk-go-v2/service/eventbridge"} {
		if strings.Contains(deps, "\n"+p+"\n") {
			t.Errorf("the api links %s", p)
		}
	}
}
